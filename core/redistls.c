#include "config.h"
#include "core/redistls.h"
#include "core/alloc.h"
#include "core/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct sw_redistls {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    redisReader *reader;
    bool broken;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* OpenSSL's reasons for the last failure (its error queue, emptied). */
static const char *ssl_reason(char *buf, size_t n)
{
    unsigned long e, last = 0;
    while ((e = ERR_get_error()) != 0)
        last = e;
    if (!last && (errno == EAGAIN || errno == EWOULDBLOCK))
        snprintf(buf, n, "timed out");
    else if (!last)
        snprintf(buf, n, "%s", errno ? strerror(errno) : "connection closed");
    else
        ERR_error_string_n(last, buf, n);
    return buf;
}

/* Waits until fd is ready for events or the deadline passes; 0 when ready. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* A non-blocking connect to one address, finished by the deadline. */
static int connect_addr(const struct addrinfo *a, long long deadline)
{
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0)
        return -1;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
        soerr = errno;
        if (soerr == EINPROGRESS)
            soerr = wait_fd(fd, POLLOUT, deadline) < 0 ||
                            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0
                        ? errno
                        : soerr;
    }
    if (soerr == 0)
        return fd;
    close(fd);
    errno = soerr;
    return -1;
}

static int tcp_connect(const char *host, int port, long long deadline, struct sw_err *err)
{
    char ports[16];
    snprintf(ports, sizeof ports, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, ports, &hints, &res);
    if (rc != 0) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not connect to redis");
        sw_err_detail(err, "%s:%d: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (const struct addrinfo *a = res; a && fd < 0; a = a->ai_next)
        fd = connect_addr(a, deadline);
    freeaddrinfo(res);
    if (fd < 0) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not connect to redis");
        sw_err_detail(err, "%s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Never prompt for a key's passphrase: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

static int ctx_files(SSL_CTX *ctx, const struct sw_redistls_opts *o, struct sw_err *err)
{
    char why[256];
    const char *what = o->cacert;
    if (o->cacert ? SSL_CTX_load_verify_locations(ctx, o->cacert, NULL) != 1
                  : SSL_CTX_set_default_verify_paths(ctx) != 1)
        goto fail;
    if (!o->cert != !o->key) {
        SW_ERR(err, SW_EINVALID, "a redis client certificate needs both cert and key");
        return -1;
    }
    what = o->cert;
    if (o->cert && SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1)
        goto fail;
    what = o->key;
    if (o->key && (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
                   SSL_CTX_check_private_key(ctx) != 1))
        goto fail;
    return 0;
fail:
    SW_ERR(err, SW_EINVALID, "could not load the redis TLS files");
    sw_err_detail(err, "\"%s\": %s", what ? what : "system store", ssl_reason(why, sizeof why));
    return -1;
}

static SSL_CTX *ctx_new(const struct sw_redistls_opts *o, struct sw_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        char why[256];
        SW_ERR(err, SW_EINTERNAL, "could not set up TLS");
        sw_err_detail(err, "%s", ssl_reason(why, sizeof why));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    if (ctx_files(ctx, o, err) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static bool is_ip(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* The name checked against the certificate, and SNI unless an address. */
static int ssl_name(SSL *ssl, const char *name)
{
    if (SSL_set1_host(ssl, name) != 1)
        return -1;
    return is_ip(name) || SSL_set_tlsext_host_name(ssl, name) == 1 ? 0 : -1;
}

static void handshake_failed(SSL *ssl, const char *name, struct sw_err *err)
{
    char why[256];
    long v = SSL_get_verify_result(ssl);
    SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not connect to redis over TLS");
    if (v != X509_V_OK)
        sw_err_detail(err, "certificate of \"%s\" not trusted: %s", name,
                      X509_verify_cert_error_string(v));
    else
        sw_err_detail(err, "TLS handshake with \"%s\": %s", name, ssl_reason(why, sizeof why));
}

/* SSL_connect on the non-blocking socket until done or the deadline. */
static int handshake(SSL *ssl, int fd, const char *name, long long deadline, struct sw_err *err)
{
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int rc = SSL_connect(ssl);
        if (rc == 1)
            return 0;
        int e = SSL_get_error(ssl, rc);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (!ev || wait_fd(fd, ev, deadline) < 0)
            break;
    }
    handshake_failed(ssl, name, err);
    return -1;
}

static int tls_open(struct sw_redistls *t, const struct sw_redistls_opts *o, long long deadline,
                    struct sw_err *err)
{
    const char *name = o->servername ? o->servername : o->host;
    t->ctx = ctx_new(o, err);
    if (!t->ctx)
        return -1;
    t->fd = tcp_connect(o->host, o->port, deadline, err);
    if (t->fd < 0)
        return -1;
    t->ssl = SSL_new(t->ctx);
    if (!t->ssl || ssl_name(t->ssl, name) < 0 || SSL_set_fd(t->ssl, t->fd) != 1) {
        SW_ERR(err, SW_EINVALID, "could not use \"%s\" as the redis TLS server name", name);
        return -1;
    }
    if (handshake(t->ssl, t->fd, name, deadline, err) < 0)
        return -1;
    /* From here on blocking, as hiredis's own link, with its timeouts. */
    struct timeval io = {o->io_timeout_ms / 1000, (o->io_timeout_ms % 1000) * 1000};
    if (fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
        setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &io, sizeof io) < 0 ||
        setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &io, sizeof io) < 0) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not connect to redis over TLS");
        sw_err_detail(err, "socket options: %s", strerror(errno));
        return -1;
    }
    return 0;
}

struct sw_redistls *sw_redistls_connect(const struct sw_redistls_opts *o, struct sw_err *err)
{
    struct sw_redistls *t = sw_calloc(1, sizeof *t);
    t->fd = -1;
    long long deadline = now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : 5000);
    if (tls_open(t, o, deadline, err) < 0) {
        sw_redistls_free(t);
        return NULL;
    }
    t->reader = redisReaderCreate();
    return t;
}

void sw_redistls_free(struct sw_redistls *t)
{
    if (!t)
        return;
    if (t->ssl && !t->broken && SSL_is_init_finished(t->ssl))
        SSL_shutdown(t->ssl); /* close_notify; the answer is not awaited */
    ERR_clear_error();
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    if (t->fd >= 0)
        close(t->fd);
    if (t->reader)
        redisReaderFree(t->reader);
    free(t);
}

bool sw_redistls_broken(const struct sw_redistls *t)
{
    return t->broken;
}

static void *link_failed(struct sw_redistls *t, const char *what, const char *why,
                         struct sw_err *err)
{
    t->broken = true;
    SW_ERR_RETRY(err, SW_EUNAVAILABLE, "redis is unavailable");
    sw_err_detail(err, "TLS %s: %s", what, why);
    return NULL;
}

static int write_all(struct sw_redistls *t, const char *buf, size_t n, struct sw_err *err)
{
    char why[256];
    size_t done = 0;
    ERR_clear_error();
    errno = 0;
    if (SSL_write_ex(t->ssl, buf, n, &done) != 1 || done != n) {
        link_failed(t, "write", ssl_reason(why, sizeof why), err);
        return -1;
    }
    return 0;
}

/* Reads and feeds the reader until it holds one whole reply. */
static redisReply *read_reply(struct sw_redistls *t, struct sw_err *err)
{
    char buf[16384], why[256];
    void *rep = NULL;
    for (;;) {
        if (redisReaderGetReply(t->reader, &rep) != REDIS_OK)
            return link_failed(t, "protocol", t->reader->errstr, err);
        if (rep)
            return rep;
        size_t got = 0;
        ERR_clear_error();
        errno = 0;
        if (SSL_read_ex(t->ssl, buf, sizeof buf, &got) != 1)
            return link_failed(t, "read", ssl_reason(why, sizeof why), err);
        if (redisReaderFeed(t->reader, buf, got) != REDIS_OK)
            return link_failed(t, "protocol", t->reader->errstr, err);
    }
}

struct redisReply *sw_redistls_command(struct sw_redistls *t, int argc, const char **argv,
                                       struct sw_err *err)
{
    if (t->broken)
        return link_failed(t, "link", "broken by an earlier failure", err);
    char *cmd = NULL;
    int n = redisFormatCommandArgv(&cmd, argc, argv, NULL);
    if (n < 0) {
        SW_ERR(err, SW_EINTERNAL, "could not encode a redis command");
        return NULL;
    }
    int rc = write_all(t, cmd, (size_t)n, err);
    redisFreeCommand(cmd);
    return rc < 0 ? NULL : read_reply(t, err);
}
