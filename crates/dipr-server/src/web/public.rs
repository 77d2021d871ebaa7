//! The public web pages: home with headline figures, search, notices, the statistics dashboard (charts
//! drawn by the embedded Chart.js), and the banks' encumbrance search.
//! Server-rendered HTML; Chinese by default, English with `?lang=en` (remembered in a cookie). Every
//! asset is embedded in the binary: no CDN, nothing fetched at run time.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dipr_domain::application::{ObjectType, State as Status};
use dipr_store::{ApplicationFilter, Page, Statistics};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::web::form::Errors;
use crate::web::i18n::Lang;
use crate::web::layout::{
    big_yuan, error_page, object_type_label, page, state_label, urlencode, LangQuery, Pager, ScriptJson,
};
use dipr_registry::records::StatsParams;
use dipr_registry::Registry;

const CHART_JS: &str = include_str!("../../assets/vendor/chart-4.6.1.umd.min.js");
const DASHBOARD_JS: &str = include_str!("../../assets/dashboard.js");
const FILE_INPUT_JS: &str = include_str!("../../assets/file-input.js");
const STYLE_CSS: &str = include_str!("../../assets/style.css");

pub fn routes() -> Router<Arc<Registry>> {
    Router::new()
        .route("/", get(home))
        .route("/search", get(search))
        .route("/notices", get(notices))
        .route("/stats", get(stats))
        .route("/encumbrances", get(encumbrances))
        .route("/encumbrances/certificate", get(search_certificate))
        .route("/assets/chart.umd.min.js", get(|| async { asset("text/javascript", CHART_JS) }))
        .route("/assets/dashboard.js", get(|| async { asset("text/javascript", DASHBOARD_JS) }))
        .route("/assets/file-input.js", get(|| async { asset("text/javascript", FILE_INPUT_JS) }))
        .route("/assets/style.css", get(|| async { asset("text/css", STYLE_CSS) }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// One line of a list of public records.
pub struct RecordRow {
    pub id: String,
    pub product: String,
    pub holder: String,
    pub object_type: String,
    pub number: String,
    pub state: String,
    pub tags: Vec<String>,
}

const OBJECT_TYPES: [ObjectType; 3] = [ObjectType::DataCollection, ObjectType::DataProduct, ObjectType::DataAlgorithm];

fn str_of<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter().fold(v, |v, k| &v[*k]).as_str().unwrap_or_default()
}

/// The rows of a list, from the store's public records (JSON documents).
pub fn record_rows(items: &[Box<RawValue>], l: Lang) -> Vec<RecordRow> {
    let mut rows = Vec::with_capacity(items.len());
    for raw in items {
        let Ok(r) = serde_json::from_str::<Value>(raw.get()) else { continue };
        let tags = [("pledged", "tag-pledged"), ("licensed", "tag-licensed"), ("disputed", "tag-disputed")]
            .into_iter()
            .filter(|(k, _)| r[*k] == Value::Bool(true))
            .map(|(_, id)| l.t(id))
            .collect();
        rows.push(RecordRow {
            id: str_of(&r, &["id"]).to_string(),
            product: str_of(&r, &["product_name"]).to_string(),
            holder: str_of(&r, &["holder", "name"]).to_string(),
            object_type: object_type_label(str_of(&r, &["object_type"]), l),
            number: r["registration"]["registration_number"].as_str().unwrap_or("—").to_string(),
            state: Status::parse(str_of(&r, &["state"])).map(|s| state_label(s, l)).unwrap_or_default(),
            tags,
        });
    }
    rows
}

fn on_notice() -> ApplicationFilter {
    ApplicationFilter { states: vec![Status::PublicNotice, Status::ObjectionPending], ..Default::default() }
}

#[derive(Template)]
#[template(path = "public/home.html")]
struct Home {
    l: Lang,
    s: Statistics,
    as_of: String,
    value: String,
    pledged: String,
    rows: Vec<RecordRow>,
    /// The signed-in account's name, for the greeting that replaces the sign-in entry.
    signed_in: Option<String>,
}

async fn home(State(st): State<Arc<Registry>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let snap = match dipr_registry::records::headline(&st).await {
        Ok(s) => s,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let as_of = as_of(l, &snap);
    let s = snap.statistics.clone();
    let notices = match st.store.public_records(&on_notice(), Page::new(1, 5)).await {
        Ok(p) => p.items,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let signed_in = match crate::web::session::session(&st, &headers).await {
        Ok(found) => found.map(|(user, _)| user.display_name),
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let (value, pledged) = (big_yuan(l, s.economic_value.amount_fen), big_yuan(l, s.pledge_financing.amount_fen));
    let rows = record_rows(&notices, l);
    page(l, &l.t("nav-home"), "/", &Home { l, s, as_of, value, pledged, rows, signed_in }, &[])
}

/// When the figures were taken, and how often they are refreshed.
fn as_of(l: Lang, snap: &dipr_registry::figures::Snapshot) -> String {
    let at = dipr_domain::shown::minute_zoned(snap.as_of, l.en);
    match snap.refresh_secs {
        0 => l.t1("figures-live", "at", at),
        secs => l.t2("figures-as-of", ("at", at), ("minutes", secs.div_ceil(60))),
    }
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    lang: Option<String>,
    q: Option<String>,
    status: Option<String>,
    object_type: Option<String>,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "public/search.html")]
struct Search {
    l: Lang,
    text: String,
    status: Option<&'static str>,
    object_type: Option<&'static str>,
    statuses: Vec<(&'static str, String)>,
    types: Vec<(&'static str, String)>,
    total: i64,
    total_exact: bool,
    ranked: bool,
    rows: Vec<RecordRow>,
    pager: Pager,
}

async fn search(State(st): State<Arc<Registry>>, Query(q): Query<SearchQuery>, headers: HeaderMap) -> Response {
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
    let per_page = 20;
    let at = Page::new(q.page.unwrap_or(1), per_page);
    let found = match st.store.public_records(&filter, at).await {
        Ok(p) => p,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let statuses = [
        Status::PublicNotice,
        Status::Registered,
        Status::Refused,
        Status::Cancelled,
        Status::Revoked,
        Status::Expired,
    ]
    .into_iter()
    .map(|s| (s.as_str(), state_label(s, l)))
    .collect();
    let types = OBJECT_TYPES.into_iter().map(|t| (t.as_str(), object_type_label(t.as_str(), l))).collect();
    let base = format!(
        "/search?q={}&status={}&object_type={}&",
        urlencode(&text),
        status.map_or("", Status::as_str),
        object_type.map_or("", ObjectType::as_str)
    );
    let view = Search {
        l,
        text,
        status: status.map(Status::as_str),
        object_type: object_type.map(ObjectType::as_str),
        statuses,
        types,
        total: found.total,
        total_exact: found.total_exact,
        ranked: found.ranked,
        rows: record_rows(&found.items, l),
        pager: Pager::new(&base, at.page, per_page, found.total),
    };
    page(l, &l.t("nav-search"), "/search", &view, &[])
}

#[derive(Template)]
#[template(path = "public/notices.html")]
struct Notices {
    l: Lang,
    rows: Vec<RecordRow>,
}

async fn notices(State(st): State<Arc<Registry>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let found = match st.store.public_records(&on_notice(), Page::new(1, 100)).await {
        Ok(p) => p.items,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    page(l, &l.t("nav-notices"), "/notices", &Notices { l, rows: record_rows(&found, l) }, &[])
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

#[derive(Template)]
#[template(path = "public/stats.html")]
struct Stats {
    l: Lang,
    q: StatsQuery,
    value: String,
    pledged: String,
    errors: Errors,
    s: Statistics,
    as_of: String,
    types: Vec<(&'static str, String)>,
    industries: Vec<(String, String)>,
    kinds: Vec<(&'static str, String)>,
    csv_query: String,
    median_days: String,
    charts: Vec<(&'static str, String)>,
    chart_data: ScriptJson,
}

const APPLICANT_KINDS: [&str; 3] = ["legal_person", "unincorporated_organisation", "natural_person"];

async fn stats(State(st): State<Arc<Registry>>, Query(q): Query<StatsQuery>, headers: HeaderMap) -> Response {
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
    let snap = match dipr_registry::records::statistics(&st, &filter).await {
        Ok(s) => s,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let as_of = as_of(l, &snap);
    let s = snap.statistics.clone();
    let industries = match st.store.industries().await {
        Ok(i) => i,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let industry_name = |code: &str| {
        industries
            .iter()
            .find(|i| i.code == code)
            .map(|i| if l.en { i.name_en.clone() } else { i.name_zh.clone() })
            .unwrap_or_else(|| code.to_string())
    };
    let csv_query = format!(
        "from={}&to={}&object_type={}&industry={}&applicant_kind={}",
        urlencode(q.from.as_deref().unwrap_or("")),
        urlencode(q.to.as_deref().unwrap_or("")),
        urlencode(q.object_type.as_deref().unwrap_or("")),
        urlencode(q.industry.as_deref().unwrap_or("")),
        urlencode(q.applicant_kind.as_deref().unwrap_or(""))
    );
    let charts = [
        ("chart-monthly", "chart-monthly"),
        ("chart-types", "chart-types"),
        ("chart-industries", "chart-industries"),
        ("chart-value", "chart-value"),
        ("chart-applicants", "chart-applicants"),
        ("chart-ownership", "chart-ownership"),
    ]
    .into_iter()
    .map(|(id, msg)| (id, l.t(msg)))
    .collect();
    let view = Stats {
        l,
        as_of,
        errors: Errors::fields(&errors, l),
        types: OBJECT_TYPES.into_iter().map(|t| (t.as_str(), object_type_label(t.as_str(), l))).collect(),
        industries: industries.iter().map(|i| (i.code.clone(), industry_name(&i.code))).collect(),
        kinds: APPLICANT_KINDS.into_iter().map(|k| (k, l.t(&format!("applicant-kind-{k}")))).collect(),
        csv_query,
        median_days: s.decision_times.median_days.map(|d| format!("{d:.1}")).unwrap_or_else(|| "—".into()),
        charts,
        chart_data: chart_payload(&s, l, &industry_name),
        value: big_yuan(l, s.economic_value.amount_fen),
        pledged: big_yuan(l, s.pledge_financing.amount_fen),
        s,
        q,
    };
    let failed = !view.errors.is_empty();
    let mut resp = page(l, &l.t("nav-stats"), "/stats", &view, &["/assets/chart.umd.min.js", "/assets/dashboard.js"]);
    if failed {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    resp
}

/// The figures the dashboard's charts draw, with translated labels. Embedded as JSON: `<` is escaped so
/// that no value can end the script element.
fn chart_payload(s: &Statistics, l: Lang, industry_name: &dyn Fn(&str) -> String) -> ScriptJson {
    let kind_label = |k: &str| -> String {
        if APPLICANT_KINDS.contains(&k) {
            l.t(&format!("applicant-kind-{k}"))
        } else {
            k.to_string()
        }
    };
    let ownership_label = |k: &str| match k {
        "state_owned" | "private" | "foreign_invested" | "collective" | "mixed" => l.t(&format!("ownership-{k}")),
        _ => l.t("ownership-other"),
    };
    let value_label = |k: &str| match k {
        "licence_fee" | "trade" => l.t(&format!("value-{k}")),
        _ => l.t("value-service_fee"),
    };
    let v = serde_json::json!({
        "labels": {
            "applications": l.t("chart-label-applications"),
            "certificates": l.t("chart-label-certificates"),
            "yuan": l.t("chart-label-yuan"),
        },
        "monthly": s.monthly.iter().map(|m| serde_json::json!({"month": m.month, "applications": m.applications, "certificates": m.certificates})).collect::<Vec<_>>(),
        "types": s.products_by_object_type.iter().map(|c| serde_json::json!({"label": object_type_label(&c.key, l), "count": c.count})).collect::<Vec<_>>(),
        "industries": s.products_by_industry.iter().map(|c| serde_json::json!({"label": industry_name(&c.key), "count": c.count})).collect::<Vec<_>>(),
        "value": s.economic_value.by_kind.iter().map(|k| serde_json::json!({"label": value_label(&k.kind), "yuan": k.amount_fen as f64 / 100.0})).collect::<Vec<_>>(),
        "applicants": s.applicants.by_kind.iter().map(|c| serde_json::json!({"label": kind_label(&c.key), "count": c.count})).collect::<Vec<_>>(),
        "ownership": s.applicants.by_ownership.iter().map(|c| serde_json::json!({"label": ownership_label(&c.key), "count": c.count})).collect::<Vec<_>>(),
    });
    ScriptJson::of(&v)
}

#[derive(Deserialize, Default)]
pub struct EncumbranceQuery {
    lang: Option<String>,
    q: Option<String>,
}

struct PledgeLine {
    rank: String,
    pledgee: String,
    secured: String,
    start: String,
    end: String,
    status: String,
}

struct LicenceLine {
    licensee: String,
    kind: String,
    start: String,
    end: String,
}

struct Card {
    id: String,
    product: String,
    number: String,
    holder: String,
    holder_id: String,
    disputed: bool,
    pledges: Vec<PledgeLine>,
    licences: Vec<LicenceLine>,
}

#[derive(Template)]
#[template(path = "public/encumbrances.html")]
struct Encumbrances {
    l: Lang,
    text: String,
    /// Where the signed search certificate of this search is downloaded.
    certificate: String,
    errors: Errors,
    /// None until something is searched for.
    cards: Option<Vec<Card>>,
}

async fn encumbrances(
    State(st): State<Arc<Registry>>,
    Query(q): Query<EncumbranceQuery>,
    headers: HeaderMap,
) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let text = q.q.clone().unwrap_or_default();
    let mut view = Encumbrances {
        l,
        text: text.clone(),
        certificate: format!("/encumbrances/certificate?q={}", crate::web::layout::urlencode(text.trim())),
        errors: Errors::default(),
        cards: None,
    };
    if q.q.is_some() {
        match dipr_registry::records::encumbrances(&st, &text, false, Page::new(1, 50)).await {
            Ok(p) => {
                let records = p.items.iter().filter_map(|raw| serde_json::from_str::<Value>(raw.get()).ok());
                view.cards = Some(records.map(|r| card(&r, l)).collect());
            }
            Err(e) if e.code == "validation_failed" => {
                view.errors = Errors::one("q", crate::web::layout::field_message("too_short", l));
            }
            Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        }
    }
    page(l, &l.t("nav-encumbrances"), "/encumbrances", &view, &[])
}

/// The signed search certificate of an encumbrance search, as a JSON download naming the signed-in account.
async fn search_certificate(
    State(st): State<Arc<Registry>>,
    Query(q): Query<EncumbranceQuery>,
    headers: HeaderMap,
) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let who = match crate::web::session::session(&st, &headers).await {
        Ok(s) => s.map(|(user, _)| user.display_name),
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let text = q.q.unwrap_or_default();
    match dipr_registry::records::search_certificate(&st, &text, false, who).await {
        Ok(cert) => match serde_json::to_string_pretty(&cert) {
            Ok(body) => (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"dipr-search-certificate.json\""),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response(),
            Err(e) => error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        Err(e) => error_page(l, crate::web::layout::status_of(&e), &crate::web::messages::refusal(&e, l)),
    }
}

fn card(r: &Value, l: Lang) -> Card {
    let in_force = |p: &&Value| p["status"] == "active" || p["status"] == "pending";
    let pledges = r["pledges"].as_array().into_iter().flatten().filter(in_force);
    let licences = r["licences"].as_array().into_iter().flatten().filter(|x| x["terminated_at"].is_null());
    Card {
        id: str_of(r, &["id"]).to_string(),
        product: str_of(r, &["product_name"]).to_string(),
        number: str_of(r, &["registration", "registration_number"]).to_string(),
        holder: str_of(r, &["holder", "name"]).to_string(),
        holder_id: str_of(r, &["holder", "id_number"]).to_string(),
        disputed: r["disputed"] == Value::Bool(true),
        pledges: pledges
            .map(|p| PledgeLine {
                rank: p["rank"].as_u64().map(|r| r.to_string()).unwrap_or_else(|| "—".into()),
                pledgee: str_of(p, &["pledgee", "name"]).to_string(),
                secured: str_of(p, &["secured"]).to_string(),
                start: str_of(p, &["term", "start"]).to_string(),
                end: str_of(p, &["term", "end"]).to_string(),
                status: serde_json::from_value(p["status"].clone())
                    .map(|s| crate::web::layout::pledge_status_label(s, l))
                    .unwrap_or_default(),
            })
            .collect(),
        licences: licences
            .map(|x| LicenceLine {
                licensee: str_of(x, &["licensee", "name"]).to_string(),
                kind: serde_json::from_value(x["kind"].clone())
                    .map(|k| crate::web::layout::licence_kind_label(k, l))
                    .unwrap_or_default(),
                start: str_of(x, &["term", "start"]).to_string(),
                end: str_of(x, &["term", "end"]).to_string(),
            })
            .collect(),
    }
}
