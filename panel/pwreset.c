/* pwreset.c - a forgotten password (issue 16). POST /v1/auth/password-reset
 * {email} answers 202 alike whether the email is an account's or not; for
 * an active account it records a single-use link (the token's keyed hash,
 * SLIPWAY_PASSWORD_RESET_TTL seconds) and mails it through the relay
 * SLIPWAY_SMTP_URL from a thread of its own, so the answer does not wait
 * on the relay (and its time says nothing). POST
 * /v1/auth/password-reset/confirm {token, password} sets the password and
 * ends every session and token of the account, and every other link. */
#include "config.h"
#include "panel/data_accounts.h"
#include "panel/data_pwreset.h"
#include "panel/data_tokens.h"
#include "panel/handlers.h"
#include "panel/mail.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Links mailed to one email per 15 minutes; past it the answer is the same
 * and nothing is sent. */
#define MAILS_PER_EMAIL 3

struct mail_job {
    char *url, *from, *to, *text;
};

static void mail_job_free(struct mail_job *m)
{
    sodium_memzero(m->text, strlen(m->text));
    free(m->url);
    free(m->from);
    free(m->to);
    free(m->text);
    free(m);
}

static void *mail_main(void *arg)
{
    struct mail_job *m = arg;
    struct sw_err err = {0};
    if (sw_mail_send(m->url, m->from, m->to, "Reset your slipway password", m->text, &err) < 0)
        sw_log_err(SW_LOG_ERROR, "pwreset.mail_failed", &err);
    else
        sw_info("pwreset.mailed", "relay took the reset link");
    mail_job_free(m);
    return NULL;
}

/* Mails the link to to from a detached thread (it owns what it sends). */
static void mail_later(const char *to, const char *link, long ttl_s)
{
    struct mail_job *m = sw_malloc(sizeof *m);
    m->url = sw_strdup(sw_conf_get("SLIPWAY_SMTP_URL"));
    m->from = sw_strdup(sw_conf_get("SLIPWAY_SMTP_FROM"));
    m->to = sw_strdup(to);
    m->text = sw_asprintf("Someone asked to reset the password of your slipway account.\r\n"
                          "To choose a new one, open this link within %ld minutes:\r\n\r\n"
                          "%s\r\n\r\nIt works once. If you did not ask, ignore this mail.",
                          ttl_s / 60, link);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, mail_main, m) != 0) {
        sw_warn("pwreset.mail_failed", "reason=%s", "no thread for the mail");
        mail_job_free(m);
    }
    pthread_attr_destroy(&attr);
}

/* The relay, the sender and the public URL are set (else 503, alike for
 * every email); the link's lifetime into ttl_s. */
static int configured(long *ttl_s, struct sw_err *err)
{
    static const char *const need[] = {"SLIPWAY_SMTP_URL", "SLIPWAY_SMTP_FROM",
                                       "SLIPWAY_PUBLIC_URL"};
    for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
        const char *v = sw_conf_get(need[i]);
        if (!v || !*v) {
            SW_ERR(err, SW_EUNAVAILABLE, "password reset by e-mail is not configured (%s)",
                   need[i]);
            return -1;
        }
    }
    return sw_conf_long("SLIPWAY_PASSWORD_RESET_TTL", 300, 86400, ttl_s, err);
}

/* Records a link for the account and mails it to its stored address. */
static int send_link(struct sw_req *req, const struct sw_data_login *a, long ttl_s,
                     struct sw_err *err)
{
    char token[SW_TOKEN_LEN + 1], hash[SW_TOKEN_HASH_HEX + 1];
    sw_token_new(token);
    sw_token_hash(req->app->key, token, hash);
    int rc = sw_data_pwreset_insert(req->db, a->id, hash, ttl_s, err);
    if (rc == 0) {
        const char *base = sw_conf_get("SLIPWAY_PUBLIC_URL");
        size_t n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
            n--;
        char *link = sw_asprintf("%.*s/reset-password?token=%s", (int)n, base, token);
        mail_later(a->email, link, ttl_s);
        sodium_memzero(link, strlen(link));
        free(link);
    }
    sodium_memzero(token, sizeof token);
    return rc;
}

static const struct sw_jfield reset_fields[] = {
    {"email", SW_JT_STRING, true},
    {NULL, 0, false},
};

SW_HANDLER(sw_h_pwreset)
{
    long ttl_s;
    json_t *b = configured(&ttl_s, err) == 0 ? sw_api_body(req, reset_fields, err) : NULL;
    if (!b)
        return -1;
    int rc = -1;
    const char *email = sw_json_str(b, "email");
    struct sw_data_login a;
    if (strlen(email) > SW_EMAIL_MAX)
        SW_ERR(err, SW_EINVALID, "email is too long");
    else if (!sw_api_rate_ok(req, "pwreset-addr", req->remote, req->app->login_fail_address, 900))
        SW_ERR(err, SW_ERATE_LIMITED, "too many reset requests; try again in 15 minutes");
    else if ((rc = sw_data_accounts_by_email(req->db, email, &a, err)) > 0 &&
             strcmp(a.state, "active") == 0 &&
             sw_api_rate_hit(req, "pwreset-acct", a.folded, 900) <= MAILS_PER_EMAIL)
        rc = send_link(req, &a, ttl_s, err);
    sodium_memzero(&a, sizeof a);
    if (rc >= 0)
        sw_api_reply(resp, 202, json_pack("{s:s}", "message",
                                          "if an account has this email, a reset link is on its way"));
    json_decref(b);
    return rc >= 0 ? 0 : -1;
}

static const struct sw_jfield confirm_fields[] = {
    {"token", SW_JT_STRING, true},
    {"password", SW_JT_STRING, true},
    {NULL, 0, false},
};

struct reset_ctx {
    const char *token_hash, *password_hash;
};

/* Takes the link, sets the password, ends every token and other link. */
static int reset_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct reset_ctx *c = ctx;
    char account[SW_UUID_LEN + 1];
    int found = sw_data_pwreset_take(db, c->token_hash, account, err);
    if (found == 0)
        SW_ERR(err, SW_EUNPROCESSABLE, "token: the reset link is unknown, used or expired");
    if (found <= 0)
        return -1;
    return sw_data_accounts_set_password(db, account, c->password_hash, err) < 0 ||
                   sw_data_tokens_revoke_others(db, account, "00000000-0000-0000-0000-000000000000",
                                                err) < 0 ||
                   sw_data_pwreset_end_all(db, account, err) < 0
               ? -1
               : 0;
}

SW_HANDLER(sw_h_pwreset_confirm)
{
    json_t *b = sw_api_body(req, confirm_fields, err);
    if (!b)
        return -1;
    char token_hash[SW_TOKEN_HASH_HEX + 1], pw_hash[SW_PASSWORD_HASH_MAX];
    struct reset_ctx c = {token_hash, pw_hash};
    int rc = -1;
    if (sw_api_check_len(b, "token", 1, 128, err) == 0 &&
        sw_api_check_len(b, "password", 8, 1024, err) == 0 &&
        sw_password_hash(sw_json_str(b, "password"), pw_hash, err) == 0) {
        sw_token_hash(req->app->key, sw_json_str(b, "token"), token_hash);
        rc = sw_db_tx(req->db, reset_tx, &c, err);
    }
    sodium_memzero(pw_hash, sizeof pw_hash);
    json_decref(b);
    return rc == 0 ? sw_api_reply(resp, 204, NULL) : -1;
}

const struct sw_route sw_routes_pwreset[] = {
    {"POST", "/v1/auth/password-reset", PUBLIC, SW_OWN_NONE, sw_h_pwreset,
     "mail a single-use password reset link (202 alike whether the email is known)", 0},
    {"POST", "/v1/auth/password-reset/confirm", PUBLIC, SW_OWN_NONE, sw_h_pwreset_confirm,
     "set a new password with a reset link's token (ends every session and token)", SW_RF_AUTH},
    SW_ROUTES_END,
};
