-- Rebuilding the rollups while writers go on (`ceasefire rollup-zones
-- --set`, src/store/rollup.rs `set_zones`). Writers never touch the
-- rollups themselves: their trigger writes stat_current / stat_dirty (and
-- the claims' pair), and only a fold moves the queues into stat_single /
-- stat_claim. So a rebuild can take the place of folds for a while:
--
--   one REPEATABLE READ transaction holds the fold's lock, removes from the
--   queues every change its snapshot sees (stat_current has them already),
--   builds new rollups from stat_current beside the live ones, and swaps
--   them in at the end. Changes committed after its snapshot stay queued
--   and are folded into the new rollups; counts read the old rollups plus
--   the whole queue until the swap commits, the new ones plus what is left
--   after. Writers wait for nothing; counts wait only for the swap itself.

-- stat_add, into a table of stat_single's columns named by the caller.
-- The rows of `src` are weighted: `sign` is how many incidents a row
-- stands for (1, -1, or the sum of a compacted group) and its measures are
-- already multiplied by it.
CREATE OR REPLACE FUNCTION stat_add_into(target regclass, src regclass, zones text[], fresh boolean) RETURNS void
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
            INSERT INTO %8$s AS t
            WITH days AS (
                SELECT z.zone, b.basis, b.day, a.v AS val, c.v AS val2, sum(j.sign) AS n,
                       sum(j.violations) AS violations, sum(j.killed) AS killed, sum(j.wounded) AS wounded
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
            END,
            target)
        USING zones;
        done := done + 1;
        IF fresh THEN
            RAISE NOTICE 'rolled up % of % dimensions and pairs (%)', done, total, concat_ws(' × ', nullif(d1, ''), nullif(d2, ''));
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION stat_add(src regclass, zones text[], fresh boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stat_add_into('stat_single', src, zones, fresh);
END $$;

-- stat_claim_add, into a table of stat_claim's columns (with its key).
CREATE OR REPLACE FUNCTION stat_claim_add_into(target regclass, src regclass, zones text[]) RETURNS void
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    EXECUTE format($q$
        INSERT INTO %2$s AS t
        WITH days AS (
            SELECT z.zone, b.basis, b.day, j.claimant, j.stance, j.target, j.direction, j.type, sum(j.sign) AS n,
                   sum(j.sign * j.violations) AS violations, sum(j.sign * j.killed) AS killed,
                   sum(j.sign * j.wounded) AS wounded
            FROM %1$s j
            CROSS JOIN unnest($1) z(zone)
            CROSS JOIN LATERAL (VALUES ('s'::"char", (j.dated_at AT TIME ZONE z.zone)::date),
                                      ('o'::"char", (j.occurred_at AT TIME ZONE z.zone)::date)) b(basis, day)
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        )
        SELECT zone, basis, 'd', day, claimant, stance, target, direction, type, n, violations, killed, wounded
        FROM days
        UNION ALL
        SELECT zone, basis, 'm', date_trunc('month', day)::date, claimant, stance, target, direction, type,
               sum(n), sum(violations), sum(killed), sum(wounded)
        FROM days GROUP BY zone, basis, date_trunc('month', day)::date, claimant, stance, target, direction, type
        ON CONFLICT (zone, basis, grain, day, claimant, stance, target, direction, type)
        DO UPDATE SET n = t.n + excluded.n, violations = t.violations + excluded.violations,
                      killed = t.killed + excluded.killed, wounded = t.wounded + excluded.wounded
        $q$, src, target)
    USING zones;
END $$;

CREATE OR REPLACE FUNCTION stat_claim_add(src regclass, zones text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stat_claim_add_into('stat_claim', src, zones);
END $$;

-- Changes waiting while the fold cannot run (a rebuild holds its lock, a
-- fold stuck), compacted: rows of stat_dirty that differ only in their
-- incident and in the second of their times grouped into one, with how
-- many incidents they stand for (`n`, the sum of their signs) and their
-- measures summed. A count reads them like single changes, so a backlog of
-- a bulk load (many incidents of the same day, kind and place) costs a count
-- what its groups cost, not what its rows do. Times are cut to the minute:
-- every zone's offset since 1973 is a whole number of minutes, so the local
-- day of an instant and of its minute is the same (times before 1973 are
-- kept whole). No key: each compaction adds its own groups.
CREATE TABLE stat_dirty_sums (
    id            bigserial PRIMARY KEY,
    occurred_at   timestamptz NOT NULL,
    created_at    timestamptz NOT NULL,
    type          text NOT NULL,
    verification  text NOT NULL,
    border_sector text,
    country       text,
    denied        boolean NOT NULL,
    accusers      text[] NOT NULL,
    accused       text[] NOT NULL,
    accuser_sides text[] NOT NULL,
    accused_sides text[] NOT NULL,
    claimants     text[] NOT NULL,
    direction     text,
    cross_border  boolean NOT NULL,
    n             bigint NOT NULL,
    violations    bigint NOT NULL,
    killed        bigint NOT NULL,
    wounded       bigint NOT NULL
);

-- What counts add to the rollups: every change not folded yet, weighted.
DROP VIEW stat_pending;
CREATE VIEW stat_pending AS
SELECT occurred_at, created_at, type, verification, border_sector, country, denied, accusers, accused,
       accuser_sides, accused_sides, claimants, direction, cross_border, sign::bigint AS n,
       sign * violations AS violations, sign * killed AS killed, sign * wounded AS wounded
FROM stat_dirty
UNION ALL
SELECT occurred_at, created_at, type, verification, border_sector, country, denied, accusers, accused,
       accuser_sides, accused_sides, claimants, direction, cross_border, n, violations, killed, wounded
FROM stat_dirty_sums;

-- Compacts up to `lim` rows of stat_dirty; the number of rows it took. In
-- READ COMMITTED, beside writers, folds and rebuilds: it takes only rows
-- nobody holds (a fold or a rebuild that took a row keeps it), and moves
-- them in one statement, so every snapshot sees each change once.
CREATE FUNCTION stat_compact(lim integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    taken integer;
BEGIN
    WITH gone AS (
        DELETE FROM stat_dirty
        WHERE seq IN (SELECT seq FROM stat_dirty ORDER BY seq LIMIT lim FOR UPDATE SKIP LOCKED)
        RETURNING *
    ), grouped AS (
        INSERT INTO stat_dirty_sums (occurred_at, created_at, type, verification, border_sector, country, denied,
                                     accusers, accused, accuser_sides, accused_sides, claimants, direction,
                                     cross_border, n, violations, killed, wounded)
        SELECT CASE WHEN occurred_at >= '1973-01-01T00:00:00Z' THEN date_trunc('minute', occurred_at)
                    ELSE occurred_at END,
               CASE WHEN created_at >= '1973-01-01T00:00:00Z' THEN date_trunc('minute', created_at)
                    ELSE created_at END, type, verification, border_sector, country, denied, accusers,
               accused, accuser_sides, accused_sides, claimants, direction, cross_border, sum(sign),
               sum(sign * violations), sum(sign * killed), sum(sign * wounded)
        FROM gone
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14
        HAVING sum(sign) <> 0 OR sum(sign * violations) <> 0 OR sum(sign * killed) <> 0 OR sum(sign * wounded) <> 0
    )
    SELECT count(*) INTO taken FROM gone;
    RETURN taken;
END $$;

-- Moves up to `lim` rows of stat_dirty and up to `lim` compacted groups
-- into the rollups; how many it moved. Rows held by a compaction are left
-- to it.
CREATE OR REPLACE FUNCTION stat_fold_step(lim integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    zones CONSTANT text[] := stat_zone_list();
    folded integer;
    groups integer;
BEGIN
    IF to_regclass('pg_temp.stat_fold_weighted') IS NULL THEN
        CREATE TEMP TABLE stat_fold_weighted (LIKE stat_current, sign bigint, odays date[], rdays date[])
            ON COMMIT DELETE ROWS;
    END IF;
    WITH gone AS (
        DELETE FROM stat_dirty
        WHERE seq IN (SELECT seq FROM stat_dirty WHERE lim IS NULL OR seq < (SELECT min(seq) FROM stat_dirty) + lim
                      FOR UPDATE SKIP LOCKED)
        RETURNING *
    )
    INSERT INTO stat_fold_weighted (incident_id, occurred_at, created_at, type, verification, border_sector,
                                    country, denied, accusers, accused, accuser_sides, accused_sides, claimants,
                                    violations, killed, wounded, direction, cross_border, sign, odays, rdays)
    SELECT g.incident_id, g.occurred_at, g.created_at, g.type, g.verification, g.border_sector, g.country,
           g.denied, g.accusers, g.accused, g.accuser_sides, g.accused_sides, g.claimants,
           g.sign * g.violations, g.sign * g.killed, g.sign * g.wounded, g.direction, g.cross_border, g.sign,
           stat_local_days(g.occurred_at, zones), stat_local_days(g.created_at, zones)
    FROM gone g;
    GET DIAGNOSTICS folded = ROW_COUNT;
    WITH gone AS (
        DELETE FROM stat_dirty_sums
        WHERE id IN (SELECT id FROM stat_dirty_sums ORDER BY id LIMIT lim FOR UPDATE SKIP LOCKED)
        RETURNING *
    )
    INSERT INTO stat_fold_weighted (incident_id, occurred_at, created_at, type, verification, border_sector,
                                    country, denied, accusers, accused, accuser_sides, accused_sides, claimants,
                                    violations, killed, wounded, direction, cross_border, sign, odays, rdays)
    SELECT '00000000-0000-0000-0000-000000000000', g.occurred_at, g.created_at, g.type, g.verification,
           g.border_sector, g.country, g.denied, g.accusers, g.accused, g.accuser_sides, g.accused_sides,
           g.claimants, g.violations, g.killed, g.wounded, g.direction, g.cross_border, g.n,
           stat_local_days(g.occurred_at, zones), stat_local_days(g.created_at, zones)
    FROM gone g;
    GET DIAGNOSTICS groups = ROW_COUNT;
    IF folded + groups = 0 THEN
        RETURN 0;
    END IF;
    ANALYZE stat_fold_weighted;
    PERFORM stat_add('stat_fold_weighted', zones, false);
    RETURN greatest(folded, groups);
END $$;

-- How many rows wait to be folded (changes and compacted groups, of
-- incidents and of claims): 0 when the rollups hold everything.
CREATE FUNCTION stat_waiting() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM stat_dirty) + (SELECT count(*) FROM stat_dirty_sums)
         + (SELECT count(*) FROM stat_claim_dirty)
$$;

-- A fold that finds the lock taken (another fold, a rebuild) gives way at
-- once, answering -1, instead of holding a connection until the other
-- commits.
CREATE OR REPLACE FUNCTION stat_fold(lim integer) RETURNS integer
LANGUAGE plpgsql SET work_mem = '256MB' AS $$
DECLARE
    incidents_folded integer := 0;
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'stat_fold must run in a REPEATABLE READ transaction';
    END IF;
    IF NOT EXISTS (SELECT FROM stat_dirty) AND NOT EXISTS (SELECT FROM stat_dirty_sums)
       AND NOT EXISTS (SELECT FROM stat_claim_dirty) THEN
        RETURN 0;
    END IF;
    BEGIN
        PERFORM FROM stat_fold_lock FOR UPDATE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN -1;
    END;
    UPDATE stat_fold_lock SET folded_at = now();
    IF EXISTS (SELECT FROM stat_dirty) OR EXISTS (SELECT FROM stat_dirty_sums) THEN
        incidents_folded := stat_fold_step(lim);
    END IF;
    RETURN greatest(incidents_folded, stat_claim_fold_step(lim));
END $$;

-- The rollups of every zone in stat_zones built anew from stat_current and
-- stat_claim_current beside the live ones, then swapped in (see the top).
-- Must run in a REPEATABLE READ transaction: one snapshot for the queues
-- and the rows. Returns the number of incidents rolled up.
CREATE FUNCTION stat_rebuild_beside() RETURNS integer
LANGUAGE plpgsql SET work_mem = '256MB' SET maintenance_work_mem = '1GB' SET jit = off AS $$
DECLARE
    zones CONSTANT text[] := stat_zone_list();
    total integer;
    claims integer;
    waited integer := 0;
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'stat_rebuild_beside must run in a REPEATABLE READ transaction';
    END IF;
    UPDATE stat_fold_lock SET folded_at = now();
    DELETE FROM stat_dirty;
    DELETE FROM stat_dirty_sums;
    DELETE FROM stat_claim_dirty;
    DROP TABLE IF EXISTS stat_single_next, stat_claim_next;

    -- Filled without its key, built once at the end.
    CREATE TABLE stat_single_next (LIKE stat_single);
    CREATE TEMP TABLE stat_rebuild_beside_batch ON COMMIT DROP AS
    SELECT 1 AS sign, s.*, stat_local_days(s.occurred_at, zones) AS odays,
           stat_local_days(s.created_at, zones) AS rdays
    FROM stat_current s;
    GET DIAGNOSTICS total = ROW_COUNT;
    RAISE NOTICE 'rolling up % incidents beside the live rollups', total;
    ANALYZE stat_rebuild_beside_batch;
    PERFORM stat_add_into('stat_single_next', 'stat_rebuild_beside_batch', zones, true);
    DROP TABLE stat_rebuild_beside_batch;
    ALTER TABLE stat_single_next
        ADD CONSTRAINT stat_single_next_key UNIQUE NULLS NOT DISTINCT (zone, basis, dim, dim2, grain, day, val, val2);
    ANALYZE stat_single_next;

    CREATE TABLE stat_claim_next (LIKE stat_claim);
    ALTER TABLE stat_claim_next ADD CONSTRAINT stat_claim_next_key
        UNIQUE NULLS NOT DISTINCT (zone, basis, grain, day, claimant, stance, target, direction, type);
    CREATE TEMP TABLE stat_rebuild_beside_claims ON COMMIT DROP AS
    SELECT 1 AS sign, s.* FROM stat_claim_current s;
    GET DIAGNOSTICS claims = ROW_COUNT;
    RAISE NOTICE 'rolling up % claims beside the live rollups', claims;
    ANALYZE stat_rebuild_beside_claims;
    PERFORM stat_claim_add_into('stat_claim_next', 'stat_rebuild_beside_claims', zones);
    DROP TABLE stat_rebuild_beside_claims;
    ANALYZE stat_claim_next;

    -- The swap. A count holding the old tables (a long export of counts)
    -- is not waited for longer than 100 ms at a time: the counts queued
    -- behind this request go on meanwhile, and it asks again.
    LOOP
        BEGIN
            PERFORM set_config('lock_timeout', '100ms', true);
            LOCK TABLE stat_single, stat_claim IN ACCESS EXCLUSIVE MODE;
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            waited := waited + 1;
            RAISE NOTICE 'the live rollups are being read; asking again (attempt %)', waited + 1;
            PERFORM pg_sleep(0.4);
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', '0', true);
    DROP TABLE stat_single, stat_claim;
    ALTER TABLE stat_single_next RENAME TO stat_single;
    ALTER TABLE stat_single RENAME CONSTRAINT stat_single_next_key TO stat_single_key;
    ALTER TABLE stat_claim_next RENAME TO stat_claim;
    ALTER TABLE stat_claim RENAME CONSTRAINT stat_claim_next_key TO stat_claim_key;
    RETURN total;
END $$;

-- The rebuild that stops writers (after a bulk load straight into the
-- tables, or to repair stat_current): it empties stat_dirty while it holds
-- it, so the compacted groups, which stand for changes made before, go too.
CREATE OR REPLACE FUNCTION stat_rebuild() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    total integer;
BEGIN
    total := stat_incident_rebuild();
    TRUNCATE stat_dirty_sums;
    PERFORM stat_claim_rebuild();
    RETURN total;
END $$;
