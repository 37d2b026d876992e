-- The minimal durable insert of what POST /v1/incidents stores for one
-- incident with one claim: the same two rows, in one transaction, into
-- tables with a primary key and nothing else (bench/run creates them).
BEGIN;
INSERT INTO bench_min_incidents (id, occurred_at, type, location_name, country, title)
VALUES (gen_random_uuid(), now() - interval '1 day', 'small_arms_fire', 'Sotk', 'AM', 'Fire reported')
RETURNING id AS iid \gset
INSERT INTO bench_min_claims (id, incident_id, claimant, stance, target, stated_at)
VALUES (gen_random_uuid(), :iid::uuid, 'am-mod', 'accuses', 'az-armed-forces', now());
COMMIT;
