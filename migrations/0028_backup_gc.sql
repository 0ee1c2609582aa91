-- 0028_backup_gc.sql: deleting backups, garbage collection of their chunks
-- under a per-account lock, and backup storage billed per GB-month (issue 14;
-- provisioner/README.md "Backup garbage collection", billing/README.md rule 6).
--   backups.deleted_at            when the row became 'deleted' (a customer's
--                                 DELETE or retention), set by a trigger
--   backups.manifest_removed_at   when gc removed its manifest from the target
--                                 (retention's were removed by the engine
--                                 already; gc's delete of a missing one is no
--                                 error)
--   backup_gc_accounts            one row per account: due_at and due_seq (gc
--                                 wanted: a backup was deleted or failed), who
--                                 runs gc now and since when, the last run's
--                                 outcome
--   backup_gc_runs                one row per gc of an account on a target:
--                                 manifests removed, chunks kept and deleted,
--                                 bytes deleted, error
--   sw_backup_gc_lock_key()       the advisory lock key of an account's
--                                 backups: gc holds it exclusively for the
--                                 whole pass (session lock), a backup job's
--                                 start takes it shared in its transaction
--   server_periods.price_backup_gb_month, invoice lines of kind 'backup',
--   sw_backup_byte_s()            backup storage billed like snapshots (0025);
--   sw_plan_json()                plans show price_backup_gb_month

ALTER TABLE backups ADD COLUMN deleted_at timestamptz,
    ADD COLUMN manifest_removed_at timestamptz;

CREATE TABLE backup_gc_accounts (
    account_id    uuid PRIMARY KEY REFERENCES accounts (id),
    due_at        timestamptz,   -- gc wanted since (NULL: nothing to collect)
    due_seq       bigint NOT NULL DEFAULT 0, -- bumped by each mark: a gc clears due_at
                                             -- only if no mark came during it
    running_since timestamptz,   -- a gc holds the account (for operators to see)
    holder        text,          -- the provisioner consumer running it
    last_run_at   timestamptz,
    last_error    text
);
CREATE INDEX backup_gc_accounts_due ON backup_gc_accounts (due_at) WHERE due_at IS NOT NULL;

CREATE TABLE backup_gc_runs (
    id                bigserial PRIMARY KEY,
    account_id        uuid NOT NULL REFERENCES accounts (id),
    target_id         uuid NOT NULL REFERENCES backup_targets (id),
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz NOT NULL DEFAULT now(),
    manifests_removed integer NOT NULL DEFAULT 0,
    manifests         integer NOT NULL DEFAULT 0,   -- live manifests marked
    chunks_kept       bigint NOT NULL DEFAULT 0,
    chunks_deleted    bigint NOT NULL DEFAULT 0,
    bytes_deleted     bigint NOT NULL DEFAULT 0,
    error             text
);
CREATE INDEX backup_gc_runs_account ON backup_gc_runs (account_id, id);

-- One key per account for pg_advisory_lock and friends (a collision between
-- two accounts only makes one wait for the other).
CREATE FUNCTION sw_backup_gc_lock_key(account uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT hashtextextended('sw_backup_gc:' || account::text, 0)
$$;

-- A backup going to 'deleted' is stamped, and so is its account as needing
-- gc; a backup that failed left chunks without a manifest: gc too.
CREATE FUNCTION sw_backup_gc_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'deleted' THEN
        NEW.deleted_at := coalesce(NEW.deleted_at, now());
    END IF;
    INSERT INTO backup_gc_accounts AS g (account_id, due_at, due_seq)
         VALUES (NEW.account_id, now(), 1)
        ON CONFLICT (account_id) DO UPDATE SET due_at = coalesce(g.due_at, now()),
                                               due_seq = g.due_seq + 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER backups_gc_mark BEFORE UPDATE OF state ON backups FOR EACH ROW
    WHEN (NEW.state IN ('deleted', 'failed') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION sw_backup_gc_mark();

-- ---- metering ----

ALTER TABLE server_periods ADD COLUMN price_backup_gb_month bigint NOT NULL DEFAULT 0
    CHECK (price_backup_gb_month >= 0);

ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_kind_check,
    ADD CONSTRAINT invoice_lines_kind_check
        CHECK (kind IN ('server', 'bandwidth', 'disk', 'snapshot', 'backup'));
COMMENT ON COLUMN invoice_lines.quantity IS
    'seconds (server), bytes over the allowance (bandwidth), average bytes held over the month (disk, snapshot, backup)';

CREATE OR REPLACE FUNCTION sw_period_open(p_server uuid, p_plan uuid, p_at timestamptz)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO server_periods (server_id, plan_id, price_hourly, price_monthly,
                                price_bandwidth_gb, bandwidth_gb, price_disk_gb_month,
                                price_snapshot_gb_month, price_backup_gb_month, currency,
                                started_at)
    SELECT p_server, p.id, p.price_hourly, p.price_monthly, p.price_bandwidth_gb,
           p.bandwidth_gb, p.price_disk_gb_month, p.price_snapshot_gb_month,
           p.price_backup_gb_month, p.currency, p_at
    FROM plans p WHERE p.id = p_plan
$$;

DROP TRIGGER plans_periods_reprice ON plans;
CREATE TRIGGER plans_periods_reprice AFTER UPDATE ON plans FOR EACH ROW
    WHEN ((OLD.price_hourly, OLD.price_monthly, OLD.price_bandwidth_gb, OLD.bandwidth_gb,
           OLD.price_disk_gb_month, OLD.price_snapshot_gb_month, OLD.price_backup_gb_month,
           OLD.currency) IS DISTINCT FROM
          (NEW.price_hourly, NEW.price_monthly, NEW.price_bandwidth_gb, NEW.bandwidth_gb,
           NEW.price_disk_gb_month, NEW.price_snapshot_gb_month, NEW.price_backup_gb_month,
           NEW.currency))
    EXECUTE FUNCTION sw_plan_periods_reprice();

-- Open periods take the plan's backup price from now on.
UPDATE server_periods sp SET price_backup_gb_month = p.price_backup_gb_month
  FROM plans p WHERE p.id = sp.plan_id AND sp.ended_at IS NULL;

-- Byte-seconds of server p_server's backups within [p_from, p_to) (unix
-- seconds): each backup that completed counts its bytes_stored from its
-- completion to its deletion (a live one: to now). A failed backup never
-- completed and counts nothing.
CREATE FUNCTION sw_backup_byte_s(p_server uuid, p_from bigint, p_to bigint) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(b.bytes_stored::numeric * greatest(0,
               least(p_to, coalesce(extract(epoch FROM b.deleted_at)::bigint,
                                    extract(epoch FROM now())::bigint))
               - greatest(p_from, extract(epoch FROM b.completed_at)::bigint))), 0)
    FROM backups b WHERE b.server_id = p_server AND b.completed_at IS NOT NULL
$$;

-- Servers billed for backups only in the month [p_from, p_to): their last
-- period ended before it (terminated earlier) and a backup of theirs held
-- space in it. Each comes with that last period (its prices and plan), which
-- is what their backup line is rated at (core/invoice.c).
CREATE FUNCTION sw_backup_carried_periods(p_from bigint, p_to bigint)
RETURNS SETOF server_periods LANGUAGE sql STABLE AS $$
    SELECT sp.* FROM (SELECT DISTINCT ON (server_id) * FROM server_periods
                       ORDER BY server_id, started_at DESC, id DESC) sp
     WHERE sp.ended_at IS NOT NULL AND sp.ended_at <= to_timestamp(p_from)
       AND EXISTS (SELECT 1 FROM backups b WHERE b.server_id = sp.server_id
                      AND b.completed_at IS NOT NULL
                      AND b.completed_at < to_timestamp(p_to)
                      AND (b.deleted_at IS NULL OR b.deleted_at > to_timestamp(p_from)))
$$;

-- Plans show their backup price (0025's shape plus it).
CREATE OR REPLACE FUNCTION sw_plan_json(p plans) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', p.id, 'name', p.name, 'kind', p.kind, 'vcpus', p.vcpus,
                             'ram_mb', p.ram_mb, 'burst_ram_mb', p.burst_ram_mb,
                             'swap_mb', p.swap_mb, 'disk_gb', p.disk_gb,
                             'bandwidth_gb', p.bandwidth_gb,
                             'limits', sw_plan_limits_json(p),
                             'max_snapshots', p.max_snapshots,
                             'price_hourly', sw_money(p.price_hourly, p.currency),
                             'price_monthly', sw_money(p.price_monthly, p.currency),
                             'price_bandwidth_gb', sw_money(p.price_bandwidth_gb, p.currency),
                             'price_disk_gb_month', sw_money(p.price_disk_gb_month, p.currency),
                             'price_snapshot_gb_month',
                             sw_money(p.price_snapshot_gb_month, p.currency),
                             'price_backup_gb_month',
                             sw_money(p.price_backup_gb_month, p.currency),
                             'state', p.state, 'created_at', sw_ts(p.created_at))
$$;
