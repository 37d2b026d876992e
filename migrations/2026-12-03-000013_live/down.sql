DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP FUNCTION sequence_events(integer, boolean);
DROP TABLE events;
DROP FUNCTION events_written();
DROP FUNCTION events_gate();
DROP TABLE event_counter;
