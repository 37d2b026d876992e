-- The direction of an incident (origin country > location country) and
-- whether it crossed a border join the dimensions the rollups keep, one at
-- a time. The queue of changes is made anew with the wider rows (it is
-- emptied by the rebuild at the end anyway).

DROP VIEW stat_pending;
DROP TABLE stat_dirty;
ALTER TABLE stat_current ADD COLUMN direction text, ADD COLUMN cross_border boolean NOT NULL DEFAULT false;
CREATE TABLE stat_dirty (sign integer NOT NULL, LIKE stat_current, seq bigserial);
CREATE INDEX stat_dirty_seq ON stat_dirty (seq);
CREATE VIEW stat_pending AS SELECT * FROM stat_dirty;

-- What each standing incident adds to the counts now (as before, and its
-- direction). No WITH: the planner must be able to join it by incident id.
CREATE OR REPLACE VIEW stat_contribution AS
SELECT i.id AS incident_id, i.occurred_at, i.created_at, i.type, i.verification, i.border_sector, i.country, i.denied,
       ARRAY(SELECT ip.party FROM incident_parties ip
              WHERE ip.incident_id = i.id AND ip.role = 'accuser' ORDER BY 1) AS accusers,
       ARRAY(SELECT ip.party FROM incident_parties ip
              WHERE ip.incident_id = i.id AND ip.role = 'accused' ORDER BY 1) AS accused,
       ARRAY(SELECT DISTINCT party_side(ip.party) FROM incident_parties ip
              WHERE ip.incident_id = i.id AND ip.role = 'accuser' ORDER BY 1) AS accuser_sides,
       ARRAY(SELECT DISTINCT party_side(ip.party) FROM incident_parties ip
              WHERE ip.incident_id = i.id AND ip.role = 'accused' ORDER BY 1) AS accused_sides,
       ARRAY(SELECT ip.party FROM incident_parties ip
              WHERE ip.incident_id = i.id AND ip.role = 'claimant' ORDER BY 1) AS claimants,
       i.violations::bigint AS violations,
       (coalesce(i.killed_military, 0) + coalesce(i.killed_civilian, 0))::bigint AS killed,
       (coalesce(i.wounded_military, 0) + coalesce(i.wounded_civilian, 0))::bigint AS wounded,
       i.direction,
       i.cross_border
FROM incidents i
WHERE i.deleted_at IS NULL;

CREATE OR REPLACE FUNCTION stat_values(dim text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE dim
        WHEN '' THEN 'NULL::text'
        WHEN 'type' THEN 'j.type'
        WHEN 'verification' THEN 'j.verification'
        WHEN 'border_sector' THEN 'j.border_sector'
        WHEN 'country' THEN 'j.country'
        WHEN 'denied' THEN 'j.denied::text'
        WHEN 'accuser' THEN 'unnest(coalesce(nullif(j.accusers, ''{}''), ''{NULL}''))'
        WHEN 'accused' THEN 'unnest(coalesce(nullif(j.accused, ''{}''), ''{NULL}''))'
        WHEN 'accuser_side' THEN 'unnest(coalesce(nullif(j.accuser_sides, ''{}''), ''{NULL}''))'
        WHEN 'accused_side' THEN 'unnest(coalesce(nullif(j.accused_sides, ''{}''), ''{NULL}''))'
        WHEN 'claimant' THEN 'unnest(coalesce(nullif(j.claimants, ''{}''), ''{NULL}''))'
        WHEN 'direction' THEN 'j.direction'
        WHEN 'cross_border' THEN 'j.cross_border::text'
    END
$$;

CREATE OR REPLACE FUNCTION stat_add(src regclass, zones text[], fresh boolean) RETURNS void
LANGUAGE plpgsql SET enable_sort = off SET jit = off AS $$
DECLARE
    paired CONSTANT text[] := ARRAY['type', 'verification', 'country', 'denied', 'accuser_side', 'accused_side'];
    singles CONSTANT text[] := ARRAY['', 'type', 'verification', 'border_sector', 'country', 'denied', 'accuser',
                                     'accused', 'accuser_side', 'accused_side', 'claimant', 'direction', 'cross_border'];
    d1 text;
    d2 text;
    done integer := 0;
    total integer;
BEGIN
    total := cardinality(singles) + cardinality(paired) * (cardinality(paired) - 1) / 2;
    FOR d1, d2 IN
        SELECT d, '' FROM unnest(singles) d
        UNION ALL
        SELECT x, y FROM unnest(paired) x, unnest(paired) y WHERE x < y
    LOOP
        EXECUTE format($q$
            INSERT INTO stat_single AS t
            WITH days AS (
                SELECT z.zone, b.basis, b.day, a.v AS val, c.v AS val2, sum(j.sign) AS n,
                       sum(j.sign * j.violations) AS violations, sum(j.sign * j.killed) AS killed,
                       sum(j.sign * j.wounded) AS wounded
                FROM %1$s j
                CROSS JOIN LATERAL (SELECT %2$s AS v) a
                CROSS JOIN LATERAL (SELECT %3$s AS v) c
                CROSS JOIN LATERAL unnest($1, j.odays, j.rdays) z(zone, oday, rday)
                CROSS JOIN LATERAL (VALUES ('o'::"char", z.oday), ('r'::"char", z.rday)) b(basis, day)
                WHERE %6$s
                GROUP BY 1, 2, 3, 4, 5
            )
            SELECT zone, basis, %4$L, %5$L, 'd', day, val, val2, n, violations, killed, wounded FROM days
            UNION ALL
            SELECT zone, basis, %4$L, %5$L, 'm', date_trunc('month', day)::date, val, val2,
                   sum(n), sum(violations), sum(killed), sum(wounded)
            FROM days GROUP BY zone, basis, date_trunc('month', day)::date, val, val2
            %7$s
            $q$, src, stat_values(d1), stat_values(d2), d1, d2,
            -- Pairs are kept by occurred date only.
            CASE WHEN d2 = '' THEN 'true' ELSE 'b.basis = ''o''' END,
            CASE WHEN NOT fresh THEN
                'ON CONFLICT (zone, basis, dim, dim2, grain, day, val, val2)
                 DO UPDATE SET n = t.n + excluded.n, violations = t.violations + excluded.violations,
                               killed = t.killed + excluded.killed, wounded = t.wounded + excluded.wounded'
            END)
        USING zones;
        done := done + 1;
        IF fresh THEN
            RAISE NOTICE 'rolled up % of % dimensions and pairs (%)', done, total, concat_ws(' × ', nullif(d1, ''), nullif(d2, ''));
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION stat_rebuild() RETURNS integer
LANGUAGE plpgsql SET work_mem = '256MB' SET maintenance_work_mem = '1GB' AS $$
DECLARE
    zones CONSTANT text[] := stat_zone_list();
    total integer;
BEGIN
    LOCK TABLE incidents IN SHARE MODE;
    UPDATE stat_fold_lock SET folded_at = now();
    TRUNCATE stat_dirty, stat_current, stat_single;
    -- Filled faster without its index, built once at the end.
    ALTER TABLE stat_single DROP CONSTRAINT stat_single_key;

    -- stat_contribution for every incident at once: each party's side
    -- worked out once, the parties read in one pass.
    INSERT INTO stat_current
    SELECT i.id, i.occurred_at, i.created_at, i.type, i.verification, i.border_sector, i.country, i.denied,
           coalesce(p.accusers, '{}'), coalesce(p.accused, '{}'), coalesce(p.accuser_sides, '{}'),
           coalesce(p.accused_sides, '{}'), coalesce(p.claimants, '{}'),
           i.violations::bigint,
           (coalesce(i.killed_military, 0) + coalesce(i.killed_civilian, 0))::bigint,
           (coalesce(i.wounded_military, 0) + coalesce(i.wounded_civilian, 0))::bigint,
           i.direction, i.cross_border
    FROM incidents i
    LEFT JOIN (
        SELECT ip.incident_id,
               array_agg(ip.party ORDER BY ip.party) FILTER (WHERE ip.role = 'accuser') AS accusers,
               array_agg(ip.party ORDER BY ip.party) FILTER (WHERE ip.role = 'accused') AS accused,
               array_agg(DISTINCT s.side ORDER BY s.side) FILTER (WHERE ip.role = 'accuser') AS accuser_sides,
               array_agg(DISTINCT s.side ORDER BY s.side) FILTER (WHERE ip.role = 'accused') AS accused_sides,
               array_agg(ip.party ORDER BY ip.party) FILTER (WHERE ip.role = 'claimant') AS claimants
        FROM incident_parties ip
        JOIN (SELECT slug, party_side(slug) AS side FROM parties) s ON s.slug = ip.party
        WHERE ip.role IN ('accuser', 'accused', 'claimant')
        GROUP BY ip.incident_id
    ) p ON p.incident_id = i.id
    WHERE i.deleted_at IS NULL;
    GET DIAGNOSTICS total = ROW_COUNT;
    RAISE NOTICE 'worked out what % incidents count for', total;
    ANALYZE stat_current;

    CREATE TEMP TABLE stat_rebuild_batch AS
    SELECT 1 AS sign, s.*, stat_local_days(s.occurred_at, zones) AS odays,
           stat_local_days(s.created_at, zones) AS rdays
    FROM stat_current s;
    ANALYZE stat_rebuild_batch;
    PERFORM stat_add('stat_rebuild_batch', zones, true);
    DROP TABLE stat_rebuild_batch;
    ALTER TABLE stat_single ADD CONSTRAINT stat_single_key UNIQUE NULLS NOT DISTINCT (zone, basis, dim, dim2, grain, day, val, val2);
    ANALYZE stat_single;
    RETURN total;
END $$;

-- The incidents already recorded, with their direction.
SELECT stat_rebuild();
