//! What every page shares: the layout, form keys, labels, pagers and field errors.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use dipr_domain::application::{Application, ObjectType, State as Status};
use dipr_domain::shown;
use dipr_domain::time::WorkingCalendar;
use dipr_domain::FieldError;
use rand::RngCore;
use serde::Deserialize;

use crate::web::i18n::Lang;
use dipr_registry::Registry;

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Said after a working-day deadline whose last day lies past the years the holiday calendar covers: it
/// was counted by the weekend rule alone and may move when the year's arrangement is entered.
pub fn beyond_calendar_note(cal: &WorkingCalendar, deadline: DateTime<Utc>, l: Lang) -> &'static str {
    if !cal.beyond_coverage(deadline) {
        return "";
    }
    l.tt(
        "（该年度放假安排尚未录入，暂按周末规则计算，可能调整）",
        " (that year's holidays are not entered yet: counted by the weekend rule alone, it may change)",
    )
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

#[derive(Template)]
#[template(path = "layout.html")]
struct Layout<'a> {
    l: Lang,
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
    let html = match (Layout { l, title, current, body, scripts }).render() {
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

/// A page still assembled as a string (being moved to templates): keys its forms, then the layout.
pub fn layout(l: Lang, title: &str, current: &str, body: &str, scripts: &[&str]) -> Response {
    in_layout(l, title, current, Html(key_forms(body)), scripts)
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

/// Every form that posts gets its own single-use key on its address, so sending it twice (a double click,
/// a resent page) changes the register at most once.
fn key_forms(body: &str) -> String {
    const OPEN: &str = "<form method=\"post\" action=\"";
    let mut out = String::with_capacity(body.len() + 64);
    let mut rest = body;
    while let Some(i) = rest.find(OPEN) {
        let start = i + OPEN.len();
        let Some(len) = rest[start..].find('"') else { break };
        let action = &rest[start..start + len];
        let sep = if action.contains('?') { "&amp;" } else { "?" };
        let mut key = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut key);
        out.push_str(&rest[..start + len]);
        out.push_str(&format!("{sep}{FORM_KEY}={}", hex::encode(key)));
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
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

/// Previous / next links for a paged list; `base` ends with `?` or has a query string already.
pub fn pager(l: Lang, base: &str, page: u32, per_page: u32, total: i64) -> String {
    let pages = (total + i64::from(per_page) - 1) / i64::from(per_page);
    if pages <= 1 {
        return String::new();
    }
    // The base may carry what a reader typed: escaped here, whatever the caller did.
    let base = esc(&if base.ends_with('?') { base.to_string() } else { format!("{base}&") });
    let mut out = String::new();
    if page > 1 {
        out.push_str(&format!("<a href=\"{base}page={}\" rel=\"prev\">{}</a> ", page - 1, l.tt("上一页", "Previous")));
    }
    out.push_str(&format!("{page} / {pages} "));
    if i64::from(page) < pages {
        out.push_str(&format!("<a href=\"{base}page={}\" rel=\"next\">{}</a>", page + 1, l.tt("下一页", "Next")));
    }
    out
}

/// An industry's name in the page's language (its code if it is not in the list).
pub async fn industry_name(st: &Registry, code: &str, l: Lang) -> String {
    st.store
        .industries()
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|i| i.code == code)
        .map_or_else(|| code.to_string(), |i| if l.en { i.name_en } else { i.name_zh })
}

/// Translated message for a field error code (the API's `details[].code`).
pub fn field_message(code: &str, l: Lang) -> String {
    crate::web::messages::text(code, code, l)
}

/// The translated errors of one form field, for next to it (`id="err-FIELD"` for aria-describedby).
pub fn field_errors(errors: &[FieldError], field: &str, l: Lang) -> String {
    errors.iter().filter(|e| e.field == field).map(|e| error_span(field, &field_message(&e.code, l))).collect()
}

/// One message next to a field; the field's input names it in `aria-describedby="err-FIELD"`.
/// The tick box an irreversible action needs: the server refuses the action without it. `id` tells the
/// boxes of several forms on one page apart (the field error is reported at the same id).
pub fn confirm_box(l: Lang, id: &str, error: String) -> String {
    format!(
        "<label class=\"confirm\"><input type=\"checkbox\" name=\"confirm\" id=\"{id}\" value=\"yes\" required aria-describedby=\"err-{id}\"> {}</label>{error}",
        l.tt("我已了解此操作不可撤销，确认执行。", "I understand this cannot be undone, and confirm it.")
    )
}

pub fn error_span(field: &str, message: &str) -> String {
    format!("<span class=\"field-error\" role=\"alert\" id=\"err-{field}\">{}</span>", esc(message))
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
                Status::CorrectionRequested => (l.tt("补正截止", "correct by"), true),
                Status::PublicNotice => (l.tt("公示结束", "notice ends"), true),
                Status::Registered => (l.tt("有效期至", "valid until"), false),
                _ => ("", false),
            };
            let note = if working_days { crate::web::layout::beyond_calendar_note(cal, d, l) } else { "" };
            format!("{what} {}{note}", shown::date_zoned(d, l.en))
        })
        .unwrap_or_default()
}

pub fn event_label(kind: &str, en: bool) -> String {
    let (zh, e) = match kind {
        "submitted" => ("提交申请", "Submitted"),
        "accepted_for_review" => ("受理，进入形式审查", "Accepted into formal review"),
        "formal_review_passed" => ("形式审查合格", "Passed formal review"),
        "correction_requested" => ("要求补正", "Correction requested"),
        "resubmitted" => ("补正后重新提交", "Resubmitted after correction"),
        "rejected" => ("不予受理", "Rejected"),
        "refused" => ("不予登记", "Refused"),
        "deemed_withdrawn" => ("逾期未补正，视为撤回", "Deemed withdrawn (no correction in time)"),
        "edited" => ("修改申请", "Edited"),
        "draft_created" => ("创建草稿", "Draft created"),
        "draft_discarded" => ("丢弃草稿", "Draft discarded"),
        "notice_published" => ("发布公示", "Notice published"),
        "objection_filed" => ("提出异议", "Objection filed"),
        "objection_answered" => ("申请人答复异议", "Objection answered"),
        "objection_upheld" => ("异议成立", "Objection upheld"),
        "objection_dismissed" => ("异议不成立", "Objection dismissed"),
        "notice_ended" => ("公示期满，予以登记", "Notice ended; registered"),
        "withdrawn" => ("申请人撤回", "Withdrawn by the applicant"),
        "cancelled" => ("权利人申请注销", "Cancelled by the holder"),
        "revoked" => ("登记机构撤销登记", "Revoked by the registry"),
        "expired" => ("有效期届满", "Validity ended"),
        "holder_details_changed" => ("权利人信息变更", "Holder details changed"),
        "transferred" => ("转让", "Transferred"),
        "succeeded" => ("继受（继承、合并）", "Succession (inheritance, merger)"),
        "licence_granted" => ("许可备案", "Licence registered"),
        "licence_terminated" => ("许可终止", "Licence ended"),
        "transaction_recorded" => ("交易记录", "Transaction booked"),
        "pledge_filed" => ("质权人申请质押登记", "Pledge filed by the pledgee"),
        "pledge_registered" => ("质押登记（权利人同意）", "Pledge registered (holder consented)"),
        "pledge_released" => ("质押注销", "Pledge released"),
        "pledge_enforced" => ("质权实现", "Pledge enforced"),
        "consent_given" => ("质权人同意", "Pledgee consent"),
        "version_added" => ("数据新版本存证", "New data version attested"),
        "renewed" => ("续展", "Renewed"),
        "dispute_filed" => ("登记后异议", "Objection after grant"),
        "dispute_upheld" => ("登记后异议成立", "Objection after grant upheld"),
        "dispute_dismissed" => ("登记后异议不成立", "Objection after grant dismissed"),
        other => (other, other),
    };
    (if en { e } else { zh }).to_string()
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
        Ok(super::keyed(&action))
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
