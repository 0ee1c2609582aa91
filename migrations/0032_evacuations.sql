-- 0032_evacuations.sql: node evacuation (issue 15).
--   evacuations        one per POST /v1/admin/nodes/{id}/evacuate: the node,
--                      how many servers move at once (parallel), live or
--                      cold, who asked, and its state: running until no
--                      server is left to move, then completed (its
--                      unmovable servers listed), or cancelled when an
--                      operator set the node out of maintenance meanwhile.
--                      At most one running evacuation per node (the
--                      partial unique index; the panel answers 409).
--   evacuation_servers each server the evacuation found on its node, and
--                      where it stands: pending (to be queued), waiting
--                      (mid-job: retried later), in_flight (its migrate
--                      job queued or running: job_id), moved, unmovable
--                      (reason: the migrate job's error, or why it was
--                      never queued), gone (terminated meanwhile). At most
--                      one in_flight row per server over all evacuations,
--                      so no server ever has two evacuation migrate jobs.
-- The provisioner's evacuate thread (provisioner/evacuate.c) drives the
-- rows, one evacuation per transaction, locked FOR UPDATE SKIP LOCKED.

CREATE TABLE evacuations (
    id          uuid PRIMARY KEY,
    node_id     uuid NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    actor_id    uuid NOT NULL REFERENCES accounts (id),
    parallel    int NOT NULL DEFAULT 1 CHECK (parallel BETWEEN 1 AND 32),
    live        boolean NOT NULL DEFAULT true,
    state       text NOT NULL DEFAULT 'running'
                CHECK (state IN ('running', 'completed', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    CHECK ((state = 'running') = (finished_at IS NULL))
);
CREATE UNIQUE INDEX evacuations_one_running ON evacuations (node_id) WHERE state = 'running';
CREATE INDEX evacuations_node ON evacuations (node_id, created_at DESC);

CREATE TABLE evacuation_servers (
    evacuation_id uuid NOT NULL REFERENCES evacuations (id) ON DELETE CASCADE,
    server_id     uuid NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN (
                      'pending', 'waiting', 'in_flight', 'moved', 'unmovable', 'gone')),
    job_id        uuid REFERENCES jobs (id) ON DELETE SET NULL,
    tries         int NOT NULL DEFAULT 0,
    reason_code   text,
    reason        text,
    to_node_id    uuid,
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (evacuation_id, server_id)
);
CREATE UNIQUE INDEX evacuation_servers_one_flight ON evacuation_servers (server_id)
    WHERE state = 'in_flight';

-- What GET /v1/admin/evacuations/{id} and a node's latest evacuation show.
CREATE FUNCTION sw_evacuation_json(e evacuations) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', e.id, 'node_id', e.node_id, 'state', e.state, 'parallel', e.parallel,
        'live', e.live, 'created_at', e.created_at, 'finished_at', e.finished_at,
        'total', count(x.server_id),
        'moved', count(*) FILTER (WHERE x.state = 'moved'),
        'in_flight', count(*) FILTER (WHERE x.state = 'in_flight'),
        'pending', count(*) FILTER (WHERE x.state = 'pending'),
        'waiting', count(*) FILTER (WHERE x.state = 'waiting'),
        'failed', count(*) FILTER (WHERE x.state = 'unmovable'),
        'gone', count(*) FILTER (WHERE x.state = 'gone'),
        'unmovable', coalesce(jsonb_agg(jsonb_build_object(
            'server_id', x.server_id, 'code', x.reason_code, 'reason', x.reason)
            ORDER BY x.server_id) FILTER (WHERE x.state = 'unmovable'), '[]'::jsonb),
        'waiting_servers', coalesce(jsonb_agg(jsonb_build_object(
            'server_id', x.server_id, 'reason', x.reason)
            ORDER BY x.server_id) FILTER (WHERE x.state = 'waiting'), '[]'::jsonb))
      FROM evacuation_servers x
     WHERE x.evacuation_id = e.id
$$;
