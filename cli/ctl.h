/* ctl.h - slipwayctl's commands. */
#ifndef SW_CTL_H
#define SW_CTL_H

struct sw_db;
struct sw_err;

/* Applies pending migrations from dir; *applied counts them. */
int sw_ctl_migrate(struct sw_db *db, const char *dir, int *applied, struct sw_err *err);

/* Runs the ballooning controller over a scenario file, printing a JSON
 * line per tick to out. */
#include <stdio.h>
int sw_ctl_balloon_sim(const char *path, FILE *out, struct sw_err *err);

/* slipwayctl invoice run|dunning ...: 0, -1 with err set, or 2 (usage). */
int sw_ctl_invoice(int argc, char **argv, struct sw_err *err);

/* slipwayctl node enroll|rekey ...: through the panel's API (SLIPWAY_URL,
 * SLIPWAY_OPERATOR_TOKEN); 0, -1 with err set, or 2 (usage). */
int sw_ctl_node(int argc, char **argv, struct sw_err *err);

/* slipwayctl console SERVER: execs virsh console on the server's node's
 * libvirt URI (read from the database); returns only on failure: -1 with
 * err set, or 2 (usage). */
int sw_ctl_console(int argc, char **argv, struct sw_err *err);

/* slipwayctl backup-scrub|backup-gc ACCOUNT --target FILE --key-file FILE:
 * the exit status (0, 1 with the reason on stderr, 2 usage). */
int sw_ctl_backup(int argc, char **argv);

#endif
