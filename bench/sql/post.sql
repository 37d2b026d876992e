-- The transaction POST /v1/incidents makes for one incident with one claim
-- and an Idempotency-Key, statement for statement.
BEGIN;
INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ('bench', gen_random_uuid()::text, '\x00') ON CONFLICT DO NOTHING;
SELECT slug, parent FROM parties;
INSERT INTO incidents (id, version, occurred_at, time_precision, type, location_name, border_sector, country, lat, lon,
                       violations, title, description, verification, denied, disputed)
VALUES (gen_random_uuid(), 1, now() - interval '1 day', 'minute', 'small_arms_fire', 'Sotk', 'sotk', 'AM', 40.2, 45.9,
        1, 'Fire reported', '', 'unverified', false, false)
RETURNING id AS iid \gset
INSERT INTO claims (id, incident_id, claimant, stance, target, stated_at, dated_at, created_at, counted)
VALUES (gen_random_uuid(), :iid::uuid, 'am-mod', 'accuses', 'az-armed-forces', now(), now(), now(), true);
INSERT INTO incident_parties (incident_id, role, party)
VALUES (:iid::uuid, 'accuser', 'am-mod'), (:iid::uuid, 'accused', 'az-armed-forces'), (:iid::uuid, 'claimant', 'am-mod');
INSERT INTO revisions (incident_id, version, action, actor, changes) VALUES (:iid::uuid, 1, 'create', 'bench', '{}');
UPDATE idempotency_keys SET status = 201, headers = '{}', body = '\x00' WHERE scope = 'bench' AND key = :iid::text;
COMMIT;
