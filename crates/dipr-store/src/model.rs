//! Records the store reads and writes besides the domain's own types.

use chrono::{DateTime, Utc};
use dipr_domain::access::Role;
use dipr_domain::application::{ObjectType, State};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRecord {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    pub party_id: Option<Uuid>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// Where password reset links are sent; accounts need not have one.
    pub email: Option<String>,
    /// The password was set by someone else (an administrator): the account must change it before anything
    /// else.
    pub must_change_password: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Issued at sign-in; expires.
    Session,
    /// Created by the user for scripts; lives until revoked or its expiry.
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Api => "api",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    /// Hex SHA-256 of the secret; the secret itself is never stored.
    #[serde(skip)]
    pub token_hash: String,
    pub kind: TokenKind,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A password reset link as stored: the hash of its secret, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordReset {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Neither revoked nor expired at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Industry {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub active: bool,
    pub position: i64,
}

/// An audit record to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub actor_role: Role,
    /// `application`, `user`, `token`, `party`, `industry`, `calendar`, `setting`.
    pub subject_type: String,
    pub subject_id: String,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reasons: String,
    pub payload: serde_json::Value,
}

/// The database connections a store holds (the metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    pub connections: u32,
    pub idle: usize,
}

/// Which public events a feed shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFilter {
    /// Events of these kinds (`notice_published`, `revoked`, `pledge_registered`, …).
    Kinds(Vec<String>),
    /// Registrations: events that move a record into `registered`.
    Registrations,
    /// Every event about one record.
    Subject(Uuid),
}

/// One stored row of the public log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    pub index: u64,
    pub event_id: i64,
    pub entry: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub actor_role: String,
    pub subject_type: String,
    pub subject_id: String,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reasons: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
    /// Continue after this item instead of skipping `page - 1` pages: every page costs the same, however
    /// deep. Lists ordered by relevance ignore it.
    pub after: Option<Cursor>,
}

impl Page {
    pub const MAX_PER_PAGE: u32 = 100;
    pub fn new(page: u32, per_page: u32) -> Self {
        Self { page: page.max(1), per_page: per_page.clamp(1, Self::MAX_PER_PAGE), after: None }
    }
    /// The page after `cursor`.
    pub fn after(cursor: Cursor, per_page: u32) -> Self {
        Self { after: Some(cursor), ..Self::new(1, per_page) }
    }
    pub fn offset(self) -> i64 {
        if self.after.is_some() {
            return 0;
        }
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::new(1, 20)
    }
}

/// Where a list ordered by last change stopped: the last item's change time and id, written
/// `<milliseconds>.<uuid>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub updated_at_ms: i64,
    pub id: Uuid,
}

impl Cursor {
    pub fn parse(s: &str) -> Option<Self> {
        let (ms, id) = s.split_once('.')?;
        Some(Self { updated_at_ms: ms.parse().ok()?, id: Uuid::parse_str(id).ok()? })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.updated_at_ms, self.id.simple())
    }
}

/// Lists count their items up to this many: beyond it `total` is this and `total_exact` is false, so a
/// list of a million costs no more to answer than one of ten thousand.
pub const COUNT_CAP: i64 = 10_000;

/// A public search ranks its matches (best first) and counts them when there are at most this many; more are
/// "more than 1,000", listed newest first: ranking costs about 50 µs a match, and counting a common word
/// over a million records costs more than the page.
pub const RANK_CAP: i64 = 1_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    /// Items matching, counted up to 10,000, or up to 1,000 for a public search (see `total_exact`).
    pub total: i64,
    /// False when there are more than `total` items.
    pub total_exact: bool,
    /// True when the items are ordered best match first (a search with at most [`RANK_CAP`] matches);
    /// otherwise newest first.
    pub ranked: bool,
    /// Pass as `after` to get the next page (lists ordered by last change, when more may follow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl<T> Paged<T> {
    /// The same page holding `items` instead.
    pub fn with<U>(self, items: Vec<U>) -> Paged<U> {
        Paged {
            items,
            page: self.page,
            per_page: self.per_page,
            total: self.total,
            total_exact: self.total_exact,
            ranked: self.ranked,
            next: self.next,
        }
    }

    /// A page of a list counted exactly.
    pub fn exact(items: Vec<T>, page: Page, total: i64) -> Self {
        Self { items, page: page.page, per_page: page.per_page, total, total_exact: true, ranked: false, next: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Best match first when the filter searches text (newest first among equals, and when more than
    /// [`RANK_CAP`] match a public search); newest first without text.
    #[default]
    Relevance,
    /// Oldest first: review queues work first-in, first-out.
    OldestFirst,
}

/// Which applications to list. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    /// Only published records (public search).
    pub public_only: bool,
    /// Only filings this user filed, or whose applicant or current holder is this party.
    pub owned_by: Option<(Uuid, Option<Uuid>)>,
    pub states: Vec<State>,
    /// Full-text search (see [`crate::search`]): every word must occur in the product's name, a party's
    /// name, an identifier or the summary; Chinese by characters and pairs, words and numbers by prefix.
    pub text: Option<String>,
    /// Full-text search in the holder's name only.
    pub holder: Option<String>,
    pub object_type: Option<ObjectType>,
    pub industry: Option<String>,
    /// Only products this party holds a pending or active pledge on (a bank's loans).
    pub pledgee: Option<Uuid>,
    /// Only products with a pledge waiting for the holder's consent.
    pub pending_pledges: bool,
    /// Only registered products with an objection after grant still to decide.
    pub open_disputes: bool,
    pub order: Order,
}

/// Shared discovery-sketch values between a query and one filed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SketchMatch {
    pub application_id: Uuid,
    pub manifest_sha256: String,
    pub matched: u64,
    pub sketch_size: u64,
}

/// Which slice of the register the statistics cover. Each figure is dated by its own event: filings
/// by submission, certificates and refusals by decision, transactions by their date, pledges by
/// registration. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsFilter {
    /// First day included (local time).
    pub from: Option<chrono::NaiveDate>,
    /// Last day included (local time).
    pub to: Option<chrono::NaiveDate>,
    pub object_type: Option<ObjectType>,
    pub industry: Option<String>,
    /// `legal_person`, `natural_person` or `unincorporated_organisation`.
    pub applicant_kind: Option<String>,
}

/// A count under a label (an object type, an industry code, a month, an ownership class …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Count {
    pub key: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionTimes {
    /// Filings decided (registered, rejected or refused) in the period.
    pub decided: i64,
    /// Days from submission to decision: the exact mean, and the median and 90th percentile in whole
    /// days.
    pub mean_days: Option<f64>,
    pub median_days: Option<f64>,
    pub p90_days: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Applicants {
    /// Distinct applicants with a filing submitted in the period.
    pub total: i64,
    pub by_kind: Vec<Count>,
    pub by_ownership: Vec<Count>,
    pub high_tech: i64,
    pub specialised_innovative: i64,
    pub university_or_institute: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValueByKind {
    /// `licence_fee`, `trade` or `service_fee`.
    pub kind: String,
    pub transactions: i64,
    /// Exact sum, in fen (0.01 yuan).
    pub amount_fen: i64,
    /// Distinct products that earned this kind of money; given for the whole record only (no period), as
    /// counting it per kind within a period would cost a probe per product and kind.
    pub products: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EconomicValue {
    pub transactions: i64,
    pub amount_fen: i64,
    pub products: i64,
    pub by_kind: Vec<ValueByKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PledgeFinancing {
    /// Distinct debtors whose loans are secured by registered products.
    pub enterprises: i64,
    /// Pledges registered in the period.
    pub loans: i64,
    pub amount_fen: i64,
    /// Pledges active now (whenever registered, within the other filters).
    pub active_now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthRow {
    /// `YYYY-MM`, local time.
    pub month: String,
    pub applications: i64,
    pub certificates: i64,
    pub value_fen: i64,
}

/// Every figure of the administration's statistics for one filter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Statistics {
    /// Filings submitted.
    pub applications: i64,
    /// Certificates issued (registrations).
    pub certificates: i64,
    /// Rejected at formal review.
    pub rejected: i64,
    /// Refused at substantive review or on objection.
    pub refused: i64,
    /// Withdrawn, or deemed withdrawn.
    pub withdrawn: i64,
    pub decision_times: DecisionTimes,
    pub applicants: Applicants,
    /// Certificates by object type and by industry code.
    pub products_by_object_type: Vec<Count>,
    pub products_by_industry: Vec<Count>,
    pub economic_value: EconomicValue,
    pub pledge_financing: PledgeFinancing,
    pub monthly: Vec<MonthRow>,
}

/// Transactions of one product, summed by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductValue {
    pub by_kind: Vec<ValueByKind>,
}

/// What claiming a request key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKey {
    /// The key is new (or its last attempt changed nothing): run the request.
    Claimed,
    /// The same request is running now.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
    /// The request ran: here is its answer.
    Answered(StoredAnswer),
}

/// A stored HTTP answer: status, the headers worth replaying (as a JSON object) and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
}
