-- 0010_events: the events billing hooks announce (API.md "Billing hooks").
-- One row per event, written by sw_event_emit() in the same transaction as
-- the change it announces, so an event exists exactly when its change
-- committed. The row's id is the event's id for its whole life: every
-- delivery of it, to every endpoint, carries it (webhook-id), so a receiver
-- can drop a repeat. Delivery (fan-out to endpoints, signing, retries) reads
-- this table in seq order.

CREATE TABLE events (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq        bigserial NOT NULL UNIQUE,   -- commit-independent order of emission
    type       text NOT NULL CHECK (type IN (
                   'order.created', 'server.provisioned', 'server.suspended',
                   'server.unsuspended', 'server.terminated', 'job.failed', 'usage.hourly',
                   'invoice.finalized', 'invoice.overdue', 'payment.received')),
    -- The account the event is about (a customer, a reseller); its reseller
    -- and the operator see it too. NULL: the operator only.
    account_id uuid REFERENCES accounts (id),
    data       jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_account_idx ON events (account_id, seq);

-- Emits one event in the caller's transaction and wakes the deliverers at
-- its commit. Returns the event's id.
CREATE FUNCTION sw_event_emit(p_type text, p_account uuid, p_data jsonb) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    eid uuid;
BEGIN
    INSERT INTO events (type, account_id, data) VALUES (p_type, p_account, p_data)
    RETURNING id INTO eid;
    PERFORM pg_notify('sw_events', '');
    RETURN eid;
END
$$;
