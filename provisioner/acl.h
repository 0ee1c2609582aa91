/* acl.h - each node's own Redis ACL user, applied from PostgreSQL by the
 * provisioner's "acl" thread (acl.c says what the user may do). */
#ifndef SW_PROV_ACL_H
#define SW_PROV_ACL_H

#include <stddef.h>

struct sw_err;
struct sw_prov_thread;

/* The ACL SETUSER command for node id whose password's SHA-256 is sha256
 * (hex); argv points into the struct. Pure. */
struct sw_acl_rules {
    char user[48];
    char pass[72];
    char keys[48];
    char writes[192];
    char console[128];
    const char *argv[17];
    int argc;
};
void sw_acl_node_rules(const char *id, const char *sha256, struct sw_acl_rules *out);

/* One pass: every node user made or remade, stale ones deleted; *nusers
 * is how many node users there are. 0, or -1 with err. */
int sw_acl_sync(struct sw_prov_thread *t, size_t *nusers, struct sw_err *err);

#endif
