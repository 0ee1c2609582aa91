-- 0013_node_balloon_events: each node's ballooning policy, and node events.
--
-- nodes.balloon: the policy the node's engine runs (engines/README.md
-- "Ballooning"): {"enabled": bool, "target_pct", "reserve_pct",
-- "pressure_free_pct", "step_pct", "step_min_mb", "step_max_mb",
-- "min_change_bp", "stop_pct", "smooth_samples", "pressure_ticks",
-- "shares": {"<server id>": n}}; absent keys take the defaults of
-- DESIGN.md. Off unless an operator switches it on (PATCH
-- /v1/admin/nodes/{id} {"balloon": {...}}, validated by the panel).
--
-- node_events: what a node's engine reports for operators
-- (GET /v1/admin/events): "domain.restored" (reconciliation brought back a
-- server's missing domain), "domain.orphan" (a sw-* domain no live server
-- owns; never deleted), "node.pressure" (ballooning could not relieve the
-- host; the node was set draining).

ALTER TABLE nodes ADD COLUMN balloon jsonb NOT NULL DEFAULT '{"enabled": false}'
    CHECK (jsonb_typeof(balloon) = 'object');

CREATE TABLE node_events (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    node_id    uuid NOT NULL REFERENCES nodes (id),
    kind       text NOT NULL CHECK (kind ~ '^[a-z]+(\.[a-z_]+)+$'),
    detail     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX node_events_order_idx ON node_events (created_at, id);
CREATE INDEX node_events_node_idx ON node_events (node_id, created_at);

CREATE FUNCTION sw_node_event_json(e node_events) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', e.id, 'node_id', e.node_id, 'kind', e.kind,
                             'detail', e.detail, 'created_at', sw_ts(e.created_at))
$$;

CREATE OR REPLACE FUNCTION sw_node_json(n nodes) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', n.id, 'name', n.name, 'location_id', n.location_id,
                             'engine_uri', n.engine_uri, 'kinds', to_json(n.kinds),
                             'cpus', n.cpus, 'ram_mb', n.ram_mb, 'disk_gb', n.disk_gb,
                             'reserved_ram_mb', n.reserved_ram_mb,
                             'cpu_ratio', n.cpu_ratio::float8, 'ram_ratio', n.ram_ratio::float8,
                             'state', n.state, 'generation', n.generation,
                             'balloon', n.balloon,
                             'last_heartbeat_at', sw_ts(n.last_heartbeat_at),
                             'created_at', sw_ts(n.created_at))
$$;
