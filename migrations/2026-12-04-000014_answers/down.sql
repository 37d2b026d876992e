DROP FUNCTION answers_current();
DROP FUNCTION answers_unseen(bigint, uuid);
DROP FUNCTION answers_announce(uuid);
DROP TABLE answer_caches;
DROP SEQUENCE answers_generation;
