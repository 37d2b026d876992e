-- The UTC offset an incident's time was reported with, in seconds east of
-- UTC: answers show `occurred_at` in it unless the reader asks for a zone.
-- Existing incidents were reported before it was kept: UTC.
ALTER TABLE incidents
    ADD COLUMN occurred_offset integer NOT NULL DEFAULT 0
        CHECK (occurred_offset BETWEEN -86399 AND 86399);
