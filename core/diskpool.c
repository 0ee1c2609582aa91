#include "config.h"
#include "core/diskpool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GIB_SHIFT 30

bool sw_diskpool_full(const struct sw_diskpool *p)
{
    if (!p->reported)
        return false;
    if (!p->present)
        return true;
    /* allocation and capacity are bigint bytes: x 100 stays within int64
     * below 92 PB; compare in GiB-scaled halves past that */
    if (p->allocation_bytes < INT64_MAX / 100 && p->capacity_bytes < INT64_MAX / 100)
        return p->allocation_bytes * 100 > p->capacity_bytes * p->fill_threshold;
    return p->allocation_bytes / 100 > (p->capacity_bytes / 10000) * p->fill_threshold;
}

int64_t sw_diskpool_capacity_gb(const struct sw_diskpool *p)
{
    if (!p->reported || !p->present || p->capacity_bytes <= 0 || p->ratio_milli <= 0)
        return 0;
    /* whole GiB and the rest apart, so that neither product overflows:
     * 2^33 GiB x 10^6 and 2^30 x 10^6 are both below 2^63 */
    int64_t whole = p->capacity_bytes >> GIB_SHIFT;
    int64_t rest = p->capacity_bytes & ((INT64_C(1) << GIB_SHIFT) - 1);
    int64_t milli = whole * p->ratio_milli + ((rest * p->ratio_milli) >> GIB_SHIFT);
    return milli / 1000;
}

void sw_diskpool_sum(const struct sw_diskpool *v, size_t n, int64_t fallback_gb,
                     struct sw_diskpool_sum *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        if (!v[i].reported)
            continue;
        out->reported++;
        int64_t gb = sw_diskpool_capacity_gb(&v[i]) - v[i].elsewhere_gb;
        out->capacity_gb += gb > 0 ? gb : 0;
        if (sw_diskpool_full(&v[i]))
            out->full++;
    }
    out->from_pools = out->reported > 0;
    out->all_full = out->from_pools && out->full == out->reported;
    if (!out->from_pools)
        out->capacity_gb = fallback_gb;
}

/* The next integer of *s (leading blanks skipped); advances *s. */
static int next_ll(const char **s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(*s, &end, 10);
    if (end == *s || errno == ERANGE)
        return -1;
    *out = v;
    *s = end;
    return 0;
}

int sw_diskpool_parse(const char *s, struct sw_diskpool *v, size_t max)
{
    size_t n = 0;
    while (s && *s) {
        /* reported, present, capacity, allocation, ratio, threshold, elsewhere */
        long long f[7];
        if (n == max)
            return -1;
        for (size_t i = 0; i < 7; i++)
            if (next_ll(&s, &f[i]) < 0)
                return -1;
        if (f[6] < 0)
            return -1;
        v[n++] = (struct sw_diskpool){f[0] == 1, f[1] == 1, f[2], f[3], f[4], f[5], f[6]};
        if (*s == ';')
            s++;
        else if (*s)
            return -1;
    }
    return (int)n;
}

int sw_diskpool_node(const char *figures, int64_t fallback_gb, struct sw_diskpool_sum *out)
{
    struct sw_diskpool v[SW_DISKPOOL_MAX];
    int n = sw_diskpool_parse(figures, v, SW_DISKPOOL_MAX);
    if (n < 0)
        return -1;
    sw_diskpool_sum(v, (size_t)n, fallback_gb, out);
    return 0;
}
