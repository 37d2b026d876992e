DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP FUNCTION sequence_events(integer);
DROP TABLE events;
DROP FUNCTION events_written();
DROP TABLE event_counter;
