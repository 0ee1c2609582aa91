/* mail.c - plain-text e-mail through an SMTP relay (mail.h). */
#include "config.h"
#include "panel/mail.h"
#include "core/alloc.h"
#include "core/err.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct payload {
    const char *p;
    size_t left;
};

static size_t read_payload(char *buf, size_t size, size_t n, void *ctx)
{
    struct payload *pl = ctx;
    size_t k = size * n < pl->left ? size * n : pl->left;
    memcpy(buf, pl->p, k);
    pl->p += k;
    pl->left -= k;
    return k;
}

static bool address_ok(const char *a)
{
    return a && *a && !strpbrk(a, "\r\n<>");
}

static char *message(const char *from, const char *to, const char *subject, const char *text)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return sw_asprintf("Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
                       "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "\r\n%s\r\n",
                       date, from, to, subject, text);
}

int sw_mail_send(const char *url, const char *from, const char *to, const char *subject,
                 const char *text, struct sw_err *err)
{
    if (!address_ok(from) || !address_ok(to) || strpbrk(subject, "\r\n")) {
        SW_ERR(err, SW_EINVALID, "a mail address or subject holds a line break or angle bracket");
        return -1;
    }
    CURL *c = curl_easy_init();
    char *msg = message(from, to, subject, text);
    struct payload pl = {msg, strlen(msg)};
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    CURLcode rc = CURLE_FAILED_INIT;
    if (c && rcpt) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
        curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_payload);
        curl_easy_setopt(c, CURLOPT_READDATA, &pl);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        rc = curl_easy_perform(c);
    }
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    sodium_memzero(msg, strlen(msg)); /* it may hold a link's token */
    free(msg);
    if (rc == CURLE_OK)
        return 0;
    SW_ERR(err, SW_EUNAVAILABLE, "the smtp relay did not take the mail: %s", curl_easy_strerror(rc));
    return -1;
}
