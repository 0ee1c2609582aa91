/* xfer.c - memory buffers for libcurl transfers. */
#include "config.h"
#include "backup/xfer.h"
#include "core/alloc.h"
#include "core/err.h"

#include <stdint.h>
#include <string.h>

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct sw_bk_buf *b = arg;
    size_t add = size * n;
    if (b->len + add + 1 > b->cap) {
        b->cap = (b->len + add + 1) * 2;
        b->p = sw_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, add);
    b->len += add;
    b->p[b->len] = 0;
    return add;
}

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
    struct sw_bk_buf *b = arg;
    size_t take = b->len - b->off;
    if (take > size * n)
        take = size * n;
    memcpy(p, b->p + b->off, take);
    b->off += take;
    return take;
}

void sw_bk_xfer_download(CURL *h, struct sw_bk_buf *buf)
{
    memset(buf, 0, sizeof *buf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, buf);
}

void sw_bk_xfer_upload(CURL *h, struct sw_bk_buf *buf, const void *data, size_t len)
{
    memset(buf, 0, sizeof *buf);
    buf->p = (unsigned char *)(uintptr_t)data; /* read only: on_read copies out */
    buf->len = len;
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, buf);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
}

int sw_bk_xfer_perform(CURL *h, const char *what, struct sw_err *err)
{
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        return 0;
    SW_ERR_RETRY(err, SW_EUNAVAILABLE, "backup target: could not %s: %s", what,
                 curl_easy_strerror(rc));
    return -1;
}
