//! The certificate check (`/check`): upload or paste a certificate or an evidence bundle and get the same
//! verification as `dipr verify`, each check explained in plain words. Nothing is stored.

use std::sync::Arc;

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

use crate::standing::{self, Standing};
use crate::web::i18n::Lang;
use crate::web::layout::{esc, layout, LangQuery};
use dipr_registry::Registry;

/// Evidence bundles carry a manifest and record proofs: far larger than a certificate.
pub(crate) const BUNDLE_LIMIT: usize = 32 * 1024 * 1024;

pub fn routes() -> Router<Arc<Registry>> {
    Router::new().route("/check", get(form).post(check))
}

async fn form(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    page(l, "", None)
}

fn page(l: Lang, pasted: &str, result: Option<String>) -> Response {
    let body = format!(
        "<h1>{h1}</h1><p>{lead}</p>\
         <form method=\"post\" action=\"/check\" class=\"stack\">\
         <label for=\"file\">{file_l}</label><input type=\"file\" id=\"file\" data-fill=\"certificate\" accept=\".json,application/json\">\
         <label for=\"certificate\">{paste_l}</label>\
         <textarea id=\"certificate\" name=\"certificate\" rows=\"10\" spellcheck=\"false\">{pasted}</textarea>\
         <button>{go}</button></form>{result}",
        h1 = l.tt("证书核验", "Check a certificate"),
        lead = l.tt(
            "与命令行 dipr verify 相同的核验：登记机构签名、公开账本条目、收录证明与签名检查点；证据包还核验数据指纹清单、权利人签名与每条记录的归属证明。任何改动都会使核验失败。签名只证明证书真实，因此本页同时显示登记的现状（有效、已撤销、已注销或已失效）及其权利负担。",
            "The same checks as `dipr verify`: the registry's signature, the public log entry, the inclusion proof and the signed checkpoint; for an evidence bundle also the fingerprint manifest, the owner's signature and every record's proof. Any change makes it fail. A signature proves only that the certificate is authentic, so this page also shows the registration's current status (in force, revoked, cancelled or expired) and its encumbrances."
        ),
        file_l = l.tt("选择证书或证据包文件（JSON）", "Choose the certificate or evidence bundle (JSON)"),
        paste_l = l.tt("或粘贴其内容", "or paste its content"),
        pasted = esc(pasted),
        go = l.tt("核验", "Verify"),
        result = result.unwrap_or_default(),
    );
    layout(l, l.tt("证书核验", "Check a certificate"), "/check", &body, &["/assets/file-input.js"])
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
    let is_bundle = serde_json::from_str::<serde_json::Value>(text)
        .is_ok_and(|v| v["v"] == dipr_fingerprint::evidence::EVIDENCE_VERSION);
    let result = if is_bundle {
        match dipr_fingerprint::evidence::EvidenceBundle::parse(text.as_bytes()) {
            Err(e) => unreadable(
                l,
                l.tt("这不是一份可读取的证据包。", "This evidence bundle cannot be read."),
                &e.to_string(),
            ),
            Ok(b) => {
                let report = dipr_fingerprint::evidence::verify(&b, Some(&key), None);
                let extra = bundle_facts(l, &b);
                let now = current(&st, &b.certificate, &report, l).await;
                verdict(l, &b.certificate, &report, true, &extra, now)
            }
        }
    } else {
        match Certificate::parse(text.as_bytes()) {
            Err(e) => unreadable(
                l,
                l.tt(
                    "这不是一份 dipr 证书（JSON 格式不符）。",
                    "This is not a dipr certificate (the JSON does not match).",
                ),
                &e.to_string(),
            ),
            Ok(c) => {
                let report = verify(&c, Some(&key), None);
                let now = current(&st, &c, &report, l).await;
                verdict(l, &c, &report, false, "", now)
            }
        }
    };
    // Keep what was pasted on the page, unless it is too large to send back sensibly.
    let kept = if form.certificate.len() <= 256 * 1024 { form.certificate.as_str() } else { "" };
    let mut r = page(l, kept, Some(result.0));
    *r.status_mut() = result.1;
    r
}

fn unreadable(l: Lang, what: &str, detail: &str) -> (String, StatusCode) {
    (
        format!(
            "<div class=\"result bad\" id=\"check-result\" role=\"status\"><h2>{}</h2><p>{}</p><p class=\"muted\">{}</p></div>",
            l.tt("无法读取", "Not readable"),
            what,
            esc(detail)
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

/// Where the registration a genuine certificate states stands now.
enum Now {
    /// The signature failed: what the certificate states is not the registry's word.
    NotAsked,
    InForce(String),
    /// In force, but the registry has since issued a newer certificate (holder, data version or
    /// validity changed): what this one states is no longer the register's word. Holds the current one.
    Superseded(Box<Certificate>, String),
    Ended(Status, DateTime<Utc>, String),
    /// Signed by this registry, yet it has no such registration (or cannot say now).
    Unknown,
}

async fn current(st: &Registry, c: &Certificate, report: &Report, l: Lang) -> Now {
    if !report.ok {
        return Now::NotAsked;
    }
    let app = match st.store.application_by_registration_number(&c.statement.registration_number).await {
        Ok(Some(app)) => app,
        Ok(None) => return Now::Unknown,
        Err(e) => {
            tracing::warn!(error = %e, "/check could not read the registration's status");
            return Now::Unknown;
        }
    };
    let now = st.clock.now();
    let Ok(detail) = dipr_registry::records::public_detail(st, app.id).await else { return Now::Unknown };
    let Some(standing) = Standing::of(&detail, now) else { return Now::Unknown };
    let html = standing::html(&standing, &detail, l, now, "check-status");
    if let Some(e) = standing.ended {
        return Now::Ended(e.state, e.at, html);
    }
    let issued = st.store.certificate(app.id).await.ok().flatten();
    match issued.and_then(|doc| Certificate::parse(doc.as_bytes()).ok()) {
        Some(latest) if latest.statement != c.statement => Now::Superseded(Box::new(latest), html),
        _ => Now::InForce(html),
    }
}

fn verdict(l: Lang, c: &Certificate, report: &Report, bundle: bool, extra: &str, now: Now) -> (String, StatusCode) {
    let mut items = String::new();
    for check in &report.checks {
        items.push_str(&format!(
            "<li class=\"{}\">{} {}</li>",
            if check.ok { "ok" } else { "bad" },
            if check.ok { "✓" } else { "✗" },
            esc(if l.en { &check.en } else { &check.zh })
        ));
    }
    let (class, title, explain) = match (report.ok, bundle) {
        (true, false) => (
            "good",
            l.tt("证书有效", "The certificate is valid"),
            l.tt(
                "本证书由本登记机构签发，其内容已记入公开账本，未被改动。",
                "This registry issued the certificate, its content is in the public log, and nothing in it was changed.",
            ),
        ),
        (true, true) => (
            "good",
            l.tt("证据包有效", "The evidence bundle is valid"),
            l.tt(
                "证书由本登记机构签发并记入公开账本；数据指纹清单与权利人签名有效；所列每条记录均可证明属于登记的数据。",
                "This registry issued the certificate and logged it; the fingerprint manifest and the owner's signature are valid; every listed record is proven to belong to the registered data.",
            ),
        ),
        (false, false) => (
            "bad",
            l.tt("证书无效", "The certificate is NOT valid"),
            l.tt(
                "下列检查未通过：证书可能被改动，或并非本登记机构签发。",
                "The checks below failed: the certificate was changed, or this registry did not issue it.",
            ),
        ),
        (false, true) => (
            "bad",
            l.tt("证据包无效", "The evidence bundle is NOT valid"),
            l.tt(
                "下列检查未通过：证据包的某一部分被改动，或证书并非本登记机构签发。",
                "The checks below failed: a part of the bundle was changed, or this registry did not issue the certificate.",
            ),
        ),
    };
    // A genuine signature over a registration that no longer stands is a red result too.
    let ended_explain;
    let (class, title, explain, status) = match now {
        Now::NotAsked => (class, title, explain, String::new()),
        Now::InForce(html) => (class, title, explain, html),
        Now::Ended(state, at, html) => {
            ended_explain = if l.en {
                format!(
                    "The signature is valid: this registry issued the certificate and nothing in it was changed. But the registration it states ended on {}: it is no longer in force.",
                    shown::date_zoned(at, true)
                )
            } else {
                format!(
                    "签名有效：本证书确由本登记机构签发，内容未被改动；但其所载登记已于 {} 终止，不再有效。",
                    shown::date_zoned(at, false)
                )
            };
            ("bad", standing::headline(state, l), ended_explain.as_str(), html)
        }
        Now::Superseded(latest, html) => {
            let s = &latest.statement;
            let period = shown::stated_period_zoned(&s.valid_from, &s.valid_until, l.en);
            ended_explain = if l.en {
                format!(
                    "The signature is valid, but this is not the registration's current certificate: the registry has since issued a newer one (the holder, data version or validity changed). It states the holder {} and the validity {period}.",
                    esc(&s.holder.name)
                )
            } else {
                format!(
                    "签名有效，但这不是该登记的现行证书：登记机构此后已签发新版本（权利人、数据版本或有效期已变更），所载权利人为 {}，有效期 {period}。",
                    esc(&s.holder.name)
                )
            };
            ("bad", l.tt("证书已被新版本取代", "This certificate has been superseded"), ended_explain.as_str(), html)
        }
        Now::Unknown => (
            "bad",
            l.tt("查不到证书所载登记的现状", "The registration's current status is unknown"),
            l.tt(
                "签名有效，但本登记机构现在查不到这一登记号的记录，不能确认其仍然有效。",
                "The signature is valid, but this registry finds no record under this registration number now, so it cannot confirm that it is in force.",
            ),
            String::new(),
        ),
    };
    let s = &c.statement;
    let html = format!(
        "<div class=\"result {class}\" id=\"check-result\" role=\"status\"><h2>{title}</h2><p>{explain}</p>\
         <dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>{extra}</dl><ul class=\"checks\">{items}</ul></div>{status}",
        l.tt("产品", "Product"),
        esc(&s.product.name),
        l.tt("权利人", "Holder"),
        esc(&s.holder.name),
        l.tt("登记号", "Registration no."),
        esc(&s.registration_number),
        l.tt("证书所载有效期", "Validity as stated"),
        esc(&shown::stated_period_zoned(&s.valid_from, &s.valid_until, l.en)),
    );
    // A failed check or an ended registration is a verdict, not an error of the request: always 200.
    (html, StatusCode::OK)
}

/// What an evidence bundle claims about the suspect dataset, for the reader.
fn bundle_facts(l: Lang, b: &dipr_fingerprint::evidence::EvidenceBundle) -> String {
    let mut views = String::new();
    for v in b.containment["views"].as_array().into_iter().flatten() {
        let pct = |k: &str| v[k].as_f64().map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_default();
        views.push_str(&format!(
            "<dt>{} {}</dt><dd>{}（95%: {} – {}）</dd>",
            l.tt("包含比例 · 视图", "Contained · view"),
            esc(v["view"].as_str().unwrap_or_default()),
            pct("estimate"),
            pct("low"),
            pct("high")
        ));
    }
    format!(
        "<dt>{}</dt><dd>{}（{} {}，SHA-256 <code>{}</code>）</dd>{views}<dt>{}</dt><dd>{}</dd>",
        l.tt("被比对的数据", "Suspect dataset"),
        esc(&b.suspect.file_name),
        b.suspect.records,
        l.tt("条记录", "records"),
        esc(b.suspect.sha256.get(..16).unwrap_or_default()),
        l.tt("附归属证明的记录", "Records with membership proofs"),
        b.record_proofs.len()
    )
}
