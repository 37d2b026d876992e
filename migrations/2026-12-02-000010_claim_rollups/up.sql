-- Rollups for counts of claims (what each party says), kept like those of
-- the incidents: per local day and month of each zone in stat_zones, by
-- the claim's date (basis 's': stated_at, or the incident's occurred_at
-- when unknown) and by the incident's occurred_at (basis 'o'), one row per
-- claimant, stance, target, direction of the account and incident type.
--
-- Every change to a claim is a change to its incident's row (attribution,
-- version), so the incidents' deferred trigger also compares what the
-- incident's claims add to the counts now (stat_claim_contribution) with
-- what stat_claim_current recorded, and appends the difference to
-- stat_claim_dirty; stat_fold moves it into stat_claim. A count reads the
-- rollups plus the pending changes, so it is exact at any moment.

-- What each counted claim adds: standing, not a retraction, of an incident
-- that is not deleted.
CREATE VIEW stat_claim_contribution AS
SELECT c.id AS claim_id, c.incident_id, c.dated_at, i.occurred_at, c.claimant, c.stance, c.target,
       c.origin_country || '>' || coalesce(c.impact_country, i.country) AS direction, i.type,
       coalesce(c.violations, 0)::bigint AS violations,
       (coalesce(c.killed_military, 0) + coalesce(c.killed_civilian, 0))::bigint AS killed,
       (coalesce(c.wounded_military, 0) + coalesce(c.wounded_civilian, 0))::bigint AS wounded
FROM claims c
JOIN incidents i ON i.id = c.incident_id
WHERE c.counted AND i.deleted_at IS NULL;

-- The contributions as folded into the rollups, one narrow row per claim;
-- counts read it for the parts of days at either end of their range and
-- in zones that are not rolled up.
CREATE TABLE stat_claim_current (
    claim_id     uuid PRIMARY KEY,
    incident_id  uuid NOT NULL,
    dated_at     timestamptz NOT NULL,
    occurred_at  timestamptz NOT NULL,
    claimant     text NOT NULL,
    stance       text NOT NULL,
    target       text,
    direction    text,
    type         text NOT NULL,
    violations   bigint NOT NULL,
    killed       bigint NOT NULL,
    wounded      bigint NOT NULL
);
CREATE INDEX stat_claim_current_incident ON stat_claim_current (incident_id);
CREATE INDEX stat_claim_current_dated ON stat_claim_current (dated_at);
CREATE INDEX stat_claim_current_occurred ON stat_claim_current (occurred_at);

-- Changes not folded yet, in the order they were made.
CREATE TABLE stat_claim_dirty (sign integer NOT NULL, LIKE stat_claim_current, seq bigserial);
CREATE INDEX stat_claim_dirty_seq ON stat_claim_dirty (seq);

-- The rollups. A null target or direction is "none".
CREATE TABLE stat_claim (
    zone        text NOT NULL,
    basis       "char" NOT NULL,
    grain       "char" NOT NULL,
    day         date NOT NULL,
    claimant    text NOT NULL,
    stance      text NOT NULL,
    target      text,
    direction   text,
    type        text NOT NULL,
    n           bigint NOT NULL,
    violations  bigint NOT NULL,
    killed      bigint NOT NULL,
    wounded     bigint NOT NULL,
    CONSTRAINT stat_claim_key UNIQUE NULLS NOT DISTINCT (zone, basis, grain, day, claimant, stance, target, direction, type)
);

-- Adds the changes in table `src` (stat_claim_dirty's columns) to the
-- rollups, in the zones `zones`.
CREATE FUNCTION stat_claim_add(src regclass, zones text[]) RETURNS void
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    EXECUTE format($q$
        INSERT INTO stat_claim AS t
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
        $q$, src)
    USING zones;
END $$;

-- Moves up to `lim` rows of stat_claim_dirty (all when null) into the
-- rollups; returns how many it moved. Only through stat_fold.
CREATE FUNCTION stat_claim_fold_step(lim integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    folded integer;
BEGIN
    IF to_regclass('pg_temp.stat_claim_fold_batch') IS NULL THEN
        CREATE TEMP TABLE stat_claim_fold_batch (LIKE stat_claim_dirty) ON COMMIT DELETE ROWS;
    END IF;
    WITH gone AS (
        DELETE FROM stat_claim_dirty
        WHERE lim IS NULL OR seq < (SELECT min(seq) FROM stat_claim_dirty) + lim
        RETURNING *
    )
    INSERT INTO stat_claim_fold_batch SELECT * FROM gone;
    GET DIAGNOSTICS folded = ROW_COUNT;
    IF folded = 0 THEN
        RETURN 0;
    END IF;
    ANALYZE stat_claim_fold_batch;
    PERFORM stat_claim_add('stat_claim_fold_batch', stat_zone_list());
    RETURN folded;
END $$;

-- Folds both queues; returns the larger number of changes moved.
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

-- Builds the claim rollups anew from the claims.
CREATE FUNCTION stat_claim_rebuild() RETURNS integer
LANGUAGE plpgsql SET work_mem = '256MB' SET jit = off AS $$
DECLARE
    total integer;
BEGIN
    TRUNCATE stat_claim_dirty, stat_claim_current, stat_claim;
    INSERT INTO stat_claim_current SELECT * FROM stat_claim_contribution;
    GET DIAGNOSTICS total = ROW_COUNT;
    ANALYZE stat_claim_current;
    CREATE TEMP TABLE stat_claim_rebuild_batch AS SELECT 1 AS sign, s.*, 0::bigint AS seq FROM stat_claim_current s;
    PERFORM stat_claim_add('stat_claim_rebuild_batch', stat_zone_list());
    DROP TABLE stat_claim_rebuild_batch;
    ANALYZE stat_claim;
    RAISE NOTICE 'rolled up % claims', total;
    RETURN total;
END $$;

-- Every rebuild (after a change of stat_zones, or a bulk load) rebuilds
-- both, in one transaction: writers wait until it commits.
ALTER FUNCTION stat_rebuild() RENAME TO stat_incident_rebuild;
CREATE FUNCTION stat_rebuild() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    total integer;
BEGIN
    total := stat_incident_rebuild();
    PERFORM stat_claim_rebuild();
    RETURN total;
END $$;

-- At the commit of every transaction that wrote an incident: the
-- difference it makes to the counts of incidents, and to those of its
-- claims.
CREATE OR REPLACE FUNCTION stat_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was stat_current;
    now_ stat_current;
BEGIN
    IF EXISTS (SELECT * FROM stat_claim_current WHERE incident_id = NEW.id
               EXCEPT SELECT * FROM stat_claim_contribution WHERE incident_id = NEW.id)
       OR EXISTS (SELECT * FROM stat_claim_contribution WHERE incident_id = NEW.id
                  EXCEPT SELECT * FROM stat_claim_current WHERE incident_id = NEW.id) THEN
        INSERT INTO stat_claim_dirty SELECT -1, c.* FROM stat_claim_current c WHERE c.incident_id = NEW.id;
        DELETE FROM stat_claim_current WHERE incident_id = NEW.id;
        INSERT INTO stat_claim_current SELECT * FROM stat_claim_contribution WHERE incident_id = NEW.id;
        INSERT INTO stat_claim_dirty SELECT 1, c.* FROM stat_claim_current c WHERE c.incident_id = NEW.id;
    END IF;

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

-- The claims already recorded.
SELECT stat_claim_rebuild();
