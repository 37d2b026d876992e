use clap::Parser;

use ceasefire::config::{Cli, Command, KeysCommand, LocalDbCommand};
use ceasefire::{db, seed, startup::Application, telemetry};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => actix_web::rt::System::new().block_on(async move {
            let app = Application::build(args.bind, &args.database, &args.http).await?;
            app.run_until_stopped().await?;
            tracing::info!("stopped");
            Ok(())
        }),
        Command::Migrate(args) => {
            let url = db::resolve_url(&args)?;
            let applied = db::run_migrations_blocking(&url)?;
            println!(
                "applied {} migration(s){}",
                applied.len(),
                if applied.is_empty() { String::new() } else { format!(": {}", applied.join(", ")) }
            );
            Ok(())
        }
        Command::Openapi => {
            println!("{}", ceasefire::api::openapi_json());
            Ok(())
        }
        Command::Seed { example, database: args } => actix_web::rt::System::new().block_on(async move {
            let url = db::resolve_url(&args)?;
            db::run_migrations_blocking(&url)?;
            let pool = db::build_pool(&url, &args)?;
            let added = seed::load(&pool).await?;
            println!(
                "seeded: {} new part{}, {} new place{}",
                added.parties,
                if added.parties == 1 { "y" } else { "ies" },
                added.places,
                if added.places == 1 { "" } else { "s" }
            );
            if example {
                let added = seed::load_example(&pool).await?;
                println!("example: {added} new incident{}", if added == 1 { "" } else { "s" });
            }
            Ok(())
        }),
        Command::Import { file, on_existing, from, database } => actix_web::rt::System::new().block_on(async move {
            let url = db::resolve_url(&database)?;
            db::run_migrations_blocking(&url)?;
            let pool = db::build_pool(&url, &database)?;
            // Servers running on this database answer from whatever was
            // committed before this returns (see `answers::announced`).
            match from {
                ceasefire::import_layout::Layout::Ceasefire => {
                    ceasefire::import::run(&pool, &file, on_existing).await.map(drop)
                }
                layout => ceasefire::import_layout::run(&pool, std::path::Path::new(&file), layout).await.map(drop),
            }
        }),
        Command::RollupZones { set, database } => actix_web::rt::System::new().block_on(async move {
            let url = db::resolve_url(&database)?;
            db::run_migrations_blocking(&url)?;
            let pool = db::build_pool(&url, &database)?;
            let mut conn = pool.get().await?;
            if let Some(zones) = set {
                let zones = zones
                    .iter()
                    .map(|z| {
                        z.trim()
                            .parse::<chrono_tz::Tz>()
                            .map(|tz| tz.name().to_string())
                            .map_err(|_| anyhow::anyhow!("`{z}` is not an IANA time zone"))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let started = std::time::Instant::now();
                tracing::info!(?zones, "rebuilding the rollups of the counts beside the live ones; writers go on");
                let folded = ceasefire::store::rollup::set_zones(&mut conn, &zones).await?;
                println!("rolled up {folded} incidents in {:.1} s", started.elapsed().as_secs_f64());
            }
            println!("{}", ceasefire::store::rollup::zones(&mut conn).await?.join(","));
            Ok(())
        }),
        Command::Keys(KeysCommand::Create { name, role, database }) => {
            actix_web::rt::System::new().block_on(async move {
                let url = db::resolve_url(&database)?;
                db::run_migrations_blocking(&url)?;
                let pool = db::build_pool(&url, &database)?;
                let mut conn = pool.get().await?;
                let created = ceasefire::ledger::keys::create_key(&mut conn, &name, role)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
                println!(
                    "created {} key {} named {:?}; it is shown this once:",
                    created.view.role, created.view.id, created.view.name
                );
                println!("{}", created.key.unwrap_or_default());
                Ok(())
            })
        }
        Command::LocalDb(LocalDbCommand::Start(args)) => {
            println!("{}", db::local::ensure_running(&args)?);
            Ok(())
        }
        Command::LocalDb(LocalDbCommand::Stop(args)) => db::local::stop(&args),
    }
}
