//! The pieces every fault scenario is made of: a PostgreSQL cluster of its
//! own, the real `ceasefire` binary as a child process, nginx, and a load
//! of concurrent writers that remembers what was acknowledged.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{json, Value};
use tokio::sync::Mutex;

/// The binary under test, built by cargo for this test target.
pub const BIN: &str = env!("CARGO_BIN_EXE_ceasefire");

/// Scenarios stop servers and clusters and time recoveries: one at a time.
pub static SERIAL: Mutex<()> = Mutex::const_new(());

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PostgreSQL cluster in a directory of its own, removed on drop.
pub struct Cluster {
    root: PathBuf,
    data: PathBuf,
    pub port: u16,
}

impl Cluster {
    /// Creates and starts a new cluster with the `ceasefire` database.
    pub fn start(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!("ceasefire-faults-{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&root).unwrap();
        // PostgreSQL runs as `postgres` when the tests run as root.
        run_ok(Command::new("chmod").arg("777").arg(&root), "chmod");
        let cluster = Self { data: root.join("pg"), root, port: free_port() };
        cluster.start_again();
        cluster
    }

    /// A streaming replica of this cluster, made by `pg_basebackup`.
    pub fn replica(&self) -> Self {
        let data = self.root.join("replica");
        let bin = ceasefire::db::local::bin_dir().unwrap();
        let port = self.port.to_string();
        let target = data.to_string_lossy().into_owned();
        run_ok(
            &mut ceasefire::db::local::pg_command(
                &bin,
                "pg_basebackup",
                &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-D", &target, "-R", "-X", "stream", "-c", "fast"],
            ),
            "pg_basebackup",
        );
        let replica = Self { root: self.root.join("replica-root"), data, port: free_port() };
        std::fs::create_dir_all(&replica.root).unwrap();
        replica.start_again();
        replica
    }

    /// `ceasefire local-db ACTION` for this cluster.
    fn local_db(&self, action: &str) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(["local-db", action, "--local-db-port", &self.port.to_string(), "--local-db-dir"]).arg(&self.data);
        cmd
    }

    pub fn start_again(&self) {
        run_ok(&mut self.local_db("start"), "ceasefire local-db start");
    }

    /// A fast shutdown: running transactions are cancelled, as in an outage.
    pub fn stop(&self) {
        run_ok(&mut self.local_db("stop"), "ceasefire local-db stop");
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/ceasefire", self.port)
    }

    /// One number from SQL run on this cluster.
    pub async fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        use diesel_async::RunQueryDsl;
        let mut conn = AsyncPgConnection::establish(&self.url()).await.expect("connecting to the cluster");
        let rows: Vec<N> = diesel::sql_query(sql).load(&mut conn).await.expect(sql);
        rows[0].n
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.local_db("stop").output();
        let _ = std::fs::remove_dir_all(&self.root);
        if self.data.starts_with(std::env::temp_dir()) {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}

/// Loads the reference parties and returns a new admin key.
pub fn prepare(cluster: &Cluster) -> String {
    run_ok(Command::new(BIN).arg("migrate").env("DATABASE_URL", cluster.url()), "ceasefire migrate");
    run_ok(Command::new(BIN).arg("seed").env("DATABASE_URL", cluster.url()), "ceasefire seed");
    let out = run_ok(
        Command::new(BIN)
            .args(["keys", "create", "--name", "faults", "--role", "admin"])
            .env("DATABASE_URL", cluster.url()),
        "ceasefire keys create",
    );
    out.lines().last().unwrap().trim().to_string()
}

/// The real server, as a child process.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    pub fn spawn(database_url: &str, extra: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("ceasefire-faults-server-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", database_url)
            .env("CEASEFIRE_RATE_LIMIT", "0")
            .env("CEASEFIRE_WORKERS", "2")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(file.try_clone().unwrap());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("starting ceasefire serve");
        Self { child: Some(child), port, log }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// Waits for `/readyz` to answer 200; returns how long that took.
    pub async fn wait_ready(&self, within: Duration) -> Duration {
        wait_ready_at(&self.base(), within)
            .await
            .unwrap_or_else(|| panic!("{} not ready within {within:?}; log:\n{}", self.base(), self.log_text()))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill_hard(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }

    pub fn terminate(&self) {
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
    }

    /// Waits for the process to exit; returns its exit status code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status.code();
            }
            assert!(Instant::now() < deadline, "the server did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

pub async fn wait_ready_at(base: &str, within: Duration) -> Option<Duration> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let started = Instant::now();
    while started.elapsed() < within {
        if let Ok(res) = client.get(format!("{base}/readyz")).send().await {
            if res.status() == 200 {
                return Some(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// nginx in front of several servers, round robin.
pub struct Nginx {
    child: Child,
    root: PathBuf,
    pub port: u16,
}

impl Nginx {
    pub fn start(upstreams: &[u16]) -> Self {
        Self::with(upstreams, "      proxy_pass http://ceasefire;\n      proxy_next_upstream off;\n      proxy_set_header Host $host;\n      add_header X-Upstream $upstream_addr always;\n", "")
    }

    /// nginx caching in front of the instances with the directives of
    /// `docs/nginx/ceasefire-cache.conf`, as the README shows them.
    pub fn caching(upstreams: &[u16]) -> Self {
        let snippet = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/nginx/ceasefire-cache.conf");
        Self::with(
            upstreams,
            &format!("      include {snippet};\n"),
            "proxy_cache_path {root}/cache levels=1:2 keys_zone=ceasefire:10m max_size=1g inactive=1h use_temp_path=off;\n",
        )
    }

    /// nginx with these directives in `location /`, and these at the http level.
    fn with(upstreams: &[u16], location: &str, http: &str) -> Self {
        let nginx = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("nginx is not installed (Debian package nginx); scripts/faults installs it");
        let root = std::env::temp_dir().join(format!("ceasefire-faults-nginx-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&root).unwrap();
        let port = free_port();
        let servers: String = upstreams.iter().map(|p| format!("    server 127.0.0.1:{p};\n")).collect();
        let r = root.display();
        let http = http.replace("{root}", &r.to_string());
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {r}/nginx.pid;\nerror_log {r}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {r}/body;\n  proxy_temp_path {r}/proxy;\n\
             fastcgi_temp_path {r}/fastcgi;\n  uwsgi_temp_path {r}/uwsgi;\n  scgi_temp_path {r}/scgi;\n\
             client_body_buffer_size 1m;\n  upstream ceasefire {{\n{servers}    keepalive 16;\n  }}\n{http}\
             server {{\n    listen 127.0.0.1:{port};\n    location / {{\n{location}    }}\n  }}\n}}\n"
        );
        let conf_path = root.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(nginx)
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, root, port }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub fn title(n: usize) -> String {
    format!("Fire reported, load test #{n}")
}

/// An incident with one accusation, different every time.
pub fn incident(n: usize) -> Value {
    let minute = n % 60;
    let hour = (n / 60) % 24;
    json!({
        "occurred_at": format!("2024-03-0{}T{hour:02}:{minute:02}:00Z", 1 + n % 9),
        "type": "small_arms_fire",
        "location": {"name": "Sotk", "border_sector": "sotk-kalbajar", "country": "AM", "lat": 40.2, "lon": 45.9},
        "title": title(n),
        "claims": [{"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces",
                     "stated_at": "2024-03-10T12:00:00Z", "quote": format!("Statement #{n}")}],
    })
}

/// What a load of writes saw.
#[derive(Default, Debug)]
pub struct Tally {
    /// Ids of incidents whose creation was acknowledged with a 2xx.
    pub acknowledged: Vec<String>,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, usize>,
    /// Requests whose connection was refused: never accepted.
    pub refused: usize,
    /// Requests sent on an accepted connection that got no answer.
    pub cut_off: usize,
    /// Those requests: the incident's number and the Idempotency-Key sent.
    pub cut_off_requests: Vec<(usize, String)>,
    /// 5xx answers that were not problem+json 503s.
    pub bad_5xx: Vec<String>,
    pub slowest: Duration,
}

impl Tally {
    pub fn count(&self, status: u16) -> usize {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    pub fn five_xx(&self) -> usize {
        self.statuses.iter().filter(|(s, _)| **s >= 500).map(|(_, n)| n).sum()
    }

    pub fn summary(&self) -> String {
        format!(
            "acknowledged {}, answers by status {:?}, refused {}, cut off {}, slowest answer {} ms",
            self.acknowledged.len(),
            self.statuses,
            self.refused,
            self.cut_off,
            self.slowest.as_millis()
        )
    }
}

/// Writers POSTing incidents until `stop` is set; each keeps what it saw.
pub struct Load {
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Tally>>,
}

impl Load {
    pub fn start(base: &str, token: &str, writers: usize) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tasks = (0..writers)
            .map(|w| {
                let (base, token, stop) = (base.to_string(), token.to_string(), stop.clone());
                tokio::spawn(async move {
                    // A connection per request: a request either was accepted or was refused.
                    let client = reqwest::Client::builder()
                        .timeout(Duration::from_secs(30))
                        .pool_max_idle_per_host(0)
                        .build()
                        .unwrap();
                    let mut tally = Tally::default();
                    let mut n = w * 1_000_000;
                    while !stop.load(std::sync::atomic::Ordering::Acquire) {
                        n += 1;
                        let started = Instant::now();
                        let key = uuid::Uuid::new_v4().to_string();
                        let sent = client
                            .post(format!("{base}/v1/incidents"))
                            .bearer_auth(&token)
                            .header("Idempotency-Key", &key)
                            .json(&incident(n))
                            .send()
                            .await;
                        let res = match sent {
                            Ok(res) => res,
                            Err(e) => {
                                if e.is_connect() {
                                    tally.refused += 1;
                                } else {
                                    tally.cut_off += 1;
                                    tally.cut_off_requests.push((n, key));
                                }
                                tokio::time::sleep(Duration::from_millis(20)).await;
                                continue;
                            }
                        };
                        let status = res.status().as_u16();
                        let problem = res
                            .headers()
                            .get("content-type")
                            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("application/problem+json"));
                        let body = res.text().await;
                        tally.slowest = tally.slowest.max(started.elapsed());
                        let Ok(body) = body else {
                            tally.cut_off += 1;
                            tally.cut_off_requests.push((n, key));
                            continue;
                        };
                        *tally.statuses.entry(status).or_default() += 1;
                        if (200..300).contains(&status) {
                            let v: Value = serde_json::from_str(&body).unwrap();
                            tally.acknowledged.push(v["id"].as_str().unwrap().to_string());
                        } else if status >= 500 && (status != 503 || !problem) {
                            tally.bad_5xx.push(format!("{status}: {body}"));
                        }
                        if status == 503 {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                    tally
                })
            })
            .collect();
        Self { stop, tasks }
    }

    pub async fn finish(self) -> Tally {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        let mut all = Tally::default();
        for task in self.tasks {
            let t = task.await.unwrap();
            all.acknowledged.extend(t.acknowledged);
            for (s, n) in t.statuses {
                *all.statuses.entry(s).or_default() += n;
            }
            all.refused += t.refused;
            all.cut_off += t.cut_off;
            all.cut_off_requests.extend(t.cut_off_requests);
            all.bad_5xx.extend(t.bad_5xx);
            all.slowest = all.slowest.max(t.slowest);
        }
        all
    }
}

/// How many of these incident ids the database holds, with a claim each and
/// the revision that created them.
pub async fn whole_incidents(cluster: &Cluster, ids: &[String]) -> i64 {
    if ids.is_empty() {
        return 0;
    }
    let list = ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    cluster
        .count(&format!(
            "SELECT count(*) AS n FROM incidents i WHERE i.id IN ({list}) \
             AND EXISTS (SELECT 1 FROM claims c WHERE c.incident_id = i.id) \
             AND EXISTS (SELECT 1 FROM revisions r WHERE r.incident_id = i.id AND r.action = 'create')"
        ))
        .await
}

/// How many incidents of these numbers the database holds.
pub async fn stored(cluster: &Cluster, numbers: impl Iterator<Item = usize>) -> i64 {
    let list = numbers.map(|n| format!("'{}'", title(n))).collect::<Vec<_>>().join(",");
    if list.is_empty() {
        return 0;
    }
    cluster.count(&format!("SELECT count(*) AS n FROM incidents WHERE title IN ({list})")).await
}

/// Incidents anywhere in the database that are missing a part: an incident
/// with no claim or no creating revision, a claim with no incident revision.
pub async fn half_written(cluster: &Cluster) -> i64 {
    cluster
        .count(
            "SELECT (SELECT count(*) FROM incidents i WHERE NOT EXISTS \
               (SELECT 1 FROM claims c WHERE c.incident_id = i.id)) \
             + (SELECT count(*) FROM incidents i WHERE NOT EXISTS \
               (SELECT 1 FROM revisions r WHERE r.incident_id = i.id AND r.action = 'create')) \
             + (SELECT count(*) FROM claims c WHERE NOT EXISTS \
               (SELECT 1 FROM revisions r WHERE r.incident_id = c.incident_id)) AS n",
        )
        .await
}
