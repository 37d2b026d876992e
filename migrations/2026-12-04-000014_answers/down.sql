DROP SEQUENCE answers_generation;
