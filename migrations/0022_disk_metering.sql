-- 0022_disk_metering: disk space used, metered per server and billed per
-- GB-month (billing/README.md, "Money rules" 6). Engines report the space
-- a server's volumes take in their pool with every usage sample
-- (disk_bytes, the volumes' allocation at ts); the hourly sums keep
-- bytes x seconds; a plan prices a GB-month (10^9 bytes held for a whole
-- calendar month) in price_disk_gb_month, copied into each billing
-- period like the other prices. 0 (every existing plan): no disk line.

ALTER TABLE usage_samples ADD COLUMN disk_bytes bigint NOT NULL DEFAULT 0
    CHECK (disk_bytes >= 0);
-- sum of disk_bytes x period_s: numeric, since a month of a petabyte is
-- past bigint (10^15 x 2.7 x 10^6).
ALTER TABLE usage_hourly ADD COLUMN disk_byte_s numeric NOT NULL DEFAULT 0;

ALTER TABLE plans ADD COLUMN price_disk_gb_month bigint NOT NULL DEFAULT 0
    CHECK (price_disk_gb_month >= 0);  -- minor units per GB-month of disk used
ALTER TABLE server_periods ADD COLUMN price_disk_gb_month bigint NOT NULL DEFAULT 0
    CHECK (price_disk_gb_month >= 0);

ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_kind_check,
    ADD CONSTRAINT invoice_lines_kind_check CHECK (kind IN ('server', 'bandwidth', 'disk'));
COMMENT ON COLUMN invoice_lines.quantity IS
    'seconds (server), bytes over the allowance (bandwidth), average bytes held over the month (disk)';

CREATE OR REPLACE FUNCTION sw_period_open(p_server uuid, p_plan uuid, p_at timestamptz)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO server_periods (server_id, plan_id, price_hourly, price_monthly,
                                price_bandwidth_gb, bandwidth_gb, price_disk_gb_month,
                                currency, started_at)
    SELECT p_server, p.id, p.price_hourly, p.price_monthly, p.price_bandwidth_gb,
           p.bandwidth_gb, p.price_disk_gb_month, p.currency, p_at
    FROM plans p WHERE p.id = p_plan
$$;

-- A plan repriced on disk alone reprices its servers' periods too.
DROP TRIGGER plans_periods_reprice ON plans;
CREATE TRIGGER plans_periods_reprice AFTER UPDATE ON plans FOR EACH ROW
    WHEN ((OLD.price_hourly, OLD.price_monthly, OLD.price_bandwidth_gb, OLD.bandwidth_gb,
           OLD.price_disk_gb_month, OLD.currency) IS DISTINCT FROM
          (NEW.price_hourly, NEW.price_monthly, NEW.price_bandwidth_gb, NEW.bandwidth_gb,
           NEW.price_disk_gb_month, NEW.currency))
    EXECUTE FUNCTION sw_plan_periods_reprice();

-- 0011's hourly sums, with the disk's bytes x seconds.
CREATE OR REPLACE FUNCTION sw_usage_hourly_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_samples n
               WHERE NOT EXISTS (SELECT 1 FROM servers s WHERE s.id = n.server_id)
                  OR NOT EXISTS (SELECT 1 FROM nodes d WHERE d.id = n.node_id)) THEN
        RAISE EXCEPTION 'a usage sample names an unknown server or node'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    INSERT INTO usage_hourly AS h (server_id, hour, samples, period_s, cpu_ns, mem_mb_s,
                                   net_rx_bytes, net_tx_bytes, disk_rd_bytes, disk_wr_bytes,
                                   disk_byte_s)
    SELECT server_id, date_trunc('hour', ts), count(*), sum(period_s), sum(cpu_ns),
           sum(mem_mb * period_s), sum(net_rx_bytes), sum(net_tx_bytes), sum(disk_rd_bytes),
           sum(disk_wr_bytes), sum(disk_bytes::numeric * period_s)
    FROM new_samples GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (server_id, hour) DO UPDATE SET
        samples = h.samples + EXCLUDED.samples, period_s = h.period_s + EXCLUDED.period_s,
        cpu_ns = h.cpu_ns + EXCLUDED.cpu_ns, mem_mb_s = h.mem_mb_s + EXCLUDED.mem_mb_s,
        net_rx_bytes = h.net_rx_bytes + EXCLUDED.net_rx_bytes,
        net_tx_bytes = h.net_tx_bytes + EXCLUDED.net_tx_bytes,
        disk_rd_bytes = h.disk_rd_bytes + EXCLUDED.disk_rd_bytes,
        disk_wr_bytes = h.disk_wr_bytes + EXCLUDED.disk_wr_bytes,
        disk_byte_s = h.disk_byte_s + EXCLUDED.disk_byte_s;
    RETURN NULL;
END
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
                             'price_disk_gb_month', sw_money(p.price_disk_gb_month, p.currency),
                             'state', p.state, 'created_at', sw_ts(p.created_at))
$$;

-- 0011's invariants, with the disk sums checked like the others and disk
-- lines billed once per server and month like bandwidth lines.
CREATE OR REPLACE FUNCTION sw_billing_check() RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    -- the ledger balances, per transaction and currency, and in total
    SELECT format('ledger transaction %s does not balance in %s: debit %s, credit %s',
                  tx_id, currency, sum(debit), sum(credit))
    FROM ledger_entries GROUP BY tx_id, currency HAVING sum(debit) <> sum(credit)
    UNION ALL
    SELECT format('ledger does not balance in %s', currency)
    FROM ledger_entries GROUP BY currency HAVING sum(debit) <> sum(credit)
    UNION ALL
    -- every stored sample is aggregated exactly once
    SELECT format('usage of server %s hour %s: %s samples aggregated, %s stored',
                  coalesce(h.server_id, s.server_id), coalesce(h.hour, s.hour),
                  coalesce(h.samples, 0), coalesce(s.n, 0))
    FROM usage_hourly h
    FULL JOIN (SELECT server_id, date_trunc('hour', ts) AS hour, count(*) AS n,
                      sum(net_rx_bytes) AS rx, sum(net_tx_bytes) AS tx, sum(cpu_ns) AS cpu,
                      sum(disk_bytes::numeric * period_s) AS disk
               FROM usage_samples GROUP BY 1, 2) s
        ON s.server_id = h.server_id AND s.hour = h.hour
    WHERE h.samples IS DISTINCT FROM s.n OR h.net_rx_bytes IS DISTINCT FROM s.rx
       OR h.net_tx_bytes IS DISTINCT FROM s.tx OR h.cpu_ns IS DISTINCT FROM s.cpu
       OR h.disk_byte_s IS DISTINCT FROM s.disk
    UNION ALL
    -- each server's month is billed on one invoice only
    SELECT format('server %s is billed %s times for %s (%s)', l.server_id, count(DISTINCT i.id),
                  i.period, l.kind)
    FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
    WHERE l.kind IN ('bandwidth', 'disk')
    GROUP BY l.server_id, i.period, l.kind HAVING count(DISTINCT i.id) > 1
    UNION ALL
    -- invoices add up
    SELECT format('invoice %s: subtotal %s, lines %s', i.id, i.subtotal,
                  (SELECT coalesce(sum(amount), 0) FROM invoice_lines WHERE invoice_id = i.id))
    FROM invoices i
    WHERE i.subtotal <> (SELECT coalesce(sum(amount), 0) FROM invoice_lines
                         WHERE invoice_id = i.id)
    UNION ALL
    SELECT format('invoice %s: paid %s, allocations %s', i.id, i.paid_amount,
                  (SELECT coalesce(sum(amount), 0) FROM payment_allocations
                   WHERE invoice_id = i.id))
    FROM invoices i
    WHERE i.paid_amount <> (SELECT coalesce(sum(amount), 0) FROM payment_allocations
                            WHERE invoice_id = i.id)
    UNION ALL
    SELECT format('invoice %s is %s but paid %s of %s', i.id, i.state, i.paid_amount, i.total)
    FROM invoices i WHERE (i.state = 'paid') <> (i.state <> 'draft' AND i.paid_amount = i.total)
    UNION ALL
    -- every finalized invoice with a total has its ledger transaction
    SELECT format('invoice %s has %s ledger transactions', i.id, count(t.id))
    FROM invoices i LEFT JOIN ledger_transactions t ON t.invoice_id = i.id AND t.kind = 'invoice'
    WHERE i.state <> 'draft' AND i.total > 0 GROUP BY i.id HAVING count(t.id) <> 1
    UNION ALL
    -- payments: amount = applied + unapplied, one ledger transaction each
    SELECT format('payment %s: amount %s, applied %s, unapplied %s', p.id, p.amount,
                  (SELECT coalesce(sum(amount), 0) FROM payment_allocations
                   WHERE payment_id = p.id), p.unapplied)
    FROM payments p
    WHERE p.amount <> p.unapplied + (SELECT coalesce(sum(amount), 0) FROM payment_allocations
                                     WHERE payment_id = p.id)
    UNION ALL
    -- numbers are gapless per issuer: 1..last, each once
    SELECT format('issuer %s: %s numbered invoices, counter at %s, max number %s', c.issuer,
                  count(i.id), c.last, max(i.number))
    FROM invoice_counters c LEFT JOIN invoices i ON i.issuer = c.issuer AND i.number IS NOT NULL
    GROUP BY c.issuer, c.last
    HAVING count(i.id) <> c.last OR coalesce(max(i.number), 0) <> c.last
$$;

