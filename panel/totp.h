/* totp.h - RFC 6238 codes (liboath: SHA-1, 6 digits, 30 s steps) and the
 * enrolment's otpauth:// URI and QR code (libqrencode), for two-factor
 * login (twofactor.c). Pure: no database, no clock of its own. */
#ifndef SW_PANEL_TOTP_H
#define SW_PANEL_TOTP_H

#include <stdint.h>
#include <time.h>

struct sw_err;

#define SW_TOTP_STEP_S 30
/* base32 of 20 random bytes, with NUL */
#define SW_TOTP_SECRET_MAX 33

/* A new random secret, base32 without padding, into out. -1 with err. */
int sw_totp_secret_new(char out[SW_TOTP_SECRET_MAX], struct sw_err *err);

/* The time step of code (6 digits) for base32 secret at now, looking one
 * step either side for clock drift: >= 0 the step, -1 when the code is
 * wrong or malformed (err says so). */
int64_t sw_totp_step(const char *secret, time_t now, const char *code, struct sw_err *err);

/* otpauth://totp/ISSUER:LABEL?secret=...&issuer=ISSUER... (owned, free()),
 * label and issuer percent-encoded. NULL with err. */
char *sw_totp_uri(const char *issuer, const char *label, const char *secret,
                  struct sw_err *err);

/* text as a QR code in an SVG document (owned, free()); NULL with err. */
char *sw_totp_qr_svg(const char *text, struct sw_err *err);

#endif
