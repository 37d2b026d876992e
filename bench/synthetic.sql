-- A synthetic ledger for benchmarks, loaded in bulk with set-based SQL.
-- psql -v n=1000000 -f bench/synthetic.sql (the reference parties must be seeded).
-- Skewed like the real record: most incidents are small-arms and sniper
-- fire on a few hot sectors; most are accusations by one side's ministry,
-- half of them denied. Three in five incidents have an origin across the
-- border; accusations carry accounts (where the fire came from and landed,
-- violations, casualty figures on three in ten), and the denials of those
-- with figures give their own, which differ on about one incident in
-- thirteen (`divergent`).
\set ON_ERROR_STOP on
SET synchronous_commit = off;
-- Generated rows are valid by construction: skip per-row triggers and
-- foreign-key checks while loading.
SET session_replication_role = replica;
SET maintenance_work_mem = '1GB';

-- Secondary indexes are dropped for the load and each built once at the end
-- (one sort instead of millions of random inserts); the definitions come
-- from the catalog, so this follows the migrations.
CREATE TEMP TABLE saved_indexes AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
FROM pg_index i
WHERE i.indrelid IN ('incidents'::regclass, 'claims'::regclass, 'incident_parties'::regclass, 'revisions'::regclass)
  AND NOT EXISTS (SELECT FROM pg_constraint WHERE conindid = i.indexrelid);
SELECT format('DROP INDEX %s', name) FROM saved_indexes \gexec

CREATE TEMP TABLE gen AS
SELECT
    gen_random_uuid() AS id,
    g AS n,
    timestamptz '2021-01-01' + (random() ^ 0.7) * interval '5 years 10 months' AS occurred_at,
    (ARRAY['small_arms_fire','small_arms_fire','small_arms_fire','sniper_fire','sniper_fire','mortar_fire',
           'artillery_fire','drone_strike','fortification_works','border_crossing','airspace_violation','other'])[1 + floor(random() ^ 1.5 * 12)::int] AS type,
    (ARRAY['gegharkunik','gegharkunik','sotk','tegh','yeraskh','yeraskh','nakhchivan','syunik','tavush','lachin'])[1 + floor(random() * 10)::int] AS sector,
    random() < 0.55 AS armenian_accuses,
    random() AS r1,
    random() AS r2
FROM generate_series(1, :n) g;

INSERT INTO incidents (id, version, occurred_at, time_precision, type, location_name, border_sector, country, lat, lon,
                       location_precision, killed_military, wounded_military, violations, title, description, verification,
                       denied, disputed, created_at, updated_at, origin_name, origin_country, divergent)
SELECT id, 1, occurred_at, 'hour', type, 'Sector ' || sector, sector, CASE WHEN armenian_accuses THEN 'AM' ELSE 'AZ' END,
       39.5 + r1 * 1.8, 44.8 + r2 * 1.8, 'settlement',
       CASE WHEN r1 < 0.05 THEN 1 END, CASE WHEN r2 < 0.1 THEN floor(r2 * 30)::int END,
       1 + floor(random() ^ 3 * 40)::int, 'Synthetic incident ' || n, 'Reported ' || type || ' on the ' || sector || ' sector',
       (ARRAY['unverified','unverified','unverified','corroborated','confirmed'])[1 + floor(r1 * 5)::int],
       r2 < 0.5 AND r1 < 0.85, r2 < 0.5 AND r1 < 0.85, occurred_at + interval '2 hours', occurred_at + interval '2 hours',
       CASE WHEN r2 < 0.6 THEN 'Across the ' || sector || ' line' END,
       CASE WHEN r2 < 0.6 THEN CASE WHEN armenian_accuses THEN 'AZ' ELSE 'AM' END END,
       r1 < 0.30 AND r2 < 0.5 AND (r1 < 0.05 OR r2 >= 0.25)
FROM gen;

-- Accusations (85%), a second accuser on one in five, denials on half.
CREATE TEMP TABLE acc AS
SELECT id AS incident_id, gen_random_uuid() AS claim_id, occurred_at,
       CASE WHEN armenian_accuses THEN 'am-mod' ELSE 'az-mod' END AS claimant,
       CASE WHEN armenian_accuses THEN 'az-armed-forces' ELSE 'am-armed-forces' END AS target,
       CASE WHEN armenian_accuses THEN 'az-mod' ELSE 'am-mod' END AS denier,
       r1, r2
FROM gen WHERE r1 < 0.85;

-- The accusation's account: fire from the accused's country onto the
-- accuser's, figures on three in ten.
INSERT INTO claims (id, incident_id, claimant, stance, target, stated_at, dated_at, created_at, counted,
                    account_type, origin_name, origin_country, impact_name, impact_country,
                    killed_military, wounded_military, violations)
SELECT acc.claim_id, acc.incident_id, acc.claimant, 'accuses', acc.target, acc.occurred_at + interval '1 hour',
       acc.occurred_at + interval '1 hour', acc.occurred_at + interval '2 hours', true, g.type,
       'Positions across the line', CASE WHEN acc.claimant = 'am-mod' THEN 'AZ' ELSE 'AM' END,
       'Our positions', CASE WHEN acc.claimant = 'am-mod' THEN 'AM' ELSE 'AZ' END,
       CASE WHEN acc.r1 < 0.30 THEN (acc.r1 < 0.05)::int END, CASE WHEN acc.r1 < 0.30 THEN floor(acc.r2 * 4)::int END,
       1 + floor(random() ^ 3 * 40)::int
FROM acc JOIN gen g ON g.id = acc.incident_id;
INSERT INTO claims (id, incident_id, claimant, stance, target, stated_at, dated_at, created_at, counted)
SELECT gen_random_uuid(), incident_id, CASE WHEN claimant = 'am-mod' THEN 'am-armed-forces' ELSE 'az-state-border-service' END,
       'accuses', target, occurred_at + interval '90 minutes', occurred_at + interval '90 minutes', occurred_at + interval '2 hours', true
FROM acc WHERE r1 < 0.17;
-- Denials; those of accusations with figures give their own: none.
INSERT INTO claims (id, incident_id, claimant, stance, responds_to, stated_at, dated_at, created_at, counted,
                    killed_military, wounded_military)
SELECT gen_random_uuid(), incident_id, denier, 'denies', claim_id, occurred_at + interval '3 hours', occurred_at + interval '3 hours',
       occurred_at + interval '4 hours', true, CASE WHEN r1 < 0.30 THEN 0 END, CASE WHEN r1 < 0.30 THEN 0 END
FROM acc WHERE r2 < 0.5;

INSERT INTO incident_parties (incident_id, role, party)
SELECT DISTINCT c.incident_id, r.role, r.party
FROM claims c
JOIN gen g ON g.id = c.incident_id
CROSS JOIN LATERAL (VALUES ('claimant', c.claimant),
                           (CASE c.stance WHEN 'accuses' THEN 'accuser' WHEN 'denies' THEN 'denier' END, c.claimant),
                           (CASE WHEN c.stance = 'accuses' THEN 'accused' END, c.target)) AS r(role, party)
WHERE r.role IS NOT NULL AND r.party IS NOT NULL;

INSERT INTO revisions (incident_id, version, action, changes, at)
SELECT id, 1, 'create', '{}'::jsonb, occurred_at + interval '2 hours' FROM gen;

SELECT def FROM saved_indexes \gexec

-- The rollups of the counts, which the triggers skipped above, are built by
-- bench/run (SELECT stat_rebuild()), timed apart.

VACUUM ANALYZE;
