//! `dipr bench ledger`: the ledger's speed, in release builds (see docs/BENCHMARKS.md).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Utc;
use clap::Args;
use dipr_domain::access::Role;
use dipr_ledger::certificate::{self, Certificate, Holder, LogEntry, Product, Statement};
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{inclusion_proof, leaf_hash, tree_root, verify_inclusion, MemoryTree};
use dipr_ledger::note::NoteSigner;
use dipr_ledger::proof::TlogProof;
use dipr_store::{NewEvent, Store};

#[derive(Args)]
pub struct LedgerBenchArgs {
    /// Largest in-memory tree (proofs are measured at 1M and at this size).
    #[arg(long, default_value_t = 10_000_000)]
    leaves: u64,
    /// Events appended durably per backend.
    #[arg(long, default_value_t = 50_000)]
    appends: u64,
    /// Events per transaction (one signed checkpoint per transaction).
    #[arg(long, default_value_t = 100)]
    batch: u64,
    /// Also measure PostgreSQL (a fresh schema is created).
    #[arg(long, env = "DIPR_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
}

fn per_op(d: Duration, n: u64) -> String {
    let ns = d.as_nanos() as f64 / n as f64;
    if ns > 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} µs", ns / 1e3)
    }
}

pub fn run(args: LedgerBenchArgs) -> Result<()> {
    let signer = NoteSigner::generate("bench.dipr/log").map_err(|e| anyhow::anyhow!("{e}"))?;
    // 1. In-memory appends and proofs.
    let mut tree = MemoryTree::new();
    let t = Instant::now();
    let mut marks = Vec::new();
    for i in 0..args.leaves {
        tree.push_leaf(leaf_hash(&i.to_le_bytes()));
        if tree.size() == 1_000_000 || tree.size() == args.leaves {
            marks.push(tree.size());
        }
    }
    let el = t.elapsed();
    println!(
        "in-memory append          {:>12} leaves  {:>10.0} leaves/s",
        args.leaves,
        args.leaves as f64 / el.as_secs_f64()
    );
    for size in marks {
        let root = tree_root(&tree, size).expect("memory");
        let n = 10_000u64;
        let t = Instant::now();
        let mut proofs = Vec::with_capacity(n as usize);
        for k in 0..n {
            let idx = (k * 7_919_993) % size;
            proofs.push((idx, inclusion_proof(&tree, idx, size).expect("memory")));
        }
        let gen = t.elapsed();
        let t = Instant::now();
        for (idx, p) in &proofs {
            assert!(verify_inclusion(&leaf_hash(&idx.to_le_bytes()), *idx, size, p, &root));
        }
        let ver = t.elapsed();
        println!(
            "inclusion proof @ {size:>9}  generate {:>10}  verify {:>10}  ({} hashes)",
            per_op(gen, n),
            per_op(ver, n),
            proofs[0].1.len()
        );
    }
    drop(tree);

    // 2. Full offline verification of a certificate.
    let cert = sample_certificate(&signer);
    let key = signer.verifier();
    let n = 2_000u64;
    let t = Instant::now();
    for _ in 0..n {
        let parsed = Certificate::parse(&cert).expect("valid");
        assert!(certificate::verify(&parsed, Some(&key), None).ok);
    }
    println!("certificate verification  parse + all checks  {:>10} per certificate", per_op(t.elapsed(), n));

    // 3. Durable appends.
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("dipr-bench-ledger-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let sqlite: Arc<dyn Store> = Arc::new(dipr_store::SqliteStore::open(&dir.join("bench.db")).await?);
        durable(&*sqlite, &signer, &args).await?;
        std::fs::remove_dir_all(&dir)?;
        if let Some(url) = &args.postgres_url {
            let schema = format!("bench_{}", std::process::id());
            let pg: Arc<dyn Store> = Arc::new(dipr_store::PgStore::connect_in_schema(url, &schema).await?);
            durable(&*pg, &signer, &args).await?;
        }
        anyhow::Ok(())
    })?;
    Ok(())
}

async fn durable(store: &dyn Store, signer: &NoteSigner, args: &LedgerBenchArgs) -> Result<()> {
    use dipr_ledger::merkle::{nodes_needed, MapSource};
    let t = Instant::now();
    let mut done = 0u64;
    while done < args.appends {
        let mut tx = store.begin().await?;
        let mut batch = Vec::new();
        // One record's events per transaction, shaped as the registry logs them (so the ledger check below
        // rebuilds each entry from its event row, as it does on a real register).
        let subject = uuid::Uuid::now_v7().to_string();
        for _ in 0..args.batch.min(args.appends - done) {
            let at = Utc::now();
            let e = NewEvent {
                at,
                actor_id: None,
                actor_name: "bench".into(),
                actor_role: Role::System,
                subject_type: "application".into(),
                subject_id: subject.clone(),
                kind: "bench".into(),
                from_state: None,
                to_state: None,
                reasons: String::new(),
                payload: serde_json::json!({}),
            };
            let id = tx.append_event(&e).await?;
            let entry = LogEntry {
                v: certificate::ENTRY_VERSION.into(),
                event_id: id,
                at: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                kind: "bench".into(),
                subject: subject.clone(),
                from_state: None,
                to_state: None,
                data: serde_json::json!({}),
            };
            batch.push((id, entry.to_bytes()));
            done += 1;
        }
        let size = tx.log_append_batch(&batch).await? + batch.len() as u64;
        let nodes = MapSource(tx.log_nodes(&nodes_needed(|r| tree_root(r, size))).await?);
        let root = tree_root(&nodes, size).map_err(|e| anyhow::anyhow!("{e}"))?;
        tx.insert_checkpoint(size, &Checkpoint { origin: signer.name().into(), size, root }.sign(signer), Utc::now())
            .await?;
        tx.commit().await?;
    }
    let el = t.elapsed();
    println!(
        "durable appends ({:<8})  {:>8} events in batches of {:>4}  {:>8.0} events/s",
        store.backend(),
        args.appends,
        args.batch,
        args.appends as f64 / el.as_secs_f64()
    );
    // Proofs from the database at its size.
    let size = store.log_size().await?;
    let n = 1_000u64;
    let t = Instant::now();
    for k in 0..n {
        let idx = (k * 7919) % size;
        let keys = nodes_needed(|r| inclusion_proof(r, idx, size).map(|_| ()));
        let src = MapSource(store.log_nodes(&keys).await?);
        inclusion_proof(&src, idx, size).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    println!("inclusion proof from {:<8} @ {size}  {:>10} per proof", store.backend(), per_op(t.elapsed(), n));
    // The ledger check over the whole log: every stored hash, checkpoint and event row. Its findings here are
    // only that the bench's records are not in the database (they have no application rows).
    let t = Instant::now();
    let report =
        dipr_registry::ledger::check(store, &signer.verifier(), None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let el = t.elapsed();
    println!(
        "ledger check ({:<8})      {:>8} entries, {} hashes, {} checkpoints, {} events  {:>8.0} entries/s  ({:.1} s; peak RSS {} MB; {} findings about the bench's missing records)",
        store.backend(),
        report.entries,
        report.hashes_checked,
        report.checkpoints_checked,
        report.events_checked,
        report.entries as f64 / el.as_secs_f64(),
        el.as_secs_f64(),
        peak_rss_mb(),
        report.problem_count
    );
    Ok(())
}

/// The process's peak resident memory, in MB (Linux; 0 elsewhere).
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .map_or(0, |kb: u64| kb / 1024)
}

fn sample_certificate(signer: &NoteSigner) -> Vec<u8> {
    use base64::Engine;
    let statement = Statement {
        v: certificate::STATEMENT_VERSION.into(),
        registry: signer.name().into(),
        registration_number: "2026110000000017".into(),
        certificate_number: "20261131000000018".into(),
        holder: Holder {
            kind: "legal_person".into(),
            name: "上海示例数据科技有限公司".into(),
            id_number: "91350100M000100Y43".into(),
        },
        product: Product {
            name: "中文大模型语料库".into(),
            object_type: "data_collection".into(),
            industry: "model_corpus".into(),
        },
        data_sources: vec!["self_collected".into()],
        content_commitment: None,
        registered_at: "2026-11-20T16:00:00Z".into(),
        valid_from: "2026-11-05T02:00:00Z".into(),
        valid_until: "2029-11-05T02:00:00Z".into(),
        record_url: "http://127.0.0.1:8080/records/x".into(),
    };
    let entry = LogEntry {
        v: certificate::ENTRY_VERSION.into(),
        event_id: 1,
        at: "2026-11-20T16:00:00Z".into(),
        kind: "notice_ended".into(),
        subject: "x".into(),
        from_state: Some("public_notice".into()),
        to_state: Some("registered".into()),
        data: serde_json::json!({"registration_number": statement.registration_number, "statement_sha256": statement.sha256_hex()}),
    };
    let mut tree = MemoryTree::new();
    for i in 0..1_000_000u64 {
        tree.push_leaf(leaf_hash(&i.to_le_bytes()));
    }
    let index = tree.push(&entry.to_bytes());
    let cp = Checkpoint { origin: signer.name().into(), size: tree.size(), root: tree.root() };
    let proof = TlogProof {
        extra: None,
        index,
        hashes: inclusion_proof(&tree, index, tree.size()).expect("memory"),
        checkpoint: cp.sign(signer),
    };
    let cert = Certificate {
        format: certificate::CERTIFICATE_FORMAT.into(),
        signature: statement.sign(signer),
        statement,
        log_entry: base64::engine::general_purpose::STANDARD.encode(entry.to_bytes()),
        proof: proof.to_text(),
        registry_key: signer.verifier().to_string(),
        timestamps: Vec::new(),
    };
    serde_json::to_vec_pretty(&cert).expect("serialises")
}
