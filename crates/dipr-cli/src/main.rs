//! `dipr`: run the registry server, administer it, and script against it as an applicant or examiner.

mod bench;
mod bench_discovery;
mod bench_ledger;
mod bench_open;
mod bench_scale;
mod bench_stats;
mod client;
mod fingerprint;
mod follow;
mod owner;
mod package;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use dipr_domain::access::{Actor, Role};
use dipr_registry::Config;
use dipr_registry::Registry;

#[derive(Parser)]
#[command(name = "dipr", version, about = "Registry for intellectual property in data products")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args, Clone)]
struct StoreArgs {
    /// Where the SQLite database and keys live (created on first start).
    #[arg(long, env = "DIPR_DATA_DIR", default_value = "data", global = true)]
    data_dir: PathBuf,
    /// Use this database instead of the embedded SQLite file, e.g. postgres://user@host/db.
    #[arg(long, env = "DIPR_DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    /// TOML configuration file (default: DATA_DIR/dipr.toml when it exists).
    #[arg(long, env = "DIPR_CONFIG", global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the registry server.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, env = "DIPR_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Seed a living demo registry (accounts, filings in every state) and allow moving the clock.
        #[arg(long)]
        demo: bool,
        /// Let administrators move the clock forward (test and demo servers only).
        #[arg(long)]
        adjustable_clock: bool,
    },
    /// Administer the registry directly on its database (no server needed).
    Admin {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: AdminCmd,
    },
    /// Talk to a running server as an applicant, agent or examiner.
    Client(client::ClientArgs),
    /// Benchmarks: HTTP load (run in a second process against a server) and the ledger.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// The registry's signing key.
    Key {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: KeyCmd,
    },
    /// Check the public log against its signed checkpoints.
    Ledger {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: LedgerCmd,
    },
    /// Fingerprint a dataset (CSV, TSV, JSON Lines, Parquet, spreadsheets) or an algorithm package (a
    /// directory, archive, git commit or model) locally; writes a signed manifest to file.
    Fingerprint(fingerprint::FingerprintArgs),
    /// Compare two models layer by layer (locally, both at hand): a table, a plot and an HTML report.
    CompareModels(package::CompareModelsArgs),
    /// Measure how much of your registered data is in a suspect dataset (locally).
    Contain(fingerprint::ContainArgs),
    /// Ask the registry which registered products a suspect dataset contains (sends only a sketch).
    Discover(fingerprint::DiscoverArgs),
    /// Prove that one record was in the registered data (reveals that record only).
    ProveRecord(fingerprint::ProveRecordArgs),
    /// Build a court-ready evidence bundle (certificate, manifest, containment, record proofs, HTML report).
    Evidence(fingerprint::EvidenceArgs),
    /// Check a record proof, offline, against a manifest or a certificate.
    VerifyRecord(fingerprint::VerifyRecordArgs),
    /// Bulk data: write the public register as files a mirror downloads, or check a downloaded dump.
    Bulk {
        #[command(subcommand)]
        command: BulkCmd,
    },
    /// Mirror the registry's public events: read them after the last index kept, verify each page against the
    /// signed checkpoint, append them as JSON Lines.
    Follow(follow::FollowArgs),
    /// Run a witness (C2SP tlog-witness): cosigns checkpoints of the logs it trusts, refuses forks.
    Witness {
        #[arg(long, env = "DIPR_WITNESS_LISTEN", default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// Where the witness keeps its key (witness.key, 0600) and state.
        #[arg(long, env = "DIPR_WITNESS_DATA_DIR", default_value = "witness-data")]
        data_dir: PathBuf,
        /// The witness's key name, e.g. witness.court.example.
        #[arg(long)]
        name: String,
        /// A log to witness, by its verifier key (`dipr key show`); repeatable.
        #[arg(long = "log")]
        logs: Vec<String>,
        /// Print the witness's verifier key and exit.
        #[arg(long)]
        show_key: bool,
    },
    /// Verify a certificate or an evidence bundle offline: signatures, log entry, inclusion proof,
    /// checkpoint, witnesses; for bundles also the manifest and every record proof. Exit 0 only if valid.
    /// This proves the certificate authentic, not that the registration is still in force: add --online
    /// (or open the public record) for its current status.
    Verify {
        /// The certificate or evidence bundle (JSON file).
        cert: PathBuf,
        /// The registry's verifier key (`name+id+key`), or a file holding it. Without it only
        /// self-consistency is checked, and the exit status is 1 unless --no-pin is given.
        #[arg(long)]
        trusted_key: Option<String>,
        /// Accept a check against the certificate's own key (self-consistency only) as a success.
        #[arg(long, conflicts_with = "trusted_key")]
        no_pin: bool,
        /// Witness policy: `witness <key>` lines and `quorum <n>`.
        #[arg(long)]
        witness_policy: Option<PathBuf>,
        /// A newer checkpoint with its consistency proof (JSON from /api/v1/log/proofs/consistency?old=N).
        #[arg(long)]
        newer_checkpoint: Option<PathBuf>,
        /// Also ask this registry for the record's current status (the only step that uses the network).
        #[arg(long)]
        online: Option<String>,
        /// Check the certificate's RFC 3161 time stamps against this TSA trust anchor (PEM; repeatable): each
        /// must be over the proof's checkpoint, and the report gives the TSA's time.
        #[arg(long)]
        tsa_ca: Vec<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Print the verifier key that checks the registry's checkpoints and certificates.
    Show,
}

#[derive(Subcommand)]
enum LedgerCmd {
    /// Recompute the tree from stored entries; name the first entry that differs. Exit 1 on any problem.
    Check,
    /// Write the latest signed checkpoint and every tile it needs as static files (DIR/checkpoint,
    /// DIR/tile/…), exactly as the server serves /log/checkpoint and /log/tile/…, for any web server or CDN.
    /// Incremental: tiles already there are kept; the checkpoint is written last.
    ExportTiles {
        /// The directory to write (created if missing); serve it at the log's URL prefix (…/log/).
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum BulkCmd {
    /// Write the dump: events.jsonl.gz (every public log entry), registrations (CSV with a BOM, and JSON
    /// Lines), encumbrances.csv.gz, statistics.json and manifest.json (every file and column, and the signed
    /// checkpoint it was made at).
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// The directory to write (created if missing; a dump there is replaced).
        #[arg(long)]
        to: PathBuf,
    },
    /// Check a downloaded dump against the log, offline: the events must rebuild the signed checkpoint exactly
    /// and the registrations must be exactly those the events issued. Exit 0 only if complete and unaltered.
    Check {
        dir: PathBuf,
        /// The registry's verifier key (`name+id+key`), or a file holding it.
        #[arg(long)]
        trusted_key: String,
    },
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Create an account; use it to bootstrap the first administrator.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "admin")]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input instead of the DIPR_PASSWORD variable.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an account's password (it was forgotten): every session and token of the account ends, and the
    /// account must change the password at its next sign-in.
    ResetPassword {
        #[arg(long)]
        username: String,
        /// Read the password from standard input instead of the DIPR_PASSWORD variable.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Seed the demo registry into the database.
    SeedDemo,
    /// Run the deadline timers once.
    RunTimers,
    /// Write a consistent copy of the SQLite database to a new file while the registry serves.
    Backup {
        /// The new file (never overwritten).
        #[arg(long)]
        to: PathBuf,
    },
    /// Put a backup in place of the database (stop every server first). Refused when the backup's log is
    /// behind what this registry has published, since signing on from it would fork the log.
    Restore {
        /// The backup file written by `dipr admin backup`.
        #[arg(long)]
        from: PathBuf,
    },
}

fn load_config(args: &StoreArgs, adjustable_clock: bool) -> Result<Config> {
    let path = args.config.clone().or_else(|| Some(args.data_dir.join("dipr.toml")).filter(|p| p.exists()));
    let mut config: Config = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let mut config: Config =
                toml::from_str(&text).with_context(|| format!("in configuration file {}", p.display()))?;
            // A file next to the configuration is named relative to it, wherever the server is started from.
            if let Some(dir) = p.parent() {
                for file in [config.seal_image.as_mut(), config.bulk_dir.as_mut()].into_iter().flatten() {
                    *file = dir.join(&*file);
                }
            }
            config
        }
        None => Config::default(),
    };
    config.adjustable_clock |= adjustable_clock;
    Ok(config)
}

fn database_url(args: &StoreArgs) -> String {
    match &args.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", args.data_dir.join("dipr.db").display()),
    }
}

async fn open_state(args: &StoreArgs, config: Config) -> Result<Arc<Registry>> {
    create_private_dir(&args.data_dir)?;
    let url = database_url(args);
    let signer = dipr_registry::ledger::load_or_create_signer(&args.data_dir, config.log_origin.as_deref())?;
    let store = dipr_store::open(&url).await.with_context(|| format!("opening the database ({})", redact(&url)))?;
    Registry::new(store, config, signer).await
}

/// Create the data directory readable by its owner only (it will hold keys).
fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A database URL with any password removed, for messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DIPR_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into files or a log collector.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if std::env::var("DIPR_LOG_FORMAT").as_deref() == Ok("json") {
        logs.json().init();
    } else {
        logs.init();
    }
    match cli.command {
        Cmd::Serve { store, listen, demo, adjustable_clock } => {
            runtime()?.block_on(serve(store, listen, demo, adjustable_clock))
        }
        Cmd::Admin { store, command } => runtime()?.block_on(admin(store, command)),
        Cmd::Client(args) => client::run(args),
        Cmd::Bench(cmd) => bench::run(cmd),
        Cmd::Fingerprint(a) => fingerprint::fingerprint(a),
        Cmd::Contain(a) => fingerprint::contain(a),
        Cmd::CompareModels(a) => package::compare_models(a),
        Cmd::Discover(a) => fingerprint::discover(a),
        Cmd::ProveRecord(a) => fingerprint::prove_record(a),
        Cmd::VerifyRecord(a) => fingerprint::verify_record(a),
        Cmd::Evidence(a) => fingerprint::evidence(a),
        Cmd::Follow(a) => follow::follow(a),
        Cmd::Bulk { command: BulkCmd::Export { store, to } } => runtime()?.block_on(async {
            let config = load_config(&store, false)?;
            let state = open_state(&store, config).await?;
            let m = dipr_registry::bulk::export(&state, &to).await?;
            let check = dipr_registry::bulk::check(&to, &state.signer.verifier())?;
            eprintln!(
                "wrote {} at log size {}: {} registrations, {} encumbrances (checked against the log)",
                to.display(),
                m.size,
                check.registrations,
                check.encumbrances
            );
            println!("{}", serde_json::to_string_pretty(&m)?);
            Ok(())
        }),
        Cmd::Bulk { command: BulkCmd::Check { dir, trusted_key: key } } => {
            let r = dipr_registry::bulk::check(&dir, &trusted_key(&key)?)?;
            println!(
                "complete: the {} events rebuild the signed checkpoint; {} registrations, each issued in the log, \
                 none missing; {} encumbrances",
                r.size, r.registrations, r.encumbrances
            );
            Ok(())
        }
        Cmd::Key { store, command: KeyCmd::Show } => {
            let config = load_config(&store, false)?;
            let signer = dipr_registry::ledger::load_signer(&store.data_dir, config.log_origin.as_deref())?;
            println!("{}", signer.verifier());
            Ok(())
        }
        Cmd::Ledger { store, command: LedgerCmd::Check } => runtime()?.block_on(ledger_check(store)),
        Cmd::Ledger { store, command: LedgerCmd::ExportTiles { dir } } => {
            runtime()?.block_on(ledger_export_tiles(store, dir))
        }
        Cmd::Verify { cert, trusted_key, no_pin, witness_policy, newer_checkpoint, online, tsa_ca, json } => {
            let opts = VerifyOptions { trusted_key, no_pin, witness_policy, newer_checkpoint, online, tsa_ca, json };
            verify(&cert, &opts)
        }
        Cmd::Witness { listen, data_dir, name, logs, show_key } => {
            runtime()?.block_on(witness(listen, data_dir, name, logs, show_key))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

async fn serve(store: StoreArgs, listen: SocketAddr, demo: bool, adjustable_clock: bool) -> Result<()> {
    let mut config = load_config(&store, adjustable_clock || demo)?;
    // Bound first, so that certificates issued from the start (the demo's too) link to where it listens.
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    if let Some(warning) = config.listening_on(listener.local_addr()?) {
        tracing::warn!("{warning}");
    }
    if config.bulk_dir.is_none() {
        config.bulk_dir = Some(store.data_dir.join("bulk"));
    }
    let state = open_state(&store, config).await?;
    // Refuse to start on a log behind what this registry has published (a restored backup, a rollback).
    let head = dipr_registry::head::HeadFile::open(&store.data_dir, &state.signer.verifier())?;
    state.keep_head(head).await.context("the database's log is behind this registry's signed checkpoints")?;
    if demo {
        let summary = dipr_registry::demo::seed(&state).await?;
        if !summary.already_seeded {
            tracing::info!(accounts = summary.accounts, applications = summary.applications, "demo data seeded");
        }
        eprintln!(
            "demo registry: sign in as admin, examiner1, examiner2, bank1, user01…user27 or agent1/agent2 \
             with the password {:?}",
            dipr_registry::demo::DEMO_PASSWORD
        );
    }
    eprintln!(
        "dipr listening on http://{} ({} database); public address {}",
        listener.local_addr()?,
        state.store.backend(),
        state.public_url()
    );
    dipr_server::serve(listener, state, stop_signal()).await
}

/// SIGINT (Ctrl-C) or SIGTERM (service managers, `kill`): stop accepting, answer what is in flight, exit.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("stopping: answering the requests in flight");
}

async fn admin(store: StoreArgs, command: AdminCmd) -> Result<()> {
    match command {
        AdminCmd::Backup { to } => return backup(&store, &to).await,
        AdminCmd::Restore { from } => return restore(&store, &from).await,
        _ => {}
    }
    let config = load_config(&store, false)?;
    let state = open_state(&store, config).await?;
    // Commands that write sign checkpoints too: never over a rolled-back log.
    let head = dipr_registry::head::HeadFile::open(&store.data_dir, &state.signer.verifier())?;
    state.keep_head(head).await.context("the database's log is behind this registry's signed checkpoints")?;
    match command {
        AdminCmd::CreateUser { username, role, display_name, password_stdin } => {
            let role = Role::parse(&role).filter(|r| matches!(r, Role::Admin | Role::Examiner | Role::Bank));
            let Some(role) = role else { bail!("--role must be admin, examiner or bank") };
            let password = read_password(password_stdin)?;
            let req = dipr_registry::accounts::NewAccount {
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username,
                password,
                role,
                party: None,
                email: None,
            };
            let by =
                Actor { user_id: None, name: "dipr admin (command line)".into(), role: Role::System, party_id: None };
            let (user, _) = dipr_registry::accounts::create_account(&state, req, &by, false)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
            println!("created {} {} ({})", user.role.as_str(), user.username, user.id);
        }
        AdminCmd::ResetPassword { username, password_stdin } => {
            let password = read_password(password_stdin)?;
            let Some(user) = state.store.user_by_username(&username).await? else { bail!("no account {username:?}") };
            let by =
                Actor { user_id: None, name: "dipr admin (command line)".into(), role: Role::System, party_id: None };
            let user = dipr_registry::passwords::reset_by_administrator(&state, &by, user.id, password)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
            println!("reset the password of {}: it must be changed at the next sign-in", user.username);
        }
        AdminCmd::SeedDemo => {
            let s = dipr_registry::demo::seed(&state).await?;
            println!("{}", serde_json::to_string_pretty(&s)?);
        }
        AdminCmd::RunTimers => {
            let r = dipr_registry::timers::run_once(&state).await?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        AdminCmd::Backup { .. } | AdminCmd::Restore { .. } => unreachable!("handled above"),
    }
    if let Some(head) = state.head() {
        dipr_registry::head::advance(state.store.as_ref(), head, &state.signer.verifier()).await?;
    }
    Ok(())
}

/// A password for `dipr admin`: from standard input, or from DIPR_PASSWORD (never an argument, which
/// other users of the machine can see).
fn read_password(stdin: bool) -> Result<String> {
    if stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s.trim_end_matches(['\n', '\r']).to_string())
    } else {
        std::env::var("DIPR_PASSWORD").context("give the password in DIPR_PASSWORD or with --password-stdin")
    }
}

/// `dipr admin backup`: copy, then check the copy's log against its own signed checkpoints.
async fn backup(args: &StoreArgs, to: &Path) -> Result<()> {
    let config = load_config(args, false)?;
    let key = dipr_registry::ledger::load_signer(&args.data_dir, config.log_origin.as_deref())?.verifier();
    let url = database_url(args);
    let store = dipr_store::open(&url).await.with_context(|| format!("opening the database ({})", redact(&url)))?;
    store.backup_to(to).await.with_context(|| format!("writing {}", to.display()))?;
    let copy = dipr_store::open(&format!("sqlite://{}", to.display())).await?;
    let report = dipr_registry::ledger::check(copy.as_ref(), &key, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if !report.ok {
        bail!("the backup {} does not check clean: {:?}", to.display(), report.problems);
    }
    println!(
        "backup written to {}: {} log entries, checked against their signed checkpoints. Keep the registry key \
         ({}) apart from it, as secret as it is; it is not in the backup.",
        to.display(),
        report.entries,
        args.data_dir.join("registry.key").display()
    );
    Ok(())
}

/// `dipr admin restore`: the backup replaces the database only when its log holds everything this registry
/// has published (the head kept in the data directory); the replaced files are kept beside it.
async fn restore(args: &StoreArgs, from: &Path) -> Result<()> {
    if args.database_url.is_some() {
        bail!("restore puts a SQLite backup in place; a PostgreSQL registry is restored with pg_restore (docs/OPERATIONS.md)");
    }
    let config = load_config(args, false)?;
    let key = dipr_registry::ledger::load_signer(&args.data_dir, config.log_origin.as_deref())?.verifier();
    let db = args.data_dir.join("dipr.db");
    let staged = args.data_dir.join("dipr.db.restoring");
    let _ = std::fs::remove_file(&staged);
    std::fs::copy(from, &staged).with_context(|| format!("copying {}", from.display()))?;
    let copy = dipr_store::SqliteStore::open(&staged).await?;
    let head = dipr_registry::head::HeadFile::open(&args.data_dir, &key)?.head();
    let report = dipr_registry::ledger::check(&copy, &key, head.as_ref()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    copy.close().await;
    if !report.ok {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(args.data_dir.join(format!("dipr.db.restoring{suffix}")));
        }
        bail!(
            "not restored: {}\nThe database was left as it was. Restore a backup taken after the newest published \
             checkpoint (size {}), or keep the current database.",
            report.problems.join("\n"),
            head.map_or(0, |h| h.size)
        );
    }
    // Nothing is deleted: the replaced database and its journal files are renamed.
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    for suffix in ["", "-wal", "-shm"] {
        let old = args.data_dir.join(format!("dipr.db{suffix}"));
        if old.exists() {
            std::fs::rename(&old, args.data_dir.join(format!("dipr.db.replaced-{stamp}{suffix}")))?;
        }
    }
    for suffix in ["-wal", "-shm"] {
        let staged_journal = args.data_dir.join(format!("dipr.db.restoring{suffix}"));
        if staged_journal.exists() {
            std::fs::rename(&staged_journal, args.data_dir.join(format!("dipr.db{suffix}")))?;
        }
    }
    std::fs::rename(&staged, &db)?;
    println!(
        "restored {} ({} log entries; it holds every checkpoint this registry has published); the replaced database \
         is kept as dipr.db.replaced-{stamp}",
        from.display(),
        report.entries
    );
    Ok(())
}

async fn ledger_check(store: StoreArgs) -> Result<()> {
    let config = load_config(&store, false)?;
    let state = open_state(&store, config).await?;
    let key = state.signer.verifier();
    let head = dipr_registry::head::HeadFile::open(&store.data_dir, &key)?.head();
    let started = std::time::Instant::now();
    let report = dipr_registry::ledger::check(state.store.as_ref(), &key, head.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "checked {} entries, {} stored hashes, {} checkpoints, {} events and {} records in {secs:.1} s ({:.0} entries/s)",
        report.entries,
        report.hashes_checked,
        report.checkpoints_checked,
        report.events_checked,
        report.records_checked,
        report.entries as f64 / secs.max(1e-9)
    );
    if !report.ok {
        std::process::exit(1);
    }
    Ok(())
}

/// Only the database is needed: no key (the checkpoints are signed already) and no configuration.
async fn ledger_export_tiles(store: StoreArgs, dir: PathBuf) -> Result<()> {
    let db = store.data_dir.join("dipr.db");
    if store.database_url.is_none() && !db.exists() {
        bail!("no registry database at {}: give --data-dir or --database-url", db.display());
    }
    let url = database_url(&store);
    let store = dipr_store::open(&url).await.with_context(|| format!("opening the database ({})", redact(&url)))?;
    let report = dipr_registry::tiles::export(store.as_ref(), &dir).await?;
    if report.size == 0 {
        eprintln!("the log is empty: nothing to export");
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn witness(listen: SocketAddr, data_dir: PathBuf, name: String, logs: Vec<String>, show_key: bool) -> Result<()> {
    let logs = logs
        .iter()
        .map(|k| dipr_ledger::note::NoteVerifier::parse(k).map_err(|e| anyhow::anyhow!("--log {k}: {e}")))
        .collect::<Result<Vec<_>>>()?;
    create_private_dir(&data_dir)?;
    let w = Arc::new(dipr_server::witness::Witness::open(&data_dir, &name, logs.clone())?);
    if show_key {
        println!("{}", w.verifier());
        return Ok(());
    }
    if logs.is_empty() {
        bail!("name at least one log to witness with --log <verifier key>");
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    eprintln!("dipr witness {} listening on http://{}; key {}", name, listener.local_addr()?, w.verifier());
    dipr_server::witness::serve_witness(listener, w, stop_signal()).await
}

struct VerifyOptions {
    trusted_key: Option<String>,
    no_pin: bool,
    witness_policy: Option<PathBuf>,
    newer_checkpoint: Option<PathBuf>,
    online: Option<String>,
    tsa_ca: Vec<PathBuf>,
    json: bool,
}

/// The failing check `dipr verify` adds when no registry key was pinned and `--no-pin` was not given;
/// `what` names the document in Chinese (证书, 证明).
fn unpinned(what: &str) -> dipr_ledger::certificate::Check {
    dipr_ledger::certificate::Check {
        id: dipr_ledger::certificate::TRUSTED_KEY_CHECK,
        ok: false,
        zh: format!("未指定信任的登记机构公钥（--trusted-key）：只核验了{what}自洽，未核验签发者；如确认接受，请加 --no-pin"),
        en: "no trusted registry key (--trusted-key): only self-consistency was checked, not who issued it; add --no-pin to accept that".into(),
    }
}

/// `dipr verify` on a search certificate (查询证明): the registry's signature over the query and its results,
/// and the checkpoint they were read at.
fn verify_search_certificate(
    bytes: &[u8],
    trusted: Option<&dipr_ledger::note::NoteVerifier>,
    opts: &VerifyOptions,
) -> Result<()> {
    use dipr_ledger::search::{verify_search, SearchCertificate};
    let cert = match SearchCertificate::parse(bytes) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("查询证明无法解析 / the search certificate cannot be parsed: {e}");
            std::process::exit(1);
        }
    };
    let mut report = verify_search(&cert, trusted);
    if trusted.is_none() && !opts.no_pin {
        report.checks.push(unpinned("证明"));
        report.ok = false;
    }
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let when = dipr_domain::shown::parse_instant(&report.searched_at)
            .map(|t| dipr_domain::shown::minute_zoned(t, false))
            .unwrap_or_else(|| report.searched_at.clone());
        println!(
            "查询证明 / search certificate: {}\n查询 query: {:?}\n查询时间 searched at: {when}\n结果 results: {}{}",
            if report.ok { "VALID 有效" } else { "INVALID 无效" },
            report.query,
            report.matched,
            if cert.statement.complete { "" } else { "（证明只列出前一部分 / only the first are listed）" }
        );
        for c in &report.checks {
            println!("  [{}] {} / {}", if c.ok { "ok" } else { "FAIL" }, c.zh, c.en);
        }
    }
    if !report.ok {
        std::process::exit(1);
    }
    Ok(())
}

/// A `--trusted-key`: the registry's verifier key, or a file holding it.
pub(crate) fn trusted_key(arg: &str) -> Result<dipr_ledger::note::NoteVerifier> {
    let text = if Path::new(arg).is_file() { std::fs::read_to_string(arg)? } else { arg.to_string() };
    dipr_ledger::note::NoteVerifier::parse(text.trim()).map_err(|e| anyhow::anyhow!("--trusted-key: {e}"))
}

fn verify(path: &Path, opts: &VerifyOptions) -> Result<()> {
    use dipr_domain::shown;
    use dipr_ledger::certificate::{render_report, verify, verify_newer, Certificate, Check, ConsistencyBundle};
    use dipr_ledger::note::NoteVerifier;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let trusted = opts.trusted_key.as_deref().map(trusted_key).transpose()?;
    let policy = match &opts.witness_policy {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Some(
                dipr_ledger::witness::WitnessPolicy::parse(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
            )
        }
        None => None,
    };
    let json = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default();
    if json["format"] == dipr_ledger::search::SEARCH_FORMAT {
        return verify_search_certificate(&bytes, trusted.as_ref(), opts);
    }
    let mut conclusion = None;
    let (cert, mut report) = if dipr_fingerprint::evidence::is_bundle(&json) {
        let bundle = match dipr_fingerprint::evidence::EvidenceBundle::parse(&bytes) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("证据包无法解析 / the evidence bundle cannot be parsed: {e}");
                std::process::exit(1);
            }
        };
        let report = dipr_fingerprint::evidence::verify(&bundle, trusted.as_ref(), policy.as_ref());
        conclusion = Some(dipr_fingerprint::evidence::conclusion(&bundle));
        (bundle.certificate, report)
    } else {
        let cert = match Certificate::parse(&bytes) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("证书无法解析 / the certificate cannot be parsed: {e}");
                std::process::exit(1);
            }
        };
        let report = verify(&cert, trusted.as_ref(), policy.as_ref());
        (cert, report)
    };
    if !opts.tsa_ca.is_empty() {
        let mut anchors = Vec::new();
        for p in &opts.tsa_ca {
            let pem = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            anchors.extend(
                dipr_ledger::timestamp::anchors_from_pem(&pem).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
            );
        }
        dipr_ledger::timestamp::check_certificate(&cert, &anchors, &mut report);
    }
    if let Some(p) = &opts.newer_checkpoint {
        let newer: ConsistencyBundle =
            serde_json::from_slice(&std::fs::read(p).with_context(|| format!("reading {}", p.display()))?)
                .with_context(|| format!("{}: expected the JSON of /api/v1/log/proofs/consistency", p.display()))?;
        let key = match &trusted {
            Some(k) => k.clone(),
            None => NoteVerifier::parse(&cert.registry_key).map_err(|e| anyhow::anyhow!("registry key: {e}"))?,
        };
        verify_newer(&cert, &key, &newer, &mut report);
    }
    if let Some(server) = &opts.online {
        let id = cert.statement.record_url.rsplit('/').next().unwrap_or_default();
        let c = client::Client::new(server, None);
        let (ok, zh, en) = match c.call("GET", &format!("/api/v1/public/records/{id}"), None) {
            Ok(v) => {
                let state = v["record"]["state"].as_str().unwrap_or("unknown").to_string();
                // Registered and within its validity (the registry's timer may not have moved it yet).
                let until = v["record"]["registration"]["valid_until"].as_str().and_then(shown::parse_instant);
                let ok = state == "registered" && until.is_some_and(|u| chrono::Utc::now() < u);
                let until = until.map(|u| (shown::date_zoned(u, false), shown::date_zoned(u, true)));
                let (until_zh, until_en) = until.unwrap_or_default();
                (
                    ok,
                    format!("登记机构当前记录状态：{state}，有效期至 {until_zh}"),
                    format!("current status at the registry: {state}, valid until {until_en}"),
                )
            }
            Err(e) => (false, format!("无法查询登记机构：{e}"), format!("cannot query the registry: {e}")),
        };
        report.checks.push(Check { id: "online_status", ok, zh, en });
        report.ok &= ok;
        // A genuine certificate the registry has since replaced states what the register no longer says.
        let latest = c.call("GET", &format!("/api/v1/public/records/{id}/certificate"), None);
        let current = latest.is_ok_and(|v| serde_json::to_value(&cert.statement).is_ok_and(|s| v["statement"] == s));
        report.checks.push(Check {
            id: "current_certificate",
            ok: current,
            zh: if current {
                "这是该登记的现行证书"
            } else {
                "这不是该登记的现行证书：登记机构已签发新版本"
            }
            .into(),
            en: if current {
                "this is the registration's current certificate"
            } else {
                "this is not the registration's current certificate: the registry has issued a newer one"
            }
            .into(),
        });
        report.ok &= current;
        report.status_checked = true;
    }
    // Anyone can make a certificate that is consistent with the key it carries: without a pinned key
    // that is all this proves, so it is a failure unless the caller accepted it.
    if trusted.is_none() && !opts.no_pin {
        report.checks.push(unpinned("证书"));
        report.ok = false;
    }
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        // What the bundle claims comes first, as in its HTML report; whether it holds follows.
        if let Some(c) = &conclusion {
            println!("证据包结论 / What the bundle shows:\n{}\n{}", c.zh, c.en);
            if !c.basis_zh.is_empty() {
                println!("{}\n{}", c.basis_zh, c.basis_en);
            }
            println!();
        }
        print!("{}", render_report(&report));
    }
    if !report.ok {
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(super::redact("sqlite://data/dipr.db"), "sqlite://data/dipr.db");
    }
}
