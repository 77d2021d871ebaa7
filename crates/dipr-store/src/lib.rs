//! Storage for dipr: the [`Store`] trait and its two implementations, SQLite (the default, embedded)
//! and PostgreSQL (for several server processes on one database).
//!
//! Writes happen only inside a [`Tx`]. A transaction that changed anything must also append at least one
//! event, or [`Tx::commit`] refuses: there is no state change without its audit record. Nothing of the
//! register is ever deleted; the store deletes only what is not register data: search-index entries it
//! rewrites, and old answered request keys ([`Store::prune_request_keys`]).

#[macro_use]
mod watches;
mod backends;
mod durable;
mod model;
pub mod search;

pub use backends::{matches_search, PgStore, SqliteStore};
pub use model::*;
pub use watches::{
    AlertRecord, AttemptOutcome, AttemptRecord, Channel, ClaimedDelivery, EmailMode, EndpointRecord, NewDelivery,
    WatchKind, WatchRecord,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dipr_domain::application::Application;
use dipr_domain::holding::Transaction;
use dipr_domain::party::Party;
use dipr_domain::time::CalendarDay;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (the constraint or column is named).
    #[error("already exists: {0}")]
    Duplicate(String),
    /// Someone else changed the record since it was read.
    #[error("the record was changed concurrently: {0}")]
    Conflict(String),
    #[error("a transaction changed data without logging an event")]
    UnloggedWrite,
    #[error("stored data could not be decoded: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database URL or options: {0}")]
    Config(String),
    /// A failure injected by a test at the named step (the `failpoints` feature).
    #[error("injected failure at {0}")]
    Injected(&'static str),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Duplicate(
                    db.constraint().map(str::to_string).unwrap_or_else(|| db.message().to_string()),
                );
            }
        }
        StoreError::Database(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Read access, and the way into a write transaction.
#[async_trait]
pub trait Store: WatchStore + Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> Result<()>;
    /// Open and idle connections of the store's pools.
    fn pool_status(&self) -> PoolStatus;
    async fn begin(&self) -> Result<Box<dyn Tx>>;

    async fn application(&self, id: Uuid) -> Result<Option<Application>>;
    async fn applications(&self, filter: &ApplicationFilter, page: Page) -> Result<Paged<Application>>;
    /// Published records as stored `PublicRecord` JSON (filter's `public_only` is implied).
    async fn public_records(
        &self,
        filter: &ApplicationFilter,
        page: Page,
    ) -> Result<Paged<Box<serde_json::value::RawValue>>>;
    /// Applications whose timer deadline is at or before `now`, oldest deadline first.
    async fn due_applications(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Uuid>>;
    /// The latest voluntary withdrawal of the same product by the same applicant.
    async fn last_withdrawal(&self, applicant_id: Uuid, product_key: &str) -> Result<Option<DateTime<Utc>>>;

    async fn events(&self, subject_type: &str, subject_id: &str) -> Result<Vec<EventRecord>>;

    async fn party(&self, id: Uuid) -> Result<Option<Party>>;
    async fn party_by_id_number(&self, id_number: &str) -> Result<Option<Party>>;

    async fn user(&self, id: Uuid) -> Result<Option<UserRecord>>;
    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>>;
    async fn users(&self, page: Page) -> Result<Paged<UserRecord>>;
    /// The live (unexpired, unrevoked) token with this hash, and its active user.
    async fn authenticate(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(UserRecord, TokenRecord)>>;
    async fn tokens_of(&self, user_id: Uuid) -> Result<Vec<TokenRecord>>;
    /// Accounts that gave this e-mail address (compared as stored: lower case), at most `limit`.
    async fn users_by_email(&self, email: &str, limit: u32) -> Result<Vec<UserRecord>>;
    /// The reset link with this hash, used or not.
    async fn password_reset(&self, token_hash: &str) -> Result<Option<PasswordReset>>;
    /// How many reset links were issued for an account since `since`.
    async fn password_resets_since(&self, user_id: Uuid, since: DateTime<Utc>) -> Result<u64>;

    /// Log indexes of the given audit events, where they were logged.
    async fn log_indexes(&self, event_ids: &[i64]) -> Result<std::collections::HashMap<i64, u64>>;
    /// Number of entries in the public log.
    async fn log_size(&self) -> Result<u64>;
    /// Stored subtree hashes of the log (missing keys are simply absent).
    async fn log_nodes(&self, keys: &[(u8, u64)]) -> Result<std::collections::HashMap<(u8, u64), dipr_ledger::Hash>>;
    /// Entries `[from, to)` of the log, in order.
    async fn log_entries(&self, from: u64, to: u64) -> Result<Vec<Vec<u8>>>;
    /// The newest signed checkpoint note, or a given size's.
    async fn checkpoint(&self, size: Option<u64>) -> Result<Option<(u64, String)>>;
    /// The signed checkpoints of sizes `[from, to]`, ascending (the ledger check walks them in batches).
    async fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>>;
    /// The log's rows with indexes `[from, to)` as stored, each with its index and event: unlike
    /// [`Store::log_entries`] a missing row shows as a gap, and rows beyond the counter are returned too.
    async fn log_rows(&self, from: u64, to: u64) -> Result<Vec<LogRow>>;
    /// The newest rows of the log whose events match `filter`, newest first, at most `limit` (the feeds).
    async fn latest_log_rows(&self, filter: &LogFilter, limit: u32) -> Result<Vec<LogRow>>;
    /// The audit events with these ids (absent ids are simply missing from the answer).
    async fn events_by_ids(&self, ids: &[i64]) -> Result<Vec<EventRecord>>;
    /// The applications with these ids, decoded as every read decodes them (absent ids are missing).
    async fn applications_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Application>>;
    /// Ids of every published application.
    async fn public_application_ids(&self) -> Result<Vec<Uuid>>;
    /// Cosignature lines collected for the checkpoint of `size`.
    async fn cosignatures(&self, size: u64) -> Result<Vec<String>>;
    /// The largest checkpoint size this witness has cosigned.
    async fn latest_cosigned_size(&self, witness: &str) -> Result<Option<u64>>;
    /// The largest checkpoint size cosigned by at least `quorum` witnesses.
    async fn latest_quorum_size(&self, quorum: usize) -> Result<Option<u64>>;
    /// The RFC 3161 tokens held for the checkpoint of `size`: (TSA name, DER token), by TSA name.
    async fn timestamps(&self, size: u64) -> Result<Vec<(String, Vec<u8>)>>;
    /// Sizes of the newest time-stamped checkpoints, newest first (at most `limit`).
    async fn timestamped_sizes(&self, limit: u32) -> Result<Vec<u64>>;
    /// A filed fingerprint manifest (JSON).
    async fn manifest(&self, application_id: Uuid, manifest_sha256: &str) -> Result<Option<String>>;
    /// For each (application, manifest) whose discovery sketch shares values with `hashes`: how many,
    /// and the size of that sketch.
    async fn sketch_matches(&self, hashes: &[u64]) -> Result<Vec<SketchMatch>>;
    /// The current certificate of an application (its latest revision), as JSON.
    async fn certificate(&self, application_id: Uuid) -> Result<Option<String>>;
    /// Every certificate issued to an application, oldest first.
    async fn certificate_revisions(&self, application_id: Uuid) -> Result<Vec<String>>;
    async fn application_by_registration_number(&self, number: &str) -> Result<Option<Application>>;
    /// Published products whose filing names this registration as a source, with the licence named.
    async fn derived_products(
        &self,
        registration_number: &str,
    ) -> Result<Vec<(Box<serde_json::value::RawValue>, Option<Uuid>)>>;
    /// Transactions booked against a product, newest first.
    async fn transactions(&self, application_id: Uuid, page: Page) -> Result<Paged<Transaction>>;
    /// A product's transactions summed by kind.
    async fn product_value(&self, application_id: Uuid) -> Result<Vec<ValueByKind>>;
    /// Every published statistic for a filter.
    async fn statistics(&self, filter: &StatsFilter) -> Result<Statistics>;

    async fn industries(&self) -> Result<Vec<Industry>>;
    async fn calendar(&self) -> Result<Vec<CalendarDay>>;
    async fn setting(&self, name: &str) -> Result<Option<String>>;

    /// Claim a request key for `principal` before running the request it names. Not part of a [`Tx`]: the
    /// claim must be visible to a concurrent repeat while the request runs. A key is dated by its last claim
    /// (a retry of a `retryable` answer claims it again).
    async fn claim_request_key(
        &self,
        principal: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestKey>;
    /// Store the answer to a claimed request; a `retryable` answer (the request changed nothing) frees the key
    /// for another attempt.
    async fn answer_request_key(
        &self,
        principal: &str,
        key: &str,
        answer: &StoredAnswer,
        retryable: bool,
    ) -> Result<()>;
    /// Delete at most `limit` answered request keys last claimed before `before`, oldest first; returns how many
    /// went. A key still waiting for its answer is never deleted. Request keys are not register data, only what
    /// lets a client's retry get its first answer again: a repeat of a pruned key is a new request.
    async fn prune_request_keys(&self, before: DateTime<Utc>, limit: u32) -> Result<u64>;
    /// Write a consistent copy of the whole database to the new file `path` while it serves (SQLite's
    /// `VACUUM INTO`). A PostgreSQL registry is backed up with PostgreSQL's own tools instead (refused here).
    async fn backup_to(&self, path: &std::path::Path) -> Result<()>;
}

/// One write transaction. Dropping it without [`Tx::commit`] rolls everything back.
#[async_trait]
pub trait Tx: WatchTx + Send {
    /// Read an application and lock it against concurrent writers until commit.
    async fn application_for_update(&mut self, id: Uuid) -> Result<Option<Application>>;
    async fn insert_application(&mut self, app: &Application) -> Result<()>;
    /// Store `app`, which must be exactly one version ahead of the stored row.
    async fn update_application(&mut self, app: &Application) -> Result<()>;
    /// The next value (from 1) of a named counter, e.g. registration numbers per year.
    async fn next_sequence(&mut self, name: &str) -> Result<i64>;

    async fn insert_party(&mut self, party: &Party, now: DateTime<Utc>) -> Result<()>;
    async fn insert_user(&mut self, user: &UserRecord) -> Result<()>;
    async fn set_user_disabled(&mut self, id: Uuid, disabled: bool) -> Result<bool>;
    async fn insert_token(&mut self, token: &TokenRecord) -> Result<()>;
    /// Revoke a token of `user_id`; false if there was none live.
    async fn revoke_token(&mut self, id: Uuid, user_id: Uuid, now: DateTime<Utc>) -> Result<bool>;
    /// Revoke every live token of `user_id` but `keep` (the session that asked, when it stays).
    async fn revoke_all_tokens(&mut self, user_id: Uuid, keep: Option<Uuid>, now: DateTime<Utc>) -> Result<u64>;
    /// Replace an account's password hash and say whether it must be changed at the next sign-in.
    async fn set_password(&mut self, id: Uuid, password_hash: &str, must_change: bool) -> Result<bool>;
    async fn set_email(&mut self, id: Uuid, email: Option<&str>) -> Result<bool>;
    async fn insert_password_reset(&mut self, reset: &PasswordReset) -> Result<()>;
    /// Mark the live (unused, unexpired) reset link with this hash used; its account, or None when there is
    /// no such live link (so a link works once, even when two requests race).
    async fn use_password_reset(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Uuid>>;

    async fn upsert_industry(&mut self, industry: &Industry) -> Result<()>;
    async fn upsert_calendar_day(&mut self, day: &CalendarDay) -> Result<()>;
    async fn set_setting(&mut self, name: &str, value: &str) -> Result<()>;

    /// Append an entry to the public log for an event of this transaction; returns its index. Appends
    /// are serialised (the log row is locked until commit) and gapless.
    async fn log_append(&mut self, event_id: i64, entry: &[u8]) -> Result<u64> {
        self.log_append_batch(&[(event_id, entry.to_vec())]).await
    }
    /// Append several entries (event id, entry bytes) in order; returns the index of the first. One
    /// counter update, one read of the tree's frontier and bulk inserts, however many entries.
    async fn log_append_batch(&mut self, entries: &[(i64, Vec<u8>)]) -> Result<u64>;
    /// Stored subtree hashes, as seen inside this transaction.
    async fn log_nodes(
        &mut self,
        keys: &[(u8, u64)],
    ) -> Result<std::collections::HashMap<(u8, u64), dipr_ledger::Hash>>;
    async fn insert_checkpoint(&mut self, size: u64, note: &str, now: DateTime<Utc>) -> Result<()>;
    /// Store a manifest and index its discovery sketch (a repeated manifest is a no-op).
    async fn insert_manifest(
        &mut self,
        application_id: Uuid,
        manifest_sha256: &str,
        doc: &str,
        sketch: &[u64],
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn insert_cosignature(&mut self, size: u64, witness: &str, line: &str, now: DateTime<Utc>) -> Result<()>;
    /// Keep a TSA's token for the checkpoint of `size` (a second one from the same TSA is ignored).
    async fn insert_timestamp(
        &mut self,
        size: u64,
        tsa: &str,
        token: &[u8],
        gen_time: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn insert_certificate(
        &mut self,
        application_id: Uuid,
        registration_number: &str,
        log_index: u64,
        doc: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Book a transaction against `app`, recorded by the audit event `event_id`.
    async fn insert_transaction(&mut self, t: &Transaction, app: &Application, event_id: i64) -> Result<()>;

    /// Append to the audit history; returns the event's id.
    async fn append_event(&mut self, event: &NewEvent) -> Result<i64>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// The reads of watches, and the leases and attempts of their deliveries (part of every [`Store`]).
#[async_trait]
pub trait WatchStore: Send + Sync {
    /// How far the public log has been matched against the watches (the next index to match).
    async fn watch_cursor(&self) -> Result<u64>;
    /// Every watch not stopped.
    async fn live_watches(&self) -> Result<Vec<WatchRecord>>;
    /// A user's watches, stopped ones too, newest first.
    async fn watches_of(&self, user_id: Uuid) -> Result<Vec<WatchRecord>>;
    /// A user's webhook endpoints, disabled ones too, newest first.
    async fn webhook_endpoints_of(&self, user_id: Uuid) -> Result<Vec<EndpointRecord>>;
    async fn webhook_endpoint(&self, id: Uuid) -> Result<Option<EndpointRecord>>;
    /// A user's newest alerts (by log index), at most `limit`.
    async fn alerts_of(&self, user_id: Uuid, limit: u32) -> Result<Vec<AlertRecord>>;
    /// An endpoint's event log: its newest delivery attempts, at most `limit`.
    async fn watch_attempts(&self, endpoint_id: Uuid, limit: u32) -> Result<Vec<AttemptRecord>>;
    /// Lease at most `limit` deliveries due at `now` to `owner` until `lease_until`. Not part of a [`Tx`]: the
    /// lease must be visible to every other process at once, so that no two send the same delivery.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>>;
    /// Give a leased delivery back unattempted (its endpoint was disabled meanwhile); false when the lease is no
    /// longer `owner`'s.
    async fn release_delivery(&self, id: Uuid, owner: &str) -> Result<bool>;
    /// Record an attempt at a leased delivery (its endpoint's failures, and disabling, with it); false, and
    /// nothing recorded, when the lease is no longer `owner`'s. Deliveries are not register data: like request
    /// keys they change outside a [`Tx`], and their attempts are their history.
    async fn finish_delivery(&self, outcome: &AttemptOutcome) -> Result<bool>;
}

/// The writes of watches (part of every [`Tx`]).
#[async_trait]
pub trait WatchTx: Send {
    async fn insert_watch(&mut self, watch: &WatchRecord) -> Result<()>;
    /// Stop a live watch of `user_id`; false if there was none.
    async fn stop_watch(&mut self, id: Uuid, user_id: Uuid, now: DateTime<Utc>) -> Result<bool>;
    async fn insert_webhook_endpoint(&mut self, endpoint: &EndpointRecord) -> Result<()>;
    /// Enable or disable an endpoint of `user_id`; false if it was not in the other state (or not theirs).
    async fn set_webhook_endpoint_enabled(
        &mut self,
        id: Uuid,
        user_id: Uuid,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Move the watch cursor from `from` to `to`; false (and nothing written) when it is no longer at `from`:
    /// another process matched those entries first.
    async fn advance_watch_cursor(&mut self, from: u64, to: u64) -> Result<bool>;
    async fn insert_watch_alert(&mut self, alert: &AlertRecord) -> Result<()>;
    async fn insert_watch_delivery(&mut self, delivery: &NewDelivery) -> Result<()>;
}

/// Open the store named by a URL: `sqlite://PATH` or `postgres://…`.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PgStore::connect(url).await?))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(std::sync::Arc::new(SqliteStore::open(std::path::Path::new(path)).await?))
    } else {
        Err(StoreError::Config(format!("unsupported database URL {url:?}: use sqlite://PATH or postgres://…")))
    }
}
