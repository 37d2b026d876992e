//! `ceasefire import parties.csv|.ndjson`: the parties of another database
//! (`GET /v1/parties?format=csv` or `ndjson`), loaded before the incidents
//! that name them. Parents go in before their children; a party that is
//! here already with the same name, kind, country and parent is left as it
//! is; one that differs fails the file, is skipped (`--on-existing skip`)
//! or is changed to the file's (`--on-existing update`, re-deriving the
//! attribution a new parent changes). All in one transaction, or nothing.

use std::collections::HashMap;

use anyhow::bail;
use diesel_async::AsyncConnection;
use serde_json::{json, Value};

use crate::config::OnExisting;
use crate::db::DbPool;
use crate::domain::actor::Actor;
use crate::domain::party::{NewParty, PartyPatch};
use crate::error::ApiError;
use crate::store::parties::{self, NewPartyRow};

/// What a parties import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PartiesSummary {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub skipped: usize,
}

/// Whether a record (the first of a file) is a party rather than an incident.
pub fn is_party(value: &Value) -> bool {
    value.get("slug").is_some() && value.get("kind").is_some() && value.get("occurred_at").is_none()
}

/// A party from its exported JSON (the view's extra fields ignored).
fn party_of(value: &Value) -> Result<NewParty, String> {
    let field = |k: &str| value.get(k).cloned().filter(|v| !v.is_null() && v != "");
    let new = json!({
        "slug": field("slug"), "name": field("name"), "kind": field("kind"),
        "country": field("country"), "parent": field("parent"),
    });
    serde_json::from_value(new).map_err(|e| e.to_string())
}

pub async fn run(pool: &DbPool, records: Vec<(u64, Value)>, on_existing: OnExisting) -> anyhow::Result<PartiesSummary> {
    let mut problems = Vec::new();
    let mut parsed: Vec<(u64, NewParty)> = Vec::new();
    for (line, value) in records {
        match party_of(&value) {
            Ok(p) => {
                let mut errors = Vec::new();
                p.check(&mut errors);
                problems.extend(errors.into_iter().map(|e| format!("line {line}: {}: {}", e.pointer, e.detail)));
                parsed.push((line, p));
            }
            Err(e) => problems.push(format!("line {line}: {e}")),
        }
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        bail!("{} problem(s) in the parties file; nothing was imported", problems.len());
    }
    // Parents before children.
    let mut ordered: Vec<(u64, NewParty)> = Vec::with_capacity(parsed.len());
    let mut placed: std::collections::HashSet<String> = Default::default();
    let in_file: std::collections::HashSet<String> = parsed.iter().map(|(_, p)| p.slug.to_string()).collect();
    while !parsed.is_empty() {
        let before = parsed.len();
        let (ready, rest): (Vec<_>, Vec<_>) = parsed.into_iter().partition(|(_, p)| {
            p.parent
                .as_ref()
                .is_none_or(|parent| placed.contains(parent.as_str()) || !in_file.contains(parent.as_str()))
        });
        placed.extend(ready.iter().map(|(_, p)| p.slug.to_string()));
        ordered.extend(ready);
        parsed = rest;
        if parsed.len() == before {
            bail!(
                "the parents of {} form a cycle",
                parsed.iter().map(|(_, p)| p.slug.to_string()).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let mut conn = pool.get().await?;
    let actor = Actor::default();
    let summary = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            let mut summary = PartiesSummary::default();
            let stored: HashMap<String, parties::PartyRow> =
                parties::list(conn).await?.into_iter().map(|p| (p.slug.clone(), p)).collect();
            for (line, p) in ordered {
                let country = p.country.as_ref().map(|c| c.as_str().to_string());
                let parent = p.parent.as_ref().map(|c| c.as_str().to_string());
                match stored.get(p.slug.as_str()) {
                    None => {
                        let row = NewPartyRow {
                            slug: p.slug.as_str(),
                            name: p.name.as_str().trim(),
                            kind: p.kind.as_str(),
                            country: country.as_deref(),
                            parent: parent.as_deref(),
                        };
                        if parent.as_deref().is_some_and(|pa| !in_file.contains(pa) && !stored.contains_key(pa)) {
                            bail!("line {line}: the parent `{}` is in neither the file nor the database", parent.unwrap_or_default());
                        }
                        parties::insert(conn, &row).await?;
                        summary.inserted += 1;
                    }
                    Some(s)
                        if s.name == p.name.as_str().trim()
                            && s.kind == p.kind.as_str()
                            && s.country == country
                            && s.parent == parent =>
                    {
                        summary.unchanged += 1;
                    }
                    Some(_) => match on_existing {
                        OnExisting::Fail => bail!(
                            "line {line}: party `{}` exists already and differs (--on-existing skip leaves it, update changes it)",
                            p.slug
                        ),
                        OnExisting::Skip => summary.skipped += 1,
                        OnExisting::Update => {
                            let patch: PartyPatch = serde_json::from_value(json!({
                                "name": p.name.as_str(), "kind": p.kind.as_str(), "country": country, "parent": parent,
                            }))?;
                            crate::ledger::parties::patch(conn, &p.slug, patch, &actor)
                                .await
                                .map_err(|e: ApiError| anyhow::anyhow!("line {line}: {}", e.problem().detail))?;
                            summary.updated += 1;
                        }
                    },
                }
            }
            Ok(summary)
        })
        .await?;
    eprintln!(
        "parties: {} new, {} updated, {} unchanged, {} skipped",
        summary.inserted, summary.updated, summary.unchanged, summary.skipped
    );
    Ok(summary)
}
