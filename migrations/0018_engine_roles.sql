-- 0018_engine_roles: each node's engine connects as its own PostgreSQL role
-- (engines/README.md, "DESIGN: the engine's database role"). The role is a
-- member of the NOLOGIN group slipway_engine, which holds the only grants:
-- the columns the engine reads of its own node, its servers (and their
-- plans' sizes and templates' os), its node's allocations; the writes it
-- owns (its heartbeat, its node events, draining itself). Row-level
-- security limits every one of them to the rows of the node whose
-- nodes.db_role is the session's user. RLS is ENABLEd, not FORCEd: the
-- tables' owner (the control plane, which runs this migration) is
-- unaffected. Roles are cluster-wide: the group may already exist (another
-- database of the same cluster), so it is made only when missing.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'slipway_engine') THEN
        CREATE ROLE slipway_engine NOLOGIN;
    END IF;
END
$$;

-- The node's login role, set by slipway_node_role_set() only.
ALTER TABLE nodes ADD COLUMN db_role text UNIQUE
    CHECK (db_role ~ '^slipway_node_[0-9a-f]{32}$');

-- An engine makes nothing: no temporary tables either (PUBLIC has TEMP on a
-- new database; the owner keeps it). CREATE on schema public is PUBLIC's
-- no longer since PostgreSQL 15; revoked here for older servers.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- The node of the session's user (NULL for any other user). SECURITY
-- DEFINER so that it reads nodes.db_role, which no engine may read, and
-- without the policies below (their owner is not subject to them).
-- session_user, not current_user: inside a SECURITY DEFINER function
-- current_user is the owner; and SET ROLE slipway_engine keeps the
-- session's node, never another.
CREATE FUNCTION sw_engine_node_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT id FROM public.nodes WHERE db_role = session_user
$$;

-- The engine's one write to its node's state: active -> draining (memory
-- pressure, engines/balloon.c). Returns whether it changed. An operator's
-- offline or draining is kept; an engine can never set active or offline.
-- A node's role may drain only its own node (42501 otherwise); the owner
-- (and the tests' engines, which connect as it) any.
CREATE FUNCTION sw_engine_node_drain(node uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF node IS DISTINCT FROM public.sw_engine_node_id() AND EXISTS (
        SELECT 1 FROM pg_auth_members m
          JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
         WHERE g.rolname = 'slipway_engine' AND u.rolname = session_user) THEN
        RAISE EXCEPTION 'permission denied to drain node %', node USING ERRCODE = '42501';
    END IF;
    UPDATE public.nodes SET state = 'draining' WHERE id = node AND state = 'active';
    RETURN FOUND;
END
$$;

-- Creates node's login role, or gives it a new password, and records it in
-- nodes.db_role. verifier is a SCRAM-SHA-256 verifier made by the client
-- (libpq PQencryptPasswordConn), so the password itself never reaches the
-- server, its statement log or pg_stat_statements. Only the owner may call
-- it (EXECUTE revoked from PUBLIC). Needs CREATEROLE (or superuser) of the
-- owner. Returns the role's name.
CREATE FUNCTION slipway_node_role_set(node uuid, verifier text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    r text := 'slipway_node_' || replace(node::text, '-', '');
BEGIN
    IF verifier IS NULL OR verifier !~ '^SCRAM-SHA-256\$' THEN
        RAISE EXCEPTION 'a node role takes a SCRAM-SHA-256 verifier, never a password'
            USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.nodes WHERE id = node) THEN
        RAISE EXCEPTION 'node % does not exist', node USING ERRCODE = 'P0002';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
        EXECUTE format('ALTER ROLE %I WITH LOGIN CONNECTION LIMIT 16 PASSWORD %L', r, verifier);
    ELSE
        EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
                       ' NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 16 PASSWORD %L',
                       r, verifier);
    END IF;
    EXECUTE format('GRANT slipway_engine TO %I', r);
    UPDATE public.nodes SET db_role = r WHERE id = node;
    RETURN r;
END
$$;

REVOKE ALL ON FUNCTION sw_engine_node_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION sw_engine_node_drain(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION slipway_node_role_set(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sw_engine_node_id() TO slipway_engine;
GRANT EXECUTE ON FUNCTION sw_engine_node_drain(uuid) TO slipway_engine;

-- What the engine reads, column by column (engines/engine.c load_node,
-- engines/nodedb.c). No name, location, public key, generation, db_role,
-- state, owner, price, error, ssh key or timestamp it does not order by.
GRANT SELECT (id, engine_uri, kinds, cpus, ram_mb, disk_gb, reserved_ram_mb, cpu_ratio,
              ram_ratio, balloon) ON nodes TO slipway_engine;
GRANT UPDATE (last_heartbeat_at) ON nodes TO slipway_engine;
GRANT SELECT (id, node_id, plan_id, template_id, state, hostname, ipv4, ipv6, created_at)
    ON servers TO slipway_engine;
GRANT SELECT (server_id, node_id, vcpus, mem_guar_mb, mem_max_mb, disk_gb)
    ON allocations TO slipway_engine;
GRANT SELECT (id, kind, vcpus, ram_mb, burst_ram_mb, swap_mb, disk_gb) ON plans
    TO slipway_engine;
GRANT SELECT (id, os) ON templates TO slipway_engine;
GRANT INSERT (node_id, kind, detail) ON node_events TO slipway_engine;

-- Its own rows only. The (SELECT ...) makes the node id one init plan per
-- statement instead of a call per row.
ALTER TABLE nodes ENABLE ROW LEVEL SECURITY;
CREATE POLICY engine_node_read ON nodes FOR SELECT TO slipway_engine
    USING (id = (SELECT sw_engine_node_id()));
CREATE POLICY engine_node_heartbeat ON nodes FOR UPDATE TO slipway_engine
    USING (id = (SELECT sw_engine_node_id()))
    WITH CHECK (id = (SELECT sw_engine_node_id()));

ALTER TABLE servers ENABLE ROW LEVEL SECURITY;
CREATE POLICY engine_servers_read ON servers FOR SELECT TO slipway_engine
    USING (node_id = (SELECT sw_engine_node_id()));

ALTER TABLE allocations ENABLE ROW LEVEL SECURITY;
CREATE POLICY engine_allocations_read ON allocations FOR SELECT TO slipway_engine
    USING (node_id = (SELECT sw_engine_node_id()));

-- Plans and templates: only those of a server on the node (the subquery
-- sees the engine's servers only, through their policy).
ALTER TABLE plans ENABLE ROW LEVEL SECURITY;
CREATE POLICY engine_plans_read ON plans FOR SELECT TO slipway_engine
    USING (EXISTS (SELECT 1 FROM servers s WHERE s.plan_id = plans.id));

ALTER TABLE templates ENABLE ROW LEVEL SECURITY;
CREATE POLICY engine_templates_read ON templates FOR SELECT TO slipway_engine
    USING (EXISTS (SELECT 1 FROM servers s WHERE s.template_id = templates.id));

ALTER TABLE node_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY engine_events_insert ON node_events FOR INSERT TO slipway_engine
    WITH CHECK (node_id = (SELECT sw_engine_node_id()));
