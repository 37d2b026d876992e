-- A gazetteer: places by every name they go by (in any script and
-- transliteration), with their administrative areas. An incident's
-- location may reference one; `q` and the place filter match every name.
CREATE FUNCTION place_folded_names(name text, alt_names text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY(SELECT DISTINCT lower(n) FROM unnest(array_prepend(name, alt_names)) AS n);

CREATE TABLE places (
    slug text PRIMARY KEY CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    alt_names text[] NOT NULL DEFAULT '{}' CHECK (cardinality(alt_names) <= 50),
    country text CHECK (country ~ '^[A-Z]{2}$'),
    admin1 text CHECK (char_length(admin1) BETWEEN 1 AND 200),
    admin2 text CHECK (char_length(admin2) BETWEEN 1 AND 200),
    lat double precision CHECK (lat BETWEEN -90 AND 90),
    lon double precision CHECK (lon BETWEEN -180 AND 180),
    folded_names text[] GENERATED ALWAYS AS (place_folded_names(name, alt_names)) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((lat IS NULL) = (lon IS NULL))
);
CREATE INDEX places_folded_names ON places USING gin (folded_names);

ALTER TABLE incidents
    ADD COLUMN place text REFERENCES places (slug),
    ADD COLUMN admin1 text CHECK (char_length(admin1) BETWEEN 1 AND 200),
    ADD COLUMN admin2 text CHECK (char_length(admin2) BETWEEN 1 AND 200);
CREATE INDEX incidents_place ON incidents (place) WHERE place IS NOT NULL;
-- The place filter and `q` also match locations named by one of a place's
-- names: an index on the folded name keeps those arms indexed.
CREATE INDEX incidents_location_name ON incidents (lower(location_name));
CREATE INDEX incidents_admin1 ON incidents (lower(admin1), occurred_at) WHERE admin1 IS NOT NULL;
CREATE INDEX incidents_admin2 ON incidents (lower(admin2), occurred_at) WHERE admin2 IS NOT NULL;
