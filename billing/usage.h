/* usage.h - ingesting usage samples: one row per sample id in
 * usage_samples, whatever the number of deliveries; the hourly sums
 * (usage_hourly) follow in the same statement (0011's trigger).
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

/* Decodes the canonical shape of a usage message (a flat object of the
 * twelve fields, each once, strings without escapes, integers without
 * fraction) without building a JSON tree: 0 and m filled, or -1 when the
 * text is anything else, which the caller then gives to the strict
 * decoder (sw_msg_usage_decode) for its verdict and message. Whatever it
 * accepts, the strict decoder accepts with the same values. */
/* The origin check, for n samples at once: placed[i] is set when m[i]'s
 * server was placed on node m[i].node_id (which the caller has matched
 * with the stream's node) at some time in [ts - period_s, ts]
 * (server_placements, migrations/0017). 0, or -1 with err. */
int sw_usage_check_placed(struct sw_db *db, const struct sw_msg_usage *m, size_t n, bool *placed,
                          struct sw_err *err);

int sw_usage_decode_fast(const char *s, struct sw_msg_usage *m);

/* Stores a batch of decoded, valid samples m[0..n) in one statement
 * (INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING) and sets
 * out[i] for each. When the statement fails on bad data (an unknown
 * server or node, a value out of range), the samples are stored one by
 * one so that only the bad ones are POISON (errs[i] says why); on an
 * outage every one is RETRY. Returns the number of new rows, or -1 when
 * nothing was stored. */
long sw_usage_store_batch(struct sw_db *db, const struct sw_msg_usage *m, size_t n,
                          enum sw_msg_outcome *out, struct sw_err *errs);

/* What to do with a stream entry whose handling failed with err: bad data
 * (invalid, not found, conflict) is poison; the rest is retried. Pure. */
enum sw_msg_outcome sw_usage_disposition(const struct sw_err *err);

#endif
