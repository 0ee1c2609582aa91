/* totp.c - RFC 6238 codes with liboath, the otpauth:// URI and its QR code
 * with libqrencode (totp.h). */
#include "config.h"
#include "panel/totp.h"
#include "core/alloc.h"
#include "core/err.h"

#include <curl/curl.h>
#include <liboath/oath.h>
#include <pthread.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_BYTES 20

static int oath_ready = OATH_OK;

static void init_oath(void)
{
    oath_ready = oath_init();
}

static int ready(struct sw_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_oath);
    if (oath_ready == OATH_OK)
        return 0;
    SW_ERR(err, SW_EINTERNAL, "liboath failed to start: %s", oath_strerror(oath_ready));
    return -1;
}

int sw_totp_secret_new(char out[SW_TOTP_SECRET_MAX], struct sw_err *err)
{
    unsigned char raw[SECRET_BYTES];
    char *b32 = NULL;
    size_t len = 0;
    if (ready(err) < 0)
        return -1;
    randombytes_buf(raw, sizeof raw);
    int rc = oath_base32_encode((const char *)raw, sizeof raw, &b32, &len);
    sodium_memzero(raw, sizeof raw);
    if (rc != OATH_OK || len >= SW_TOTP_SECRET_MAX) {
        SW_ERR(err, SW_EINTERNAL, "base32 of the secret failed: %s", oath_strerror(rc));
        free(b32);
        return -1;
    }
    memcpy(out, b32, len); /* 20 bytes: 32 characters, no padding */
    out[len] = '\0';
    sodium_memzero(b32, len);
    free(b32);
    return 0;
}

static bool six_digits(const char *code)
{
    if (strlen(code) != 6)
        return false;
    for (const char *p = code; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

int64_t sw_totp_step(const char *secret, time_t now, const char *code, struct sw_err *err)
{
    char *raw = NULL;
    size_t len = 0;
    if (ready(err) < 0)
        return -1;
    if (!six_digits(code)) {
        SW_ERR(err, SW_EINVALID, "a code is 6 digits");
        return -1;
    }
    if (oath_base32_decode(secret, strlen(secret), &raw, &len) != OATH_OK) {
        SW_ERR(err, SW_EINTERNAL, "the stored two-factor secret is not base32");
        return -1;
    }
    uint64_t step = 0;
    int pos = 0;
    int rc = oath_totp_validate4(raw, len, now, SW_TOTP_STEP_S, OATH_TOTP_DEFAULT_START_TIME,
                                 1, &pos, &step, 0, code);
    sodium_memzero(raw, len);
    free(raw);
    if (rc < 0) {
        SW_ERR(err, SW_EFORBIDDEN, "the two-factor code is wrong or stale");
        return -1;
    }
    return (int64_t)step;
}

char *sw_totp_uri(const char *issuer, const char *label, const char *secret,
                  struct sw_err *err)
{
    char *i = curl_easy_escape(NULL, issuer, 0), *l = curl_easy_escape(NULL, label, 0);
    char *uri = NULL;
    if (i && l)
        uri = sw_asprintf("otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1"
                          "&digits=6&period=%d",
                          i, l, secret, i, SW_TOTP_STEP_S);
    else
        SW_ERR(err, SW_EINTERNAL, "percent-encoding the otpauth uri failed");
    curl_free(i);
    curl_free(l);
    return uri;
}

/* One dark module as an SVG path step, at most this many bytes. */
#define MODULE_MAX 24
#define QUIET 4 /* modules of white border */

char *sw_totp_qr_svg(const char *text, struct sw_err *err)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr) {
        SW_ERR(err, SW_EINTERNAL, "the QR code could not be made");
        return NULL;
    }
    int w = qr->width, side = w + 2 * QUIET;
    size_t cap = (size_t)w * (size_t)w * MODULE_MAX + 512, n = 0;
    char *svg = sw_malloc(cap);
    n += (size_t)snprintf(svg + n, cap - n,
                          "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
                          " shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\""
                          " fill=\"#fff\"/><path fill=\"#000\" d=\"",
                          side, side, side, side);
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            if (qr->data[y * w + x] & 1)
                n += (size_t)snprintf(svg + n, cap - n, "M%d %dh1v1h-1z", x + QUIET, y + QUIET);
    snprintf(svg + n, cap - n, "\"/></svg>");
    QRcode_free(qr);
    return svg;
}
