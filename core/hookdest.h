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
#include <stddef.h>

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

/* Parses and checks url; -1 with SW_EINVALID saying what is wrong. It runs
 * the steps below in their order, each refusing with its own message. */
int sw_hookdest_parse(const char *url, struct sw_hookdest *d, struct sw_err *err);

/* ---- The steps of sw_hookdest_parse, pure, each usable alone ---- */

/* The whole text: 1 to SW_HOOKDEST_URL_MAX bytes (NULL is empty), no space,
 * control character or DEL. */
int sw_hookdest_check_text(const char *url, struct sw_err *err);

/* The scheme, http:// or https:// in any case: sets *https and returns what
 * follows it (borrowed: points into url); NULL for any other scheme. */
const char *sw_hookdest_scheme(const char *url, bool *https, struct sw_err *err);

/* What follows the scheme holds no '#': a fragment is never sent. */
int sw_hookdest_check_fragment(const char *rest, struct sw_err *err);

/* The authority: what follows the scheme up to the first '/' or '?'. */
struct sw_hookdest_authority {
    const char *host; /* borrowed, into the URL; without [] for IPv6 literals */
    size_t host_len;  /* 1 to SW_HOOKDEST_HOST_MAX */
    const char *port; /* borrowed: the text after ':', or NULL when none */
    size_t port_len;
    bool bracketed; /* the host was written [...] (an IPv6 literal) */
};

/* Splits the authority of rest (what sw_hookdest_scheme returned) into host
 * and port text; refuses user information ('@'), an unclosed '[', anything
 * but ":port" after ']', and an empty or too long host. */
int sw_hookdest_authority(const char *rest, struct sw_hookdest_authority *a, struct sw_err *err);

/* The port: text NULL gives the scheme's default (443 or 80); otherwise 1 to
 * 5 decimal digits naming 1 to 65535. */
int sw_hookdest_port(const char *text, size_t len, bool https, unsigned *port, struct sw_err *err);

/* A host name that is not an address: letters, digits, '-', '.' and '_',
 * and a last label that does not start with a digit (127.1, 0x7f.1 and
 * 2130706433 are addresses to resolvers, not names). */
int sw_hookdest_check_name(const char *name, struct sw_err *err);

/* True for "localhost" and names under ".localhost", a trailing dot aside. */
bool sw_hookdest_name_private(const char *name);

/* The host: copies a's host into d->host and sets d->literal and
 * d->is_private; a bracketed host must be an IPv6 address, an unbracketed
 * one an IPv4 address in dotted form or a name sw_hookdest_check_name
 * accepts. */
int sw_hookdest_host(const struct sw_hookdest_authority *a, struct sw_hookdest *d,
                     struct sw_err *err);

/* True when an address of family AF_INET (addr: struct in_addr) or AF_INET6
 * (struct in6_addr) must not be contacted unless private ones are allowed.
 * Any other family is private. */
bool sw_hookdest_addr_private(int family, const void *addr);

#endif
