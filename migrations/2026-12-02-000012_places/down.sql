ALTER TABLE incidents DROP COLUMN place, DROP COLUMN admin1, DROP COLUMN admin2;
DROP TABLE places;
DROP FUNCTION place_folded_names(text, text[]);
