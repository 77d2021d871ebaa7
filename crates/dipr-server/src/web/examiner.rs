//! The examiner's console: a filing with its overlap warnings and the decision form; objections from
//! the notice period and objections after grant, each decided with reasons. The queue itself is on
//! "my registry" (`portal.rs`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dipr_domain::access::Role;
use dipr_domain::application::{Application, ObjectionOutcome, State as Status};
use dipr_domain::holding::Operation;
use dipr_domain::lifecycle::Command;
use dipr_store::UserRecord;
use serde::Deserialize;
use uuid::Uuid;

use crate::web::i18n::Lang;
use crate::web::layout::{esc, layout, message_page, LangQuery};
use crate::web::session::{csrf_of, session};
use dipr_domain::shown;
use dipr_registry::accounts::actor_of;
use dipr_registry::Registry;

pub fn routes() -> Router<Arc<Registry>> {
    Router::new()
        .route("/review/{id}", get(review).post(decide))
        .route("/review/{id}/objections/{oid}", post(decide_objection))
        .route("/review/{id}/disputes/{did}", post(decide_dispute))
}

/// The decisions an examiner can take on a filing in this state.
fn actions(state: Status) -> &'static [(&'static str, &'static str, &'static str)] {
    match state {
        Status::Submitted => &[("accept", "受理，进入形式审查", "Accept into formal review")],
        Status::FormalReview => &[
            ("pass_formal_review", "形式审查合格", "Pass formal review"),
            ("request_correction", "要求补正", "Request correction"),
            ("reject", "不予受理", "Reject"),
        ],
        Status::SubstantiveReview => {
            &[("approve", "予以公示", "Approve for public notice"), ("refuse", "不予登记", "Refuse")]
        }
        Status::Registered => &[("revoke", "撤销登记", "Revoke the registration")],
        _ => &[],
    }
}

/// Which form on the page was sent and refused.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Decision,
    Objection(Uuid),
    Dispute(Uuid),
}

/// What an outcome (upheld or dismissed) is decided on.
#[derive(Clone, Copy)]
enum Decided {
    /// An objection during the notice period.
    Objection(Uuid),
    /// An objection after grant.
    Dispute(Uuid),
}

/// The typed values of the form that was refused, kept when the page is shown again with its error.
struct Typed<'a> {
    target: Target,
    action: &'a str,
    reasons: &'a str,
}

impl Typed<'_> {
    const NONE: Typed<'static> = Typed { target: Target::Decision, action: "", reasons: "" };

    fn for_target(&self, t: Target) -> (&str, &str) {
        if self.target == t {
            (self.action, self.reasons)
        } else {
            ("", "")
        }
    }
}

/// The form deciding one objection (during notice) or one objection after grant.
fn outcome_form(l: Lang, url: &str, key: &str, csrf: &str, typed: (&str, &str), error: Option<&str>) -> String {
    let mut opts = format!("<option value=\"\">{}</option>", l.tt("请选择", "Choose"));
    for (v, zh, en) in [("dismissed", "异议不成立", "Dismiss"), ("upheld", "异议成立", "Uphold")] {
        let sel = if v == typed.0 { " selected" } else { "" };
        opts.push_str(&format!("<option value=\"{v}\"{sel}>{}</option>", l.tt(zh, en)));
    }
    let error = error.map(|e| crate::web::layout::error_span(&format!("reasons-{key}"), e)).unwrap_or_default();
    format!(
        "<form method=\"post\" action=\"{url}\" class=\"stack\" novalidate><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"outcome-{key}\">{}</label><select id=\"outcome-{key}\" name=\"action\" aria-describedby=\"err-reasons-{key}\">{opts}</select>\
         <label for=\"reasons-{key}\">{}</label><textarea id=\"reasons-{key}\" name=\"reasons\" rows=\"3\" aria-describedby=\"err-reasons-{key}\">{}</textarea>{error}\
         <button>{}</button></form>",
        l.tt("结论", "Outcome"),
        l.tt("理由", "Reasons"),
        esc(typed.1),
        l.tt("决定异议", "Decide the objection")
    )
}

async fn review_page(
    st: &Registry,
    l: Lang,
    app: &Application,
    csrf: &str,
    typed: Typed<'_>,
    error: Option<String>,
) -> Response {
    let overlaps = dipr_registry::fingerprints::overlaps(st, app.id).await.unwrap_or_default();
    let industry = crate::web::layout::industry_name(st, &app.form.industry, l).await;
    let f = &app.form;
    let mut body = format!(
        "<h1>{} <span class=\"badge\">{}</span></h1><p><a href=\"/me\">{}</a></p><table>",
        esc(&f.product_name),
        crate::web::layout::state_label(app.state, l),
        l.tt("返回审查队列", "Back to the queue")
    );
    for (k, v) in [
        (l.tt("申请人", "Applicant"), format!("{}（{}）", esc(&app.applicant.name), esc(&app.applicant.id_number))),
        (
            l.tt("登记对象", "Object type"),
            crate::web::layout::object_type_label(f.object_type.map(|t| t.as_str()).unwrap_or(""), l).to_string(),
        ),
        (l.tt("行业", "Industry"), esc(&industry)),
        (l.tt("简介", "Summary"), esc(&f.summary)),
        (l.tt("数据来源与合法性", "Sources and legality"), esc(&f.legality_statement)),
        (l.tt("加工规则", "Processing"), esc(&f.processing)),
        (l.tt("样例", "Samples"), esc(&f.samples.join("\n"))),
        (
            l.tt("内容承诺", "Content commitment"),
            f.content_commitment.as_ref().map(|c| format!("<code>{}</code>", esc(&c.root))).unwrap_or_default(),
        ),
    ] {
        body.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    }
    body.push_str("</table>");
    if !overlaps.is_empty() {
        body.push_str(&format!(
            "<h2>{}</h2><table class=\"list\" id=\"overlaps\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
            l.tt("数据重合预警", "Overlap warnings"),
            l.tt("其他申请", "Other filing"),
            l.tt("权利人", "Holder"),
            l.tt("本申请数据包含于其中的比例", "Share of this filing's records in it")
        ));
        for o in overlaps {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{:.0}%（95%: {:.0}–{:.0}%）</td></tr>",
                esc(&o.product_name),
                esc(&o.holder),
                o.containment * 100.0,
                o.low * 100.0,
                o.high * 100.0
            ));
        }
        body.push_str("</table>");
    }
    let err_for = |t: Target| error.as_deref().filter(|_| typed.target == t);
    // Objections during the notice period, and objections after grant.
    if !app.objections.is_empty() {
        body.push_str(&format!("<h2 id=\"objections\">{}</h2>", l.tt("公示期异议", "Objections during the notice")));
        for o in &app.objections {
            body.push_str(&format!(
                "<section class=\"card\"><p><strong>{}</strong>（{}） · {} · {} {}</p><p>{}</p>",
                esc(&o.objector_name),
                esc(&o.objector_contact),
                shown::date_zoned(o.filed_at, l.en),
                l.tt("决定期限", "decide by"),
                shown::date_zoned(o.decide_by, l.en),
                esc(&o.grounds)
            ));
            match (&o.response, &o.decision) {
                (_, Some(d)) => body.push_str(&format!(
                    "<p><strong>{}</strong> — {}（{}）</p>",
                    outcome_label(d.outcome, l),
                    esc(&d.reasons),
                    esc(&d.examiner_name)
                )),
                (response, None) => {
                    body.push_str(&format!(
                        "<p><em>{}</em> {}</p>",
                        l.tt("申请人答复：", "Applicant's answer:"),
                        response.as_deref().map(esc).unwrap_or_else(|| l.tt("尚未答复", "none yet").to_string())
                    ));
                    let t = Target::Objection(o.id);
                    let url = format!("/review/{}/objections/{}", app.id, o.id);
                    body.push_str(&outcome_form(l, &url, &o.id.to_string(), csrf, typed.for_target(t), err_for(t)));
                }
            }
            body.push_str("</section>");
        }
    }
    let disputes = app.holding.iter().flat_map(|h| &h.disputes).collect::<Vec<_>>();
    if !disputes.is_empty() {
        body.push_str(&format!("<h2 id=\"disputes\">{}</h2>", l.tt("登记后异议", "Objections after grant")));
        for d in disputes {
            body.push_str(&format!(
                "<section class=\"card\"><p><strong>{}</strong>（{}） · {}</p><p>{}</p>",
                esc(&d.objector_name),
                esc(&d.objector_contact),
                shown::date_zoned(d.filed_at, l.en),
                esc(&d.grounds)
            ));
            match &d.decision {
                Some(x) => body.push_str(&format!(
                    "<p><strong>{}</strong> — {}（{}）</p>",
                    outcome_label(x.outcome, l),
                    esc(&x.reasons),
                    esc(&x.examiner_name)
                )),
                None => {
                    let t = Target::Dispute(d.id);
                    let url = format!("/review/{}/disputes/{}", app.id, d.id);
                    body.push_str(&outcome_form(l, &url, &d.id.to_string(), csrf, typed.for_target(t), err_for(t)));
                }
            }
            body.push_str("</section>");
        }
    }
    let choices = actions(app.state);
    if !choices.is_empty() {
        let (action, reasons) = typed.for_target(Target::Decision);
        let mut opts = String::new();
        for (v, zh, en) in choices {
            let sel = if *v == action { " selected" } else { "" };
            opts.push_str(&format!("<option value=\"{v}\"{sel}>{}</option>", l.tt(zh, en)));
        }
        let error = err_for(Target::Decision).map(|e| crate::web::layout::error_span("reasons", e)).unwrap_or_default();
        body.push_str(&format!(
            "<h2>{}</h2><form method=\"post\" action=\"/review/{}\" class=\"stack\" novalidate><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"version\" value=\"{version}\">\
             <label for=\"action\">{}</label><select id=\"action\" name=\"action\">{opts}</select>\
             <label for=\"reasons\">{}</label><textarea id=\"reasons\" name=\"reasons\" rows=\"4\" aria-describedby=\"err-reasons\">{}</textarea>{error}\
             {confirm}<button>{}</button></form>",
            l.tt("决定", "Decision"),
            app.id,
            l.tt("决定事项", "Action"),
            l.tt("理由（将记录审查员身份）", "Reasons (recorded with your name)"),
            esc(reasons),
            l.tt("作出决定", "Decide"),
            version = app.version,
            // Revocation ends a registration for good: it needs a tick.
            confirm = if choices.iter().any(|(v, ..)| *v == "revoke") {
                crate::web::layout::confirm_box(l, "confirm", String::new())
            } else {
                String::new()
            },
        ));
    }
    layout(l, l.tt("审查", "Review"), "/me", &body, &[])
}

async fn review(
    State(st): State<Arc<Registry>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let Some((user, secret)) = session(&st, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    if user.role != Role::Examiner {
        return message_page(l, StatusCode::FORBIDDEN, l.tt("只有审查员可以审查。", "Only examiners review."));
    }
    // A draft is its applicant's alone until it is submitted.
    let app = match Uuid::parse_str(&id) {
        Ok(id) => st.store.application(id).await.ok().flatten().filter(|a| !a.is_draft()),
        Err(_) => None,
    };
    let Some(app) = app else {
        return message_page(l, StatusCode::NOT_FOUND, l.tt("没有这项申请。", "No such filing."));
    };
    review_page(&st, l, &app, &csrf_of(&secret), Typed::NONE, None).await
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    reasons: String,
    /// The version of the filing the page showed: the decision is refused if it has moved on since.
    version: Option<i64>,
    #[serde(default)]
    confirm: Option<String>,
}

async fn decide(
    State(st): State<Arc<Registry>>,
    Path(id): Path<Uuid>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (user, secret) = match examiner(&st, &headers, &form.csrf, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let reasons = form.reasons.clone();
    let cmd = match form.action.as_str() {
        "accept" => Command::AcceptForReview,
        "pass_formal_review" => Command::PassFormalReview { reasons },
        "request_correction" => Command::RequestCorrection { items: Vec::new(), reasons },
        "reject" => Command::Reject { reasons },
        "approve" => Command::Approve { reasons },
        "refuse" => Command::Refuse { reasons },
        "revoke" => Command::Revoke { reasons },
        _ => return message_page(l, StatusCode::UNPROCESSABLE_ENTITY, l.tt("请选择决定事项。", "Choose an action.")),
    };
    let Some(version) = form.version else {
        return crate::web::layout::expired(l);
    };
    // Revocation ends a registration for good: refused without its tick, like any other refusal.
    let result = if form.action == "revoke" && form.confirm.is_none() {
        Err(dipr_registry::Error::validation(vec![dipr_domain::FieldError::new(
            "confirm",
            "confirmation_required",
            "tick the box to confirm",
        )]))
    } else {
        dipr_registry::filings::execute_on(&st, id, version, cmd, &actor_of(&user)).await
    };
    match result {
        Ok(_) => Redirect::to(&format!("/review/{id}")).into_response(),
        Err(e) => {
            let message = match e.details.first() {
                Some(d) => crate::web::layout::field_message(&d.code, l),
                None => crate::web::messages::refusal(&e, l),
            };
            let Ok(Some(app)) = st.store.application(id).await else {
                return message_page(l, StatusCode::NOT_FOUND, l.tt("没有这项申请。", "No such filing."));
            };
            let typed = Typed { target: Target::Decision, action: &form.action, reasons: &form.reasons };
            let mut r = review_page(&st, l, &app, &csrf_of(&secret), typed, Some(message)).await;
            *r.status_mut() = crate::web::layout::status_of(&e);
            r
        }
    }
}

fn outcome_label(o: ObjectionOutcome, l: Lang) -> &'static str {
    match o {
        ObjectionOutcome::Upheld => l.tt("异议成立", "Upheld"),
        ObjectionOutcome::Dismissed => l.tt("异议不成立", "Dismissed"),
    }
}

/// The signed-in examiner, or the response to give instead.
async fn examiner(st: &Registry, headers: &HeaderMap, csrf: &str, l: Lang) -> Result<(UserRecord, String), Response> {
    let (user, secret) = crate::web::session::signed_in_post(st, headers, csrf, l).await?;
    if user.role != Role::Examiner {
        return Err(message_page(l, StatusCode::FORBIDDEN, l.tt("只有审查员可以审查。", "Only examiners review.")));
    }
    Ok((user, secret))
}

/// Decide an objection during the notice period or an objection after grant: upheld or dismissed, with reasons.
async fn decide_outcome(
    st: &Registry,
    headers: &HeaderMap,
    l: Lang,
    id: Uuid,
    decided: Decided,
    form: DecisionForm,
) -> Response {
    let (user, secret) = match examiner(st, headers, &form.csrf, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let outcome = match form.action.as_str() {
        "upheld" => Some(ObjectionOutcome::Upheld),
        "dismissed" => Some(ObjectionOutcome::Dismissed),
        _ => None,
    };
    let reasons = form.reasons.clone();
    let result = match (outcome, decided) {
        (None, _) => Err(dipr_registry::Error::validation(vec![dipr_domain::FieldError::new(
            "outcome",
            "invalid_choice",
            "choose upheld or dismissed",
        )])),
        (Some(outcome), Decided::Objection(oid)) => {
            let cmd = Command::DecideObjection { objection_id: oid, outcome, reasons };
            dipr_registry::filings::execute(st, id, cmd, &actor_of(&user)).await
        }
        (Some(outcome), Decided::Dispute(did)) => {
            let op = Operation::DecideDispute { dispute_id: did, outcome, reasons };
            dipr_registry::holdings::operate(st, id, op, &actor_of(&user)).await
        }
    };
    match result {
        Ok(_) => Redirect::to(&format!("/review/{id}")).into_response(),
        Err(e) => {
            let message = match e.details.first() {
                Some(d) => crate::web::layout::field_message(&d.code, l),
                None => crate::web::messages::refusal(&e, l),
            };
            let Ok(Some(app)) = st.store.application(id).await else {
                return message_page(l, StatusCode::NOT_FOUND, l.tt("没有这项申请。", "No such filing."));
            };
            let target = match decided {
                Decided::Objection(oid) => Target::Objection(oid),
                Decided::Dispute(did) => Target::Dispute(did),
            };
            let typed = Typed { target, action: &form.action, reasons: &form.reasons };
            let mut r = review_page(st, l, &app, &csrf_of(&secret), typed, Some(message)).await;
            *r.status_mut() = crate::web::layout::status_of(&e);
            r
        }
    }
}

async fn decide_objection(
    State(st): State<Arc<Registry>>,
    Path((id, oid)): Path<(Uuid, Uuid)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    decide_outcome(&st, &headers, l, id, Decided::Objection(oid), form).await
}

async fn decide_dispute(
    State(st): State<Arc<Registry>>,
    Path((id, did)): Path<(Uuid, Uuid)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    decide_outcome(&st, &headers, l, id, Decided::Dispute(did), form).await
}
