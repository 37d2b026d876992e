-- party_side was an SQL function with a recursive query: PostgreSQL cannot
-- inline it, and plans such a function again at every call (0.8 ms each,
-- four calls in every POST of an incident with one claim: its claim check
-- and both of its sides in stat_contribution). As PL/pgSQL its plan is
-- kept for the session; the answer is the same.
CREATE OR REPLACE FUNCTION party_side(p text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        WITH RECURSIVE up(slug, parent, depth) AS (
            SELECT slug, parent, 0 FROM parties WHERE slug = p
            UNION ALL
            SELECT parties.slug, parties.parent, up.depth + 1
            FROM parties JOIN up ON parties.slug = up.parent
            WHERE up.depth < 64
        )
        SELECT slug FROM up WHERE parent IS NULL
    );
END $$;
