-- GET /v1/incidents?type=small_arms_fire&accuser_side=armenia&limit=50:
-- the parties (for sides), then the page with its incidents' sources,
-- external ids, claims and attribution rows, in one statement.
SELECT slug, parent FROM parties;
SELECT incidents.*, json_build_array((SELECT coalesce(json_agg(json_build_array(s.position, s.url, s.title, s.publisher, s.published_at) ORDER BY s.position), '[]') FROM sources s WHERE s.incident_id = incidents.id),
                        (SELECT coalesce(json_agg(json_build_array(e.system, e.value) ORDER BY e.system), '[]') FROM external_ids e WHERE e.incident_id = incidents.id),
                        (SELECT coalesce(json_agg(json_build_array(c.id, c.claimant, c.stance, c.target, c.responds_to, c.stated_at, c.quote, c.source_url, c.created_at, c.counted) ORDER BY c.stated_at, c.id), '[]') FROM claims c WHERE c.incident_id = incidents.id),
                        (SELECT coalesce(json_agg(json_build_array(p.role, p.party) ORDER BY p.role, p.party), '[]') FROM incident_parties p WHERE p.incident_id = incidents.id))::text
  FROM incidents
 WHERE deleted_at IS NULL AND type = ANY(ARRAY['small_arms_fire'])
   AND id = ANY(SELECT incident_id FROM incident_parties WHERE role = 'accuser'
                AND party = ANY(ARRAY['armenia','am-armed-forces','am-mfa','am-mod']))
 ORDER BY occurred_at DESC, id DESC LIMIT 51;
