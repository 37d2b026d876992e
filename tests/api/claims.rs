use serde_json::{json, Value};

use crate::helpers::{incident, spawn_app, verin_shorzha, TestApp};

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

async fn new_incident(app: &TestApp) -> String {
    let res = app.post("/v1/incidents", &incident("2023-08-15T07:00:00Z", "small_arms_fire")).await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn verin_shorzha_attribution_claim_by_claim() {
    let app = spawn_app().await;
    app.seed().await;
    let id = new_incident(&app).await;
    let claims = format!("/v1/incidents/{id}/claims");

    let accusation = app
        .post(&claims, &json!({"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces", "stated_at": "2023-08-15T12:30:00+04:00"}))
        .await;
    assert_eq!(accusation.status, 201, "{}", accusation.text);
    let accusation_id = accusation.body["id"].as_str().unwrap().to_string();
    assert_eq!(accusation.body["stated_at"], "2023-08-15T08:30:00Z");
    let a = &app.get(&format!("/v1/incidents/{id}")).await.body["attribution"];
    assert_eq!(strings(&a["accusers"]), ["am-mod"]);
    assert_eq!(strings(&a["accused"]), ["az-armed-forces"]);
    assert_eq!((a["denied"].clone(), a["disputed"].clone()), (json!(false), json!(false)));

    let denial =
        app.post(&claims, &json!({"claimant": "az-mod", "stance": "denies", "responds_to": accusation_id})).await;
    assert_eq!(denial.status, 201, "{}", denial.text);
    let denial_id = denial.body["id"].as_str().unwrap().to_string();
    let confirmation = app.post(&claims, &json!({"claimant": "euma", "stance": "confirms"})).await;
    assert_eq!(confirmation.status, 201);

    let got = app.get(&format!("/v1/incidents/{id}")).await;
    let a = &got.body["attribution"];
    assert_eq!(strings(&a["accusers"]), ["am-mod"]);
    assert_eq!(strings(&a["accused"]), ["az-armed-forces"]);
    assert_eq!(strings(&a["deniers"]), ["az-mod"]);
    assert_eq!(strings(&a["confirmers"]), ["euma"]);
    assert_eq!(a["denied"], true);
    assert_eq!(a["disputed"], true);
    assert_eq!(got.body["claims"].as_array().unwrap().len(), 3);
    assert_eq!(got.body["version"], 4);

    // Azerbaijan's MoD withdraws its denial: the incident is no longer denied.
    let retraction =
        app.post(&claims, &json!({"claimant": "az-mod", "stance": "retracts", "responds_to": denial_id})).await;
    assert_eq!(retraction.status, 201, "{}", retraction.text);
    let a = &app.get(&format!("/v1/incidents/{id}")).await.body["attribution"];
    assert!(strings(&a["deniers"]).is_empty());
    assert_eq!(a["denied"], false);
    assert_eq!(a["disputed"], false);
    assert_eq!(strings(&a["accusers"]), ["am-mod"]);

    // Armenia's MoD withdraws the accusation: nobody is accused any more.
    let retraction =
        app.post(&claims, &json!({"claimant": "am-mod", "stance": "retracts", "responds_to": accusation_id})).await;
    assert_eq!(retraction.status, 201);
    let a = &app.get(&format!("/v1/incidents/{id}")).await.body["attribution"];
    assert!(strings(&a["accusers"]).is_empty() && strings(&a["accused"]).is_empty());
    assert_eq!(strings(&a["confirmers"]), ["euma"]);
    assert_eq!(app.get("/v1/incidents?accuser=am-mod").await.body["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn verin_shorzha_in_one_post() {
    let app = spawn_app().await;
    app.seed().await;
    let res = app.post("/v1/incidents", &verin_shorzha()).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let a = &res.body["attribution"];
    assert_eq!(strings(&a["accusers"]), ["am-mod"]);
    assert_eq!(strings(&a["deniers"]), ["az-mod"]);
    assert_eq!(strings(&a["confirmers"]), ["euma"]);
    assert_eq!((a["denied"].clone(), a["disputed"].clone()), (json!(true), json!(true)));
    let claims = res.body["claims"].as_array().unwrap();
    assert_eq!(claims[1]["responds_to"], claims[0]["id"]);
    let fetched = app.get(&format!("/v1/incidents/{}", res.body["id"].as_str().unwrap())).await;
    assert_eq!(fetched.body, res.body, "a read returns what the write answered");
}

#[tokio::test]
async fn acknowledgement_ends_the_dispute() {
    let app = spawn_app().await;
    app.seed().await;
    let id = new_incident(&app).await;
    let claims = format!("/v1/incidents/{id}/claims");
    app.post(&claims, &json!({"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces"})).await;
    app.post(&claims, &json!({"claimant": "az-mod", "stance": "denies"})).await;
    let a = &app.get(&format!("/v1/incidents/{id}")).await.body["attribution"];
    assert_eq!((a["denied"].clone(), a["disputed"].clone()), (json!(true), json!(true)));
    app.post(&claims, &json!({"claimant": "az-armed-forces", "stance": "acknowledges"})).await;
    let a = &app.get(&format!("/v1/incidents/{id}")).await.body["attribution"];
    assert_eq!(strings(&a["acknowledged_by"]), ["az-armed-forces"]);
    assert_eq!((a["denied"].clone(), a["disputed"].clone()), (json!(true), json!(false)));
}

#[tokio::test]
async fn stance_rules_are_enforced() {
    let app = spawn_app().await;
    app.seed().await;
    let id = new_incident(&app).await;
    let other = new_incident(&app).await;
    let claims = format!("/v1/incidents/{id}/claims");
    let accusation =
        app.post(&claims, &json!({"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces"})).await;
    let accusation_id = accusation.body["id"].as_str().unwrap().to_string();
    let confirmation = app.post(&claims, &json!({"claimant": "euma", "stance": "confirms"})).await;
    let confirmation_id = confirmation.body["id"].as_str().unwrap().to_string();
    let elsewhere = app
        .post(
            &format!("/v1/incidents/{other}/claims"),
            &json!({"claimant": "am-mod", "stance": "accuses", "target": "az-mod"}),
        )
        .await;
    let elsewhere_id = elsewhere.body["id"].as_str().unwrap().to_string();

    let before = app.row_counts().await;
    let cases = [
        (json!({"claimant": "am-mod", "stance": "accuses"}), "/target", "an accusation needs a target"),
        (json!({"claimant": "am-mod", "stance": "accuses", "target": "armenia"}), "/target", "own side"),
        (json!({"claimant": "az-mod", "stance": "accuses", "target": "az-armed-forces"}), "/target", "own side"),
        (json!({"claimant": "az-mod", "stance": "retracts"}), "/responds_to", "names the claim"),
        (
            json!({"claimant": "az-mod", "stance": "retracts", "responds_to": accusation_id}),
            "/responds_to",
            "own claims",
        ),
        (
            json!({"claimant": "az-mod", "stance": "denies", "responds_to": elsewhere_id}),
            "/responds_to",
            "on this incident",
        ),
        (
            json!({"claimant": "az-mod", "stance": "denies", "responds_to": confirmation_id}),
            "/responds_to",
            "answers an accusation",
        ),
        (json!({"claimant": "az-mod", "stance": "denies", "target": "am-mod"}), "/target", "takes no target"),
        (json!({"claimant": "atlantis", "stance": "confirms"}), "/claimant", "no party"),
        (json!({"claimant": "am-mod", "stance": "accuses", "target": "atlantis"}), "/target", "no party"),
        (json!({"claimant": "am-mod", "stance": "threatens"}), "/stance", "unknown variant"),
        (
            json!({"claimant": "am-mod", "stance": "confirms", "responds_to_index": 0}),
            "/responds_to_index",
            "new incident",
        ),
        (
            json!({"claimant": "am-mod", "stance": "confirms", "source_url": "javascript:alert(1)"}),
            "/source_url",
            "http",
        ),
        (
            json!({"claimant": "am-mod", "stance": "confirms", "stated_at": "2999-01-01T00:00:00Z"}),
            "/stated_at",
            "future",
        ),
    ];
    for (body, pointer, words) in cases {
        let res = app.post(&claims, &body).await;
        assert_eq!(res.assert_problem(422), vec![pointer.to_string()], "{body}: {}", res.text);
        assert!(res.text.contains(words), "{body}: {}", res.text);
    }
    assert_eq!(app.row_counts().await, before, "rejected claims changed nothing");

    app.post(
        &format!("/v1/incidents/{}/claims", uuid::Uuid::now_v7()),
        &json!({"claimant": "euma", "stance": "confirms"}),
    )
    .await
    .assert_problem(404);
}

#[tokio::test]
async fn claims_are_listed_with_filters() {
    let app = spawn_app().await;
    app.seed().await;
    let a = new_incident(&app).await;
    let b = new_incident(&app).await;
    for (incident, body) in [
        (
            &a,
            json!({"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces", "stated_at": "2023-08-15T10:00:00Z"}),
        ),
        (&a, json!({"claimant": "az-mod", "stance": "denies", "stated_at": "2023-08-15T11:00:00Z"})),
        (
            &b,
            json!({"claimant": "az-mod", "stance": "accuses", "target": "am-armed-forces", "stated_at": "2023-08-16T10:00:00Z"}),
        ),
        (
            &b,
            json!({"claimant": "euma", "stance": "confirms", "target": "am-armed-forces", "stated_at": "2023-08-17T10:00:00Z"}),
        ),
    ] {
        assert_eq!(app.post(&format!("/v1/incidents/{incident}/claims"), &body).await.status, 201);
    }
    let count = |q: &str| {
        let q = q.to_string();
        let app = &app;
        async move {
            app.get(&format!("/v1/claims?{q}")).await.body["data"].as_array().map(|d| d.len()).unwrap_or(usize::MAX)
        }
    };
    assert_eq!(count("").await, 4);
    assert_eq!(count(&format!("incident_id={a}")).await, 2);
    assert_eq!(count("claimant=az-mod").await, 2);
    assert_eq!(count("stance=accuses,denies").await, 3);
    assert_eq!(count("stance=accuses&stance=confirms").await, 3);
    assert_eq!(count("target=am-armed-forces").await, 2);
    assert_eq!(count("from=2023-08-16").await, 2);
    assert_eq!(count("from=2023-08-15T10:30:00Z&to=2023-08-17").await, 2);
    let page = app.get("/v1/claims?limit=3").await;
    assert_eq!(page.body["data"].as_array().unwrap().len(), 3);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app.get(&format!("/v1/claims?limit=3&cursor={cursor}")).await;
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 1);
    assert!(rest.body["next_cursor"].is_null());
    let one = &page.body["data"][0];
    assert_eq!(app.get(&format!("/v1/claims/{}", one["id"].as_str().unwrap())).await.body, *one);
    app.get("/v1/claims?stance=shouts").await.assert_problem(400);
}
