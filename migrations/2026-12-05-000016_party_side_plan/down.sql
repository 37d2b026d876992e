CREATE OR REPLACE FUNCTION party_side(p text) RETURNS text
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(slug, parent, depth) AS (
        SELECT slug, parent, 0 FROM parties WHERE slug = p
        UNION ALL
        SELECT parties.slug, parties.parent, up.depth + 1
        FROM parties JOIN up ON parties.slug = up.parent
        WHERE up.depth < 64
    )
    SELECT slug FROM up WHERE parent IS NULL
$$;
