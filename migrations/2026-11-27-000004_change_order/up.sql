-- The id of the transaction that last changed each incident, for mirrors
-- that follow changes: every transaction with a smaller id has ended once
-- it is below the oldest running one, so a listing that stops there never
-- skips a change that commits later.
ALTER TABLE incidents ADD COLUMN change_seq bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint;
CREATE INDEX incidents_change ON incidents (change_seq, id);

CREATE FUNCTION stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_seq := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_change BEFORE UPDATE ON incidents FOR EACH ROW EXECUTE FUNCTION stamp_change();

-- Imports restore incidents as they were exported.
ALTER TABLE revisions DROP CONSTRAINT revisions_action_check;
ALTER TABLE revisions ADD CONSTRAINT revisions_action_check CHECK (action IN ('create', 'update', 'delete', 'claim', 'import'));
