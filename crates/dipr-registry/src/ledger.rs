//! Joins the registry to its public log: public events become log entries in the same transaction as
//! the state change, every append is followed by a signed checkpoint, and registration issues the
//! certificate with its inclusion proof.

use std::path::Path;

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use dipr_domain::application::{Application, State};
use dipr_domain::encumbrance::PledgeStatus;
use dipr_domain::public::PublicRecord;
use dipr_ledger::certificate::{
    Certificate, Holder, LogEntry, Product, Statement, CERTIFICATE_FORMAT, ENTRY_VERSION, STATEMENT_VERSION,
};
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{consistency_proof, inclusion_proof, nodes_needed, tree_root, MapSource};
use dipr_ledger::note::NoteSigner;
use dipr_ledger::proof::TlogProof;
use dipr_store::{NewEvent, Store, Tx};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::Error;
use crate::error::Result;
use crate::state::Registry;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Load the registry's signing key from `DATA_DIR/registry.key`, creating it (mode 0600) on first start. With
/// no configured origin, an existing key keeps its name and a new one is named after itself
/// (`dipr-<first 8 hex of SHA-256 of the public key>.localhost/log`), so no two registries share an origin.
pub fn load_or_create_signer(data_dir: &Path, origin: Option<&str>) -> anyhow::Result<NoteSigner> {
    let path = data_dir.join("registry.key");
    match origin {
        Some(origin) => load_or_create_key(&path, origin),
        None if path.exists() => load_key(&path),
        None => {
            let signer = NoteSigner::generate("dipr.localhost/log").map_err(|e| anyhow::anyhow!("{e}"))?;
            let digest = Sha256::digest(signer.verifying_key().as_bytes());
            let name = format!("dipr-{}.localhost/log", &hex::encode(digest)[..8]);
            let signer = signer.renamed(&name).map_err(|e| anyhow::anyhow!("{e}"))?;
            write_key(&path, &signer)?;
            Ok(signer)
        }
    }
}

/// Load a note signing key from `path`, creating it (mode 0600) when missing. A key file readable by
/// anyone but its owner is refused, and so is a key with another name.
pub fn load_or_create_key(path: &Path, name: &str) -> anyhow::Result<NoteSigner> {
    if path.exists() {
        let signer = load_key(path)?;
        if signer.name() != name {
            anyhow::bail!("{} is the key of {:?}, but the configured name is {name:?}", path.display(), signer.name());
        }
        return Ok(signer);
    }
    let signer = NoteSigner::generate(name).map_err(|e| anyhow::anyhow!("key name {name:?}: {e}"))?;
    write_key(path, &signer)?;
    Ok(signer)
}

/// Read a private key file, refusing one readable by anyone but its owner.
fn load_key(path: &Path) -> anyhow::Result<NoteSigner> {
    use anyhow::Context;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            anyhow::bail!("{} has mode {mode:o}; it holds a private key: chmod 600 it", path.display());
        }
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    NoteSigner::from_private_string(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Write a new private key file (mode 0600, never over an existing one), synced to disk.
fn write_key(path: &Path, signer: &NoteSigner) -> anyhow::Result<()> {
    use anyhow::Context;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    writeln!(f, "{}", signer.to_private_string())?;
    f.sync_all()?;
    tracing::info!(path = %path.display(), key = %signer.verifier(), "created a signing key");
    Ok(())
}

/// Event kinds that enter the public log: everything that happens to a published record.
fn is_logged(app: &Application) -> bool {
    app.is_public()
}

/// The certificate statement for a newly registered application.
pub fn statement(state: &Registry, app: &Application) -> Result<Statement> {
    let reg = app.registration.as_ref().ok_or_else(|| Error::internal("statement of an unregistered application"))?;
    let public = PublicRecord::of(app).ok_or_else(|| Error::internal("registered application is not public"))?;
    Ok(Statement {
        v: STATEMENT_VERSION.into(),
        registry: state.signer.name().into(),
        registration_number: reg.registration_number.to_string(),
        certificate_number: reg.certificate_number.to_string(),
        holder: Holder {
            kind: app.holder().kind.as_str().into(),
            name: public.holder.name,
            id_number: public.holder.id_number,
        },
        product: Product {
            name: app.form.product_name.clone(),
            object_type: app.form.object_type.map(|t| t.as_str().to_string()).unwrap_or_default(),
            industry: app.form.industry.clone(),
        },
        data_sources: public
            .source_kinds
            .iter()
            .map(|k| serde_json::to_value(k).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
            .collect(),
        // The current data version's commitment (the filed one until the holder attests a new version).
        content_commitment: app
            .holding
            .as_ref()
            .and_then(|h| h.current_version())
            .map_or(app.form.content_commitment.as_ref(), |v| v.commitment.as_ref())
            .map(|c| serde_json::to_value(c).unwrap_or(Value::Null)),
        registered_at: rfc3339(reg.registered_at),
        valid_from: rfc3339(reg.valid_from),
        valid_until: rfc3339(reg.valid_until),
        record_url: format!("{}/records/{}", state.public_url(), app.id),
    })
}

async fn nodes(tx: &mut dyn Tx, keys: Vec<(u8, u64)>) -> Result<MapSource> {
    Ok(MapSource(tx.log_nodes(&keys).await?))
}

/// The `data` of an event's log entry, but for the certificate fields a registration adds: what the event row
/// holds, so that `dipr ledger check` can rebuild every entry from its event.
fn entry_data(reasons: &str, payload: &Value) -> Value {
    let mut data = json!({});
    if !reasons.is_empty() {
        data["reasons_sha256"] = json!(hex::encode(Sha256::digest(reasons.as_bytes())));
    }
    if let Some(o) = payload.get("objection_id") {
        data["objection_id"] = o.clone();
    }
    // Public facts of an operation after registration (parties, ranks, terms, amounts).
    if let Some(Value::Object(facts)) = payload.get("public") {
        for (k, v) in facts {
            data[k] = v.clone();
        }
    }
    data
}

/// The certificate fields of a registration's entry (from its statement, not from the event row).
const STATEMENT_FIELDS: [&str; 3] = ["registration_number", "certificate_number", "statement_sha256"];

/// Log the event `event_id` of `app` if the record is public, sign the new checkpoint, and issue the
/// certificate when the application has just been registered. Runs inside the caller's transaction.
pub async fn record(
    state: &Registry,
    tx: &mut dyn Tx,
    app: &Application,
    event_id: i64,
    event: &NewEvent,
) -> Result<()> {
    if !is_logged(app) {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let mut data = entry_data(&event.reasons, &event.payload);
    let newly_registered = app.state == State::Registered
        && event.from_state.as_deref() != Some(State::Registered.as_str())
        && event.to_state.as_deref() == Some(State::Registered.as_str());
    let reissue = event.payload.get("reissue_certificate") == Some(&Value::Bool(true));
    let statement = if newly_registered || reissue { Some(statement(state, app)?) } else { None };
    if let Some(s) = &statement {
        data["registration_number"] = json!(s.registration_number);
        data["certificate_number"] = json!(s.certificate_number);
        data["statement_sha256"] = json!(s.sha256_hex());
    }
    let entry = LogEntry {
        v: ENTRY_VERSION.into(),
        event_id,
        at: rfc3339(event.at),
        kind: event.kind.clone(),
        subject: app.id.to_string(),
        from_state: event.from_state.clone(),
        to_state: event.to_state.clone(),
        data,
    }
    .to_bytes();
    if entry.len() > usize::from(u16::MAX) {
        return Err(Error::internal(format!("log entry of {} bytes exceeds 65535", entry.len())));
    }
    let index = tx.log_append(event_id, &entry).await?;
    let size = index + 1;
    let root_nodes = nodes(tx, nodes_needed(|r| tree_root(r, size))).await?;
    let root = tree_root(&root_nodes, size).map_err(Error::internal)?;
    if let Some(head) = state.head() {
        head.permits(size, &root)?;
    }
    let note = Checkpoint { origin: state.signer.name().into(), size, root }.sign(&state.signer);
    tx.insert_checkpoint(size, &note, event.at).await?;

    if let Some(statement) = statement {
        let proof_nodes = nodes(tx, nodes_needed(|r| inclusion_proof(r, index, size).map(|_| ()))).await?;
        let hashes = inclusion_proof(&proof_nodes, index, size).map_err(Error::internal)?;
        let cert = Certificate {
            format: CERTIFICATE_FORMAT.into(),
            signature: statement.sign(&state.signer),
            log_entry: base64::engine::general_purpose::STANDARD.encode(&entry),
            proof: TlogProof { extra: None, index, hashes, checkpoint: note }.to_text(),
            registry_key: state.signer.verifier().to_string(),
            statement,
            timestamps: Vec::new(),
        };
        let doc = serde_json::to_string_pretty(&cert).map_err(Error::internal)?;
        tx.insert_certificate(app.id, &cert.statement.registration_number, index, &doc, event.at).await?;
    }
    state.metrics.appended(started.elapsed());
    Ok(())
}

/// An inclusion proof from the store (outside any transaction).
pub async fn prove_inclusion(store: &dyn Store, index: u64, size: u64) -> Result<Vec<dipr_ledger::Hash>> {
    if index >= size || size > store.log_size().await? {
        return Err(Error::new(
            "bad_request",
            format!("no entry {index} in a tree of {size} (the log has {})", store.log_size().await?),
        ));
    }
    let keys = nodes_needed(|r| inclusion_proof(r, index, size).map(|_| ()));
    let src = MapSource(store.log_nodes(&keys).await?);
    inclusion_proof(&src, index, size).map_err(Error::internal)
}

/// A consistency proof from the store.
pub async fn prove_consistency(store: &dyn Store, old: u64, new: u64) -> Result<Vec<dipr_ledger::Hash>> {
    if old > new || new > store.log_size().await? {
        return Err(Error::new(
            "bad_request",
            format!("no consistency proof from {old} to {new} (the log has {})", store.log_size().await?),
        ));
    }
    let keys = nodes_needed(|r| consistency_proof(r, old, new).map(|_| ()));
    let src = MapSource(store.log_nodes(&keys).await?);
    consistency_proof(&src, old, new).map_err(Error::internal)
}

/// Read the registry's key without creating one (`dipr key show`).
pub fn load_signer(data_dir: &Path, origin: Option<&str>) -> anyhow::Result<NoteSigner> {
    if !data_dir.join("registry.key").exists() {
        anyhow::bail!("no registry key in {} yet: start `dipr serve` with this --data-dir once", data_dir.display());
    }
    load_or_create_signer(data_dir, origin)
}

/// What `dipr ledger check` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LedgerReport {
    pub ok: bool,
    /// Entries read (rows present up to the end of the log).
    pub entries: u64,
    pub checkpoint_size: u64,
    /// The first entry that is missing, edited, or no longer matches the signed history.
    pub first_bad_entry: Option<u64>,
    /// Everything found, in plain words (the first [`MAX_PROBLEMS`]; `problem_count` counts them all).
    pub problems: Vec<String>,
    pub problem_count: u64,
    /// What was compared: stored hashes (leaves and interior nodes), signed checkpoints, event rows and
    /// published records.
    pub hashes_checked: u64,
    pub checkpoints_checked: u64,
    pub events_checked: u64,
    pub records_checked: u64,
    /// The newest checkpoint recorded outside the database, when one was given.
    pub head_size: Option<u64>,
}

/// Problems listed in full; more are counted.
pub const MAX_PROBLEMS: usize = 100;

#[derive(Default)]
struct Findings {
    first_bad: Option<u64>,
    problems: Vec<String>,
    count: u64,
}

impl Findings {
    fn note(&mut self, msg: String) {
        self.count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(msg);
        }
    }
    fn at(&mut self, entry: u64, msg: String) {
        self.first_bad = Some(self.first_bad.map_or(entry, |f| f.min(entry)));
        self.note(msg);
    }
}

/// What the log says about one published record, replayed entry by entry.
#[derive(Debug, Default)]
struct Replayed {
    last_index: u64,
    state: Option<String>,
    /// SHA-256 of the newest certificate statement logged.
    statement: Option<String>,
    registration_number: Option<String>,
    certificate_number: Option<String>,
    /// Pledge id → status, licence id → ended.
    pledges: std::collections::BTreeMap<String, &'static str>,
    licences: std::collections::BTreeMap<String, bool>,
    versions: u32,
}

impl Replayed {
    fn apply(&mut self, index: u64, e: &LogEntry) {
        self.last_index = index;
        if let Some(to) = &e.to_state {
            self.state = Some(to.clone());
        }
        let text = |k: &str| e.data.get(k).and_then(Value::as_str).map(String::from);
        if let Some(sha) = text("statement_sha256") {
            self.statement = Some(sha);
            self.registration_number = text("registration_number").or(self.registration_number.take());
            self.certificate_number = text("certificate_number").or(self.certificate_number.take());
        }
        let status = match e.kind.as_str() {
            "pledge_filed" => Some("pending"),
            "pledge_registered" => Some("active"),
            "pledge_released" => Some("released"),
            "pledge_enforced" => Some("enforced"),
            _ => None,
        };
        if let (Some(status), Some(id)) = (status, text("pledge_id")) {
            self.pledges.insert(id, status);
        }
        match (e.kind.as_str(), text("licence_id")) {
            ("licence_granted", Some(id)) => {
                self.licences.insert(id, false);
            }
            ("licence_terminated", Some(id)) => {
                self.licences.insert(id, true);
            }
            _ => {}
        }
        if let Some(v) = e.data.get("version").and_then(Value::as_u64) {
            self.versions = self.versions.max(v as u32);
        }
    }

    /// Where the database's record differs from what its entries say.
    fn differences(&self, app: &Application, certificate: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(state) = &self.state {
            if state != app.state.as_str() {
                out.push(format!("its state is {} in the database but {state} in the log", app.state.as_str()));
            }
        }
        let reg = app.registration.as_ref();
        let number = reg.map(|r| r.registration_number.to_string());
        if self.registration_number.is_some() && number != self.registration_number {
            out.push(format!(
                "its registration number is {} in the database but {} in the log",
                number.as_deref().unwrap_or("none"),
                self.registration_number.as_deref().unwrap_or("none")
            ));
        }
        let cert_number = reg.map(|r| r.certificate_number.to_string());
        if self.certificate_number.is_some() && cert_number != self.certificate_number {
            out.push("its certificate number differs from the log's".into());
        }
        if let Some(logged) = &self.statement {
            // The newest certificate must be the one logged last, and say what the database says.
            match certificate.map(|c| Certificate::parse(c.as_bytes())) {
                Some(Ok(cert)) => {
                    if &cert.statement.sha256_hex() != logged {
                        out.push(
                            "its certificate is not the one the log recorded last (the certificate row was edited)"
                                .into(),
                        );
                    }
                    if let Some(public) = dipr_domain::public::PublicRecord::of(app) {
                        if public.holder.name != cert.statement.holder.name
                            || public.holder.id_number != cert.statement.holder.id_number
                        {
                            out.push(format!(
                                "its holder is {:?} in the database but {:?} in the logged certificate",
                                public.holder.name, cert.statement.holder.name
                            ));
                        }
                    }
                    if let Some(r) = reg {
                        if rfc3339(r.valid_until) != cert.statement.valid_until {
                            out.push("its validity differs from the logged certificate's".into());
                        }
                    }
                }
                Some(Err(e)) => out.push(format!("its certificate does not parse: {e}")),
                None => out.push("the log records a certificate the database does not have".into()),
            }
        }
        let encumbrances = app.holding.as_ref().map(|h| &h.encumbrances);
        let pledges: std::collections::BTreeMap<String, &'static str> = encumbrances
            .map(|e| {
                e.pledges
                    .iter()
                    .map(|p| {
                        let status = match p.status {
                            PledgeStatus::Pending => "pending",
                            PledgeStatus::Active => "active",
                            PledgeStatus::Released => "released",
                            PledgeStatus::Enforced => "enforced",
                        };
                        (p.id.to_string(), status)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if pledges != self.pledges {
            out.push(format!("its pledges are {pledges:?} in the database but {:?} in the log", self.pledges));
        }
        let licences: std::collections::BTreeMap<String, bool> = encumbrances
            .map(|e| e.licences.iter().map(|l| (l.id.to_string(), l.terminated_at.is_some())).collect())
            .unwrap_or_default();
        if licences != self.licences {
            out.push(format!(
                "its licences (id → ended) are {licences:?} in the database but {:?} in the log",
                self.licences
            ));
        }
        let versions = app.holding.as_ref().map_or(0, |h| h.versions.len() as u32);
        if self.versions > 0 && versions != self.versions {
            out.push(format!("it has {versions} data versions in the database but {} in the log", self.versions));
        }
        out
    }
}

/// Rows, hashes and checkpoints are read in batches of this many entries.
const BATCH: u64 = 10_000;

/// Check the database against its public log and the log against its signed checkpoints, finding any change
/// a database user could make:
///
/// - every stored hash, leaf and interior, is recomputed from the entries and compared (proofs are built
///   from the interior ones), and every signed checkpoint is checked against the recomputed tree;
/// - a missing row is named as missing (the rows after it are still checked), a row beyond the log's end as
///   inserted;
/// - every entry is rebuilt from its audit event row, which must say exactly what the entry says;
/// - the log is replayed to the public state of every record it names (state, numbers, the newest certificate
///   and its holder and validity, pledges, licences, data versions) and compared with the database, and every
///   published record must be in the log;
/// - with `head` (the newest checkpoint kept outside the database), a log that is behind it or has another
///   root at its size (a rollback, a restored backup) is reported.
///
/// Memory: the log's frontier (a few dozen hashes), one batch of rows, and one small summary per published
/// record.
pub async fn check(
    store: &dyn Store,
    key: &dipr_ledger::note::NoteVerifier,
    head: Option<&crate::head::Head>,
) -> Result<LedgerReport> {
    use dipr_ledger::merkle::{leaf_hash, Frontier};
    let mut f = Findings::default();
    let (size, latest) = match store.checkpoint(None).await? {
        Some((size, note)) => (size, Some(note)),
        None => (0, None),
    };
    if let Some(note) = &latest {
        if let Err(e) = Checkpoint::open(note.as_bytes(), key, key.name()) {
            f.note(format!("the latest checkpoint does not verify with the registry key: {e}"));
        }
    }
    let counter = store.log_size().await?;
    if counter != size {
        f.note(format!("the log counter says {counter} entries but the latest checkpoint has {size}"));
    }
    let end = size.max(counter);
    let mut report = LedgerReport {
        ok: false,
        entries: 0,
        checkpoint_size: size,
        first_bad_entry: None,
        problems: Vec::new(),
        problem_count: 0,
        hashes_checked: 0,
        checkpoints_checked: 0,
        events_checked: 0,
        records_checked: 0,
        head_size: head.map(|h| h.size),
    };
    let mut tree = Frontier::new();
    // Once the tree cannot be rebuilt (an entry and its stored hash both gone), later roots are not compared.
    let mut broken = false;
    let mut failed_checkpoints = 0u64;
    let mut interior: Vec<(u64, String)> = Vec::new();
    let mut replay: std::collections::HashMap<Uuid, Replayed> = std::collections::HashMap::new();
    let mut start = 0u64;
    while start < end {
        let stop = (start + BATCH).min(end);
        let rows = store.log_rows(start, stop).await?;
        let leaves = store.log_nodes(&(start..stop).map(|i| (0u8, i)).collect::<Vec<_>>()).await?;
        let events: std::collections::HashMap<i64, dipr_store::EventRecord> = store
            .events_by_ids(&rows.iter().map(|r| r.event_id).collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let checkpoints = store.checkpoints(start + 1, stop).await?;
        let mut next_checkpoint = checkpoints.iter().peekable();
        let mut rows = rows.iter().peekable();
        let mut completed = Vec::new();
        for i in start..stop {
            let row = rows.next_if(|r| r.index == i);
            let leaf = match row {
                Some(row) => {
                    report.entries += 1;
                    let leaf = leaf_hash(&row.entry);
                    match leaves.get(&(0, i)) {
                        Some(stored) if *stored == leaf => {}
                        Some(_) => f.at(
                            i,
                            format!("entry {i} does not match its stored hash (the entry or its hash was edited)"),
                        ),
                        None => f.at(i, format!("entry {i} has no stored hash (the hash row was deleted)")),
                    }
                    check_event(&mut f, i, row, events.get(&row.event_id), &mut report.events_checked, &mut replay);
                    Some(leaf)
                }
                None => {
                    f.at(i, format!("entry {i} is missing (its row was deleted)"));
                    leaves.get(&(0, i)).copied()
                }
            };
            let Some(leaf) = leaf.filter(|_| !broken) else {
                broken = true;
                continue;
            };
            report.hashes_checked += 1;
            completed.extend(tree.push_leaf(leaf).into_iter().filter(|(level, _, _)| *level > 0));
            while let Some((s, note)) = next_checkpoint.next_if(|(s, _)| *s <= tree.size()) {
                if *s < tree.size() {
                    continue;
                }
                report.checkpoints_checked += 1;
                let ok = Checkpoint::open(note.as_bytes(), key, key.name()).is_ok_and(|(cp, _)| cp.root == tree.root());
                if !ok {
                    failed_checkpoints += 1;
                    if failed_checkpoints == 1 {
                        f.at(s - 1, format!("the signed checkpoint of size {s} does not match the entries before it"));
                    }
                }
            }
            if let Some(h) = head.filter(|h| h.size == tree.size()) {
                if h.root != tree.root() {
                    f.at(h.size - 1, format!(
                        "the log has another root at size {} than the checkpoint kept outside the database: its history was rewritten",
                        h.size
                    ));
                }
            }
        }
        // Interior hashes: proofs are built from them, so each must be what its entries make.
        let stored = store.log_nodes(&completed.iter().map(|(l, i, _)| (*l, *i)).collect::<Vec<_>>()).await?;
        for (level, index, hash) in &completed {
            report.hashes_checked += 1;
            let (first, last) = (index << level, ((index + 1) << level) - 1);
            match stored.get(&(*level, *index)) {
                Some(h) if h == hash => {}
                Some(_) => interior.push((first, format!(
                    "the stored hash at level {level}, index {index} (entries {first}–{last}) is not the hash of its entries: proofs built from it fail"
                ))),
                None => interior.push((first, format!(
                    "the stored hash at level {level}, index {index} (entries {first}–{last}) is missing"
                ))),
            }
        }
        start = stop;
    }
    if failed_checkpoints > 1 {
        f.note(format!("{failed_checkpoints} signed checkpoints in all do not match the entries"));
    }
    // A wrong interior hash over intact entries is a problem of its own (the proofs built from it fail); when
    // the entries themselves changed, it is only their consequence, already reported.
    if failed_checkpoints == 0 && f.first_bad.is_none() {
        for (first, msg) in interior {
            f.at(first, msg);
        }
    }
    let beyond = store.log_rows(end, end.saturating_add(1_000)).await?;
    if let Some(first) = beyond.first() {
        f.at(
            first.index,
            format!(
                "{} row(s) from index {} lie beyond the end of the signed log ({end} entries): inserted",
                beyond.len(),
                first.index
            ),
        );
    }
    if let Some(h) = head {
        if end < h.size {
            f.at(
                end,
                format!(
                    "the database's log has {end} entries but the registry signed and published a checkpoint of {}: \
                 the last {} entries were removed (a restored backup or a rollback)",
                    h.size,
                    h.size - end
                ),
            );
        }
    }
    compare_records(store, &mut f, replay, &mut report.records_checked).await?;
    report.ok = f.count == 0;
    report.first_bad_entry = f.first_bad;
    report.problems = f.problems;
    report.problem_count = f.count;
    Ok(report)
}

/// The entry must be exactly what its event row makes of it; then it joins the replay.
fn check_event(
    f: &mut Findings,
    index: u64,
    row: &dipr_store::LogRow,
    event: Option<&dipr_store::EventRecord>,
    checked: &mut u64,
    replay: &mut std::collections::HashMap<Uuid, Replayed>,
) {
    let entry = match LogEntry::parse(&row.entry) {
        Ok(e) => e,
        Err(e) => return f.at(index, format!("entry {index} is not a log entry: {e}")),
    };
    if entry.event_id != row.event_id {
        f.at(index, format!("entry {index} records event {} but its row names event {}", entry.event_id, row.event_id));
    }
    match event {
        None => f.at(
            index,
            format!("entry {index} records event {}, which is not in the events table (deleted)", row.event_id),
        ),
        Some(ev) => {
            *checked += 1;
            let mut data = entry_data(&ev.reasons, &ev.payload);
            for k in STATEMENT_FIELDS {
                if let Some(v) = entry.data.get(k) {
                    data[k] = v.clone();
                }
            }
            let rebuilt = LogEntry {
                v: ENTRY_VERSION.into(),
                event_id: ev.id,
                at: rfc3339(ev.at),
                kind: ev.kind.clone(),
                subject: ev.subject_id.clone(),
                from_state: ev.from_state.clone(),
                to_state: ev.to_state.clone(),
                data,
            };
            if ev.subject_type != "application" || rebuilt.to_bytes() != row.entry {
                let what = [
                    (rebuilt.kind != entry.kind, "kind"),
                    (rebuilt.at != entry.at, "time"),
                    (rebuilt.subject != entry.subject || ev.subject_type != "application", "subject"),
                    (rebuilt.from_state != entry.from_state || rebuilt.to_state != entry.to_state, "states"),
                    (rebuilt.data != entry.data, "reasons or public facts"),
                ]
                .iter()
                .filter(|(differs, _)| *differs)
                .map(|(_, w)| *w)
                .collect::<Vec<_>>()
                .join(", ");
                f.at(index, format!("event {} was edited after it was logged as entry {index} ({what} differ)", ev.id));
            }
        }
    }
    match Uuid::parse_str(&entry.subject) {
        Ok(id) => replay.entry(id).or_default().apply(index, &entry),
        Err(_) => f.at(index, format!("entry {index} names no record ({:?})", entry.subject)),
    }
}

/// Every record the log names must be, in the database, what the log says; every published record must be in
/// the log.
async fn compare_records(
    store: &dyn Store,
    f: &mut Findings,
    mut replay: std::collections::HashMap<Uuid, Replayed>,
    checked: &mut u64,
) -> Result<()> {
    let public = store.public_application_ids().await?;
    for id in &public {
        if !replay.contains_key(id) {
            f.note(format!("record {id} is published in the database but has no entry in the log"));
        }
    }
    let mut ids: Vec<Uuid> = replay.keys().copied().collect();
    ids.sort_by_key(|id| replay[id].last_index);
    for chunk in ids.chunks(500) {
        let apps = store.applications_by_ids(chunk).await?;
        let found: std::collections::HashSet<Uuid> = apps.iter().map(|a| a.id).collect();
        for id in chunk.iter().filter(|id| !found.contains(id)) {
            let r = &replay[id];
            f.at(
                r.last_index,
                format!("record {id} is in the log (last at entry {}) but not in the database", r.last_index),
            );
        }
        for app in &apps {
            *checked += 1;
            let r = replay.remove(&app.id).expect("asked for");
            let certificate = if r.statement.is_some() { store.certificate(app.id).await? } else { None };
            for d in r.differences(app, certificate.as_deref()) {
                f.at(r.last_index, format!("record {} ({}): {d}", app.id, app.form.product_name));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_registry_is_named_after_its_key_and_an_old_key_keeps_its_name() {
        let dir = std::env::temp_dir().join(format!("dipr-origin-{}", uuid::Uuid::now_v7()));
        let new = load_or_create_signer(&dir.join("new"), None).unwrap();
        let digest = hex::encode(Sha256::digest(new.verifying_key().as_bytes()));
        assert_eq!(new.name(), format!("dipr-{}.localhost/log", &digest[..8]));
        assert_eq!(load_or_create_signer(&dir.join("new"), None).unwrap().name(), new.name());
        // A data directory made when every registry was dipr.localhost/log still opens, configured or not.
        let old = load_or_create_signer(&dir.join("old"), Some("dipr.localhost/log")).unwrap();
        assert_eq!(load_or_create_signer(&dir.join("old"), None).unwrap().id(), old.id());
        assert!(load_or_create_signer(&dir.join("old"), Some("other.example/log")).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
