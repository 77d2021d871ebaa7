//! `dipr bench scale`: the pages and API calls people use, timed over HTTP against a real server on a
//! register of a given size (see docs/BENCHMARKS.md).
//!
//! Loads `--products` registered products and `--transactions` transactions through the store's write
//! path (or reuses `--keep`), starts the server in this process on a loopback port, and times each request
//! `--runs` times over one keep-alive connection, one request at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use dipr_domain::application::Application;
use dipr_store::Store;

use crate::bench_stats::{load_register, DOMAINS, KINDS, REGIONS};

#[derive(Args)]
pub struct ScaleBenchArgs {
    /// Registered products to load.
    #[arg(long, default_value_t = 100_000)]
    products: u32,
    /// Transactions to load, spread over the products.
    #[arg(long, default_value_t = 100_000)]
    transactions: u32,
    /// Timed runs of each request.
    #[arg(long, default_value_t = 50)]
    runs: u32,
    /// Measure PostgreSQL (a fresh schema in this database) instead of SQLite.
    #[arg(long, env = "DIPR_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Keep the SQLite database here instead of deleting it (e.g. to serve it with `dipr serve`); if it
    /// exists already, measure it again without loading.
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
}

/// A loaded product's id, registration number and list cursor.
type Loaded = (String, String, String);

struct Case {
    name: String,
    path: String,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// The requests to time, built from what was loaded.
fn cases(products: &[Loaded]) -> Vec<Case> {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    };
    let case = |name: &str, path: String| Case { name: name.into(), path };
    let (mid_id, mid_number, mid_cursor) = &products[products.len() / 2];
    let mut out = vec![
        case("home page (/)", "/".into()),
        case("search page, one word (金融)", format!("/search?q={}", enc(DOMAINS[0]))),
        case("search page, one character (语)", format!("/search?q={}", enc("语"))),
        case(
            "search page, three words",
            format!("/search?q={}", enc(&format!("{} {} {}", REGIONS[1], DOMAINS[2], KINDS[3]))),
        ),
        case("search page, registration number", format!("/search?q={}", enc(mid_number))),
        case("search API, one word", format!("/api/v1/public/records?q={}", enc(DOMAINS[4]))),
        case("search API, holder words", format!("/api/v1/public/records?holder={}", enc(REGIONS[2]))),
        case("record page", format!("/records/{mid_id}")),
        case("record API", format!("/api/v1/public/records/{mid_id}")),
        case("dashboard, unfiltered (/stats)", "/stats".into()),
        case("dashboard, one industry", "/stats?industry=finance".into()),
        case("dashboard, one year", "/stats?from=2025-07-01&to=2026-06-30".into()),
        case("encumbrance search page", format!("/encumbrances?q={}", enc(&format!("{} {}", REGIONS[3], DOMAINS[5])))),
        case("encumbrance API", format!("/api/v1/encumbrances?q={}", enc(DOMAINS[6]))),
        case("public list API, page 1", "/api/v1/public/records?per_page=20".into()),
        case("public list API, page 500 (offset 9,980)", "/api/v1/public/records?per_page=20&page=500".into()),
        case("public list page, page 500", "/search?page=500".into()),
    ];
    // The deep page a client reaches by following `next` to the middle of the register.
    out.push(case(
        "public list API, after a cursor mid-register",
        format!("/api/v1/public/records?after={mid_cursor}"),
    ));
    out
}

fn run_http(base: &str, cases: Vec<Case>, runs: u32) -> Result<Vec<(String, f64, f64, f64)>> {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build();
    let mut out = Vec::new();
    for c in cases {
        let url = format!("{base}{}", c.path);
        // One untimed request: the first computes what later ones reuse (the statistics snapshot).
        let first = Instant::now();
        let status = agent.get(&url).call().map(|r| r.status()).unwrap_or_else(|e| match e {
            ureq::Error::Status(s, _) => s,
            ureq::Error::Transport(_) => 0,
        });
        let first = first.elapsed().as_secs_f64() * 1e3;
        anyhow::ensure!(status == 200, "{} answered {status}", c.path);
        let mut times = Vec::with_capacity(runs as usize);
        for _ in 0..runs {
            let t = Instant::now();
            let r = agent.get(&url).call()?;
            let _ = r.into_string()?;
            times.push(t.elapsed());
        }
        times.sort();
        let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
        println!("  {:<46} p50 {p50:>8.2} ms  p99 {p99:>8.2} ms  first {first:>8.1} ms", c.name);
        out.push((c.name, p50, p99, first));
    }
    Ok(out)
}

async fn measure(store: Arc<dyn Store>, products: Vec<Loaded>, runs: u32) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("dipr-bench-scale-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let signer = dipr_ledger::note::NoteSigner::generate("dipr-bench.localhost/log")?;
    let state = dipr_registry::Registry::new(store, dipr_registry::Config::default(), signer).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(dipr_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let cases = cases(&products);
    tokio::task::spawn_blocking(move || run_http(&base, cases, runs)).await??;
    let _ = stop.send(());
    server.await??;
    std::fs::remove_dir_all(dir).ok();
    Ok(())
}

/// Each product's id, registration number and list cursor.
fn ids(products: &[Application]) -> Vec<Loaded> {
    products
        .iter()
        .filter_map(|a| {
            let cursor = dipr_store::Cursor { updated_at_ms: a.updated_at.timestamp_millis(), id: a.id };
            Some((a.id.to_string(), a.registration.as_ref()?.registration_number.to_string(), cursor.to_string()))
        })
        .collect()
}

pub fn run(args: ScaleBenchArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let (store, products): (Arc<dyn Store>, Vec<Loaded>) = match &args.postgres_url {
            Some(url) => {
                let schema = format!("bench_scale_{}", std::process::id());
                println!("PostgreSQL, schema {schema}: {} products, {} transactions", args.products, args.transactions);
                let store: Arc<dyn Store> = Arc::new(dipr_store::PgStore::connect_in_schema(url, &schema).await?);
                let products = ids(&load_register(&store, args.products, args.transactions).await?);
                println!("  (the schema is kept: DROP SCHEMA {schema} CASCADE when done)");
                // A register in service has statistics: give autovacuum (one-minute naptime) time to analyze
                // the freshly loaded tables, or the planner guesses a handful of matches for every word.
                println!("  waiting 90 s for autovacuum to analyze the new tables");
                tokio::time::sleep(std::time::Duration::from_secs(90)).await;
                (store, products)
            }
            None => {
                let dir = std::env::temp_dir().join(format!("dipr-bench-scale-{}", std::process::id()));
                std::fs::create_dir_all(&dir)?;
                let db = args.keep.clone().unwrap_or_else(|| dir.join("bench.db"));
                let reuse = db.exists();
                println!("SQLite {}: {} products, {} transactions", db.display(), args.products, args.transactions);
                let store: Arc<dyn Store> = Arc::new(dipr_store::SqliteStore::open(&db).await?);
                let products = if reuse {
                    // The products around the middle of the newest-first list (found once, untimed).
                    let middle = dipr_store::Page::new((args.products / 200).max(1), 100);
                    println!("  reusing the database");
                    ids(&store.applications(&Default::default(), middle).await?.items)
                } else {
                    ids(&load_register(&store, args.products, args.transactions).await?)
                };
                let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                let wal = db.with_extension("db-wal");
                println!(
                    "  database {:.0} MiB (+ WAL {:.0} MiB)",
                    size(&db) as f64 / 1048576.0,
                    size(&wal) as f64 / 1048576.0
                );
                (store, products)
            }
        };
        anyhow::ensure!(!products.is_empty(), "no registered products to measure");
        measure(store, products, args.runs).await
    })
}
