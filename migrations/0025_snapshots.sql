-- 0025_snapshots.sql: customers' snapshots of a server's disk (issue 14,
-- panel/README.md "API notes: snapshots", engines/README.md "Snapshots").
--   plans.max_snapshots  how many live snapshots a server of the plan may
--                        keep (default 3; 0: none)
--   snapshots            one row per snapshot a customer asked for: its
--                        libvirt name derives from the server and its id
--                        (sw-<server>-snap-<id>); state creating -> ready
--                        (or failed), ready -> reverting -> ready, ready ->
--                        deleting -> deleted. A row is never removed, so
--                        the space it held stays billable history.
--   jobs.type            gains snapshot_create, snapshot_revert and
--                        snapshot_delete; their params carry snapshot_id
--                        (and memory for a create)
-- Snapshot space is billed per GB-month like disk space (0022; billing/README.md
-- "Money rules" 6): plans.price_snapshot_gb_month, copied into each billing
-- period; sw_snapshot_byte_s(server, from, to) is each snapshot's size x the
-- seconds it existed within [from, to), the amount rated as disk byte-seconds
-- are, on an invoice line of kind 'snapshot'.
-- A trigger on jobs moves a snapshot when its job ends, whatever ends it
-- (the engine's result, a job that dies, a job without a node), and marks
-- every snapshot of a server deleted when a reinstall or terminate of the
-- server succeeds: a snapshot never outlives its server.

ALTER TABLE plans ADD COLUMN max_snapshots integer NOT NULL DEFAULT 3
    CHECK (max_snapshots BETWEEN 0 AND 100);

CREATE TABLE snapshots (
    id          uuid PRIMARY KEY,
    server_id   uuid NOT NULL REFERENCES servers (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    memory      boolean NOT NULL DEFAULT false,
    state       text NOT NULL DEFAULT 'creating'
                CHECK (state IN ('creating', 'ready', 'reverting', 'deleting', 'deleted',
                                 'failed')),
    size_bytes  bigint NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    job_id      uuid REFERENCES jobs (id),  -- the last job that acted on it
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
CREATE INDEX snapshots_server ON snapshots (server_id, created_at)
    WHERE state NOT IN ('deleted', 'failed');

ALTER TABLE jobs DROP CONSTRAINT jobs_type_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_type_check
    CHECK (type IN ('create', 'start', 'stop', 'reboot', 'reinstall', 'resize', 'suspend',
                    'unsuspend', 'terminate', 'reset_password', 'mount_iso', 'eject_iso',
                    'set_boot', 'snapshot_create', 'snapshot_revert', 'snapshot_delete'));

-- The one definition of a snapshot's JSON shape.
CREATE FUNCTION sw_snapshot_json(s snapshots) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', s.id, 'server_id', s.server_id, 'name', s.name,
                             'memory', s.memory, 'state', s.state,
                             'size_bytes', s.size_bytes, 'job_id', s.job_id,
                             'created_at', sw_ts(s.created_at),
                             'deleted_at', sw_ts(s.deleted_at))
$$;

-- A snapshot job's end moves its snapshot; a reinstall or terminate that
-- succeeded ends every snapshot of its server.
CREATE FUNCTION sw_snapshot_job_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sid uuid := (NEW.params ->> 'snapshot_id')::uuid;
    ok boolean := NEW.state = 'succeeded';
BEGIN
    IF NEW.type IN ('reinstall', 'terminate') THEN
        IF ok THEN
            UPDATE snapshots SET state = 'deleted', deleted_at = now(), updated_at = now()
             WHERE server_id = NEW.server_id AND state NOT IN ('deleted', 'failed');
        END IF;
        RETURN NULL;
    END IF;
    UPDATE snapshots SET updated_at = now(), job_id = NEW.id,
           deleted_at = CASE WHEN NEW.type = 'snapshot_delete' AND ok THEN now() END,
           state = CASE NEW.type
                     WHEN 'snapshot_create' THEN CASE WHEN ok THEN 'ready' ELSE 'failed' END
                     WHEN 'snapshot_delete' THEN CASE WHEN ok THEN 'deleted' ELSE 'ready' END
                     ELSE 'ready' END
     WHERE id = sid AND state IN ('creating', 'reverting', 'deleting');
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_snapshot_ended AFTER UPDATE OF state ON jobs FOR EACH ROW
    WHEN (NEW.state IN ('succeeded', 'failed', 'dead') AND OLD.state IS DISTINCT FROM NEW.state
          AND NEW.type IN ('snapshot_create', 'snapshot_revert', 'snapshot_delete',
                           'reinstall', 'terminate'))
    EXECUTE FUNCTION sw_snapshot_job_ended();

-- ---- metering ----

ALTER TABLE plans ADD COLUMN price_snapshot_gb_month bigint NOT NULL DEFAULT 0
    CHECK (price_snapshot_gb_month >= 0);  -- minor units per GB-month of snapshots
ALTER TABLE server_periods ADD COLUMN price_snapshot_gb_month bigint NOT NULL DEFAULT 0
    CHECK (price_snapshot_gb_month >= 0);

ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_kind_check,
    ADD CONSTRAINT invoice_lines_kind_check
        CHECK (kind IN ('server', 'bandwidth', 'disk', 'snapshot'));
COMMENT ON COLUMN invoice_lines.quantity IS
    'seconds (server), bytes over the allowance (bandwidth), average bytes held over the month (disk, snapshot)';

CREATE OR REPLACE FUNCTION sw_period_open(p_server uuid, p_plan uuid, p_at timestamptz)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO server_periods (server_id, plan_id, price_hourly, price_monthly,
                                price_bandwidth_gb, bandwidth_gb, price_disk_gb_month,
                                price_snapshot_gb_month, currency, started_at)
    SELECT p_server, p.id, p.price_hourly, p.price_monthly, p.price_bandwidth_gb,
           p.bandwidth_gb, p.price_disk_gb_month, p.price_snapshot_gb_month, p.currency, p_at
    FROM plans p WHERE p.id = p_plan
$$;

DROP TRIGGER plans_periods_reprice ON plans;
CREATE TRIGGER plans_periods_reprice AFTER UPDATE ON plans FOR EACH ROW
    WHEN ((OLD.price_hourly, OLD.price_monthly, OLD.price_bandwidth_gb, OLD.bandwidth_gb,
           OLD.price_disk_gb_month, OLD.price_snapshot_gb_month, OLD.currency) IS DISTINCT FROM
          (NEW.price_hourly, NEW.price_monthly, NEW.price_bandwidth_gb, NEW.bandwidth_gb,
           NEW.price_disk_gb_month, NEW.price_snapshot_gb_month, NEW.currency))
    EXECUTE FUNCTION sw_plan_periods_reprice();

-- Byte-seconds of server p_server's snapshots within [p_from, p_to) (unix
-- seconds): each snapshot that held space (never a failed one) counts its
-- size from its creation to its deletion (a live one: to now).
CREATE FUNCTION sw_snapshot_byte_s(p_server uuid, p_from bigint, p_to bigint) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(s.size_bytes::numeric * greatest(0,
               least(p_to, coalesce(extract(epoch FROM s.deleted_at)::bigint,
                                    extract(epoch FROM now())::bigint))
               - greatest(p_from, extract(epoch FROM s.created_at)::bigint))), 0)
    FROM snapshots s WHERE s.server_id = p_server AND s.state <> 'failed'
$$;

-- Plans show their snapshot limit and price (0022's shape plus both).
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
                             'state', p.state, 'created_at', sw_ts(p.created_at))
$$;
