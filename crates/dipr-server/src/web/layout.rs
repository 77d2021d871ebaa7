//! What every page shares: the layout, form keys, labels, pagers and field errors.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use dipr_domain::application::{Application, ObjectType, State as Status};
use dipr_domain::encumbrance::{LicenceKind, PledgeStatus};
use dipr_domain::shown;
use dipr_domain::time::WorkingCalendar;
use rand::RngCore;
use serde::Deserialize;

use crate::web::i18n::Lang;

/// Said after a working-day deadline whose last day lies past the years the holiday calendar covers: it
/// was counted by the weekend rule alone and may move when the year's arrangement is entered.
pub fn beyond_calendar_note(cal: &WorkingCalendar, deadline: DateTime<Utc>, l: Lang) -> String {
    if cal.beyond_coverage(deadline) {
        l.t("calendar-not-entered")
    } else {
        String::new()
    }
}

const NAV: [(&str, &str); 7] = [
    ("/", "nav-home"),
    ("/search", "nav-search"),
    ("/notices", "nav-notices"),
    ("/stats", "nav-stats"),
    ("/check", "nav-check"),
    ("/encumbrances", "nav-encumbrances"),
    ("/me", "nav-me"),
];

/// HTML that a template rendered (so escaped by construction): the only HTML a template may embed
/// unescaped. Made by [`Html::of`], nothing else.
pub struct Html(String);

impl Html {
    pub fn of(t: &impl Template) -> askama::Result<Self> {
        t.render().map(Self)
    }
}

impl std::fmt::Display for Html {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for Html {}

/// JSON for a `<script type="application/json">` element: `<` is escaped, so that no value can end the
/// element; nothing else is (entities are not decoded inside a script).
pub struct ScriptJson(String);

impl ScriptJson {
    pub fn of(v: &serde_json::Value) -> Self {
        Self(v.to_string().replace('<', "\\u003c"))
    }
}

impl std::fmt::Display for ScriptJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for ScriptJson {}

tokio::task_local! {
    /// The query string of the request being answered, for the language switch, which keeps it.
    static QUERY: String;
}

/// Middleware: remember the request's query while it is answered, so that switching the language keeps
/// the reader's search, filters and page.
pub async fn remember_query(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let query = req.uri().query().unwrap_or_default().to_string();
    QUERY.scope(query, next.run(req)).await
}

/// The address of this page in the other language: the same query (less a form's single-use key), with
/// `lang` set.
fn language_switch(to: &str) -> String {
    let query = QUERY.try_with(String::clone).unwrap_or_default();
    let lang = format!("lang={to}");
    let kept = query.split('&').filter(|p| !p.is_empty() && !p.starts_with("lang=") && !p.starts_with("once="));
    let pairs: Vec<&str> = kept.chain(std::iter::once(lang.as_str())).collect();
    format!("?{}", pairs.join("&"))
}

#[derive(Template)]
#[template(path = "layout.html")]
struct Layout<'a> {
    l: Lang,
    /// The same page in the other language.
    switch: String,
    title: &'a str,
    current: &'a str,
    body: Html,
    scripts: &'a [&'a str],
}

/// A whole page: `body` rendered inside the registry's layout. `current` is the navigation entry to mark.
pub fn page(l: Lang, title: &str, current: &str, body: &impl Template, scripts: &[&str]) -> Response {
    match Html::of(body) {
        Ok(body) => in_layout(l, title, current, body, scripts),
        Err(e) => rendering_failed(e),
    }
}

fn in_layout(l: Lang, title: &str, current: &str, body: Html, scripts: &[&str]) -> Response {
    let switch = language_switch(if l.en { "zh" } else { "en" });
    let html = match (Layout { l, switch, title, current, body, scripts }).render() {
        Ok(html) => html,
        Err(e) => return rendering_failed(e),
    };
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    if l.remember {
        let v = format!("dipr_lang={}; Path=/; Max-Age=31536000; SameSite=Lax", if l.en { "en" } else { "zh" });
        if let Ok(v) = header::HeaderValue::from_str(&v) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Rendering writes into a string, so it fails only on a formatting bug.
fn rendering_failed(e: askama::Error) -> Response {
    tracing::error!(error = %e, "a page failed to render");
    (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response()
}

/// The query parameter a form's single-use key travels in (claimed by [`crate::once`]).
pub const FORM_KEY: &str = "once";

/// A form's address with a fresh single-use key: every form that posts carries one (templates write
/// `action="{{ url|keyed }}"`), so sending it twice (a double click, a resent page) changes the register at
/// most once.
pub fn keyed(action: &str) -> String {
    let sep = if action.contains('?') { '&' } else { '?' };
    let mut key = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{action}{sep}{FORM_KEY}={}", hex::encode(key))
}

pub fn error_page(l: Lang, status: StatusCode, message: &str) -> Response {
    status_page(l, status, message, false)
}

/// Large amounts the way the administration reports them: 亿元 / 万元, or millions in English.
pub fn big_yuan(l: Lang, fen: i64) -> String {
    let y = fen as f64 / 100.0;
    if l.en {
        format!("¥{:.1} million", y / 1e6)
    } else if y >= 1e8 {
        format!("{:.2} 亿元", y / 1e8)
    } else {
        format!("{:.1} 万元", y / 1e4)
    }
}

/// A filing's state in the reader's language.
pub fn state_label(s: Status, l: Lang) -> String {
    l.t(&format!("state-{}", s.as_str()))
}

/// An object type (its API value) in the reader's language.
pub fn object_type_label(t: &str, l: Lang) -> String {
    match ObjectType::parse(t) {
        Some(t) => l.t(&format!("object-type-{}", t.as_str())),
        None => l.t("object-type-unclassified"),
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    l: Lang,
    status: u16,
    text: &'a str,
    back: bool,
}

fn status_page(l: Lang, status: StatusCode, text: &str, back: bool) -> Response {
    let code = status.as_u16();
    let mut r = page(l, &code.to_string(), "", &Message { l, status: code, text, back }, &[]);
    *r.status_mut() = status;
    r
}

/// A page that only says one thing — a refusal, an expired form, a missing record — in the layout.
pub fn message_page(l: Lang, status: StatusCode, text: &str) -> Response {
    status_page(l, status, text, true)
}

/// A form whose CSRF token does not match the session (or a post the user may not make).
pub fn expired(l: Lang) -> Response {
    message_page(l, StatusCode::FORBIDDEN, &l.t("form-expired"))
}

/// Translated message for a field error code (the API's `details[].code`).
pub fn field_message(code: &str, l: Lang) -> String {
    crate::web::messages::text(code, code, l)
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    pub lang: Option<String>,
}

impl LangQuery {
    pub fn lang(&self) -> Option<&str> {
        self.lang.as_deref()
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn deadline_label(app: &Application, l: Lang, cal: &WorkingCalendar) -> String {
    app.next_deadline()
        .map(|d| {
            let (what, working_days) = match app.state {
                Status::CorrectionRequested => (l.t("deadline-correct-by"), true),
                Status::PublicNotice => (l.t("deadline-notice-ends"), true),
                Status::Registered => (l.t("deadline-valid-until"), false),
                _ => (String::new(), false),
            };
            let note = if working_days { beyond_calendar_note(cal, d, l) } else { String::new() };
            format!("{what} {}{note}", shown::date_zoned(d, l.en))
        })
        .unwrap_or_default()
}

/// Every kind of event the registry writes, each with its label in both catalogues (`event-` and the kind).
pub const EVENT_KINDS: [&str; 37] = [
    "submitted",
    "accepted_for_review",
    "formal_review_passed",
    "correction_requested",
    "resubmitted",
    "rejected",
    "refused",
    "deemed_withdrawn",
    "edited",
    "draft_created",
    "draft_discarded",
    "notice_published",
    "objection_filed",
    "objection_answered",
    "objection_upheld",
    "objection_dismissed",
    "notice_ended",
    "withdrawn",
    "cancelled",
    "revoked",
    "expired",
    "holder_details_changed",
    "transferred",
    "succeeded",
    "licence_granted",
    "licence_terminated",
    "transaction_recorded",
    "pledge_filed",
    "pledge_registered",
    "pledge_released",
    "pledge_enforced",
    "consent_given",
    "version_added",
    "renewed",
    "dispute_filed",
    "dispute_upheld",
    "dispute_dismissed",
];

/// What an event is called in the reader's language (its kind, if it has no label).
pub fn event_label(kind: &str, l: Lang) -> String {
    l.lookup(&format!("event-{kind}")).unwrap_or_else(|| kind.to_string())
}

/// Previous / next links for a paged list (`macros.html`'s `pager`).
pub struct Pager {
    /// The list's address with its query, ending in `?` or `&`, ready for `page=`.
    pub base: String,
    pub page: i64,
    pub pages: i64,
}

impl Pager {
    pub fn new(base: &str, page: u32, per_page: u32, total: i64) -> Self {
        let base = if base.ends_with('?') || base.ends_with('&') { base.to_string() } else { format!("{base}&") };
        Self { base, page: i64::from(page), pages: (total + i64::from(per_page) - 1) / i64::from(per_page) }
    }
}

/// The filters templates use: `keyed` (see [`keyed`]).
pub mod filters {
    /// `{{ "/path"|keyed }}`: the address with a fresh single-use key.
    #[askama::filter_fn]
    pub fn keyed(action: impl std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        let action = action.to_string();
        Ok(crate::web::layout::keyed(&action))
    }
}

/// The status a page answers with when a use case refused: the one the error table gives its code.
pub fn status_of(e: &dipr_registry::Error) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A throttled refusal tells the browser when to try again (`Retry-After`), with the refusal's status.
pub fn retry_after_on(e: &dipr_registry::Error, resp: &mut Response) {
    if let Some(secs) = e.retry_after {
        *resp.status_mut() = status_of(e);
        resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
}

/// A licence's kind in the reader's language.
pub fn licence_kind_label(k: LicenceKind, l: Lang) -> String {
    l.t(match k {
        LicenceKind::Exclusive => "licence-kind-exclusive",
        LicenceKind::Sole => "licence-kind-sole",
        LicenceKind::NonExclusive => "licence-kind-non-exclusive",
    })
}

/// A pledge's state in the reader's language.
pub fn pledge_status_label(s: PledgeStatus, l: Lang) -> String {
    l.t(match s {
        PledgeStatus::Pending => "pledge-status-pending",
        PledgeStatus::Active => "pledge-status-active",
        PledgeStatus::Released => "pledge-status-released",
        PledgeStatus::Enforced => "pledge-status-enforced",
    })
}
