/* iso_actions.c - ISO installs for hvm servers (iso_actions.h): a
 * customer's mount_iso, eject_iso and set_boot, and the ISOs a customer
 * may mount (GET /v1/isos: every ready ISO of the library). */
#include "config.h"
#include "panel/iso_actions.h"
#include "panel/data_isos.h"
#include "panel/handlers.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

bool sw_iso_action_field(int type, const char *f)
{
    if (strcmp(f, "iso_id") == 0)
        return type == SW_JOB_MOUNT_ISO;
    if (strcmp(f, "boot") == 0)
        return type == SW_JOB_MOUNT_ISO || type == SW_JOB_SET_BOOT;
    return false;
}

int sw_iso_action_parse(int type, const json_t *body, struct sw_iso_action *out,
                        struct sw_err *err)
{
    memset(out, 0, sizeof *out);
    out->type = -1;
    if (type != SW_JOB_MOUNT_ISO && type != SW_JOB_EJECT_ISO && type != SW_JOB_SET_BOOT)
        return 0;
    const char *iso = sw_json_str(body, "iso_id"), *boot = sw_json_str(body, "boot");
    if (type == SW_JOB_MOUNT_ISO && (!iso || !sw_uuid_valid(iso))) {
        SW_ERR(err, SW_EINVALID, "iso_id must be a UUID");
        return -1;
    }
    if (type == SW_JOB_SET_BOOT && !boot) {
        SW_ERR(err, SW_EINVALID, "boot is required for set_boot");
        return -1;
    }
    if (boot && strcmp(boot, "cdrom") != 0 && strcmp(boot, "disk") != 0) {
        SW_ERR(err, SW_EINVALID, "boot must be cdrom or disk");
        return -1;
    }
    out->type = type;
    snprintf(out->iso_id, sizeof out->iso_id, "%s", iso ? iso : "");
    snprintf(out->boot, sizeof out->boot, "%s",
             boot ? boot : type == SW_JOB_MOUNT_ISO ? "cdrom" : "disk");
    return 0;
}

int sw_iso_action_apply(struct sw_db *db, const char *server_id, const char *kind,
                        const struct sw_iso_action *a, json_t *params, struct sw_err *err)
{
    if (a->type < 0)
        return 0;
    if (strcmp(kind, "hvm") != 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "ISO images can only be mounted on hvm servers");
        return -1;
    }
    int ok = 1;
    if (a->type == SW_JOB_MOUNT_ISO)
        ok = sw_data_isos_ready(db, a->iso_id, err);
    if (ok == 0)
        SW_ERR(err, SW_EUNPROCESSABLE, "iso_id names no ready ISO of the library");
    if (ok <= 0)
        return -1;
    bool cdrom = strcmp(a->boot, "cdrom") == 0;
    if (a->type == SW_JOB_SET_BOOT) {
        int m = sw_data_isos_mounted(db, server_id, err);
        if (m < 0)
            return -1;
        if (cdrom && !m) {
            SW_ERR(err, SW_EUNPROCESSABLE, "the server has no ISO mounted to boot from");
            return -1;
        }
    }
    /* set_boot keeps the ISO; mount_iso names it; eject_iso clears it */
    if (a->type == SW_JOB_SET_BOOT
            ? sw_data_isos_set_boot(db, server_id, a->boot, err) < 0
            : sw_data_isos_set(db, server_id, a->iso_id[0] ? a->iso_id : NULL, a->boot, err) < 0)
        return -1;
    if (a->iso_id[0])
        json_object_set_new(params, "iso_id", json_string(a->iso_id));
    json_object_set_new(params, "boot", json_string(a->boot));
    return 0;
}

int sw_iso_order_mount(struct sw_db *db, const char *server_id, const char *kind,
                       const char *iso_id, struct sw_err *err)
{
    if (!iso_id)
        return 0;
    struct sw_iso_action a = {.type = SW_JOB_MOUNT_ISO, .boot = "cdrom"};
    snprintf(a.iso_id, sizeof a.iso_id, "%s", iso_id);
    json_t *params = json_object();
    int rc = sw_iso_action_apply(db, server_id, kind, &a, params, err);
    json_decref(params);
    return rc;
}

SW_HANDLER(sw_h_isos_list)
{
    return sw_api_list_data(req, resp, err, &sw_data_isos_list, SW_PARAMS(req->who.account_id));
}

const struct sw_route sw_routes_isos[] = {
    {"GET", "/v1/isos", ANY, SW_OWN_NONE, sw_h_isos_list,
     "ISOs a customer may mount on an hvm server", 0},
    SW_ROUTES_END,
};
