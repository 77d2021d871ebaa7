//! Atom feeds (RFC 4287) of the register: `/feeds/{notices,registrations,revocations,encumbrances}.atom` and
//! `/records/{id}/feed.atom`, in Chinese or, with `?lang=en`, in English. Each entry is one public log entry,
//! linking to the record page; its id names the log index, so a reader can prove it with the event stream.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dipr_domain::shown;
use dipr_registry::feeds::{feed, Feed, FeedItem};
use dipr_registry::Registry;
use uuid::Uuid;

use crate::conditional;
use crate::web::i18n::Lang;
use crate::web::layout::{event_label, LangQuery};

pub fn routes() -> Router<Arc<Registry>> {
    Router::new().route("/feeds/{file}", get(register_feed)).route("/records/{id}/feed.atom", get(record_feed))
}

#[derive(Template)]
#[template(path = "feeds/feed.xml")]
struct AtomFeed {
    lang: &'static str,
    title: String,
    subtitle: String,
    self_url: String,
    html_url: String,
    updated: String,
    registrar: String,
    entries: Vec<AtomEntry>,
}

struct AtomEntry {
    id: String,
    title: String,
    updated: String,
    link: String,
    kind: String,
    kind_label: String,
    summary: String,
}

async fn register_feed(
    State(st): State<Arc<Registry>>,
    Path(file): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(kind) = file.strip_suffix(".atom").and_then(Feed::named) else {
        return (StatusCode::NOT_FOUND, "no such feed").into_response();
    };
    let name = file.trim_end_matches(".atom");
    let l = Lang::of(q.lang(), &headers);
    let html = if kind == Feed::Notices { "/notices" } else { "/search" };
    render(&st, kind, l, &format!("/feeds/{file}"), html, l.t(&format!("feed-{name}")), &headers).await
}

async fn record_feed(
    State(st): State<Arc<Registry>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return (StatusCode::NOT_FOUND, "no such record").into_response();
    };
    let l = Lang::of(q.lang(), &headers);
    let (path, html) = (format!("/records/{id}/feed.atom"), format!("/records/{id}"));
    render(&st, Feed::Record(id), l, &path, &html, String::new(), &headers).await
}

async fn render(
    st: &Registry,
    kind: Feed,
    l: Lang,
    path: &str,
    html_path: &str,
    mut title: String,
    headers: &HeaderMap,
) -> Response {
    let items = match feed(st, kind).await {
        Ok(items) => items,
        Err(e) if e.code == "not_found" => return (StatusCode::NOT_FOUND, "no such record").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a feed failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the feed cannot be read now").into_response();
        }
    };
    let base = st.public_url();
    let lang_q = if l.en { "?lang=en" } else { "" };
    if let Feed::Record(_) = kind {
        let name = items.first().map_or("", |i| i.record.product_name.as_str());
        title = l.t1("feed-record", "name", name);
    }
    let registrar = if l.en { &st.config.registrar_name_en } else { &st.config.registrar_name };
    let updated = items.first().map_or_else(|| rfc3339(st.clock.now()), |i| i.event.at.clone());
    let doc = AtomFeed {
        lang: if l.en { "en" } else { "zh-CN" },
        subtitle: l.t("feed-subtitle"),
        self_url: format!("{base}{path}{lang_q}"),
        html_url: format!("{base}{html_path}{lang_q}"),
        updated,
        registrar: registrar.clone(),
        entries: items.iter().map(|i| entry(i, l, base, lang_q)).collect(),
        title,
    };
    let body = match doc.render() {
        Ok(b) => b.into_bytes(),
        Err(e) => {
            tracing::error!(error = %e, "a feed failed to render");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the feed cannot be rendered").into_response();
        }
    };
    conditional::answer(
        headers,
        conditional::REVALIDATE,
        &[(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8".into())],
        body,
    )
}

fn entry(i: &FeedItem, l: Lang, base: &str, lang_q: &str) -> AtomEntry {
    let r = &i.record;
    let number = r.registration.as_ref().map(|g| g.registration_number.to_string());
    let kind_label = event_label(&i.event.kind, l);
    let title = match &number {
        Some(n) => format!("{kind_label}：{}（{n}）", r.product_name),
        None => format!("{kind_label}：{}", r.product_name),
    };
    let at = shown::parse_instant(&i.event.at).map(|t| shown::minute_zoned(t, l.en)).unwrap_or_default();
    let summary = [
        format!("{}：{}", l.t("feed-holder"), r.holder.name),
        at,
        l.t1("feed-log-index", "index", i.index.to_string()),
    ]
    .join(" · ");
    AtomEntry {
        id: format!("{base}/records/{}#log-{}", r.id, i.index),
        updated: i.event.at.clone(),
        link: format!("{base}/records/{}{lang_q}", r.id),
        kind: i.event.kind.clone(),
        kind_label,
        summary,
        title,
    }
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
