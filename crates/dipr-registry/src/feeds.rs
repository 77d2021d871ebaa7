//! What the public feeds show: the newest public events of a kind (notices, registrations, revocations and
//! cancellations, encumbrances) or of one record, each with its log index and the record as it stands now.
//! The site renders them as Atom; every item is a log entry, so a reader can prove it with the event stream.

use std::collections::HashMap;

use dipr_domain::public::PublicRecord;
use dipr_ledger::certificate::LogEntry;
use dipr_store::LogFilter;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::Registry;

/// Items a feed holds.
pub const FEED_ITEMS: u32 = 50;

/// The public feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Public notices published (a product enters its objection period).
    Notices,
    /// Products registered (certificates issued).
    Registrations,
    /// Registrations revoked, cancelled or expired.
    Revocations,
    /// Pledges, licences and disputes on registered products.
    Encumbrances,
    /// Every public event about one record.
    Record(Uuid),
}

const ENDINGS: &[&str] = &["revoked", "cancelled", "expired"];
const ENCUMBRANCES: &[&str] = &[
    "pledge_filed",
    "pledge_registered",
    "pledge_released",
    "pledge_enforced",
    "licence_granted",
    "licence_terminated",
    "transferred",
    "succeeded",
    "dispute_filed",
    "dispute_upheld",
    "dispute_dismissed",
];

impl Feed {
    /// The feeds of the whole register, by the name in their address.
    pub const NAMED: [(&'static str, Feed); 4] = [
        ("notices", Feed::Notices),
        ("registrations", Feed::Registrations),
        ("revocations", Feed::Revocations),
        ("encumbrances", Feed::Encumbrances),
    ];

    pub fn named(name: &str) -> Option<Feed> {
        Self::NAMED.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    fn filter(self) -> LogFilter {
        let kinds = |k: &[&str]| LogFilter::Kinds(k.iter().map(|s| s.to_string()).collect());
        match self {
            Feed::Notices => kinds(&["notice_published"]),
            Feed::Registrations => LogFilter::Registrations,
            Feed::Revocations => kinds(ENDINGS),
            Feed::Encumbrances => kinds(ENCUMBRANCES),
            Feed::Record(id) => LogFilter::Subject(id),
        }
    }
}

/// One item: a public event and the record it is about, as the register shows it now.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub index: u64,
    pub event: LogEntry,
    pub record: PublicRecord,
}

/// The newest items of `feed`, newest first. A record's feed exists only for a published record.
pub async fn feed(state: &Registry, feed: Feed) -> Result<Vec<FeedItem>> {
    if let Feed::Record(id) = feed {
        let app = state.store.application(id).await?;
        if app.as_ref().and_then(PublicRecord::listed).is_none() {
            return Err(Error::not_found("record"));
        }
    }
    let rows = state.store.latest_log_rows(&feed.filter(), FEED_ITEMS).await?;
    let entries = rows
        .iter()
        .map(|r| {
            LogEntry::parse(&r.entry)
                .map(|e| (r.index, e))
                .map_err(|m| Error::internal(format!("log entry {}: {m}", r.index)))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut ids: Vec<Uuid> = entries.iter().filter_map(|(_, e)| e.subject.parse().ok()).collect();
    ids.sort();
    ids.dedup();
    let records: HashMap<Uuid, PublicRecord> = state
        .store
        .applications_by_ids(&ids)
        .await?
        .iter()
        .filter_map(PublicRecord::listed)
        .map(|r| (r.id, r))
        .collect();
    Ok(entries
        .into_iter()
        .filter_map(|(index, event)| {
            let record = records.get(&event.subject.parse().ok()?)?.clone();
            Some(FeedItem { index, event, record })
        })
        .collect())
}
