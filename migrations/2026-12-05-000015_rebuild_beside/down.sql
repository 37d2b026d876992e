-- stat_add / stat_claim_add keep calling their `_into` forms, which stay
-- (weighted: the fold below multiplies each change's measures by its sign).
DROP FUNCTION stat_rebuild_beside();
DROP FUNCTION stat_waiting();
DROP FUNCTION stat_compact(integer);
DROP VIEW stat_pending;
CREATE VIEW stat_pending AS SELECT * FROM stat_dirty;
-- The compacted groups are changes too: the rollups are built again below.
DROP TABLE stat_dirty_sums;
DROP TABLE IF EXISTS stat_single_next, stat_claim_next;
CREATE OR REPLACE FUNCTION stat_fold(lim integer) RETURNS integer
LANGUAGE plpgsql SET work_mem = '256MB' AS $$
DECLARE
    incidents_folded integer := 0;
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'stat_fold must run in a REPEATABLE READ transaction';
    END IF;
    IF NOT EXISTS (SELECT FROM stat_dirty) AND NOT EXISTS (SELECT FROM stat_claim_dirty) THEN
        RETURN 0;
    END IF;
    UPDATE stat_fold_lock SET folded_at = now();
    IF EXISTS (SELECT FROM stat_dirty) THEN
        incidents_folded := stat_fold_step(lim);
    END IF;
    RETURN greatest(incidents_folded, stat_claim_fold_step(lim));
END $$;

CREATE OR REPLACE FUNCTION stat_fold_step(lim integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    zones CONSTANT text[] := stat_zone_list();
    folded integer;
BEGIN
    IF to_regclass('pg_temp.stat_fold_weighted') IS NULL THEN
        CREATE TEMP TABLE stat_fold_weighted (LIKE stat_current, sign bigint, odays date[], rdays date[])
            ON COMMIT DELETE ROWS;
    END IF;
    WITH gone AS (
        DELETE FROM stat_dirty
        WHERE lim IS NULL OR seq < (SELECT min(seq) FROM stat_dirty) + lim
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
    IF folded = 0 THEN
        RETURN 0;
    END IF;
    ANALYZE stat_fold_weighted;
    PERFORM stat_add('stat_fold_weighted', zones, false);
    RETURN folded;
END $$;

CREATE OR REPLACE FUNCTION stat_rebuild() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    total integer;
BEGIN
    total := stat_incident_rebuild();
    PERFORM stat_claim_rebuild();
    RETURN total;
END $$;

-- Without the compacted groups: the rollups again from the incidents.
SELECT stat_rebuild();
