-- What POST /v1/incidents does in PostgreSQL for one incident with one
-- claim and an Idempotency-Key, statement for statement: the key's lookup,
-- the transaction (with the change's event, the incident as GET shows it),
-- and the announcement to other instances' caches after the commit.
SELECT id, name, role, key_hash, created_at, last_used_at, revoked_at FROM api_keys WHERE key_hash = sha256('bench'::bytea);
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
INSERT INTO events (type, incident_id, version, payload) VALUES ('incident.created', :iid::uuid, 1, '{"seq": null, "type": "incident.created", "at": "2026-12-03T10.00.00Z", "incident": {"id": "00000000-0000-0000-0000-000000000000", "version": 1, "occurred_at": "2026-10-01T10.00.00+0000", "time_precision": "minute", "type": "small_arms_fire", "location": {"name": "Sotk", "border_sector": "sotk", "country": "AM", "lat": 40.2, "lon": 45.9, "admin1": null, "admin2": null}, "title": "Fire reported", "description": "", "violations": 1, "casualties": {}, "verification": "unverified", "denied": false, "disputed": false, "accusers": ["am-mod"], "accused": ["az-armed-forces"], "accuser_sides": ["armenia"], "accused_sides": ["azerbaijan"], "claims": [{"id": "00000000-0000-0000-0000-000000000001", "claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces", "stated_at": "2026-10-01T12.00.00Z", "created_at": "2026-12-03T10.00.00Z", "counted": true}], "sources": [], "external_ids": {}, "created_at": "2026-12-03T10.00.00Z", "updated_at": "2026-12-03T10.00.00Z"}}');
UPDATE idempotency_keys SET status = 201, headers = '{}', body = '\x00' WHERE scope = 'bench' AND key = :iid::text;
COMMIT;
SELECT g, unseen FROM answers_announce('00000000-0000-0000-0000-000000000001');
