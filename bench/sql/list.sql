-- GET /v1/incidents?type=small_arms_fire&accuser_side=armenia&limit=50:
-- the parties (for sides), the page, then its sources, external ids,
-- claims and attribution rows.
SELECT slug, parent FROM parties;
WITH page AS (
  SELECT * FROM incidents
   WHERE deleted_at IS NULL AND type = ANY(ARRAY['small_arms_fire'])
     AND id = ANY(SELECT incident_id FROM incident_parties WHERE role = 'accuser'
                  AND party = ANY(ARRAY['armenia','am-armed-forces','am-mfa','am-mod']))
   ORDER BY occurred_at DESC, id DESC LIMIT 51)
SELECT array_agg(id)::text AS ids, max(title) AS t FROM page \gset
SELECT * FROM sources WHERE incident_id = ANY(:ids::uuid[]) ORDER BY incident_id, position;
SELECT * FROM external_ids WHERE incident_id = ANY(:ids::uuid[]) ORDER BY incident_id, system;
SELECT * FROM claims WHERE incident_id = ANY(:ids::uuid[]) ORDER BY incident_id, dated_at, id;
SELECT * FROM incident_parties WHERE incident_id = ANY(:ids::uuid[]) ORDER BY incident_id, role, party;
