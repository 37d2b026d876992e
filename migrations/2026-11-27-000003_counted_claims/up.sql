-- Whether a claim counts: it stands (no standing retraction by its claimant
-- answers it) and is not itself a retraction. Derived with the incident's
-- attribution on every claim write; the claim counts read it.
ALTER TABLE claims ADD COLUMN counted boolean NOT NULL DEFAULT true;
UPDATE claims SET counted = false WHERE stance = 'retracts';
CREATE INDEX claims_counted_stated ON claims (stated_at) WHERE counted;
