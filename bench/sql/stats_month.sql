-- Incidents per month by type over five years (UTC), and the total.
SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS period, type, count(*)
  FROM incidents
 WHERE deleted_at IS NULL AND occurred_at >= '2021-11-01' AND occurred_at < '2026-11-01'
 GROUP BY 1, 2;
SELECT count(*) FROM incidents
 WHERE deleted_at IS NULL AND occurred_at >= '2021-11-01' AND occurred_at < '2026-11-01';
