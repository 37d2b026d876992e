//! `/v1/parties`: who can accuse, be accused, deny or confirm.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{AsEditor, CanRead};
use super::common::{Idempotency, Written};
use super::extract::{from_value, JsonValue};
use crate::domain::attribution::Attribution;
use crate::domain::{CountryCode, PartyKind, PartySlug};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::startup::AppState;
use crate::store::parties::{self, Hierarchy, NewPartyRow, PartyChanges, PartyRow};
use crate::store::revisions::{self, NewRevision};
use crate::store::{claims, incidents, Conn};

/// A party as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"slug": "az-mod", "name": "Ministry of Defence of Azerbaijan", "kind": "government_body",
    "country": "AZ", "parent": "azerbaijan", "side": "azerbaijan",
    "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}))]
pub struct PartyView {
    pub slug: String,
    pub name: String,
    pub kind: PartyKind,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// The slug of the party this one belongs to.
    pub parent: Option<String>,
    /// The top-most ancestor (the party itself when it has no parent).
    pub side: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartyList {
    pub data: Vec<PartyView>,
}

/// A new party.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"slug": "am-mod", "name": "Ministry of Defence of Armenia", "kind": "government_body", "country": "AM", "parent": "armenia"}))]
pub struct NewParty {
    pub slug: PartySlug,
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    pub kind: PartyKind,
    pub country: Option<CountryCode>,
    pub parent: Option<PartySlug>,
}

/// A JSON merge patch (RFC 7396) of a party; the slug cannot change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"parent": "armenia"}))]
pub struct PartyPatch {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    pub kind: Option<PartyKind>,
    /// null removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<CountryCode>>,
    /// null makes the party a side of its own.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<PartySlug>>,
}

/// Tells a field set to null (`Some(None)`) from an absent one (`None`).
fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn view(row: PartyRow, h: &Hierarchy) -> PartyView {
    PartyView {
        side: h.side_of(&row.slug).unwrap_or(&row.slug).to_string(),
        kind: PartyKind::parse(&row.kind).unwrap_or(PartyKind::Other),
        slug: row.slug,
        name: row.name,
        country: row.country,
        parent: row.parent,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn check_name(name: &str, pointer: &str, errors: &mut Vec<FieldError>) {
    if name.trim().is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new(pointer, "a name is 1 to 200 characters, not blank"));
    }
}

/// List every party.
#[utoipa::path(
    operation_id = "listParties",get, path = "/v1/parties", tag = "parties", responses((status = 200, description = "All parties, by slug", body = PartyList)))]
pub async fn list(state: web::Data<AppState>, _read: CanRead) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let rows = parties::list(&mut conn).await?;
    let h = Hierarchy::load(&conn).await?;
    Ok(HttpResponse::Ok().json(PartyList { data: rows.into_iter().map(|r| view(r, &h)).collect() }))
}

/// One party.
#[utoipa::path(
    operation_id = "getParty",get, path = "/v1/parties/{slug}", tag = "parties",
    params(("slug" = String, Path, description = "The party's slug")),
    responses(
        (status = 200, description = "The party", body = PartyView),
        (status = 404, description = "No such party", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(state: web::Data<AppState>, _read: CanRead, slug: web::Path<String>) -> ApiResult<HttpResponse> {
    let slug = PartySlug::parse(&slug).map_err(|_| no_party(&slug))?;
    let mut conn = state.pool.get().await?;
    let row = parties::get(&mut conn, slug.as_str()).await?.ok_or_else(|| no_party(slug.as_str()))?;
    let h = Hierarchy::load(&conn).await?;
    Ok(HttpResponse::Ok().json(view(row, &h)))
}

fn no_party(slug: &str) -> ApiError {
    ApiError::not_found(format!("no party `{}`", super::extract::clip(slug)))
}

/// Create a party.
#[utoipa::path(
    operation_id = "createParty",post, path = "/v1/parties", tag = "parties", request_body = NewParty,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer")),
    responses(
        (status = 201, description = "Created", body = PartyView, headers(("Location" = String))),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsEditor(actor): AsEditor,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let new: NewParty = from_value(body.0.clone())?;
    let mut errors = Vec::new();
    check_name(&new.name, "/name", &mut errors);
    if new.parent.as_ref() == Some(&new.slug) {
        errors.push(FieldError::new("/parent", "a party cannot be its own parent"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut conn = state.pool.get().await?;
    let idem = Idempotency::new(&req, &actor, &body.0)?;
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
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
                name: new.name.trim(),
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
            let h = Hierarchy::load(conn).await?;
            let body = serde_json::to_value(view(stored, &h)).map_err(ApiError::internal)?;
            idem.finish(conn, Written::created(format!("/v1/parties/{}", new.slug), None, &body)?).await
        })
        .await?;
    Ok(outcome.into_response())
}

/// Change a party (JSON merge patch). Re-parenting refuses cycles and
/// re-derives the attribution of every incident the moved parties took
/// part in, since sides decide what a denial answers.
#[utoipa::path(
    operation_id = "patchParty",patch, path = "/v1/parties/{slug}", tag = "parties", request_body(content = PartyPatch, content_type = "application/merge-patch+json"),
    params(("slug" = String, Path, description = "The party's slug")),
    responses(
        (status = 200, description = "The changed party", body = PartyView),
        (status = 404, description = "No such party", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid patch", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch(
    state: web::Data<AppState>,
    editor: AsEditor,
    slug: web::Path<String>,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let patch: PartyPatch = from_value(body.0)?;
    let mut errors = Vec::new();
    if let Some(name) = &patch.name {
        check_name(name, "/name", &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let slug = PartySlug::parse(&slug).map_err(|_| no_party(&slug))?.into_string();
    let mut conn = state.pool.get().await?;
    let view = conn
        .transaction::<_, ApiError, _>(async |conn| {
            parties::lock_hierarchy(conn).await?;
            if parties::get(conn, &slug).await?.is_none() {
                return Err(no_party(&slug));
            }
            let h = Hierarchy::load(conn).await?;
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
                name: patch.name.map(|n| n.trim().to_string()),
                kind: patch.kind.map(|k| k.as_str().to_string()),
                country: patch.country.map(|c| c.map(|c| c.as_str().to_string())),
                parent: patch.parent.clone().map(|p| p.map(PartySlug::into_string)),
                updated_at: Some(Utc::now()),
            };
            let old_parent = parties::get(conn, &slug).await?.and_then(|p| p.parent);
            let row = parties::update(conn, &slug, &changes).await?;
            let new_h = Hierarchy::load(conn).await?;
            if patch.parent.is_some() {
                let change = Reparenting { party: &slug, from: old_parent.as_deref(), to: row.parent.as_deref() };
                reattribute(conn, (&h, &new_h), &change, &editor.0).await?;
            }
            Ok(view(row, &new_h))
        })
        .await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(view))
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
    actor: &crate::api::auth::Actor,
) -> ApiResult<()> {
    let moved = after.subtree(change.party);
    let ids = claims::incidents_involving(conn, &moved).await?;
    let mut by_incident: std::collections::HashMap<uuid::Uuid, Vec<claims::ClaimRow>> = Default::default();
    for claim in claims::for_incidents(conn, &ids).await? {
        by_incident.entry(claim.incident_id).or_default().push(claim);
    }
    let mut derived = Vec::with_capacity(ids.len());
    let mut revisions = Vec::new();
    for (id, rows) in &by_incident {
        let facts = super::claims::facts(rows);
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
    Ok(())
}
