CREATE OR REPLACE FUNCTION stat_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was stat_current;
    now_ stat_current;
BEGIN
    SELECT * INTO was FROM stat_current WHERE incident_id = NEW.id;
    SELECT * INTO now_ FROM stat_contribution WHERE incident_id = NEW.id;
    IF was IS NOT DISTINCT FROM now_ THEN
        RETURN NULL;
    END IF;
    IF was.incident_id IS NOT NULL THEN
        INSERT INTO stat_dirty SELECT -1, (was).*;
        DELETE FROM stat_current WHERE incident_id = NEW.id;
    END IF;
    IF now_.incident_id IS NOT NULL THEN
        INSERT INTO stat_dirty SELECT 1, (now_).*;
        INSERT INTO stat_current SELECT (now_).*;
    END IF;
    RETURN NULL;
END $$;
DROP FUNCTION stat_rebuild();
ALTER FUNCTION stat_incident_rebuild() RENAME TO stat_rebuild;
CREATE OR REPLACE FUNCTION stat_fold(lim integer) RETURNS integer
LANGUAGE plpgsql SET work_mem = '256MB' AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'stat_fold must run in a REPEATABLE READ transaction';
    END IF;
    IF NOT EXISTS (SELECT FROM stat_dirty) THEN
        RETURN 0;
    END IF;
    UPDATE stat_fold_lock SET folded_at = now();
    RETURN stat_fold_step(lim);
END $$;
DROP FUNCTION stat_claim_rebuild();
DROP FUNCTION stat_claim_fold_step(integer);
DROP FUNCTION stat_claim_add(regclass, text[]);
DROP TABLE stat_claim, stat_claim_dirty, stat_claim_current;
DROP VIEW stat_claim_contribution;
