-- The generation of the record's answers: every instance takes a number
-- from it after each write it acknowledges (after the commit, before the
-- answer leaves), and reads it before serving a remembered answer, which is
-- served only if nothing was acknowledged since it was computed. A
-- sequence, not a row: no writer waits for another to take its number.
CREATE SEQUENCE answers_generation;
