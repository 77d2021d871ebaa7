//! The examiner's console: a filing with its overlap warnings and the decision form; objections from
//! the notice period and objections after grant, each decided with reasons. The queue itself is on
//! "my registry" (`portal.rs`).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use dipr_domain::access::Role;
use dipr_domain::application::{Application, ObjectionOutcome, State as Status};
use dipr_domain::holding::Operation;
use dipr_domain::lifecycle::Command;
use dipr_domain::shown;
use dipr_store::UserRecord;
use serde::Deserialize;
use uuid::Uuid;

use crate::web::form::Errors;
use crate::web::i18n::Lang;
use crate::web::layout::{error_page, filters, message_page, page, state_label, LangQuery};
use crate::web::session::{csrf_of, posted, signed_in, Senders, SignedIn};
use dipr_registry::audit::actor_of;
use dipr_registry::Registry;

pub fn routes() -> Router<Arc<Registry>> {
    Router::new()
        .route("/review/{id}", get(review).post(decide))
        .route("/review/{id}/objections/{oid}", post(decide_objection))
        .route("/review/{id}/disputes/{did}", post(decide_dispute))
}

/// Examiners only: everyone else is refused the review page and its forms.
struct Examiners;

impl Senders for Examiners {
    fn refusal(user: &UserRecord, l: Lang) -> Option<Response> {
        (user.role != Role::Examiner).then(|| message_page(l, StatusCode::FORBIDDEN, &l.t("examiner-only-examiners")))
    }
}

/// The decisions an examiner can take on a filing in this state: (the form's value, its label).
fn actions(state: Status, l: Lang) -> Vec<(&'static str, String)> {
    match state {
        Status::Submitted => vec![("accept", l.t("examiner-action-accept"))],
        Status::FormalReview => vec![
            ("pass_formal_review", l.t("examiner-action-pass-formal-review")),
            ("request_correction", l.t("examiner-action-request-correction")),
            ("reject", l.t("examiner-action-reject")),
        ],
        Status::SubstantiveReview => {
            vec![("approve", l.t("examiner-action-approve")), ("refuse", l.t("examiner-action-refuse"))]
        }
        Status::Registered => vec![("revoke", l.t("examiner-action-revoke"))],
        _ => Vec::new(),
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

/// One other filing whose data contains this filing's records.
struct OverlapRow {
    product: String,
    holder: String,
    /// The estimated share and its 95% interval, in percent.
    share: String,
}

/// How an objection (or an objection after grant) was decided.
struct Decision {
    outcome: String,
    reasons: String,
    examiner: String,
}

/// The form deciding one objection, with what was typed into it when it was refused.
struct OutcomeForm {
    url: String,
    /// Tells the forms of one page apart: the objection's id.
    key: String,
    /// The reasons field's id, where a refusal's message shows.
    reasons_id: String,
    action: String,
    reasons: String,
}

/// An objection's outcome, or the form that decides it.
enum Outcome {
    Decided(Decision),
    Open(OutcomeForm),
}

/// An objection during the notice period.
struct ObjectionCard {
    name: String,
    contact: String,
    filed: String,
    decide_by: String,
    grounds: String,
    answer: Option<String>,
    outcome: Outcome,
}

/// An objection after grant.
struct DisputeCard {
    name: String,
    contact: String,
    filed: String,
    grounds: String,
    outcome: Outcome,
}

/// The decision form on the filing itself.
struct DecisionView {
    url: String,
    version: i64,
    actions: Vec<(String, String)>,
    action: String,
    reasons: String,
    /// Revocation ends a registration for good: it needs a tick.
    revoke: bool,
}

#[derive(Template)]
#[template(path = "examiner/review.html")]
struct Review {
    l: Lang,
    csrf: String,
    product: String,
    state: String,
    applicant: String,
    applicant_id: String,
    /// Every field of the filing (see `filed.rs`).
    filed: Vec<(String, String)>,
    /// What the filed manifest says (see `manifest.rs`).
    commitment: Vec<(String, String)>,
    /// Err when the overlap check could not be read (the examiner must not take it for "no overlap").
    overlaps: Result<Vec<OverlapRow>, ()>,
    objections: Vec<ObjectionCard>,
    disputes: Vec<DisputeCard>,
    outcomes: [(&'static str, String); 2],
    decision: Option<DecisionView>,
    /// The refused form's message, at the id of its reasons field.
    errs: Errors,
}

fn decision_of(outcome: ObjectionOutcome, reasons: &str, examiner: &str, l: Lang) -> Outcome {
    Outcome::Decided(Decision {
        outcome: outcome_label(outcome, l),
        reasons: reasons.to_string(),
        examiner: examiner.to_string(),
    })
}

fn open_form(url: String, id: Uuid, typed: (&str, &str)) -> Outcome {
    Outcome::Open(OutcomeForm {
        url,
        key: id.to_string(),
        reasons_id: format!("reasons-{id}"),
        action: typed.0.to_string(),
        reasons: typed.1.to_string(),
    })
}

async fn review_page(
    st: &Registry,
    l: Lang,
    app: &Application,
    csrf: &str,
    typed: Typed<'_>,
    error: Option<String>,
) -> Response {
    let overlaps = match dipr_registry::fingerprints::overlaps(st, app.id).await {
        Ok(found) => Ok(found),
        // A filing without a fingerprint manifest has nothing to compare.
        Err(e) if e.code == "no_manifest" => Ok(Vec::new()),
        Err(e) => {
            tracing::error!(code = e.code, message = %e.message, "the overlap check failed on the review page");
            Err(())
        }
    };
    let overlaps = overlaps.map(|found| {
        found
            .into_iter()
            .map(|o| OverlapRow {
                product: o.product_name,
                holder: o.holder,
                share: format!("{:.0}%（95%: {:.0}–{:.0}%）", o.containment * 100.0, o.low * 100.0, o.high * 100.0),
            })
            .collect()
    });
    let industries = match st.store.industries().await {
        Ok(i) => i,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let f = &app.form;
    let industry = industries
        .into_iter()
        .find(|i| i.code == f.industry)
        .map_or_else(|| f.industry.clone(), |i| if l.en { i.name_en } else { i.name_zh });
    let objections = app
        .objections
        .iter()
        .map(|o| ObjectionCard {
            name: o.objector_name.clone(),
            contact: o.objector_contact.clone(),
            filed: shown::date_zoned(o.filed_at, l.en),
            decide_by: shown::date_zoned(o.decide_by, l.en),
            grounds: o.grounds.clone(),
            answer: o.response.clone(),
            outcome: match &o.decision {
                Some(d) => decision_of(d.outcome, &d.reasons, &d.examiner_name, l),
                None => open_form(
                    format!("/review/{}/objections/{}", app.id, o.id),
                    o.id,
                    typed.for_target(Target::Objection(o.id)),
                ),
            },
        })
        .collect();
    let disputes = app
        .holding
        .iter()
        .flat_map(|h| &h.disputes)
        .map(|d| DisputeCard {
            name: d.objector_name.clone(),
            contact: d.objector_contact.clone(),
            filed: shown::date_zoned(d.filed_at, l.en),
            grounds: d.grounds.clone(),
            outcome: match &d.decision {
                Some(x) => decision_of(x.outcome, &x.reasons, &x.examiner_name, l),
                None => open_form(
                    format!("/review/{}/disputes/{}", app.id, d.id),
                    d.id,
                    typed.for_target(Target::Dispute(d.id)),
                ),
            },
        })
        .collect();
    let choices = actions(app.state, l);
    let decision = (!choices.is_empty()).then(|| {
        let (action, reasons) = typed.for_target(Target::Decision);
        DecisionView {
            url: format!("/review/{}", app.id),
            version: app.version,
            revoke: choices.iter().any(|(v, _)| *v == "revoke"),
            actions: choices.into_iter().map(|(v, label)| (v.to_string(), label)).collect(),
            action: action.to_string(),
            reasons: reasons.to_string(),
        }
    });
    let errs = match (error, typed.target) {
        (None, _) => Errors::default(),
        (Some(m), Target::Decision) => Errors::one("reasons", m),
        (Some(m), Target::Objection(id) | Target::Dispute(id)) => Errors::one(&format!("reasons-{id}"), m),
    };
    let view = Review {
        l,
        csrf: csrf.to_string(),
        product: f.product_name.clone(),
        state: state_label(app.state, l),
        applicant: app.applicant.name.clone(),
        applicant_id: app.applicant.id_number.clone(),
        filed: crate::web::filed::rows(f, &industry, l),
        commitment: crate::web::manifest::of_application(st, app, l).await,
        overlaps,
        objections,
        disputes,
        outcomes: [("dismissed", l.t("examiner-dismiss")), ("upheld", l.t("examiner-uphold"))],
        decision,
        errs,
    };
    page(l, &l.t("examiner-title"), "/me", &view, &[])
}

async fn review(
    State(st): State<Arc<Registry>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (user, secret) = match signed_in(&st, &headers, l).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    if let Some(refused) = Examiners::refusal(&user, l) {
        return refused;
    }
    // A draft is its applicant's alone until it is submitted.
    let app = match Uuid::parse_str(&id) {
        Ok(id) => match st.store.application(id).await {
            Ok(app) => app.filter(|a| !a.is_draft()),
            Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        Err(_) => None,
    };
    let Some(app) = app else {
        return message_page(l, StatusCode::NOT_FOUND, &l.t("examiner-no-such-filing"));
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

posted!(DecisionForm);

async fn decide(
    State(st): State<Arc<Registry>>,
    Path(id): Path<Uuid>,
    SignedIn { l, user, secret, form, .. }: SignedIn<DecisionForm, Examiners>,
) -> Response {
    let reasons = form.reasons.clone();
    let cmd = match form.action.as_str() {
        "accept" => Command::AcceptForReview,
        "pass_formal_review" => Command::PassFormalReview { reasons },
        "request_correction" => Command::RequestCorrection { items: Vec::new(), reasons },
        "reject" => Command::Reject { reasons },
        "approve" => Command::Approve { reasons },
        "refuse" => Command::Refuse { reasons },
        "revoke" => Command::Revoke { reasons },
        _ => return message_page(l, StatusCode::UNPROCESSABLE_ENTITY, &l.t("examiner-choose-action")),
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
            let app = match st.store.application(id).await {
                Ok(Some(app)) => app,
                Ok(None) => return message_page(l, StatusCode::NOT_FOUND, &l.t("examiner-no-such-filing")),
                Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            };
            let typed = Typed { target: Target::Decision, action: &form.action, reasons: &form.reasons };
            let mut r = review_page(&st, l, &app, &csrf_of(&secret), typed, Some(message)).await;
            *r.status_mut() = crate::web::layout::status_of(&e);
            r
        }
    }
}

fn outcome_label(o: ObjectionOutcome, l: Lang) -> String {
    match o {
        ObjectionOutcome::Upheld => l.t("examiner-upheld"),
        ObjectionOutcome::Dismissed => l.t("examiner-dismissed"),
    }
}

/// Decide an objection during the notice period or an objection after grant: upheld or dismissed, with reasons.
async fn decide_outcome(
    st: &Registry,
    sent: SignedIn<DecisionForm, Examiners>,
    id: Uuid,
    decided: Decided,
) -> Response {
    let SignedIn { l, user, secret, form, .. } = sent;
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
            let app = match st.store.application(id).await {
                Ok(Some(app)) => app,
                Ok(None) => return message_page(l, StatusCode::NOT_FOUND, &l.t("examiner-no-such-filing")),
                Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
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
    sent: SignedIn<DecisionForm, Examiners>,
) -> Response {
    decide_outcome(&st, sent, id, Decided::Objection(oid)).await
}

async fn decide_dispute(
    State(st): State<Arc<Registry>>,
    Path((id, did)): Path<(Uuid, Uuid)>,
    sent: SignedIn<DecisionForm, Examiners>,
) -> Response {
    decide_outcome(&st, sent, id, Decided::Dispute(did)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(overlaps: Result<Vec<OverlapRow>, ()>) -> String {
        let l = Lang { en: false, remember: false };
        let view = Review {
            l,
            csrf: "c".into(),
            product: "语料".into(),
            state: String::new(),
            applicant: String::new(),
            applicant_id: String::new(),
            filed: Vec::new(),
            commitment: Vec::new(),
            overlaps,
            objections: Vec::new(),
            disputes: Vec::new(),
            outcomes: [("dismissed", l.t("examiner-dismiss")), ("upheld", l.t("examiner-uphold"))],
            decision: None,
            errs: Errors::default(),
        };
        view.render().expect("the review page renders")
    }

    #[test]
    fn a_failed_overlap_check_is_said_and_not_shown_as_no_overlap() {
        let html = review(Err(()));
        assert!(html.contains("id=\"overlaps-failed\"") && html.contains("数据重合情况读取失败"), "{html}");
        assert!(!html.contains("id=\"overlaps\""));
        let html = review(Ok(Vec::new()));
        assert!(!html.contains("overlaps"), "no overlap, no section: {html}");
        let row = OverlapRow { product: "x < y".into(), holder: "h".into(), share: "80%".into() };
        let html = review(Ok(vec![row]));
        assert!(html.contains("id=\"overlaps\"") && html.contains("x &#60; y") && !html.contains("overlaps-failed"));
    }
}
