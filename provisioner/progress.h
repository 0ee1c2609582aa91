/* progress.h - a running job's progress as its engine reports it (issue
 * 14, provisioner/README.md "Job progress"): struct sw_msg_progress
 * messages on the node's results:<id> stream, beside its results.
 *
 * Every report is checked against what PostgreSQL holds (sw_progress_judge,
 * pure): the stream's node must be the one named, the nonce a dispatch of
 * this job to that node, the job running there. Forgeries are refused as a
 * result would be (rejected_messages, dead-lettered); a report that is only
 * late (its job finished or re-dispatched since, or numbers below the last
 * ones within its run) is dropped with a log line. Accepted:
 * jobs.progress_bytes_done, progress_bytes_total, progress (the
 * percentage), progress_run.
 */
#ifndef SW_PROVISIONER_PROGRESS_H
#define SW_PROVISIONER_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/msg.h"
#include "core/redis.h"

struct sw_err;
struct sw_prov_thread;

/* What PostgreSQL holds for a report's job, read under the job's lock. */
struct sw_progress_seen {
    bool job_found;  /* the job exists */
    bool same_job;   /* its server and type are the report's */
    bool dispatched; /* the nonce is a dispatch of the job to the sender */
    bool latest;     /* ... its newest dispatch to the sender */
    bool answered;   /* ... answered already (the job's result came) */
    bool running;    /* the job is running on the sender */
    bool has_prev;   /* a report of this run of the dispatch was recorded: */
    int64_t prev_done, prev_total;
};

enum sw_progress_verdict {
    SW_PROGRESS_RECORD, /* record it */
    SW_PROGRESS_DROP,   /* late or stale: acknowledge, log, change nothing */
    SW_PROGRESS_REJECT, /* refused: recorded in rejected_messages, dead-lettered */
};

/* The verdict on report m that arrived on stream_node's stream; *why is the
 * reason (a SW_REJECT_* for REJECT, a word for DROP, "" for RECORD), static. */
enum sw_progress_verdict sw_progress_judge(const struct sw_msg_progress *m,
                                           const char *stream_node,
                                           const struct sw_progress_seen *s, const char **why);

/* The results consumer's first look at an entry from node_id's stream:
 * false when it is not a progress report (a result: decode it as one);
 * true when it is, with what to do with the entry in *out (err set when
 * POISON or RETRY). */
bool sw_progress_handle(struct sw_prov_thread *t, const struct sw_stream_entry *e,
                        const char *node_id, enum sw_msg_outcome *out, struct sw_err *err);

#endif
