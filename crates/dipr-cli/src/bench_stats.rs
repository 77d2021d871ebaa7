//! `dipr bench stats`: the statistics dashboard's queries over a large register (see docs/BENCHMARKS.md).
//!
//! Loads `--products` registered products (with their parties) and `--transactions` transactions
//! through the store's own write path, then times every dashboard query shape.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{Days, NaiveDate, TimeZone, Utc};
use clap::Args;
use dipr_domain::access::Role;
use dipr_domain::application::{Application, ApplicationForm, Notice, ObjectType, State};
use dipr_domain::encumbrance::Money;
use dipr_domain::holding::{Transaction, TransactionKind};
use dipr_domain::party::{NewParty, OrgAttributes, Ownership, PartyKind};
use dipr_store::{NewEvent, StatsFilter, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

#[derive(Args)]
pub struct StatsBenchArgs {
    /// Registered products to load.
    #[arg(long, default_value_t = 100_000)]
    products: u32,
    /// Transactions to load, spread over the products.
    #[arg(long, default_value_t = 1_000_000)]
    transactions: u32,
    /// Timed runs of each query.
    #[arg(long, default_value_t = 10)]
    runs: u32,
    /// Also measure PostgreSQL (a fresh schema is created).
    #[arg(long, env = "DIPR_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Keep the SQLite database here instead of deleting it (to inspect query plans); if it exists already,
    /// measure it again without loading.
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
}

const INDUSTRIES: [&str; 6] = ["model_corpus", "finance", "transport", "healthcare", "ai", "manufacturing"];

fn event(kind: &str) -> NewEvent {
    NewEvent {
        at: Utc::now(),
        actor_id: None,
        actor_name: "bench".into(),
        actor_role: Role::System,
        subject_type: "setting".into(),
        subject_id: "bench".into(),
        kind: kind.into(),
        from_state: None,
        to_state: None,
        reasons: String::new(),
        payload: serde_json::json!({}),
    }
}

fn credit_code(n: u32) -> String {
    let body = format!("91310000{n:09}");
    let check = dipr_domain::ids::credit_code_check(body.as_bytes()).expect("digits") as char;
    format!("{body}{check}")
}

/// Words product names, summaries and holders are made of, so that a search term matches a realistic
/// share of the register (a domain about one product in twelve) rather than all or none of it.
pub(crate) const REGIONS: [&str; 10] = ["上海", "北京", "深圳", "杭州", "广州", "成都", "武汉", "南京", "苏州", "天津"];
pub(crate) const DOMAINS: [&str; 12] =
    ["金融", "交通", "医疗", "气象", "电力", "物流", "零售", "农业", "教育", "制造", "能源", "政务"];
pub(crate) const KINDS: [&str; 8] =
    ["风控画像", "指数", "语料库", "数据集", "知识图谱", "预测模型", "监测数据", "调度算法"];

/// The product name of the `i`th loaded product.
pub(crate) fn product_name(i: u32) -> String {
    let i = i as usize;
    format!("{}{}{}{i}", REGIONS[i % 10], DOMAINS[(i / 10) % 12], KINDS[(i / 120) % 8])
}

/// The name of the `pn`th loaded party.
pub(crate) fn party_name(pn: u32) -> String {
    let n = pn as usize;
    format!("{}{}数据科技有限公司{pn}", REGIONS[(n / 3) % 10], DOMAINS[(n / 7) % 12])
}

/// Load the register.
async fn load(store: &Arc<dyn Store>, args: &StatsBenchArgs) -> Result<Vec<Application>> {
    load_register(store, args.products, args.transactions).await
}

/// Load `n_products` registered products (with their parties) and `n_transactions` transactions through
/// the store's own write path; the products are returned.
pub(crate) async fn load_register(
    store: &Arc<dyn Store>,
    n_products: u32,
    n_transactions: u32,
) -> Result<Vec<Application>> {
    let mut rng = StdRng::seed_from_u64(7);
    let base = Utc.with_ymd_and_hms(2025, 1, 1, 2, 0, 0).single().expect("valid");
    let rules = dipr_domain::lifecycle::Rules::default();
    let parties = (n_products / 5).max(1);
    let t = Instant::now();
    let mut products: Vec<Application> = Vec::with_capacity(n_products as usize);
    let filer = dipr_store::UserRecord {
        id: Uuid::now_v7(),
        username: format!("bench-{}", Uuid::now_v7().simple()),
        display_name: "bench".into(),
        password_hash: String::new(),
        role: Role::Agent,
        party_id: None,
        disabled: true,
        email: None,
        must_change_password: false,
        created_at: base,
    };
    let mut tx = store.begin().await?;
    tx.insert_user(&filer).await?;
    tx.append_event(&event("bench_user")).await?;
    tx.commit().await?;
    for chunk in (0..n_products).collect::<Vec<_>>().chunks(2_000) {
        let mut tx = store.begin().await?;
        for &i in chunk {
            let pn = i % parties;
            let kind = if pn % 10 == 9 { PartyKind::NaturalPerson } else { PartyKind::LegalPerson };
            let party = NewParty {
                kind: PartyKind::LegalPerson,
                name: party_name(pn),
                id_number: credit_code(pn),
                address: String::new(),
                attributes: OrgAttributes {
                    ownership: Some(
                        [Ownership::Private, Ownership::StateOwned, Ownership::ForeignInvested][pn as usize % 3],
                    ),
                    high_tech: pn.is_multiple_of(2),
                    ..Default::default()
                },
            }
            .parse(Uuid::from_u128(u128::from(pn) + 1))?;
            if i < parties {
                tx.insert_party(&party, base).await?;
            }
            let form = ApplicationForm {
                product_name: product_name(i),
                summary: format!(
                    "面向{}行业的{}，覆盖{}等地区，按月更新。",
                    DOMAINS[(i as usize / 10) % 12],
                    KINDS[(i as usize / 120) % 8],
                    REGIONS[(i as usize / 3) % 10]
                ),
                object_type: Some(
                    [ObjectType::DataCollection, ObjectType::DataProduct, ObjectType::DataAlgorithm][i as usize % 3],
                ),
                industry: INDUSTRIES[i as usize % INDUSTRIES.len()].into(),
                ..Default::default()
            };
            let filed = base + chrono::Duration::hours(i64::from(i) * 6 % (24 * 700));
            let mut app = Application::new_draft(Uuid::now_v7(), &party, filer.id, None, form, filed);
            app.applicant.kind = kind;
            app.submitted_at = Some(filed);
            app.state = State::Registered;
            app.notice = Some(Notice {
                started_at: filed + chrono::Duration::days(12),
                ends_at: filed + chrono::Duration::days(26),
            });
            // Certificate serials run per month and stop at 999,999; the loader only needs them well-formed.
            dipr_domain::lifecycle::register(
                &mut app,
                u64::from(i) + 1,
                u64::from(i) % 999_999 + 1,
                filed + chrono::Duration::days(26),
                &rules,
            )?;
            tx.insert_application(&app).await?;
            products.push(app);
        }
        tx.append_event(&event("bench_products_loaded")).await?;
        tx.commit().await?;
    }
    println!("  loaded {} products in {:.1} s", n_products, t.elapsed().as_secs_f64());
    let t = Instant::now();
    let day0 = NaiveDate::from_ymd_opt(2025, 2, 1).expect("valid");
    for chunk in (0..n_transactions).collect::<Vec<_>>().chunks(20_000) {
        let mut tx = store.begin().await?;
        let ev = tx.append_event(&event("bench_transactions_loaded")).await?;
        for _ in chunk {
            let app = &products[rng.gen_range(0..products.len())];
            let t = Transaction {
                id: Uuid::now_v7(),
                application_id: app.id,
                kind: [TransactionKind::LicenceFee, TransactionKind::Trade, TransactionKind::ServiceFee]
                    [rng.gen_range(0..3)],
                amount: Money::from_fen(rng.gen_range(100..1_000_000_000))?,
                occurred_on: day0 + Days::new(rng.gen_range(0..700)),
                counterparty: "对手方".into(),
                licence_id: None,
                note: String::new(),
                recorded_at: Utc::now(),
            };
            tx.insert_transaction(&t, app, ev).await?;
        }
        tx.commit().await?;
    }
    println!("  loaded {} transactions in {:.1} s", n_transactions, t.elapsed().as_secs_f64());
    Ok(products)
}

async fn measure(store: &Arc<dyn Store>, args: &StatsBenchArgs) -> Result<()> {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("valid");
    let cases = [
        ("everything", StatsFilter::default()),
        ("one year", StatsFilter { from: Some(d("2025-07-01")), to: Some(d("2026-06-30")), ..Default::default() }),
        // The dashboard's usual question: the last twelve months, up to the newest transactions.
        (
            "last twelve months",
            StatsFilter { from: Some(d("2026-01-01")), to: Some(d("2026-12-31")), ..Default::default() },
        ),
        ("one industry", StatsFilter { industry: Some("finance".into()), ..Default::default() }),
        ("natural persons", StatsFilter { applicant_kind: Some("natural_person".into()), ..Default::default() }),
        (
            "quarter + type + industry",
            StatsFilter {
                from: Some(d("2026-01-01")),
                to: Some(d("2026-03-31")),
                object_type: Some(ObjectType::DataProduct),
                industry: Some("ai".into()),
                ..Default::default()
            },
        ),
    ];
    for (name, f) in cases {
        let mut times: Vec<Duration> = Vec::new();
        let mut last = None;
        for _ in 0..args.runs {
            let t = Instant::now();
            last = Some(store.statistics(&f).await?);
            times.push(t.elapsed());
        }
        times.sort();
        let s = last.expect("at least one run");
        println!(
            "  {name:<26} median {:>7.1} ms  max {:>7.1} ms   ({} filings, {} transactions, ¥{})",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
            s.applications,
            s.economic_value.transactions,
            Money::from_fen(s.economic_value.amount_fen.min(Money::MAX_FEN)).map(|m| m.to_string()).unwrap_or_default(),
        );
    }
    Ok(())
}

pub fn run(args: StatsBenchArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("dipr-bench-stats-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        println!("SQLite ({} products, {} transactions)", args.products, args.transactions);
        let db = args.keep.clone().unwrap_or_else(|| dir.join("bench.db"));
        let reuse = db.exists();
        let sqlite: Arc<dyn Store> = Arc::new(dipr_store::SqliteStore::open(&db).await?);
        if reuse {
            println!("  reusing {}", db.display());
        } else {
            load(&sqlite, &args).await?;
        }
        measure(&sqlite, &args).await?;
        if let Some(url) = &args.postgres_url {
            let schema = format!("bench_stats_{}", std::process::id());
            println!("PostgreSQL (schema {schema})");
            let pg: Arc<dyn Store> = Arc::new(dipr_store::PgStore::connect_in_schema(url, &schema).await?);
            load(&pg, &args).await?;
            measure(&pg, &args).await?;
        }
        std::fs::remove_dir_all(&dir).ok();
        anyhow::Ok(())
    })
}
