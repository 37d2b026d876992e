-- The incident ledger: parties, incidents, claims and what is derived from them.

CREATE TABLE parties (
    slug        text PRIMARY KEY CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('state', 'armed_forces', 'government_body', 'monitoring_mission',
                                              'international_org', 'media', 'ngo', 'other')),
    country     text CHECK (country ~ '^[A-Z]{2}$'),
    parent      text REFERENCES parties (slug) CHECK (parent <> slug),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parties_parent ON parties (parent);

-- A party's side is its top-most ancestor.
CREATE FUNCTION party_side(p text) RETURNS text
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(slug, parent, depth) AS (
        SELECT slug, parent, 0 FROM parties WHERE slug = p
        UNION ALL
        SELECT parties.slug, parties.parent, up.depth + 1
        FROM parties JOIN up ON parties.slug = up.parent
        WHERE up.depth < 64
    )
    SELECT slug FROM up WHERE parent IS NULL
$$;

CREATE TABLE incidents (
    id                  uuid PRIMARY KEY,
    version             integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    occurred_at         timestamptz NOT NULL,
    occurred_until      timestamptz,
    time_precision      text NOT NULL DEFAULT 'minute'
                        CHECK (time_precision IN ('minute', 'hour', 'day', 'week', 'month')),
    type                text NOT NULL CHECK (type IN ('small_arms_fire', 'sniper_fire', 'mortar_fire', 'artillery_fire',
                        'rocket_fire', 'drone_strike', 'airspace_violation', 'mine_explosion', 'border_crossing',
                        'detention', 'fortification_works', 'other')),
    location_name       text NOT NULL,
    border_sector       text,
    country             text CHECK (country ~ '^[A-Z]{2}$'),
    lat                 double precision CHECK (lat BETWEEN -90 AND 90),
    lon                 double precision CHECK (lon BETWEEN -180 AND 180),
    location_precision  text CHECK (location_precision IN ('exact', 'settlement', 'district', 'region')),
    killed_military     integer CHECK (killed_military >= 0),
    killed_civilian     integer CHECK (killed_civilian >= 0),
    wounded_military    integer CHECK (wounded_military >= 0),
    wounded_civilian    integer CHECK (wounded_civilian >= 0),
    violations          integer NOT NULL DEFAULT 1 CHECK (violations >= 1),
    title               text NOT NULL,
    description         text NOT NULL DEFAULT '',
    verification        text NOT NULL DEFAULT 'unverified'
                        CHECK (verification IN ('unverified', 'corroborated', 'confirmed', 'disputed', 'retracted')),
    -- Attribution, derived from the standing claims on every claim write.
    denied              boolean NOT NULL DEFAULT false,
    disputed            boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    CHECK (occurred_until IS NULL OR occurred_until >= occurred_at),
    CHECK ((lat IS NULL) = (lon IS NULL))
);
CREATE INDEX incidents_occurred ON incidents (occurred_at DESC, id DESC);
CREATE INDEX incidents_updated ON incidents (updated_at, id);
CREATE INDEX incidents_type ON incidents (type, occurred_at);
CREATE INDEX incidents_sector ON incidents (border_sector, occurred_at);
CREATE INDEX incidents_country ON incidents (country, occurred_at);
CREATE INDEX incidents_verification ON incidents (verification, occurred_at);
CREATE INDEX incidents_denied ON incidents (occurred_at) WHERE denied;
-- Full-text search over title and description; queries use the same expression.
CREATE INDEX incidents_search ON incidents USING gin (to_tsvector('simple', title || ' ' || description));
CREATE INDEX incidents_lonlat ON incidents (lon, lat) WHERE lon IS NOT NULL;

CREATE TABLE sources (
    incident_id   uuid NOT NULL REFERENCES incidents (id),
    position      integer NOT NULL CHECK (position >= 0),
    url           text NOT NULL,
    title         text,
    publisher     text,
    published_at  timestamptz,
    PRIMARY KEY (incident_id, position)
);

CREATE TABLE external_ids (
    incident_id  uuid NOT NULL REFERENCES incidents (id),
    system       text NOT NULL CHECK (system ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    value        text NOT NULL CHECK (length(value) BETWEEN 1 AND 200),
    PRIMARY KEY (incident_id, system)
);
CREATE INDEX external_ids_lookup ON external_ids (system, value);

CREATE TABLE claims (
    id           uuid PRIMARY KEY,
    incident_id  uuid NOT NULL REFERENCES incidents (id),
    claimant     text NOT NULL REFERENCES parties (slug),
    stance       text NOT NULL CHECK (stance IN ('accuses', 'denies', 'confirms', 'acknowledges', 'retracts')),
    target       text REFERENCES parties (slug),
    responds_to  uuid REFERENCES claims (id),
    stated_at    timestamptz NOT NULL,
    quote        text,
    source_url   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (stance <> 'accuses' OR target IS NOT NULL),
    CHECK (stance <> 'retracts' OR responds_to IS NOT NULL),
    CHECK (responds_to IS NULL OR responds_to <> id)
);
CREATE INDEX claims_incident ON claims (incident_id, stated_at);
CREATE INDEX claims_claimant ON claims (claimant, stated_at);
CREATE INDEX claims_target ON claims (target, stated_at) WHERE target IS NOT NULL;
CREATE INDEX claims_stated ON claims (stated_at, id);

-- The rules that span rows: an accusation's target is on another side; a
-- claim answers a claim of the same incident; a retraction answers the
-- claimant's own claim.
CREATE FUNCTION check_claim() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    answered claims%ROWTYPE;
BEGIN
    IF NEW.stance = 'accuses' AND party_side(NEW.claimant) = party_side(NEW.target) THEN
        RAISE EXCEPTION 'a party cannot accuse its own side' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.responds_to IS NOT NULL THEN
        SELECT * INTO answered FROM claims WHERE id = NEW.responds_to;
        IF answered.incident_id <> NEW.incident_id THEN
            RAISE EXCEPTION 'responds_to names a claim of another incident' USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.stance = 'retracts' AND answered.claimant <> NEW.claimant THEN
            RAISE EXCEPTION 'a retraction must answer the claimant''s own claim' USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER claims_check BEFORE INSERT OR UPDATE ON claims FOR EACH ROW EXECUTE FUNCTION check_claim();

-- Attribution roles of each incident, derived from its standing claims, for
-- fast filtering by accuser, accused, claimant and their sides.
CREATE TABLE incident_parties (
    incident_id  uuid NOT NULL REFERENCES incidents (id),
    role         text NOT NULL CHECK (role IN ('accuser', 'accused', 'denier', 'confirmer', 'acknowledger', 'claimant')),
    party        text NOT NULL REFERENCES parties (slug),
    PRIMARY KEY (incident_id, role, party)
);
CREATE INDEX incident_parties_party ON incident_parties (party, role, incident_id);

-- Every change to an incident, kept forever.
CREATE TABLE revisions (
    id           bigserial PRIMARY KEY,
    incident_id  uuid NOT NULL REFERENCES incidents (id),
    version      integer NOT NULL,
    action       text NOT NULL CHECK (action IN ('create', 'update', 'delete', 'claim')),
    actor        text,
    changes      jsonb NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revisions_incident ON revisions (incident_id, id);

-- Saved answers of POST requests, replayed on a retry with the same key.
CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    status        smallint,
    headers       jsonb,
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
