ALTER TABLE incidents DROP COLUMN occurred_offset;
