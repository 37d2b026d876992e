DROP TRIGGER incidents_stat ON incidents;
DROP FUNCTION stat_note();
DROP FUNCTION stat_rebuild();
DROP FUNCTION stat_fold(integer);
DROP FUNCTION stat_fold_step(integer);
DROP TABLE stat_fold_lock, stat_single;
DROP VIEW stat_pending;
DROP VIEW stat_contribution;
DROP TABLE stat_dirty, stat_current, stat_zones;
