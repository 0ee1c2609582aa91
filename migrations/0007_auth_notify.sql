-- 0007_auth_notify: tell every panel when a token or an account changes in
-- a way that affects authentication, so panels can cache bearer lookups.
-- Triggers, not application code, send these, so no path that revokes a
-- token or suspends an account can forget to. Channel "sw_auth":
--   "t:<token_hash>"  that token was revoked, expired, rescoped or deleted;
--   "a:<account_id>"  that account (and, for a reseller, its customers).

CREATE FUNCTION sw_auth_notify_token() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sw_auth', 't:' || OLD.token_hash);
    RETURN NULL;
END
$$;

CREATE TRIGGER api_tokens_auth_notify
    AFTER UPDATE OF revoked_at, expires_at, scope, account_id, token_hash OR DELETE
    ON api_tokens FOR EACH ROW EXECUTE FUNCTION sw_auth_notify_token();

CREATE FUNCTION sw_auth_notify_account() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sw_auth', 'a:' || OLD.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_auth_notify
    AFTER UPDATE OF state, kind, reseller_id OR DELETE
    ON accounts FOR EACH ROW EXECUTE FUNCTION sw_auth_notify_account();
