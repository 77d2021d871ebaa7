//! The newest checkpoint this registry has signed, kept outside the database (`DATA_DIR/log-head`).
//!
//! A database can be rolled back (a restored backup, an operator's `DELETE`) cleanly enough that the log in
//! it is consistent with itself. Signing on from there would sign a second root for a size already signed
//! and published: a fork that witnesses refuse for good and that breaks every certificate issued after the
//! backup. So the registry remembers the newest checkpoint it has seen committed, refuses to start on a log
//! that is behind it or not its extension, and refuses to sign a checkpoint that contradicts it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{nodes_needed, tree_root, MapSource};
use dipr_ledger::note::NoteVerifier;
use dipr_ledger::Hash;
use dipr_store::Store;

use crate::error::{Error, Result};

/// The file and its last known content.
#[derive(Debug)]
pub struct HeadFile {
    path: PathBuf,
    known: Mutex<Option<Head>>,
}

/// A signed checkpoint this registry has published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub size: u64,
    pub root: Hash,
    pub note: String,
}

/// How a database's log stands against the recorded head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The log holds the head (at its size, with its root) and perhaps more.
    Extends,
    /// The log has fewer entries than the registry has signed.
    Behind { log_size: u64, head_size: u64 },
    /// The log has another root at the head's size: its history was rewritten.
    Differs { size: u64 },
}

impl Standing {
    /// The refusal in plain words, or `None` when the log is fine.
    pub fn problem(&self) -> Option<String> {
        match self {
            Self::Extends => None,
            Self::Behind { log_size, head_size } => Some(format!(
                "the database's log has {log_size} entries but this registry has signed and published a checkpoint \
                 of {head_size}: the last {} entries are missing (a restored backup or a rollback). Signing on \
                 would fork the log; see `dipr admin restore` in docs/OPERATIONS.md",
                head_size - log_size
            )),
            Self::Differs { size } => Some(format!(
                "the database's log at size {size} has another root than the checkpoint this registry signed and \
                 published at that size: its history was rewritten"
            )),
        }
    }
}

impl HeadFile {
    /// The head file of a data directory, read with the registry's key (a file that does not verify is refused:
    /// it was not written by this registry).
    pub fn open(data_dir: &Path, key: &NoteVerifier) -> anyhow::Result<Self> {
        let path = data_dir.join("log-head");
        let known = read(&path, key)?;
        Ok(Self { path, known: Mutex::new(known) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The newest head recorded.
    pub fn head(&self) -> Option<Head> {
        self.known.lock().expect("head lock").clone()
    }

    /// Record `note` (a checkpoint of `size` already committed) if it is newer than the recorded head. The
    /// file is replaced atomically; it is not synced on every call: losing the last seconds of it to a power
    /// failure only narrows what a rollback check can see.
    pub fn advance(&self, size: u64, root: Hash, note: &str) -> anyhow::Result<bool> {
        let mut known = self.known.lock().expect("head lock");
        if known.as_ref().is_some_and(|h| h.size >= size) {
            return Ok(false);
        }
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, note)?;
        std::fs::rename(&tmp, &self.path)?;
        *known = Some(Head { size, root, note: note.to_string() });
        Ok(true)
    }

    /// Whether signing a checkpoint of `size` with `root` keeps faith with the recorded head.
    pub fn permits(&self, size: u64, root: &Hash) -> Result<()> {
        match self.head() {
            Some(h) if h.size > size => Err(Error::new(
                "log_behind",
                Standing::Behind { log_size: size - 1, head_size: h.size }.problem().unwrap_or_default(),
            )),
            Some(h) if h.size == size && &h.root != root => {
                Err(Error::new("log_behind", Standing::Differs { size }.problem().unwrap_or_default()))
            }
            _ => Ok(()),
        }
    }
}

fn read(path: &Path, key: &NoteVerifier) -> anyhow::Result<Option<Head>> {
    let note = match std::fs::read_to_string(path) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let (cp, _) = Checkpoint::open(note.as_bytes(), key, key.name())
        .map_err(|e| anyhow::anyhow!("{} is not a checkpoint signed by this registry's key: {e}", path.display()))?;
    Ok(Some(Head { size: cp.size, root: cp.root, note }))
}

/// Compare the database's log with a recorded head.
pub async fn standing(store: &dyn Store, head: &Head) -> Result<Standing> {
    let size = store.log_size().await?;
    if size < head.size {
        return Ok(Standing::Behind { log_size: size, head_size: head.size });
    }
    let nodes = MapSource(store.log_nodes(&nodes_needed(|r| tree_root(r, head.size))).await?);
    match tree_root(&nodes, head.size) {
        Ok(root) if root == head.root => Ok(Standing::Extends),
        _ => Ok(Standing::Differs { size: head.size }),
    }
}

/// Record the database's newest checkpoint as the head when it is newer (the server does this every second,
/// and once at start).
pub async fn advance(store: &dyn Store, file: &HeadFile, key: &NoteVerifier) -> Result<()> {
    let Some((size, note)) = store.checkpoint(None).await? else { return Ok(()) };
    if file.head().is_some_and(|h| h.size >= size) {
        return Ok(());
    }
    let (cp, _) = Checkpoint::open(note.as_bytes(), key, key.name()).map_err(Error::internal)?;
    file.advance(size, cp.root, &note).map_err(Error::internal)?;
    Ok(())
}

/// Keep the head file current every second until `stop` (only when the registry keeps one).
pub async fn run(state: std::sync::Arc<crate::Registry>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Some(file) = state.head() else { return };
    let key = state.signer.verifier();
    loop {
        if let Err(e) = advance(state.store.as_ref(), file, &key).await {
            tracing::warn!(code = e.code, message = %e.message, "could not record the log's head");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}
