ALTER TABLE revisions DROP CONSTRAINT revisions_action_check;
ALTER TABLE revisions ADD CONSTRAINT revisions_action_check CHECK (action IN ('create', 'update', 'delete', 'claim'));
DROP TRIGGER incidents_change ON incidents;
DROP FUNCTION stamp_change();
ALTER TABLE incidents DROP COLUMN change_seq;
