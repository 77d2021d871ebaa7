//! The certificate check (`/check`): upload or paste a certificate or an evidence bundle and get the same
//! verification as `dipr verify`, each check explained in plain words. Nothing is stored.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use dipr_domain::application::State as Status;
use dipr_domain::shown;
use dipr_ledger::certificate::{verify, Certificate, Report};
use serde::Deserialize;

use crate::web::i18n::Lang;
use crate::web::layout::{error_page, filters, page, LangQuery};
use crate::web::record::{standing_box, StandingBox};
use dipr_registry::standing::Standing;
use dipr_registry::Registry;

/// Evidence bundles carry a manifest and record proofs: far larger than a certificate.
pub(crate) const BUNDLE_LIMIT: usize = 32 * 1024 * 1024;

pub fn routes() -> Router<Arc<Registry>> {
    Router::new().route("/check", get(form).post(check))
}

async fn form(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    check_page(l, "", None)
}

#[derive(Template)]
#[template(path = "check/check.html")]
struct CheckPage<'a> {
    l: Lang,
    pasted: &'a str,
    result: Option<Outcome>,
}

/// What the check found.
enum Outcome {
    /// Neither a certificate nor an evidence bundle: what it is not, and the parser's words.
    Unreadable {
        what: String,
        detail: String,
    },
    Verdict(Box<Verdict>),
    /// A search certificate (查询证明): what the register answered a search, and when.
    Search(Box<SearchVerdict>),
}

struct SearchVerdict {
    /// `good` or `bad`.
    class: &'static str,
    title: String,
    explain: String,
    query: String,
    searched_at: String,
    requested_by: String,
    matched: String,
    checkpoint: String,
    checks: Vec<CheckLine>,
}

struct Verdict {
    /// `good` or `bad`.
    class: &'static str,
    title: String,
    explain: String,
    product: String,
    holder: String,
    number: String,
    validity: String,
    bundle: Option<BundleFacts>,
    checks: Vec<CheckLine>,
    /// Where the registration stands now, when the registry could say.
    standing: Option<StandingBox>,
}

struct CheckLine {
    ok: bool,
    text: String,
}

/// What an evidence bundle claims about the suspect dataset, for the reader.
struct BundleFacts {
    /// The bundle's conclusion in plain words, the same sentence its report and `dipr verify` begin with.
    conclusion: String,
    file_name: String,
    /// The suspect is a package (counted in files), not a dataset (in records).
    package: bool,
    records: u64,
    /// The first 16 hex digits of the dataset's SHA-256.
    sha256: String,
    views: Vec<ViewShare>,
    proofs: usize,
}

/// How much of the registered data one view finds in the suspect dataset, with its 95% interval.
struct ViewShare {
    name: String,
    estimate: String,
    low: String,
    high: String,
}

fn check_page(l: Lang, pasted: &str, result: Option<Outcome>) -> Response {
    let view = CheckPage { l, pasted, result };
    page(l, &l.t("check-heading"), "/check", &view, &["/assets/file-input.js"])
}

#[derive(Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    certificate: String,
}

async fn check(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<CheckForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let text = form.certificate.trim();
    let key = st.signer.verifier();
    let json = serde_json::from_str::<serde_json::Value>(text).unwrap_or_default();
    let result = if json["format"] == dipr_ledger::search::SEARCH_FORMAT {
        match dipr_ledger::search::SearchCertificate::parse(text.as_bytes()) {
            Err(e) => unreadable(l.t("check-unreadable-search"), &e),
            Ok(c) => search_verdict(l, &c, &dipr_ledger::search::verify_search(&c, Some(&key))),
        }
    } else if dipr_fingerprint::evidence::is_bundle(&json) {
        match dipr_fingerprint::evidence::EvidenceBundle::parse(text.as_bytes()) {
            Err(e) => unreadable(l.t("check-unreadable-bundle"), &e.to_string()),
            Ok(b) => {
                let report = dipr_fingerprint::evidence::verify(&b, Some(&key), None);
                let facts = bundle_facts(&b, l);
                let now = match current(&st, &b.certificate, &report, l).await {
                    Ok(now) => now,
                    Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e),
                };
                verdict(l, &b.certificate, &report, Some(facts), now)
            }
        }
    } else {
        match Certificate::parse(text.as_bytes()) {
            Err(e) => unreadable(l.t("check-unreadable-certificate"), &e.to_string()),
            Ok(c) => {
                let mut report = verify(&c, Some(&key), None);
                // Trusted time, when the registry has TSAs to check it against and the certificate carries it.
                let anchors = dipr_registry::timestamps::anchors(&st);
                if !anchors.is_empty() && !c.timestamps.is_empty() {
                    dipr_ledger::timestamp::check_certificate(&c, &anchors, &mut report);
                }
                let now = match current(&st, &c, &report, l).await {
                    Ok(now) => now,
                    Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e),
                };
                verdict(l, &c, &report, None, now)
            }
        }
    };
    // Keep what was pasted on the page, unless it is too large to send back sensibly.
    let kept = if form.certificate.len() <= 256 * 1024 { form.certificate.as_str() } else { "" };
    let mut r = check_page(l, kept, Some(result.0));
    *r.status_mut() = result.1;
    r
}

fn unreadable(what: String, detail: &str) -> (Outcome, StatusCode) {
    (Outcome::Unreadable { what, detail: detail.to_string() }, StatusCode::UNPROCESSABLE_ENTITY)
}

/// Where the registration a genuine certificate states stands now.
enum Now {
    /// The signature failed: what the certificate states is not the registry's word.
    NotAsked,
    InForce(StandingBox),
    /// In force, but the registry has since issued a newer certificate (holder, data version or
    /// validity changed): what this one states is no longer the register's word. Holds the current one.
    Superseded(Box<Certificate>, StandingBox),
    Ended(Status, DateTime<Utc>, StandingBox),
    /// Signed by this registry, yet it has no such registration.
    Unknown,
}

/// The registration's standing now; `Err` (the store's words) when the register cannot be read.
async fn current(st: &Registry, c: &Certificate, report: &Report, l: Lang) -> Result<Now, String> {
    if !report.ok {
        return Ok(Now::NotAsked);
    }
    let app = match st.store.application_by_registration_number(&c.statement.registration_number).await {
        Ok(Some(app)) => app,
        Ok(None) => return Ok(Now::Unknown),
        Err(e) => return Err(e.to_string()),
    };
    let now = st.clock.now();
    let detail = match dipr_registry::records::public_detail(st, app.id).await {
        Ok(d) => d,
        Err(e) if e.code == "not_found" => return Ok(Now::Unknown),
        Err(e) => return Err(e.message),
    };
    let Some(standing) = Standing::of(&detail, now) else { return Ok(Now::Unknown) };
    let status = standing_box(&standing, &detail, l, now, "check-status");
    if let Some(e) = standing.ended {
        return Ok(Now::Ended(e.state, e.at, status));
    }
    let issued = st.store.certificate(app.id).await.map_err(|e| e.to_string())?;
    Ok(match issued.and_then(|doc| Certificate::parse(doc.as_bytes()).ok()) {
        Some(latest) if latest.statement != c.statement => Now::Superseded(Box::new(latest), status),
        _ => Now::InForce(status),
    })
}

/// The headline of an ended registration, e.g. 证书所载登记已撤销.
fn headline(state: Status, l: Lang) -> String {
    match state {
        Status::Revoked => l.t("standing-headline-revoked"),
        Status::Cancelled => l.t("standing-headline-cancelled"),
        _ => l.t("standing-headline-expired"),
    }
}

fn verdict(l: Lang, c: &Certificate, report: &Report, bundle: Option<BundleFacts>, now: Now) -> (Outcome, StatusCode) {
    let checks = report
        .checks
        .iter()
        .map(|check| CheckLine { ok: check.ok, text: if l.en { check.en.clone() } else { check.zh.clone() } })
        .collect();
    let (class, title, explain) = match (report.ok, bundle.is_some()) {
        (true, false) => ("good", l.t("check-valid"), l.t("check-valid-explain")),
        (true, true) => ("good", l.t("check-bundle-valid"), l.t("check-bundle-valid-explain")),
        (false, false) => ("bad", l.t("check-invalid"), l.t("check-invalid-explain")),
        (false, true) => ("bad", l.t("check-bundle-invalid"), l.t("check-bundle-invalid-explain")),
    };
    // A genuine signature over a registration that no longer stands is a red result too.
    let (class, title, explain, standing) = match now {
        Now::NotAsked => (class, title, explain, None),
        Now::InForce(status) => (class, title, explain, Some(status)),
        Now::Ended(state, at, status) => {
            let explain = l.t1("check-ended-explain", "date", shown::date_zoned(at, l.en));
            ("bad", headline(state, l), explain, Some(status))
        }
        Now::Superseded(latest, status) => {
            let s = &latest.statement;
            let period = shown::stated_period_zoned(&s.valid_from, &s.valid_until, l.en);
            let explain = l.t2("check-superseded-explain", ("holder", s.holder.name.as_str()), ("period", period));
            ("bad", l.t("check-superseded"), explain, Some(status))
        }
        Now::Unknown => ("bad", l.t("check-unknown"), l.t("check-unknown-explain"), None),
    };
    let s = &c.statement;
    let v = Verdict {
        class,
        title,
        explain,
        product: s.product.name.clone(),
        holder: s.holder.name.clone(),
        number: s.registration_number.clone(),
        validity: shown::stated_period_zoned(&s.valid_from, &s.valid_until, l.en),
        bundle,
        checks,
        standing,
    };
    // A failed check or an ended registration is a verdict, not an error of the request: always 200.
    (Outcome::Verdict(Box::new(v)), StatusCode::OK)
}

fn search_verdict(
    l: Lang,
    c: &dipr_ledger::search::SearchCertificate,
    report: &dipr_ledger::search::SearchReport,
) -> (Outcome, StatusCode) {
    let s = &c.statement;
    let (class, title, explain) = if report.ok {
        ("good", l.t("check-search-valid"), l.t("check-search-valid-explain"))
    } else {
        ("bad", l.t("check-search-invalid"), l.t("check-search-invalid-explain"))
    };
    let matched = if s.complete {
        s.matched.to_string()
    } else {
        l.t2("check-search-partial", ("listed", s.results.len().to_string()), ("matched", s.matched.to_string()))
    };
    let v = SearchVerdict {
        class,
        title,
        explain,
        query: s.query.clone(),
        searched_at: shown::parse_instant(&s.searched_at)
            .map(|t| shown::minute_zoned(t, l.en))
            .unwrap_or_else(|| s.searched_at.clone()),
        requested_by: s.requested_by.clone().unwrap_or_else(|| l.t("check-search-anonymous")),
        matched,
        checkpoint: report.checkpoint_size.map(|n| n.to_string()).unwrap_or_else(|| "—".into()),
        checks: report
            .checks
            .iter()
            .map(|check| CheckLine { ok: check.ok, text: if l.en { check.en.clone() } else { check.zh.clone() } })
            .collect(),
    };
    (Outcome::Search(Box::new(v)), StatusCode::OK)
}

fn bundle_facts(b: &dipr_fingerprint::evidence::EvidenceBundle, l: Lang) -> BundleFacts {
    let c = dipr_fingerprint::evidence::conclusion(b);
    let views = b.containment["views"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let pct = |k: &str| v[k].as_f64().map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_default();
            ViewShare {
                name: v["view"].as_str().unwrap_or_default().to_string(),
                estimate: pct("estimate"),
                low: pct("low"),
                high: pct("high"),
            }
        })
        .collect();
    BundleFacts {
        conclusion: if l.en { format!("{} {}", c.en, c.basis_en) } else { format!("{}{}", c.zh, c.basis_zh) },
        file_name: b.suspect.file_name.clone(),
        package: b.manifest.format == dipr_fingerprint::Format::Package,
        records: b.suspect.records,
        sha256: b.suspect.sha256.get(..16).unwrap_or_default().to_string(),
        views,
        proofs: b.record_proofs.len(),
    }
}
