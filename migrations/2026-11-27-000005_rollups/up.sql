-- Rollups for counts by period: per local day (and month) in each zone of
-- stat_zones, kept in step with the incidents without a hot row.
--
-- When a transaction that wrote an incident commits, a deferred trigger
-- compares what the incident adds to the counts now with what stat_current
-- recorded, and appends the difference to stat_dirty (the old contribution
-- negative, the new one positive; one row per incident, no shared row).
-- stat_fold() moves rows of stat_dirty into the rollups and deletes them,
-- in one transaction. A count reads the rollups plus stat_dirty
-- (stat_pending), so it is exact at any moment.

-- The zones whose local days are rolled up. Counts in other zones read the
-- base tables.
CREATE TABLE stat_zones (zone text PRIMARY KEY);
INSERT INTO stat_zones VALUES ('UTC'), ('Asia/Baku'), ('Asia/Yerevan');

-- What each incident adds to the counts, as folded into the rollups.
CREATE TABLE stat_current (
    incident_id    uuid PRIMARY KEY,
    occurred_at    timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    type           text NOT NULL,
    verification   text NOT NULL,
    border_sector  text,
    country        text,
    denied         boolean NOT NULL,
    accusers       text[] NOT NULL,
    accused        text[] NOT NULL,
    accuser_sides  text[] NOT NULL,
    accused_sides  text[] NOT NULL,
    claimants      text[] NOT NULL,
    violations     bigint NOT NULL,
    killed         bigint NOT NULL,
    wounded        bigint NOT NULL
);
-- Counts the rollups cannot serve (several dimensions, filters) read this
-- narrow copy instead of joining the base tables.
CREATE INDEX stat_current_occurred ON stat_current (occurred_at);
CREATE INDEX stat_current_created ON stat_current (created_at);

-- Changes not folded into the rollups yet, in the order they were made.
CREATE TABLE stat_dirty (sign integer NOT NULL, LIKE stat_current, seq bigserial);
CREATE INDEX stat_dirty_seq ON stat_dirty (seq);

-- What each standing incident adds to the counts now. (No WITH here: the
-- planner must be able to join this view by incident id.)
CREATE VIEW stat_contribution AS
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
       (coalesce(i.wounded_military, 0) + coalesce(i.wounded_civilian, 0))::bigint AS wounded
FROM incidents i
WHERE i.deleted_at IS NULL;

-- The changes not folded yet.
CREATE VIEW stat_pending AS SELECT * FROM stat_dirty;

-- Counts per local day (grain 'd') and local month (grain 'm', `day` is
-- the first of the month) in each zone, one dimension at a time (dim2 '')
-- and, bucketed by occurred_at, two at a time for the dimensions with few
-- values (type, verification, country, denied, accuser_side, accused_side;
-- dim < dim2). dim '' is the total. A null value is "none" (an incident
-- nobody accused counts under accuser null); an incident with two accusers
-- counts under each. basis 'o' buckets by occurred_at, 'r' by created_at.
CREATE TABLE stat_single (
    zone        text NOT NULL,
    basis       "char" NOT NULL,
    dim         text NOT NULL,
    dim2        text NOT NULL,
    grain       "char" NOT NULL,
    day         date NOT NULL,
    val         text,
    val2        text,
    n           bigint NOT NULL,
    violations  bigint NOT NULL,
    killed      bigint NOT NULL,
    wounded     bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (zone, basis, dim, dim2, grain, day, val, val2)
);

-- One folder at a time: each fold first updates this row.
CREATE TABLE stat_fold_lock (id boolean PRIMARY KEY DEFAULT true CHECK (id), folded_at timestamptz);
INSERT INTO stat_fold_lock VALUES (true, NULL);

-- Moves up to `lim` rows of stat_dirty (all when null) into the rollups;
-- returns how many it moved. Only through stat_fold or stat_rebuild.
CREATE FUNCTION stat_fold_step(lim integer) RETURNS integer
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

-- Folds up to `lim` rows of stat_dirty; returns how many it folded. Run it
-- in a REPEATABLE READ transaction, so that one snapshot decides what is
-- moved. A concurrent fold makes it fail with a serialization error.
CREATE FUNCTION stat_fold(lim integer) RETURNS integer
LANGUAGE plpgsql SET work_mem = '256MB' AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'stat_fold must run in a REPEATABLE READ transaction';
    END IF;
    UPDATE stat_fold_lock SET folded_at = now();
    RETURN stat_fold_step(lim);
END $$;

-- Builds the rollups anew from the incidents (after a change of stat_zones,
-- or a bulk load that bypassed the triggers). Writers wait until it commits.
CREATE FUNCTION stat_rebuild() RETURNS integer
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

-- At the commit of every transaction that wrote an incident (its fields,
-- its attribution through the claims, its deletion): the difference it makes
-- to the counts. The incident's row lock orders writers of one incident.
CREATE FUNCTION stat_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was stat_current;
    now_ stat_current;
BEGIN
    SELECT * INTO was FROM stat_current WHERE incident_id = NEW.id;
    SELECT * INTO now_ FROM stat_contribution WHERE incident_id = NEW.id;
    IF was IS NOT DISTINCT FROM now_ THEN
        RETURN NULL;
    END IF;
    IF was.incident_id IS NOT NULL THEN
        INSERT INTO stat_dirty SELECT -1, (was).*;
        DELETE FROM stat_current WHERE incident_id = NEW.id;
    END IF;
    IF now_.incident_id IS NOT NULL THEN
        INSERT INTO stat_dirty SELECT 1, (now_).*;
        INSERT INTO stat_current SELECT (now_).*;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER incidents_stat AFTER INSERT OR UPDATE ON incidents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION stat_note();

-- The incidents already recorded are rolled up by the next migration, with
-- a rebuild that scales.
