-- 0016_node_keys: each node's X25519 public key (base64, 32 bytes), made at
-- enrolment (POST /v1/admin/nodes) or by a rekey; the secret key is shown
-- once and kept only in the engine's environment (SLIPWAY_NODE_SECRET_KEY).
-- The provisioner seals a node job's secrets to it (core/seal.h). NULL: a
-- node enrolled before, or inserted by hand; it takes no job that carries
-- a secret until an operator rekeys it.

ALTER TABLE nodes ADD COLUMN public_key text
    CHECK (public_key ~ '^[A-Za-z0-9+/]{43}=$');

CREATE OR REPLACE FUNCTION sw_node_json(n nodes) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', n.id, 'name', n.name, 'location_id', n.location_id,
                             'engine_uri', n.engine_uri, 'kinds', to_json(n.kinds),
                             'cpus', n.cpus, 'ram_mb', n.ram_mb, 'disk_gb', n.disk_gb,
                             'reserved_ram_mb', n.reserved_ram_mb,
                             'cpu_ratio', n.cpu_ratio::float8, 'ram_ratio', n.ram_ratio::float8,
                             'state', n.state, 'generation', n.generation,
                             'balloon', n.balloon, 'public_key', n.public_key,
                             'last_heartbeat_at', sw_ts(n.last_heartbeat_at),
                             'created_at', sw_ts(n.created_at))
$$;
