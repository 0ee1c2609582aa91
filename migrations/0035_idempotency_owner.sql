-- 0035_idempotency_owner.sql: a retry takes over an Idempotency-Key whose
-- first request died with its panel, at once instead of after 10 minutes.
--   idempotency_keys.owner_pid, owner_started
--                   the PostgreSQL backend (pid and start time, as
--                   pg_stat_activity shows them) of the connection that
--                   claimed a 'running' key. A panel holds that connection
--                   for the whole request, and the handler's effect commits
--                   on it together with the stored answer: when that backend
--                   is gone, the request committed nothing, so a retry may
--                   run it. The start time tells a reused pid apart. NULL on
--                   rows claimed before this migration: those keep the
--                   10-minute rule. (The soak's kill -9 of a panel left an
--                   unsuspend's key running and its client retried 65 times
--                   over 120 s, each answered 409.)

ALTER TABLE idempotency_keys
    ADD COLUMN owner_pid integer,
    ADD COLUMN owner_started timestamptz;
