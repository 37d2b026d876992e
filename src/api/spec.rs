//! The OpenAPI document as precise as the server: what the derive macros
//! cannot say is written here from the same types the server uses, so it
//! cannot drift. Every problem `type` is an enum value with its meaning; a
//! count's buckets name each dimension as a field of its own type; every
//! closed vocabulary of the query string is an enum.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use super::ApiDoc;
use crate::domain::dimension::{Counted, Dimension, Measure};
use crate::error::ProblemKind;

/// The document served at `/openapi.json` (and printed by `ceasefire openapi`).
pub fn document() -> utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            let mut value = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
            refine(&mut value);
            serde_json::from_value(value).expect("the refined OpenAPI document reads back")
        })
        .clone()
}

fn refine(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    problem_types(&mut schemas["Problem"]);
    buckets(&mut schemas["Bucket"]);
    let all_names: Vec<&str> = unique_names(Dimension::ALL.iter().copied());
    schemas["Stats"]["properties"]["group_by"]["items"] = json!({"type": "string", "enum": all_names});
    let measures: Vec<&str> =
        [Measure::Incidents, Measure::Violations, Measure::Killed, Measure::Wounded, Measure::Claims]
            .iter()
            .map(|m| m.name())
            .collect();
    schemas["Stats"]["properties"]["measure"]["enum"] = json!(measures);
    schemas["Stats"]["properties"]["by"]["enum"] = json!(["occurred", "reported", "stated"]);

    let paths = &mut doc["paths"];
    for (path, what) in [("/v1/stats/incidents", Counted::Incidents), ("/v1/stats/claims", Counted::Claims)] {
        let names = unique_names(Dimension::of(what));
        let (measures, by): (&[&str], &[&str]) = match what {
            Counted::Incidents => (&["incidents", "violations", "killed", "wounded"], &["occurred", "reported"]),
            Counted::Claims => (&["claims", "violations", "killed", "wounded"], &["stated", "occurred"]),
        };
        let params = &mut paths[path]["get"]["parameters"];
        set_param(params, "group_by", |p| p["schema"]["items"] = json!({"type": "string", "enum": names}));
        set_param(params, "measure", |p| p["schema"]["enum"] = json!(measures));
        set_param(params, "by", |p| p["schema"]["enum"] = json!(by));
        set_param(params, "format", |p| p["schema"]["enum"] = json!(["json", "csv"]));
    }
    let list = &mut paths["/v1/incidents"]["get"]["parameters"];
    set_param(list, "format", |p| p["schema"]["enum"] = json!(["json", "csv", "geojson", "ndjson"]));
    let claims = &mut paths["/v1/claims"]["get"]["parameters"];
    set_param(claims, "format", |p| p["schema"]["enum"] = json!(["json", "csv"]));
    // Repeated parameters: `?type=a&type=b` (or comma-separated values).
    if let Some(paths) = paths.as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for op in item.values_mut() {
                let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else { continue };
                for p in params {
                    if p["schema"]["type"] == "array" && p["in"] == "query" {
                        p["style"] = json!("form");
                        p["explode"] = json!(true);
                    }
                }
            }
        }
    }
}

/// `Problem.type`: every URN the server answers, each with its meaning.
fn problem_types(problem: &mut Value) {
    let urns: Vec<String> = ProblemKind::ALL.iter().map(|k| k.urn()).collect();
    let described: Vec<String> =
        ProblemKind::ALL.iter().map(|k| format!("- `{}`: {}", k.urn(), k.description())).collect();
    problem["properties"]["type"] = json!({
        "type": "string",
        "enum": urns,
        "x-enum-descriptions": ProblemKind::ALL.iter().map(|k| k.description()).collect::<Vec<_>>(),
        "description": format!("The kind of problem; clients can switch on it.\n\n{}", described.join("\n")),
    });
}

/// `Bucket`: its period, its value, and each dimension a count can group
/// by as a field of its own (null: none, such as an incident nobody
/// accused); a bucket has the fields of the dimensions asked for.
fn buckets(bucket: &mut Value) {
    let description = bucket["description"].clone();
    let example = bucket["example"].clone();
    let mut properties = Map::new();
    properties.insert(
        "period_start".into(),
        json!({"type": "string", "description": "The start of the calendar period, in the requested zone (RFC 3339)."}),
    );
    for d in Dimension::ALL {
        if properties.contains_key(d.name()) {
            continue;
        }
        let kind = if d.boolean() { "boolean" } else { "string" };
        properties.insert(
            d.name().into(),
            json!({"type": [kind, "null"], "description": format!("The group's `{}`, when `group_by` names it.", d.name())}),
        );
    }
    properties.insert(
        "value".into(),
        json!({"type": "integer", "format": "int64", "description": "The measure in this period and group."}),
    );
    *bucket = json!({
        "type": "object",
        "description": description,
        "required": ["period_start", "value"],
        "properties": properties,
        "example": example,
    });
}

/// The dimensions' names, each once (`claimant` names two, one per count).
fn unique_names(dims: impl Iterator<Item = Dimension>) -> Vec<&'static str> {
    let mut names: Vec<&str> = Vec::new();
    for d in dims {
        if !names.contains(&d.name()) {
            names.push(d.name());
        }
    }
    names
}

fn set_param(params: &mut Value, name: &str, change: impl FnOnce(&mut Value)) {
    if let Some(p) = params.as_array_mut().and_then(|ps| ps.iter_mut().find(|p| p["name"] == name)) {
        change(p);
    }
}
