//! The public events, in log order, after a cursor: a reader that keeps the index of the last event it read
//! asks for the ones after it and misses nothing. Every page proves itself: it carries the published
//! checkpoint, the roots of the log's perfect subtrees before the page (`left`) and a consistency proof from
//! the end of the page to the checkpoint, so the reader recomputes the tree over the page's entries and checks
//! it against the signed root ([`dipr_ledger::merkle::verify_range`]) without reading the log from the start.

use dipr_ledger::certificate::LogEntry;
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{frontier, Hash};
use dipr_ledger::note::Note;

use crate::error::{Error, Result};
use crate::ledger::prove_consistency;
use crate::Registry;

/// Events a page holds by default and at most.
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// One public event: its position in the log, the exact entry bytes the log hashes (canonical JSON), and the
/// entry read.
#[derive(Debug, Clone)]
pub struct StreamEvent {
    pub index: u64,
    pub entry: String,
    pub event: LogEntry,
}

/// The events after a cursor, with what proves them.
#[derive(Debug, Clone)]
pub struct EventPage {
    /// The first index of the page (the cursor plus one).
    pub start: u64,
    pub events: Vec<StreamEvent>,
    /// The size of the published checkpoint the page is proved against; events beyond it are not served yet.
    pub size: u64,
    /// The published checkpoint (a signed note, with the witnesses' cosignatures).
    pub checkpoint: String,
    /// Roots of the perfect subtrees of the first `start` entries, largest first.
    pub left: Vec<Hash>,
    /// Consistency proof from the tree that ends with the page to the checkpoint's.
    pub consistency: Vec<Hash>,
}

impl EventPage {
    /// The cursor to ask with next: the last index served, or the one asked with when the page is empty.
    pub fn last(&self) -> Option<u64> {
        (self.start + self.events.len() as u64).checked_sub(1)
    }
}

/// The public events with indexes after `after` (from the first when `None`), at most `limit`, up to the
/// published checkpoint. A cursor beyond the published log is refused: it did not come from this log.
pub async fn events_after(state: &Registry, after: Option<u64>, limit: u32) -> Result<EventPage> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::new("bad_request", format!("limit must be between 1 and {MAX_LIMIT}, not {limit}")));
    }
    let start = match after {
        Some(a) => a.checked_add(1).ok_or_else(|| Error::new("bad_request", "after is out of range"))?,
        None => 0,
    };
    let (size, checkpoint) = match crate::witnessing::published_checkpoint(state).await? {
        Some(note) => (checkpoint_size(&note)?, note),
        None => (0, String::new()),
    };
    if start > size {
        return Err(Error::new(
            "log_cursor_ahead",
            format!(
                "after={} is beyond the published log, which holds {size} events (indexes 0–{})",
                start - 1,
                size.saturating_sub(1)
            ),
        ));
    }
    let end = start.saturating_add(u64::from(limit)).min(size);
    let rows = state.store.log_rows(start, end).await?;
    let mut events = Vec::with_capacity(rows.len());
    for (expected, row) in (start..end).zip(&rows) {
        if row.index != expected {
            return Err(Error::internal(format!("log entry {expected} is missing from the database")));
        }
        let event = LogEntry::parse(&row.entry).map_err(|e| Error::internal(format!("log entry {expected}: {e}")))?;
        let entry = String::from_utf8(row.entry.clone()).map_err(Error::internal)?;
        events.push(StreamEvent { index: row.index, entry, event });
    }
    if events.len() as u64 != end - start {
        return Err(Error::internal(format!("log entries {start}–{end} are incomplete in the database")));
    }
    let keys = frontier(start);
    let nodes = state.store.log_nodes(&keys).await?;
    let left = keys
        .iter()
        .map(|k| nodes.get(k).copied().ok_or_else(|| Error::internal(format!("stored hash {k:?} is missing"))))
        .collect::<Result<Vec<_>>>()?;
    let consistency = if end == 0 { Vec::new() } else { prove_consistency(state.store.as_ref(), end, size).await? };
    Ok(EventPage { start, events, size, checkpoint, left, consistency })
}

fn checkpoint_size(note: &str) -> Result<u64> {
    let note = Note::parse(note.as_bytes()).map_err(Error::internal)?;
    Ok(Checkpoint::parse_text(&note.text).map_err(Error::internal)?.size)
}
