//! The test harness: every test gets a database of its own, cloned from a
//! migrated template, and the real application on a free port.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ceasefire::config::{DatabaseArgs, HttpArgs, LocalDbArgs};
use ceasefire::domain::Role;
use ceasefire::startup::Application;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::Value;

/// The maintenance database URL of the throwaway cluster (`scripts/test` sets it).
fn admin_url() -> String {
    std::env::var("DATABASE_URL").expect("DATABASE_URL must name a PostgreSQL server for the tests: run ./scripts/test")
}

pub fn url_for(database: &str) -> String {
    let admin = admin_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin);
    format!("{base}/{database}")
}

/// The template's name changes with the migrations, so a stale template is never used.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap().flatten() {
            entry.file_name().hash(&mut h);
            std::fs::read(entry.path().join("up.sql")).unwrap_or_default().hash(&mut h);
        }
        format!("ceasefire_template_{:x}", h.finish())
    })
}

/// Creates the migrated template once across all test processes (an
/// advisory lock serialises them).
async fn ensure_template(admin: &mut AsyncPgConnection) {
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    admin.batch_execute("SELECT pg_advisory_lock(4242)").await.unwrap();
    let name = template_name();
    let found: Vec<Exists> = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .load(admin)
        .await
        .unwrap();
    if found[0].n == 0 {
        let building = format!("{name}_building");
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {building}")).await.unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {building}")).await.unwrap();
        let url = url_for(&building);
        ceasefire::db::run_migrations_blocking(&url).expect("migrating the template");
        admin.batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}")).await.unwrap();
    }
    admin.batch_execute("SELECT pg_advisory_unlock(4242)").await.unwrap();
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db_name: String,
    /// An admin key, sent by the write helpers.
    pub token: String,
}

/// Starts the application on a fresh database, with no rate limit.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(HttpArgs { workers: Some(1), rate_limit: 0, ..HttpArgs::default() }).await
}

/// Starts the application with these HTTP settings.
pub async fn spawn_app_with(http: HttpArgs) -> TestApp {
    spawn_app_with_pool(http, 5, 5000, 30000).await
}

/// Starts the application with these HTTP and database pool settings.
pub async fn spawn_app_with_pool(
    http: HttpArgs,
    pool_size: usize,
    pool_timeout_ms: u64,
    statement_timeout_ms: u64,
) -> TestApp {
    let mut admin = AsyncPgConnection::establish(&admin_url()).await.expect("connecting to the test server");
    ensure_template(&mut admin).await;
    let db_name = format!("test_{}", uuid::Uuid::new_v4().simple());
    // Concurrent clones of one template can collide briefly; retry.
    let mut attempts = 0;
    loop {
        match admin.batch_execute(&format!("CREATE DATABASE {db_name} TEMPLATE {}", template_name())).await {
            Ok(()) => break,
            Err(e) if attempts < 50 => {
                attempts += 1;
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("creating {db_name}: {e}"),
        }
    }
    let database = DatabaseArgs {
        database_url: Some(url_for(&db_name)),
        database_read_url: None,
        local: LocalDbArgs { local_db_dir: ".local/unused".into(), local_db_port: 0 },
        pool_size,
        pool_timeout_ms,
        statement_timeout_ms,
    };
    let app = Application::build("127.0.0.1:0".parse().unwrap(), &database, &http).await.expect("starting the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut test_app = TestApp { address, client, db_name, token: String::new() };
    test_app.token = test_app.create_key("test admin", Role::Admin).await;
    test_app
}

impl TestApp {
    /// Starts another instance of the application on this test's database
    /// (as a second server behind a load balancer would be); its address.
    pub async fn another_instance(&self, http: HttpArgs) -> String {
        let database = DatabaseArgs {
            database_url: Some(url_for(&self.db_name)),
            database_read_url: None,
            local: LocalDbArgs { local_db_dir: ".local/unused".into(), local_db_port: 0 },
            pool_size: 5,
            pool_timeout_ms: 5000,
            statement_timeout_ms: 30000,
        };
        let app = Application::build("127.0.0.1:0".parse().unwrap(), &database, &http).await.expect("starting the app");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        address
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let name = self.db_name.clone();
        // Drop runs inside the test's runtime; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url()).await {
                    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// Asserts a problem+json answer with this status and returns its pointers.
    #[track_caller]
    pub fn assert_problem(&self, status: u16) -> Vec<String> {
        assert_eq!(self.status, status, "expected {status}, got {}: {}", self.status, self.text);
        assert!(
            self.content_type().starts_with("application/problem+json"),
            "not problem+json: {} {}",
            self.content_type(),
            self.text
        );
        assert_eq!(self.body["status"], status, "{}", self.text);
        assert!(self.body["type"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(self.body["title"].is_string() && self.body["detail"].is_string(), "{}", self.text);
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().map(|e| e["pointer"].as_str().unwrap_or_default().to_string()).collect())
            .unwrap_or_default()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.expect("request failed");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, body, text }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(self.url(path))).await
    }

    /// A GET with this key.
    pub async fn get_as(&self, path: &str, key: &str) -> Answer {
        self.send(self.client.get(self.url(path)).bearer_auth(key)).await
    }

    /// A POST as the admin.
    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.client.post(self.url(path)).bearer_auth(&self.token).json(body)).await
    }

    /// A POST as the admin with a body sent as it is, for malformed input.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Answer {
        self.send(
            self.client.post(self.url(path)).bearer_auth(&self.token).header("content-type", content_type).body(body),
        )
        .await
    }

    pub async fn post_with_key(&self, path: &str, body: &Value, key: &str) -> Answer {
        self.send(self.client.post(self.url(path)).bearer_auth(&self.token).header("Idempotency-Key", key).json(body))
            .await
    }

    /// A merge patch as the admin.
    pub async fn patch(&self, path: &str, body: &Value, if_match: Option<&str>) -> Answer {
        let mut req = self
            .client
            .patch(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string());
        if let Some(tag) = if_match {
            req = req.header("If-Match", tag);
        }
        self.send(req).await
    }

    /// A DELETE as the admin.
    pub async fn delete(&self, path: &str, if_match: Option<&str>) -> Answer {
        let mut req = self.client.delete(self.url(path)).bearer_auth(&self.token);
        if let Some(tag) = if_match {
            req = req.header("If-Match", tag);
        }
        self.send(req).await
    }

    pub fn pool(&self) -> ceasefire::db::DbPool {
        let database = DatabaseArgs {
            database_url: Some(url_for(&self.db_name)),
            database_read_url: None,
            local: LocalDbArgs { local_db_dir: ".local/unused".into(), local_db_port: 0 },
            pool_size: 1,
            pool_timeout_ms: 5000,
            statement_timeout_ms: 30000,
        };
        ceasefire::db::build_pool(&url_for(&self.db_name), &database).unwrap()
    }

    /// Loads the reference parties through the same code as `ceasefire seed`.
    pub async fn seed(&self) {
        ceasefire::seed::load(&self.pool()).await.unwrap();
    }

    /// The gazetteer's places only, without the parties.
    pub async fn seed_places(&self) {
        let mut conn = self.pool().get().await.unwrap();
        ceasefire::ledger::places::insert_missing(&mut conn, &ceasefire::gazetteer::places()).await.unwrap();
    }

    /// A new key, through the same code as `ceasefire keys create`.
    pub async fn create_key(&self, name: &str, role: Role) -> String {
        let mut conn = self.pool().get().await.unwrap();
        ceasefire::ledger::keys::create_key(&mut conn, name, role).await.unwrap().key.unwrap()
    }

    /// Rows in every table, to show that a rejected write changed nothing.
    pub async fn row_counts(&self) -> BTreeMap<String, i64> {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = Text)]
            name: String,
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = AsyncPgConnection::establish(&url_for(&self.db_name)).await.unwrap();
        let tables = [
            "parties",
            "incidents",
            "claims",
            "sources",
            "external_ids",
            "incident_parties",
            "revisions",
            "idempotency_keys",
        ];
        let sql = tables
            .iter()
            .map(|t| format!("SELECT '{t}' AS name, count(*) AS n FROM {t}"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let rows: Vec<Count> = diesel::sql_query(sql).load(&mut conn).await.unwrap();
        rows.into_iter().map(|c| (c.name, c.n)).collect()
    }

    /// A connection of its own to the test's database.
    pub async fn db(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&url_for(&self.db_name)).await.unwrap()
    }

    /// Waits until the background fold has moved every change into the
    /// rollups of the counts.
    pub async fn wait_for_rollups(&self) {
        for _ in 0..300 {
            if self.sql_count("SELECT stat_waiting() AS n").await == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the rollups were not folded within 30 s");
    }

    /// Runs SQL on the test's database (for checks the API cannot make).
    pub async fn sql_count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = AsyncPgConnection::establish(&url_for(&self.db_name)).await.unwrap();
        let rows: Vec<Count> = diesel::sql_query(sql).load(&mut conn).await.unwrap();
        rows[0].n
    }
}

/// The Verin Shorzha incident of DESIGN.md, with its first three claims.
pub fn verin_shorzha() -> Value {
    ceasefire::domain::incident::verin_shorzha_example()
}

/// A minimal valid incident.
pub fn incident(occurred_at: &str, kind: &str) -> Value {
    serde_json::json!({
        "occurred_at": occurred_at,
        "type": kind,
        "location": {"name": "Sotk", "border_sector": "sotk-kalbajar", "country": "AM", "lat": 40.2, "lon": 45.9},
        "title": "Mortar fire reported",
    })
}
