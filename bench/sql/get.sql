-- GET /v1/incidents/{id}: the incident with its sources, external ids,
-- claims and attribution rows, in one statement (the id drawn from
-- bench_ids, as wrk draws it).
\set r random(1, :nids)
SELECT id AS iid FROM bench_ids WHERE n = :r \gset
SELECT incidents.*, json_build_array((SELECT coalesce(json_agg(json_build_array(s.position, s.url, s.title, s.publisher, s.published_at) ORDER BY s.position), '[]') FROM sources s WHERE s.incident_id = incidents.id),
                        (SELECT coalesce(json_agg(json_build_array(e.system, e.value) ORDER BY e.system), '[]') FROM external_ids e WHERE e.incident_id = incidents.id),
                        (SELECT coalesce(json_agg(c ORDER BY c.dated_at, c.id), '[]') FROM claims c WHERE c.incident_id = incidents.id),
                        (SELECT coalesce(json_agg(json_build_array(p.role, p.party) ORDER BY p.role, p.party), '[]') FROM incident_parties p WHERE p.incident_id = incidents.id))::text
  FROM incidents WHERE id = :iid::uuid LIMIT 1;
