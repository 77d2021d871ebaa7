//! The public record page, `/records/{id}`: what a certificate's QR code opens. Server-rendered, no
//! scripts, in the site's layout and language (see [`crate::web`]).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dipr_domain::application::State as AppStateKind;
use serde::Deserialize;
use uuid::Uuid;

use dipr_registry::Registry;

#[derive(Deserialize)]
pub struct Lang {
    lang: Option<String>,
    /// Set after a successful objection (post/redirect/get).
    objected: Option<String>,
}

use crate::web::layout::esc;
use dipr_domain::shown;

/// `GET /records/{id}`.
pub async fn record(
    State(st): State<Arc<Registry>>,
    Path(id): Path<String>,
    Query(lang): Query<Lang>,
    headers: HeaderMap,
) -> Response {
    let l = crate::web::i18n::Lang::of(lang.lang.as_deref(), &headers);
    let form = ObjectionFormState { filed: lang.objected.is_some(), ..Default::default() };
    render(&st, &id, l, form).await
}

/// What the objection form shows: the values typed, their errors, a refusal, or a filed objection.
#[derive(Default)]
pub struct ObjectionFormState {
    values: ObjectionForm,
    errors: Vec<dipr_domain::FieldError>,
    refusal: Option<String>,
    filed: bool,
}

#[derive(Deserialize, Default)]
pub struct ObjectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    objector_name: String,
    #[serde(default)]
    objector_contact: String,
    #[serde(default)]
    grounds: String,
}

use crate::web::session::{form_token, form_token_matches, OBJECTION_CSRF_COOKIE};

/// `POST /records/{id}/objections`: the public objection form (anyone; no sign-in).
pub async fn object(
    State(st): State<Arc<Registry>>,
    Path(id): Path<String>,
    Query(lang): Query<Lang>,
    headers: HeaderMap,
    crate::guard::Peer(client): crate::guard::Peer,
    axum::Form(form): axum::Form<ObjectionForm>,
) -> Response {
    use dipr_domain::access::Actor;
    use dipr_domain::application::{check_objection_text, NewObjection};
    use dipr_domain::lifecycle::Command;
    let l = crate::web::i18n::Lang::of(lang.lang.as_deref(), &headers);
    // Double-submit token: the form must carry the value of the SameSite=Strict cookie set with it.
    if !form_token_matches(&headers, OBJECTION_CSRF_COOKIE, &form.csrf) {
        let refusal = l.tt("表单已过期，请重新提交。", "The form expired; please submit it again.").to_string();
        return render(&st, &id, l, ObjectionFormState { values: form, refusal: Some(refusal), ..Default::default() })
            .await;
    }
    let Ok(uuid) = Uuid::parse_str(&id) else { return render(&st, &id, l, ObjectionFormState::default()).await };
    let objection = NewObjection {
        objector_name: form.objector_name.clone(),
        objector_contact: form.objector_contact.clone(),
        grounds: form.grounds.clone(),
        evidence: Vec::new(),
    };
    let actor = Actor::public(form.objector_name.trim());
    let problems = check_objection_text(&objection.objector_name, &objection.objector_contact, &objection.grounds, &[]);
    let filed = match dipr_registry::filings::admit_objection(&st, problems, client, uuid, true) {
        Ok(()) => {
            dipr_registry::filings::execute(&st, uuid, Command::FileObjection { objection, id: Uuid::now_v7() }, &actor)
                .await
        }
        Err(e) => Err(e),
    };
    match filed {
        Ok(_) => {
            let lang = if l.en { "&lang=en" } else { "" };
            axum::response::Redirect::to(&format!("/records/{uuid}?objected=1{lang}")).into_response()
        }
        Err(e) => {
            let mut state = ObjectionFormState { values: form, errors: e.details.clone(), ..Default::default() };
            if state.errors.is_empty() {
                state.refusal = Some(match e.code {
                    "notice_period_over" => l
                        .tt("公示期已结束，不再受理异议。", "The notice period has ended; objections are closed.")
                        .to_string(),
                    "illegal_transition" => {
                        l.tt("该记录当前不在公示期。", "This record is not on public notice.").to_string()
                    }
                    _ => crate::web::messages::refusal(&e, l),
                });
            }
            let mut r = render(&st, &id, l, state).await;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            crate::web::layout::retry_after_on(&e, &mut r);
            r
        }
    }
}

fn objection_form(id: Uuid, l: crate::web::i18n::Lang, s: &ObjectionFormState, csrf: &str) -> String {
    let t = |zh: &'static str, en: &'static str| l.tt(zh, en);
    let err = |field: &str| crate::web::layout::field_errors(&s.errors, field, l);
    let mut out = format!("<h2 id=\"objection\">{}</h2>", t("提出异议", "Object to this filing"));
    if s.filed {
        out.push_str(&format!(
            "<p class=\"result good\" id=\"objection-filed\" role=\"status\">{}</p>",
            t(
                "异议已提交，审查员将作出附理由的决定。",
                "Your objection was filed; an examiner will decide with reasons."
            )
        ));
    }
    if let Some(r) = &s.refusal {
        out.push_str(&format!("<p class=\"result bad\" role=\"alert\" id=\"objection-refused\">{}</p>", esc(r)));
    }
    out.push_str(&format!(
        "<form method=\"post\" action=\"/records/{id}/objections\" class=\"stack\" novalidate>\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"objector_name\">{name_l}</label><input id=\"objector_name\" name=\"objector_name\" maxlength=\"200\" value=\"{name}\" aria-describedby=\"err-objector_name\">{name_e}\
         <label for=\"objector_contact\">{contact_l}</label><input id=\"objector_contact\" name=\"objector_contact\" maxlength=\"200\" value=\"{contact}\" aria-describedby=\"err-objector_contact\">{contact_e}\
         <label for=\"grounds\">{grounds_l}</label><textarea id=\"grounds\" name=\"grounds\" rows=\"5\" maxlength=\"20000\" aria-describedby=\"err-grounds\">{grounds}</textarea>{grounds_e}\
         <button>{submit}</button></form>",
        name_l = t("异议人名称", "Objector's name"),
        name = esc(&s.values.objector_name),
        name_e = err("objector_name"),
        contact_l = t("联系方式（不公开）", "Contact (not published)"),
        contact = esc(&s.values.objector_contact),
        contact_e = err("objector_contact"),
        grounds_l = t("异议理由与证据", "Grounds and evidence"),
        grounds = esc(&s.values.grounds),
        grounds_e = err("grounds"),
        submit = t("提交异议", "File the objection"),
    ));
    out
}

async fn render(st: &Registry, id: &str, l: crate::web::i18n::Lang, form: ObjectionFormState) -> Response {
    let en = l.en;
    let html = |status: StatusCode, title: &str, body: String| {
        let mut r = crate::web::layout::layout(l, title, "", &body, &[]);
        *r.status_mut() = status;
        r
    };
    let not_found = || {
        let msg = if en { "No published record with this identifier." } else { "没有这一公示或登记记录。" };
        html(StatusCode::NOT_FOUND, "404", format!("<h1>404</h1><p>{msg}</p>"))
    };
    let Ok(id) = Uuid::parse_str(id) else { return not_found() };
    let detail = match dipr_registry::records::public_detail(st, id).await {
        Ok(d) => d,
        Err(e) if e.code == "not_found" => return not_found(),
        Err(e) => return html(StatusCode::INTERNAL_SERVER_ERROR, "500", format!("<p>{}</p>", esc(&e.message))),
    };
    let r = &detail.record;
    let industry = crate::web::layout::industry_name(st, &r.industry, l).await;
    let t = |zh: &str, e: &str| if en { e.to_string() } else { zh.to_string() };
    let mut rows = vec![
        (t("权利人", "Holder"), format!("{}（{}）", esc(&r.holder.name), esc(&r.holder.id_number))),
        (
            t("登记对象类型", "Object type"),
            crate::web::layout::object_type_label(r.object_type.map(|o| o.as_str()).unwrap_or(""), l).to_string(),
        ),
        (t("行业领域", "Industry"), esc(&industry)),
        (t("应用场景", "Scenarios"), esc(&r.scenarios.join("、"))),
        (t("简介", "Summary"), esc(&r.summary)),
    ];
    if let (Some(s), Some(e)) = (r.notice_started_at, r.notice_ends_at) {
        let note = crate::web::layout::beyond_calendar_note(&st.calendar(), e, l);
        rows.push((t("公示期", "Notice period"), format!("{}{note}", shown::period_zoned(s, e, en))));
    }
    if let Some(reg) = &r.registration {
        rows.push((t("登记号", "Registration no."), esc(reg.registration_number.as_str())));
        rows.push((t("证书号", "Certificate no."), esc(reg.certificate_number.as_str())));
        rows.push((t("有效期", "Valid"), shown::period_zoned(reg.valid_from, reg.valid_until, en)));
        rows.push((
            t("证书", "Certificate"),
            format!(
                "<a href=\"/api/v1/public/records/{id}/certificate.pdf\">PDF</a> · <a href=\"/api/v1/public/records/{id}/certificate\">JSON</a>（{}）",
                t("可用 dipr verify 离线核验", "verify offline with dipr verify")
            ),
        ));
    }
    let mut flags = String::new();
    for (on, zh, e) in
        [(r.pledged, "质押中", "Pledged"), (r.licensed, "已许可", "Licensed"), (r.disputed, "存在异议", "Disputed")]
    {
        if on {
            flags.push_str(&format!(" <span class=\"badge flag\">{}</span>", t(zh, e)));
        }
    }
    let mut body = format!(
        "<h1>{} <span class=\"badge\">{}</span>{flags}</h1>",
        esc(&r.product_name),
        crate::web::layout::state_label(r.state, l)
    );
    let now = st.clock.now();
    if let Some(standing) = crate::standing::Standing::of(&detail, now) {
        body.push_str(&crate::standing::html(&standing, &detail, l, now, "record-status"));
    }
    body.push_str("<table>");
    for (k, v) in rows {
        body.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    }
    body.push_str("</table>");
    body.push_str(&holding_sections(&detail, en));
    let mut csrf_cookie = None;
    let notice_open = r.notice_ends_at.is_some_and(|end| st.clock.now() < end);
    if matches!(r.state, AppStateKind::PublicNotice | AppStateKind::ObjectionPending) && notice_open {
        let (token, cookie) = form_token(st, OBJECTION_CSRF_COOKIE, "/records");
        body.push_str(&objection_form(id, l, &form, &token));
        csrf_cookie = Some(cookie);
    }
    body.push_str(&format!(
        "<h2>{}</h2><table class=\"list\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        t("公开记录", "Public history"),
        shown::zoned(&t("时间", "Time"), en),
        t("事项", "Event"),
        t("账本序号", "Log index")
    ));
    for e in &detail.history {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}{}</td><td>{}</td></tr>",
            shown::minute(e.at),
            esc(&crate::web::layout::event_label(&e.kind, en)),
            history_note(e, en),
            e.log_index
                .map(|i| format!("<a href=\"/api/v1/log/proofs/inclusion?index={i}\">{i}</a>"))
                .unwrap_or_default()
        ));
    }
    body.push_str("</table>");
    let mut resp = html(StatusCode::OK, &r.product_name, body);
    if let Some(c) = csrf_cookie.and_then(|c| axum::http::HeaderValue::from_str(&c).ok()) {
        resp.headers_mut().append(axum::http::header::SET_COOKIE, c);
    }
    resp
}

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

fn table(headers: &[String], rows: Vec<Vec<String>>, empty: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"muted\">{empty}</p>");
    }
    let mut h = String::from("<table class=\"list\"><tr>");
    for c in headers {
        h.push_str(&format!("<th>{c}</th>"));
    }
    h.push_str("</tr>");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            h.push_str(&format!("<td>{c}</td>"));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    h
}

/// Encumbrances, licences, versions, lineage and value of a registered product.
fn holding_sections(d: &dipr_registry::records::PublicRecordDetail, en: bool) -> String {
    let t = |zh: &str, e: &str| if en { e.to_string() } else { zh.to_string() };
    let r = &d.record;
    if r.registration.is_none() {
        return String::new();
    }
    let none = t("无", "None");
    let mut out = String::new();
    out.push_str(&format!("<h2>{}</h2>", t("质押", "Pledges")));
    let status = |s: &str| match (s, en) {
        ("pending", false) => "待权利人同意",
        ("active", false) => "有效",
        ("released", false) => "已注销",
        ("enforced", false) => "已实现",
        ("pending", true) => "awaiting the holder's consent",
        ("active", true) => "active",
        ("released", true) => "released",
        ("enforced", true) => "enforced",
        _ => "",
    };
    let rows = r
        .pledges
        .iter()
        .map(|p| {
            vec![
                p.rank.map(|x| x.to_string()).unwrap_or_else(|| "—".into()),
                esc(&p.pledgee.name),
                esc(&p.debtor.name),
                format!("¥{}", p.secured),
                format!("{} — {}", p.term.start, p.term.end),
                status(&enum_str(&p.status)).to_string(),
            ]
        })
        .collect();
    let headers = [
        t("顺位", "Rank"),
        t("质权人", "Pledgee"),
        t("债务人", "Debtor"),
        t("担保金额", "Secured"),
        t("期限", "Term"),
        t("状态", "Status"),
    ];
    out.push_str(&table(&headers, rows, &none));

    out.push_str(&format!("<h2>{}</h2>", t("许可", "Licences")));
    let kind = |k: &str| match (k, en) {
        ("exclusive", false) => "独占许可",
        ("sole", false) => "排他许可",
        ("non_exclusive", false) => "普通许可",
        ("exclusive", true) => "exclusive",
        ("sole", true) => "sole",
        _ => "non-exclusive",
    };
    let everywhere = t("不限", "any");
    let rows = r
        .licences
        .iter()
        .map(|l| {
            let list = |v: &[String]| if v.is_empty() { everywhere.clone() } else { esc(&v.join("、")) };
            vec![
                esc(&l.licensee.name),
                kind(&enum_str(&l.kind)).to_string(),
                format!("{} — {}", l.term.start, l.term.end),
                list(&l.reach.territories),
                list(&l.reach.scopes),
                l.fee.map(|f| format!("¥{f}")).unwrap_or_default(),
                if l.is_active() { t("有效", "active") } else { t("已终止", "ended") },
            ]
        })
        .collect();
    let headers = [
        t("被许可人", "Licensee"),
        t("类型", "Kind"),
        t("期限", "Term"),
        t("地域", "Territory"),
        t("范围", "Scope"),
        t("费用", "Fee"),
        t("状态", "Status"),
    ];
    out.push_str(&table(&headers, rows, &none));

    out.push_str(&format!("<h2>{}</h2>", t("数据版本", "Data versions")));
    let rows = r
        .versions
        .iter()
        .map(|v| {
            let root = v.commitment.as_ref().map(|c| c.root.clone()).unwrap_or_default();
            vec![
                v.number.to_string(),
                shown::date(v.attested_at),
                esc(&enum_str(&v.reason)),
                format!("<code>{}</code>", esc(&root)),
            ]
        })
        .collect();
    let headers = [
        t("版本", "Version"),
        shown::zoned(&t("存证日期", "Attested"), en),
        t("原因", "Reason"),
        t("承诺根", "Commitment root"),
    ];
    out.push_str(&table(&headers, rows, &none));

    out.push_str(&format!("<h2>{}</h2>", t("来源与衍生", "Lineage")));
    let link = |l: &dipr_registry::records::LineageLink| {
        let name = esc(l.product_name.as_deref().unwrap_or(""));
        let number = esc(l.registration_number.as_deref().unwrap_or(""));
        let label = format!("{name} {number}");
        let lang = if en { "?lang=en" } else { "" };
        match l.id {
            Some(id) => {
                vec![format!("<a href=\"/records/{id}{lang}\">{label}</a>"), esc(l.holder.as_deref().unwrap_or(""))]
            }
            None => vec![label, String::new()],
        }
    };
    let up: Vec<Vec<String>> = d
        .lineage
        .upstream
        .iter()
        .map(|l| {
            let mut v = vec![t("来源于", "made from")];
            v.extend(link(l));
            v
        })
        .collect();
    let down: Vec<Vec<String>> = d
        .lineage
        .downstream
        .iter()
        .map(|l| {
            let mut v = vec![t("衍生为", "used in")];
            v.extend(link(l));
            v
        })
        .collect();
    let headers = [t("关系", "Relation"), t("产品", "Product"), t("权利人", "Holder")];
    out.push_str(&table(&headers, up.into_iter().chain(down).collect(), &none));

    out.push_str(&format!("<h2>{}</h2>", t("经济价值", "Economic value")));
    let vk = |k: &str| match (k, en) {
        ("licence_fee", false) => "许可费",
        ("trade", false) => "交易",
        ("service_fee", false) => "服务费",
        ("licence_fee", true) => "licence fees",
        ("trade", true) => "trades",
        _ => "service fees",
    };
    let rows = d
        .economic_value
        .iter()
        .map(|v| {
            vec![
                vk(&v.kind).to_string(),
                v.transactions.to_string(),
                format!("¥{}.{:02}", v.amount_fen / 100, v.amount_fen % 100),
            ]
        })
        .collect();
    let headers = [t("类型", "Kind"), t("笔数", "Transactions"), t("金额", "Amount")];
    out.push_str(&table(&headers, rows, &none));
    out
}

/// The public facts and reasons of a history entry, briefly.
fn history_note(e: &dipr_registry::records::PublicEvent, en: bool) -> String {
    let f = &e.facts;
    let mut parts = Vec::new();
    let name = |k: &str| f[k]["name"].as_str().map(esc);
    if let Some(n) = name("to") {
        parts.push(format!("{} {n}", if en { "to" } else { "受让/继受方：" }));
    }
    if let Some(n) = name("licensee") {
        parts.push(format!("{} {n}", if en { "licensee" } else { "被许可人：" }));
    }
    if let Some(n) = name("pledgee") {
        let rank = f["rank"].as_u64().map(|r| format!(" #{r}")).unwrap_or_default();
        parts.push(format!("{} {n}{rank}", if en { "pledgee" } else { "质权人：" }));
    }
    if let Some(v) = f["version"].as_u64() {
        parts.push(format!("{} {v}", if en { "version" } else { "版本" }));
    }
    if !e.reasons.is_empty() {
        parts.push(esc(&e.reasons));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("<br><small>{}</small>", parts.join(" · "))
    }
}
