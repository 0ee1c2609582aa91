-- 0011_billing: rating inputs, invoices, the ledger, payments and dunning
-- (billing/README.md states the money rules; this file keeps them).
--
--   server_periods   what a server was billed on, [started_at, ended_at),
--                    kept by triggers on servers and plans: no daemon code
--                    needs to know
--   usage_hourly     usage_samples summed per server and hour, written in
--                    the statement that stores the samples
--   invoices, invoice_lines, invoice_counters
--   ledger_transactions, ledger_entries   double entry, append-only,
--                    each transaction balanced per currency at commit
--   payments, payment_allocations
--   suspension_holds.reason   'account' (0005) or 'dunning'
--
-- Money is bigint minor units with a currency; nothing here uses floating
-- point. Errors raised for callers use SQLSTATE class SB (see
-- sw_payment_apply).

ALTER TABLE plans ADD COLUMN price_bandwidth_gb bigint NOT NULL DEFAULT 0
    CHECK (price_bandwidth_gb >= 0);  -- minor units per GB (10^9 bytes) past bandwidth_gb

-- Tax rate in basis points (1/100 of a percent): 1900 is 19 %.
ALTER TABLE accounts ADD COLUMN tax_rate_bp integer NOT NULL DEFAULT 0
    CHECK (tax_rate_bp BETWEEN 0 AND 10000);

-- ---- what each server was billed on ----

-- One row per stretch of a server's life on one plan at one price. Times are
-- whole seconds (prorating is to the second). ended_at NULL: still running.
CREATE TABLE server_periods (
    id                 bigserial PRIMARY KEY,
    server_id          uuid NOT NULL REFERENCES servers (id),
    plan_id            uuid NOT NULL REFERENCES plans (id),
    price_hourly       bigint NOT NULL CHECK (price_hourly >= 0),
    price_monthly      bigint NOT NULL CHECK (price_monthly >= 0),
    price_bandwidth_gb bigint NOT NULL CHECK (price_bandwidth_gb >= 0),
    bandwidth_gb       bigint NOT NULL CHECK (bandwidth_gb >= 0),
    currency           text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    started_at         timestamptz NOT NULL,
    ended_at           timestamptz,
    CHECK (ended_at IS NULL OR ended_at >= started_at),
    CHECK (started_at = date_trunc('second', started_at)),
    CHECK (ended_at IS NULL OR ended_at = date_trunc('second', ended_at))
);
CREATE UNIQUE INDEX server_periods_open_key ON server_periods (server_id) WHERE ended_at IS NULL;
CREATE INDEX server_periods_server_idx ON server_periods (server_id, started_at);
CREATE INDEX server_periods_time_idx ON server_periods (started_at, ended_at);

CREATE FUNCTION sw_period_open(p_server uuid, p_plan uuid, p_at timestamptz) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO server_periods (server_id, plan_id, price_hourly, price_monthly,
                                price_bandwidth_gb, bandwidth_gb, currency, started_at)
    SELECT p_server, p.id, p.price_hourly, p.price_monthly, p.price_bandwidth_gb,
           p.bandwidth_gb, p.currency, p_at
    FROM plans p WHERE p.id = p_plan
$$;

-- Closes the server's open period at p_at; true when there was one.
CREATE FUNCTION sw_period_close(p_server uuid, p_at timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE server_periods SET ended_at = greatest(p_at, started_at)
    WHERE server_id = p_server AND ended_at IS NULL;
    RETURN FOUND;
END
$$;

-- A server is billed from the moment it first runs (again after a failure)
-- until it is terminated or failed; stopped and suspended servers keep
-- their resources and are billed. A plan change closes the period and opens
-- one on the new plan at the same second.
CREATE FUNCTION sw_server_periods_track() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := date_trunc('second', now());
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.plan_id IS DISTINCT FROM OLD.plan_id THEN
        IF sw_period_close(NEW.id, t) AND NEW.state NOT IN ('terminated', 'failed') THEN
            PERFORM sw_period_open(NEW.id, NEW.plan_id, t);
        END IF;
    END IF;
    IF NEW.state IN ('terminated', 'failed') THEN
        PERFORM sw_period_close(NEW.id, t);
    ELSIF NEW.state = 'running'
          AND NOT EXISTS (SELECT 1 FROM server_periods
                          WHERE server_id = NEW.id AND ended_at IS NULL) THEN
        PERFORM sw_period_open(NEW.id, NEW.plan_id, t);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER servers_periods AFTER INSERT OR UPDATE OF state, plan_id ON servers
    FOR EACH ROW EXECUTE FUNCTION sw_server_periods_track();

-- A repriced plan: its servers' open periods end and go on at the new
-- prices from this second.
CREATE FUNCTION sw_plan_periods_reprice() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := date_trunc('second', now());
    s uuid;
BEGIN
    FOR s IN SELECT server_id FROM server_periods
             WHERE plan_id = NEW.id AND ended_at IS NULL ORDER BY server_id LOOP
        PERFORM sw_period_close(s, t);
        PERFORM sw_period_open(s, NEW.id, t);
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER plans_periods_reprice AFTER UPDATE ON plans FOR EACH ROW
    WHEN ((OLD.price_hourly, OLD.price_monthly, OLD.price_bandwidth_gb, OLD.bandwidth_gb,
           OLD.currency) IS DISTINCT FROM
          (NEW.price_hourly, NEW.price_monthly, NEW.price_bandwidth_gb, NEW.bandwidth_gb,
           NEW.currency))
    EXECUTE FUNCTION sw_plan_periods_reprice();

-- Servers that already run when this migration is applied are billed from now.
INSERT INTO server_periods (server_id, plan_id, price_hourly, price_monthly,
                            price_bandwidth_gb, bandwidth_gb, currency, started_at)
SELECT s.id, p.id, p.price_hourly, p.price_monthly, p.price_bandwidth_gb, p.bandwidth_gb,
       p.currency, date_trunc('second', now())
FROM servers s JOIN plans p ON p.id = s.plan_id
WHERE s.state IN ('running', 'stopped', 'suspended', 'terminating');

-- ---- usage per server and hour ----

-- Sums of usage_samples per (server, hour of ts): written within the
-- statement that inserts the samples, from the rows it actually inserted,
-- so every stored sample is counted exactly once (sw_billing_check
-- verifies it).
CREATE TABLE usage_hourly (
    server_id     uuid NOT NULL REFERENCES servers (id),
    hour          timestamptz NOT NULL CHECK (hour = date_trunc('hour', hour)),
    samples       bigint NOT NULL,
    period_s      bigint NOT NULL,
    cpu_ns        bigint NOT NULL,
    mem_mb_s      bigint NOT NULL,   -- sum of mem_mb x period_s
    net_rx_bytes  bigint NOT NULL,
    net_tx_bytes  bigint NOT NULL,
    disk_rd_bytes bigint NOT NULL,
    disk_wr_bytes bigint NOT NULL,
    PRIMARY KEY (server_id, hour)
);
CREATE INDEX usage_hourly_hour_idx ON usage_hourly (hour);

-- Kept by the statement that inserts samples: a statement-level trigger
-- sums the rows that statement actually inserted (its transition table, so
-- rows skipped by ON CONFLICT DO NOTHING are not counted) into their hours,
-- in key order so concurrent batches do not deadlock. Every insert path
-- (billing's batches, fixtures, a hand-made row) keeps it exact.
CREATE FUNCTION sw_usage_hourly_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_hourly AS h
    SELECT server_id, date_trunc('hour', ts), count(*), sum(period_s), sum(cpu_ns),
           sum(mem_mb * period_s), sum(net_rx_bytes), sum(net_tx_bytes), sum(disk_rd_bytes),
           sum(disk_wr_bytes)
    FROM new_samples GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (server_id, hour) DO UPDATE SET
        samples = h.samples + EXCLUDED.samples, period_s = h.period_s + EXCLUDED.period_s,
        cpu_ns = h.cpu_ns + EXCLUDED.cpu_ns, mem_mb_s = h.mem_mb_s + EXCLUDED.mem_mb_s,
        net_rx_bytes = h.net_rx_bytes + EXCLUDED.net_rx_bytes,
        net_tx_bytes = h.net_tx_bytes + EXCLUDED.net_tx_bytes,
        disk_rd_bytes = h.disk_rd_bytes + EXCLUDED.disk_rd_bytes,
        disk_wr_bytes = h.disk_wr_bytes + EXCLUDED.disk_wr_bytes;
    RETURN NULL;
END
$$;
CREATE TRIGGER usage_samples_hourly AFTER INSERT ON usage_samples
    REFERENCING NEW TABLE AS new_samples FOR EACH STATEMENT
    EXECUTE FUNCTION sw_usage_hourly_add();

-- Samples stored before this migration.
INSERT INTO usage_hourly
SELECT server_id, date_trunc('hour', ts), count(*), sum(period_s), sum(cpu_ns),
       sum(mem_mb * period_s), sum(net_rx_bytes), sum(net_tx_bytes), sum(disk_rd_bytes),
       sum(disk_wr_bytes)
FROM usage_samples GROUP BY 1, 2;

-- ---- invoices ----

-- One number sequence per issuer. The counter row is updated in the
-- finalizing transaction: concurrent finalizations queue on it, and a
-- rollback gives the number back, so numbers are unique and gapless.
CREATE TABLE invoice_counters (
    issuer text PRIMARY KEY,
    last   bigint NOT NULL DEFAULT 0 CHECK (last >= 0)
);
INSERT INTO invoice_counters (issuer) VALUES ('operator');

-- One invoice per billed account, month (UTC) and currency. draft while the
-- month runs (lines recomputed); open once finalized (number, ledger, due
-- date); paid when payments cover the total.
CREATE TABLE invoices (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    issuer       text NOT NULL DEFAULT 'operator' REFERENCES invoice_counters (issuer),
    number       bigint,
    account_id   uuid NOT NULL REFERENCES accounts (id),
    period       text NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')
                 CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    state        text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'open', 'paid')),
    subtotal     bigint NOT NULL DEFAULT 0 CHECK (subtotal >= 0),
    tax_rate_bp  integer NOT NULL DEFAULT 0 CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    tax          bigint NOT NULL DEFAULT 0 CHECK (tax >= 0),
    total        bigint NOT NULL DEFAULT 0,
    paid_amount  bigint NOT NULL DEFAULT 0 CHECK (paid_amount >= 0 AND paid_amount <= total),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finalized_at timestamptz,
    due_at       timestamptz,
    overdue_at   timestamptz,
    paid_at      timestamptz,
    CHECK (total = subtotal + tax),
    CHECK ((state = 'draft') = (number IS NULL)),
    CHECK (state = 'draft' OR (finalized_at IS NOT NULL AND due_at IS NOT NULL)),
    UNIQUE (issuer, number),
    UNIQUE (account_id, period, currency)
);
CREATE INDEX invoices_account_idx ON invoices (account_id, created_at, id);
CREATE INDEX invoices_list_idx ON invoices (created_at, id);
CREATE INDEX invoices_open_idx ON invoices (due_at) WHERE state = 'open';

-- What an invoice charges: one line per server and plan period in the
-- month ('server'), and one per server for traffic past the allowance
-- ('bandwidth'). Recomputed while draft, frozen once finalized.
CREATE TABLE invoice_lines (
    id          bigserial PRIMARY KEY,
    invoice_id  uuid NOT NULL REFERENCES invoices (id),
    kind        text NOT NULL CHECK (kind IN ('server', 'bandwidth')),
    server_id   uuid NOT NULL REFERENCES servers (id),
    owner_id    uuid NOT NULL REFERENCES accounts (id),  -- the server's owner
    plan_id     uuid NOT NULL REFERENCES plans (id),
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz NOT NULL,
    quantity    bigint NOT NULL CHECK (quantity >= 0),   -- seconds, or bytes over the allowance
    unit_price  bigint NOT NULL,  -- price_hourly, or price per GB
    cap         bigint,           -- the line's share of the monthly price (server lines)
    amount      bigint NOT NULL CHECK (amount >= 0),
    description text NOT NULL DEFAULT ''
);
CREATE INDEX invoice_lines_invoice_idx ON invoice_lines (invoice_id, id);
CREATE INDEX invoice_lines_server_idx ON invoice_lines (server_id);

-- Finalized lines never change.
CREATE FUNCTION sw_invoice_lines_frozen() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM invoices
               WHERE id = (CASE WHEN TG_OP = 'INSERT' THEN NEW.invoice_id ELSE OLD.invoice_id END)
               AND state <> 'draft') THEN
        RAISE EXCEPTION 'the lines of a finalized invoice cannot change' USING ERRCODE = 'SB010';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER invoice_lines_frozen BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION sw_invoice_lines_frozen();

-- ---- ledger ----

CREATE TABLE ledger_transactions (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind       text NOT NULL CHECK (kind IN ('invoice', 'payment', 'correction')),
    account_id uuid NOT NULL REFERENCES accounts (id),  -- the billed account
    invoice_id uuid REFERENCES invoices (id),
    payment_id uuid,
    memo       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_transactions_account_idx ON ledger_transactions (account_id, created_at);

-- Ledger codes: receivable (what the account owes), revenue, tax (owed to
-- the tax office), cash (money received). One side of each entry is > 0.
CREATE TABLE ledger_entries (
    id         bigserial PRIMARY KEY,
    tx_id      uuid NOT NULL REFERENCES ledger_transactions (id),
    account_id uuid NOT NULL REFERENCES accounts (id),
    code       text NOT NULL CHECK (code IN ('receivable', 'revenue', 'tax', 'cash')),
    currency   text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    debit      bigint NOT NULL DEFAULT 0 CHECK (debit >= 0),
    credit     bigint NOT NULL DEFAULT 0 CHECK (credit >= 0),
    CHECK ((debit > 0) <> (credit > 0))
);
CREATE INDEX ledger_entries_tx_idx ON ledger_entries (tx_id);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, code);

-- Checked at commit (deferred): every transaction that got an entry has
-- debits = credits in each currency, and at least two entries.
CREATE FUNCTION sw_ledger_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    SELECT currency INTO bad FROM ledger_entries WHERE tx_id = NEW.tx_id
    GROUP BY currency HAVING sum(debit) <> sum(credit) OR count(*) < 2 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', NEW.tx_id, bad
            USING ERRCODE = 'SB011';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sw_ledger_balanced();

-- A correction is a new transaction, never an edit.
CREATE FUNCTION sw_ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: post a correcting transaction'
        USING ERRCODE = 'SB012';
END
$$;
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION sw_ledger_append_only();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION sw_ledger_append_only();

-- Posts one balanced transaction: p_lines is [{code, debit|credit}] in one
-- currency. Returns its id.
CREATE FUNCTION sw_ledger_post(p_kind text, p_account uuid, p_invoice uuid, p_payment uuid,
                               p_currency text, p_memo text, p_lines jsonb) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    tx uuid;
BEGIN
    INSERT INTO ledger_transactions (kind, account_id, invoice_id, payment_id, memo)
    VALUES (p_kind, p_account, p_invoice, p_payment, p_memo) RETURNING id INTO tx;
    INSERT INTO ledger_entries (tx_id, account_id, code, currency, debit, credit)
    SELECT tx, p_account, l->>'code', p_currency, coalesce((l->>'debit')::bigint, 0),
           coalesce((l->>'credit')::bigint, 0)
    FROM jsonb_array_elements(p_lines) l
    WHERE coalesce((l->>'debit')::bigint, 0) > 0 OR coalesce((l->>'credit')::bigint, 0) > 0;
    RETURN tx;
END
$$;

-- ---- payments ----

CREATE TABLE payments (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id),
    invoice_id uuid REFERENCES invoices (id),  -- as asked; NULL: oldest open first
    amount     bigint NOT NULL CHECK (amount > 0),
    currency   text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    source     text NOT NULL CHECK (source IN ('admin', 'hook')),
    ref        text NOT NULL CHECK (length(ref) BETWEEN 1 AND 200),
    unapplied  bigint NOT NULL CHECK (unapplied >= 0 AND unapplied <= amount),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, ref)
);
CREATE INDEX payments_account_idx ON payments (account_id, created_at);
ALTER TABLE ledger_transactions ADD FOREIGN KEY (payment_id) REFERENCES payments (id);
CREATE INDEX payments_unapplied_idx ON payments (account_id, currency, created_at)
    WHERE unapplied > 0;

CREATE TABLE payment_allocations (
    payment_id uuid NOT NULL REFERENCES payments (id),
    invoice_id uuid NOT NULL REFERENCES invoices (id),
    amount     bigint NOT NULL CHECK (amount > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (payment_id, invoice_id)
);
CREATE INDEX payment_allocations_invoice_idx ON payment_allocations (invoice_id);

-- Applies up to p_amount of payment p_payment to invoice p_inv (locked by
-- the caller, open); returns what was applied. Marks it paid when settled.
CREATE FUNCTION sw_invoice_apply(p_payment uuid, p_inv uuid, p_amount bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    take bigint;
BEGIN
    SELECT least(p_amount, total - paid_amount) INTO take FROM invoices
    WHERE id = p_inv AND state = 'open';
    IF take IS NULL OR take <= 0 THEN
        RETURN 0;
    END IF;
    INSERT INTO payment_allocations (payment_id, invoice_id, amount)
    VALUES (p_payment, p_inv, take)
    ON CONFLICT (payment_id, invoice_id)
    DO UPDATE SET amount = payment_allocations.amount + EXCLUDED.amount;
    UPDATE invoices SET paid_amount = paid_amount + take, updated_at = now(),
        state = CASE WHEN paid_amount + take = total THEN 'paid' ELSE state END,
        paid_at = CASE WHEN paid_amount + take = total THEN now() ELSE paid_at END
    WHERE id = p_inv;
    UPDATE payments SET unapplied = unapplied - take WHERE id = p_payment;
    RETURN take;
END
$$;

-- ---- jobs and holds (shared by dunning; the panel's account suspension
-- keeps its own statements, with reason 'account') ----

ALTER TABLE suspension_holds ADD COLUMN reason text NOT NULL DEFAULT 'account'
    CHECK (reason IN ('account', 'dunning'));
ALTER TABLE suspension_holds DROP CONSTRAINT suspension_holds_pkey;
ALTER TABLE suspension_holds ADD PRIMARY KEY (account_id, server_id, reason);

-- The account system jobs are recorded under: the first operator (the
-- issuer); the billed account when there is none.
CREATE FUNCTION sw_billing_actor(p_fallback uuid) RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT id FROM accounts WHERE kind = 'operator'
                     ORDER BY created_at, id LIMIT 1), p_fallback)
$$;

-- Queues an ordinary job for a server with its outbox row (stream "jobs",
-- as panel/api.c sw_api_enqueue_job writes it) and sets the server's state
-- at once (NULL: unchanged). Returns the job id.
CREATE FUNCTION sw_server_job(p_server uuid, p_actor uuid, p_type text, p_state text)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    jid uuid := gen_random_uuid();
BEGIN
    INSERT INTO jobs (id, server_id, account_id, type) VALUES (jid, p_server, p_actor, p_type);
    IF p_state IS NOT NULL THEN
        UPDATE servers SET state = p_state, updated_at = now() WHERE id = p_server;
    END IF;
    INSERT INTO outbox (stream, payload)
    VALUES ('jobs', json_build_object('job_id', jid, 'server_id', p_server,
                                      'type', p_type)::text);
    PERFORM pg_notify('outbox', '');
    RETURN jid;
END
$$;

-- Dunning suspends the billed account's servers (a reseller's: its whole
-- subtree's) that run or are stopped, each with a suspend job and a hold
-- (reason 'dunning') naming the state to go back to. Servers suspended
-- already get no hold; servers still being created are left alone.
-- Returns how many were suspended.
CREATE FUNCTION sw_dunning_suspend(p_account uuid) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    s record;
    jid uuid;
    n integer := 0;
    actor uuid := sw_billing_actor(p_account);
BEGIN
    FOR s IN SELECT v.id, v.state FROM servers v JOIN accounts o ON o.id = v.owner_id
             WHERE (o.id = p_account OR o.reseller_id = p_account)
             AND v.state IN ('running', 'stopped')
             AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.server_id = v.id
                             AND j.type = 'suspend' AND j.state IN ('queued', 'running'))
             ORDER BY v.created_at, v.id FOR UPDATE OF v LOOP
        jid := sw_server_job(s.id, actor, 'suspend', 'suspended');
        INSERT INTO suspension_holds (account_id, server_id, job_id, prev_state, reason)
        VALUES (p_account, s.id, jid, s.state, 'dunning')
        ON CONFLICT (account_id, server_id, reason)
        DO UPDATE SET job_id = EXCLUDED.job_id, prev_state = EXCLUDED.prev_state,
                      created_at = now();
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- Releases the account's dunning holds: each held server goes back to the
-- state it had (an unsuspend job for a running one; a stopped one whose
-- suspend job is over only changes state). A server whose owner, or the
-- owner's reseller, is suspended by an operator stays suspended: the hold
-- passes to that account's suspension (reason 'account'), whose unsuspend
-- releases it. Returns how many servers were released.
CREATE FUNCTION sw_dunning_release(p_account uuid) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    x record;
    n integer := 0;
    actor uuid := sw_billing_actor(p_account);
BEGIN
    FOR x IN SELECT h.server_id, h.job_id, h.prev_state, v.state, j.state AS job_state,
                    CASE WHEN o.state = 'suspended' THEN o.id
                         WHEN r.state = 'suspended' THEN r.id END AS suspended_by
             FROM suspension_holds h JOIN servers v ON v.id = h.server_id
             JOIN jobs j ON j.id = h.job_id JOIN accounts o ON o.id = v.owner_id
             LEFT JOIN accounts r ON r.id = o.reseller_id
             WHERE h.account_id = p_account AND h.reason = 'dunning'
             ORDER BY h.created_at, h.server_id FOR UPDATE OF v LOOP
        IF x.state <> 'suspended' THEN
            NULL;  -- no longer suspended (terminated, or unsuspended by hand)
        ELSIF x.suspended_by IS NOT NULL THEN
            INSERT INTO suspension_holds (account_id, server_id, job_id, prev_state, reason)
            VALUES (x.suspended_by, x.server_id, x.job_id, x.prev_state, 'account')
            ON CONFLICT DO NOTHING;
        ELSIF x.prev_state = 'stopped' AND x.job_state NOT IN ('queued', 'running') THEN
            UPDATE servers SET state = 'stopped', updated_at = now() WHERE id = x.server_id;
            n := n + 1;
        ELSE
            PERFORM sw_server_job(x.server_id, actor, 'unsuspend', x.prev_state);
            n := n + 1;
        END IF;
    END LOOP;
    DELETE FROM suspension_holds WHERE account_id = p_account AND reason = 'dunning';
    RETURN n;
END
$$;

-- Marks open invoices unpaid p_grace_days after their due date overdue
-- (once each), emits invoice.overdue and suspends the account's servers.
-- Returns the number of invoices marked. Run by the billing daemon.
CREATE FUNCTION sw_dunning_run(p_grace_days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    i record;
    n integer := 0;
    held integer;
BEGIN
    FOR i IN SELECT id FROM invoices
             WHERE state = 'open' AND overdue_at IS NULL
             AND due_at + make_interval(days => p_grace_days) <= now()
             ORDER BY due_at, id FOR UPDATE SKIP LOCKED LOOP
        UPDATE invoices SET overdue_at = now(), updated_at = now() WHERE id = i.id;
        SELECT sw_dunning_suspend(account_id) INTO held FROM invoices WHERE id = i.id;
        PERFORM sw_event_emit('invoice.overdue', v.account_id,
                              sw_invoice_event(v) || jsonb_build_object('servers_suspended', held))
        FROM invoices v WHERE v.id = i.id;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- ---- invoice lifecycle ----

-- What invoice events carry.
CREATE FUNCTION sw_invoice_event(i invoices) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('invoice_id', i.id, 'number', i.number, 'account_id', i.account_id,
                              'period', i.period, 'total', sw_money(i.total, i.currency)::jsonb,
                              'paid', sw_money(i.paid_amount, i.currency)::jsonb,
                              'due_at', sw_ts(i.due_at), 'state', i.state)
$$;

-- Replaces a draft's lines and amounts, computed by the rater (core/rate.c,
-- through core/invoice.c). p_lines: [{kind, server_id, owner_id, plan_id,
-- started_at, ended_at, quantity, unit_price, cap, amount, description}].
-- Creates the draft when missing. Returns the invoice id, or NULL when the
-- invoice is finalized already (nothing changes).
CREATE FUNCTION sw_invoice_store_draft(p_account uuid, p_period text, p_currency text,
                                       p_tax_rate_bp integer, p_subtotal bigint, p_tax bigint,
                                       p_lines jsonb) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    inv invoices;
    sum_lines bigint;
BEGIN
    INSERT INTO invoices (account_id, period, currency) VALUES (p_account, p_period, p_currency)
    ON CONFLICT (account_id, period, currency) DO NOTHING;
    SELECT * INTO inv FROM invoices
    WHERE account_id = p_account AND period = p_period AND currency = p_currency FOR UPDATE;
    IF inv.state <> 'draft' THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(sum((l->>'amount')::bigint), 0) INTO sum_lines
    FROM jsonb_array_elements(p_lines) l;
    IF sum_lines <> p_subtotal THEN
        RAISE EXCEPTION 'draft subtotal % is not the sum of its lines %', p_subtotal, sum_lines
            USING ERRCODE = 'SB013';
    END IF;
    DELETE FROM invoice_lines WHERE invoice_id = inv.id;
    INSERT INTO invoice_lines (invoice_id, kind, server_id, owner_id, plan_id, started_at,
                               ended_at, quantity, unit_price, cap, amount, description)
    SELECT inv.id, l->>'kind', (l->>'server_id')::uuid, (l->>'owner_id')::uuid,
           (l->>'plan_id')::uuid, to_timestamp((l->>'started_at')::bigint),
           to_timestamp((l->>'ended_at')::bigint), (l->>'quantity')::bigint,
           (l->>'unit_price')::bigint, (l->>'cap')::bigint, (l->>'amount')::bigint,
           coalesce(l->>'description', '')
    FROM jsonb_array_elements(p_lines) WITH ORDINALITY AS x(l, n) ORDER BY n;
    UPDATE invoices SET subtotal = p_subtotal, tax = p_tax, total = p_subtotal + p_tax,
        tax_rate_bp = p_tax_rate_bp, updated_at = now()
    WHERE id = inv.id;
    RETURN inv.id;
END
$$;

-- Finalizes a draft: freezes its lines, takes the issuer's next number,
-- posts the ledger transaction (debit receivable total; credit revenue
-- subtotal and tax), sets due_at, applies the account's unapplied payment
-- credit and emits invoice.finalized - all in the caller's transaction.
-- Returns the number; NULL when the invoice is not a draft (finalized
-- already: nothing changes). A zero invoice is paid at once.
CREATE FUNCTION sw_invoice_finalize(p_invoice uuid, p_due_days integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    inv invoices;
    num bigint;
    p record;
BEGIN
    SELECT * INTO inv FROM invoices WHERE id = p_invoice FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invoice % not found', p_invoice USING ERRCODE = 'SB001';
    END IF;
    IF inv.state <> 'draft' THEN
        RETURN NULL;
    END IF;
    UPDATE invoice_counters SET last = last + 1 WHERE issuer = inv.issuer RETURNING last INTO num;
    UPDATE invoices SET state = CASE WHEN total = 0 THEN 'paid' ELSE 'open' END,
        number = num, finalized_at = now(), updated_at = now(),
        due_at = now() + make_interval(days => p_due_days),
        paid_at = CASE WHEN total = 0 THEN now() END
    WHERE id = inv.id;
    IF inv.total > 0 THEN
        PERFORM sw_ledger_post('invoice', inv.account_id, inv.id, NULL, inv.currency,
                               'invoice ' || num || ' ' || inv.period,
                               jsonb_build_array(
                                   jsonb_build_object('code', 'receivable', 'debit', inv.total),
                                   jsonb_build_object('code', 'revenue', 'credit', inv.subtotal),
                                   jsonb_build_object('code', 'tax', 'credit', inv.tax)));
        FOR p IN SELECT id, unapplied FROM payments
                 WHERE account_id = inv.account_id AND currency = inv.currency AND unapplied > 0
                 ORDER BY created_at, id FOR UPDATE LOOP
            EXIT WHEN sw_invoice_apply(p.id, inv.id, p.unapplied) = 0;
        END LOOP;
    END IF;
    PERFORM sw_event_emit('invoice.finalized', v.account_id, sw_invoice_event(v))
    FROM invoices v WHERE v.id = inv.id;
    RETURN num;
END
$$;

-- Records a payment and applies it. The one entry point for payments: the
-- operator's POST /v1/admin/payments (source 'admin', ref = the request's
-- id) and the inbound payment hook (source 'hook', ref = the webhook-id).
--   - idempotent on (p_source, p_ref): a repeat returns the first payment's
--     id and changes nothing;
--   - posts one balanced ledger transaction (debit cash, credit receivable);
--   - applies the amount to p_invoice first, then to the account's other
--     open invoices in that currency, oldest first (p_invoice NULL: oldest
--     first); what is left stays as unapplied credit, applied to the next
--     invoice finalized;
--   - emits payment.received; when no overdue invoice of the account is
--     left unpaid, releases its dunning suspensions (unsuspend jobs).
-- Errors (SQLSTATE, message):
--   SB001 unknown invoice (or not the account's)   SB002 currency mismatch
--   SB003 amount not positive                      SB004 invoice not payable (draft)
--   SB005 unknown account                          SB006 bad source or ref
CREATE FUNCTION sw_payment_apply(p_account uuid, p_invoice uuid, p_amount bigint,
                                 p_currency text, p_source text, p_ref text) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    pid uuid;
    inv invoices;
    left_ bigint;
    o record;
    applied jsonb := '[]';
    took bigint;
BEGIN
    IF p_source IS NULL OR p_source NOT IN ('admin', 'hook') THEN
        RAISE EXCEPTION 'payment source must be admin or hook' USING ERRCODE = 'SB006';
    END IF;
    IF p_ref IS NULL OR length(p_ref) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'payment reference must be 1 to 200 characters' USING ERRCODE = 'SB006';
    END IF;
    -- One payment per (source, ref), also under concurrent repeats.
    PERFORM pg_advisory_xact_lock(hashtextextended('sw_payment:' || p_source || ':' || p_ref, 0));
    SELECT id INTO pid FROM payments WHERE source = p_source AND ref = p_ref;
    IF FOUND THEN
        RETURN pid;
    END IF;
    IF p_amount IS NULL OR p_amount <= 0 THEN
        RAISE EXCEPTION 'payment amount must be a positive integer of minor units'
            USING ERRCODE = 'SB003';
    END IF;
    IF p_currency IS NULL OR p_currency !~ '^[A-Z]{3}$' THEN
        RAISE EXCEPTION 'payment currency must be an ISO 4217 code' USING ERRCODE = 'SB002';
    END IF;
    -- the accounts the operator bills: resellers and its own customers
    PERFORM 1 FROM accounts WHERE id = p_account
        AND (kind = 'reseller' OR (kind = 'customer' AND reseller_id IS NULL)) FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % not found', p_account USING ERRCODE = 'SB005';
    END IF;
    IF p_invoice IS NOT NULL THEN
        SELECT * INTO inv FROM invoices WHERE id = p_invoice AND account_id = p_account
            FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'invoice % not found for this account', p_invoice
                USING ERRCODE = 'SB001';
        END IF;
        IF inv.currency <> p_currency THEN
            RAISE EXCEPTION 'invoice % is in %, not %', inv.number, inv.currency, p_currency
                USING ERRCODE = 'SB002';
        END IF;
        IF inv.state = 'draft' THEN
            RAISE EXCEPTION 'invoice % is a draft: it can be paid once finalized', p_invoice
                USING ERRCODE = 'SB004';
        END IF;
    END IF;
    INSERT INTO payments (account_id, invoice_id, amount, currency, source, ref, unapplied)
    VALUES (p_account, p_invoice, p_amount, p_currency, p_source, p_ref, p_amount)
    RETURNING id INTO pid;
    PERFORM sw_ledger_post('payment', p_account, p_invoice, pid, p_currency,
                           p_source || ' payment ' || p_ref,
                           jsonb_build_array(
                               jsonb_build_object('code', 'cash', 'debit', p_amount),
                               jsonb_build_object('code', 'receivable', 'credit', p_amount)));
    left_ := p_amount;
    FOR o IN SELECT id FROM invoices
             WHERE account_id = p_account AND currency = p_currency AND state = 'open'
             ORDER BY (id = p_invoice) DESC, finalized_at, number FOR UPDATE LOOP
        EXIT WHEN left_ = 0;
        took := sw_invoice_apply(pid, o.id, left_);
        IF took > 0 THEN
            applied := applied || jsonb_build_object('invoice_id', o.id, 'amount', took);
            left_ := left_ - took;
        END IF;
    END LOOP;
    PERFORM sw_event_emit('payment.received', p_account,
                          jsonb_build_object('payment_id', pid, 'invoice_id', p_invoice,
                                             'amount', sw_money(p_amount, p_currency)::jsonb,
                                             'source', p_source, 'applied', applied,
                                             'unapplied', left_));
    IF NOT EXISTS (SELECT 1 FROM invoices WHERE account_id = p_account AND state = 'open'
                   AND overdue_at IS NOT NULL) THEN
        PERFORM sw_dunning_release(p_account);
    END IF;
    RETURN pid;
END
$$;

-- ---- API view ----

CREATE FUNCTION sw_invoice_json(i invoices) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', i.id, 'number', i.number, 'issuer', i.issuer, 'account_id', i.account_id,
        'period', i.period, 'currency', i.currency, 'state', i.state,
        'overdue', i.overdue_at IS NOT NULL AND i.state = 'open',
        'subtotal', sw_money(i.subtotal, i.currency), 'tax_rate_bp', i.tax_rate_bp,
        'tax', sw_money(i.tax, i.currency), 'total', sw_money(i.total, i.currency),
        'paid', sw_money(i.paid_amount, i.currency),
        'balance', sw_money(i.total - i.paid_amount, i.currency),
        'lines', coalesce((SELECT json_agg(json_build_object(
                     'kind', l.kind, 'server_id', l.server_id, 'owner_id', l.owner_id,
                     'plan_id', l.plan_id, 'from', sw_ts(l.started_at), 'to', sw_ts(l.ended_at),
                     'quantity', l.quantity, 'unit_price', sw_money(l.unit_price, i.currency),
                     'amount', sw_money(l.amount, i.currency), 'description', l.description)
                     ORDER BY l.id)
                   FROM invoice_lines l WHERE l.invoice_id = i.id), '[]'::json),
        'created_at', sw_ts(i.created_at), 'finalized_at', sw_ts(i.finalized_at),
        'due_at', sw_ts(i.due_at), 'overdue_at', sw_ts(i.overdue_at),
        'paid_at', sw_ts(i.paid_at))
$$;

-- ---- invariants ----

-- Every violation of the billing invariants, one row each; none is the
-- only right answer. Run after every integration test (tests/lib/harness.sh).
CREATE FUNCTION sw_billing_check() RETURNS SETOF text
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
                      sum(net_rx_bytes) AS rx, sum(net_tx_bytes) AS tx, sum(cpu_ns) AS cpu
               FROM usage_samples GROUP BY 1, 2) s
        ON s.server_id = h.server_id AND s.hour = h.hour
    WHERE h.samples IS DISTINCT FROM s.n OR h.net_rx_bytes IS DISTINCT FROM s.rx
       OR h.net_tx_bytes IS DISTINCT FROM s.tx OR h.cpu_ns IS DISTINCT FROM s.cpu
    UNION ALL
    -- each server's month is billed on one invoice only
    SELECT format('server %s is billed %s times for %s (%s)', l.server_id, count(DISTINCT i.id),
                  i.period, l.kind)
    FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
    WHERE l.kind = 'bandwidth'
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
