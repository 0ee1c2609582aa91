-- 0012_hooks: billing hooks (API.md "Billing hooks"): outgoing webhook
-- endpoints of resellers and operators, their deliveries and every attempt,
-- the account hook secret that signs incoming hooks, and the triggers that
-- emit the events of servers, orders and jobs (billing emits invoice.* and
-- payment.received; the deliverer emits usage.hourly).

-- An endpoint: where an account's events of the chosen types are sent,
-- signed with its own secret ("whsec_<base64>", shown once at creation).
-- state: active; disabled (the receiver answered 410 Gone); deleted (by its
-- owner; kept with its deliveries for their history, never sent to again).
CREATE TABLE webhook_endpoints (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id),
    url         text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    events      text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 10 AND events <@ ARRAY[
                    'order.created', 'server.provisioned', 'server.suspended',
                    'server.unsuspended', 'server.terminated', 'job.failed', 'usage.hourly',
                    'invoice.finalized', 'invoice.overdue', 'payment.received']),
    secret      text NOT NULL,
    state       text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled', 'deleted')),
    disabled_reason text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_account_idx ON webhook_endpoints (account_id, created_at, id);
CREATE INDEX webhook_endpoints_active_idx ON webhook_endpoints (account_id) WHERE state = 'active';

-- One delivery per (endpoint, event): the unique key is what makes an event
-- reach an endpoint once, under one id (the event's), however many
-- deliverers fan out at once. state: pending (next attempt at next_at);
-- delivered (a 2xx); failed (the last retry failed, or 410).
-- A deliverer holds a claimed delivery under a lease (lease_token,
-- lease_until): no other deliverer sends it until the lease runs out, so a
-- crashed deliverer's delivery is sent again later, with the same id.
CREATE TABLE webhook_deliveries (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id   uuid NOT NULL REFERENCES webhook_endpoints (id),
    event_id     uuid NOT NULL REFERENCES events (id),
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,  -- attempts of the automatic schedule
    manual       boolean NOT NULL DEFAULT false, -- the pending attempt was asked for by hand
    next_at      timestamptz NOT NULL DEFAULT now(),
    lease_token  uuid,
    lease_until  timestamptz,
    last_status  integer,
    last_error   text,
    delivered_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (webhook_id, created_at, id);

-- Every attempt, as it went: the HTTP status (NULL: no answer), what went
-- wrong (NULL for a 2xx), how long it took.
CREATE TABLE webhook_attempts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id),
    n           integer NOT NULL,       -- 1, 2, ... over the delivery's life
    manual      boolean NOT NULL DEFAULT false,
    status_code integer,
    error       text,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, n);

-- Fan-out marks each event once it has its deliveries; the partial index
-- keeps finding the rest cheap.
ALTER TABLE events ADD COLUMN fanned_out_at timestamptz;
CREATE INDEX events_fanout_idx ON events (seq) WHERE fanned_out_at IS NULL;

-- The secret that signs an account's incoming hooks (POST /v1/hooks/payments).
CREATE TABLE account_hook_secrets (
    account_id uuid PRIMARY KEY REFERENCES accounts (id),
    secret     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- usage.hourly: one event per server per completed hour, never two (the
-- primary key), emitted by the deliverer up to its watermark.
CREATE TABLE usage_hourly_events (
    server_id uuid NOT NULL REFERENCES servers (id),
    hour      timestamptz NOT NULL,
    event_id  uuid REFERENCES events (id),  -- set right after the key is taken
    PRIMARY KEY (server_id, hour)
);
CREATE TABLE hooks_watermark (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    usage_hour timestamptz NOT NULL  -- hours before this one are emitted
);
CREATE INDEX usage_samples_ts_idx ON usage_samples (ts);

-- Emits usage.hourly for every server-hour in [from, to) with samples and
-- no event yet, and returns how many it emitted. Totals are integers:
-- cpu_ns, mem_mb_seconds (MiB x seconds), bytes.
CREATE FUNCTION sw_hooks_usage_hourly(p_from timestamptz, p_to timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
    eid uuid;
BEGIN
    FOR r IN
        SELECT u.server_id, date_trunc('hour', u.ts) AS hour, s.owner_id,
               sum(u.cpu_ns) AS cpu_ns, sum(u.mem_mb * u.period_s) AS mem_mb_s,
               sum(u.net_rx_bytes) AS rx, sum(u.net_tx_bytes) AS tx,
               sum(u.disk_rd_bytes) AS rd, sum(u.disk_wr_bytes) AS wr,
               sum(u.period_s) AS period_s, count(*) AS samples
        FROM usage_samples u JOIN servers s ON s.id = u.server_id
        WHERE u.ts >= p_from AND u.ts < p_to
          AND NOT EXISTS (SELECT 1 FROM usage_hourly_events h
                          WHERE h.server_id = u.server_id AND h.hour = date_trunc('hour', u.ts))
        GROUP BY u.server_id, date_trunc('hour', u.ts), s.owner_id
        ORDER BY 2, 1
    LOOP
        -- The key first: a concurrent deliverer that got there waits here
        -- and then skips the pair, so the event is emitted once.
        INSERT INTO usage_hourly_events (server_id, hour)
        VALUES (r.server_id, r.hour)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            CONTINUE;
        END IF;
        eid := sw_event_emit('usage.hourly', r.owner_id, jsonb_build_object(
            'server_id', r.server_id, 'from', sw_ts(r.hour),
            'to', sw_ts(r.hour + interval '1 hour'), 'cpu_ns', r.cpu_ns,
            'mem_mb_seconds', r.mem_mb_s, 'net_rx_bytes', r.rx, 'net_tx_bytes', r.tx,
            'disk_rd_bytes', r.rd, 'disk_wr_bytes', r.wr, 'seconds', r.period_s,
            'samples', r.samples));
        UPDATE usage_hourly_events SET event_id = eid
        WHERE server_id = r.server_id AND hour = r.hour;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- One step of the usage.hourly emitter: emits every completed hour (ended
-- at least p_delay ago, so late samples are in) from the watermark on, and
-- moves the watermark. The watermark's row lock makes deliverers take
-- turns; the key of usage_hourly_events makes a repeat emit nothing.
CREATE FUNCTION sw_hooks_usage_tick(p_delay interval) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    f timestamptz;
    t timestamptz := date_trunc('hour', now() - p_delay);
    n integer;
BEGIN
    INSERT INTO hooks_watermark (usage_hour)
    VALUES (date_trunc('hour', now()) - interval '24 hours') ON CONFLICT DO NOTHING;
    SELECT usage_hour INTO f FROM hooks_watermark FOR UPDATE;
    IF f >= t THEN
        RETURN 0;
    END IF;
    n := sw_hooks_usage_hourly(f, t);
    UPDATE hooks_watermark SET usage_hour = t;
    RETURN n;
END
$$;

-- ---- the events of orders, servers and jobs, in the transaction of the change

CREATE FUNCTION sw_hooks_order_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sw_event_emit('order.created', NEW.account_id,
                          jsonb_build_object('order', sw_order_json(NEW)));
    RETURN NULL;
END
$$;
CREATE TRIGGER orders_hooks_created AFTER INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION sw_hooks_order_created();

-- Which event a server's change of state is, if any.
CREATE FUNCTION sw_hooks_server_event(old_state text, new_state text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN old_state = new_state THEN NULL
        WHEN new_state = 'running' AND old_state = 'provisioning' THEN 'server.provisioned'
        WHEN new_state = 'suspended' THEN 'server.suspended'
        WHEN new_state = 'terminated' THEN 'server.terminated'
        WHEN old_state = 'suspended' AND new_state IN ('running', 'stopped')
            THEN 'server.unsuspended'
    END
$$;

CREATE FUNCTION sw_hooks_server_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t text := sw_hooks_server_event(OLD.state, NEW.state);
BEGIN
    IF t IS NOT NULL THEN
        PERFORM sw_event_emit(t, NEW.owner_id, jsonb_build_object(
            'server', sw_server_json(NEW), 'previous_state', OLD.state));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER servers_hooks_state AFTER UPDATE OF state ON servers
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION sw_hooks_server_changed();

-- job.failed: a job became failed or dead (failed then dead is one event).
-- The event is about the server's owner, whoever asked for the job.
CREATE FUNCTION sw_hooks_job_failed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sw_event_emit('job.failed',
                          (SELECT s.owner_id FROM servers s WHERE s.id = NEW.server_id),
                          jsonb_build_object('job', sw_job_json(NEW)));
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_hooks_failed AFTER UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.state IN ('failed', 'dead') AND OLD.state NOT IN ('failed', 'dead'))
    EXECUTE FUNCTION sw_hooks_job_failed();
CREATE TRIGGER jobs_hooks_failed_insert AFTER INSERT ON jobs
    FOR EACH ROW WHEN (NEW.state IN ('failed', 'dead'))
    EXECUTE FUNCTION sw_hooks_job_failed();

-- ---- API shapes

CREATE FUNCTION sw_webhook_json(w webhook_endpoints) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', w.id, 'url', w.url, 'events', to_json(w.events),
                             'state', w.state, 'disabled_reason', w.disabled_reason,
                             'created_at', sw_ts(w.created_at))
$$;

CREATE FUNCTION sw_webhook_delivery_json(d webhook_deliveries) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', d.id, 'webhook_id', d.webhook_id, 'event_id', d.event_id,
        'event_type', (SELECT e.type FROM events e WHERE e.id = d.event_id),
        'state', d.state, 'next_attempt_at', CASE WHEN d.state = 'pending'
                                                 THEN sw_ts(d.next_at) END,
        'delivered_at', sw_ts(d.delivered_at), 'created_at', sw_ts(d.created_at),
        'attempts', coalesce((SELECT json_agg(json_build_object(
                'n', a.n, 'manual', a.manual, 'status_code', a.status_code, 'error', a.error,
                'duration_ms', a.duration_ms, 'at', sw_ts(a.at)) ORDER BY a.n)
            FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::json))
$$;
