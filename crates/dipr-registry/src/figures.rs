//! The snapshot of the register's headline figures (the home page, and the dashboard's and the API's unfiltered view),
//! kept as a snapshot instead of recomputed for every visitor: over 100,000 products the statistics
//! scan the whole register for about a second. Every page that shows the snapshot names the moment it
//! was taken. Filtered views are computed live.
//!
//! A snapshot younger than `stats_refresh_secs` is served as it is; an older one is served while one
//! request refreshes it in the background; one older than three intervals (nobody has looked for a
//! while) is replaced before it is served. So what a visitor sees is at most a few intervals old, and
//! never more than one computation runs per process. The use cases that read it are in `records.rs`.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use dipr_store::Statistics;
use serde::Serialize;

/// The figures and the moment they were taken.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Snapshot {
    #[serde(flatten)]
    pub statistics: Statistics,
    /// When the figures were computed. Events after this are not in them yet.
    pub as_of: DateTime<Utc>,
    /// How often the figures are refreshed, in seconds (0: computed for every request).
    pub refresh_secs: u64,
}

/// The latest snapshot, shared by every request of the process.
#[derive(Default)]
pub struct Figures {
    latest: RwLock<Option<Arc<Snapshot>>>,
    pub(crate) refreshing: AtomicBool,
    pub(crate) computing: tokio::sync::Mutex<()>,
}

impl Figures {
    pub(crate) fn latest(&self) -> Option<Arc<Snapshot>> {
        self.latest.read().expect("figures lock").clone()
    }

    pub(crate) fn keep(&self, snap: Arc<Snapshot>) {
        *self.latest.write().expect("figures lock") = Some(snap);
    }
}
