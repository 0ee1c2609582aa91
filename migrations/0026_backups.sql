-- 0026_backups.sql: backups through the job pipeline (issue 14, panel/README.md
-- "API notes: backups", provisioner/README.md "Backups").
--   backup_targets        where backups go (backup/README.md "Targets"): config
--                         without secrets; the secret (an s3 secret_key) sealed
--                         at rest with the control plane's master key
--                         (crypto_secretbox, base64 nonce||box); on_node_ok: it
--                         may live on the node it protects (the dir default)
--   account_backup_keys   one 32-byte repository key per account, wrapped with
--                         the master key the same way; never answered, never logged
--   backups               one row per backup job: its target, parent (the
--                         incremental's), kind, state, bytes, the checkpoint it
--                         made on the node and its manifest's name
--   backup_policies       a server's (or a plan's default) schedule and retention
--   plans                 price of stored backup bytes per GB-month
--   jobs.type             gains backup and restore (snap's three types kept)
-- The engine's role is granted nothing here: a backup job carries what the
-- engine needs (sealed), and the result is recorded by the provisioner.

CREATE TABLE backup_targets (
    id            uuid PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    kind          text NOT NULL CHECK (kind IN ('dir', 's3', 'sftp')),
    config        jsonb NOT NULL CHECK (jsonb_typeof(config) = 'object'),
    secret_sealed text,
    on_node_ok    boolean NOT NULL DEFAULT false,
    is_default    boolean NOT NULL DEFAULT false,
    state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX backup_targets_one_default ON backup_targets ((true))
    WHERE is_default AND state = 'active';

CREATE TABLE account_backup_keys (
    account_id  uuid PRIMARY KEY REFERENCES accounts (id),
    key_wrapped text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE backups (
    id            uuid PRIMARY KEY,
    server_id     uuid NOT NULL REFERENCES servers (id),
    account_id    uuid NOT NULL REFERENCES accounts (id),   -- the server's owner
    target_id     uuid NOT NULL REFERENCES backup_targets (id),
    job_id        uuid REFERENCES jobs (id),
    parent_id     uuid REFERENCES backups (id) ON DELETE SET NULL,
    kind          text NOT NULL DEFAULT 'full' CHECK (kind IN ('full', 'incremental')),
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'running', 'completed', 'failed', 'deleted')),
    bytes_logical bigint NOT NULL DEFAULT 0 CHECK (bytes_logical >= 0),
    bytes_stored  bigint NOT NULL DEFAULT 0 CHECK (bytes_stored >= 0),
    checkpoint    text,
    manifest      text,
    slot          text,         -- a policy's backups: the schedule slot (one per server)
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    error         text
);
CREATE INDEX backups_server_idx ON backups (server_id, created_at, id);
CREATE INDEX backups_account_idx ON backups (account_id, created_at, id);
CREATE UNIQUE INDEX backups_one_per_slot ON backups (server_id, slot) WHERE slot IS NOT NULL;

CREATE TABLE backup_policies (
    id           uuid PRIMARY KEY,
    server_id    uuid UNIQUE REFERENCES servers (id),
    plan_id      uuid UNIQUE REFERENCES plans (id),
    schedule     text NOT NULL DEFAULT 'daily' CHECK (schedule IN ('daily', 'weekly')),
    weekday      integer NOT NULL DEFAULT 0 CHECK (weekday BETWEEN 0 AND 6), -- 0 = Sunday
    window_start integer NOT NULL DEFAULT 0 CHECK (window_start BETWEEN 0 AND 23),
    window_end   integer NOT NULL DEFAULT 6 CHECK (window_end BETWEEN 1 AND 24),
    keep_last    integer NOT NULL DEFAULT 0 CHECK (keep_last >= 0),
    keep_daily   integer NOT NULL DEFAULT 7 CHECK (keep_daily >= 0),
    keep_weekly  integer NOT NULL DEFAULT 4 CHECK (keep_weekly >= 0),
    keep_monthly integer NOT NULL DEFAULT 0 CHECK (keep_monthly >= 0),
    target_id    uuid REFERENCES backup_targets (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((server_id IS NULL) <> (plan_id IS NULL)),
    CHECK (window_start < window_end)
);

ALTER TABLE plans ADD COLUMN price_backup_gb_month bigint NOT NULL DEFAULT 0
    CHECK (price_backup_gb_month >= 0);

ALTER TABLE jobs DROP CONSTRAINT jobs_type_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_type_check
    CHECK (type IN ('create', 'start', 'stop', 'reboot', 'reinstall', 'resize', 'suspend',
                    'unsuspend', 'terminate', 'reset_password', 'mount_iso', 'eject_iso',
                    'set_boot', 'snapshot_create', 'snapshot_revert', 'snapshot_delete',
                    'backup', 'restore'));

-- A backup's row as the API shows it (panel/README.md "API notes: backups").
CREATE FUNCTION sw_backup_json(b backups) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', b.id, 'server_id', b.server_id, 'target_id', b.target_id, 'job_id', b.job_id,
        'parent_id', b.parent_id, 'kind', b.kind, 'state', b.state,
        'bytes_logical', b.bytes_logical, 'bytes_stored', b.bytes_stored,
        'created_at', to_char(b.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'completed_at', to_char(b.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'error', b.error)
$$;

-- A target as operators see it: never its secret, only whether it has one.
CREATE FUNCTION sw_backup_target_json(t backup_targets) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'name', t.name, 'kind', t.kind, 'config', t.config,
        'has_secret', t.secret_sealed IS NOT NULL, 'on_node_ok', t.on_node_ok,
        'is_default', t.is_default, 'state', t.state,
        'created_at', to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
$$;

-- Events (webhooks): backup.completed, backup.failed (the backup's owner),
-- restore.completed (a restore job succeeded).
ALTER TABLE events DROP CONSTRAINT events_type_check;
ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN (
    'order.created', 'server.provisioned', 'server.suspended', 'server.unsuspended',
    'server.terminated', 'job.failed', 'usage.hourly', 'invoice.finalized', 'invoice.overdue',
    'payment.received', 'backup.completed', 'backup.failed', 'restore.completed'));
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_events_check;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_events_check
    CHECK (cardinality(events) BETWEEN 1 AND 13 AND events <@ ARRAY[
        'order.created', 'server.provisioned', 'server.suspended', 'server.unsuspended',
        'server.terminated', 'job.failed', 'usage.hourly', 'invoice.finalized',
        'invoice.overdue', 'payment.received', 'backup.completed', 'backup.failed',
        'restore.completed']);

CREATE FUNCTION sw_restore_completed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sw_event_emit('restore.completed',
                          (SELECT owner_id FROM servers WHERE id = NEW.server_id),
                          jsonb_build_object('job', sw_job_json(NEW),
                                             'backup_id', NEW.params->>'backup_id'));
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_restore_completed AFTER UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.type = 'restore' AND NEW.state = 'succeeded'
                       AND OLD.state <> 'succeeded')
    EXECUTE FUNCTION sw_restore_completed();

-- A backup's state follows its job: running with it, completed when it
-- succeeded (the provisioner recorded the bytes in the same transaction),
-- failed with its error when it failed or died.
CREATE FUNCTION sw_backup_follow_job() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bk backups;
BEGIN
    UPDATE backups b SET
        state = CASE NEW.state WHEN 'running' THEN 'running'
                               WHEN 'succeeded' THEN 'completed' ELSE 'failed' END,
        completed_at = CASE WHEN NEW.state = 'succeeded' THEN now() ELSE b.completed_at END,
        error = CASE WHEN NEW.state IN ('failed', 'dead') THEN NEW.error ELSE b.error END
     WHERE b.job_id = NEW.id AND b.state IN ('pending', 'running')
       AND NEW.state IN ('running', 'succeeded', 'failed', 'dead')
    RETURNING * INTO bk;
    IF FOUND AND bk.state IN ('completed', 'failed') THEN
        PERFORM sw_event_emit('backup.' || bk.state, bk.account_id,
                              jsonb_build_object('backup', sw_backup_json(bk)));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER backups_follow_job AFTER UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.type = 'backup' AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION sw_backup_follow_job();

-- A policy as the API shows it.
CREATE FUNCTION sw_backup_policy_json(p backup_policies) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'server_id', p.server_id, 'plan_id', p.plan_id, 'schedule', p.schedule,
        'weekday', p.weekday, 'window_start', p.window_start, 'window_end', p.window_end,
        'keep_last', p.keep_last, 'keep_daily', p.keep_daily, 'keep_weekly', p.keep_weekly,
        'keep_monthly', p.keep_monthly, 'target_id', p.target_id)
$$;

-- Each live server's policy: its own, else its plan's.
CREATE VIEW backup_policy_of_server AS
    SELECT s.id AS server_id, s.owner_id, s.state, s.node_id, p.schedule, p.weekday,
           p.window_start, p.window_end, p.keep_last, p.keep_daily, p.keep_weekly,
           p.keep_monthly, p.target_id
      FROM servers s
      JOIN backup_policies p ON p.id = coalesce(
          (SELECT id FROM backup_policies WHERE server_id = s.id),
          (SELECT id FROM backup_policies WHERE plan_id = s.plan_id))
     WHERE s.state IN ('running', 'stopped');

-- The schedule slot a policy is due in at `at` (UTC), or NULL: a daily
-- policy every day, a weekly one on its weekday, within [window_start,
-- window_end) hours. The slot names the day, so one backup per server and
-- slot (backups_one_per_slot).
CREATE FUNCTION sw_backup_slot(schedule text, weekday integer, ws integer, we integer,
                               at timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN extract(hour FROM at AT TIME ZONE 'UTC') >= ws
                 AND extract(hour FROM at AT TIME ZONE 'UTC') < we
                 AND (schedule = 'daily' OR extract(dow FROM at AT TIME ZONE 'UTC') = weekday)
                THEN schedule || ':' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') END
$$;

-- The scheduler's pass (provisioner/backups.c): for every server due now
-- without a backup in this slot, a backup (incremental to its newest
-- completed one on the target) and its job with the job's outbox row, in
-- the caller's transaction. A server on libvirt's test driver is skipped
-- (no backup API). Returns the jobs queued.
CREATE FUNCTION sw_backup_schedule(at timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
    b uuid;
    j uuid;
    tgt uuid;
BEGIN
    FOR r IN SELECT ps.*, sw_backup_slot(ps.schedule, ps.weekday, ps.window_start,
                                         ps.window_end, at) AS slot
               FROM backup_policy_of_server ps JOIN nodes nd ON nd.id = ps.node_id
              WHERE nd.engine_uri NOT LIKE 'test:%'
    LOOP
        CONTINUE WHEN r.slot IS NULL;
        tgt := coalesce(r.target_id, (SELECT id FROM backup_targets
                                       WHERE is_default AND state = 'active'));
        CONTINUE WHEN tgt IS NULL;
        b := gen_random_uuid();
        INSERT INTO backups (id, server_id, account_id, target_id, parent_id, kind, slot)
        SELECT b, r.server_id, r.owner_id, tgt, p.id,
               CASE WHEN p.id IS NULL THEN 'full' ELSE 'incremental' END, r.slot
          FROM (SELECT NULL) x LEFT JOIN LATERAL (
               SELECT id FROM backups WHERE server_id = r.server_id AND target_id = tgt
                  AND state = 'completed' AND checkpoint IS NOT NULL
                ORDER BY completed_at DESC, id LIMIT 1) p ON true
        ON CONFLICT (server_id, slot) WHERE slot IS NOT NULL DO NOTHING;
        CONTINUE WHEN NOT FOUND;
        j := gen_random_uuid();
        INSERT INTO jobs (id, server_id, account_id, type, params)
             VALUES (j, r.server_id, r.owner_id, 'backup', jsonb_build_object('backup_id', b));
        UPDATE backups SET job_id = j WHERE id = b;
        INSERT INTO outbox (stream, payload)
             VALUES ('jobs', jsonb_build_object('job_id', j, 'server_id', r.server_id,
                                                'type', 'backup')::text);
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        PERFORM pg_notify('outbox', '');
    END IF;
    RETURN n;
END
$$;

-- Servers whose policy has no completed backup within its period (a day,
-- or a week, and the window's length): GET /v1/admin/backups?stale=true.
CREATE VIEW backup_stale AS
    SELECT ps.server_id AS id, ps.server_id, ps.schedule,
           (SELECT max(completed_at) FROM backups b
             WHERE b.server_id = ps.server_id AND b.state = 'completed') AS last_completed_at,
           s.created_at
      FROM backup_policy_of_server ps JOIN servers s ON s.id = ps.server_id
     WHERE NOT EXISTS (
           SELECT 1 FROM backups b WHERE b.server_id = ps.server_id AND b.state = 'completed'
              AND b.completed_at > now() - CASE ps.schedule WHEN 'daily' THEN interval '1 day'
                                                           ELSE interval '7 days' END
                                         - make_interval(hours => ps.window_end - ps.window_start));
