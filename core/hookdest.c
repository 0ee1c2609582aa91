#include "config.h"
#include "core/hookdest.h"
#include "core/err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* IPv4 ranges that are not the public internet (RFC 6890 and friends). */
static const struct {
    uint32_t net;
    unsigned bits;
} v4_private[] = {
    {0x00000000, 8},  /* 0.0.0.0/8 "this network" */
    {0x0a000000, 8},  /* 10/8 private */
    {0x64400000, 10}, /* 100.64/10 shared (CGNAT) */
    {0x7f000000, 8},  /* 127/8 loopback */
    {0xa9fe0000, 16}, /* 169.254/16 link-local (cloud metadata) */
    {0xac100000, 12}, /* 172.16/12 private */
    {0xc0000000, 24}, /* 192.0.0/24 protocol assignments */
    {0xc0000200, 24}, /* 192.0.2/24 documentation */
    {0xc0a80000, 16}, /* 192.168/16 private */
    {0xc6120000, 15}, /* 198.18/15 benchmarking */
    {0xc6336400, 24}, /* 198.51.100/24 documentation */
    {0xcb007100, 24}, /* 203.0.113/24 documentation */
    {0xe0000000, 4},  /* 224/4 multicast */
    {0xf0000000, 4},  /* 240/4 reserved, broadcast */
};

static bool v4_is_private(uint32_t a)
{
    for (size_t i = 0; i < sizeof v4_private / sizeof v4_private[0]; i++) {
        uint32_t mask = v4_private[i].bits ? ~(uint32_t)0 << (32 - v4_private[i].bits) : 0;
        if ((a & mask) == v4_private[i].net)
            return true;
    }
    return false;
}

static uint32_t v4_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool sw_hookdest_addr_private(int family, const void *addr)
{
    if (family == AF_INET)
        return v4_is_private(ntohl(((const struct in_addr *)addr)->s_addr));
    if (family != AF_INET6)
        return true;
    const unsigned char *b = ((const struct in6_addr *)addr)->s6_addr;
    static const unsigned char zero[16] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, zero, 15) == 0)
        return true; /* :: and ::1 */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return v4_is_private(v4_at(b + 12)); /* an IPv4 address in IPv6 clothes */
    if (memcmp(b, zero, 12) == 0)
        return true; /* ::/96, IPv4-compatible (deprecated) */
    if ((b[0] & 0xfe) == 0xfc)
        return true; /* fc00::/7 unique local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return true; /* fe80::/10 link-local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return true; /* fec0::/10 site-local (deprecated) */
    if (b[0] == 0xff)
        return true; /* multicast */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return true; /* 2001:db8::/32 documentation */
    return false;
}

int sw_hookdest_check_text(const char *url, struct sw_err *err)
{
    size_t n = url ? strlen(url) : 0;
    if (n == 0 || n > SW_HOOKDEST_URL_MAX) {
        SW_ERR(err, SW_EINVALID, "url must be 1 to %d bytes", SW_HOOKDEST_URL_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) {
            SW_ERR(err, SW_EINVALID, "url must not contain spaces or control characters");
            return -1;
        }
    }
    return 0;
}

const char *sw_hookdest_scheme(const char *url, bool *https, struct sw_err *err)
{
    *https = strncasecmp(url, "https://", 8) == 0;
    if (*https)
        return url + 8;
    if (strncasecmp(url, "http://", 7) == 0)
        return url + 7;
    SW_ERR(err, SW_EINVALID, "url must start with http:// or https://");
    return NULL;
}

int sw_hookdest_check_fragment(const char *rest, struct sw_err *err)
{
    if (strchr(rest, '#')) {
        SW_ERR(err, SW_EINVALID, "url must not have a fragment");
        return -1;
    }
    return 0;
}

/* "[v6]" or "[v6]:port" within the authority [p, p + alen). */
static int split_bracketed(const char *p, size_t alen, struct sw_hookdest_authority *a,
                           struct sw_err *err)
{
    const char *close = memchr(p, ']', alen);
    if (!close) {
        SW_ERR(err, SW_EINVALID, "url has an unclosed [ in its host");
        return -1;
    }
    a->bracketed = true;
    a->host = p + 1;
    a->host_len = (size_t)(close - a->host);
    if (close + 1 < p + alen) {
        if (close[1] != ':') {
            SW_ERR(err, SW_EINVALID, "url has a malformed host");
            return -1;
        }
        a->port = close + 2;
    }
    return 0;
}

int sw_hookdest_authority(const char *rest, struct sw_hookdest_authority *a, struct sw_err *err)
{
    memset(a, 0, sizeof *a);
    size_t alen = strcspn(rest, "/?");
    if (memchr(rest, '@', alen)) {
        SW_ERR(err, SW_EINVALID, "url must not carry a user name or password");
        return -1;
    }
    if (*rest == '[') {
        if (split_bracketed(rest, alen, a, err) < 0)
            return -1;
    } else {
        const char *colon = memchr(rest, ':', alen);
        a->host = rest;
        a->host_len = colon ? (size_t)(colon - rest) : alen;
        a->port = colon ? colon + 1 : NULL;
    }
    if (a->port)
        a->port_len = (size_t)(rest + alen - a->port);
    if (a->host_len == 0 || a->host_len > SW_HOOKDEST_HOST_MAX) {
        SW_ERR(err, SW_EINVALID, "url must name a host");
        return -1;
    }
    return 0;
}

/* The value of 1 to 5 decimal digits, else -1. */
static long port_value(const char *text, size_t len)
{
    if (len == 0 || len > 5)
        return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

int sw_hookdest_port(const char *text, size_t len, bool https, unsigned *port, struct sw_err *err)
{
    *port = https ? 443 : 80;
    if (!text)
        return 0;
    long v = port_value(text, len);
    if (v < 1 || v > 65535) {
        SW_ERR(err, SW_EINVALID, "url has a port that is not 1 to 65535");
        return -1;
    }
    *port = (unsigned)v;
    return 0;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

int sw_hookdest_check_name(const char *name, struct sw_err *err)
{
    for (const char *c = name; *c; c++) {
        if (!name_char(*c)) {
            SW_ERR(err, SW_EINVALID, "url has a malformed host name");
            return -1;
        }
    }
    /* No top-level domain starts with a digit. */
    const char *last = strrchr(name, '.');
    last = last && last[1] ? last + 1 : name;
    if (*last >= '0' && *last <= '9') {
        SW_ERR(err, SW_EINVALID, "url host must be a DNS name or an address in standard form");
        return -1;
    }
    return 0;
}

bool sw_hookdest_name_private(const char *name)
{
    /* "localhost." is the same name, fully qualified (found by
     * tests/security/hostile.sh). */
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '.')
        n--;
    return (n == 9 && strncasecmp(name, "localhost", 9) == 0) ||
           (n > 10 && strncasecmp(name + n - 10, ".localhost", 10) == 0);
}

int sw_hookdest_host(const struct sw_hookdest_authority *a, struct sw_hookdest *d,
                     struct sw_err *err)
{
    memcpy(d->host, a->host, a->host_len);
    d->host[a->host_len] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    if (a->bracketed) {
        if (inet_pton(AF_INET6, d->host, &a6) != 1) {
            SW_ERR(err, SW_EINVALID, "url has a malformed IPv6 address");
            return -1;
        }
        d->literal = true;
        d->is_private = sw_hookdest_addr_private(AF_INET6, &a6);
        return 0;
    }
    if (inet_pton(AF_INET, d->host, &a4) == 1) {
        d->literal = true;
        d->is_private = sw_hookdest_addr_private(AF_INET, &a4);
        return 0;
    }
    if (sw_hookdest_check_name(d->host, err) < 0)
        return -1;
    d->is_private = sw_hookdest_name_private(d->host);
    return 0;
}

int sw_hookdest_parse(const char *url, struct sw_hookdest *d, struct sw_err *err)
{
    memset(d, 0, sizeof *d);
    const char *rest;
    struct sw_hookdest_authority a;
    if (sw_hookdest_check_text(url, err) < 0 || !(rest = sw_hookdest_scheme(url, &d->https, err)) ||
        sw_hookdest_check_fragment(rest, err) < 0 || sw_hookdest_authority(rest, &a, err) < 0 ||
        sw_hookdest_port(a.port, a.port_len, d->https, &d->port, err) < 0 ||
        sw_hookdest_host(&a, d, err) < 0)
        return -1;
    return 0;
}
