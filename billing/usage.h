/* usage.h - ingesting usage samples: one row per sample id in
 * usage_samples, whatever the number of deliveries. Rating comes later.
 */
#ifndef SW_USAGE_H
#define SW_USAGE_H

#include <stdbool.h>

#include "core/redis.h"

struct sw_db;
struct sw_err;
struct sw_msg_usage;

/* True when sample_id is "<server_id>:<ts>" as core/msg.h specifies, so a
 * replayed sample cannot slip in under a second id. Fills err otherwise. */
bool sw_usage_id_valid(const struct sw_msg_usage *m, struct sw_err *err);

/* Stores one sample; a sample id already stored is success (nothing
 * changes). 1 when inserted, 0 when it was already there, -1 on error
 * (a sample for an unknown server or node is SW_EINVALID). */
int sw_usage_store(struct sw_db *db, const struct sw_msg_usage *m, struct sw_err *err);

/* What to do with a stream entry whose handling failed with err: bad data
 * (invalid, not found, conflict) is poison; the rest is retried. Pure. */
enum sw_msg_outcome sw_usage_disposition(const struct sw_err *err);

#endif
