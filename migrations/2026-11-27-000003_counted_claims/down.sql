ALTER TABLE claims DROP COLUMN counted;
