//! `dipr bench`: a load generator run in its own process against a live server (see docs/BENCHMARKS.md).
//!
//! Phases: sign up one applicant per worker; create drafts (measured: drafts/s); submit them
//! (measured: submissions/s); then search the public register for a fixed time (measured: searches/s).
//! Each phase reports throughput and p50/p99/max latency.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;

use crate::client::Client;

#[derive(clap::Subcommand)]
pub enum BenchCmd {
    /// HTTP load against a running server: drafts, submissions, public search.
    Http(BenchArgs),
    /// The ledger: in-memory appends, proofs at 1M and 10M leaves, certificate verification, and
    /// durable batched appends on SQLite (and PostgreSQL with --postgres-url).
    Ledger(crate::bench_ledger::LedgerBenchArgs),
    /// Discovery over an index of registered products (SQLite).
    Discovery(crate::bench_discovery::DiscoveryBenchArgs),
    /// The statistics dashboard's queries over a large register (SQLite, and PostgreSQL if given).
    Stats(crate::bench_stats::StatsBenchArgs),
    /// Pages and API calls over HTTP on a register of a given size (SQLite, or PostgreSQL if given).
    Scale(crate::bench_scale::ScaleBenchArgs),
    /// The open register at size: watches and webhook deliveries, bulk export and check, the event stream to a
    /// verifying client (SQLite).
    Open(crate::bench_open::OpenBenchArgs),
}

#[derive(Args)]
pub struct BenchArgs {
    #[arg(long, env = "DIPR_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Concurrent workers (each with its own keep-alive connection).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Applications to file and submit in total.
    #[arg(long, default_value_t = 4000)]
    submissions: usize,
    /// How long to run the search phase.
    #[arg(long, default_value_t = 10)]
    search_seconds: u64,
    /// Send an `Idempotency-Key` with every draft and submission (measures what at-most-once costs).
    #[arg(long)]
    idempotency_keys: bool,
}

struct Phase {
    name: &'static str,
    /// When the phase began (wall clock), so the phases of benches run side by side can be lined up.
    began: SystemTime,
    elapsed: Duration,
    latencies: Vec<Duration>,
    errors: usize,
}

impl Phase {
    fn report(&mut self) -> serde_json::Value {
        self.latencies.sort();
        let n = self.latencies.len();
        let pct = |p: f64| {
            if n == 0 {
                0.0
            } else {
                self.latencies[((n as f64 * p) as usize).min(n - 1)].as_secs_f64() * 1e3
            }
        };
        let rate = n as f64 / self.elapsed.as_secs_f64();
        println!(
            "{:<12} {:>8} req  {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  errors {}",
            self.name,
            n,
            rate,
            pct(0.50),
            pct(0.99),
            pct(1.0),
            self.errors
        );
        let began = self.began.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        json!({"phase": self.name, "requests": n, "per_second": rate, "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": pct(1.0), "errors": self.errors, "began_unix": began, "ended_unix": began + self.elapsed.as_secs_f64()})
    }
}

/// Run `work(worker, i)` for every `i` in each worker's share, timing every call.
fn timed<F>(name: &'static str, workers: usize, per_worker: Vec<usize>, work: F) -> Phase
where
    F: Fn(usize, usize) -> Result<()> + Sync,
{
    let (began, start) = (SystemTime::now(), Instant::now());
    let results: Vec<(Vec<Duration>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let work = &work;
                let count = per_worker[w];
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(count);
                    let mut errors = 0;
                    for i in 0..count {
                        let t = Instant::now();
                        match work(w, i) {
                            Ok(()) => lat.push(t.elapsed()),
                            Err(_) => errors += 1,
                        }
                    }
                    (lat, errors)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker panicked")).collect()
    });
    let elapsed = start.elapsed();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for (l, e) in results {
        latencies.extend(l);
        errors += e;
    }
    Phase { name, began, elapsed, latencies, errors }
}

fn credit_code(seed: u64) -> String {
    let body = format!("91310000{:09}", seed % 1_000_000_000);
    let check = dipr_domain::ids::credit_code_check(body.as_bytes()).expect("digits") as char;
    format!("{body}{check}")
}

pub fn run(cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Http(args) => run_http(args),
        BenchCmd::Ledger(args) => crate::bench_ledger::run(args),
        BenchCmd::Discovery(args) => crate::bench_discovery::run(args),
        BenchCmd::Stats(args) => crate::bench_stats::run(args),
        BenchCmd::Scale(args) => crate::bench_scale::run(args),
        BenchCmd::Open(args) => crate::bench_open::run(args),
    }
}

fn run_http(args: BenchArgs) -> Result<()> {
    let workers = args.concurrency.max(1);
    let anon = Client::new(&args.server, None);
    anon.call("GET", "/healthz", None).context("is the server running?")?;
    let run_id = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;

    // Setup (not measured): one applicant account per worker.
    let mut clients = Vec::new();
    for w in 0..workers {
        let username = format!("bench-{run_id}-{w}");
        let party = json!({"kind": "legal_person", "name": format!("压测企业{run_id}-{w}"), "id_number": credit_code(run_id * 64 + w as u64)});
        let password = "bench-password-123";
        anon.call("POST", "/api/v1/auth/signup", Some(json!({"username": username, "password": password, "display_name": username, "role": "applicant", "party": party})))?;
        let t = anon.call("POST", "/api/v1/auth/signin", Some(json!({"username": username, "password": password})))?;
        clients.push(Client::new(&args.server, t["token"].as_str().map(str::to_string)).keyed(args.idempotency_keys));
    }
    let per_worker: Vec<usize> =
        (0..workers).map(|w| args.submissions / workers + usize::from(w < args.submissions % workers)).collect();
    let form = |w: usize, i: usize| {
        json!({"form": {
            "product_name": format!("压测数据产品 {run_id}-{w}-{i}"),
            "object_type": "data_collection",
            "industry": "finance",
            "scenarios": ["风险评估"],
            "summary": "压测用数据集合",
            "sources": [{"kind": "self_collected", "description": "自有系统采集"}],
            "legality_statement": "合法取得",
            "no_infringement_commitment": true,
            "processing": "清洗、脱敏、聚合",
            "structure": [{"name": "id", "type": "string"}],
            "format": "csv",
            "update_frequency": "monthly",
            "samples": ["id=1"],
            "contact": {"name": "测试"}
        }})
    };
    let ids: Vec<std::sync::Mutex<Vec<String>>> = (0..workers).map(|_| std::sync::Mutex::new(Vec::new())).collect();
    let mut drafts = timed("drafts", workers, per_worker.clone(), |w, i| {
        let a = clients[w].call("POST", "/api/v1/applications", Some(form(w, i)))?;
        ids[w].lock().expect("lock").push(a["id"].as_str().unwrap_or_default().to_string());
        Ok(())
    });
    let ids: Vec<Vec<String>> = ids.into_iter().map(|m| m.into_inner().expect("lock")).collect();
    let mut submits = timed("submissions", workers, ids.iter().map(Vec::len).collect(), |w, i| {
        clients[w].call("POST", &format!("/api/v1/applications/{}/submit", ids[w][i]), None).map(|_| ())
    });

    const QUERIES: &[&str] = &["语料", "指数", "数据集", "交通", "金融", "模型", "上海", "算法"];
    let deadline = Instant::now() + Duration::from_secs(args.search_seconds);
    let searchers: Vec<Client> = (0..workers).map(|_| Client::new(&args.server, None)).collect();
    let (began, start) = (SystemTime::now(), Instant::now());
    let results: Vec<(Vec<Duration>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = searchers
            .iter()
            .enumerate()
            .map(|(w, c)| {
                s.spawn(move || {
                    let mut lat = Vec::new();
                    let mut errors = 0;
                    let mut i = w;
                    while Instant::now() < deadline {
                        let q = QUERIES[i % QUERIES.len()];
                        let path = format!(
                            "/api/v1/public/records?q={}",
                            q.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
                        );
                        let t = Instant::now();
                        match c.call("GET", &path, None) {
                            Ok(_) => lat.push(t.elapsed()),
                            Err(_) => errors += 1,
                        }
                        i += 1;
                    }
                    (lat, errors)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker panicked")).collect()
    });
    let mut search = Phase { name: "searches", began, elapsed: start.elapsed(), latencies: Vec::new(), errors: 0 };
    for (l, e) in results {
        search.latencies.extend(l);
        search.errors += e;
    }
    let report = json!({
        "server": args.server,
        "concurrency": workers,
        "idempotency_keys": args.idempotency_keys,
        "phases": [drafts.report(), submits.report(), search.report()],
    });
    eprintln!("{}", serde_json::to_string(&report)?);
    Ok(())
}
