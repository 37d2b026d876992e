//! Claims: who said what about an incident. `POST /v1/incidents/{id}/claims`,
//! `GET /v1/claims`, `GET /v1/claims/{id}`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{AsReporter, CanRead};
use super::common::{bad_cursor, page_response, parse_limit, Cursor, Idempotency, Page, Written};
use super::extract::{clip, from_value, JsonValue, QueryParams};
use super::incidents::{check_url, parse_incident_id, parse_time_param, record_change};
use crate::domain::attribution::{Attribution, ClaimFacts};
use crate::domain::{PartySlug, Stance};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::startup::AppState;
use crate::store::claims::{self, ClaimFilter, ClaimRow};
use crate::store::incidents;
use crate::store::parties::Hierarchy;

/// A new claim: one public statement about one incident.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"claimant": "az-mod", "stance": "denies", "responds_to": "0190f1c2-7a00-7000-8000-000000000001",
    "stated_at": "2023-08-15T14:00:00+04:00", "quote": "The information is not true.", "source_url": "https://mod.gov.az/"}))]
pub struct NewClaim {
    /// The party that made the statement.
    pub claimant: PartySlug,
    pub stance: Stance,
    /// Who is accused (required for `accuses`, on another side than the
    /// claimant) or, for `confirms`, who the confirmation names. Other
    /// stances take no target.
    pub target: Option<PartySlug>,
    /// The claim this one answers, on the same incident. Required for
    /// `retracts` (the claimant's own claim); for `denies`, an accusation.
    pub responds_to: Option<Uuid>,
    /// Only in the `claims` of a new incident: the index, in that array, of
    /// an earlier claim this one answers (its id is not known yet).
    #[schema(minimum = 0)]
    pub responds_to_index: Option<usize>,
    /// When the statement was made (RFC 3339); default: now.
    pub stated_at: Option<DateTime<Utc>>,
    /// Up to 5,000 characters.
    #[schema(max_length = 5000)]
    pub quote: Option<String>,
    /// Where the statement was published (http or https).
    #[schema(format = "uri", max_length = 2000)]
    pub source_url: Option<String>,
}

/// A claim as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimView {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub claimant: String,
    pub stance: Stance,
    pub target: Option<String>,
    pub responds_to: Option<Uuid>,
    pub stated_at: DateTime<Utc>,
    pub quote: Option<String>,
    pub source_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&ClaimRow> for ClaimView {
    fn from(r: &ClaimRow) -> Self {
        ClaimView {
            id: r.id,
            incident_id: r.incident_id,
            claimant: r.claimant.clone(),
            stance: Stance::parse(&r.stance).unwrap_or(Stance::Confirms),
            target: r.target.clone(),
            responds_to: r.responds_to,
            stated_at: r.stated_at,
            quote: r.quote.clone(),
            source_url: r.source_url.clone(),
            created_at: r.created_at,
        }
    }
}

pub fn facts(rows: &[ClaimRow]) -> Vec<ClaimFacts> {
    rows.iter()
        .filter_map(|r| {
            Some(ClaimFacts {
                id: r.id,
                claimant: r.claimant.clone(),
                stance: Stance::parse(&r.stance).ok()?,
                target: r.target.clone(),
                responds_to: r.responds_to,
            })
        })
        .collect()
}

/// Derives an incident's attribution from all its claims.
pub fn attribution(rows: &[ClaimRow], h: &Hierarchy) -> Attribution {
    let facts = facts(rows);
    Attribution::derive(&facts, |p| h.side_of(p))
}

/// What new claims are checked against.
#[derive(Clone, Copy)]
pub struct ClaimContext<'a> {
    pub incident_id: Uuid,
    /// The incident's stored claims.
    pub existing: &'a [ClaimRow],
    pub hierarchy: &'a Hierarchy,
    /// Claims sent with a new incident, which may use `responds_to_index`.
    pub inline: bool,
    pub now: DateTime<Utc>,
}

/// Checks new claims against the stance rules and turns them into rows.
/// `existing` are the incident's stored claims; each new claim may also
/// answer the new ones before it. Errors point at `{prefix}/{index}/...`,
/// or at the root when there is no prefix (a single claim as the body).
pub fn prepare_claims(
    new: &[NewClaim],
    prefix: Option<&str>,
    ctx: &ClaimContext<'_>,
    errors: &mut Vec<FieldError>,
) -> Vec<ClaimRow> {
    let ClaimContext { incident_id, existing, hierarchy: h, inline, now } = *ctx;
    // One entry per new claim, None where it was invalid, so that
    // responds_to_index keeps pointing at the right claim.
    let mut prepared: Vec<Option<ClaimRow>> = Vec::with_capacity(new.len());
    for (i, c) in new.iter().enumerate() {
        let at = |field: &str| match prefix {
            Some(p) => format!("{p}/{i}/{field}"),
            None => format!("/{field}"),
        };
        let before = errors.len();
        if !h.exists(c.claimant.as_str()) {
            errors.push(FieldError::new(at("claimant"), format!("no party `{}`", c.claimant)));
        }
        if let Some(t) = &c.target {
            if !h.exists(t.as_str()) {
                errors.push(FieldError::new(at("target"), format!("no party `{t}`")));
            }
        }
        match (c.stance, &c.target) {
            (Stance::Accuses, None) => errors.push(FieldError::new(at("target"), "an accusation needs a target")),
            (Stance::Accuses, Some(t)) => {
                let (cs, ts) = (h.side_of(c.claimant.as_str()), h.side_of(t.as_str()));
                if cs.is_some() && cs == ts {
                    errors.push(FieldError::new(
                        at("target"),
                        format!(
                            "`{}` and `{t}` are on the same side ({}); a party cannot accuse its own side",
                            c.claimant,
                            cs.unwrap_or_default()
                        ),
                    ));
                }
            }
            (Stance::Confirms, _) | (_, None) => {}
            (stance, Some(_)) => errors.push(FieldError::new(
                at("target"),
                format!("a claim that {stance} takes no target; only accusations and confirmations name one"),
            )),
        }
        let responds_to = match (c.responds_to, c.responds_to_index) {
            (Some(_), Some(_)) => {
                errors
                    .push(FieldError::new(at("responds_to_index"), "give responds_to or responds_to_index, not both"));
                None
            }
            (None, Some(_)) if !inline => {
                errors.push(FieldError::new(
                    at("responds_to_index"),
                    "responds_to_index is only for the claims of a new incident; use responds_to",
                ));
                None
            }
            (None, Some(idx)) if idx < i => prepared[idx].clone().map(|answered| (answered, "responds_to_index")),
            (None, Some(_)) => {
                errors.push(FieldError::new(
                    at("responds_to_index"),
                    format!("must be the index of an earlier claim in this array (0 to {})", i.saturating_sub(1)),
                ));
                None
            }
            (Some(id), None) => match existing.iter().chain(prepared.iter().flatten()).find(|r| r.id == id) {
                Some(answered) => Some((answered.clone(), "responds_to")),
                None => {
                    errors.push(FieldError::new(at("responds_to"), format!("no claim {id} on this incident")));
                    None
                }
            },
            (None, None) => None,
        };
        match (c.stance, &responds_to) {
            (Stance::Retracts, None) if c.responds_to.is_none() && c.responds_to_index.is_none() => {
                errors.push(FieldError::new(at("responds_to"), "a retraction names the claim it withdraws"))
            }
            (Stance::Retracts, Some((answered, field))) if answered.claimant != c.claimant.as_str() => {
                errors.push(FieldError::new(
                    at(field),
                    format!("a party retracts only its own claims; that claim is by `{}`", answered.claimant),
                ))
            }
            (Stance::Denies, Some((answered, field))) if answered.stance != Stance::Accuses.as_str() => errors.push(
                FieldError::new(at(field), format!("a denial answers an accusation; that claim {}", answered.stance)),
            ),
            _ => {}
        }
        if let Some(q) = &c.quote {
            if q.chars().count() > 5000 {
                errors.push(FieldError::new(at("quote"), "at most 5,000 characters"));
            }
        }
        if let Some(u) = &c.source_url {
            if let Err(e) = check_url(u) {
                errors.push(FieldError::new(at("source_url"), e));
            }
        }
        let stated_at = c.stated_at.unwrap_or(now);
        if stated_at > now + chrono::Duration::days(1) {
            errors.push(FieldError::new(at("stated_at"), "a statement cannot be dated in the future"));
        }
        prepared.push((errors.len() == before).then(|| ClaimRow {
            id: Uuid::now_v7(),
            incident_id,
            claimant: c.claimant.to_string(),
            stance: c.stance.as_str().to_string(),
            target: c.target.as_ref().map(|t| t.to_string()),
            responds_to: responds_to.map(|(r, _)| r.id),
            stated_at,
            quote: c.quote.clone(),
            source_url: c.source_url.clone(),
            created_at: now,
            counted: c.stance != Stance::Retracts,
        }));
    }
    prepared.into_iter().flatten().collect()
}

/// Add a claim to an incident. Its attribution is derived again in the same
/// transaction, and the history records the claim.
#[utoipa::path(
    operation_id = "createClaim",post, path = "/v1/incidents/{id}/claims", tag = "claims", request_body = NewClaim,
    params(
        ("id" = Uuid, Path, description = "The incident"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first answer"),
    ),
    responses(
        (status = 201, description = "Created", body = ClaimView, headers(("Location" = String))),
        (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The incident was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid claim (a stance rule, an unknown party, a claim of another incident)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AsReporter(actor): AsReporter,
    id: web::Path<String>,
    body: JsonValue,
) -> ApiResult<HttpResponse> {
    let incident_id = parse_incident_id(&id)?;
    let new: NewClaim = from_value(body.0.clone())?;
    let mut conn = state.pool.get().await?;
    let actor2 = actor.clone();
    let idem = Idempotency::new(&req, &actor, &body.0)?;
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            if let Some(replay) = idem.begin(conn).await? {
                return Ok(replay);
            }
            let mut row =
                incidents::lock(conn, incident_id).await?.ok_or_else(|| super::incidents::no_incident(incident_id))?;
            if row.deleted_at.is_some() {
                return Err(super::incidents::gone(incident_id));
            }
            let h = Hierarchy::load(conn).await?;
            let mut existing = claims::for_incident(conn, incident_id).await?;
            let now = crate::store::now();
            let mut errors = Vec::new();
            let mut rows = prepare_claims(
                std::slice::from_ref(&new),
                None,
                &ClaimContext { incident_id, existing: &existing, hierarchy: &h, inline: false, now },
                &mut errors,
            );
            if !errors.is_empty() {
                return Err(ApiError::validation(errors));
            }
            claims::insert_many(conn, &rows).await?;
            let claim = rows.pop().ok_or_else(|| ApiError::internal("no claim prepared"))?;
            existing.push(claim.clone());
            let derived = attribution(&existing, &h);
            incidents::set_attribution(conn, incident_id, &derived).await?;
            (row.denied, row.disputed) = (derived.denied, derived.disputed);
            row.version += 1;
            row.updated_at = now;
            let view = ClaimView::from(&claim);
            let body = serde_json::to_value(&view).map_err(ApiError::internal)?;
            record_change(conn, &mut row, "claim", &actor2, serde_json::json!({ "claim": body })).await?;
            idem.finish(conn, Written::created(format!("/v1/claims/{}", claim.id), None, &body)?).await
        })
        .await?;
    Ok(outcome.into_response())
}

/// One claim.
#[utoipa::path(
    operation_id = "getClaim",get, path = "/v1/claims/{id}", tag = "claims",
    params(("id" = Uuid, Path, description = "The claim")),
    responses(
        (status = 200, description = "The claim", body = ClaimView),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(state: web::Data<AppState>, _read: CanRead, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let not_found = || ApiError::not_found(format!("no claim {}", clip(&id)));
    let claim_id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let mut conn = state.pool.get().await?;
    let row = claims::get(&mut conn, claim_id).await?.ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(ClaimView::from(&row)))
}

/// List claims, oldest statement first.
#[utoipa::path(
    operation_id = "listClaims",get, path = "/v1/claims", tag = "claims",
    params(
        ("incident_id" = Option<Vec<Uuid>>, Query, description = "Only these incidents (repeat or comma-separate)", explode = true),
        ("claimant" = Option<Vec<String>>, Query, description = "Only claims by these parties", explode = true),
        ("stance" = Option<Vec<Stance>>, Query, description = "Only these stances", explode = true),
        ("target" = Option<Vec<String>>, Query, description = "Only claims naming these parties", explode = true),
        ("from" = Option<String>, Query, description = "stated_at on or after (RFC 3339 or a date, UTC)"),
        ("to" = Option<String>, Query, description = "stated_at before (RFC 3339 or a date, UTC)"),
        ("include_deleted" = Option<bool>, Query, description = "Also claims of deleted incidents"),
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 50", minimum = 1, maximum = 1000),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, unchanged: cursors are signed, and one that does not verify is a 400"),
    ),
    responses(
        (status = 200, description = "A page of claims", body = Page<ClaimView>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(state: web::Data<AppState>, _read: CanRead, req: HttpRequest) -> ApiResult<HttpResponse> {
    let mut q = QueryParams::from_request(&req)?;
    let filter = ClaimFilter {
        incident_id: q
            .list_with("incident_id", |s| Uuid::parse_str(s).map_err(|_| format!("`{}` is not a UUID", clip(s))))?,
        claimant: q.list_with("claimant", |s| PartySlug::parse(s).map(PartySlug::into_string))?,
        stance: q.list_with("stance", |s| Stance::parse(s).map(|s| s.as_str().to_string()))?,
        target: q.list_with("target", |s| PartySlug::parse(s).map(PartySlug::into_string))?,
        from: q.one_with("from", parse_time_param)?,
        to: q.one_with("to", parse_time_param)?,
        include_deleted: q.bool("include_deleted")?.unwrap_or(false),
    };
    let limit = parse_limit(q.one("limit")?)?;
    let after = q.one("cursor")?.map(|c| Cursor::decode(&c, "claims", &state.cursor_key)).transpose()?;
    q.finish()?;
    let _permit = match filter.include_deleted {
        true => Some(state.expensive.acquire(super::expensive::client_of(&req)).await?),
        false => None,
    };
    let (mut conn, _) = state.lagging_read().await?;
    let after = after.map(|c| c.at.map(|at| (at, c.id)).ok_or_else(bad_cursor)).transpose()?;
    let mut rows = claims::page(&mut conn, &filter, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let next_cursor = if more {
        rows.truncate(limit as usize);
        rows.last().map(|r| {
            Cursor { o: "claims".into(), at: Some(r.stated_at), seq: None, id: r.id }.encode(&state.cursor_key)
        })
    } else {
        None
    };
    page_response(&req, Page { data: rows.iter().map(ClaimView::from).collect(), next_cursor }, more)
}
