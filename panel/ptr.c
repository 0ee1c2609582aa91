/* ptr.c - reverse DNS (issue 16): a server's PTRs, for its own IPv4
 * address and any address of its IPv6 /64 (GET, PUT, DELETE
 * /v1/servers/{id}/ips/{address}/ptr), and the operator's reverse zone of
 * an IP pool (PUT /v1/admin/ip-pools/{id}/rdns). A PUT or DELETE records
 * the intent and answers 202; the PTR thread (ptr_sync.h) writes it to
 * PowerDNS, so PowerDNS being down loses nothing ("API notes: reverse
 * DNS" in README.md). */
#include "config.h"
#include "panel/handlers.h"
#include "panel/data_ptr.h"
#include "panel/ptr_sync.h"
#include "core/bkkey.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/rdns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The path's address among the server's: 0, or -1 with SW_ENOTFOUND (one
 * that is no address at all, too). */
static int path_address(struct sw_req *req, struct sw_data_ptr_addr *a, struct sw_err *err)
{
    const char *addr = req->params[1];
    char name[SW_RDNS_NAME_MAX];
    struct sw_err perr = {0};
    int found = sw_rdns_name(addr, name, &perr) == 0
                    ? sw_data_ptr_address(req->db, req->params[0], addr, a, err)
                    : 0;
    if (found == 0)
        SW_ERR(err, SW_ENOTFOUND, "the server has no such address");
    return found > 0 ? 0 : -1;
}

/* An address whose pool offers PTRs, inside the pool's zone: 0, or -1. */
static int check_offered(const struct sw_data_ptr_addr *a, struct sw_err *err)
{
    char name[SW_RDNS_NAME_MAX];
    if (!a->offered || sw_rdns_name(a->address, name, err) < 0 ||
        !sw_rdns_in_zone(name, a->zone)) {
        SW_ERR(err, SW_EUNPROCESSABLE, "reverse DNS is not offered for %s", a->address);
        return -1;
    }
    return 0;
}

/* A PTR target: an RFC 1123 host name of at least two labels, a final dot
 * allowed (and dropped into out). 0, or -1 with SW_EINVALID. */
static int ptr_name(const char *in, char out[254], struct sw_err *err)
{
    size_t n = strlen(in);
    if (n > 0 && in[n - 1] == '.')
        n--;
    if (n == 0 || n > 253) {
        SW_ERR(err, SW_EINVALID, "ptr must be a host name of at most 253 bytes");
        return -1;
    }
    memcpy(out, in, n);
    out[n] = '\0';
    if (!sw_api_hostname_valid(out) || !strchr(out, '.')) {
        SW_ERR(err, SW_EINVALID, "ptr must be a fully qualified host name (RFC 1123)");
        return -1;
    }
    return 0;
}

/* Points rs at SLIPWAY_PTR_RESOLVER (IPv4:PORT) when it is set. */
static int use_resolver(struct __res_state *rs, struct sw_err *err)
{
    const char *r = sw_conf_get("SLIPWAY_PTR_RESOLVER");
    if (!r || !*r)
        return 0;
    char host[64];
    const char *colon = strrchr(r, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : 53;
    snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - r) : (int)strlen(r), r);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (port < 1 || port > 65535 || inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        SW_ERR(err, SW_EINTERNAL, "SLIPWAY_PTR_RESOLVER is not IPv4:PORT");
        return -1;
    }
    rs->nsaddr_list[0] = sin;
    rs->nscount = 1;
    return 0;
}

/* Whether an answer holds an A (4 bytes) or AAAA (16) record equal to want. */
static bool answer_has(const unsigned char *ans, int len, int type, const unsigned char *want,
                       size_t wlen)
{
    ns_msg m;
    if (ns_initparse(ans, len, &m) < 0)
        return false;
    for (int i = 0; i < ns_msg_count(m, ns_s_an); i++) {
        ns_rr rr;
        if (ns_parserr(&m, ns_s_an, i, &rr) == 0 && (int)ns_rr_type(rr) == type &&
            ns_rr_rdlen(rr) == wlen && memcmp(ns_rr_rdata(rr), want, wlen) == 0)
            return true;
    }
    return false;
}

/* Forward confirmation, for pools that ask for it: name must resolve in
 * DNS (A for an IPv4 address, AAAA for IPv6) to address, asked of
 * SLIPWAY_PTR_RESOLVER or the system's resolver. 0; -1 with
 * SW_EUNPROCESSABLE when it does not, SW_EUNAVAILABLE when DNS did not
 * answer. */
static int forward_check(const char *name, const char *address, struct sw_err *err)
{
    bool v6 = strchr(address, ':') != NULL;
    unsigned char want[16], ans[4096];
    struct __res_state rs;
    memset(&rs, 0, sizeof rs);
    if (inet_pton(v6 ? AF_INET6 : AF_INET, address, want) != 1 || res_ninit(&rs) != 0) {
        SW_ERR(err, SW_EINTERNAL, "could not set up a DNS query");
        return -1;
    }
    int rc = use_resolver(&rs, err);
    rs.retrans = 2;
    rs.retry = 2;
    int type = v6 ? ns_t_aaaa : ns_t_a;
    int len = rc < 0 ? -1 : res_nquery(&rs, name, ns_c_in, type, ans, sizeof ans);
    bool ok = len > 0 && answer_has(ans, len, type, want, v6 ? 16 : 4);
    int herr = rs.res_h_errno;
    res_nclose(&rs);
    if (rc < 0 || ok)
        return rc;
    if (len < 0 && herr == TRY_AGAIN)
        SW_ERR(err, SW_EUNAVAILABLE, "could not confirm %s in DNS: no answer", name);
    else
        SW_ERR(err, SW_EUNPROCESSABLE, "%s does not resolve to %s (forward confirmation)", name,
               address);
    return -1;
}

SW_HANDLER(sw_h_ptr_get)
{
    struct sw_data_ptr_addr a;
    if (path_address(req, &a, err) < 0)
        return -1;
    json_t *p = sw_data_ptr_get(req->db, req->params[0], a.address, err);
    return p ? sw_api_reply(resp, 200, p) : -1;
}

/* Records the intent (ptr NULL: none) and wakes the PTR thread. */
static int want(struct sw_req *req, struct sw_resp *resp, const struct sw_data_ptr_addr *a,
                const char *ptr, struct sw_err *err)
{
    json_t *p = sw_data_ptr_want(req->db, req->params[0], a->pool_id, a->address, ptr, err);
    if (!p)
        return -1;
    sw_ptr_sync_wake();
    return sw_api_reply(resp, 202, json_pack("{s:o}", "ptr", p));
}

static const struct sw_jfield ptr_fields[] = {
    {"ptr", SW_JT_STRING, true},
    {NULL, 0, false},
};

SW_HANDLER(sw_h_ptr_put)
{
    json_t *b = sw_api_body(req, ptr_fields, err);
    if (!b)
        return -1;
    struct sw_data_ptr_addr a;
    char name[254];
    int rc = path_address(req, &a, err) < 0 || ptr_name(sw_json_str(b, "ptr"), name, err) < 0 ||
                     check_offered(&a, err) < 0 ||
                     (a.forward_confirm && forward_check(name, a.address, err) < 0)
                 ? -1
                 : want(req, resp, &a, name, err);
    json_decref(b);
    return rc;
}

SW_HANDLER(sw_h_ptr_delete)
{
    struct sw_data_ptr_addr a;
    if (sw_api_no_body(req, err) < 0 || path_address(req, &a, err) < 0)
        return -1;
    return want(req, resp, &a, NULL, err);
}

static const struct sw_jfield rdns_fields[] = {
    {"api_url", SW_JT_STRING, true},      {"zone", SW_JT_STRING, true},
    {"api_key", SW_JT_STRING, true},      {"api_server", SW_JT_STRING, false},
    {"forward_confirm", SW_JT_BOOL, false}, {"ttl", SW_JT_INT, false},
    {NULL, 0, false},
};

/* The zone as stored: lower case, with its final dot, a reverse zone that
 * holds the pool's first address. 0, or -1 with err. */
static int rdns_zone(struct sw_req *req, const char *in, char out[256], struct sw_err *err)
{
    char first[48], name[SW_RDNS_NAME_MAX];
    size_t n = strlen(in);
    if (n == 0 || n > 250) {
        SW_ERR(err, SW_EINVALID, "zone must be a reverse zone name");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
    snprintf(out + n, 256 - n, "%s", in[n - 1] == '.' ? "" : ".");
    int found = sw_data_ptr_pool_first(req->db, req->params[0], first, err);
    if (found == 0)
        SW_ERR(err, SW_ENOTFOUND, "ip pool not found");
    if (found <= 0)
        return -1;
    if (sw_rdns_name(first, name, err) < 0 || !sw_rdns_in_zone(name, out)) {
        SW_ERR(err, SW_EUNPROCESSABLE, "zone %s does not hold the pool's addresses (%s)", out,
               name);
        return -1;
    }
    return 0;
}

SW_HANDLER(sw_h_pool_rdns_put)
{
    json_t *b = sw_api_body(req, rdns_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const char *url = sw_json_str(b, "api_url"), *key = sw_json_str(b, "api_key");
    int64_t ttl = sw_json_int(b, "ttl", 3600);
    char zone[256], wrapped[SW_BKKEY_WRAPPED_MAX], ttl_s[24];
    unsigned char master[SW_BKKEY_BYTES];
    struct sw_data_ptr_pool p = {req->params[0], url, sw_json_str(b, "api_server"), zone, wrapped,
                                 sw_json_bool(b, "forward_confirm", false), ttl_s};
    if (!p.api_server)
        p.api_server = "localhost";
    if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        strlen(url) > 500 || strpbrk(url, " \t\r\n") || url[strlen(url) - 1] == '/') {
        SW_ERR(err, SW_EINVALID, "api_url must be an http or https URL without a final slash");
        goto out;
    }
    if (sw_api_check_len(b, "api_server", 1, 64, err) < 0 ||
        sw_api_check_len(b, "api_key", 1, SW_BKKEY_PLAIN_MAX, err) < 0)
        goto out;
    if (strspn(p.api_server, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
        strlen(p.api_server)) {
        SW_ERR(err, SW_EINVALID, "api_server must be letters, digits, '.', '_' or '-'");
        goto out;
    }
    if (ttl < 60 || ttl > 604800) {
        SW_ERR(err, SW_EINVALID, "ttl must be 60 to 604800 seconds");
        goto out;
    }
    snprintf(ttl_s, sizeof ttl_s, "%lld", (long long)ttl);
    if (rdns_zone(req, sw_json_str(b, "zone"), zone, err) < 0 || sw_bkkey_master(master, err) < 0)
        goto out;
    rc = sw_bkkey_wrap(master, (const unsigned char *)key, strlen(key), wrapped, err);
    sodium_memzero(master, sizeof master);
    json_t *answer = rc == 0 ? sw_data_ptr_pool_set(req->db, &p, err) : NULL;
    if (answer)
        sw_ptr_sync_wake();
    rc = answer ? sw_api_reply(resp, 200, answer) : -1;
out:
    json_decref(b);
    return rc;
}

const struct sw_route sw_routes_ptr[] = {
    {"GET", "/v1/servers/{id}/ips/{address}/ptr", ANY, SW_OWN_SERVER, sw_h_ptr_get,
     "the PTR of one of the server's addresses, and whether PowerDNS has it yet", 0},
    {"PUT", "/v1/servers/{id}/ips/{address}/ptr", ANY, SW_OWN_SERVER, sw_h_ptr_put,
     "set the PTR of one of the server's addresses (its IPv4, or any in its IPv6 /64)", 0},
    {"DELETE", "/v1/servers/{id}/ips/{address}/ptr", ANY, SW_OWN_SERVER, sw_h_ptr_delete,
     "remove the PTR of one of the server's addresses", 0},
    {"PUT", "/v1/admin/ip-pools/{id}/rdns", OP, SW_OWN_OPERATOR, sw_h_pool_rdns_put,
     "an IP pool's reverse zone on PowerDNS (API URL, server id, zone, key, forward check)",
     0},
    SW_ROUTES_END,
};
