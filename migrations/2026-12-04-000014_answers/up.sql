-- Remembered answers (src/api/answers.rs). The generation of the record:
-- after each write it acknowledges (after the commit, before the answer
-- leaves), an instance takes the next number and announces it on
-- `ceasefire_answers`. A sequence, not a row: no writer waits for another.
CREATE SEQUENCE answers_generation;

-- Every instance that remembers answers: the last generation it has heard
-- of (and voided what it remembered before), and until when it may answer
-- from memory without hearing from PostgreSQL again. A writer answers only
-- once every instance whose lease runs has heard of its generation. Unlogged:
-- after a crash the instances write their rows again within their lease.
CREATE UNLOGGED TABLE answer_caches (
    instance uuid PRIMARY KEY,
    seen bigint NOT NULL,
    expires timestamptz NOT NULL
);

-- After a write: the next generation, announced.
CREATE FUNCTION answers_bump() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    g bigint := nextval('answers_generation');
BEGIN
    PERFORM pg_notify('ceasefire_answers', g::text);
    RETURN g;
END $$;

-- Instances (other than `me`) whose lease runs and that have not heard of `g` yet.
CREATE FUNCTION answers_unseen(g bigint, me uuid) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM answer_caches WHERE instance <> me AND seen < g AND expires > clock_timestamp()
$$;

-- The last generation handed out (0 before the first).
CREATE FUNCTION answers_current() RETURNS bigint LANGUAGE sql AS $$
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM answers_generation
$$;
