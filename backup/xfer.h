/* xfer.h - memory buffers for libcurl transfers (the s3 and sftp targets). */
#ifndef SW_BK_XFER_H
#define SW_BK_XFER_H

#include <curl/curl.h>
#include <stddef.h>

struct sw_err;

/* A download grows p; an upload reads p[off..len). */
struct sw_bk_buf {
    unsigned char *p;
    size_t len, cap, off;
};

/* Points h's body at buf: a download into it (owned by buf, free(buf->p))
 * or an upload of len bytes from data (borrowed for the transfer). */
void sw_bk_xfer_download(CURL *h, struct sw_bk_buf *buf);
void sw_bk_xfer_upload(CURL *h, struct sw_bk_buf *buf, const void *data, size_t len);

/* Performs the transfer; -1 with err (unavailable, retryable) naming what
 * failed and libcurl's reason when it did not complete. */
int sw_bk_xfer_perform(CURL *h, const char *what, struct sw_err *err);

#endif
