-- Incidents per day over 90 days (Asia/Yerevan) of one type, denied, and
-- the total.
SELECT date_trunc('day', occurred_at AT TIME ZONE 'Asia/Yerevan')::date AS period, count(*)
  FROM incidents
 WHERE deleted_at IS NULL AND type = 'small_arms_fire' AND denied
   AND occurred_at >= timestamptz '2026-08-01 00:00 Asia/Yerevan' AND occurred_at < timestamptz '2026-10-30 00:00 Asia/Yerevan'
 GROUP BY 1;
SELECT count(*) FROM incidents
 WHERE deleted_at IS NULL AND type = 'small_arms_fire' AND denied
   AND occurred_at >= timestamptz '2026-08-01 00:00 Asia/Yerevan' AND occurred_at < timestamptz '2026-10-30 00:00 Asia/Yerevan';
