-- 0017_node_principal: a node is its own principal (issue 12).
--
--   nodes.redis_password_sha256  the SHA-256 (hex) of the node's Redis
--                    password, made at enrolment or rekey and shown once in
--                    engine_config.SLIPWAY_REDIS_URL; the provisioner makes
--                    the node's ACL user ("node-<id>") from it, woken by
--                    NOTIFY sw_node_users. NULL: no Redis user (a node
--                    enrolled before, or made by hand).
--   job_dispatches   one row per node job sent: the nonce the node must
--                    echo in its result, the node it went to, and once
--                    answered, the entry id that answered it. A result is
--                    accepted once per dispatch (provisioner/results.c).
--   server_placements  which node a server was placed on, and when
--                    (until NULL: still there). Written by a trigger on
--                    servers.node_id, so every way of placing a server
--                    (claim, alternate, a migration later) extends it.
--                    Billing accepts a usage sample only from a node the
--                    server was on during the sampled period.
--   rejected_messages  what a node sent that the control plane refused
--                    (stream, entry id, node, reason, time; never the
--                    message itself), counted on the panel's /metrics.

ALTER TABLE nodes ADD COLUMN redis_password_sha256 text
    CHECK (redis_password_sha256 ~ '^[0-9a-f]{64}$');

-- A node enrolled, rekeyed, set offline or back, or removed: the
-- provisioner's acl thread (LISTEN sw_node_users) applies the users at once.
CREATE FUNCTION sw_node_users_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sw_node_users', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER nodes_users_notify
    AFTER INSERT OR DELETE OR UPDATE OF state, redis_password_sha256 ON nodes
    FOR EACH STATEMENT EXECUTE FUNCTION sw_node_users_notify();

CREATE TABLE job_dispatches (
    nonce         text PRIMARY KEY CHECK (nonce ~ '^[0-9a-f]{32}$'),
    job_id        uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    node_id       uuid NOT NULL,
    dispatched_at timestamptz NOT NULL DEFAULT now(),
    answered_at   timestamptz,
    answer_entry  text
);
CREATE INDEX job_dispatches_job_idx ON job_dispatches (job_id);

CREATE TABLE server_placements (
    server_id uuid NOT NULL,
    node_id   uuid NOT NULL,
    since     timestamptz NOT NULL DEFAULT now(),
    until     timestamptz,
    CHECK (until IS NULL OR until >= since)
);
CREATE INDEX server_placements_idx ON server_placements (server_id, node_id, since);
CREATE UNIQUE INDEX server_placements_open_idx ON server_placements (server_id)
    WHERE until IS NULL;

CREATE FUNCTION sw_server_placement() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.node_id IS NOT DISTINCT FROM OLD.node_id THEN
        RETURN NEW;
    END IF;
    UPDATE server_placements SET until = now()
        WHERE server_id = NEW.id AND until IS NULL;
    IF NEW.node_id IS NOT NULL THEN
        INSERT INTO server_placements (server_id, node_id) VALUES (NEW.id, NEW.node_id);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER servers_placement AFTER INSERT OR UPDATE OF node_id ON servers
    FOR EACH ROW EXECUTE FUNCTION sw_server_placement();

-- Servers placed before this migration: since their creation.
INSERT INTO server_placements (server_id, node_id, since)
    SELECT id, node_id, created_at FROM servers WHERE node_id IS NOT NULL;

CREATE TABLE rejected_messages (
    id       bigserial PRIMARY KEY,
    stream   text NOT NULL,
    entry_id text NOT NULL,
    node_id  uuid,
    reason   text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_messages_reason_idx ON rejected_messages (reason);
