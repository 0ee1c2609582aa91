/* rate.h - the money arithmetic of billing, as pure functions: proration of
 * a server's plan periods in a month, the monthly cap, bandwidth past the
 * allowance, tax, and the one rounding rule. billing/README.md "Money
 * rules" states them; this file is their only implementation.
 *
 * Amounts are int64_t minor units; intermediate products are 128-bit, so
 * nothing overflows silently: a result that does not fit int64_t is an
 * error. No floating point.
 */
#ifndef SW_RATE_H
#define SW_RATE_H

#include <stddef.h>
#include <stdint.h>

struct sw_err;

/* Bytes per GB (GB = 10^9 bytes). */
#define SW_RATE_GB 1000000000LL

/* One stretch of a server on one plan at one price (server_periods). */
struct sw_rate_period {
    int64_t start, end; /* unix seconds, [start, end); end < 0: still open */
    int64_t price_hourly, price_monthly, price_bandwidth_gb, bandwidth_gb;
};

/* One server line: a period clipped to the month. */
struct sw_rate_line {
    size_t period;       /* index into the input */
    int64_t start, end;  /* clipped, unix seconds */
    int64_t seconds;
    int64_t cap;         /* the cap m x s / T, rounded half up (informative) */
    int64_t amount;      /* min(h x s / 3600, m x s / T), rounded half up once */
};

struct sw_rate_bandwidth {
    int64_t traffic;    /* bytes in the month */
    int64_t allowance;  /* sum of bandwidth_gb x 10^9 x s / T, rounded down */
    int64_t over;       /* max(0, traffic - allowance) */
    int64_t unit_price; /* price_bandwidth_gb of the last period */
    int64_t amount;     /* over x unit_price / 10^9, rounded half up once */
};

/* Disk space used in a month (billing/README.md, rule 6). */
struct sw_rate_disk {
    int64_t avg_bytes;  /* byte-seconds / the month's seconds, rounded down */
    int64_t unit_price; /* price_disk_gb_month of the server's last period */
    int64_t amount;     /* byte-seconds x unit_price / (10^9 x the month's seconds), rounded
                           half up once */
};

/* round half up of a / b for a >= 0, b > 0: floor((2a + b) / 2b). Returns
 * -1 when the result does not fit int64_t. */
int sw_rate_round(unsigned __int128 a, unsigned __int128 b, int64_t *out);

/* [*start, *end) of month "YYYY-MM" in UTC unix seconds; -1 when malformed
 * (year 1970..9999). */
int sw_rate_month(const char *period, int64_t *start, int64_t *end);
/* "YYYY-MM" of a unix time (UTC) into out[8]. */
void sw_rate_month_of(int64_t t, char out[8]);

/* Rates one server's periods p[0..n) (sorted or not) within the month
 * [from, to), an open period counting up to `upto` (now, or the month's
 * end). Writes one line per period with seconds > 0 into lines (room for
 * n) and sets *nlines; bw is the bandwidth line for traffic bytes (its
 * amount 0 when nothing is over). Returns 0, or -1 with err set (bad
 * input, or an amount past int64_t). */
int sw_rate_server(const struct sw_rate_period *p, size_t n, int64_t from, int64_t to,
                   int64_t upto, int64_t traffic, struct sw_rate_line *lines, size_t *nlines,
                   struct sw_rate_bandwidth *bw, struct sw_err *err);

/* Rates byte_s, the sum of disk_bytes x period_s of a server's samples in
 * the month [from, to), at unit_price per GB-month: a GB-month is 10^9
 * bytes held for the whole calendar month, so the divisor is the month's
 * length whatever part of it the server lived. Returns 0, or -1 with err
 * set (bad month or price, an amount past int64_t). */
int sw_rate_disk(unsigned __int128 byte_s, int64_t from, int64_t to, int64_t unit_price,
                 struct sw_rate_disk *d, struct sw_err *err);

/* A non-negative decimal integer (PostgreSQL's numeric as text, no sign,
 * fraction or exponent) into *out; -1 when malformed or past 128 bits. */
int sw_rate_parse_u128(const char *s, unsigned __int128 *out);

/* Tax of a subtotal at rate_bp basis points, rounded half up once. */
int sw_rate_tax(int64_t subtotal, int rate_bp, int64_t *tax, struct sw_err *err);

#endif
