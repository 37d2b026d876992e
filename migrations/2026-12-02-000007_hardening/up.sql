-- Secrets every instance shares, made once when the database is migrated
-- (gen_random_uuid draws from PostgreSQL's strong random source). `cursor`
-- signs the pagination cursors, so a cursor made by one instance verifies
-- on any other and a forged one on none.
CREATE TABLE server_secrets (
    name   text PRIMARY KEY,
    value  bytea NOT NULL CHECK (length(value) >= 32)
);
INSERT INTO server_secrets (name, value)
VALUES ('cursor', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));

-- A change to the parties' hierarchy that changes an incident's attribution
-- is a revision of that incident.
ALTER TABLE revisions DROP CONSTRAINT revisions_action_check;
ALTER TABLE revisions ADD CONSTRAINT revisions_action_check
    CHECK (action IN ('create', 'update', 'delete', 'claim', 'import', 'reattributed'));

-- Idempotency records expire; the purge finds the old ones by age.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
