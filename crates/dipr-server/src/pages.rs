//! The public record page, `/records/{id}`: what a certificate's QR code opens. Server-rendered, no
//! scripts, Chinese by default (`?lang=en` for English). The full web interface builds on this.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use dipr_domain::application::State as AppStateKind;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;

#[derive(Deserialize)]
pub struct Lang {
    lang: Option<String>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn state_label(s: AppStateKind, en: bool) -> &'static str {
    use AppStateKind::*;
    match (s, en) {
        (Draft, false) => "草稿",
        (Submitted, false) => "已提交",
        (FormalReview, false) => "形式审查中",
        (CorrectionRequested, false) => "补正中",
        (Rejected, false) => "不予受理",
        (SubstantiveReview, false) => "实质审查中",
        (Refused, false) => "不予登记",
        (PublicNotice, false) => "公示中",
        (ObjectionPending, false) => "异议处理中",
        (Registered, false) => "已登记",
        (Withdrawn, false) => "已撤回",
        (DeemedWithdrawn, false) => "视为撤回",
        (Cancelled, false) => "已注销",
        (Revoked, false) => "已撤销",
        (Expired, false) => "已届满",
        (Draft, true) => "Draft",
        (Submitted, true) => "Submitted",
        (FormalReview, true) => "In formal review",
        (CorrectionRequested, true) => "Correction requested",
        (Rejected, true) => "Rejected",
        (SubstantiveReview, true) => "In substantive review",
        (Refused, true) => "Refused",
        (PublicNotice, true) => "On public notice",
        (ObjectionPending, true) => "Objection pending",
        (Registered, true) => "Registered",
        (Withdrawn, true) => "Withdrawn",
        (DeemedWithdrawn, true) => "Deemed withdrawn",
        (Cancelled, true) => "Cancelled by the holder",
        (Revoked, true) => "Revoked by the registry",
        (Expired, true) => "Expired",
    }
}

fn event_label(kind: &str, en: bool) -> String {
    let (zh, e) = match kind {
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
        other => (other, other),
    };
    (if en { e } else { zh }).to_string()
}

fn page(title: &str, body: &str, en: bool) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>body{{font-family:'Noto Sans CJK SC','Noto Sans SC','PingFang SC','Microsoft YaHei',sans-serif;max-width:960px;margin:0 auto;padding:1rem;color:#1f1f1f;line-height:1.6}}\
         header{{border-bottom:3px solid #8c1e1e;margin-bottom:1rem;display:flex;justify-content:space-between;align-items:baseline;flex-wrap:wrap}}h1{{color:#8c1e1e;font-size:1.5rem}}\
         table{{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}}th,td{{border:1px solid #d8d2ca;padding:.4rem .6rem;text-align:left;vertical-align:top}}th{{background:#f6f2ec;width:28%;font-weight:600}}\
         .badge{{display:inline-block;padding:.1rem .6rem;border-radius:1rem;background:#8c1e1e;color:#fff;font-size:.9rem}}a{{color:#8c1e1e}}</style></head><body>\
         <header><strong>{}</strong><a href=\"?lang={}\">{}</a></header>{}</body></html>",
        if en { "en" } else { "zh-CN" },
        esc(title),
        if en { "Data IP Registry — public record" } else { "数据知识产权登记 · 公示记录" },
        if en { "zh" } else { "en" },
        if en { "中文" } else { "English" },
        body
    )
}

/// `GET /records/{id}`.
pub async fn record(State(st): State<Arc<AppState>>, Path(id): Path<String>, Query(lang): Query<Lang>) -> Response {
    let en = lang.lang.as_deref() == Some("en");
    let html = |status: StatusCode, body: String| {
        (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
    };
    let not_found = || {
        let msg = if en { "No published record with this identifier." } else { "没有这一公示或登记记录。" };
        html(StatusCode::NOT_FOUND, page("404", &format!("<h1>404</h1><p>{msg}</p>"), en))
    };
    let Ok(id) = Uuid::parse_str(&id) else { return not_found() };
    let detail = match crate::api::public_detail(&st, id).await {
        Ok(d) => d,
        Err(e) if e.code == "not_found" => return not_found(),
        Err(e) => {
            return html(StatusCode::INTERNAL_SERVER_ERROR, page("500", &format!("<p>{}</p>", esc(&e.message)), en))
        }
    };
    let r = &detail.record;
    let t = |zh: &str, e: &str| if en { e.to_string() } else { zh.to_string() };
    let mut rows = vec![
        (t("权利人", "Holder"), format!("{}（{}）", esc(&r.holder.name), esc(&r.holder.id_number))),
        (t("登记对象类型", "Object type"), esc(r.object_type.map(|o| o.as_str()).unwrap_or(""))),
        (t("行业领域", "Industry"), esc(&r.industry)),
        (t("应用场景", "Scenarios"), esc(&r.scenarios.join("、"))),
        (t("简介", "Summary"), esc(&r.summary)),
    ];
    if let (Some(s), Some(e)) = (r.notice_started_at, r.notice_ends_at) {
        rows.push((t("公示期", "Notice period"), format!("{} — {}", s.format("%Y-%m-%d"), e.format("%Y-%m-%d"))));
    }
    if let Some(reg) = &r.registration {
        rows.push((t("登记号", "Registration no."), esc(reg.registration_number.as_str())));
        rows.push((t("证书号", "Certificate no."), esc(reg.certificate_number.as_str())));
        rows.push((
            t("有效期", "Valid"),
            format!("{} — {}", reg.valid_from.format("%Y-%m-%d"), reg.valid_until.format("%Y-%m-%d")),
        ));
        rows.push((
            t("证书", "Certificate"),
            format!(
                "<a href=\"/api/v1/public/records/{id}/certificate.pdf\">PDF</a> · <a href=\"/api/v1/public/records/{id}/certificate\">JSON</a>（{}）",
                t("可用 dipr verify 离线核验", "verify offline with dipr verify")
            ),
        ));
    }
    let mut body =
        format!("<h1>{} <span class=\"badge\">{}</span></h1><table>", esc(&r.product_name), state_label(r.state, en));
    for (k, v) in rows {
        body.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    }
    body.push_str(&format!(
        "</table><h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        t("公开记录", "Public history"),
        t("时间", "Time"),
        t("事项", "Event"),
        t("账本序号", "Log index")
    ));
    for e in &detail.history {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}{}</td><td>{}</td></tr>",
            e.at.format("%Y-%m-%d %H:%M UTC"),
            esc(&event_label(&e.kind, en)),
            if e.reasons.is_empty() { String::new() } else { format!("<br><small>{}</small>", esc(&e.reasons)) },
            e.log_index.map(|i| i.to_string()).unwrap_or_default()
        ));
    }
    body.push_str("</table>");
    html(StatusCode::OK, page(&r.product_name, &body, en))
}
