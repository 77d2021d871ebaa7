//! The certificate check (`/check`): upload or paste a certificate or an evidence bundle and get the same
//! verification as `dipr verify`, each check explained in plain words. Nothing is stored.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use dipr_ledger::certificate::{verify, Certificate, Report};
use serde::Deserialize;

use crate::web::{esc, layout, Lang, LangQuery};
use crate::AppState;

/// Evidence bundles carry a manifest and record proofs: far larger than a certificate.
pub(crate) const BUNDLE_LIMIT: usize = 32 * 1024 * 1024;

pub fn routes() -> Router<Arc<AppState>> {
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
        h1 = l.t("证书核验", "Check a certificate"),
        lead = l.t(
            "与命令行 dipr verify 相同的核验：登记机构签名、公开账本条目、收录证明与签名检查点；证据包还核验数据指纹清单、权利人签名与每条记录的归属证明。任何改动都会使核验失败。",
            "The same checks as `dipr verify`: the registry's signature, the public log entry, the inclusion proof and the signed checkpoint; for an evidence bundle also the fingerprint manifest, the owner's signature and every record's proof. Any change makes it fail."
        ),
        file_l = l.t("选择证书或证据包文件（JSON）", "Choose the certificate or evidence bundle (JSON)"),
        paste_l = l.t("或粘贴其内容", "or paste its content"),
        pasted = esc(pasted),
        go = l.t("核验", "Verify"),
        result = result.unwrap_or_default(),
    );
    layout(l, l.t("证书核验", "Check a certificate"), "/check", &body, &["/assets/file-input.js"])
}

#[derive(Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    certificate: String,
}

async fn check(
    State(st): State<Arc<AppState>>,
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
            Err(e) => {
                unreadable(l, l.t("这不是一份可读取的证据包。", "This evidence bundle cannot be read."), &e.to_string())
            }
            Ok(b) => {
                let report = dipr_fingerprint::evidence::verify(&b, Some(&key), None);
                let extra = bundle_facts(l, &b);
                verdict(l, &b.certificate, &report, true, &extra)
            }
        }
    } else {
        match Certificate::parse(text.as_bytes()) {
            Err(e) => unreadable(
                l,
                l.t(
                    "这不是一份 dipr 证书（JSON 格式不符）。",
                    "This is not a dipr certificate (the JSON does not match).",
                ),
                &e.to_string(),
            ),
            Ok(c) => verdict(l, &c, &verify(&c, Some(&key), None), false, ""),
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
            l.t("无法读取", "Not readable"),
            what,
            esc(detail)
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

fn verdict(l: Lang, c: &Certificate, report: &Report, bundle: bool, extra: &str) -> (String, StatusCode) {
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
            l.t("证书有效", "The certificate is valid"),
            l.t(
                "本证书由本登记机构签发，其内容已记入公开账本，未被改动。",
                "This registry issued the certificate, its content is in the public log, and nothing in it was changed.",
            ),
        ),
        (true, true) => (
            "good",
            l.t("证据包有效", "The evidence bundle is valid"),
            l.t(
                "证书由本登记机构签发并记入公开账本；数据指纹清单与权利人签名有效；所列每条记录均可证明属于登记的数据。",
                "This registry issued the certificate and logged it; the fingerprint manifest and the owner's signature are valid; every listed record is proven to belong to the registered data.",
            ),
        ),
        (false, false) => (
            "bad",
            l.t("证书无效", "The certificate is NOT valid"),
            l.t(
                "下列检查未通过：证书可能被改动，或并非本登记机构签发。",
                "The checks below failed: the certificate was changed, or this registry did not issue it.",
            ),
        ),
        (false, true) => (
            "bad",
            l.t("证据包无效", "The evidence bundle is NOT valid"),
            l.t(
                "下列检查未通过：证据包的某一部分被改动，或证书并非本登记机构签发。",
                "The checks below failed: a part of the bundle was changed, or this registry did not issue the certificate.",
            ),
        ),
    };
    let s = &c.statement;
    let html = format!(
        "<div class=\"result {class}\" id=\"check-result\" role=\"status\"><h2>{title}</h2><p>{explain}</p>\
         <dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{} — {}</dd>{extra}</dl><ul class=\"checks\">{items}</ul></div>",
        l.t("产品", "Product"),
        esc(&s.product.name),
        l.t("权利人", "Holder"),
        esc(&s.holder.name),
        l.t("登记号", "Registration no."),
        esc(&s.registration_number),
        l.t("有效期", "Valid"),
        esc(s.valid_from.get(..10).unwrap_or("")),
        esc(s.valid_until.get(..10).unwrap_or("")),
    );
    // A failed check is a verdict, not an error of the request.
    (html, StatusCode::OK)
}

/// What an evidence bundle claims about the suspect dataset, for the reader.
fn bundle_facts(l: Lang, b: &dipr_fingerprint::evidence::EvidenceBundle) -> String {
    let mut views = String::new();
    for v in b.containment["views"].as_array().into_iter().flatten() {
        let pct = |k: &str| v[k].as_f64().map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_default();
        views.push_str(&format!(
            "<dt>{} {}</dt><dd>{}（95%: {} – {}）</dd>",
            l.t("包含比例 · 视图", "Contained · view"),
            esc(v["view"].as_str().unwrap_or_default()),
            pct("estimate"),
            pct("low"),
            pct("high")
        ));
    }
    format!(
        "<dt>{}</dt><dd>{}（{} {}，SHA-256 <code>{}</code>）</dd>{views}<dt>{}</dt><dd>{}</dd>",
        l.t("被比对的数据", "Suspect dataset"),
        esc(&b.suspect.file_name),
        b.suspect.records,
        l.t("条记录", "records"),
        esc(b.suspect.sha256.get(..16).unwrap_or_default()),
        l.t("附归属证明的记录", "Records with membership proofs"),
        b.record_proofs.len()
    )
}
