//! `dipr bench open`: the open register at size (see docs/BENCHMARKS.md). Loads `--products` registered
//! products through the store's write path, each with its registration logged under a signed checkpoint (a
//! watch with a webhook made first), then times matching the watch and delivering its alerts as signed
//! webhooks to a loopback receiver, the bulk export and its offline check (with the dump's size), and the event
//! stream read end to end by `dipr follow` over HTTP from a server in this process.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use dipr_ledger::certificate::{LogEntry, ENTRY_VERSION};
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{nodes_needed, tree_root, MapSource};
use dipr_store::{NewEvent, Store};

use crate::bench_stats::load_register;

#[derive(Args)]
pub struct OpenBenchArgs {
    /// Registered products to load (each with its logged registration).
    #[arg(long, default_value_t = 100_000)]
    products: u32,
}

/// An applicant account to watch with.
async fn watcher(store: &Arc<dyn Store>) -> Result<dipr_store::UserRecord> {
    let user = dipr_store::UserRecord {
        id: uuid::Uuid::now_v7(),
        username: format!("bench-watcher-{}", uuid::Uuid::now_v7().simple()),
        display_name: "bench watcher".into(),
        password_hash: String::new(),
        role: dipr_domain::access::Role::Applicant,
        party_id: None,
        disabled: false,
        email: None,
        must_change_password: false,
        created_at: chrono::Utc::now(),
    };
    let mut tx = store.begin().await?;
    tx.insert_user(&user).await?;
    tx.append_event(&NewEvent {
        at: user.created_at,
        actor_id: None,
        actor_name: "bench".into(),
        actor_role: dipr_domain::access::Role::System,
        subject_type: "user".into(),
        subject_id: user.id.to_string(),
        kind: "account_created".into(),
        from_state: None,
        to_state: None,
        reasons: String::new(),
        payload: serde_json::json!({}),
    })
    .await?;
    tx.commit().await?;
    Ok(user)
}

fn registered_event(app: &dipr_domain::application::Application) -> NewEvent {
    NewEvent {
        at: app.registration.as_ref().map_or(app.created_at, |r| r.registered_at),
        actor_id: None,
        actor_name: "bench".into(),
        actor_role: dipr_domain::access::Role::System,
        subject_type: "application".into(),
        subject_id: app.id.to_string(),
        kind: "notice_ended".into(),
        from_state: Some("public_notice".into()),
        to_state: Some("registered".into()),
        reasons: String::new(),
        payload: serde_json::json!({}),
    }
}

pub fn run(args: OpenBenchArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let dir = std::env::temp_dir().join(format!("dipr-bench-open-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = rt.block_on(measure(&dir, args.products));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(dir: &std::path::Path, n: u32) -> Result<()> {
    let store: Arc<dyn Store> = Arc::new(dipr_store::SqliteStore::open(&dir.join("dipr.db")).await?);
    let t = Instant::now();
    let products = load_register(&store, n, 0).await?;
    let signer = dipr_ledger::note::NoteSigner::generate("dipr-bench.localhost/log")?;
    let config = dipr_registry::Config {
        limits: dipr_registry::throttle::Limits { api_export_quota: 0, ..Default::default() },
        bulk_interval_secs: 0,
        webhooks: dipr_registry::watch_settings::WebhookSettings { allow_private: true, ..Default::default() },
        ..Default::default()
    };
    let key = signer.verifier();
    let state = dipr_registry::Registry::new(store.clone(), config, signer).await?;
    let signer = &state.signer;

    // A watcher with a webhook on a loopback receiver, watching a word one product name in twelve holds: every
    // registration logged below that matches is an alert to deliver.
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hook", receiver.local_addr()?);
    let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    tokio::spawn(async move { axum::serve(receiver, app).await });
    let watcher = watcher(&store).await?;
    let (endpoint, _) = dipr_registry::watches::create_endpoint(
        &state,
        &watcher,
        dipr_registry::watches::NewEndpoint { url: hook, description: "bench".into() },
    )
    .await?;
    let word = crate::bench_stats::DOMAINS[0];
    dipr_registry::watches::create_watch(
        &state,
        &watcher,
        dipr_registry::watches::NewWatch {
            kind: dipr_store::WatchKind::Search,
            target: word.into(),
            email: None,
            email_mode: Default::default(),
            endpoint_id: Some(endpoint.id),
        },
    )
    .await?;
    // Log each registration as the registry does: an audit event and its entry, one checkpoint per batch.
    for chunk in products.chunks(2_000) {
        let mut tx = store.begin().await?;
        let mut batch = Vec::with_capacity(chunk.len());
        for app in chunk {
            let e = registered_event(app);
            let event_id = tx.append_event(&e).await?;
            let reg = app.registration.as_ref().context("a loaded product is registered")?;
            let entry = LogEntry {
                v: ENTRY_VERSION.into(),
                event_id,
                at: e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                kind: e.kind.clone(),
                subject: app.id.to_string(),
                from_state: e.from_state.clone(),
                to_state: e.to_state.clone(),
                data: serde_json::json!({
                    "registration_number": reg.registration_number.to_string(),
                    "certificate_number": reg.certificate_number.to_string(),
                }),
            };
            batch.push((event_id, entry.to_bytes()));
        }
        let first = tx.log_append_batch(&batch).await?;
        let size = first + batch.len() as u64;
        let keys = nodes_needed(|r| tree_root(r, size));
        let root = tree_root(&MapSource(tx.log_nodes(&keys).await?), size)?;
        let note = Checkpoint { origin: signer.name().into(), size, root }.sign(signer);
        tx.insert_checkpoint(size, &note, chrono::Utc::now()).await?;
        tx.commit().await?;
    }
    println!("loaded {n} registered products with their log in {:.1} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let mut alerts = 0;
    loop {
        let r = dipr_registry::watches::dispatch(&state).await?;
        if r.alerts == 0 {
            break;
        }
        alerts += r.alerts;
    }
    let dispatch_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let report = dipr_registry::watches::deliver(&state).await?;
    let secs = t.elapsed().as_secs_f64();
    let got = received.load(std::sync::atomic::Ordering::Relaxed);
    anyhow::ensure!(got == u64::from(report.delivered), "{got} received, {} delivered", report.delivered);
    println!(
        "watches: {alerts} alerts matched (search {word:?}) in {dispatch_secs:.1} s; {} signed webhooks delivered to a \
         loopback receiver in {secs:.1} s = {:.0} deliveries/s ({} failed)",
        report.delivered,
        f64::from(report.delivered) / secs,
        report.failed
    );

    let dump = dir.join("dump");
    let t = Instant::now();
    let m = dipr_registry::bulk::export(&state, &dump).await?;
    let export_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let report = dipr_registry::bulk::check(&dump, &key)?;
    let check_secs = t.elapsed().as_secs_f64();
    println!("bulk export: {export_secs:.1} s; check: {check_secs:.1} s ({} registrations)", report.registrations);
    for f in &m.files {
        println!("  {:<24} {:>10.1} MiB  {:>9} rows", f.name, f.bytes as f64 / 1048576.0, f.rows);
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(dipr_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    // The server's side alone: every page fetched and discarded.
    let (base1, size) = (base.clone(), m.size);
    let t = Instant::now();
    let bytes = tokio::task::spawn_blocking(move || -> Result<u64> {
        let (mut after, mut bytes) = (None::<u64>, 0u64);
        loop {
            let q = after.map_or(String::new(), |a| format!("&after={a}"));
            let body = ureq::get(&format!("{base1}/api/v1/log/events?limit=1000{q}")).call()?.into_string()?;
            bytes += body.len() as u64;
            let page: serde_json::Value = serde_json::from_str(&body)?;
            after = page["last"].as_u64();
            if page["more"] != serde_json::json!(true) {
                return Ok(bytes);
            }
        }
    })
    .await??;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "event pages: {size} events served in {secs:.1} s = {:.0} events/s, {:.1} MiB of JSON (read, not verified)",
        size as f64 / secs,
        bytes as f64 / 1048576.0
    );
    let (state_file, out) = (dir.join("follow.json"), dir.join("events.jsonl"));
    let (key_text, base2) = (key.to_string(), base.clone());
    let t = Instant::now();
    tokio::task::spawn_blocking(move || {
        crate::follow::follow(crate::follow::FollowArgs::once(&base2, &key_text, &state_file, &out, 1000))
    })
    .await??;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "event stream: {} events read and verified by dipr follow in {secs:.1} s = {:.0} events/s (pages of 1000)",
        m.size,
        m.size as f64 / secs
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}
