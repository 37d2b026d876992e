//! The one list of count dimensions (`domain::dimension`) against the SQL
//! that keeps the rollups: the migrations name their dimensions themselves,
//! so a dimension added on one side only is caught here.

use std::collections::BTreeSet;

use ceasefire::domain::dimension::Dimension;
use diesel::sql_types::Text;
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::helpers::{incident, spawn_app};

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = Text)]
    dim: String,
    #[diesel(sql_type = Text)]
    dim2: String,
}

#[tokio::test]
async fn the_rollups_keep_exactly_the_dimensions_the_code_names() {
    let app = spawn_app().await;
    app.seed().await;
    let mut one = incident("2024-05-01T10:00:00Z", "mortar_fire");
    one["claims"] = json!([
        {"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces"},
        {"claimant": "az-mod", "stance": "denies", "responds_to_index": 0},
    ]);
    assert_eq!(app.post("/v1/incidents", &one).await.status, 201);
    app.wait_for_rollups().await;
    let mut db = app.db().await;
    let rows: Vec<Pair> = diesel::sql_query("SELECT DISTINCT dim::text AS dim, dim2::text AS dim2 FROM stat_single")
        .load(&mut db)
        .await
        .unwrap();
    let singles: BTreeSet<&str> =
        rows.iter().filter(|p| p.dim2.is_empty() && !p.dim.is_empty()).map(|p| p.dim.as_str()).collect();
    let pairs: BTreeSet<(&str, &str)> =
        rows.iter().filter(|p| !p.dim2.is_empty()).map(|p| (p.dim.as_str(), p.dim2.as_str())).collect();

    let kept: BTreeSet<&str> =
        Dimension::ALL.iter().filter(|d| d.rollup_column().is_some()).map(|d| d.name()).collect();
    assert_eq!(singles, kept, "the rollups' single dimensions");
    let paired: Vec<&str> = Dimension::ALL.iter().filter(|d| d.paired()).map(|d| d.name()).collect();
    let expected: BTreeSet<(&str, &str)> =
        paired.iter().flat_map(|a| paired.iter().filter(move |b| *a < **b).map(move |b| (*a, *b))).collect();
    assert_eq!(pairs, expected, "the rollups' pairs");
}
