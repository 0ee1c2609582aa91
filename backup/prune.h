/* prune.h - which backups a retention policy keeps (pure).
 *
 * Proxmox's rules: backups are taken newest first; keep_last keeps the
 * newest N; then keep_daily, keep_weekly (ISO weeks) and keep_monthly each
 * keep the newest backup of each of the N newest periods (UTC) that a rule
 * before it has not already covered, and a backup not kept by the first
 * rule reaching it is dropped for the later ones too. A policy of all zeros
 * keeps everything.
 */
#ifndef SW_BK_PRUNE_H
#define SW_BK_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct sw_bk_policy {
    unsigned keep_last, keep_daily, keep_weekly, keep_monthly;
};

struct sw_bk_dated {
    const char *id; /* borrowed */
    time_t at;
};

/* Sets keep[i] for backups[i] (any order; equal times by id). */
void sw_bk_prune(const struct sw_bk_policy *policy, const struct sw_bk_dated *backups,
                 size_t n, bool *keep);

#endif
