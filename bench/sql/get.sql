-- GET /v1/incidents/{id}: the incident, its sources, external ids, claims
-- and attribution rows (the id drawn from bench_ids, as wrk draws it).
\set r random(1, :nids)
SELECT id AS iid FROM bench_ids WHERE n = :r \gset
SELECT * FROM incidents WHERE id = :iid::uuid;
SELECT incident_id, position, url, title, publisher, published_at FROM sources WHERE incident_id = ANY(ARRAY[:iid::uuid]) ORDER BY incident_id, position;
SELECT incident_id, system, value FROM external_ids WHERE incident_id = ANY(ARRAY[:iid::uuid]) ORDER BY incident_id, system;
SELECT * FROM claims WHERE incident_id = ANY(ARRAY[:iid::uuid]) ORDER BY incident_id, stated_at, id;
SELECT incident_id, role, party FROM incident_parties WHERE incident_id = ANY(ARRAY[:iid::uuid]) ORDER BY incident_id, role, party;
