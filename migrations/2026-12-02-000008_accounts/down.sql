ALTER TABLE revisions DROP CONSTRAINT revisions_action_check;
DELETE FROM revisions WHERE action = 'void';
ALTER TABLE revisions ADD CONSTRAINT revisions_action_check
    CHECK (action IN ('create', 'update', 'delete', 'claim', 'import', 'reattributed'));
ALTER TABLE claims
    DROP COLUMN account_occurred_at, DROP COLUMN account_time_precision, DROP COLUMN account_type,
    DROP COLUMN origin_name, DROP COLUMN origin_country, DROP COLUMN origin_lat, DROP COLUMN origin_lon,
    DROP COLUMN origin_place, DROP COLUMN impact_name, DROP COLUMN impact_country, DROP COLUMN impact_lat,
    DROP COLUMN impact_lon, DROP COLUMN impact_place, DROP COLUMN killed_military, DROP COLUMN killed_civilian,
    DROP COLUMN wounded_military, DROP COLUMN wounded_civilian, DROP COLUMN violations,
    DROP COLUMN status, DROP COLUMN voided_at, DROP COLUMN voided_by, DROP COLUMN void_reason;
DROP INDEX claims_dated;
DROP INDEX claims_counted_dated;
DROP INDEX claims_claimant;
DROP INDEX claims_target;
UPDATE claims SET stated_at = dated_at WHERE stated_at IS NULL;
ALTER TABLE claims ALTER COLUMN stated_at SET NOT NULL, DROP COLUMN dated_at;
CREATE INDEX claims_stated ON claims (stated_at, id);
CREATE INDEX claims_counted_stated ON claims (stated_at) WHERE counted;
CREATE INDEX claims_claimant ON claims (claimant, stated_at);
CREATE INDEX claims_target ON claims (target, stated_at) WHERE target IS NOT NULL;
DELETE FROM incident_parties WHERE role IN ('observer', 'non_observer');
ALTER TABLE incident_parties DROP CONSTRAINT incident_parties_role_check;
ALTER TABLE incident_parties ADD CONSTRAINT incident_parties_role_check
    CHECK (role IN ('accuser', 'accused', 'denier', 'confirmer', 'acknowledger', 'claimant'));
UPDATE claims SET stance = 'confirms' WHERE stance = 'observes';
UPDATE claims SET stance = 'denies', responds_to = NULL WHERE stance = 'not_observed';
ALTER TABLE claims DROP CONSTRAINT claims_stance_check;
ALTER TABLE claims ADD CONSTRAINT claims_stance_check
    CHECK (stance IN ('accuses', 'denies', 'confirms', 'acknowledges', 'retracts'));
ALTER TABLE incidents
    DROP COLUMN direction, DROP COLUMN cross_border, DROP COLUMN divergent, DROP COLUMN origin_name,
    DROP COLUMN origin_country, DROP COLUMN origin_lat, DROP COLUMN origin_lon, DROP COLUMN origin_place;
DROP TRIGGER claims_check ON claims;
CREATE TRIGGER claims_check BEFORE INSERT OR UPDATE ON claims FOR EACH ROW EXECUTE FUNCTION check_claim();
