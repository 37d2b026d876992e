//! The reference parties of the South Caucasus, loaded by `ceasefire seed`,
//! and the example of July 2025 (`ceasefire seed --example`).

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::json;

use crate::db::schema::external_ids;
use crate::db::DbPool;
use crate::domain::actor::Actor;
use crate::error::ApiError;
use crate::store::parties::{self, NewPartyRow};

/// slug, name, kind, country, parent.
type SeedParty = (&'static str, &'static str, &'static str, Option<&'static str>, Option<&'static str>);

/// Parents before children.
pub const PARTIES: &[SeedParty] = &[
    ("armenia", "Republic of Armenia", "state", Some("AM"), None),
    ("am-mod", "Ministry of Defence of Armenia", "government_body", Some("AM"), Some("armenia")),
    ("am-armed-forces", "Armed Forces of Armenia", "armed_forces", Some("AM"), Some("armenia")),
    ("am-mfa", "Ministry of Foreign Affairs of Armenia", "government_body", Some("AM"), Some("armenia")),
    ("azerbaijan", "Republic of Azerbaijan", "state", Some("AZ"), None),
    ("az-mod", "Ministry of Defence of Azerbaijan", "government_body", Some("AZ"), Some("azerbaijan")),
    ("az-armed-forces", "Armed Forces of Azerbaijan", "armed_forces", Some("AZ"), Some("azerbaijan")),
    ("az-mfa", "Ministry of Foreign Affairs of Azerbaijan", "government_body", Some("AZ"), Some("azerbaijan")),
    ("az-state-border-service", "State Border Service of Azerbaijan", "armed_forces", Some("AZ"), Some("azerbaijan")),
    ("eu", "European Union", "international_org", None, None),
    ("euma", "European Union Mission in Armenia", "monitoring_mission", None, Some("eu")),
    ("russia", "Russian Federation", "state", Some("RU"), None),
    ("turkiye", "Republic of Türkiye", "state", Some("TR"), None),
    ("iran", "Islamic Republic of Iran", "state", Some("IR"), None),
    ("united-states", "United States of America", "state", Some("US"), None),
    ("osce", "Organization for Security and Co-operation in Europe", "international_org", None, None),
];

/// What a seed added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    pub parties: usize,
    pub places: usize,
}

/// Inserts the parties and the places of the gazetteer that are missing;
/// says how many were new.
pub async fn load(pool: &DbPool) -> anyhow::Result<Seeded> {
    crate::api::answers::announced(pool, insert_seed(pool).await).await
}

async fn insert_seed(pool: &DbPool) -> anyhow::Result<Seeded> {
    let mut conn = pool.get().await?;
    let seeded = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let mut added = 0;
            for (slug, name, kind, country, parent) in PARTIES {
                let row = NewPartyRow { slug, name, kind, country: *country, parent: *parent };
                if parties::insert(conn, &row).await? {
                    added += 1;
                }
            }
            let places = crate::ledger::places::insert_missing(conn, &crate::gazetteer::places()).await?;
            Ok(Seeded { parties: added, places })
        })
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.problem().detail))?;
    Ok(seeded)
}

/// July 2025 near Kalbajar: Azerbaijan's MoD says Armenian units fired from
/// near Basarkechar (Vardenis) at its positions in the Kalbajar direction,
/// Armenia's MoD calls it false, the EU mission observed nothing; two
/// nights later both ministries accuse each other and give different
/// figures. Each incident is known by its `ceasefire-example` external id.
pub fn example() -> [serde_json::Value; 2] {
    [
        json!({
            "occurred_at": "2025-07-03T21:40:00+04:00", "time_precision": "minute", "type": "small_arms_fire",
            "location": {"name": "Kalbajar direction", "place": "kalbajar", "country": "AZ", "precision": "district"},
            "title": "Fire reported in the Kalbajar direction",
            "external_ids": {"ceasefire-example": "kalbajar-2025-07-03"},
            "claims": [
                {"claimant": "az-mod", "stance": "accuses", "target": "am-armed-forces",
                 "stated_at": "2025-07-04T09:00:00+04:00",
                 "quote": "Units of the Armenian armed forces fired from positions near Basarkechar at our positions in the Kalbajar direction.",
                 "account": {"occurred_at": "2025-07-03T21:40:00+04:00", "type": "small_arms_fire",
                             "origin": {"name": "Basarkechar (Vardenis)", "country": "AM"},
                             "impact": {"name": "Kalbajar direction", "country": "AZ"}}},
                {"claimant": "am-mod", "stance": "denies", "responds_to_index": 0,
                 "stated_at": "2025-07-04T10:30:00+04:00", "quote": "The report is not true."},
                {"claimant": "euma", "stance": "not_observed", "stated_at": "2025-07-04T16:00:00+04:00",
                 "quote": "Our patrols in the area observed no shooting."}
            ]
        }),
        json!({
            "occurred_at": "2025-07-05T02:10:00+04:00", "type": "mortar_fire",
            "location": {"name": "Kalbajar direction", "place": "kalbajar", "country": "AZ"},
            "origin": {"name": "Basarkechar (Vardenis)", "country": "AM"},
            "title": "Exchange of fire with casualties reported",
            "external_ids": {"ceasefire-example": "kalbajar-2025-07-05"},
            "claims": [
                {"claimant": "az-mod", "stance": "accuses", "target": "am-armed-forces",
                 "stated_at": "2025-07-05T08:00:00+04:00",
                 "account": {"type": "mortar_fire", "origin": {"name": "Basarkechar", "country": "AM"},
                             "casualties": {"killed_military": 1, "wounded_military": 2}}},
                {"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces",
                 "stated_at": "2025-07-05T09:00:00+04:00",
                 "account": {"type": "small_arms_fire", "origin": {"name": "Kalbajar direction", "country": "AZ"},
                             "impact": {"name": "Vardenis", "country": "AM"},
                             "casualties": {"killed_military": 0, "wounded_military": 2}}}
            ]
        }),
    ]
}

/// Loads the example incidents that are not there yet (the parties must
/// be); returns how many were new.
pub async fn load_example(pool: &DbPool) -> anyhow::Result<usize> {
    crate::api::answers::announced(pool, insert_example(pool).await).await
}

async fn insert_example(pool: &DbPool) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    let added = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let h = crate::store::parties::hierarchy(conn).await?;
            let mut added = 0;
            for mut incident in example() {
                let known = incident["external_ids"]["ceasefire-example"].as_str().unwrap_or_default().to_string();
                let there: i64 = external_ids::table
                    .filter(external_ids::system.eq("ceasefire-example"))
                    .filter(external_ids::value.eq(known))
                    .count()
                    .get_result(conn)
                    .await?;
                if there > 0 {
                    continue;
                }
                let mut errors =
                    crate::ledger::places::fill_locations(conn, vec![(String::new(), &mut incident)]).await?;
                let prepared =
                    match crate::ledger::prepare::prepare(incident, "", &h, crate::store::now(), &mut errors)? {
                        Some(p) if errors.is_empty() => p,
                        _ => return Err(ApiError::validation(errors)),
                    };
                crate::ledger::incidents::insert_prepared(conn, &[prepared], &Actor::default(), "create").await?;
                added += 1;
            }
            Ok(added)
        })
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.problem().detail))?;
    Ok(added)
}
