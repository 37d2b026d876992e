-- The functions as the previous migration defined them.
-- Folds up to `lim` rows of stat_dirty; returns how many it folded. Run it
-- in a REPEATABLE READ transaction, so that one snapshot decides what is
-- moved. A concurrent fold makes it fail with a serialization error.
CREATE OR REPLACE FUNCTION stat_fold(lim integer) RETURNS integer
LANGUAGE plpgsql SET work_mem = '256MB' AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'stat_fold must run in a REPEATABLE READ transaction';
    END IF;
    UPDATE stat_fold_lock SET folded_at = now();
    RETURN stat_fold_step(lim);
END $$;

-- Moves up to `lim` rows of stat_dirty (all when null) into the rollups;
-- returns how many it moved. Only through stat_fold or stat_rebuild.
CREATE OR REPLACE FUNCTION stat_fold_step(lim integer) RETURNS integer
LANGUAGE plpgsql SET enable_sort = off AS $$
DECLARE
    folded integer;
BEGIN
    IF to_regclass('pg_temp.stat_fold_delta') IS NULL THEN
        CREATE TEMP TABLE stat_fold_delta (rid bigint NOT NULL, LIKE stat_dirty) ON COMMIT DELETE ROWS;
    END IF;

    IF lim IS NULL THEN
        WITH gone AS (DELETE FROM stat_dirty RETURNING *)
        INSERT INTO stat_fold_delta SELECT row_number() OVER (), * FROM gone;
    ELSE
        WITH gone AS (
            DELETE FROM stat_dirty WHERE seq < (SELECT min(seq) FROM stat_dirty) + lim RETURNING *
        )
        INSERT INTO stat_fold_delta SELECT row_number() OVER (), * FROM gone;
    END IF;
    GET DIAGNOSTICS folded = ROW_COUNT;
    IF folded = 0 THEN
        RETURN 0;
    END IF;

    ANALYZE stat_fold_delta;
    INSERT INTO stat_single AS t
    WITH dv AS (
        SELECT j.rid, j.sign, j.violations, j.killed, j.wounded, v.dim, v.val
        FROM stat_fold_delta j
        CROSS JOIN LATERAL (
            SELECT '' AS dim, NULL::text AS val
            UNION ALL SELECT 'type', j.type
            UNION ALL SELECT 'verification', j.verification
            UNION ALL SELECT 'border_sector', j.border_sector
            UNION ALL SELECT 'country', j.country
            UNION ALL SELECT 'denied', j.denied::text
            UNION ALL SELECT 'accuser', unnest(coalesce(nullif(j.accusers, '{}'), '{NULL}'))
            UNION ALL SELECT 'accused', unnest(coalesce(nullif(j.accused, '{}'), '{NULL}'))
            UNION ALL SELECT 'accuser_side', unnest(coalesce(nullif(j.accuser_sides, '{}'), '{NULL}'))
            UNION ALL SELECT 'accused_side', unnest(coalesce(nullif(j.accused_sides, '{}'), '{NULL}'))
            UNION ALL SELECT 'claimant', unnest(coalesce(nullif(j.claimants, '{}'), '{NULL}'))
        ) v
    ), keys AS (
        SELECT rid, sign, violations, killed, wounded, dim, val, '' AS dim2, NULL::text AS val2
        FROM dv
        UNION ALL
        SELECT a.rid, a.sign, a.violations, a.killed, a.wounded, a.dim, a.val, b.dim, b.val
        FROM dv a JOIN dv b ON a.rid = b.rid AND a.dim < b.dim
        WHERE a.dim IN ('type', 'verification', 'country', 'denied', 'accuser_side', 'accused_side')
          AND b.dim IN ('type', 'verification', 'country', 'denied', 'accuser_side', 'accused_side')
    ), local_days AS (
        -- Each change's local day in each zone, worked out once.
        SELECT j.rid, z.zone, b.basis, b.day
        FROM stat_fold_delta j
        CROSS JOIN stat_zones z
        CROSS JOIN LATERAL (VALUES ('o'::"char", (j.occurred_at AT TIME ZONE z.zone)::date),
                                  ('r'::"char", (j.created_at AT TIME ZONE z.zone)::date)) b(basis, day)
    ), days AS (
        SELECT d.zone, d.basis, k.dim, k.dim2, d.day, k.val, k.val2, sum(k.sign) AS n,
               sum(k.sign * k.violations) AS violations, sum(k.sign * k.killed) AS killed,
               sum(k.sign * k.wounded) AS wounded
        FROM keys k
        JOIN local_days d ON d.rid = k.rid
        WHERE k.dim2 = '' OR d.basis = 'o'
        GROUP BY 1, 2, 3, 4, 5, 6, 7
    )
    SELECT zone, basis, dim, dim2, 'd', day, val, val2, n, violations, killed, wounded FROM days
    UNION ALL
    SELECT zone, basis, dim, dim2, 'm', date_trunc('month', day)::date, val, val2,
           sum(n), sum(violations), sum(killed), sum(wounded)
    FROM days GROUP BY zone, basis, dim, dim2, date_trunc('month', day)::date, val, val2
    ON CONFLICT (zone, basis, dim, dim2, grain, day, val, val2)
    DO UPDATE SET n = t.n + excluded.n, violations = t.violations + excluded.violations,
                  killed = t.killed + excluded.killed, wounded = t.wounded + excluded.wounded;

    RETURN folded;
END $$;

-- Builds the rollups anew from the incidents (after a change of stat_zones,
-- or a bulk load that bypassed the triggers). Writers wait until it commits.
CREATE OR REPLACE FUNCTION stat_rebuild() RETURNS integer
LANGUAGE plpgsql SET work_mem = '1GB' AS $$
DECLARE
    step integer;
    total integer := 0;
BEGIN
    LOCK TABLE incidents IN SHARE MODE;
    UPDATE stat_fold_lock SET folded_at = now();
    TRUNCATE stat_dirty, stat_current, stat_single;
    INSERT INTO stat_current SELECT * FROM stat_contribution;
    INSERT INTO stat_dirty SELECT 1, * FROM stat_current;
    ANALYZE stat_dirty;
    LOOP
        step := stat_fold_step(200000);
        EXIT WHEN step = 0;
        total := total + step;
        RAISE NOTICE 'rolled up % incidents', total;
    END LOOP;
    RETURN total;
END $$;

DROP FUNCTION stat_add(regclass, text[], boolean);
DROP FUNCTION stat_values(text);
DROP FUNCTION stat_local_days(timestamptz, text[]);
DROP FUNCTION stat_zone_list();
ALTER TABLE stat_single RENAME CONSTRAINT stat_single_key TO stat_single_zone_basis_dim_dim2_grain_day_val_val2_key;
