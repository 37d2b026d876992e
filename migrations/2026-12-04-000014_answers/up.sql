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

-- Instances (other than `me`) whose lease runs and that have not heard of `g` yet.
CREATE FUNCTION answers_unseen(g bigint, me uuid) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM answer_caches WHERE instance <> me AND seen < g AND expires > clock_timestamp()
$$;

-- After a write has committed: the next generation, announced, and how many
-- instances have yet to hear of it. With no other instance remembering
-- answers there is no one to tell (an instance that starts later computes
-- from a snapshot that has the write): nothing is taken (0, 0). The write
-- itself is already durable; its announcement does not wait for a flush of
-- its own (after a crash the instances start again from the sequence).
CREATE FUNCTION answers_announce(me uuid, OUT g bigint, OUT unseen bigint) LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM answer_caches WHERE instance <> me AND expires > clock_timestamp()) THEN
        g := 0;
        unseen := 0;
        RETURN;
    END IF;
    g := nextval('answers_generation');
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pg_notify('ceasefire_answers', g::text);
    unseen := answers_unseen(g, me);
END $$;

-- The last generation handed out (0 before the first).
CREATE FUNCTION answers_current() RETURNS bigint LANGUAGE sql AS $$
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM answers_generation
$$;
