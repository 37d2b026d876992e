//! Parties: created, and changed; moving one in the hierarchy re-derives
//! the attribution of every incident it took part in.

use chrono::Utc;
use diesel_async::AsyncConnection;

use super::idempotency::{Idempotency, Outcome, Written};
use super::rows::{facts, stored};
use crate::domain::actor::Actor;
use crate::domain::attribution::Attribution;
use crate::domain::hierarchy::Hierarchy;
use crate::domain::party::{NewParty, PartyPatch, PartyView};
use crate::domain::{PartyKind, PartySlug};
use crate::error::{ApiError, ApiResult};
use crate::store::parties::{self, NewPartyRow, PartyChanges, PartyRow};
use crate::store::revisions::{self, NewRevision};
use crate::store::{claims, incidents, Conn};

pub fn no_party(slug: &str) -> ApiError {
    ApiError::not_found(format!("no party `{}`", slug.chars().take(80).collect::<String>()))
}

/// A party as the API shows it, its side from the hierarchy.
pub fn view(row: PartyRow, h: &Hierarchy) -> ApiResult<PartyView> {
    Ok(PartyView {
        side: h.side_of(&row.slug).unwrap_or(&row.slug).to_string(),
        kind: stored(PartyKind::parse, &row.kind, "parties.kind")?,
        slug: row.slug,
        name: row.name,
        country: row.country,
        parent: row.parent,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Every party, by slug.
pub async fn list(conn: &mut Conn) -> ApiResult<Vec<PartyView>> {
    let rows = parties::list(conn).await?;
    let h = parties::hierarchy(conn).await?;
    rows.into_iter().map(|r| view(r, &h)).collect()
}

/// One party.
pub async fn get(conn: &mut Conn, slug: &PartySlug) -> ApiResult<PartyView> {
    let row = parties::get(conn, slug.as_str()).await?.ok_or_else(|| no_party(slug.as_str()))?;
    let h = parties::hierarchy(conn).await?;
    view(row, &h)
}

/// Creates a party (checked already), with its idempotency key.
pub async fn create(conn: &mut Conn, idem: &Idempotency, new: &NewParty) -> ApiResult<Outcome> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        if let Some(replay) = idem.begin(conn).await? {
            return Ok(replay);
        }
        if let Some(parent) = &new.parent {
            if parties::get(conn, parent.as_str()).await?.is_none() {
                return Err(ApiError::field("/parent", format!("no party `{parent}`")));
            }
        }
        let row = NewPartyRow {
            slug: new.slug.as_str(),
            name: new.name.as_str().trim(),
            kind: new.kind.as_str(),
            country: new.country.as_ref().map(|c| c.as_str()),
            parent: new.parent.as_ref().map(|p| p.as_str()),
        };
        if !parties::insert(conn, &row).await? {
            return Err(ApiError::conflict(format!("a party `{}` exists already", new.slug)));
        }
        let stored = parties::get(conn, new.slug.as_str())
            .await?
            .ok_or_else(|| ApiError::internal("inserted party vanished"))?;
        let h = crate::store::parties::hierarchy(conn).await?;
        let body = serde_json::to_value(view(stored, &h)?).map_err(ApiError::internal)?;
        idem.finish(conn, Written::created(format!("/v1/parties/{}", new.slug), None, &body)?).await
    })
    .await
}

/// Applies a merge patch to the party `slug`. Re-parenting refuses cycles
/// and re-derives the attribution of every incident the moved parties took
/// part in, since sides decide what a denial answers.
pub async fn patch(conn: &mut Conn, slug: &PartySlug, patch: PartyPatch, actor: &Actor) -> ApiResult<PartyView> {
    let slug = slug.as_str().to_string();
    conn.transaction::<_, ApiError, _>(async |conn| {
        parties::lock_hierarchy(conn).await?;
        if parties::get(conn, &slug).await?.is_none() {
            return Err(no_party(&slug));
        }
        let h = crate::store::parties::hierarchy(conn).await?;
        if let Some(Some(parent)) = &patch.parent {
            if !h.exists(parent.as_str()) {
                return Err(ApiError::field("/parent", format!("no party `{parent}`")));
            }
            if h.is_self_or_ancestor(&slug, parent.as_str()) {
                return Err(ApiError::field(
                    "/parent",
                    format!("`{parent}` is `{slug}` or below it: that would make a cycle"),
                ));
            }
        }
        let changes = PartyChanges {
            name: patch.name.map(|n| n.as_str().trim().to_string()),
            kind: patch.kind.map(|k| k.as_str().to_string()),
            country: patch.country.map(|c| c.map(|c| c.as_str().to_string())),
            parent: patch.parent.clone().map(|p| p.map(PartySlug::into_string)),
            updated_at: Some(Utc::now()),
        };
        let old_parent = parties::get(conn, &slug).await?.and_then(|p| p.parent);
        let row = parties::update(conn, &slug, &changes).await?;
        let new_h = crate::store::parties::hierarchy(conn).await?;
        if patch.parent.is_some() {
            let change = Reparenting { party: &slug, from: old_parent.as_deref(), to: row.parent.as_deref() };
            reattribute(conn, (&h, &new_h), &change, actor).await?;
        }
        view(row, &new_h)
    })
    .await
}

/// A party moved in the hierarchy.
struct Reparenting<'a> {
    party: &'a str,
    from: Option<&'a str>,
    to: Option<&'a str>,
}

/// Re-derives the attribution of every incident with a claim by or against
/// a party of the moved subtree, set-based (a fixed number of statements,
/// however many incidents). Sides decide only `denied` and `disputed`; an
/// incident where either changes is a new version with a `reattributed`
/// revision naming the move and the key, and moves on the change feed.
/// The others are written too, unchanged, so the counts by side follow.
async fn reattribute(
    conn: &mut Conn,
    (before, after): (&Hierarchy, &Hierarchy),
    change: &Reparenting<'_>,
    actor: &Actor,
) -> ApiResult<()> {
    let moved = after.subtree(change.party);
    let ids = claims::incidents_involving(conn, &moved).await?;
    // Locked before their claims are read: a claim added meanwhile waits,
    // and then derives its attribution from the new sides.
    incidents::lock_many(conn, &ids).await?;
    let mut by_incident: std::collections::HashMap<uuid::Uuid, Vec<claims::ClaimRow>> = Default::default();
    for claim in claims::for_incidents(conn, &ids).await? {
        by_incident.entry(claim.incident_id).or_default().push(claim);
    }
    let mut derived = Vec::with_capacity(ids.len());
    let mut revisions = Vec::new();
    for (id, rows) in &by_incident {
        let facts = facts(rows)?;
        let was = Attribution::derive(&facts, |p| before.side_of(p));
        let now = Attribution::derive(&facts, |p| after.side_of(p));
        let changed = was != now;
        if changed {
            revisions.push((
                *id,
                serde_json::json!({
                    "party": change.party,
                    "parent": {"from": change.from, "to": change.to},
                    "attribution": {"from": was, "to": now},
                }),
            ));
        }
        derived.push(incidents::Reattributed { id: *id, denied: now.denied, disputed: now.disputed, changed });
    }
    let versions = incidents::reattribute(conn, &derived, crate::store::now()).await?;
    let changed: Vec<uuid::Uuid> = revisions.iter().map(|(id, _)| *id).filter(|id| versions.contains_key(id)).collect();
    let rows: Vec<NewRevision<'_>> = revisions
        .into_iter()
        .filter_map(|(id, changes)| {
            Some(NewRevision {
                incident_id: id,
                version: *versions.get(&id)?,
                action: "reattributed",
                actor: actor.key_id.as_deref(),
                changes,
            })
        })
        .collect();
    revisions::insert_many(conn, &rows).await?;
    crate::live::events::record_current(conn, crate::live::events::EventType::IncidentUpdated, &changed).await?;
    Ok(())
}
