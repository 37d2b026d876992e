-- What each party says: killed per month by claimant over five years
-- (UTC), summed over the standing claims' accounts, and the total.
SELECT date_trunc('month', c.dated_at AT TIME ZONE 'UTC')::date AS period, c.claimant,
       sum(coalesce(c.killed_military, 0) + coalesce(c.killed_civilian, 0))
  FROM claims c JOIN incidents i ON i.id = c.incident_id
 WHERE c.counted AND i.deleted_at IS NULL AND c.dated_at >= '2021-11-01' AND c.dated_at < '2026-11-01'
 GROUP BY 1, 2;
SELECT sum(coalesce(c.killed_military, 0) + coalesce(c.killed_civilian, 0))
  FROM claims c JOIN incidents i ON i.id = c.incident_id
 WHERE c.counted AND i.deleted_at IS NULL AND c.dated_at >= '2021-11-01' AND c.dated_at < '2026-11-01';
