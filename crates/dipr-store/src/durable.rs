//! Group commit for SQLite: a commit is acknowledged only once the write-ahead log holding it is on disk,
//! and commits that finish while one sync runs share the next.
//!
//! SQLite's own `synchronous=FULL` syncs the WAL inside every commit, while the one write connection is
//! held, so writers queue behind each other's sync. Here the connection commits with `synchronous=NORMAL`
//! (atomic and consistent, the WAL not yet synced) and is released at once; the committer then waits for a
//! sync of the WAL file that started after its commit. One sync covers every commit made before it began.
//! `fdatasync` on any descriptor of the file flushes the file (Linux syncs the inode, not the descriptor).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Result, StoreError};

pub(crate) struct WalSync {
    wal: PathBuf,
    /// Commits that asked to be made durable.
    committed: AtomicU64,
    /// Every commit up to this count is on disk.
    synced: AtomicU64,
    /// Syncs run, for the tests.
    syncs: AtomicU64,
    syncing: tokio::sync::Mutex<()>,
}

impl WalSync {
    /// For the database file at `db` (its WAL is `<db>-wal`).
    pub(crate) fn new(db: &Path) -> Self {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            wal: PathBuf::from(wal),
            committed: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            syncing: tokio::sync::Mutex::new(()),
        }
    }

    /// Return once every commit finished before this call is on disk.
    pub(crate) async fn durable(&self) -> Result<()> {
        let mine = self.committed.fetch_add(1, Ordering::AcqRel) + 1;
        if self.synced.load(Ordering::Acquire) >= mine {
            return Ok(());
        }
        let _one = self.syncing.lock().await;
        if self.synced.load(Ordering::Acquire) >= mine {
            return Ok(());
        }
        // Every ticket up to here belongs to a commit that had finished when it was taken.
        let covered = self.committed.load(Ordering::Acquire);
        let wal = self.wal.clone();
        tokio::task::spawn_blocking(move || match std::fs::File::open(&wal) {
            Ok(f) => f.sync_data(),
            // No WAL: everything was checkpointed into the database file, which a checkpoint syncs.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .map_err(|e| StoreError::Config(format!("syncing the WAL: {e}")))?
        .map_err(|e| StoreError::Config(format!("syncing {}: {e}", self.wal.display())))?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.synced.fetch_max(covered, Ordering::AcqRel);
        Ok(())
    }

    /// (commits made durable, syncs run).
    #[cfg(test)]
    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        (
            self.committed.load(Ordering::Acquire),
            self.synced.load(Ordering::Acquire),
            self.syncs.load(Ordering::Acquire),
        )
    }
}
