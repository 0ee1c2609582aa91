/* hookdest.h - where a webhook may be sent (billing hooks, API.md).
 *
 * An endpoint URL is http or https, with a host, an optional port, no user
 * information and no fragment, at most SW_HOOKDEST_URL_MAX bytes. Loopback,
 * private, link-local, shared (CGNAT), multicast, reserved and unspecified
 * addresses are "private": the deliverer refuses to connect to them unless
 * the operator allows it (SLIPWAY_HOOKS_ALLOW_PRIVATE), checking the very
 * address it connects to, so a name that resolves elsewhere later (DNS
 * rebinding) gains nothing. Pure functions.
 */
#ifndef SW_HOOKDEST_H
#define SW_HOOKDEST_H

#include <stdbool.h>

struct sw_err;

#define SW_HOOKDEST_URL_MAX 2048
#define SW_HOOKDEST_HOST_MAX 253

struct sw_hookdest {
    bool https;
    char host[SW_HOOKDEST_HOST_MAX + 1]; /* without [] for IPv6 literals */
    unsigned port;                       /* 80 / 443 when the URL names none */
    bool literal;                        /* host is an IPv4 or IPv6 address */
    bool is_private;                     /* literal and private, or "localhost" */
};

/* Parses and checks url; -1 with SW_EINVALID saying what is wrong. */
int sw_hookdest_parse(const char *url, struct sw_hookdest *d, struct sw_err *err);

/* True when an address of family AF_INET (addr: struct in_addr) or AF_INET6
 * (struct in6_addr) must not be contacted unless private ones are allowed.
 * Any other family is private. */
bool sw_hookdest_addr_private(int family, const void *addr);

#endif
