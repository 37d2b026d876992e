//! The project-local PostgreSQL cluster: created from the system's
//! PostgreSQL binaries on first use, started on demand, kept between runs.
//!
//! PostgreSQL refuses to run as root, so when this process is root the
//! cluster belongs to, and runs as, the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::config::LocalDbArgs;

const DATABASE: &str = "ceasefire";

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    // Debian keeps each major version under /usr/lib/postgresql/<major>/bin; take the newest.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    bail!(
        "PostgreSQL's server binaries were not found. Install them with \
         `apt-get install -y postgresql` (Debian/Ubuntu), or give a DATABASE_URL"
    )
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a PostgreSQL binary, as the `postgres` user when we are root.
pub fn pg_command(bin: &Path, program: &str, args: &[&str]) -> Command {
    let exe = bin.join(program);
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.arg("-u").arg("postgres").arg("--").arg(exe).args(args);
        cmd
    } else {
        let mut cmd = Command::new(exe);
        cmd.args(args);
        cmd
    }
}

fn run(mut cmd: Command, what: &str) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn url(args: &LocalDbArgs) -> String {
    format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", args.local_db_port)
}

/// Creates the cluster when missing, starts it when stopped, creates the
/// application database, and returns its URL.
pub fn ensure_running(args: &LocalDbArgs) -> anyhow::Result<String> {
    let bin = bin_dir()?;
    std::fs::create_dir_all(&args.local_db_dir).with_context(|| format!("creating {}", args.local_db_dir.display()))?;
    let dir = args.local_db_dir.canonicalize()?;
    let dir_s = dir.to_string_lossy().into_owned();
    if is_root() {
        run(
            {
                let mut c = Command::new("chown");
                c.args(["-R", "postgres:postgres", &dir_s]);
                c
            },
            "chown",
        )?;
        let probe = Command::new("runuser").args(["-u", "postgres", "--", "test", "-w", &dir_s]).status()?;
        if !probe.success() {
            bail!(
                "the `postgres` user cannot write to {dir_s} (a parent directory is closed to it); \
                 choose another place with --local-db-dir or CEASEFIRE_LOCAL_DB_DIR"
            );
        }
    }
    if !dir.join("PG_VERSION").exists() {
        tracing::info!(dir = %dir_s, "creating the project-local PostgreSQL cluster");
        run(
            pg_command(&bin, "initdb", &["-D", &dir_s, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]),
            "initdb",
        )?;
    }
    let status = pg_command(&bin, "pg_ctl", &["-D", &dir_s, "status"]).output()?;
    if !status.status.success() {
        tracing::info!(dir = %dir_s, port = args.local_db_port, "starting the project-local PostgreSQL cluster");
        let opts =
            format!("-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={dir_s}", args.local_db_port);
        let log = dir.join("postgres.log").to_string_lossy().into_owned();
        run(
            pg_command(&bin, "pg_ctl", &["-D", &dir_s, "-l", &log, "-o", &opts, "-w", "-t", "60", "start"]),
            "pg_ctl start",
        )?;
    }
    wait_and_create_database(&bin, args, &dir_s)?;
    Ok(url(args))
}

fn wait_and_create_database(bin: &Path, args: &LocalDbArgs, dir: &str) -> anyhow::Result<()> {
    let port = args.local_db_port.to_string();
    let psql = |flag: &str, sql: &str| {
        pg_command(bin, "psql", &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d", "postgres", flag, sql])
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = psql("-tAc", &format!("SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")).output()?;
        if out.status.success() {
            if String::from_utf8_lossy(&out.stdout).trim() != "1" {
                run(psql("-c", &format!("CREATE DATABASE {DATABASE}")), "CREATE DATABASE")?;
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the cluster in {dir} did not accept connections on port {port}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn stop(args: &LocalDbArgs) -> anyhow::Result<()> {
    let bin = bin_dir()?;
    let dir = args.local_db_dir.canonicalize()?.to_string_lossy().into_owned();
    run(pg_command(&bin, "pg_ctl", &["-D", &dir, "-m", "fast", "-w", "stop"]), "pg_ctl stop")?;
    Ok(())
}
