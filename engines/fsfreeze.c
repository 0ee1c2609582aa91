/* fsfreeze.c - filesystems frozen through the guest agent (fsfreeze.h). */
#include "config.h"
#include "engines/fsfreeze.h"
#include "engines/kind.h"
#include "core/log.h"

#include <stdio.h>

#include <libvirt/virterror.h>

int sw_fsfreeze(const struct sw_engine *eng, virDomainPtr dom)
{
    if (!eng->hv || !eng->hv->guest_agent)
        return 0;
    if (virDomainAgentSetResponseTimeout(dom, SW_FSFREEZE_TIMEOUT_S, 0) < 0 ||
        virDomainFSFreeze(dom, NULL, 0, 0) < 0) {
        virResetLastError();
        return 0;
    }
    return 1;
}

void sw_fsthaw(virDomainPtr dom, const char *server_id, const char *what)
{
    if (virDomainFSThaw(dom, NULL, 0, 0) < 0) {
        virErrorPtr e = virGetLastError();
        char event[48];
        snprintf(event, sizeof event, "%s.thaw_failed", what);
        sw_warn(event, "server=%s error=%s", server_id, e && e->message ? e->message : "?");
        virResetLastError();
    }
}
