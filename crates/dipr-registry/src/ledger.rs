//! Joins the registry to its public log: public events become log entries in the same transaction as
//! the state change, every append is followed by a signed checkpoint, and registration issues the
//! certificate with its inclusion proof.

use std::path::Path;

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use dipr_domain::application::{Application, State};
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
        record_url: format!("{}/records/{}", state.config.public_url.trim_end_matches('/'), app.id),
    })
}

async fn nodes(tx: &mut dyn Tx, keys: Vec<(u8, u64)>) -> Result<MapSource> {
    Ok(MapSource(tx.log_nodes(&keys).await?))
}

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
    let mut data = json!({});
    if !event.reasons.is_empty() {
        data["reasons_sha256"] = json!(hex::encode(Sha256::digest(event.reasons.as_bytes())));
    }
    if let Some(o) = event.payload.get("objection_id") {
        data["objection_id"] = o.clone();
    }
    // Public facts of an operation after registration (parties, ranks, terms, amounts).
    if let Some(Value::Object(facts)) = event.payload.get("public") {
        for (k, v) in facts {
            data[k] = v.clone();
        }
    }
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
        };
        let doc = serde_json::to_string_pretty(&cert).map_err(Error::internal)?;
        tx.insert_certificate(app.id, &cert.statement.registration_number, index, &doc, event.at).await?;
    }
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
    pub entries: u64,
    pub checkpoint_size: u64,
    /// The first entry that is missing, edited, or no longer matches the signed history.
    pub first_bad_entry: Option<u64>,
    pub problems: Vec<String>,
}

fn flag(first_bad: &mut Option<u64>, problems: &mut Vec<String>, entry: u64, msg: String) {
    *first_bad = Some(first_bad.map_or(entry, |f| f.min(entry)));
    problems.push(msg);
}

/// Recompute the log from its stored entries and check it against the signed checkpoints: an edited,
/// deleted or inserted row is found and the first affected entry named.
pub async fn check(store: &dyn Store, key: &dipr_ledger::note::NoteVerifier) -> Result<LedgerReport> {
    use dipr_ledger::merkle::{leaf_hash, MemoryTree};
    let mut problems = Vec::new();
    let mut first_bad: Option<u64> = None;
    let Some((size, note)) = store.checkpoint(None).await? else {
        return Ok(LedgerReport { ok: true, entries: 0, checkpoint_size: 0, first_bad_entry: None, problems });
    };
    let latest = match Checkpoint::open(note.as_bytes(), key, key.name()) {
        Ok((cp, _)) => Some(cp),
        Err(e) => {
            problems.push(format!("the latest checkpoint does not verify with the registry key: {e}"));
            None
        }
    };
    let counter = store.log_size().await?;
    if counter != size {
        problems.push(format!("the log counter says {counter} entries but the latest checkpoint has {size}"));
    }
    // Rebuild the tree from the entries, comparing each leaf with its stored hash.
    let mut tree = MemoryTree::new();
    let batch = 10_000u64;
    let mut start = 0u64;
    while start < size {
        let end = (start + batch).min(size);
        let entries = store.log_entries(start, end).await?;
        let keys: Vec<(u8, u64)> = (start..end).map(|i| (0u8, i)).collect();
        let stored = store.log_nodes(&keys).await?;
        if entries.len() as u64 != end - start {
            flag(
                &mut first_bad,
                &mut problems,
                start,
                format!("entries {start}..{end}: {} of {} rows present (rows deleted?)", entries.len(), end - start),
            );
        }
        for (offset, e) in entries.iter().enumerate() {
            let i = start + offset as u64;
            let leaf = leaf_hash(e);
            if stored.get(&(0, i)) != Some(&leaf) {
                flag(
                    &mut first_bad,
                    &mut problems,
                    i,
                    format!("entry {i} does not match its stored leaf hash (the entry row was edited)"),
                );
            }
            tree.push_leaf(leaf);
        }
        start = end;
    }
    // Every signed checkpoint must be the root of the rebuilt tree at its size.
    if first_bad.is_none() {
        for s in store.checkpoint_sizes().await? {
            if s > tree.size() {
                break;
            }
            let Some((_, n)) = store.checkpoint(Some(s)).await? else { continue };
            let ok = Checkpoint::open(n.as_bytes(), key, key.name())
                .is_ok_and(|(cp, _)| cp.root == tree_root(&tree, s).expect("in memory"));
            if !ok {
                flag(
                    &mut first_bad,
                    &mut problems,
                    s - 1,
                    format!(
                        "the signed checkpoint of size {s} does not match the entries (first affected entry {})",
                        s - 1
                    ),
                );
                break;
            }
        }
    }
    if let Some(cp) = &latest {
        if tree.size() >= cp.size && tree_root(&tree, cp.size).expect("in memory") != cp.root && first_bad.is_none() {
            problems.push("the entries do not hash to the latest checkpoint's root".into());
        }
    }
    Ok(LedgerReport {
        ok: problems.is_empty(),
        entries: tree.size(),
        checkpoint_size: size,
        first_bad_entry: first_bad,
        problems,
    })
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
