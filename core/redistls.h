/* redistls.h - a Redis connection over TLS (OpenSSL), for rediss:// URLs.
 *
 * hiredis 0.14 has neither hiredis_ssl nor I/O hooks, so this file owns the
 * transport and hiredis still owns the protocol: commands are encoded with
 * redisFormatCommandArgv and replies decoded by a redisReader. The link is
 * blocking, like hiredis's own; connecting and the TLS handshake together
 * take at most timeout_ms, and each read or write then at most
 * io_timeout_ms (a silent peer fails the command; the link is broken).
 *
 * Verification is always on: the server's certificate must chain to the
 * CA file (or, without one, the system store) and name the host checked
 * (servername, else host; an IP address is checked as an IP address). SNI
 * carries that name unless it is an IP address. A client certificate is
 * sent when cert and key are given. Errors name files and OpenSSL's
 * reasons, never key material; an encrypted key is refused, never
 * prompted for. */
#ifndef SW_REDISTLS_H
#define SW_REDISTLS_H

#include <stdbool.h>

struct sw_err;
struct sw_redistls;
struct redisReply;

struct sw_redistls_opts {
    const char *host; /* name or address to connect to */
    int port;
    const char *cacert;     /* PEM CA file; NULL: the system store */
    const char *cert, *key; /* PEM client certificate and key, or both NULL */
    const char *servername; /* name to verify and send as SNI; NULL: host */
    int timeout_ms;         /* connect + handshake */
    int io_timeout_ms;      /* then each read or write; 0: none */
};

/* Returns owned (sw_redistls_free), or NULL with err: SW_EINVALID for
 * unusable files (no retry helps), SW_EUNAVAILABLE+retryable for a server
 * that cannot be reached or fails verification. */
struct sw_redistls *sw_redistls_connect(const struct sw_redistls_opts *o, struct sw_err *err);
void sw_redistls_free(struct sw_redistls *t);

/* Sends one command (argv borrowed) and reads its reply: returns owned
 * (freeReplyObject), error replies included; NULL when the link failed
 * (err: SW_EUNAVAILABLE, retryable), after which the link is broken and
 * every later call fails until it is freed. */
struct redisReply *sw_redistls_command(struct sw_redistls *t, int argc, const char **argv,
                                       struct sw_err *err);
bool sw_redistls_broken(const struct sw_redistls *t);

#endif
