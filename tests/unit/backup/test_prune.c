/* Retention: Proxmox's keep-last/daily/weekly/monthly rules, as tables. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backup/prune.h"

#define MAXB 32

/* Backups as "YYYY-MM-DD HH:MM" (UTC), listed newest first for reading;
 * keep[i] is 'k' (kept) or '.' (pruned) for times[i]. */
struct prune_case {
    const char *name;
    struct sw_bk_policy policy;
    const char *times[MAXB];
    const char *keep;
};

static const struct prune_case cases[] = {
    {"nothing set keeps all", {0, 0, 0, 0}, {"2026-12-07 02:00", "2026-12-06 02:00"}, "kk"},
    {"keep-last 2", {2, 0, 0, 0},
     {"2026-12-07 02:00", "2026-12-06 02:00", "2026-12-05 02:00", "2026-12-04 02:00"}, "kk.."},
    {"keep-daily 2 keeps each day's newest",
     {0, 2, 0, 0},
     {"2026-12-07 14:00", "2026-12-07 02:00", "2026-12-06 14:00", "2026-12-06 02:00",
      "2026-12-05 14:00"},
     "k.k.."},
    {"keep-daily skips days keep-last covered",
     {1, 1, 0, 0},
     {"2026-12-07 14:00", "2026-12-07 02:00", "2026-12-06 14:00", "2026-12-06 02:00"},
     "k.k."},
    {"keep-last then keep-daily",
     {2, 3, 0, 0},
     {"2026-12-10 02:00", "2026-12-09 02:00", "2026-12-08 02:00", "2026-12-07 02:00",
      "2026-12-06 02:00", "2026-12-05 02:00", "2026-12-04 02:00"},
     "kkkkk.."},
    /* 2026-12-07 is a Monday: ISO week 50 runs 12-07..12-13, week 49 11-30..12-06 */
    {"keep-weekly 2 across ISO weeks",
     {0, 0, 2, 0},
     {"2026-12-08 02:00", "2026-12-07 02:00", "2026-12-06 02:00", "2026-12-01 02:00",
      "2026-11-29 02:00"},
     "k.k.."},
    {"keep-monthly 3",
     {0, 0, 0, 3},
     {"2026-12-07 02:00", "2026-12-01 02:00", "2026-11-30 02:00", "2026-11-02 02:00",
      "2026-10-31 02:00", "2026-09-30 02:00"},
     "k.k.k."},
    {"daily, weekly and monthly stack without double counting",
     {0, 2, 1, 2},
     {"2026-12-07 02:00", "2026-12-06 02:00", "2026-12-05 02:00", "2026-11-20 02:00",
      "2026-10-20 02:00"},
     "kk.kk"},
    {"the year turns (ISO week 53 of 2026)",
     {0, 0, 2, 0},
     {"2027-01-04 02:00", "2027-01-03 02:00", "2026-12-28 02:00", "2026-12-27 02:00"},
     "kk.."},
};

static time_t at(const char *s)
{
    struct tm tm = {0};
    assert_non_null(strptime(s, "%Y-%m-%d %H:%M", &tm));
    return timegm(&tm);
}

static void run_case(const struct prune_case *c, bool reversed)
{
    struct sw_bk_dated b[MAXB] = {{0}};
    char ids[MAXB][8] = {{0}};
    bool keep[MAXB];
    size_t n = 0;
    while (n < MAXB && c->times[n])
        n++;
    for (size_t i = 0; i < n; i++) {
        size_t j = reversed ? n - 1 - i : i; /* input order must not matter */
        snprintf(ids[j], sizeof ids[j], "b%zu", i);
        b[j] = (struct sw_bk_dated){ids[j], at(c->times[i])};
    }
    sw_bk_prune(&c->policy, b, n, keep);
    char got[MAXB + 1] = {0};
    for (size_t i = 0; i < n; i++)
        got[i] = keep[reversed ? n - 1 - i : i] ? 'k' : '.';
    if (strcmp(got, c->keep) != 0)
        fail_msg("%s%s: expected %s, got %s", c->name, reversed ? " (reversed)" : "", c->keep,
                 got);
}

static void test_tables(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_case(&cases[i], false);
        run_case(&cases[i], true);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_tables)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
