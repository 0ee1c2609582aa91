-- 0002_api_views: how each object looks in the API, defined once.
-- Every handler selects sw_<object>_json(row) so the shape never drifts
-- between a list and a single read. Timestamps are RFC 3339 UTC.

CREATE FUNCTION sw_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE FUNCTION sw_money(amount bigint, currency text) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('amount', amount, 'currency', currency)
$$;

CREATE FUNCTION sw_account_json(a accounts) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', a.id, 'kind', a.kind, 'email', a.email, 'name', a.name,
                             'reseller_id', a.reseller_id, 'state', a.state,
                             'created_at', sw_ts(a.created_at))
$$;

CREATE FUNCTION sw_location_json(l locations) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', l.id, 'code', l.code, 'name', l.name,
                             'created_at', sw_ts(l.created_at))
$$;

CREATE FUNCTION sw_node_json(n nodes) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', n.id, 'name', n.name, 'location_id', n.location_id,
                             'engine_uri', n.engine_uri, 'kinds', to_json(n.kinds),
                             'cpus', n.cpus, 'ram_mb', n.ram_mb, 'disk_gb', n.disk_gb,
                             'reserved_ram_mb', n.reserved_ram_mb,
                             'cpu_ratio', n.cpu_ratio::float8, 'ram_ratio', n.ram_ratio::float8,
                             'state', n.state, 'generation', n.generation,
                             'last_heartbeat_at', sw_ts(n.last_heartbeat_at),
                             'created_at', sw_ts(n.created_at))
$$;

CREATE FUNCTION sw_plan_json(p plans) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', p.id, 'name', p.name, 'kind', p.kind, 'vcpus', p.vcpus,
                             'ram_mb', p.ram_mb, 'burst_ram_mb', p.burst_ram_mb,
                             'swap_mb', p.swap_mb, 'disk_gb', p.disk_gb,
                             'bandwidth_gb', p.bandwidth_gb,
                             'price_hourly', sw_money(p.price_hourly, p.currency),
                             'price_monthly', sw_money(p.price_monthly, p.currency),
                             'state', p.state, 'created_at', sw_ts(p.created_at))
$$;

CREATE FUNCTION sw_template_json(t templates) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', t.id, 'name', t.name, 'kind', t.kind, 'os', t.os,
                             'state', t.state, 'created_at', sw_ts(t.created_at))
$$;

-- The customer's view of a server: no node.
CREATE FUNCTION sw_server_json(s servers) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', s.id, 'state', s.state, 'hostname', s.hostname,
                             'plan_id', s.plan_id, 'template_id', s.template_id,
                             'location_id', coalesce(s.location_id,
                                 (SELECT n.location_id FROM nodes n WHERE n.id = s.node_id)),
                             'owner_id', s.owner_id,
                             'ipv4', host(s.ipv4), 'ipv6', host(s.ipv6), 'error', s.error,
                             'created_at', sw_ts(s.created_at),
                             'updated_at', sw_ts(s.updated_at))
$$;

CREATE FUNCTION sw_order_json(o orders) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', o.id, 'state', o.state, 'server_id', o.server_id,
                             'plan_id', o.plan_id, 'account_id', o.account_id,
                             'price', sw_money(o.price_amount, o.price_currency),
                             'created_at', sw_ts(o.created_at))
$$;

CREATE FUNCTION sw_job_json(j jobs) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', j.id, 'type', j.type, 'state', j.state,
                             'server_id', j.server_id, 'attempts', j.attempts,
                             'error', CASE WHEN j.error IS NULL THEN NULL ELSE
                                 json_build_object('code', j.error_code, 'message', j.error) END,
                             'progress', j.progress, 'created_at', sw_ts(j.created_at),
                             'started_at', sw_ts(j.started_at),
                             'finished_at', sw_ts(j.finished_at))
$$;
