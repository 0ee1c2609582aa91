#include "config.h"
#include "core/rdns.h"
#include "core/err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int sw_rdns_name(const char *addr, char out[SW_RDNS_NAME_MAX], struct sw_err *err)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, addr, a) == 1) {
        snprintf(out, SW_RDNS_NAME_MAX, "%u.%u.%u.%u.in-addr.arpa.", a[3], a[2], a[1], a[0]);
        return 0;
    }
    if (inet_pton(AF_INET6, addr, a) != 1) {
        SW_ERR(err, SW_EINVALID, "\"%.64s\" is not an IP address", addr);
        return -1;
    }
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 15; i >= 0; i--) {
        *p++ = hex[a[i] & 15];
        *p++ = '.';
        *p++ = hex[a[i] >> 4];
        *p++ = '.';
    }
    memcpy(p, "ip6.arpa.", sizeof "ip6.arpa.");
    return 0;
}

bool sw_rdns_in_zone(const char *name, const char *zone)
{
    size_t n = strlen(name), z = strlen(zone);
    if (z == 0 || z > n || strcasecmp(name + n - z, zone) != 0)
        return false;
    return n == z || name[n - z - 1] == '.';
}
