-- The outbox of live delivery: every change to an incident writes an event
-- in its own transaction. Events get their `seq` from the sequencer
-- (`sequence_events`) once committed: seqs are given out by one sequencer
-- at a time, each run after the last, so a reader that has seen `seq` N
-- never later finds a new event at or below N. Two events of one incident
-- come in the order of its versions: a change locks the incident's row, so
-- the later change writes its event only after the earlier one committed,
-- with a larger id, and each run numbers what is committed by id.
CREATE TABLE events (
    id bigserial PRIMARY KEY,
    seq bigint UNIQUE,
    type text NOT NULL CHECK (type IN ('incident.created', 'incident.updated', 'incident.deleted',
                                       'claim.created', 'claim.retracted', 'claim.voided')),
    incident_id uuid NOT NULL,
    version integer NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    sequenced_at timestamptz,
    payload json NOT NULL
);
CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL;
CREATE INDEX events_at ON events (at);

-- The last seq given out (events may be purged; seq never goes back).
CREATE TABLE event_counter (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_seq bigint NOT NULL
);
INSERT INTO event_counter VALUES (true, 0);

-- Sent at commit: the sequencers of every instance wake up.
CREATE FUNCTION events_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ceasefire_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER events_written AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION events_written();

-- Numbers up to `batch` committed events, by id, and tells every instance
-- (`ceasefire_events`, the last seq). Returns how many. Sequencers take
-- turns (the lock); writers never wait for them.
CREATE FUNCTION sequence_events(batch integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    last bigint;
    n bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7273279462);
    SELECT last_seq INTO last FROM event_counter FOR UPDATE;
    WITH next AS (
        SELECT id, row_number() OVER (ORDER BY id) AS rn
        FROM events WHERE seq IS NULL ORDER BY id LIMIT batch
    )
    UPDATE events e SET seq = last + next.rn, sequenced_at = clock_timestamp()
    FROM next WHERE e.id = next.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        UPDATE event_counter SET last_seq = last + n;
        PERFORM pg_notify('ceasefire_events', (last + n)::text);
    END IF;
    RETURN n;
END $$;

-- Webhook subscriptions: where to post, which events, and how far delivery
-- has come (`delivered_seq`: every event up to it was delivered or did not
-- match). A worker leases a subscription (`lease_token`, `lease_until`)
-- while it delivers, so each is served by one worker at a time, in order.
CREATE TABLE webhooks (
    id uuid PRIMARY KEY,
    url text NOT NULL,
    description text,
    filter text NOT NULL DEFAULT '',
    types text[] NOT NULL DEFAULT '{}',
    secret text NOT NULL,
    state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'failing', 'disabled')),
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    delivered_seq bigint NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    failing_since timestamptz,
    last_error text,
    last_success_at timestamptz,
    disabled_at timestamptz,
    lease_token uuid,
    lease_until timestamptz
);
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE state <> 'disabled';

CREATE TABLE webhook_deliveries (
    id bigserial PRIMARY KEY,
    webhook_id uuid NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    message_id text NOT NULL,
    event_type text NOT NULL,
    seq bigint,
    attempt integer NOT NULL,
    status_code integer,
    latency_ms integer NOT NULL,
    error text,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id DESC);
CREATE INDEX webhook_deliveries_at ON webhook_deliveries (at);
