//! The public web pages: home with headline figures, search, notices, the statistics dashboard (charts
//! drawn by the embedded Chart.js), the certificate check, and the banks' encumbrance search.
//! Server-rendered HTML; Chinese by default, English with `?lang=en` (remembered in a cookie). Every
//! asset is embedded in the binary: no CDN, nothing fetched at run time.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use dipr_domain::application::{ObjectType, State as Status};
use dipr_domain::time::WorkingCalendar;
use dipr_domain::FieldError;
use dipr_store::{ApplicationFilter, Page, Statistics};
use rand::RngCore;
use serde::Deserialize;
use serde_json::Value;

use crate::api_holdings::StatsParams;
use crate::AppState;

const CHART_JS: &str = include_str!("../assets/vendor/chart-4.6.1.umd.min.js");
const DASHBOARD_JS: &str = include_str!("../assets/dashboard.js");
const FILE_INPUT_JS: &str = include_str!("../assets/file-input.js");
const STYLE_CSS: &str = include_str!("../assets/style.css");

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home))
        .route("/search", get(search))
        .route("/notices", get(notices))
        .route("/stats", get(stats))
        .merge(crate::check_page::routes())
        .route("/encumbrances", get(encumbrances))
        .route("/assets/chart.umd.min.js", get(|| async { asset("text/javascript", CHART_JS) }))
        .route("/assets/dashboard.js", get(|| async { asset("text/javascript", DASHBOARD_JS) }))
        .route("/assets/file-input.js", get(|| async { asset("text/javascript", FILE_INPUT_JS) }))
        .route("/assets/style.css", get(|| async { asset("text/css", STYLE_CSS) }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// The reader's language: `?lang=` wins and is remembered; then the cookie; Chinese by default.
#[derive(Clone, Copy)]
pub struct Lang {
    pub en: bool,
    /// Set the cookie in this response.
    remember: bool,
}

impl Lang {
    pub fn of(query_lang: Option<&str>, headers: &HeaderMap) -> Self {
        if let Some(l) = query_lang {
            return Self { en: l == "en", remember: true };
        }
        let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let en = cookie.split(';').any(|c| c.trim() == "dipr_lang=en");
        Self { en, remember: false }
    }

    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.en {
            en
        } else {
            zh
        }
    }
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Said after a working-day deadline whose last day lies past the years the holiday calendar covers: it
/// was counted by the weekend rule alone and may move when the year's arrangement is entered.
pub fn beyond_calendar_note(cal: &WorkingCalendar, deadline: DateTime<Utc>, l: Lang) -> &'static str {
    if !cal.beyond_coverage(deadline) {
        return "";
    }
    l.t(
        "（该年度放假安排尚未录入，暂按周末规则计算，可能调整）",
        " (that year's holidays are not entered yet: counted by the weekend rule alone, it may change)",
    )
}

/// A whole page in the registry's layout.
pub fn layout(l: Lang, title: &str, current: &str, body: &str, scripts: &[&str]) -> Response {
    let nav = [
        ("/", l.t("首页", "Home")),
        ("/search", l.t("检索", "Search")),
        ("/notices", l.t("公示", "Notices")),
        ("/stats", l.t("统计", "Statistics")),
        ("/check", l.t("证书核验", "Check a certificate")),
        ("/encumbrances", l.t("权利负担查询", "Encumbrance search")),
        ("/me", l.t("我的登记", "My registry")),
    ];
    let mut links = String::new();
    for (href, label) in nav {
        let cur = if href == current { " aria-current=\"page\"" } else { "" };
        links.push_str(&format!("<a href=\"{href}\"{cur}>{label}</a>"));
    }
    let mut js = String::new();
    for s in scripts {
        js.push_str(&format!("<script src=\"{s}\"></script>"));
    }
    let (other, other_label) = if l.en { ("zh", "中文") } else { ("en", "English") };
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} · {site}</title>\
         <link rel=\"stylesheet\" href=\"/assets/style.css\"></head><body>\
         <a class=\"skip\" href=\"#main\">{skip}</a>\
         <header class=\"site\"><div class=\"wrap\"><a class=\"brand\" href=\"/\">{site}</a>\
         <a class=\"lang\" id=\"lang-switch\" href=\"?lang={other}\" lang=\"{other}\">{other_label}</a></div>\
         <nav class=\"wrap\" aria-label=\"{navlabel}\">{links}</nav></header>\
         <main id=\"main\" class=\"wrap\">{body}</main>\
         <footer class=\"wrap\">{footer}</footer>{js}</body></html>",
        lang = if l.en { "en" } else { "zh-CN" },
        title = esc(title),
        body = key_forms(body),
        site = l.t("数据知识产权登记平台", "Data Intellectual Property Registry"),
        skip = l.t("跳到正文", "Skip to content"),
        navlabel = l.t("主导航", "Main"),
        footer = l.t(
            "登记事项均记入公开账本，证书可离线核验。API：/api/openapi.json",
            "Every registration event is in the public ledger; certificates verify offline. API: /api/openapi.json",
        ),
    );
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    if l.remember {
        let v = format!("dipr_lang={}; Path=/; Max-Age=31536000; SameSite=Lax", if l.en { "en" } else { "zh" });
        if let Ok(v) = header::HeaderValue::from_str(&v) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    resp
}

/// The query parameter a form's single-use key travels in (claimed by [`crate::once`]).
pub const FORM_KEY: &str = "once";

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

fn error_page(l: Lang, status: StatusCode, message: &str) -> Response {
    let mut r = layout(
        l,
        &status.as_u16().to_string(),
        "",
        &format!("<h1>{}</h1><p>{}</p>", status.as_u16(), esc(message)),
        &[],
    );
    *r.status_mut() = status;
    r
}

/// Large amounts the way the administration reports them: 亿元 / 万元, or millions in English.
fn big_yuan(l: Lang, fen: i64) -> String {
    let y = fen as f64 / 100.0;
    if l.en {
        format!("¥{:.1} million", y / 1e6)
    } else if y >= 1e8 {
        format!("{:.2} 亿元", y / 1e8)
    } else {
        format!("{:.1} 万元", y / 1e4)
    }
}

pub fn state_label(s: Status, l: Lang) -> &'static str {
    crate::pages::state_label(s, l.en)
}

pub fn object_type_label(t: &str, l: Lang) -> &'static str {
    match t {
        "data_collection" => l.t("数据加工集合", "Data collection"),
        "data_product" => l.t("数据加工产品", "Data product"),
        "data_algorithm" => l.t("数据技术算法", "Data algorithm"),
        _ => l.t("未分类", "Unclassified"),
    }
}

/// A page that only says one thing — a refusal, an expired form, a missing record — in the layout.
pub fn message_page(l: Lang, status: StatusCode, text: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p role=\"alert\">{}</p><p><a href=\"/me\">{}</a></p>",
        status.as_u16(),
        esc(text),
        l.t("返回我的登记", "Back to my registry")
    );
    let mut r = layout(l, &status.as_u16().to_string(), "", &body, &[]);
    *r.status_mut() = status;
    r
}

/// A form whose CSRF token does not match the session (or a post the user may not make).
pub fn expired(l: Lang) -> Response {
    message_page(l, StatusCode::FORBIDDEN, l.t("表单已过期，请返回重试。", "The form expired; go back and try again."))
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
        out.push_str(&format!("<a href=\"{base}page={}\" rel=\"prev\">{}</a> ", page - 1, l.t("上一页", "Previous")));
    }
    out.push_str(&format!("{page} / {pages} "));
    if i64::from(page) < pages {
        out.push_str(&format!("<a href=\"{base}page={}\" rel=\"next\">{}</a>", page + 1, l.t("下一页", "Next")));
    }
    out
}

/// An industry's name in the page's language (its code if it is not in the list).
pub async fn industry_name(st: &AppState, code: &str, l: Lang) -> String {
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
    crate::messages::text(code, code, l)
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
        l.t("我已了解此操作不可撤销，确认执行。", "I understand this cannot be undone, and confirm it.")
    )
}

pub fn error_span(field: &str, message: &str) -> String {
    format!("<span class=\"field-error\" role=\"alert\" id=\"err-{field}\">{}</span>", esc(message))
}

fn kpi(label: &str, value: &str, id: &str) -> String {
    format!(
        "<div class=\"kpi\" id=\"{id}\"><div class=\"kpi-value\">{}</div><div class=\"kpi-label\">{}</div></div>",
        esc(value),
        esc(label)
    )
}

fn record_rows(items: &[Box<serde_json::value::RawValue>], l: Lang) -> String {
    let mut rows = String::new();
    for raw in items {
        let Ok(r) = serde_json::from_str::<Value>(raw.get()) else { continue };
        let id = r["id"].as_str().unwrap_or_default();
        let state = r["state"].as_str().and_then(Status::parse).map(|s| state_label(s, l)).unwrap_or("");
        let number = r["registration"]["registration_number"].as_str().unwrap_or("—");
        let mut flags = String::new();
        for (k, zh, en) in
            [("pledged", "质押", "pledged"), ("licensed", "许可", "licensed"), ("disputed", "异议", "disputed")]
        {
            if r[k] == Value::Bool(true) {
                flags.push_str(&format!(" <span class=\"tag\">{}</span>", l.t(zh, en)));
            }
        }
        rows.push_str(&format!(
            "<tr><td><a href=\"/records/{id}\">{}</a>{flags}</td><td>{}</td><td>{}</td><td>{}</td><td>{state}</td></tr>",
            esc(r["product_name"].as_str().unwrap_or_default()),
            esc(r["holder"]["name"].as_str().unwrap_or_default()),
            object_type_label(r["object_type"].as_str().unwrap_or_default(), l),
            esc(number),
        ));
    }
    rows
}

fn records_table(items: &[Box<serde_json::value::RawValue>], l: Lang) -> String {
    if items.is_empty() {
        return format!("<p class=\"muted\">{}</p>", l.t("没有符合条件的记录。", "Nothing matches."));
    }
    format!(
        "<div class=\"scroll\"><table class=\"list\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table></div>",
        l.t("产品名称", "Product"),
        l.t("权利人", "Holder"),
        l.t("登记对象", "Object type"),
        l.t("登记号", "Registration no."),
        l.t("状态", "Status"),
        record_rows(items, l)
    )
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

impl LangQuery {
    pub fn lang(&self) -> Option<&str> {
        self.lang.as_deref()
    }
}

async fn home(State(st): State<Arc<AppState>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let s = match st.store.statistics(&Default::default()).await {
        Ok(s) => s,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let filter =
        ApplicationFilter { states: vec![Status::PublicNotice, Status::ObjectionPending], ..Default::default() };
    let notices = st.store.public_records(&filter, Page::new(1, 5)).await.map(|p| p.items).unwrap_or_default();
    let body = format!(
        "<section class=\"hero\"><h1>{h1}</h1><p>{lead}</p>\
         <form class=\"search\" action=\"/search\" role=\"search\"><label for=\"q\" class=\"sr\">{searchlabel}</label>\
         <input id=\"q\" name=\"q\" placeholder=\"{placeholder}\"><button>{searchbtn}</button></form></section>\
         <section class=\"kpis\">{k1}{k2}{k3}{k4}{k5}</section>\
         <h2>{noticeh}</h2>{notices}<p><a href=\"/notices\">{more}</a> · <a href=\"/stats\">{statslink}</a></p>",
        h1 = l.t("数据知识产权登记", "Data intellectual property registration"),
        lead = l.t(
            "数据集合、数据产品与数据算法的登记、公示、证书与权利负担；所有事项记入公开账本，可离线核验。",
            "Registration, public notice, certificates and encumbrances of data collections, products and algorithms; every event is in a public ledger that verifies offline."
        ),
        searchlabel = l.t("检索登记记录", "Search the register"),
        placeholder = l.t("产品名称、权利人、登记号或统一社会信用代码", "Product, holder, registration number or credit code"),
        searchbtn = l.t("检索", "Search"),
        k1 = kpi(l.t("登记申请", "Applications"), &s.applications.to_string(), "kpi-applications"),
        k2 = kpi(l.t("颁发证书", "Certificates"), &s.certificates.to_string(), "kpi-certificates"),
        k3 = kpi(l.t("交易、许可与服务收入", "Licences, trades and service fees"), &big_yuan(l, s.economic_value.amount_fen), "kpi-value"),
        k4 = kpi(l.t("质押融资企业", "Firms with pledge loans"), &s.pledge_financing.enterprises.to_string(), "kpi-pledge-firms"),
        k5 = kpi(l.t("质押融资金额", "Pledge financing"), &big_yuan(l, s.pledge_financing.amount_fen), "kpi-pledge-amount"),
        noticeh = l.t("正在公示", "On public notice"),
        notices = records_table(&notices, l),
        more = l.t("全部公示", "All notices"),
        statslink = l.t("统计数据", "Statistics"),
    );
    layout(l, l.t("首页", "Home"), "/", &body, &[])
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    lang: Option<String>,
    q: Option<String>,
    status: Option<String>,
    object_type: Option<String>,
    page: Option<u32>,
}

async fn search(State(st): State<Arc<AppState>>, Query(q): Query<SearchQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let text = q.q.clone().unwrap_or_default();
    let status = q.status.as_deref().and_then(Status::parse);
    let object_type = q.object_type.as_deref().and_then(ObjectType::parse);
    let filter = ApplicationFilter {
        text: Some(text.clone()),
        states: status.into_iter().collect(),
        object_type,
        ..Default::default()
    };
    let page = Page::new(q.page.unwrap_or(1), 20);
    let found = match st.store.public_records(&filter, page).await {
        Ok(p) => p,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut status_opts = format!("<option value=\"\">{}</option>", l.t("全部状态", "Any status"));
    for s in
        [Status::PublicNotice, Status::Registered, Status::Refused, Status::Cancelled, Status::Revoked, Status::Expired]
    {
        let sel = if status == Some(s) { " selected" } else { "" };
        status_opts.push_str(&format!("<option value=\"{}\"{sel}>{}</option>", s.as_str(), state_label(s, l)));
    }
    let mut type_opts = format!("<option value=\"\">{}</option>", l.t("全部类型", "Any type"));
    for t in ["data_collection", "data_product", "data_algorithm"] {
        let sel = if q.object_type.as_deref() == Some(t) { " selected" } else { "" };
        type_opts.push_str(&format!("<option value=\"{t}\"{sel}>{}</option>", object_type_label(t, l)));
    }
    let base = format!(
        "/search?q={}&status={}&object_type={}",
        urlencode(&text),
        status.map_or("", Status::as_str),
        object_type.map_or("", ObjectType::as_str)
    );
    let pager = pager(l, &base, page.page, 20, found.total);
    let body = format!(
        "<h1>{h1}</h1><form class=\"filters\" action=\"/search\">\
         <label>{kw}<input name=\"q\" value=\"{text}\"></label>\
         <label>{st}<select name=\"status\">{status_opts}</select></label>\
         <label>{ty}<select name=\"object_type\">{type_opts}</select></label><button>{go}</button></form>\
         <p class=\"muted\" id=\"result-count\">{count}</p>{table}<p class=\"pager\">{pager}</p>",
        h1 = l.t("检索登记记录", "Search the register"),
        kw = l.t("关键词", "Keywords"),
        text = esc(&text),
        st = l.t("状态", "Status"),
        ty = l.t("登记对象", "Object type"),
        go = l.t("检索", "Search"),
        count = if l.en { format!("{} records", found.total) } else { format!("共 {} 条记录", found.total) },
        table = records_table(&found.items, l),
    );
    layout(l, l.t("检索", "Search"), "/search", &body, &[])
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn notices(State(st): State<Arc<AppState>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let filter =
        ApplicationFilter { states: vec![Status::PublicNotice, Status::ObjectionPending], ..Default::default() };
    let found = st.store.public_records(&filter, Page::new(1, 100)).await.map(|p| p.items).unwrap_or_default();
    let body = format!(
        "<h1>{}</h1><p>{}</p>{}",
        l.t("正在公示的登记申请", "Filings on public notice"),
        l.t(
            "公示期内任何人均可在记录页面提出异议并附理由与证据；审查员将作出附理由的决定。",
            "During the notice period anyone may object on the record's page, with grounds and evidence; an examiner decides with reasons."
        ),
        records_table(&found, l)
    );
    layout(l, l.t("公示", "Notices"), "/notices", &body, &[])
}

async fn stats(State(st): State<Arc<AppState>>, Query(q): Query<StatsQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let params = StatsParams {
        from: q.from.clone(),
        to: q.to.clone(),
        object_type: q.object_type.clone(),
        industry: q.industry.clone(),
        applicant_kind: q.applicant_kind.clone(),
    };
    let (filter, errors) = match params.parse() {
        Ok(f) => (f, Vec::new()),
        Err(e) => (Default::default(), e.details),
    };
    let s = match st.store.statistics(&filter).await {
        Ok(s) => s,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let industries = st.store.industries().await.unwrap_or_default();
    let industry_name = |code: &str| {
        industries
            .iter()
            .find(|i| i.code == code)
            .map(|i| if l.en { i.name_en.clone() } else { i.name_zh.clone() })
            .unwrap_or_else(|| code.to_string())
    };
    let err = |field: &str| field_errors(&errors, field, l);
    let keep = |v: &Option<String>| esc(v.as_deref().unwrap_or(""));
    let mut industry_opts = format!("<option value=\"\">{}</option>", l.t("全部行业", "All industries"));
    for i in &industries {
        let sel = if q.industry.as_deref() == Some(i.code.as_str()) { " selected" } else { "" };
        industry_opts.push_str(&format!(
            "<option value=\"{}\"{sel}>{}</option>",
            esc(&i.code),
            esc(&industry_name(&i.code))
        ));
    }
    let mut type_opts = format!("<option value=\"\">{}</option>", l.t("全部类型", "All types"));
    for t in ["data_collection", "data_product", "data_algorithm"] {
        let sel = if q.object_type.as_deref() == Some(t) { " selected" } else { "" };
        type_opts.push_str(&format!("<option value=\"{t}\"{sel}>{}</option>", object_type_label(t, l)));
    }
    let mut kind_opts = format!("<option value=\"\">{}</option>", l.t("全部申请人", "All applicants"));
    for (k, zh, en) in [
        ("legal_person", "法人", "Legal persons"),
        ("unincorporated_organisation", "非法人组织", "Unincorporated organisations"),
        ("natural_person", "自然人", "Natural persons"),
    ] {
        let sel = if q.applicant_kind.as_deref() == Some(k) { " selected" } else { "" };
        kind_opts.push_str(&format!("<option value=\"{k}\"{sel}>{}</option>", l.t(zh, en)));
    }
    let csv_query = format!(
        "from={}&to={}&object_type={}&industry={}&applicant_kind={}",
        urlencode(q.from.as_deref().unwrap_or("")),
        urlencode(q.to.as_deref().unwrap_or("")),
        urlencode(q.object_type.as_deref().unwrap_or("")),
        urlencode(q.industry.as_deref().unwrap_or("")),
        urlencode(q.applicant_kind.as_deref().unwrap_or(""))
    );
    let days = |d: Option<f64>| d.map(|d| format!("{d:.1}")).unwrap_or_else(|| "—".into());
    let chart_data = chart_payload(&s, l, &industry_name);
    let body = format!(
        "<h1>{h1}</h1>\
         <form class=\"filters\" action=\"/stats\" novalidate>\
         <label>{from_l}<input name=\"from\" placeholder=\"2026-01-01\" value=\"{from}\" aria-describedby=\"err-from\">{from_e}</label>\
         <label>{to_l}<input name=\"to\" placeholder=\"2026-12-31\" value=\"{to}\" aria-describedby=\"err-to\">{to_e}</label>\
         <label>{type_l}<select name=\"object_type\">{type_opts}</select>{type_e}</label>\
         <label>{ind_l}<select name=\"industry\">{industry_opts}</select></label>\
         <label>{kind_l}<select name=\"applicant_kind\">{kind_opts}</select>{kind_e}</label>\
         <button>{apply}</button> <a class=\"button secondary\" id=\"csv\" href=\"/api/v1/statistics.csv?{csv_query}\">{csv}</a></form>\
         <section class=\"kpis\">{k1}{k2}{k3}{k4}{k5}{k6}</section>\
         <section class=\"kpis\">{k7}{k8}{k9}{k10}{k11}</section>\
         <div class=\"charts\">\
         <figure><figcaption>{c1}</figcaption><canvas id=\"chart-monthly\" role=\"img\" aria-label=\"{c1}\"></canvas></figure>\
         <figure><figcaption>{c2}</figcaption><canvas id=\"chart-types\" role=\"img\" aria-label=\"{c2}\"></canvas></figure>\
         <figure><figcaption>{c3}</figcaption><canvas id=\"chart-industries\" role=\"img\" aria-label=\"{c3}\"></canvas></figure>\
         <figure><figcaption>{c4}</figcaption><canvas id=\"chart-value\" role=\"img\" aria-label=\"{c4}\"></canvas></figure>\
         <figure><figcaption>{c5}</figcaption><canvas id=\"chart-applicants\" role=\"img\" aria-label=\"{c5}\"></canvas></figure>\
         <figure><figcaption>{c6}</figcaption><canvas id=\"chart-ownership\" role=\"img\" aria-label=\"{c6}\"></canvas></figure>\
         </div><script type=\"application/json\" id=\"stats-data\">{chart_data}</script>",
        h1 = l.t("登记统计", "Registration statistics"),
        from_l = l.t("起始日期", "From"),
        from = keep(&q.from),
        from_e = err("from"),
        to_l = l.t("截止日期", "To"),
        to = keep(&q.to),
        to_e = err("to"),
        type_l = l.t("登记对象", "Object type"),
        type_e = err("object_type"),
        ind_l = l.t("行业领域", "Industry"),
        kind_l = l.t("申请人类型", "Applicant kind"),
        kind_e = err("applicant_kind"),
        apply = l.t("筛选", "Apply"),
        csv = l.t("导出 CSV", "Export CSV"),
        k1 = kpi(l.t("登记申请", "Applications"), &s.applications.to_string(), "kpi-applications"),
        k2 = kpi(l.t("颁发证书", "Certificates"), &s.certificates.to_string(), "kpi-certificates"),
        k3 = kpi(l.t("不予受理", "Rejected"), &s.rejected.to_string(), "kpi-rejected"),
        k4 = kpi(l.t("不予登记", "Refused"), &s.refused.to_string(), "kpi-refused"),
        k5 = kpi(l.t("审查用时中位数（天）", "Median days to decision"), &days(s.decision_times.median_days), "kpi-median"),
        k6 = kpi(l.t("申请主体", "Applicants"), &s.applicants.total.to_string(), "kpi-applicants"),
        k7 = kpi(l.t("经济价值", "Economic value"), &big_yuan(l, s.economic_value.amount_fen), "kpi-value"),
        k8 = kpi(l.t("产生价值的产品", "Products earning it"), &s.economic_value.products.to_string(), "kpi-value-products"),
        k9 = kpi(l.t("质押融资企业", "Firms with pledge loans"), &s.pledge_financing.enterprises.to_string(), "kpi-pledge-firms"),
        k10 = kpi(l.t("质押笔数", "Pledge loans"), &s.pledge_financing.loans.to_string(), "kpi-pledge-loans"),
        k11 = kpi(l.t("质押融资金额", "Pledge financing"), &big_yuan(l, s.pledge_financing.amount_fen), "kpi-pledge-amount"),
        c1 = l.t("按月申请与发证", "Applications and certificates by month"),
        c2 = l.t("证书按登记对象", "Certificates by object type"),
        c3 = l.t("证书按行业", "Certificates by industry"),
        c4 = l.t("经济价值构成", "Economic value by kind"),
        c5 = l.t("申请主体类型", "Applicants by kind"),
        c6 = l.t("企业所有制", "Applicants by ownership"),
    );
    let mut resp =
        layout(l, l.t("统计", "Statistics"), "/stats", &body, &["/assets/chart.umd.min.js", "/assets/dashboard.js"]);
    if !errors.is_empty() {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    resp
}

#[derive(Deserialize, Default)]
pub struct StatsQuery {
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
    object_type: Option<String>,
    industry: Option<String>,
    applicant_kind: Option<String>,
}

/// The figures the dashboard's charts draw, with translated labels. Embedded as JSON: `<` is escaped so
/// that no value can end the script element.
fn chart_payload(s: &Statistics, l: Lang, industry_name: &dyn Fn(&str) -> String) -> String {
    let kind_label = |k: &str| -> String {
        match k {
            "legal_person" => l.t("法人", "Legal persons"),
            "natural_person" => l.t("自然人", "Natural persons"),
            "unincorporated_organisation" => l.t("非法人组织", "Unincorporated"),
            _ => k,
        }
        .to_string()
    };
    let ownership_label = |k: &str| match k {
        "state_owned" => l.t("国有", "State-owned"),
        "private" => l.t("民营", "Private"),
        "foreign_invested" => l.t("外资", "Foreign-invested"),
        "collective" => l.t("集体", "Collective"),
        "mixed" => l.t("混合所有制", "Mixed"),
        _ => l.t("其他", "Other"),
    };
    let value_label = |k: &str| match k {
        "licence_fee" => l.t("许可费", "Licence fees"),
        "trade" => l.t("交易", "Trades"),
        _ => l.t("服务费", "Service fees"),
    };
    let v = serde_json::json!({
        "labels": {
            "applications": l.t("申请", "Applications"),
            "certificates": l.t("证书", "Certificates"),
            "yuan": l.t("元", "yuan"),
        },
        "monthly": s.monthly.iter().map(|m| serde_json::json!({"month": m.month, "applications": m.applications, "certificates": m.certificates})).collect::<Vec<_>>(),
        "types": s.products_by_object_type.iter().map(|c| serde_json::json!({"label": object_type_label(&c.key, l), "count": c.count})).collect::<Vec<_>>(),
        "industries": s.products_by_industry.iter().map(|c| serde_json::json!({"label": industry_name(&c.key), "count": c.count})).collect::<Vec<_>>(),
        "value": s.economic_value.by_kind.iter().map(|k| serde_json::json!({"label": value_label(&k.kind), "yuan": k.amount_fen as f64 / 100.0})).collect::<Vec<_>>(),
        "applicants": s.applicants.by_kind.iter().map(|c| serde_json::json!({"label": kind_label(&c.key), "count": c.count})).collect::<Vec<_>>(),
        "ownership": s.applicants.by_ownership.iter().map(|c| serde_json::json!({"label": ownership_label(&c.key), "count": c.count})).collect::<Vec<_>>(),
    });
    v.to_string().replace('<', "\\u003c")
}

#[derive(Deserialize, Default)]
pub struct EncumbranceQuery {
    lang: Option<String>,
    q: Option<String>,
}

async fn encumbrances(
    State(st): State<Arc<AppState>>,
    Query(q): Query<EncumbranceQuery>,
    headers: HeaderMap,
) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let text = q.q.clone().unwrap_or_default();
    let mut results = String::new();
    let mut error = String::new();
    if q.q.is_some() {
        if text.trim().chars().count() < 2 {
            error = error_span("q", &field_message("too_short", l));
        } else {
            let filter = ApplicationFilter {
                text: Some(text.trim().to_string()),
                states: vec![Status::Registered],
                ..Default::default()
            };
            match st.store.public_records(&filter, Page::new(1, 50)).await {
                Ok(p) if p.items.is_empty() => {
                    results = format!(
                        "<p class=\"muted\">{}</p>",
                        l.t("没有找到已登记的产品。", "No registered product matches.")
                    )
                }
                Ok(p) => {
                    for raw in &p.items {
                        if let Ok(r) = serde_json::from_str::<Value>(raw.get()) {
                            results.push_str(&encumbrance_card(&r, l));
                        }
                    }
                }
                Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
    }
    let body = format!(
        "<h1>{h1}</h1><p>{lead}</p><form class=\"filters\" action=\"/encumbrances\">\
         <label>{label}<input name=\"q\" value=\"{text}\" aria-describedby=\"err-q\">{error}</label><button>{go}</button></form>{results}",
        h1 = l.t("权利负担查询", "Encumbrance search"),
        lead = l.t(
            "放贷前查询：按登记号、统一社会信用代码或名称，查看产品上的全部质押（顺位、金额、期限）、许可与异议。",
            "Search before lending: by registration number, credit code or name, every pledge (rank, amount, term), licence and dispute on a product."
        ),
        label = l.t("登记号 / 信用代码 / 名称", "Registration no. / credit code / name"),
        text = esc(&text),
        go = l.t("查询", "Search"),
    );
    layout(l, l.t("权利负担查询", "Encumbrance search"), "/encumbrances", &body, &[])
}

fn encumbrance_card(r: &Value, l: Lang) -> String {
    let id = r["id"].as_str().unwrap_or_default();
    let mut pledges = String::new();
    for p in
        r["pledges"].as_array().into_iter().flatten().filter(|p| p["status"] == "active" || p["status"] == "pending")
    {
        let status =
            if p["status"] == "active" { l.t("有效", "active") } else { l.t("待同意", "pending consent") };
        pledges.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>¥{}</td><td>{} — {}</td><td>{status}</td></tr>",
            p["rank"].as_u64().map(|r| r.to_string()).unwrap_or_else(|| "—".into()),
            esc(p["pledgee"]["name"].as_str().unwrap_or_default()),
            esc(p["secured"].as_str().unwrap_or_default()),
            esc(p["term"]["start"].as_str().unwrap_or_default()),
            esc(p["term"]["end"].as_str().unwrap_or_default()),
        ));
    }
    let mut licences = String::new();
    for x in r["licences"].as_array().into_iter().flatten().filter(|x| x["terminated_at"].is_null()) {
        licences.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{} — {}</td></tr>",
            esc(x["licensee"]["name"].as_str().unwrap_or_default()),
            esc(x["kind"].as_str().unwrap_or_default()),
            esc(x["term"]["start"].as_str().unwrap_or_default()),
            esc(x["term"]["end"].as_str().unwrap_or_default()),
        ));
    }
    let none = format!("<p class=\"muted\">{}</p>", l.t("无", "None"));
    format!(
        "<article class=\"card\"><h2><a href=\"/records/{id}\">{}</a> <small>{}</small></h2><p>{}：{}（{}）{}</p>\
         <h3>{}</h3>{}<h3>{}</h3>{}</article>",
        esc(r["product_name"].as_str().unwrap_or_default()),
        esc(r["registration"]["registration_number"].as_str().unwrap_or_default()),
        l.t("权利人", "Holder"),
        esc(r["holder"]["name"].as_str().unwrap_or_default()),
        esc(r["holder"]["id_number"].as_str().unwrap_or_default()),
        if r["disputed"] == Value::Bool(true) {
            format!(" <span class=\"tag\">{}</span>", l.t("存在异议", "disputed"))
        } else {
            String::new()
        },
        l.t("质押", "Pledges"),
        if pledges.is_empty() {
            none.clone()
        } else {
            format!(
                "<table class=\"list\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{pledges}</table>",
                l.t("顺位", "Rank"),
                l.t("质权人", "Pledgee"),
                l.t("担保金额", "Secured"),
                l.t("期限", "Term"),
                l.t("状态", "Status")
            )
        },
        l.t("有效许可", "Licences in force"),
        if licences.is_empty() {
            none
        } else {
            format!(
                "<table class=\"list\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>{licences}</table>",
                l.t("被许可人", "Licensee"),
                l.t("类型", "Kind"),
                l.t("期限", "Term")
            )
        },
    )
}
