-- 0019_storage: a node's libvirt storage pools (engines/README.md,
-- "Storage"). The operator declares them on the node (POST/PATCH
-- /v1/admin/nodes "pools"); every node has the default pool "slipway" (a dir
-- pool under /var/lib/slipway/pools/slipway) until its pools are declared.
-- The engine reads its own node's pools, makes missing dir pools, and
-- writes back only the report columns of its own pools. A server's volumes
-- as the engine last answered them (create, reinstall, resize) are in
-- server_disks; the provisioner records them after checking each belongs
-- to that server and that node (provisioner/results.c).

CREATE TABLE node_pools (
    node_id          uuid NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]*$' AND length(name) <= 63),
    type             text NOT NULL DEFAULT 'dir'
                     CHECK (type IN ('dir', 'logical', 'zfs', 'netfs', 'rbd')),
    -- dir: the pool's directory on the node (the engine makes the pool);
    -- other types: their source as the operator defined it on the node
    -- (volume group, zpool, export, rbd pool), shown, never used to make one.
    path             text CHECK (path IS NULL OR (length(path) BETWEEN 1 AND 511
                                                  AND path !~ '[[:cntrl:]<>&''"]')),
    shared           boolean NOT NULL DEFAULT false,
    disk_ratio       numeric(8, 3) NOT NULL DEFAULT 1.0 CHECK (disk_ratio > 0),
    fill_threshold   integer NOT NULL DEFAULT 90 CHECK (fill_threshold BETWEEN 1 AND 100),
    position         integer NOT NULL DEFAULT 0, -- the engine tries pools in this order
    -- the engine's last report
    present          boolean,
    capacity_bytes   bigint CHECK (capacity_bytes >= 0),
    allocation_bytes bigint CHECK (allocation_bytes >= 0),
    available_bytes  bigint CHECK (available_bytes >= 0),
    reported_at      timestamptz,
    PRIMARY KEY (node_id, name),
    CHECK (type <> 'dir' OR path ~ '^/')
);

-- The default pool of a node without declared pools.
CREATE FUNCTION sw_node_pool_default() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO node_pools (node_id, name, type, path)
    VALUES (NEW.id, 'slipway', 'dir', '/var/lib/slipway/pools/slipway');
    RETURN NEW;
END
$$;

CREATE TRIGGER nodes_default_pool AFTER INSERT ON nodes
    FOR EACH ROW EXECUTE FUNCTION sw_node_pool_default();

INSERT INTO node_pools (node_id, name, type, path)
SELECT id, 'slipway', 'dir', '/var/lib/slipway/pools/slipway' FROM nodes;

-- A server's volumes, as the engine last answered them.
CREATE TABLE server_disks (
    server_id      uuid NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    role           text NOT NULL CHECK (role IN ('root', 'seed', 'other')),
    pool           text NOT NULL,
    volume         text NOT NULL,
    format         text NOT NULL CHECK (format IN ('qcow2', 'raw', 'iso')),
    capacity_bytes bigint NOT NULL CHECK (capacity_bytes >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (server_id, volume)
);

-- The engine: its own node's pools, and their report columns only.
GRANT SELECT (node_id, name, type, path, shared, fill_threshold, position) ON node_pools
    TO slipway_engine;
GRANT UPDATE (present, capacity_bytes, allocation_bytes, available_bytes, reported_at)
    ON node_pools TO slipway_engine;

ALTER TABLE node_pools ENABLE ROW LEVEL SECURITY;
CREATE POLICY engine_pools_read ON node_pools FOR SELECT TO slipway_engine
    USING (node_id = (SELECT sw_engine_node_id()));
CREATE POLICY engine_pools_report ON node_pools FOR UPDATE TO slipway_engine
    USING (node_id = (SELECT sw_engine_node_id()))
    WITH CHECK (node_id = (SELECT sw_engine_node_id()));
