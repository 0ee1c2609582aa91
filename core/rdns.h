/* rdns.h - reverse DNS names, pure (issue 16): the PTR owner name of an
 * address (in-addr.arpa for IPv4, nibbles under ip6.arpa for IPv6) and
 * whether a name lies in a zone. The panel checks a customer's address
 * against its pool's zone with them, and names the PowerDNS rrset with
 * them. */
#ifndef SW_RDNS_H
#define SW_RDNS_H

#include <stdbool.h>

struct sw_err;

/* "1.2.0.192.in-addr.arpa." is at most 29 bytes; an ip6.arpa name is 73. */
#define SW_RDNS_NAME_MAX 80

/* The absolute reverse name (with its final dot) of address text addr, an
 * IPv4 or IPv6 address without a prefix length. -1 with SW_EINVALID when
 * addr is no address. */
int sw_rdns_name(const char *addr, char out[SW_RDNS_NAME_MAX], struct sw_err *err);

/* Whether absolute name lies in absolute zone (both with their final dot;
 * compared without regard to ASCII case): name is zone or ends with
 * ".zone". */
bool sw_rdns_in_zone(const char *name, const char *zone);

#endif
