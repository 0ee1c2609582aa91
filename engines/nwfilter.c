#include "config.h"
#include "engines/nwfilter.h"
#include "core/alloc.h"
#include "core/err.h"
#include "engines/domxml.h"
#include "engines/virt.h"

#include <libvirt/virterror.h>
#include <stdlib.h>

/* In dependency order: a filter is defined after those it references. */
static const char *const filters[] = {"slipway-ipv6-own-prefix", "slipway-guest"};

/* 1 defined, 0 the driver has no filters, -1 refused (err set). */
static int define_one(virConnectPtr conn, const char *dir, const char *name, struct sw_err *err)
{
    SW_AUTOFREE char *path = sw_asprintf("%s/nwfilter/%s.xml", dir, name);
    SW_AUTOFREE char *xml = sw_domxml_read(path, err);
    if (!xml)
        return -1;
    virNWFilterPtr f = virNWFilterDefineXML(conn, xml);
    if (f) {
        virNWFilterFree(f);
        return 1;
    }
    virErrorPtr e = virGetLastError();
    if (e && e->code == VIR_ERR_NO_SUPPORT) {
        virResetLastError();
        return 0;
    }
    sw_virt_error(err, "define the guest network filter");
    return -1;
}

int sw_nwfilter_define(virConnectPtr conn, const char *templates_dir, bool *enforced,
                       struct sw_err *err)
{
    *enforced = false;
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        int rc = define_one(conn, templates_dir, filters[i], err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return 0; /* no nwfilter driver: nothing to enforce with */
    }
    *enforced = true;
    return 0;
}
