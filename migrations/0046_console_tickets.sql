-- 0046_console_tickets.sql - one-time console tickets (issue 16): POST
-- /v1/servers/{id}/console stores the keyed hash (core/crypto.h sw_token_hash) of a random ticket, valid 60 s;
-- the WebSocket that presents it takes it once (used_at).
CREATE TABLE console_tickets (
    hash        text PRIMARY KEY CHECK (length(hash) = 64),
    server_id   uuid NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type        text NOT NULL CHECK (type IN ('serial', 'vnc')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX console_tickets_expires_idx ON console_tickets (expires_at);
