//! `dipr bench discovery`: latency of "which registered products does this suspect contain" over an
//! index of many registered products (SQLite), through the same code the endpoint runs.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use dipr_domain::access::Role;
use dipr_domain::application::{Application, ApplicationForm, ContentCommitment, ObjectType, State};
use dipr_domain::party::{NewParty, PartyKind};
use dipr_fingerprint::{discovery_key_id, DiscoverySketch};
use dipr_store::{NewEvent, UserRecord};
use uuid::Uuid;

#[derive(Args)]
pub struct DiscoveryBenchArgs {
    /// Registered products in the index.
    #[arg(long, default_value_t = 10_000)]
    products: usize,
    /// Discovery-sketch values per product (a 100k-record product at s = 256 has ~390).
    #[arg(long, default_value_t = 400)]
    values: usize,
    /// Values in each suspect sketch (a 1M-record suspect has ~3,900).
    #[arg(long, default_value_t = 3_900)]
    suspect_values: usize,
    #[arg(long, default_value_t = 200)]
    queries: usize,
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0
    }
}

pub fn run(args: DiscoveryBenchArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("dipr-bench-discovery-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let store: Arc<dyn dipr_store::Store> = Arc::new(dipr_store::SqliteStore::open(&dir.join("bench.db")).await?);
        let config = dipr_registry::Config::default();
        let signer =
            dipr_ledger::note::NoteSigner::generate("dipr-bench.localhost/log").map_err(|e| anyhow::anyhow!("{e}"))?;
        let state = dipr_registry::Registry::new(store.clone(), config, signer).await?;
        let key_id = discovery_key_id(&state.discovery_key);

        // Setup: one holder, `products` registered applications, each with a random sketch.
        let now = chrono::Utc::now();
        let party = NewParty {
            kind: PartyKind::LegalPerson,
            name: "基准企业".into(),
            id_number: "91350100M000100Y43".into(),
            address: String::new(),
            attributes: Default::default(),
        }
        .parse(Uuid::now_v7())?;
        let user = UserRecord {
            id: Uuid::now_v7(),
            username: "bench".into(),
            display_name: "bench".into(),
            password_hash: "-".into(),
            role: Role::Applicant,
            party_id: Some(party.id),
            disabled: false,
            email: None,
            must_change_password: false,
            created_at: now,
        };
        let ev = |kind: &str| NewEvent {
            at: now,
            actor_id: None,
            actor_name: "bench".into(),
            actor_role: Role::System,
            subject_type: "bench".into(),
            subject_id: "-".into(),
            kind: kind.into(),
            from_state: None,
            to_state: None,
            reasons: String::new(),
            payload: serde_json::json!({}),
        };
        let mut tx = store.begin().await?;
        tx.insert_party(&party, now).await?;
        tx.insert_user(&user).await?;
        tx.append_event(&ev("setup")).await?;
        tx.commit().await?;
        let mut rng = Lcg(42);
        let mut sketches: Vec<Vec<u64>> = Vec::with_capacity(args.products);
        let t = Instant::now();
        for chunk in 0..args.products.div_ceil(100) {
            let mut tx = store.begin().await?;
            for p in chunk * 100..((chunk + 1) * 100).min(args.products) {
                let sha = format!("{p:064x}");
                let form = ApplicationForm {
                    product_name: format!("产品{p}"),
                    object_type: Some(ObjectType::DataCollection),
                    industry: "finance".into(),
                    content_commitment: Some(ContentCommitment {
                        algorithm: "dipr-fingerprint/1".into(),
                        root: sha.clone(),
                        record_count: None,
                        manifest_sha256: Some(sha.clone()),
                        schema_digest: None,
                    }),
                    ..Default::default()
                };
                let mut app = Application::new_draft(Uuid::now_v7(), &party, user.id, None, form, now);
                app.state = State::Registered;
                let sketch: Vec<u64> = (0..args.values).map(|_| rng.next()).collect();
                tx.insert_application(&app).await?;
                tx.insert_manifest(app.id, &sha, "{}", &sketch, now).await?;
                sketches.push(sketch);
            }
            tx.append_event(&ev("products")).await?;
            tx.commit().await?;
        }
        println!(
            "index: {} products × {} values, built in {:.1} s",
            args.products,
            args.values,
            t.elapsed().as_secs_f64()
        );

        // Queries: each suspect holds 40% of one product's sketch values, 10% of two others, and noise.
        let mut lat = Vec::with_capacity(args.queries);
        for q in 0..args.queries {
            let mut values: Vec<u64> = Vec::with_capacity(args.suspect_values);
            let target = &sketches[(q * 7919) % args.products];
            values.extend(target.iter().take(args.values * 4 / 10));
            for other in [(q * 104_729) % args.products, (q * 1_299_709) % args.products] {
                values.extend(sketches[other].iter().take(args.values / 10));
            }
            while values.len() < args.suspect_values {
                values.push(rng.next());
            }
            let sketch = DiscoverySketch {
                key_id: key_id.clone(),
                scale: 256,
                sketch: values.iter().map(|v| format!("{v:016x}")).collect(),
            };
            let t = Instant::now();
            let found = dipr_registry::fingerprints::discover(&state, &sketch, 20)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            lat.push(t.elapsed());
            anyhow::ensure!(!found.is_empty() && (found[0].containment - 0.4).abs() < 0.01, "wrong ranking");
        }
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
        println!(
            "discovery query ({} suspect values): p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            args.suspect_values,
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        std::fs::remove_dir_all(&dir)?;
        anyhow::Ok(())
    })
}
