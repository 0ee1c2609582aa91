-- 0014_billing_api: what billing rates by (0011) shown where operators set
-- it: a plan's price per GB past its included bandwidth, and an account's
-- tax rate in basis points (2000 = 20 %).

CREATE OR REPLACE FUNCTION sw_plan_json(p plans) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', p.id, 'name', p.name, 'kind', p.kind, 'vcpus', p.vcpus,
                             'ram_mb', p.ram_mb, 'burst_ram_mb', p.burst_ram_mb,
                             'swap_mb', p.swap_mb, 'disk_gb', p.disk_gb,
                             'bandwidth_gb', p.bandwidth_gb,
                             'price_hourly', sw_money(p.price_hourly, p.currency),
                             'price_monthly', sw_money(p.price_monthly, p.currency),
                             'price_bandwidth_gb', sw_money(p.price_bandwidth_gb, p.currency),
                             'state', p.state, 'created_at', sw_ts(p.created_at))
$$;

CREATE OR REPLACE FUNCTION sw_account_json(a accounts) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', a.id, 'kind', a.kind, 'email', a.email, 'name', a.name,
                             'reseller_id', a.reseller_id, 'external_id', a.external_id,
                             'state', a.state, 'tax_rate_bp', a.tax_rate_bp,
                             'created_at', sw_ts(a.created_at))
$$;
