// @generated automatically by Diesel CLI.

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        name -> Text,
        role -> Text,
        key_hash -> Bytea,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    claims (id) {
        id -> Uuid,
        incident_id -> Uuid,
        claimant -> Text,
        stance -> Text,
        target -> Nullable<Text>,
        responds_to -> Nullable<Uuid>,
        stated_at -> Nullable<Timestamptz>,
        quote -> Nullable<Text>,
        source_url -> Nullable<Text>,
        created_at -> Timestamptz,
        counted -> Bool,
        dated_at -> Timestamptz,
        status -> Text,
        voided_at -> Nullable<Timestamptz>,
        voided_by -> Nullable<Text>,
        void_reason -> Nullable<Text>,
        account_occurred_at -> Nullable<Timestamptz>,
        account_time_precision -> Nullable<Text>,
        account_type -> Nullable<Text>,
        origin_name -> Nullable<Text>,
        origin_country -> Nullable<Text>,
        origin_lat -> Nullable<Float8>,
        origin_lon -> Nullable<Float8>,
        origin_place -> Nullable<Text>,
        impact_name -> Nullable<Text>,
        impact_country -> Nullable<Text>,
        impact_lat -> Nullable<Float8>,
        impact_lon -> Nullable<Float8>,
        impact_place -> Nullable<Text>,
        killed_military -> Nullable<Int4>,
        killed_civilian -> Nullable<Int4>,
        wounded_military -> Nullable<Int4>,
        wounded_civilian -> Nullable<Int4>,
        violations -> Nullable<Int4>,
    }
}

diesel::table! {
    event_counter (singleton) {
        singleton -> Bool,
        last_seq -> Int8,
    }
}

diesel::table! {
    events (id) {
        id -> Int8,
        seq -> Nullable<Int8>,
        #[sql_name = "type"]
        kind -> Text,
        incident_id -> Uuid,
        version -> Int4,
        at -> Timestamptz,
        sequenced_at -> Nullable<Timestamptz>,
        payload -> Json,
    }
}

diesel::table! {
    external_ids (incident_id, system) {
        incident_id -> Uuid,
        system -> Text,
        value -> Text,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_hash -> Bytea,
        status -> Nullable<Int2>,
        headers -> Nullable<Jsonb>,
        body -> Nullable<Bytea>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    incident_parties (incident_id, role, party) {
        incident_id -> Uuid,
        role -> Text,
        party -> Text,
    }
}

diesel::table! {
    incidents (id) {
        id -> Uuid,
        version -> Int4,
        occurred_at -> Timestamptz,
        occurred_until -> Nullable<Timestamptz>,
        time_precision -> Text,
        #[sql_name = "type"]
        type_ -> Text,
        location_name -> Text,
        border_sector -> Nullable<Text>,
        country -> Nullable<Text>,
        lat -> Nullable<Float8>,
        lon -> Nullable<Float8>,
        location_precision -> Nullable<Text>,
        killed_military -> Nullable<Int4>,
        killed_civilian -> Nullable<Int4>,
        wounded_military -> Nullable<Int4>,
        wounded_civilian -> Nullable<Int4>,
        violations -> Int4,
        title -> Text,
        description -> Text,
        verification -> Text,
        denied -> Bool,
        disputed -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        change_seq -> Int8,
        origin_name -> Nullable<Text>,
        origin_country -> Nullable<Text>,
        origin_lat -> Nullable<Float8>,
        origin_lon -> Nullable<Float8>,
        origin_place -> Nullable<Text>,
        divergent -> Bool,
        direction -> Nullable<Text>,
        cross_border -> Bool,
        occurred_offset -> Int4,
        place -> Nullable<Text>,
        admin1 -> Nullable<Text>,
        admin2 -> Nullable<Text>,
    }
}

diesel::table! {
    places (slug) {
        slug -> Text,
        name -> Text,
        alt_names -> Array<Text>,
        country -> Nullable<Text>,
        admin1 -> Nullable<Text>,
        admin2 -> Nullable<Text>,
        lat -> Nullable<Float8>,
        lon -> Nullable<Float8>,
        folded_names -> Array<Nullable<Text>>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    parties (slug) {
        slug -> Text,
        name -> Text,
        kind -> Text,
        country -> Nullable<Text>,
        parent -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    revisions (id) {
        id -> Int8,
        incident_id -> Uuid,
        version -> Int4,
        action -> Text,
        actor -> Nullable<Text>,
        changes -> Jsonb,
        at -> Timestamptz,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Bytea,
    }
}

diesel::table! {
    sources (incident_id, position) {
        incident_id -> Uuid,
        position -> Int4,
        url -> Text,
        title -> Nullable<Text>,
        publisher -> Nullable<Text>,
        published_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        webhook_id -> Uuid,
        message_id -> Text,
        event_type -> Text,
        seq -> Nullable<Int8>,
        attempt -> Int4,
        status_code -> Nullable<Int4>,
        latency_ms -> Int4,
        error -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        url -> Text,
        description -> Nullable<Text>,
        filter -> Text,
        types -> Array<Text>,
        secret -> Text,
        state -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        delivered_seq -> Int8,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        failing_since -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        last_success_at -> Nullable<Timestamptz>,
        disabled_at -> Nullable<Timestamptz>,
        lease_token -> Nullable<Uuid>,
        lease_until -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(claims -> incidents (incident_id));
diesel::joinable!(external_ids -> incidents (incident_id));
diesel::joinable!(incident_parties -> incidents (incident_id));
diesel::joinable!(incident_parties -> parties (party));
diesel::joinable!(revisions -> incidents (incident_id));
diesel::joinable!(sources -> incidents (incident_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    claims,
    event_counter,
    events,
    external_ids,
    idempotency_keys,
    incident_parties,
    incidents,
    parties,
    places,
    revisions,
    server_secrets,
    sources,
    webhook_deliveries,
    webhooks,
);
