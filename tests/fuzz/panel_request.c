/* panel_request.c - fuzz target: everything the panel reads from a request
 * before it needs the database: the router (path matching, methods, the
 * Authorization header), every route's handler (the JSON body against its
 * field table and its own checks, query parameters, path ids), and the
 * Idempotency-Key check (panel/idempotency.c).
 *
 * Input, HTTP-like text:
 *   METHOD SP PATH[?QUERY] LF
 *   (NAME: VALUE LF)*          Authorization, Idempotency-Key, and two of
 *                              the target's own: Role (operator, reseller or
 *                              customer, optionally followed by " read") and
 *                              Remote (client address)
 *   LF
 *   BODY
 * Each input is handled three ways: (1) as the HTTP adapter would, through
 * sw_router_dispatch; (2) by the matched route's handler called directly
 * with a principal of Role (default: the least privileged role the route
 * allows), as the router does once authentication and the owner check
 * passed, so bodies reach every route's validation; (3) for a POST with an
 * Idempotency-Key, through sw_idem_run. The database is a connection that
 * can never connect (and Redis an address that does not exist), so a
 * handler runs to its first query and gets SW_EUNAVAILABLE there: all of
 * its input checking comes first. Oracles: every answer has a status from
 * 200 to 599 and a JSON object or text body; a failing handler sets an
 * error code; no crash, leak or undefined behaviour (the sanitizers). */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "panel/api.h"
#include "panel/idempotency.h"
#include "panel/router.h"
#include "core/crypto.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

/* The pool's connection must be one that is down, which only db.c can
 * build (struct sw_db is private to it): compiled here instead of linked
 * from libswcore.a, it lets this file make a pool of one dead connection. */
#include "core/db.c"

#define MAX_QUERY 32

struct query {
    size_t n;
    char *key[MAX_QUERY];
    char *val[MAX_QUERY];
};

static struct sw_panel app;
static struct sw_db dead_db;
static struct sw_db *dead_list[1];
static struct sw_db *free_list[1];
static struct sw_db_pool pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sw_crypto_init() < 0)
        abort();
    sw_log_init("fuzz", "off");
    sw_password_configure(1, 8192, 0); /* argon2id's minimum: hashing is not under test */
    dead_db.url = "host=/nonexistent/slipway-fuzz dbname=none connect_timeout=1";
    dead_db.conn = PQconnectdb(dead_db.url);
    if (PQstatus(dead_db.conn) == CONNECTION_OK)
        abort();
    dead_list[0] = free_list[0] = &dead_db;
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.cv, NULL);
    pool.size = pool.nfree = 1;
    pool.all = dead_list;
    pool.free_list = free_list;
    app.pool = &pool;
    app.redis_url = "unix:///nonexistent/slipway-fuzz.sock";
    app.session_ttl_s = 86400;
    app.login_fail_account = 10;
    app.login_fail_address = 50;
    app.order_rate = 60;
    pthread_mutex_init(&app.redis_mu, NULL);
    return 0;
}

static int unhex(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* In place, as libmicrohttpd decodes query arguments: %XX and '+'. */
static void url_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '%' && unhex(s[1]) >= 0 && unhex(s[2]) >= 0) {
            *o++ = (char)(unhex(s[1]) * 16 + unhex(s[2]));
            s += 2;
        } else {
            *o++ = *s == '+' ? ' ' : *s;
        }
    }
    *o = '\0';
}

static void parse_query(char *q, struct query *out)
{
    out->n = 0;
    for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv && out->n < MAX_QUERY;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq = '\0';
        url_decode(kv);
        if (eq)
            url_decode(eq + 1);
        out->key[out->n] = kv;
        out->val[out->n] = eq ? eq + 1 : NULL;
        out->n++;
    }
}

static const char *query_lookup(const struct sw_req *req, const char *key)
{
    const struct query *q = req->conn;
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->key[i], key) == 0)
            return q->val[i];
    return NULL;
}

static void check_resp(struct sw_resp *resp)
{
    SW_FUZZ_ASSERT(resp->status >= 200 && resp->status <= 599);
    SW_FUZZ_ASSERT(resp->text ? resp->body == NULL : json_is_object(resp->body) || !resp->body);
    json_decref(resp->body);
    free(resp->text);
    memset(resp, 0, sizeof *resp);
}

static void principal(struct sw_principal *who, const char *role, unsigned allowed)
{
    static const struct {
        const char *name;
        int kind;
        unsigned bit;
    } roles[] = {
        {"customer", SW_ACCT_CUSTOMER, SW_ROLE_CUSTOMER},
        {"reseller", SW_ACCT_RESELLER, SW_ROLE_RESELLER},
        {"operator", SW_ACCT_OPERATOR, SW_ROLE_OPERATOR},
    };
    memset(who, 0, sizeof *who);
    size_t pick = 0;
    while (pick < 3 && !(role ? strncmp(role, roles[pick].name, strlen(roles[pick].name)) == 0
                              : (allowed & roles[pick].bit) != 0))
        pick++;
    if (pick == 3)
        pick = 0;
    snprintf(who->account_id, sizeof who->account_id, "0000000%zu-0000-4000-8000-000000000001",
             pick + 1);
    snprintf(who->token_id, sizeof who->token_id, "0000000%zu-0000-4000-8000-000000000002",
             pick + 1);
    who->kind = roles[pick].kind;
    who->role = roles[pick].bit;
    who->read_only = role && strstr(role, " read") != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = sw_fuzz_str(data, size);
    /* The body is what follows the first empty line; it may hold NULs. */
    const char *body = NULL;
    size_t body_len = 0;
    char *sep = strstr(text, "\n\n");
    if (sep) {
        *sep = '\0';
        body = (const char *)data + (sep - text) + 2;
        body_len = size - (size_t)(sep - text) - 2;
    }
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    char *method = line ? line : (char *)"";
    char *path = method[0] ? strchr(method, ' ') : NULL;
    if (!path) {
        free(text);
        return 0;
    }
    *path++ = '\0';
    struct query q = {0};
    char *qs = strchr(path, '?');
    if (qs) {
        *qs++ = '\0';
        parse_query(qs, &q);
    }
    const char *authorization = NULL, *idem = NULL, *role = NULL, *remote = "127.0.0.1";
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        const char *v = colon + 1 + (colon[1] == ' ');
        if (strcasecmp(line, "Authorization") == 0)
            authorization = v;
        else if (strcasecmp(line, "Idempotency-Key") == 0)
            idem = v;
        else if (strcasecmp(line, "Role") == 0)
            role = v;
        else if (strcasecmp(line, "Remote") == 0)
            remote = v;
    }
    /* The adapter hands over a NUL-terminated copy of the body. */
    char *body_copy = body ? sw_fuzz_str((const uint8_t *)body, body_len) : NULL;

    /* (1) as the HTTP adapter would */
    struct sw_req req = {
        .app = &app,
        .method = method,
        .path = path,
        .body = body_copy,
        .body_len = body_len,
        .remote = remote,
        .authorization = authorization,
        .idempotency_key = idem,
        .query = query_lookup,
        .conn = &q,
    };
    struct sw_resp resp = {0};
    sw_router_dispatch(&req, &resp);
    check_resp(&resp);

    /* (2) the route's handler, past authentication and the owner check */
    size_t count;
    const struct sw_route *const *routes = sw_routes(&count);
    char buf[2048];
    for (size_t i = 0; i < count; i++) {
        const char *params[SW_MAX_PATH_PARAMS] = {0};
        if (strcmp(routes[i]->method, method) != 0 ||
            sw_router_match(routes[i]->pattern, path, buf, sizeof buf, params) < 0)
            continue;
        struct sw_req h = req;
        h.route = routes[i];
        memcpy(h.params, params, sizeof h.params);
        principal(&h.who, role, routes[i]->roles);
        h.db = sw_db_pool_get(&pool);
        struct sw_err err = {0};
        int rc = routes[i]->fn(&h, &resp, &err);
        if (rc < 0)
            SW_FUZZ_ASSERT(err.code != SW_OK);
        else
            check_resp(&resp);
        json_decref(resp.body);
        free(resp.text);
        memset(&resp, 0, sizeof resp);

        /* (3) under an Idempotency-Key */
        if (idem && strcmp(method, "POST") == 0 && routes[i]->roles != SW_ROLE_PUBLIC) {
            struct sw_err ierr = {0};
            rc = sw_idem_run(&h, routes[i]->fn, &resp, &ierr);
            SW_FUZZ_ASSERT(rc < 0 && ierr.code != SW_OK); /* the database is down */
            json_decref(resp.body);
            free(resp.text);
            memset(&resp, 0, sizeof resp);
        }
        sw_db_pool_put(&pool, h.db);
        break;
    }
    free(body_copy);
    free(text);
    return 0;
}
