/* mail.h - one plain-text e-mail through an SMTP relay with libcurl (the
 * password reset link, pwreset.c). */
#ifndef SW_PANEL_MAIL_H
#define SW_PANEL_MAIL_H

struct sw_err;

/* Sends subject and text (UTF-8) from from to to through url (smtp:// or
 * smtps://, as SLIPWAY_SMTP_URL). Addresses with CR, LF, '<' or '>' are
 * refused. 0, or -1 with err (SW_EUNAVAILABLE: the relay refused or did not
 * answer). Blocks for at most 30 s. */
int sw_mail_send(const char *url, const char *from, const char *to, const char *subject,
                 const char *text, struct sw_err *err);

#endif
