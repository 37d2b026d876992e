-- stat_add / stat_claim_add keep calling their `_into` forms, which stay.
DROP FUNCTION stat_rebuild_beside();
DROP TABLE IF EXISTS stat_single_next, stat_claim_next;
CREATE OR REPLACE FUNCTION stat_fold(lim integer) RETURNS integer
LANGUAGE plpgsql SET work_mem = '256MB' AS $$
DECLARE
    incidents_folded integer := 0;
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'stat_fold must run in a REPEATABLE READ transaction';
    END IF;
    IF NOT EXISTS (SELECT FROM stat_dirty) AND NOT EXISTS (SELECT FROM stat_claim_dirty) THEN
        RETURN 0;
    END IF;
    UPDATE stat_fold_lock SET folded_at = now();
    IF EXISTS (SELECT FROM stat_dirty) THEN
        incidents_folded := stat_fold_step(lim);
    END IF;
    RETURN greatest(incidents_folded, stat_claim_fold_step(lim));
END $$;
