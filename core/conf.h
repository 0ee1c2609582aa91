/* conf.h - configuration from environment variables.
 *
 * Every key slipway reads is in one table (conf.c), with its default and a
 * line of help; README.md's configuration table is that table. Reading a key
 * that is not in the table is a bug and aborts.
 */
#ifndef SW_CONF_H
#define SW_CONF_H

#include <stdbool.h>
#include <stdio.h>

struct sw_err;

struct sw_conf_key {
    const char *name;
    const char *def; /* NULL: no default */
    const char *used_by;
    const char *help;
};

/* Borrowed: the environment's value, else the default, else NULL. */
const char *sw_conf_get(const char *name);
/* Like sw_conf_get, but fails with SW_EINVALID when unset or empty. */
const char *sw_conf_require(const char *name, struct sw_err *err);
/* Parses an integer key within [min, max]; fails with SW_EINVALID naming the key. */
int sw_conf_long(const char *name, long min, long max, long *out, struct sw_err *err);

/* Parses a boolean key: 1/0, true/false, yes/no, on/off (any case); fails
 * with SW_EINVALID naming the key. */
int sw_conf_bool(const char *name, bool *out, struct sw_err *err);

/* The consumer name for Redis groups: SLIPWAY_CONSUMER, else HOSTNAME-PID.
 * Returns owned (free()). */
char *sw_conf_consumer_name(void);

/* The table, terminated by a zeroed entry; static storage. */
const struct sw_conf_key *sw_conf_table(void);
/* Prints the table as a Markdown table (slipwayctl config). */
void sw_conf_print_markdown(FILE *f);

#endif
