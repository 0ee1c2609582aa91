-- 0045_account_security.sql: TOTP two-factor login and password reset by
-- e-mail (issue 16; panel/twofactor.c, panel/pwreset.c).
--   accounts.totp_secret     the RFC 6238 secret (base32), wrapped with the
--                            control plane's master key (core/bkkey.h); set
--                            by an enrolment, kept pending until confirmed
--   accounts.totp_enabled    a confirmed enrolment: a login needs a code
--   accounts.totp_last_step  the last time step a code was accepted for, so
--                            a code (or an older one) is never taken twice
--   account_recovery_codes   ten single-use codes per enrolment, stored as
--                            keyed hashes (core/crypto.h sw_token_hash)
--   password_resets          a reset link's token (keyed hash), single-use
--                            (used_at) and short-lived (expires_at)
-- A change of totp_enabled notifies the panels' token caches (0007), which
-- carry it for the operator's per-role policy.

ALTER TABLE accounts
    ADD COLUMN totp_secret text,
    ADD COLUMN totp_enabled boolean NOT NULL DEFAULT false,
    ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT accounts_totp_secret CHECK (NOT totp_enabled OR totp_secret IS NOT NULL);

CREATE TABLE account_recovery_codes (
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (account_id, code_hash)
);

CREATE TRIGGER accounts_totp_auth_notify
    AFTER UPDATE OF totp_enabled
    ON accounts FOR EACH ROW EXECUTE FUNCTION sw_auth_notify_account();

CREATE TABLE password_resets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX password_resets_account ON password_resets (account_id) WHERE used_at IS NULL;
