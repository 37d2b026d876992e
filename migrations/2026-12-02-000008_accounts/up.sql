-- Each party's own account of an incident, the incident's direction, the
-- observers' stances, and the status of every claim.

-- Where the fire or the act came from, beside where it happened or landed
-- (location). Direction and cross_border are derived from the two
-- countries; divergent from the standing claims' accounts (on every claim
-- write, like denied).
ALTER TABLE incidents
    ADD COLUMN origin_name     text CHECK (length(origin_name) BETWEEN 1 AND 200),
    ADD COLUMN origin_country  text CHECK (origin_country ~ '^[A-Z]{2}$'),
    ADD COLUMN origin_lat      double precision CHECK (origin_lat BETWEEN -90 AND 90),
    ADD COLUMN origin_lon      double precision CHECK (origin_lon BETWEEN -180 AND 180),
    ADD COLUMN origin_place    text CHECK (origin_place ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    ADD COLUMN divergent       boolean NOT NULL DEFAULT false,
    ADD COLUMN direction       text GENERATED ALWAYS AS (origin_country || '>' || country) STORED,
    ADD COLUMN cross_border    boolean GENERATED ALWAYS AS (coalesce(origin_country <> country, false)) STORED,
    ADD CONSTRAINT incidents_origin_lat_lon CHECK ((origin_lat IS NULL) = (origin_lon IS NULL));
CREATE INDEX incidents_direction ON incidents (direction, occurred_at) WHERE direction IS NOT NULL;
CREATE INDEX incidents_origin_country ON incidents (origin_country, occurred_at) WHERE origin_country IS NOT NULL;
CREATE INDEX incidents_cross_border ON incidents (occurred_at) WHERE cross_border;
CREATE INDEX incidents_divergent ON incidents (occurred_at) WHERE divergent;

-- The rules that span rows (check_claim) concern who says what to whom:
-- checked when those columns are written, not when the derived ones are
-- (a re-parented party may since share a side with an old accusation's
-- target, and that must not block deriving its status or voiding it).
DROP TRIGGER claims_check ON claims;
CREATE TRIGGER claims_check BEFORE INSERT OR UPDATE OF incident_id, claimant, stance, target, responds_to ON claims
    FOR EACH ROW EXECUTE FUNCTION check_claim();

-- Observers' stances.
ALTER TABLE claims DROP CONSTRAINT claims_stance_check;
ALTER TABLE claims ADD CONSTRAINT claims_stance_check
    CHECK (stance IN ('accuses', 'denies', 'confirms', 'acknowledges', 'retracts', 'observes', 'not_observed'));
ALTER TABLE incident_parties DROP CONSTRAINT incident_parties_role_check;
ALTER TABLE incident_parties ADD CONSTRAINT incident_parties_role_check
    CHECK (role IN ('accuser', 'accused', 'denier', 'confirmer', 'acknowledger', 'claimant', 'observer', 'non_observer'));

-- A statement's date may be unknown. dated_at is what claims are listed
-- and counted by: stated_at when known, else the incident's occurred_at
-- (kept in step when an incident's occurred_at changes).
ALTER TABLE claims ALTER COLUMN stated_at DROP NOT NULL;
ALTER TABLE claims ADD COLUMN dated_at timestamptz;
UPDATE claims SET dated_at = stated_at;
ALTER TABLE claims ALTER COLUMN dated_at SET NOT NULL;
DROP INDEX claims_stated;
DROP INDEX claims_counted_stated;
DROP INDEX claims_claimant;
DROP INDEX claims_target;
CREATE INDEX claims_dated ON claims (dated_at, id);
CREATE INDEX claims_counted_dated ON claims (dated_at) WHERE counted;
CREATE INDEX claims_claimant ON claims (claimant, dated_at);
CREATE INDEX claims_target ON claims (target, dated_at) WHERE target IS NOT NULL;

-- Status: standing, retracted (a standing retraction by its claimant
-- answers it) or voided (an editor marked it mis-entered, with a reason).
ALTER TABLE claims
    ADD COLUMN status       text NOT NULL DEFAULT 'standing' CHECK (status IN ('standing', 'retracted', 'voided')),
    ADD COLUMN voided_at    timestamptz,
    ADD COLUMN voided_by    text,
    ADD COLUMN void_reason  text CHECK (length(void_reason) BETWEEN 1 AND 2000),
    ADD CONSTRAINT claims_void CHECK ((status = 'voided') = (voided_at IS NOT NULL AND void_reason IS NOT NULL));
-- Claims that did not count and are not retractions were retracted.
UPDATE claims SET status = 'retracted' WHERE NOT counted AND stance <> 'retracts';
-- A retraction answered by a standing retraction of its claimant.
UPDATE claims r SET status = 'retracted'
WHERE r.stance = 'retracts' AND EXISTS (
    SELECT FROM claims a WHERE a.responds_to = r.id AND a.stance = 'retracts' AND a.claimant = r.claimant
      AND a.status = 'standing');

-- The claimant's account: every field optional.
ALTER TABLE claims
    ADD COLUMN account_occurred_at     timestamptz,
    ADD COLUMN account_time_precision  text CHECK (account_time_precision IN ('minute', 'hour', 'day', 'week', 'month')),
    ADD COLUMN account_type            text CHECK (account_type IN ('small_arms_fire', 'sniper_fire', 'mortar_fire',
                                       'artillery_fire', 'rocket_fire', 'drone_strike', 'airspace_violation',
                                       'mine_explosion', 'border_crossing', 'detention', 'fortification_works', 'other')),
    ADD COLUMN origin_name             text CHECK (length(origin_name) BETWEEN 1 AND 200),
    ADD COLUMN origin_country          text CHECK (origin_country ~ '^[A-Z]{2}$'),
    ADD COLUMN origin_lat              double precision CHECK (origin_lat BETWEEN -90 AND 90),
    ADD COLUMN origin_lon              double precision CHECK (origin_lon BETWEEN -180 AND 180),
    ADD COLUMN origin_place            text CHECK (origin_place ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    ADD COLUMN impact_name             text CHECK (length(impact_name) BETWEEN 1 AND 200),
    ADD COLUMN impact_country          text CHECK (impact_country ~ '^[A-Z]{2}$'),
    ADD COLUMN impact_lat              double precision CHECK (impact_lat BETWEEN -90 AND 90),
    ADD COLUMN impact_lon              double precision CHECK (impact_lon BETWEEN -180 AND 180),
    ADD COLUMN impact_place            text CHECK (impact_place ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    ADD COLUMN killed_military         integer CHECK (killed_military >= 0),
    ADD COLUMN killed_civilian         integer CHECK (killed_civilian >= 0),
    ADD COLUMN wounded_military        integer CHECK (wounded_military >= 0),
    ADD COLUMN wounded_civilian        integer CHECK (wounded_civilian >= 0),
    ADD COLUMN violations              integer CHECK (violations >= 0),
    ADD CONSTRAINT claims_origin_lat_lon CHECK ((origin_lat IS NULL) = (origin_lon IS NULL)),
    ADD CONSTRAINT claims_impact_lat_lon CHECK ((impact_lat IS NULL) = (impact_lon IS NULL));

-- Voiding a claim is a change of its incident.
ALTER TABLE revisions DROP CONSTRAINT revisions_action_check;
ALTER TABLE revisions ADD CONSTRAINT revisions_action_check
    CHECK (action IN ('create', 'update', 'delete', 'claim', 'import', 'reattributed', 'void'));
