/* progress.h - a running backup or restore job's progress, reported to the
 * control plane while it runs: struct sw_msg_progress messages (bytes done
 * of total) on the node's results:<id> stream, beside the job's result
 * (provisioner/progress.h checks and records them; engines/README.md
 * "Backup jobs"). A report that cannot be sent is not an error: the job
 * goes on, its result still says how it ended. */
#ifndef SW_ENGINES_PROGRESS_H
#define SW_ENGINES_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct sw_engine;
struct sw_msg_node_job;

/* At most one report a second, and one at each tenth of the total. */
#define SW_PROGRESS_INTERVAL_MS 1000

struct sw_engine_progress;

/* The reports of job (borrowed: it must outlive the result), sent over a
 * connection to SLIPWAY_REDIS_URL made at the first report; NULL when the
 * engine has none configured (unit tests), which every call accepts.
 * Returns owned; free with sw_engine_progress_free(). */
struct sw_engine_progress *sw_engine_progress_new(const struct sw_engine *eng,
                                                  const struct sw_msg_node_job *job);
/* done of total bytes: sent when due (sw_engine_progress_due). */
void sw_engine_progress_report(struct sw_engine_progress *p, uint64_t done, uint64_t total);
void sw_engine_progress_free(struct sw_engine_progress *p);

/* Whether a report of done of total is due, the last one having been sent
 * at last_ms in tenth last_tenth (-1: none yet): the first, the last
 * (done == total), a new tenth, or SW_PROGRESS_INTERVAL_MS after the last. */
bool sw_engine_progress_due(long long now_ms, long long last_ms, int last_tenth, uint64_t done,
                            uint64_t total);

#endif
