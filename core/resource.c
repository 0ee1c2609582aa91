#include "config.h"
#include "core/resource.h"
#include "core/enums.h"

#include <stdio.h>

static const char *const class_names[] = {
    [SW_RC_VCPU] = "VCPU", [SW_RC_MEM_GUAR] = "MEM_GUAR", [SW_RC_MEM_MAX] = "MEM_MAX",
    [SW_RC_DISK] = "DISK"};

const char *sw_res_class_name(int c)
{
    return (c >= 0 && c < SW_RC__COUNT) ? class_names[c] : "?";
}

void sw_plan_demand(const struct sw_plan_size *p, struct sw_amounts *out)
{
    int64_t guar = p->ram_mb, max = p->ram_mb;
    switch (p->kind) {
    case SW_KIND_PV:
        break;
    case SW_KIND_HVM:
        max = p->burst_ram_mb > p->ram_mb ? p->burst_ram_mb : p->ram_mb;
        guar = (max + 3) / 4 > p->ram_mb ? (max + 3) / 4 : p->ram_mb;
        break;
    case SW_KIND_CONTAINER:
        max = p->ram_mb + (p->swap_mb > 0 ? p->swap_mb : 0);
        break;
    }
    out->v[SW_RC_VCPU] = p->vcpus;
    out->v[SW_RC_MEM_GUAR] = guar;
    out->v[SW_RC_MEM_MAX] = max;
    out->v[SW_RC_DISK] = p->disk_gb;
}

void sw_node_capacity(const struct sw_node_inv *n, struct sw_amounts *out)
{
    int64_t ram = n->ram_mb - n->reserved_ram_mb;
    if (ram < 0)
        ram = 0;
    out->v[SW_RC_VCPU] = n->cpus * n->cpu_ratio_milli / 1000;
    out->v[SW_RC_MEM_GUAR] = ram;
    out->v[SW_RC_MEM_MAX] = ram * n->ram_ratio_milli / 1000;
    out->v[SW_RC_DISK] = n->disk_gb;
}

bool sw_node_fits(const struct sw_node_inv *n, const struct sw_amounts *used,
                  const struct sw_amounts *want, int *short_class)
{
    struct sw_amounts cap;
    sw_node_capacity(n, &cap);
    for (int c = 0; c < SW_RC__COUNT; c++) {
        if (used->v[c] + want->v[c] > cap.v[c]) {
            if (short_class)
                *short_class = c;
            return false;
        }
    }
    return true;
}

int sw_ratio_parse(const char *s, int64_t *milli)
{
    if (!s || !*s)
        return -1;
    int64_t whole = 0, frac = 0;
    int fdigits = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (*p - '0');
        if (whole > 1000)
            return -1;
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            /* trailing zeros beyond 3 decimals are fine ("1.5000" from numeric) */
            if (fdigits >= 3) {
                if (*p != '0')
                    return -1;
                continue;
            }
            frac = frac * 10 + (*p - '0');
            fdigits++;
        }
    }
    if (*p != '\0')
        return -1;
    while (fdigits++ < 3)
        frac *= 10;
    int64_t m = whole * 1000 + frac;
    if (m <= 0 || m > 1000 * 1000)
        return -1;
    *milli = m;
    return 0;
}

const char *sw_ratio_format(int64_t milli, char buf[24])
{
    int64_t whole = milli / 1000, frac = milli % 1000;
    if (frac == 0)
        snprintf(buf, 24, "%lld", (long long)whole);
    else if (frac % 100 == 0)
        snprintf(buf, 24, "%lld.%lld", (long long)whole, (long long)(frac / 100));
    else if (frac % 10 == 0)
        snprintf(buf, 24, "%lld.%02lld", (long long)whole, (long long)(frac / 10));
    else
        snprintf(buf, 24, "%lld.%03lld", (long long)whole, (long long)frac);
    return buf;
}
