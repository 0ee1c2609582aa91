/* iso_actions.h - ISO installs for hvm servers (issue 13): the actions
 * mount_iso, eject_iso and set_boot of POST /v1/servers/{id}/actions
 * (servers.c calls these), and GET /v1/isos. panel/README.md "API notes:
 * ISO installs". */
#ifndef SW_PANEL_ISO_ACTIONS_H
#define SW_PANEL_ISO_ACTIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "core/crypto.h"

struct sw_db;
struct sw_err;

/* What an ISO action asks for, parsed from the request body. */
struct sw_iso_action {
    int type;                     /* SW_JOB_MOUNT_ISO, _EJECT_ISO, _SET_BOOT; -1: none */
    char iso_id[SW_UUID_LEN + 1]; /* mount_iso: the ISO */
    char boot[8];                 /* "cdrom" or "disk" */
};

/* Whether body field f ("iso_id", "boot") belongs to action type (enum
 * sw_job_type): iso_id to mount_iso, boot to mount_iso and set_boot. */
bool sw_iso_action_field(int type, const char *f);

/* Parses body for an ISO action of type into out (out->type -1 for any
 * other type): 0, or -1 with err (SW_EINVALID: iso_id not a UUID, boot
 * neither cdrom nor disk, set_boot without boot). mount_iso boots the
 * ISO unless boot says "disk"; eject_iso boots the disk. Pure. */
int sw_iso_action_parse(int type, const json_t *body, struct sw_iso_action *out,
                        struct sw_err *err);

/* Inside the action's transaction, server_id locked, kind its plan kind:
 * refuses what cannot be done (SW_EUNPROCESSABLE: not an hvm server, an
 * iso_id that is no ready ISO, a boot from the cdrom without an ISO),
 * records the server's ISO and boot order, and adds them to the job's
 * params. Does nothing for out->type -1. 0, or -1 with err. */
int sw_iso_action_apply(struct sw_db *db, const char *server_id, const char *kind,
                        const struct sw_iso_action *a, json_t *params, struct sw_err *err);

/* An order's iso_id (NULL: none), inside the order's transaction once
 * server_id exists: the same checks as mount_iso for the plan's kind, and
 * the server boots the ISO first (its create job carries it). 0, or -1
 * with err. */
int sw_iso_order_mount(struct sw_db *db, const char *server_id, const char *kind,
                       const char *iso_id, struct sw_err *err);

#endif
