-- 0033_ha_health: high availability without split brain (issue 15), the
-- control plane's half (provisioner/README.md "High availability").
--   nodes.health      ok | suspect | fencing | fenced | failed, and since
--                     when. Beside the operator's nodes.state: health is
--                     what the control plane concluded from the node's
--                     heartbeats and its fence. A node whose heartbeats
--                     are older than the threshold is suspect; its fence
--                     agent is then run (fencing); only a confirmed fence
--                     makes it fenced, then failed (its ha servers get a
--                     recover job). A suspect node whose heartbeats resume
--                     goes back to ok; a fencing, fenced or failed one
--                     never does by itself: an operator's state 'active'
--                     (PATCH) brings a failed node back (the trigger
--                     below). Placement takes servers only to health ok.
--   nodes.fence_*     the node's fence agent (ipmi | ssh | libvirt | manual,
--                     NULL: none, so the node is never fenced and nothing
--                     of it is ever restarted), its non-secret settings
--                     (fence_config: host, port, user, uri), its secret
--                     (fence_secret: an IPMI password or an ssh private
--                     key; no view, answer or log shows it), and the
--                     fencer's bookkeeping: attempts, next try, last error,
--                     who confirmed.
--   sw_node_fence_failed / _fenced / _suspect
--                     the transitions, each with its event, so that the
--                     provisioner and the panel (fence-confirm) make them
--                     the same way.
--   sw_node_fail(node) fenced -> failed: every ha server of the node whose
--                     volumes are all in shared pools gets a recover job;
--                     an ha server on local storage is failed with an
--                     error saying why, and server.lost; non-ha servers
--                     stay. The node goes offline, so it takes nothing.
--                     A recover job is queued in its owner's name (as the
--                     backup scheduler's jobs are: jobs.account_id is required).
--   jobs of type recover: server.recovered when one succeeds.

ALTER TABLE nodes ADD COLUMN health text NOT NULL DEFAULT 'ok'
    CHECK (health IN ('ok', 'suspect', 'fencing', 'fenced', 'failed'));
ALTER TABLE nodes ADD COLUMN health_since timestamptz NOT NULL DEFAULT now();
ALTER TABLE nodes ADD COLUMN fence_agent text
    CHECK (fence_agent IN ('ipmi', 'ssh', 'libvirt', 'manual'));
ALTER TABLE nodes ADD COLUMN fence_config jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(fence_config) = 'object');
ALTER TABLE nodes ADD COLUMN fence_secret text CHECK (length(fence_secret) <= 16384);
ALTER TABLE nodes ADD COLUMN fence_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN fence_next_at timestamptz;
ALTER TABLE nodes ADD COLUMN fence_error text;
ALTER TABLE nodes ADD COLUMN fenced_by text;

-- The engine's role reads only the node columns 0018 granted: none of these.

-- A move of health, with its event (operators only: account NULL).
CREATE FUNCTION sw_node_health_set(p_node uuid, p_health text, p_event text, p_data jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE nodes SET health = p_health, health_since = now() WHERE id = p_node;
    IF p_event IS NOT NULL THEN
        PERFORM sw_event_emit(p_event, NULL, jsonb_build_object('node_id', p_node,
                              'health', p_health) || coalesce(p_data, '{}'::jsonb));
    END IF;
END
$$;

-- Whether every volume of a server is in a pool its node declares shared
-- (a server with no recorded volume is not: nothing says where it lives).
CREATE FUNCTION sw_server_on_shared(p_server uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM server_disks d WHERE d.server_id = p_server)
       AND NOT EXISTS (
           SELECT 1 FROM server_disks d
             JOIN servers s ON s.id = d.server_id
             LEFT JOIN node_pools p ON p.node_id = s.node_id AND p.name = d.pool
            WHERE d.server_id = p_server AND d.role <> 'other'
              AND NOT coalesce(p.shared, false))
$$;

-- fenced -> failed, in the caller's transaction: recovery queued, lost
-- servers reported. Returns the number of recover jobs queued; 0 rows
-- changed when the node is not fenced (another provisioner did it).
CREATE FUNCTION sw_node_fail(p_node uuid) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    s record;
    n integer := 0;
    lost integer := 0;
BEGIN
    PERFORM 1 FROM nodes WHERE id = p_node AND health = 'fenced' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    UPDATE nodes SET state = 'offline' WHERE id = p_node;
    FOR s IN SELECT sv.id, sv.owner_id, sv.state
               FROM servers sv JOIN plans p ON p.id = sv.plan_id
              WHERE sv.node_id = p_node AND coalesce(sv.ha, p.ha)
                AND sv.state = 'running'
              ORDER BY sv.id FOR UPDATE OF sv LOOP
        IF sw_server_on_shared(s.id) THEN
            IF NOT EXISTS (SELECT 1 FROM jobs WHERE server_id = s.id AND type = 'recover'
                              AND state IN ('queued', 'running')) THEN
                -- its jobs still waiting on the dead node will never be
                -- answered: failed now, so the recovery is not held behind them
                UPDATE jobs SET state = 'failed', finished_at = now(), progress = 100,
                       error = 'the server''s node failed', error_code = 'node_failed'
                 WHERE server_id = s.id AND node_id = p_node AND state = 'running';
                PERFORM sw_server_job_with(s.id, s.owner_id, 'recover',
                                           jsonb_build_object('from_node', p_node));
                n := n + 1;
            END IF;
        ELSE
            UPDATE servers SET state = 'failed',
                   error = 'its node failed and its volumes are on the node''s local storage:'
                           ' it cannot be restarted elsewhere'
             WHERE id = s.id;
            PERFORM sw_event_emit('server.lost', s.owner_id, jsonb_build_object(
                'server_id', s.id, 'node_id', p_node,
                'reason', 'volumes on local storage'));
            lost := lost + 1;
        END IF;
    END LOOP;
    PERFORM sw_node_health_set(p_node, 'failed', 'node.failed',
                               jsonb_build_object('recovering', n, 'lost', lost));
    RETURN n;
END
$$;

-- An operator's state 'active' on a failed node: its health starts again
-- from ok (the operator says the host is back and clean).
CREATE FUNCTION sw_node_health_reset() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'active' AND OLD.state <> 'active' AND NEW.health = 'failed' THEN
        NEW.health := 'ok';
        NEW.health_since := now();
        NEW.fence_attempts := 0;
        NEW.fence_next_at := NULL;
        NEW.fence_error := NULL;
        NEW.fenced_by := NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER nodes_health_reset BEFORE UPDATE OF state ON nodes
    FOR EACH ROW EXECUTE FUNCTION sw_node_health_reset();

-- server.recovered when a recover job succeeds (whoever finished it).
CREATE FUNCTION sw_recover_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sw_event_emit('server.recovered', s.owner_id, jsonb_build_object(
                'server_id', s.id, 'node_id', s.node_id, 'epoch', s.epoch,
                'from_node', NEW.params->>'from_node', 'job_id', NEW.id))
       FROM servers s WHERE s.id = NEW.server_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER jobs_recovered AFTER UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.type = 'recover' AND NEW.state = 'succeeded'
                       AND OLD.state <> 'succeeded')
    EXECUTE FUNCTION sw_recover_event();

-- The answers gain their fields. Each view is wrapped rather than
-- rewritten, so whatever an earlier migration (of this issue's other
-- parts) added to it stays.
ALTER FUNCTION sw_node_json(nodes) RENAME TO sw_node_json_pre_ha;
CREATE FUNCTION sw_node_json(n nodes) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT (sw_node_json_pre_ha(n)::jsonb || jsonb_build_object(
        'health', n.health, 'health_since', sw_ts(n.health_since),
        'fence', jsonb_build_object('agent', n.fence_agent, 'config', n.fence_config,
                                    'secret_set', n.fence_secret IS NOT NULL,
                                    'attempts', n.fence_attempts,
                                    'next_at', sw_ts(n.fence_next_at),
                                    'error', n.fence_error, 'fenced_by', n.fenced_by)))::json
$$;
ALTER FUNCTION sw_plan_json(plans) RENAME TO sw_plan_json_pre_ha;
CREATE FUNCTION sw_plan_json(p plans) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT (sw_plan_json_pre_ha(p)::jsonb || jsonb_build_object('ha', p.ha))::json
$$;
-- ha: the server's own setting, or its plan's when NULL; ha_source says which.
ALTER FUNCTION sw_server_json(servers) RENAME TO sw_server_json_pre_ha;
CREATE FUNCTION sw_server_json(s servers) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT (sw_server_json_pre_ha(s)::jsonb || jsonb_build_object(
        'ha', coalesce(s.ha, (SELECT p.ha FROM plans p WHERE p.id = s.plan_id), false),
        'ha_source', CASE WHEN s.ha IS NULL THEN 'plan' ELSE 'server' END))::json
$$;

-- The end of a fence run (provisioner/health.c): confirmed, the node is
-- fenced (node.fenced); failed, it is suspect again with the error, tried
-- again after p_retry_s. NULL when the node was not being fenced.
CREATE FUNCTION sw_node_fence_done(p_node uuid, p_ok boolean, p_by text, p_why text,
                                   p_retry_s integer) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM nodes WHERE id = p_node AND health = 'fencing' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p_ok THEN
        UPDATE nodes SET fence_error = NULL, fenced_by = p_by, fence_next_at = NULL
         WHERE id = p_node;
        PERFORM sw_node_health_set(p_node, 'fenced', 'node.fenced',
                                   jsonb_build_object('fenced_by', p_by));
        RETURN 'fenced';
    END IF;
    UPDATE nodes SET fence_error = p_why,
           fence_next_at = now() + make_interval(secs => p_retry_s)
     WHERE id = p_node;
    PERFORM sw_node_health_set(p_node, 'suspect', NULL, NULL);
    RETURN 'suspect';
END
$$;

-- An operator's confirmation that a suspect node is off (the manual agent,
-- or any agent the operator overrides): fenced, with node.fenced. False
-- when the node is not suspect or being fenced.
CREATE FUNCTION sw_node_fence_confirm(p_node uuid, p_by text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM nodes WHERE id = p_node AND health IN ('suspect', 'fencing') FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE nodes SET fence_error = NULL, fenced_by = p_by, fence_next_at = NULL
     WHERE id = p_node;
    PERFORM sw_node_health_set(p_node, 'fenced', 'node.fenced',
                               jsonb_build_object('fenced_by', p_by));
    RETURN true;
END
$$;
