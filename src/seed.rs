//! The reference parties of the South Caucasus, loaded by `ceasefire seed`.

use diesel_async::AsyncConnection;

use crate::db::DbPool;
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

/// Inserts the parties that are missing; returns how many were new.
pub async fn load(pool: &DbPool) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    let added = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let mut added = 0;
            for (slug, name, kind, country, parent) in PARTIES {
                let row = NewPartyRow { slug, name, kind, country: *country, parent: *parent };
                if parties::insert(conn, &row).await? {
                    added += 1;
                }
            }
            Ok(added)
        })
        .await?;
    Ok(added)
}
