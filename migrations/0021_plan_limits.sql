-- 0021_plan_limits: a plan's I/O, network and CPU limits, applied in the
-- domain XML by the engine (engines/README.md "Plan limits"), and the DNS
-- resolvers of an IP pool, which the node job hands to the guest with its
-- addresses. Every limit is 0 for "no limit", so existing plans keep none.
--
-- Units are libvirt's: <iotune> takes I/O operations and bytes per second,
-- <bandwidth> kilobytes per second (average, peak) and kilobytes (burst),
-- the CPU cap is a percentage of each of the plan's vCPUs (<cputune>
-- quota per vCPU thread = cap x period / 100).

ALTER TABLE plans
    ADD COLUMN disk_read_iops       bigint NOT NULL DEFAULT 0
        CHECK (disk_read_iops BETWEEN 0 AND 1000000),
    ADD COLUMN disk_write_iops      bigint NOT NULL DEFAULT 0
        CHECK (disk_write_iops BETWEEN 0 AND 1000000),
    ADD COLUMN disk_read_bytes_sec  bigint NOT NULL DEFAULT 0
        CHECK (disk_read_bytes_sec BETWEEN 0 AND 100000000000),
    ADD COLUMN disk_write_bytes_sec bigint NOT NULL DEFAULT 0
        CHECK (disk_write_bytes_sec BETWEEN 0 AND 100000000000),
    ADD COLUMN net_average_kbyte_s  bigint NOT NULL DEFAULT 0
        CHECK (net_average_kbyte_s BETWEEN 0 AND 4000000000),
    ADD COLUMN net_peak_kbyte_s     bigint NOT NULL DEFAULT 0
        CHECK (net_peak_kbyte_s BETWEEN 0 AND 4000000000),
    ADD COLUMN net_burst_kbyte      bigint NOT NULL DEFAULT 0
        CHECK (net_burst_kbyte BETWEEN 0 AND 4000000000),
    ADD COLUMN cpu_cap_pct          integer NOT NULL DEFAULT 0
        CHECK (cpu_cap_pct BETWEEN 0 AND 100),
    -- a peak or a burst shapes nothing without an average, and a peak
    -- below the average is not a peak (the panel says so first, in words)
    ADD CONSTRAINT plans_net_limits CHECK (
        (net_average_kbyte_s > 0 OR (net_peak_kbyte_s = 0 AND net_burst_kbyte = 0))
        AND (net_peak_kbyte_s = 0 OR net_peak_kbyte_s >= net_average_kbyte_s));

-- A plan's limits as the API shows them: one object, 0 meaning none.
CREATE FUNCTION sw_plan_limits_json(p plans) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('disk_read_iops', p.disk_read_iops,
                             'disk_write_iops', p.disk_write_iops,
                             'disk_read_bytes_sec', p.disk_read_bytes_sec,
                             'disk_write_bytes_sec', p.disk_write_bytes_sec,
                             'net_average_kbyte_s', p.net_average_kbyte_s,
                             'net_peak_kbyte_s', p.net_peak_kbyte_s,
                             'net_burst_kbyte', p.net_burst_kbyte,
                             'cpu_cap_pct', p.cpu_cap_pct)
$$;

CREATE OR REPLACE FUNCTION sw_plan_json(p plans) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', p.id, 'name', p.name, 'kind', p.kind, 'vcpus', p.vcpus,
                             'ram_mb', p.ram_mb, 'burst_ram_mb', p.burst_ram_mb,
                             'swap_mb', p.swap_mb, 'disk_gb', p.disk_gb,
                             'bandwidth_gb', p.bandwidth_gb,
                             'limits', sw_plan_limits_json(p),
                             'price_hourly', sw_money(p.price_hourly, p.currency),
                             'price_monthly', sw_money(p.price_monthly, p.currency),
                             'price_bandwidth_gb', sw_money(p.price_bandwidth_gb, p.currency),
                             'state', p.state, 'created_at', sw_ts(p.created_at))
$$;

-- DNS resolvers per IP pool (as Virtualizor and SolusVM keep nameservers
-- per pool): the network that hands out the address knows which resolvers
-- its guests can reach. At most 4 per pool; the node job takes the IPv4
-- pool's, then the IPv6 pool's, at most 4 in all.
ALTER TABLE ip_pools ADD COLUMN dns inet[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(dns) <= 4 AND array_position(dns, NULL) IS NULL);

CREATE OR REPLACE FUNCTION sw_ip_pool_json(p ip_pools) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', p.id, 'location_id', p.location_id, 'family', p.family,
                             'network', p.network::text, 'gateway', host(p.gateway),
                             'dns', (SELECT coalesce(json_agg(host(d) ORDER BY o), '[]')
                                       FROM unnest(p.dns) WITH ORDINALITY AS u (d, o)),
                             'size', CASE WHEN p.family = 4
                                          THEN 2 ^ (32 - masklen(p.network))
                                          ELSE NULL END,
                             'created_at', sw_ts(p.created_at))
$$;

-- Reconciliation redefines a domain from the server's plan
-- (engines/nodedb.c): the engine reads the plan's limits with its sizes.
-- No price, name or state.
GRANT SELECT (disk_read_iops, disk_write_iops, disk_read_bytes_sec, disk_write_bytes_sec,
              net_average_kbyte_s, net_peak_kbyte_s, net_burst_kbyte, cpu_cap_pct)
    ON plans TO slipway_engine;

-- A create (and a reinstall) may now carry the root password's crypt(3)
-- hash in its params while it runs, as reset_password's did: the
-- operator's view of a job shows the params without it.
CREATE OR REPLACE FUNCTION sw_admin_job_json(j jobs) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT (sw_job_json(j)::jsonb || jsonb_build_object(
               'account_id', j.account_id, 'node_id', j.node_id,
               'params', j.params - 'password_hash',
               'updated_at', sw_ts(j.updated_at)))::json
$$;
