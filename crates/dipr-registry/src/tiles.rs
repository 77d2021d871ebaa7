//! The log as C2SP tlog-tiles: the bytes of one tile, as the server serves it, and the export of a signed
//! checkpoint with every tile it needs to a directory, so that any static web server or CDN can serve the log.
//!
//! A tile's bytes depend only on its path: a full tile holds 256 hashes (or entries) of a log that only grows,
//! and a partial tile `.p/W` the first W of them. No address ever changes what it holds; a larger log is
//! served at other addresses (a wider partial tile, then the full one).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{nodes_needed, tree_root, MapSource};
use dipr_ledger::note::Note;
use dipr_ledger::tile::{tiles_for, TileRequest, TILE_HEIGHT, TILE_WIDTH};
use dipr_store::Store;

use crate::error::{Error, Result};

/// The bytes of a tile of the log as it is now, or `None` when the log does not (yet) reach that far.
pub async fn tile(store: &dyn Store, req: &TileRequest) -> Result<Option<Vec<u8>>> {
    let Some((start, width)) = req.span() else { return Ok(None) };
    let size = store.log_size().await?;
    let level_shift = u32::from(req.level.unwrap_or(0)) * u32::from(TILE_HEIGHT);
    // Hashes available at this tile's level of the tree.
    let available = size.checked_shr(level_shift).unwrap_or(0);
    if start + width > available {
        return Ok(None);
    }
    read(store, req).await.map(Some)
}

/// A tile the log is known to reach: hash tiles are the stored subtree hashes of their level, concatenated;
/// entry bundles are the entries, each after its length as a big-endian u16.
async fn read(store: &dyn Store, req: &TileRequest) -> Result<Vec<u8>> {
    let (start, width) = req.span().ok_or_else(|| Error::internal(format!("tile {} beyond any tree", req.path())))?;
    match req.level {
        Some(level) => {
            let tree_level = level * TILE_HEIGHT;
            let keys: Vec<(u8, u64)> = (start..start + width).map(|i| (tree_level, i)).collect();
            let nodes = store.log_nodes(&keys).await?;
            let mut out = Vec::with_capacity(keys.len() * 32);
            for k in &keys {
                out.extend_from_slice(nodes.get(k).ok_or_else(|| Error::internal(format!("missing log hash {k:?}")))?);
            }
            Ok(out)
        }
        None => {
            let entries = store.log_entries(start, start + width).await?;
            if entries.len() as u64 != width {
                return Err(Error::internal(format!("entries {start}..{}: {} found", start + width, entries.len())));
            }
            let mut out = Vec::new();
            for e in entries {
                let len = u16::try_from(e.len()).map_err(|_| Error::internal("a log entry exceeds 65535 bytes"))?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&e);
            }
            Ok(out)
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExportReport {
    /// Size of the exported checkpoint (0: the log is empty and nothing was written).
    pub size: u64,
    /// Tiles the checkpoint needs (hash tiles of every level and entry bundles).
    pub tiles: u64,
    /// Full tiles written by this run (absent before).
    pub full_written: u64,
    /// Partial tiles written by this run.
    pub partial_written: u64,
    /// Tiles already in the directory, left as they were.
    pub kept: u64,
    /// Whether `checkpoint` was replaced (false when it was already this one).
    pub checkpoint_written: bool,
}

/// Write the latest signed checkpoint as `DIR/checkpoint` and every tile it needs as `DIR/tile/…`, with the
/// paths and bytes the server serves at `/log/checkpoint` and `/log/tile/…`.
///
/// Incremental: a tile already in the directory is never written again (its address never changes what it
/// holds), so a run reads and writes only what the log gained since the last one. Every file is written to a
/// temporary name, synced and renamed; `checkpoint` comes last, after the tiles and their directories are on
/// disk, so a reader that sees a checkpoint finds every tile it needs. Partial tiles of earlier checkpoints stay:
/// a client still holding such a checkpoint may fetch them.
///
/// Refused: a directory holding another log's checkpoint (another origin, or a tree this log does not
/// extend), a larger checkpoint than this log's, or a tile of the wrong length; and a second export running
/// into the same directory. The file system is used synchronously: this is for the command line
/// (`dipr ledger export-tiles`), not for a server's request.
pub async fn export(store: &dyn Store, dir: &Path) -> anyhow::Result<ExportReport> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let lock_path = dir.join(".export.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        bail!("another export into {} is running", dir.display());
    }
    let Some((size, note)) = store.checkpoint(None).await? else {
        return Ok(ExportReport::default());
    };
    let current = checkpoint_of(&note).context("the database's latest checkpoint")?;
    let checkpoint_path = dir.join("checkpoint");
    let previous = match std::fs::read(&checkpoint_path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", checkpoint_path.display())),
    };
    if let Some(bytes) = &previous {
        let text = String::from_utf8_lossy(bytes);
        let old = checkpoint_of(&text).with_context(|| format!("{} is not a checkpoint", checkpoint_path.display()))?;
        if old.origin != current.origin {
            bail!("{} holds the log {:?}, not {:?}", dir.display(), old.origin, current.origin);
        }
        if old.size > size {
            bail!(
                "{} holds a checkpoint of {} entries but this log has {size}: is the database an older copy?",
                dir.display(),
                old.size
            );
        }
        let nodes = MapSource(store.log_nodes(&nodes_needed(|r| tree_root(r, old.size))).await?);
        if tree_root(&nodes, old.size).map_err(|e| anyhow::anyhow!("{e}"))? != old.root {
            bail!("{} holds a checkpoint this log does not extend (another history)", dir.display());
        }
    }

    let mut report = ExportReport { size, ..Default::default() };
    let mut dirs = BTreeSet::new();
    for req in tiles_for(size) {
        report.tiles += 1;
        let path = dir.join("tile").join(req.path());
        match std::fs::metadata(&path) {
            Ok(meta) => {
                let width = req.partial.unwrap_or(TILE_WIDTH);
                if req.level.is_some() && meta.len() != width * 32 {
                    bail!("{} holds {} bytes, not {}: not a tile of this log", path.display(), meta.len(), width * 32);
                }
                report.kept += 1;
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
        let bytes = read(store, &req).await?;
        write_atomically(&path, &bytes)?;
        // This file's directory and every directory up to `dir`, which may be new too.
        dirs.extend(path.ancestors().skip(1).take_while(|d| d.starts_with(dir)).map(Path::to_path_buf));
        if req.partial.is_some() {
            report.partial_written += 1;
        } else {
            report.full_written += 1;
        }
    }
    // The tiles' directory entries reach the disk before the checkpoint that needs them.
    for d in dirs {
        sync_dir(&d)?;
    }
    if previous.as_deref() != Some(note.as_bytes()) {
        write_atomically(&checkpoint_path, note.as_bytes())?;
        report.checkpoint_written = true;
    }
    drop(lock);
    Ok(report)
}

fn checkpoint_of(note: &str) -> anyhow::Result<Checkpoint> {
    let note = Note::parse(note.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Checkpoint::parse_text(&note.text).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Write `bytes` to `path` through a temporary file in the same directory: synced, then renamed over `path`, so
/// a reader sees the whole file or none of it.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path.file_name().expect("a file name").to_string_lossy();
    let tmp: PathBuf = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    if path.file_name().is_some_and(|n| n == "checkpoint") {
        sync_dir(dir)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", dir.display()))?;
    Ok(())
}
