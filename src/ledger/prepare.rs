//! New incidents and claims checked against the rules that need the
//! ledger's state (the parties, the claims already made) and turned into
//! the rows to insert, attribution derived. No I/O.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::rows::{accounts, attribution, with_status};
use crate::domain::account::Account;
use crate::domain::attribution::Attribution;
use crate::domain::claim::{NewClaim, Void};
use crate::domain::hierarchy::Hierarchy;
use crate::domain::incident::{check_url, IncidentFields};
use crate::domain::json::from_value_at;
use crate::domain::text::Quote;
use crate::domain::{ClaimStatus, PartySlug, Stance};
use crate::error::{ApiResult, FieldError};
use crate::store::claims::{AccountRow, ClaimRow};
use crate::store::incidents::{IncidentRecord, IncidentRow};

/// The most claims one incident holds: real incidents have a handful, and
/// every claim write derives the incident's attribution and divergence from
/// all of them again.
pub const MAX_CLAIMS_PER_INCIDENT: usize = 1000;

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
    /// The incident's `occurred_at`: the date of a claim whose statement
    /// is not dated.
    pub occurred_at: DateTime<Utc>,
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
    let ClaimContext { incident_id, existing, hierarchy: h, inline, now, occurred_at } = *ctx;
    // One entry per new claim, None where it was invalid, so that
    // responds_to_index keeps pointing at the right claim.
    let mut prepared: Vec<Option<ClaimRow>> = Vec::with_capacity(new.len());
    for (i, c) in new.iter().enumerate() {
        // The claim's pointer: its place in the array, or the root.
        let here = prefix.map(|p| format!("{p}/{i}")).unwrap_or_default();
        let at = |field: &str| format!("{here}/{field}");
        let before = errors.len();
        if existing.len() + i >= MAX_CLAIMS_PER_INCIDENT {
            errors.push(FieldError::new(
                here.clone(),
                format!(
                    "an incident holds at most {MAX_CLAIMS_PER_INCIDENT} claims; this one has {}",
                    existing.len() + i
                ),
            ));
        }
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
            (Stance::Confirms | Stance::Observes, _) | (_, None) => {}
            (stance, Some(_)) => errors.push(FieldError::new(
                at("target"),
                format!("a claim that {stance} takes no target; only accuses, confirms and observes name one"),
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
            (_, Some((answered, field))) if answered.status == ClaimStatus::Voided.as_str() => errors.push(
                FieldError::new(at(field), format!("claim {} was voided; nothing answers it any more", answered.id)),
            ),
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
        if let Some(u) = &c.source_url {
            if let Err(e) = check_url(u) {
                errors.push(FieldError::new(at("source_url"), e));
            }
        }
        if c.stated_at.is_some_and(|t| t > now + chrono::Duration::days(1)) {
            errors.push(FieldError::new(at("stated_at"), "a statement cannot be dated in the future"));
        }
        if let Some(account) = &c.account {
            if c.stance == Stance::Retracts {
                errors.push(FieldError::new(at("account"), "a retraction withdraws a claim; it gives no account"));
            } else {
                account.check(&at("account"), now, errors);
            }
        }
        prepared.push((errors.len() == before).then(|| ClaimRow {
            id: Uuid::now_v7(),
            incident_id,
            claimant: c.claimant.to_string(),
            stance: c.stance.as_str().to_string(),
            target: c.target.as_ref().map(|t| t.to_string()),
            responds_to: responds_to.map(|(r, _)| r.id),
            stated_at: c.stated_at,
            quote: c.quote.as_ref().map(ToString::to_string),
            source_url: c.source_url.clone(),
            created_at: now,
            counted: c.stance != Stance::Retracts,
            dated_at: c.stated_at.unwrap_or(occurred_at),
            status: ClaimStatus::Standing.as_str().to_string(),
            voided_at: None,
            voided_by: None,
            void_reason: None,
            account: AccountRow::from_account(c.account.as_ref()),
        }));
    }
    prepared.into_iter().flatten().collect()
}

/// A new incident, checked and turned into the rows to insert.
pub struct Prepared {
    pub(super) record: IncidentRecord,
    pub(super) attribution: Attribution,
}

/// Parses and checks one new incident found at `prefix` in the body:
/// `None` when it is invalid, with its errors in `errors`.
pub fn prepare(
    value: serde_json::Value,
    prefix: &str,
    h: &Hierarchy,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> ApiResult<Option<Prepared>> {
    let serde_json::Value::Object(mut object) = value else {
        errors.push(FieldError::new(prefix.to_string(), "an incident is a JSON object"));
        return Ok(None);
    };
    let raw_claims = object.remove("claims").unwrap_or(serde_json::Value::Array(vec![]));
    let fields: Option<IncidentFields> =
        from_value_at(serde_json::Value::Object(object), prefix).map_err(|e| errors.push(e)).ok();
    let claims_prefix = format!("{prefix}/claims");
    let new_claims: Option<Vec<NewClaim>> = match raw_claims {
        serde_json::Value::Array(items) => {
            if items.len() > 100 {
                errors.push(FieldError::new(claims_prefix.clone(), "at most 100 claims with a new incident"));
            }
            let parsed: Vec<Option<NewClaim>> = items
                .into_iter()
                .enumerate()
                .map(|(i, v)| from_value_at(v, &format!("{claims_prefix}/{i}")).map_err(|e| errors.push(e)).ok())
                .collect();
            parsed.into_iter().collect()
        }
        _ => {
            errors.push(FieldError::new(claims_prefix.clone(), "claims is an array"));
            None
        }
    };
    let (Some(fields), Some(new_claims)) = (fields, new_claims) else { return Ok(None) };
    fields.check(prefix, now, errors);
    let id = Uuid::now_v7();
    let claims = prepare_claims(
        &new_claims,
        Some(&claims_prefix),
        &ClaimContext {
            incident_id: id,
            existing: &[],
            hierarchy: h,
            inline: true,
            now,
            occurred_at: fields.occurred_at.to_utc(),
        },
        errors,
    );
    let meta = RowMeta { id, version: 1, created_at: now, updated_at: now, deleted_at: None };
    assemble(&fields, meta, claims, h).map(Some)
}

/// How an incident's row is written: its id, version and times.
struct RowMeta {
    id: Uuid,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

/// The rows of an incident with its claims, attribution derived.
fn assemble(fields: &IncidentFields, meta: RowMeta, claims: Vec<ClaimRow>, h: &Hierarchy) -> ApiResult<Prepared> {
    let attribution = attribution(&claims, h)?;
    let claims = with_status(claims, &attribution);
    let divergent = accounts(&claims)?.is_divergent();
    let base = IncidentRow {
        id: meta.id,
        version: meta.version,
        occurred_at: fields.occurred_at.to_utc(),
        occurred_until: None,
        occurred_offset: 0,
        place: None,
        admin1: None,
        admin2: None,
        time_precision: String::new(),
        type_: String::new(),
        location_name: String::new(),
        border_sector: None,
        country: None,
        lat: None,
        lon: None,
        location_precision: None,
        killed_military: None,
        killed_civilian: None,
        wounded_military: None,
        wounded_civilian: None,
        violations: 1,
        title: String::new(),
        description: String::new(),
        verification: String::new(),
        denied: attribution.denied,
        disputed: attribution.disputed,
        created_at: meta.created_at,
        updated_at: meta.updated_at,
        deleted_at: meta.deleted_at,
        origin_name: None,
        origin_country: None,
        origin_lat: None,
        origin_lon: None,
        origin_place: None,
        divergent,
    };
    let record = IncidentRecord {
        sources: fields.source_rows(meta.id),
        external_ids: fields.external_id_rows(meta.id),
        roles: attribution.roles().map(|(r, p)| (r.to_string(), p.to_string())).collect(),
        claims,
        row: fields.to_row(base),
    };
    Ok(Prepared { record, attribution })
}

/// An incident as exported (`IncidentView` JSON), checked like a new one
/// and turned into rows that keep its ids, version and times. Errors point
/// into the record.
pub fn prepare_exported(
    value: serde_json::Value,
    h: &Hierarchy,
    errors: &mut Vec<FieldError>,
) -> ApiResult<Option<Prepared>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ExportedClaim {
        id: Uuid,
        incident_id: Uuid,
        claimant: PartySlug,
        stance: Stance,
        target: Option<PartySlug>,
        responds_to: Option<Uuid>,
        stated_at: Option<DateTime<Utc>>,
        quote: Option<Quote>,
        source_url: Option<String>,
        account: Option<Account>,
        /// Derived again; a voided claim is voided again from `void`.
        #[allow(dead_code)]
        status: Option<ClaimStatus>,
        void: Option<Void>,
        created_at: DateTime<Utc>,
    }
    #[derive(Deserialize)]
    struct Kept {
        id: Uuid,
        #[serde(default = "one")]
        version: i32,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        deleted_at: Option<DateTime<Utc>>,
    }
    fn one() -> i32 {
        1
    }
    let serde_json::Value::Object(mut object) = value else {
        errors.push(FieldError::new("", "an incident is a JSON object"));
        return Ok(None);
    };
    for derived in ["attribution", "accounts", "direction", "cross_border", "local_date"] {
        object.remove(derived);
    }
    let raw_claims = object.remove("claims").unwrap_or(serde_json::Value::Array(vec![]));
    let mut kept = serde_json::Map::new();
    for key in ["id", "version", "created_at", "updated_at", "deleted_at"] {
        if let Some(v) = object.remove(key) {
            kept.insert(key.to_string(), v);
        }
    }
    let kept: Option<Kept> = from_value_at(serde_json::Value::Object(kept), "").map_err(|e| errors.push(e)).ok();
    let claims: Option<Vec<ExportedClaim>> = match raw_claims {
        serde_json::Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| from_value_at(v, &format!("/claims/{i}")).map_err(|e| errors.push(e)).ok())
            .collect::<Vec<_>>()
            .into_iter()
            .collect(),
        _ => {
            errors.push(FieldError::new("/claims", "claims is an array"));
            None
        }
    };
    let fields: Option<IncidentFields> =
        from_value_at(serde_json::Value::Object(object), "").map_err(|e| errors.push(e)).ok();
    let (Some(kept), Some(claims), Some(fields)) = (kept, claims, fields) else { return Ok(None) };
    fields.check("", crate::store::now().max(kept.updated_at), errors);
    if kept.version < 1 {
        errors.push(FieldError::new("/version", "a version is 1 or more"));
    }
    // Each claim checked against those before it, the claims it answers
    // first: an export lists them by date, and an undated answer is dated
    // by its incident, often before what it answers. (Errors still point
    // at each claim's place in the file.)
    let mut rows: Vec<ClaimRow> = Vec::with_capacity(claims.len());
    for i in answered_first(&claims, |c| (c.id, c.responds_to)) {
        let c = &claims[i];
        if c.incident_id != kept.id {
            errors.push(FieldError::new(format!("/claims/{i}/incident_id"), "not this incident's id"));
        }
        let new = NewClaim {
            claimant: c.claimant.clone(),
            stance: c.stance,
            target: c.target.clone(),
            responds_to: c.responds_to,
            responds_to_index: None,
            stated_at: c.stated_at,
            quote: c.quote.clone(),
            source_url: c.source_url.clone(),
            account: c.account.clone(),
        };
        let ctx = ClaimContext {
            incident_id: kept.id,
            existing: &rows,
            hierarchy: h,
            inline: false,
            now: c.stated_at.map_or(c.created_at, |s| c.created_at.max(s)),
            occurred_at: fields.occurred_at.to_utc(),
        };
        let mut claim_errors = Vec::new();
        let prepared = prepare_claims(std::slice::from_ref(&new), None, &ctx, &mut claim_errors);
        for e in claim_errors {
            errors.push(FieldError::new(format!("/claims/{i}{}", e.pointer), e.detail));
        }
        if let Some(row) = prepared.into_iter().next() {
            rows.push(ClaimRow { id: c.id, created_at: c.created_at, ..row });
        }
    }
    // Voided once all are read: a later claim may answer one voided since.
    for row in rows.iter_mut() {
        if let Some(v) = claims.iter().find(|c| c.id == row.id).and_then(|c| c.void.as_ref()) {
            row.status = ClaimStatus::Voided.as_str().to_string();
            row.voided_at = Some(v.at);
            row.voided_by = v.by.clone();
            row.void_reason = Some(v.reason.to_string());
        }
    }
    let meta = RowMeta {
        id: kept.id,
        version: kept.version,
        created_at: kept.created_at,
        updated_at: kept.updated_at,
        deleted_at: kept.deleted_at,
    };
    assemble(&fields, meta, rows, h).map(Some)
}

/// The indices of `items` in an order where each item comes after the one
/// it answers (`key` gives an item's id and the id it answers), otherwise
/// as given; an answer to no item of the list, or a cycle, keeps its place
/// at the end (and fails the checks there).
fn answered_first<T>(items: &[T], key: impl Fn(&T) -> (Uuid, Option<Uuid>)) -> Vec<usize> {
    let ids: std::collections::HashSet<Uuid> = items.iter().map(|c| key(c).0).collect();
    let mut placed: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
    let mut order: Vec<usize> = Vec::with_capacity(items.len());
    let mut waiting: Vec<usize> = (0..items.len()).collect();
    loop {
        let before = order.len();
        waiting.retain(|&i| {
            let (id, answers) = key(&items[i]);
            let ready = answers.is_none_or(|a| placed.contains(&a) || !ids.contains(&a));
            if ready {
                placed.insert(id);
                order.push(i);
            }
            !ready
        });
        if waiting.is_empty() || order.len() == before {
            order.extend(waiting);
            return order;
        }
    }
}

impl Prepared {
    pub fn id(&self) -> Uuid {
        self.record.row.id
    }

    pub fn claim_count(&self) -> usize {
        self.record.claims.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_come_after_what_they_answer() {
        let id = Uuid::from_u128;
        // An undated denial (listed first) answers the accusation after it;
        // a retraction answers the denial; one claim answers nothing here.
        let items = [(id(2), Some(id(1))), (id(1), None), (id(3), Some(id(2))), (id(4), Some(id(9)))];
        assert_eq!(answered_first(&items, |c| *c), [1, 3, 0, 2]);
        let cycle = [(id(1), Some(id(2))), (id(2), Some(id(1)))];
        assert_eq!(answered_first(&cycle, |c| *c), [0, 1]);
    }
}
