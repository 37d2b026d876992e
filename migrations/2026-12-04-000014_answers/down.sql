DROP FUNCTION answers_current();
DROP FUNCTION answers_unseen(bigint, uuid);
DROP FUNCTION answers_bump();
DROP TABLE answer_caches;
DROP SEQUENCE answers_generation;
