-- Incidents per week by accuser side over one year, Asia/Baku: the plain
-- GROUP BY over the base tables, and the total.
WITH side_map(party, side) AS (
  SELECT slug, coalesce(parent, slug) FROM parties)
SELECT date_trunc('week', i.occurred_at AT TIME ZONE 'Asia/Baku')::date AS period, sm.side, count(DISTINCT i.id)
  FROM incidents i
  JOIN incident_parties ip ON ip.incident_id = i.id AND ip.role = 'accuser'
  JOIN side_map sm ON sm.party = ip.party
 WHERE i.deleted_at IS NULL
   AND i.occurred_at >= timestamptz '2025-11-01 00:00 Asia/Baku' AND i.occurred_at < timestamptz '2026-11-01 00:00 Asia/Baku'
 GROUP BY 1, 2;
SELECT count(*) FROM incidents i
 WHERE i.deleted_at IS NULL
   AND i.occurred_at >= timestamptz '2025-11-01 00:00 Asia/Baku' AND i.occurred_at < timestamptz '2026-11-01 00:00 Asia/Baku';
