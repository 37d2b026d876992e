DROP INDEX idempotency_keys_created;
ALTER TABLE revisions DROP CONSTRAINT revisions_action_check;
ALTER TABLE revisions ADD CONSTRAINT revisions_action_check
    CHECK (action IN ('create', 'update', 'delete', 'claim', 'import'));
DROP TABLE server_secrets;
