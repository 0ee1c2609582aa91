#include "config.h"
#include "core/rate.h"
#include "core/err.h"

#include <stdbool.h>
#include <string.h>

typedef unsigned __int128 u128;

int sw_rate_round(u128 a, u128 b, int64_t *out)
{
    u128 q = (2 * a + b) / (2 * b);
    if (q > (u128)INT64_MAX)
        return -1;
    *out = (int64_t)q;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int sw_rate_month(const char *period, int64_t *start, int64_t *end)
{
    if (!period || strlen(period) != 7 || period[4] != '-')
        return -1;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (period[i] < '0' || period[i] > '9'))
            return -1;
    int y = (period[0] - '0') * 1000 + (period[1] - '0') * 100 + (period[2] - '0') * 10 +
            (period[3] - '0');
    int m = (period[5] - '0') * 10 + (period[6] - '0');
    if (y < 1970 || m < 1 || m > 12)
        return -1;
    *start = days_from_civil(y, m, 1) * 86400;
    *end = (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) * 86400;
    return 0;
}

void sw_rate_month_of(int64_t t, char out[8])
{
    /* civil_from_days */
    int64_t z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp + (mp < 10 ? 3 : -9);
    int64_t y = yoe + era * 400 + (m <= 2);
    int yy = (int)(y % 10000), mm = (int)m;
    out[0] = (char)('0' + yy / 1000);
    out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10);
    out[3] = (char)('0' + yy % 10);
    out[4] = '-';
    out[5] = (char)('0' + mm / 10);
    out[6] = (char)('0' + mm % 10);
    out[7] = '\0';
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

int sw_rate_server(const struct sw_rate_period *p, size_t n, int64_t from, int64_t to,
                   int64_t upto, int64_t traffic, struct sw_rate_line *lines, size_t *nlines,
                   struct sw_rate_bandwidth *bw, struct sw_err *err)
{
    *nlines = 0;
    memset(bw, 0, sizeof *bw);
    if (from >= to || traffic < 0) {
        SW_ERR(err, SW_EINVALID, "rating: bad month or traffic");
        return -1;
    }
    int64_t stop = min64(to, upto);
    int64_t total = 0; /* T */
    size_t last = n;
    for (size_t i = 0; i < n; i++) {
        if (p[i].price_hourly < 0 || p[i].price_monthly < 0 || p[i].price_bandwidth_gb < 0 ||
            p[i].bandwidth_gb < 0 || (p[i].end >= 0 && p[i].end < p[i].start)) {
            SW_ERR(err, SW_EINVALID, "rating: period %zu is malformed", i);
            return -1;
        }
        int64_t s = max64(p[i].start, from);
        int64_t e = min64(p[i].end < 0 ? stop : p[i].end, stop);
        if (e <= s)
            continue;
        lines[*nlines] = (struct sw_rate_line){.period = i, .start = s, .end = e, .seconds = e - s};
        total += e - s;
        if (last == n || p[i].start >= p[last].start)
            last = i;
        (*nlines)++;
    }
    u128 allowance = 0;
    for (size_t k = 0; k < *nlines; k++) {
        struct sw_rate_line *l = &lines[k];
        const struct sw_rate_period *q = &p[l->period];
        u128 s = (u128)l->seconds, T = (u128)total;
        /* charge = h s / 3600, cap = m s / T: the smaller, compared exactly
         * (h T vs m 3600), rounded once. */
        bool charge_smaller = (u128)q->price_hourly * T <= (u128)q->price_monthly * 3600;
        if (sw_rate_round((u128)q->price_monthly * s, T, &l->cap) < 0 ||
            (charge_smaller ? sw_rate_round((u128)q->price_hourly * s, 3600, &l->amount)
                            : sw_rate_round((u128)q->price_monthly * s, T, &l->amount)) < 0) {
            SW_ERR(err, SW_EINVALID, "rating: an amount does not fit 64 bits");
            return -1;
        }
        allowance += (u128)q->bandwidth_gb * SW_RATE_GB * s;
    }
    bw->traffic = traffic;
    if (*nlines == 0)
        return 0;
    allowance /= (u128)total;
    bw->allowance = allowance > (u128)INT64_MAX ? INT64_MAX : (int64_t)allowance;
    bw->over = traffic > bw->allowance ? traffic - bw->allowance : 0;
    bw->unit_price = p[last].price_bandwidth_gb;
    if (sw_rate_round((u128)bw->over * (u128)bw->unit_price, SW_RATE_GB, &bw->amount) < 0) {
        SW_ERR(err, SW_EINVALID, "rating: an amount does not fit 64 bits");
        return -1;
    }
    return 0;
}

int sw_rate_disk(u128 byte_s, int64_t from, int64_t to, int64_t unit_price,
                 struct sw_rate_disk *d, struct sw_err *err)
{
    memset(d, 0, sizeof *d);
    if (from >= to || unit_price < 0) {
        SW_ERR(err, SW_EINVALID, "rating: bad month or disk price");
        return -1;
    }
    u128 month = (u128)(to - from);
    u128 avg = byte_s / month;
    /* sw_rate_round takes 2a + b: a stays below a quarter of 128 bits. */
    u128 room = ~(u128)0 / 4;
    if (avg > (u128)INT64_MAX || (unit_price && byte_s > room / (u128)unit_price) ||
        sw_rate_round(byte_s * (u128)unit_price, (u128)SW_RATE_GB * month, &d->amount) < 0) {
        SW_ERR(err, SW_EINVALID, "rating: a disk amount does not fit 64 bits");
        return -1;
    }
    d->avg_bytes = (int64_t)avg;
    d->unit_price = unit_price;
    return 0;
}

int sw_rate_parse_u128(const char *s, u128 *out)
{
    u128 v = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        u128 d = (u128)(*s - '0');
        if (*s < '0' || *s > '9' || v > (~(u128)0 - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int sw_rate_tax(int64_t subtotal, int rate_bp, int64_t *tax, struct sw_err *err)
{
    if (subtotal < 0 || rate_bp < 0 || rate_bp > 10000) {
        SW_ERR(err, SW_EINVALID, "tax: subtotal or rate out of range");
        return -1;
    }
    if (sw_rate_round((u128)subtotal * (u128)rate_bp, 10000, tax) < 0) {
        SW_ERR(err, SW_EINVALID, "tax: amount does not fit 64 bits");
        return -1;
    }
    return 0;
}
