//! Failure injection at every durable step of an append and of a witness round: after the entries, after the
//! hashes, before and after the signed checkpoint is stored, before and after commit, before and after a
//! cosignature is stored. Each failure is followed by a restart (a new registry on the same database and data
//! directory); then no acknowledged write is lost, a failed one left nothing behind (or, failed after its
//! commit, is whole), the log has no gap and no fork (`ledger::check` against the head kept outside the
//! database), no size was ever signed with two roots, and the registry writes on. On SQLite, and on
//! PostgreSQL when `DIPR_TEST_POSTGRES_URL` is set.
//!
//! Fail points are global to the process, so this file is its own test binary and runs its cases one after
//! the other (`fail::FailScenario` holds a lock).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use dipr_domain::access::{Actor, Role};
use dipr_domain::application::State;
use dipr_domain::encumbrance::Money;
use dipr_domain::holding::{NewTransaction, TransactionKind};
use dipr_registry::head::HeadFile;
use dipr_registry::{Config, Registry};
use dipr_store::{ApplicationFilter, Page, Store};
use uuid::Uuid;

/// The steps of an append, in the order they happen.
const APPEND_STEPS: [&str; 5] = [
    "log-append-after-entries",
    "log-append-after-hashes",
    "checkpoint-before-store",
    "checkpoint-after-store",
    "commit-before",
];

fn signer() -> dipr_ledger::note::NoteSigner {
    dipr_ledger::note::NoteSigner::generate("dipr-failpoints.localhost/log").unwrap()
}

/// How to (re)open the same database.
#[derive(Clone)]
enum Db {
    Sqlite(PathBuf),
    Postgres(String, String),
}

impl Db {
    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Db::Sqlite(p) => Arc::new(dipr_store::SqliteStore::open(p).await.unwrap()),
            Db::Postgres(url, schema) => Arc::new(dipr_store::PgStore::connect_in_schema(url, schema).await.unwrap()),
        }
    }
}

struct Harness {
    db: Db,
    dir: PathBuf,
    key: dipr_ledger::note::NoteSigner,
    config: Config,
    state: Arc<Registry>,
    /// Every checkpoint root ever seen, by size: a second root for a size is a fork.
    roots: BTreeMap<u64, [u8; 32]>,
}

impl Harness {
    async fn new(db: Db, config: Config) -> Self {
        let dir = std::env::temp_dir().join(format!("dipr-failpoints-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = signer();
        let state = Registry::new(db.open().await, config.clone(), key.clone()).await.unwrap();
        state.keep_head(HeadFile::open(&dir, &key.verifier()).unwrap()).await.unwrap();
        Self { db, dir, key, config, state, roots: BTreeMap::new() }
    }

    /// A new process on the same database and data directory: refused if its log were behind the head.
    async fn restart(&mut self) {
        self.state = Registry::new(self.db.open().await, self.config.clone(), self.key.clone()).await.unwrap();
        let head = HeadFile::open(&self.dir, &self.key.verifier()).unwrap();
        self.state.keep_head(head).await.expect("the restarted registry's log holds everything it published");
    }

    /// The ledger is whole and clean against the head, and no size has two roots.
    async fn assert_whole(&mut self, step: &str) {
        let key = self.key.verifier();
        let head = self.state.head().and_then(|h| h.head());
        let report = dipr_registry::ledger::check(self.state.store.as_ref(), &key, head.as_ref()).await.unwrap();
        assert!(report.ok, "{step}: {report:?}");
        for (size, note) in self.state.store.checkpoints(0, u64::MAX).await.unwrap() {
            let (cp, _) = dipr_ledger::checkpoint::Checkpoint::open(note.as_bytes(), &key, key.name()).unwrap();
            let root = *self.roots.entry(size).or_insert(cp.root);
            assert_eq!(root, cp.root, "{step}: size {size} was signed with two roots");
        }
        dipr_registry::head::advance(self.state.store.as_ref(), self.state.head().unwrap(), &key).await.unwrap();
    }
}

/// A registered demo product and its holder.
async fn product(state: &Registry) -> (Uuid, Actor) {
    let f = ApplicationFilter { states: vec![State::Registered], ..Default::default() };
    let app = state.store.applications(&f, Page::new(1, 1)).await.unwrap().items.remove(0);
    let holder = app.holder().clone();
    (app.id, Actor { user_id: None, name: holder.name.clone(), role: Role::Applicant, party_id: Some(holder.id) })
}

async fn book(state: &Registry, id: Uuid, actor: &Actor) -> Result<Uuid, dipr_registry::Error> {
    let t = NewTransaction {
        kind: TransactionKind::ServiceFee,
        amount: Money::parse("1.00").unwrap(),
        occurred_on: dipr_domain::time::local_date(state.clock.now()),
        counterparty: "注入故障测试".into(),
        licence_id: None,
        note: String::new(),
    };
    dipr_registry::holdings::record_transaction(state, id, t, actor).await.map(|t| t.id)
}

async fn booked(state: &Registry, id: Uuid) -> Vec<Uuid> {
    state.store.transactions(id, Page::new(1, 100)).await.unwrap().items.iter().map(|t| t.id).collect()
}

async fn every_step(db: Db) -> usize {
    let mut h = Harness::new(db.clone(), Config { adjustable_clock: true, ..Config::default() }).await;
    dipr_registry::demo::seed(&h.state).await.unwrap();
    let (id, holder) = product(&h.state).await;
    let mut acknowledged = vec![book(&h.state, id, &holder).await.unwrap()];
    h.assert_whole("before").await;
    let mut injected = 0;

    for step in APPEND_STEPS.iter().chain(["commit-after"].iter()) {
        let size = h.state.store.log_size().await.unwrap();
        let before = booked(&h.state, id).await.len();
        fail::cfg(*step, "return").unwrap();
        let refused = book(&h.state, id, &holder).await;
        fail::remove(*step);
        assert!(refused.is_err(), "{step}: the write must fail");
        injected += 1;
        h.restart().await;
        let present = booked(&h.state, id).await;
        for t in &acknowledged {
            assert!(present.contains(t), "{step}: acknowledged transaction {t} lost");
        }
        let after = h.state.store.log_size().await.unwrap();
        if *step == "commit-after" {
            // Committed before the failure: whole (its entry, hashes, checkpoint and row), though unacknowledged.
            assert_eq!((after, present.len()), (size + 1, before + 1), "{step}");
        } else {
            assert_eq!((after, present.len()), (size, before), "{step}: nothing of the failed write stays");
        }
        h.assert_whole(step).await;
        // The registry writes on, at the next index.
        acknowledged.push(book(&h.state, id, &holder).await.unwrap_or_else(|e| panic!("{step}: {e:?}")));
        assert_eq!(h.state.store.log_size().await.unwrap(), after + 1);
        h.assert_whole(step).await;
    }

    // A witness round: the witness cosigns, the registry fails to store the cosignature; after a restart the
    // next round stores it (the witness cosigns the same checkpoint again, never another root).
    let witness_dir = h.dir.join("witness");
    let w = Arc::new(dipr_server::witness::Witness::open(&witness_dir, "w.example", vec![h.key.verifier()]).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let witness_key = w.verifier().to_string();
    tokio::spawn(dipr_server::witness::serve_witness(listener, w, std::future::pending()));
    h.config.witnesses = vec![dipr_registry::witnesses::WitnessEndpoint { url, key: witness_key }];
    h.config.witness_quorum = 1;
    h.restart().await;
    for step in ["cosignature-before-store", "cosignature-after-store"] {
        acknowledged.push(book(&h.state, id, &holder).await.unwrap());
        let size = h.state.store.log_size().await.unwrap();
        fail::cfg(step, "return").unwrap();
        let outcome = dipr_registry::witnessing::collect_once(&h.state).await.unwrap();
        fail::remove(step);
        assert!(outcome[0].cosigned.is_none(), "{step}: {outcome:?}");
        injected += 1;
        h.restart().await;
        assert!(h.state.store.cosignatures(size).await.unwrap().is_empty(), "{step}: nothing stored");
        let outcome = dipr_registry::witnessing::collect_once(&h.state).await.unwrap();
        assert_eq!(outcome[0].cosigned, Some(size), "{step}: {outcome:?}");
        assert_eq!(h.state.store.cosignatures(size).await.unwrap().len(), 1);
        h.assert_whole(step).await;
    }
    let present = booked(&h.state, id).await;
    assert!(acknowledged.iter().all(|t| present.contains(t)));
    eprintln!(
        "failure injection ({}): {injected} steps injected, {} acknowledged writes checked, {} checkpoints with one root each",
        match db {
            Db::Sqlite(_) => "SQLite",
            Db::Postgres(..) => "PostgreSQL",
        },
        acknowledged.len(),
        h.roots.len()
    );
    injected
}

#[tokio::test]
async fn every_durable_step_fails_without_losing_or_forking_anything() {
    let scenario = fail::FailScenario::setup();
    let dir = std::env::temp_dir().join(format!("dipr-failpoints-db-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(every_step(Db::Sqlite(dir.join("dipr.db"))).await, 8);
    match std::env::var("DIPR_TEST_POSTGRES_URL") {
        Ok(url) => {
            let schema = format!("failpoints_{}", Uuid::now_v7().simple());
            assert_eq!(every_step(Db::Postgres(url, schema)).await, 8);
        }
        Err(_) => eprintln!("DIPR_TEST_POSTGRES_URL is not set: failure injection not run on PostgreSQL"),
    }
    scenario.teardown();
}
