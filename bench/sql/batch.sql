-- 1000 incidents, each with one claim, its attribution rows and revision,
-- inserted by multi-row INSERTs in one transaction.
BEGIN;
CREATE TEMP TABLE IF NOT EXISTS b (id uuid) ON COMMIT DELETE ROWS;
INSERT INTO b SELECT gen_random_uuid() FROM generate_series(1, 1000);
INSERT INTO incidents (id, version, occurred_at, time_precision, type, location_name, border_sector, country, lat, lon,
                       violations, title, description, verification, denied, disputed)
SELECT id, 1, now() - interval '1 day', 'minute', 'small_arms_fire', 'Sotk', 'sotk', 'AM', 40.2, 45.9,
       1, 'Fire reported', '', 'unverified', false, false FROM b;
INSERT INTO claims (id, incident_id, claimant, stance, target, stated_at, dated_at, created_at, counted)
SELECT gen_random_uuid(), id, 'am-mod', 'accuses', 'az-armed-forces', now(), now(), now(), true FROM b;
INSERT INTO incident_parties (incident_id, role, party)
SELECT id, r, p FROM b, (VALUES ('accuser', 'am-mod'), ('accused', 'az-armed-forces'), ('claimant', 'am-mod')) v(r, p);
INSERT INTO revisions (incident_id, version, action, actor, changes) SELECT id, 1, 'create', 'bench', '{}' FROM b;
COMMIT;
