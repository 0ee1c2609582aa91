/* nodemsg.h - messages that nodes send: the streams they arrive on and the
 * record of what the control plane refused.
 *
 * Every node writes its own results:<id> and usage:<id> (msg.h); the
 * consumers list them from PostgreSQL (sw_nodemsg_streams). A message the
 * control plane refuses for what it claims (a forged node_id, a result for
 * a job not sent to that node or not awaited, usage for a server not on
 * that node) is dead-lettered with its reason and recorded once in table
 * rejected_messages (stream, entry id, node, reason, time: never the
 * message), which the panel's /metrics counts by reason.
 */
#ifndef SW_NODEMSG_H
#define SW_NODEMSG_H

#include <stddef.h>

struct sw_db;
struct sw_err;

/* The reasons, as stored and shown on /metrics. */
#define SW_REJECT_MALFORMED "malformed"            /* undecodable on a node's stream */
#define SW_REJECT_FORGED_NODE "forged_node_id"     /* node_id is not the stream's node */
#define SW_REJECT_UNKNOWN_JOB "unknown_job"        /* no such job */
#define SW_REJECT_NOT_DISPATCHED "not_dispatched"  /* nonce not sent to this node for this job */
#define SW_REJECT_REPLAY "replay"                  /* this dispatch was answered already */
#define SW_REJECT_NOT_WAITING "not_waiting"        /* the job is finished or moved elsewhere */
#define SW_REJECT_NOT_PLACED "server_not_on_node"  /* usage: not placed there in the period */
#define SW_REJECT_FOREIGN_DISK "foreign_disk"      /* a disk not the server's, or in no pool of the node */

/* "<prefix><id>" for every node in PostgreSQL, as an owned array of *n
 * owned strings (free each and the array). */
int sw_nodemsg_streams(struct sw_db *db, const char *prefix, char ***out, size_t *n,
                       struct sw_err *err);
/* Records one refusal; node_id may be NULL (not known). */
int sw_nodemsg_reject(struct sw_db *db, const char *stream, const char *entry_id,
                      const char *node_id, const char *reason, struct sw_err *err);

#endif
