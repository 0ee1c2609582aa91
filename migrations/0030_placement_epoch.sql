-- 0030_placement_epoch.sql: what issue 15 (migration, evacuation, high
-- availability) shares, laid down once so its parts agree.
--   servers.epoch   the placement's epoch: 1 at the first placement, one more
--                   every time the server's node changes (a migration's
--                   success, a recovery's claim). Every node job carries it,
--                   the engine writes it into the domain's metadata, and an
--                   engine never runs a domain whose epoch the control plane
--                   has moved past (engines/README.md "Reconciliation").
--                   A trigger makes the bump, so no path that moves a
--                   server (claim to an alternate, migration, recovery) can
--                   forget it: every change of node_id from one node to
--                   another adds one.
--   plans.ha, servers.ha
--                   high availability: a server's domain is restarted on a
--                   healthy node after its node failed and was fenced.
--                   servers.ha NULL: the plan's.
--   nodes.state     gains 'maintenance': an evacuating node, which takes no
--                   new servers and whose servers move away.
--   jobs.type       gains 'migrate' and 'recover'.
--   events.type     gains server.migrated, server.recovered, server.lost
--                   (the server's owner; its reseller and the operator see
--                   them) and node.evacuated, node.suspect, node.fenced,
--                   node.failed (operators only: account NULL).
--   sw_engine_server_epochs(ids)
--                   what an engine may know of servers it holds a domain of:
--                   for each id ever placed on the engine's node, whether
--                   it lives on another node now, its epoch and state. Nothing else, and
--                   nothing of a server that never touched the node.
--   sw_server_job_with(server, actor, type, params)
--                   queues a job with parameters (an evacuation's migrations,
--                   a recovery), as sw_server_job (0011) does without; sw_server_job
--                   is restated on it, so one function writes both rows.

ALTER TABLE servers ADD COLUMN epoch bigint NOT NULL DEFAULT 1 CHECK (epoch >= 1);
ALTER TABLE servers ADD COLUMN ha boolean;

CREATE FUNCTION sw_server_epoch_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.node_id IS NOT NULL AND NEW.node_id IS NOT NULL
       AND NEW.node_id <> OLD.node_id THEN
        NEW.epoch := OLD.epoch + 1;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER servers_epoch BEFORE UPDATE OF node_id ON servers
    FOR EACH ROW EXECUTE FUNCTION sw_server_epoch_bump();
ALTER TABLE plans ADD COLUMN ha boolean NOT NULL DEFAULT false;

ALTER TABLE nodes DROP CONSTRAINT nodes_state_check;
ALTER TABLE nodes ADD CONSTRAINT nodes_state_check
    CHECK (state IN ('active', 'draining', 'maintenance', 'offline'));

ALTER TABLE jobs DROP CONSTRAINT jobs_type_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_type_check
    CHECK (type IN ('create', 'start', 'stop', 'reboot', 'reinstall', 'resize', 'suspend',
                    'unsuspend', 'terminate', 'reset_password', 'mount_iso', 'eject_iso',
                    'set_boot', 'snapshot_create', 'snapshot_revert', 'snapshot_delete',
                    'backup', 'restore', 'migrate', 'recover'));

ALTER TABLE events DROP CONSTRAINT events_type_check;
ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN (
    'order.created', 'server.provisioned', 'server.suspended', 'server.unsuspended',
    'server.terminated', 'job.failed', 'usage.hourly', 'invoice.finalized', 'invoice.overdue',
    'payment.received', 'backup.completed', 'backup.failed', 'restore.completed',
    'server.migrated', 'server.recovered', 'server.lost', 'node.evacuated', 'node.suspect',
    'node.fenced', 'node.failed'));
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_events_check;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_events_check
    CHECK (cardinality(events) BETWEEN 1 AND 20 AND events <@ ARRAY[
        'order.created', 'server.provisioned', 'server.suspended', 'server.unsuspended',
        'server.terminated', 'job.failed', 'usage.hourly', 'invoice.finalized',
        'invoice.overdue', 'payment.received', 'backup.completed', 'backup.failed',
        'restore.completed', 'server.migrated', 'server.recovered', 'server.lost',
        'node.evacuated', 'node.suspect', 'node.fenced', 'node.failed']);

GRANT SELECT (epoch) ON servers TO slipway_engine;

-- The node check every engine-facing function of issue 15 makes: a node's
-- role may ask only about its own node (42501 naming what, otherwise, as
-- 0018's sw_engine_node_drain); the owner (the tests' engines) about any.
CREATE FUNCTION sw_engine_node_guard(node uuid, what text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF node IS DISTINCT FROM public.sw_engine_node_id() AND EXISTS (
        SELECT 1 FROM pg_auth_members m
          JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
         WHERE g.rolname = 'slipway_engine' AND u.rolname = session_user) THEN
        RAISE EXCEPTION 'permission denied to read % of node %', what, node
            USING ERRCODE = '42501';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION sw_engine_node_guard(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sw_engine_node_guard(uuid, text) TO slipway_engine;

-- node: the caller's node (sw_engine_node_guard).
CREATE FUNCTION sw_engine_server_epochs(node uuid, ids uuid[])
RETURNS TABLE (id uuid, elsewhere boolean, epoch bigint, state text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM public.sw_engine_node_guard(node, 'server epochs');
    RETURN QUERY
    SELECT s.id, s.node_id IS NOT NULL AND s.node_id <> node, s.epoch, s.state
      FROM public.servers s
     WHERE s.id = ANY (ids)
       AND EXISTS (SELECT 1 FROM public.server_placements p
                    WHERE p.server_id = s.id AND p.node_id = node);
END
$$;
REVOKE ALL ON FUNCTION sw_engine_server_epochs(uuid, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sw_engine_server_epochs(uuid, uuid[]) TO slipway_engine;

-- Queues a job with its parameters and outbox row, as sw_server_job does
-- (0011) for jobs without: the control plane's own jobs of issue 15 (an
-- evacuation's migrations, a recovery) are queued with it, by whichever
-- daemon decides them. Returns the job id.
CREATE FUNCTION sw_server_job_with(p_server uuid, p_actor uuid, p_type text, p_params jsonb)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    jid uuid := gen_random_uuid();
BEGIN
    INSERT INTO jobs (id, server_id, account_id, type, params)
    VALUES (jid, p_server, p_actor, p_type, coalesce(p_params, '{}'::jsonb));
    INSERT INTO outbox (stream, payload)
    VALUES ('jobs', json_build_object('job_id', jid, 'server_id', p_server,
                                      'type', p_type)::text);
    PERFORM pg_notify('outbox', '');
    RETURN jid;
END
$$;

-- sw_server_job (0011) is sw_server_job_with without parameters, and the
-- server's state set: one place writes a job's row and outbox row.
CREATE OR REPLACE FUNCTION sw_server_job(p_server uuid, p_actor uuid, p_type text, p_state text)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    jid uuid := sw_server_job_with(p_server, p_actor, p_type, NULL);
BEGIN
    IF p_state IS NOT NULL THEN
        UPDATE servers SET state = p_state, updated_at = now() WHERE id = p_server;
    END IF;
    RETURN jid;
END
$$;
