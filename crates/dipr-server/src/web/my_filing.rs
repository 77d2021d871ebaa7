//! One filing, as its applicant (or, once registered, its holder) works on it: edit and submit a draft,
//! file the fingerprint manifest, answer a correction request, answer objections, withdraw; and for a
//! registered product register and end licences, book transactions, and cancel the registration.
//!
//! Every post re-renders the same page on a refusal, with the errors next to the fields of the form that
//! was sent and what was typed kept; every other form on the page starts fresh.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dipr_domain::application::{Application, ApplicationForm, State as Status};
use dipr_domain::encumbrance::LicenceKind;
use dipr_domain::holding::{require_holder, Operation, TransactionKind};
use dipr_domain::lifecycle::{Actor, Command};
use dipr_domain::FieldError;
use dipr_store::{Page, UserRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::api::holdings::{Amount, LicenceRequest, TransactionRequest};
use crate::auth::actor_of;
use crate::error::{ApiError, ApiResult};
use crate::web::filing::{check_submission, field_of, form_fields, FileForm};
use crate::web::form::{input, select, textarea, Errors};
use crate::web::i18n::Lang;
use crate::web::layout::{esc, layout, message_page, LangQuery};
use crate::web::session::{csrf_of, session};
use crate::AppState;
use dipr_domain::shown;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/me/filings/{id}", get(page).post(edit))
        .route("/me/filings/{id}/manifest", post(manifest))
        .route("/me/filings/{id}/withdraw", post(withdraw))
        .route("/me/filings/{id}/objections/{oid}", post(respond))
        .route("/me/filings/{id}/licences", post(licence))
        .route("/me/filings/{id}/licences/{lid}/terminate", post(terminate_licence))
        .route("/me/filings/{id}/transactions", post(transaction))
}

/// What was sent and refused, to show again: at most one form on the page at a time.
#[derive(Default)]
enum Sent {
    #[default]
    Nothing,
    /// Nothing refused: the last action went through, and the page shows its receipt.
    Receipt,
    Edit(Box<FileForm>),
    Manifest(String),
    Withdraw(String),
    Response(Uuid, String),
    Licence(Box<LicenceForm>),
    Transaction(Box<TransactionForm>),
}

/// The applicant's or the holder's view of a filing; anyone else is told it does not exist.
fn may_work_on(actor: &Actor, app: &Application) -> bool {
    actor.owns(app) || (app.registration.is_some() && require_holder(actor, app).is_ok())
}

/// The signed-in user and the filing they may work on, or the response to give instead.
async fn open(
    st: &AppState,
    headers: &HeaderMap,
    id: Uuid,
    l: Lang,
) -> Result<(UserRecord, String, Application), Response> {
    let Some((user, secret)) = session(st, headers).await else {
        return Err(Redirect::to("/signin").into_response());
    };
    let app = filing_of(st, &user, id, l).await?;
    Ok((user, secret, app))
}

/// The filing, if this user may work on it.
async fn filing_of(st: &AppState, user: &UserRecord, id: Uuid, l: Lang) -> Result<Application, Response> {
    match st.store.application(id).await {
        Ok(Some(app)) if may_work_on(&actor_of(user), &app) => Ok(app),
        Ok(_) => Err(message_page(
            l,
            StatusCode::NOT_FOUND,
            l.tt("没有这项申请，或您无权查看。", "No such filing, or it is not yours."),
        )),
        Err(e) => Err(message_page(l, StatusCode::INTERNAL_SERVER_ERROR, &ApiError::from(e).message)),
    }
}

/// A post to a filing: the page's language, the signed-in user, the session secret and the filing, once
/// the form's CSRF token matches the session.
async fn posted(
    st: &AppState,
    headers: &HeaderMap,
    q: &LangQuery,
    id: Uuid,
    csrf: &str,
) -> Result<(Lang, UserRecord, String, Application), Response> {
    let l = Lang::of(q.lang(), headers);
    let (user, secret) = crate::web::session::signed_in_post(st, headers, csrf, l).await?;
    let app = filing_of(st, &user, id, l).await?;
    Ok((l, user, secret, app))
}

/// The filing page's address: the language, and whether to show the receipt of the action just done.
#[derive(Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
    receipt: Option<String>,
}

async fn page(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    // A mistyped address is a missing filing, not a malformed request.
    let Ok(id) = Uuid::parse_str(&id) else {
        return message_page(
            l,
            StatusCode::NOT_FOUND,
            l.tt("没有这项申请，或您无权查看。", "No such filing, or it is not yours."),
        );
    };
    match open(&st, &headers, id, l).await {
        Ok((user, secret, app)) => {
            let sent = if q.receipt.is_some() { Sent::Receipt } else { Sent::Nothing };
            render(&st, l, &user, &secret, &app, sent, &Errors::default()).await
        }
        Err(r) => r,
    }
}

/// Re-render after a refusal, with the status the refusal carries.
/// Who is working on which filing, for re-rendering a refused form.
struct Working<'a> {
    st: &'a AppState,
    l: Lang,
    user: &'a UserRecord,
    secret: &'a str,
    id: Uuid,
}

async fn refused(
    w: Working<'_>,
    sent: Sent,
    e: &ApiError,
    map: &(dyn Fn(&str) -> String + Sync),
    top: &str,
) -> Response {
    let Working { st, l, user, secret, id } = w;
    let errors = Errors::of(e, l, map, top);
    let app = match st.store.application(id).await {
        Ok(Some(app)) => app,
        _ => return message_page(l, StatusCode::NOT_FOUND, l.tt("没有这项申请。", "No such filing.")),
    };
    let mut r = render(st, l, user, secret, &app, sent, &errors).await;
    *r.status_mut() = e.status();
    r
}

/// After an action: the filing page with the action's receipt.
fn done(id: Uuid, anchor: &str) -> Response {
    Redirect::to(&format!("/me/filings/{id}?receipt=1#{anchor}")).into_response()
}

/// What was just done, when (Beijing time), by whom, and where the public log holds it: the filing's latest
/// event.
async fn receipt(st: &AppState, l: Lang, app: &Application) -> String {
    let events = match st.store.events("application", &app.id.to_string()).await {
        Ok(e) => e,
        Err(e) => return format!("<p class=\"result bad\" role=\"alert\">{}</p>", esc(&ApiError::from(e).message)),
    };
    let Some(last) = events.last() else { return String::new() };
    let logged = match st.store.log_indexes(&[last.id]).await {
        Ok(found) => found.get(&last.id).map(|i| {
            format!(" · {}", l.tt(&format!("已记入公开账本，序号 {i}"), &format!("in the public log at index {i}")))
        }),
        Err(e) => Some(format!(" · {}", esc(&ApiError::from(e).message))),
    };
    format!(
        "<div class=\"result good\" role=\"status\" id=\"receipt\"><h2>{}</h2><p>{} · {} · {} · {} {}{}</p></div>",
        l.tt("办理回执", "Receipt"),
        esc(&crate::web::layout::event_label(&last.kind, l.en)),
        dipr_domain::shown::minute_zoned(last.at, l.en),
        esc(&last.actor_name),
        l.tt("事项编号", "event no."),
        last.id,
        logged.unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------------------------------
// Editing, submitting, answering a correction request

async fn edit(
    State(st): State<Arc<AppState>>,
    Path(id): Path<Uuid>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<FileForm>,
) -> Response {
    let (l, user, secret, app) = match posted(&st, &headers, &q, id, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let form = f.to_form(app.form.clone());
    let result = save_and_send(&st, &user, &app, form, &f).await;
    match result {
        Ok(()) => done(id, "status"),
        Err(e) => {
            let map = |p: &str| if p == "response" { "response".to_string() } else { field_of(p).to_string() };
            refused(Working { st: &st, l, user: &user, secret: &secret, id }, Sent::Edit(Box::new(f)), &e, &map, "form")
                .await
        }
    }
}

/// Save the form; unless the applicant only saves, submit (a draft) or resubmit (after a correction
/// request) — checking the whole submission before saving anything, so a refusal changes nothing.
async fn save_and_send(
    st: &AppState,
    user: &UserRecord,
    app: &Application,
    form: ApplicationForm,
    f: &FileForm,
) -> ApiResult<()> {
    if f.saves_draft() {
        return crate::service::edit_application(st, user, app.id, form).await.map(|_| ());
    }
    check_submission(st, &form).await?;
    let command = match app.state {
        Status::Draft => Command::Submit,
        Status::CorrectionRequested => {
            if f.response.trim().is_empty() {
                return Err(ApiError::validation(vec![FieldError::new(
                    "response",
                    "required",
                    "say what was corrected",
                )]));
            }
            Command::Resubmit { response: f.response.clone() }
        }
        _ => return Err(ApiError::new("illegal_transition", "this filing cannot be edited now")),
    };
    crate::service::edit_and_send(st, user, app.id, form, command).await.map(|_| ())
}

// ---------------------------------------------------------------------------------------------------
// Fingerprint manifest, withdrawal, objections

#[derive(Deserialize)]
pub struct ManifestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    manifest: String,
}

async fn manifest(
    State(st): State<Arc<AppState>>,
    Path(id): Path<Uuid>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<ManifestForm>,
) -> Response {
    let (l, user, secret, _) = match posted(&st, &headers, &q, id, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = match serde_json::from_str::<dipr_fingerprint::Manifest>(&f.manifest) {
        Err(e) if f.manifest.trim().is_empty() => {
            Err(ApiError::validation(vec![FieldError::new("manifest", "required", e.to_string())]))
        }
        Err(e) => Err(ApiError::new("invalid_manifest", format!("not a fingerprint manifest: {e}"))),
        Ok(m) => crate::fingerprints::attach(&st, &user, id, m).await.map(|_| ()),
    };
    match result {
        Ok(()) => done(id, "fingerprint"),
        Err(e) => {
            // A manifest is large: keep it only when it was short enough to be typed or pasted by hand.
            let kept = if f.manifest.len() <= 64 * 1024 { f.manifest } else { String::new() };
            refused(
                Working { st: &st, l, user: &user, secret: &secret, id },
                Sent::Manifest(kept),
                &e,
                &|_| "manifest".into(),
                "manifest",
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct TextForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// Withdraw, cancel or discard: irreversible, so the form names the version it was shown on and asks the
/// applicant to tick a confirmation.
#[derive(Deserialize)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    confirm: Option<String>,
    version: Option<i64>,
}

async fn withdraw(
    State(st): State<Arc<AppState>>,
    Path(id): Path<Uuid>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<EndForm>,
) -> Response {
    let (l, user, secret, app) = match posted(&st, &headers, &q, id, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(version) = f.version else {
        return crate::web::layout::expired(l);
    };
    // A draft is discarded; before registration the applicant withdraws; after it the holder cancels.
    let command = match app.state {
        Status::Draft => Command::Discard,
        Status::Registered => Command::Cancel { reason: f.text.clone() },
        _ => Command::Withdraw { reason: f.text.clone() },
    };
    let mut problems = Vec::new();
    if app.state != Status::Draft && f.text.trim().is_empty() {
        problems.push(FieldError::new("reason", "required", "give a reason"));
    }
    if f.confirm.is_none() {
        problems.push(FieldError::new("confirm", "confirmation_required", "tick the box to confirm"));
    }
    let result = if problems.is_empty() {
        crate::service::execute_on(&st, id, version, command, &actor_of(&user)).await
    } else {
        Err(ApiError::validation(problems))
    };
    match result {
        Ok(_) if app.state == Status::Draft => Redirect::to("/me").into_response(),
        Ok(_) => done(id, "status"),
        Err(e) => {
            refused(
                Working { st: &st, l, user: &user, secret: &secret, id },
                Sent::Withdraw(f.text),
                &e,
                &|p| if p == "confirm" { "confirm".into() } else { "reason".into() },
                "reason",
            )
            .await
        }
    }
}

async fn respond(
    State(st): State<Arc<AppState>>,
    Path((id, oid)): Path<(Uuid, Uuid)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<TextForm>,
) -> Response {
    let (l, user, secret, _) = match posted(&st, &headers, &q, id, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = if f.text.trim().is_empty() {
        Err(ApiError::validation(vec![FieldError::new("response", "required", "write a response")]))
    } else {
        let cmd = Command::RespondToObjection { objection_id: oid, response: f.text.clone() };
        crate::service::execute(&st, id, cmd, &actor_of(&user)).await
    };
    let field = format!("response-{oid}");
    match result {
        Ok(_) => done(id, "objections"),
        Err(e) => {
            let sent = Sent::Response(oid, f.text);
            refused(Working { st: &st, l, user: &user, secret: &secret, id }, sent, &e, &|_| field.clone(), &field)
                .await
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Licences and transactions (the holder)

#[derive(Deserialize, Default)]
pub struct LicenceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "lic-licensee")]
    licensee: String,
    #[serde(default, rename = "lic-kind")]
    kind: String,
    #[serde(default, rename = "lic-start")]
    start: String,
    #[serde(default, rename = "lic-end")]
    end: String,
    #[serde(default, rename = "lic-territories")]
    territories: String,
    #[serde(default, rename = "lic-scopes")]
    scopes: String,
    #[serde(default, rename = "lic-fee")]
    fee: String,
}

fn list(s: &str) -> Vec<String> {
    s.split(['\n', '，', ',', '、', ';', '；']).map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
}

async fn licence(
    State(st): State<Arc<AppState>>,
    Path(id): Path<Uuid>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<LicenceForm>,
) -> Response {
    let (l, user, secret, _) = match posted(&st, &headers, &q, id, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let kind = match f.kind.as_str() {
        "exclusive" => Some(LicenceKind::Exclusive),
        "sole" => Some(LicenceKind::Sole),
        "non_exclusive" => Some(LicenceKind::NonExclusive),
        _ => None,
    };
    let result = match kind {
        None => Err(ApiError::validation(vec![FieldError::new("kind", "invalid_choice", "choose a licence kind")])),
        Some(kind) => {
            let req = LicenceRequest {
                licensee: f.licensee.trim().to_uppercase(),
                kind,
                start: f.start.clone(),
                end: f.end.clone(),
                territories: list(&f.territories),
                scopes: list(&f.scopes),
                fee: (!f.fee.trim().is_empty()).then(|| Amount::Text(f.fee.clone())),
            };
            crate::api::holdings::grant_licence_as(&st, &actor_of(&user), id, req).await.map(|_| ())
        }
    };
    match result {
        Ok(()) => done(id, "licences"),
        Err(e) => {
            let map = |p: &str| {
                let head = p.split(['.', '[']).next().unwrap_or(p);
                match head {
                    "term" if p.ends_with("start") => "lic-start".to_string(),
                    "term" => "lic-end".to_string(),
                    "kind" | "licensee" | "start" | "end" | "territories" | "scopes" | "fee" => format!("lic-{head}"),
                    _ => "lic-form".to_string(),
                }
            };
            let top = match e.code {
                "party_not_found" => "lic-licensee",
                "licence_conflict" | "pledgee_consent_required" => "lic-kind",
                _ => "lic-form",
            };
            refused(Working { st: &st, l, user: &user, secret: &secret, id }, Sent::Licence(Box::new(f)), &e, &map, top)
                .await
        }
    }
}

async fn terminate_licence(
    State(st): State<Arc<AppState>>,
    Path((id, lid)): Path<(Uuid, Uuid)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<TextForm>,
) -> Response {
    let (l, user, secret, _) = match posted(&st, &headers, &q, id, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let op = Operation::TerminateLicence { licence_id: lid, reasons: f.text.trim().to_string() };
    match crate::operations::operate(&st, id, op, &actor_of(&user)).await {
        Ok(_) => done(id, "licences"),
        Err(e) => {
            let w = Working { st: &st, l, user: &user, secret: &secret, id };
            refused(w, Sent::Nothing, &e, &|_| "lic-form".into(), "lic-form").await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct TransactionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "tx-kind")]
    kind: String,
    #[serde(default, rename = "tx-amount")]
    amount: String,
    #[serde(default, rename = "tx-occurred_on")]
    occurred_on: String,
    #[serde(default, rename = "tx-counterparty")]
    counterparty: String,
    #[serde(default, rename = "tx-licence")]
    licence: String,
    #[serde(default, rename = "tx-note")]
    note: String,
}

async fn transaction(
    State(st): State<Arc<AppState>>,
    Path(id): Path<Uuid>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<TransactionForm>,
) -> Response {
    let (l, user, secret, _) = match posted(&st, &headers, &q, id, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let kind = TransactionKind::ALL.into_iter().find(|k| k.as_str() == f.kind);
    let result = match kind {
        None => Err(ApiError::validation(vec![FieldError::new("kind", "invalid_choice", "choose a kind")])),
        Some(kind) => {
            let req = TransactionRequest {
                kind,
                amount: Amount::Text(f.amount.clone()),
                occurred_on: f.occurred_on.clone(),
                counterparty: f.counterparty.trim().to_string(),
                licence_id: f.licence.parse().ok(),
                note: f.note.trim().to_string(),
            };
            crate::api::holdings::book_transaction_as(&st, &actor_of(&user), id, req).await.map(|_| ())
        }
    };
    match result {
        Ok(()) => done(id, "transactions"),
        Err(e) => {
            let map = |p: &str| match p {
                "kind" | "amount" | "occurred_on" | "counterparty" | "note" => format!("tx-{p}"),
                "licence_id" => "tx-licence".to_string(),
                _ => "tx-form".to_string(),
            };
            let top = if e.code == "licence_not_found" { "tx-licence" } else { "tx-form" };
            refused(
                Working { st: &st, l, user: &user, secret: &secret, id },
                Sent::Transaction(Box::new(f)),
                &e,
                &map,
                top,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The page

fn hidden_csrf(csrf: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">")
}

async fn render(
    st: &AppState,
    l: Lang,
    user: &UserRecord,
    secret: &str,
    app: &Application,
    sent: Sent,
    errors: &Errors,
) -> Response {
    let csrf = csrf_of(secret);
    let id = app.id;
    let actor = actor_of(user);
    let mut body = format!(
        "<p><a href=\"/me\">{}</a></p><h1>{} <span class=\"badge\" id=\"status\">{}</span></h1>",
        l.tt("← 我的登记", "← My registry"),
        esc(&app.form.product_name),
        crate::web::layout::state_label(app.state, l),
    );
    if matches!(sent, Sent::Receipt) {
        body.push_str(&receipt(st, l, app).await);
    }
    let deadline = crate::web::layout::deadline_label(app, l, &st.calendar());
    if !deadline.is_empty() {
        body.push_str(&format!("<p id=\"deadline\"><strong>{}</strong></p>", esc(&deadline)));
    }
    if app.is_public() {
        body.push_str(&format!(
            "<p><a href=\"/records/{id}\">{}</a></p>",
            l.tt("查看公开记录", "See the public record")
        ));
    }
    if let Some(r) = &app.registration {
        body.push_str(&format!(
            "<p>{} <strong>{}</strong> · <a href=\"/api/v1/public/records/{id}/certificate.pdf\">{}</a> · <a href=\"/api/v1/public/records/{id}/certificate\">{}</a></p>",
            l.tt("登记号", "Registration number"),
            esc(&r.registration_number.to_string()),
            l.tt("下载证书（PDF）", "Certificate (PDF)"),
            l.tt("证书（JSON，可离线核验）", "Certificate (JSON, verifiable offline)"),
        ));
    }

    // Where the filing stands and what the examiners said.
    if let Some(c) = app.correction.as_ref().filter(|_| app.state == Status::CorrectionRequested) {
        body.push_str(&format!(
            "<div class=\"notice\" id=\"correction\"><h2>{}</h2><p>{}</p>{}<p><strong>{} {}</strong></p></div>",
            l.tt("审查员要求补正", "The examiner asks for corrections"),
            esc(&c.reasons),
            if c.items.is_empty() {
                String::new()
            } else {
                format!("<ul>{}</ul>", c.items.iter().map(|i| format!("<li>{}</li>", esc(i))).collect::<String>())
            },
            l.tt("补正截止", "Correct and resubmit by"),
            shown::date_zoned(c.due, l.en)
        ));
    }
    if !app.decisions.is_empty() {
        let mut rows = String::new();
        for d in &app.decisions {
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                shown::date(d.decided_at),
                esc(&crate::web::layout::event_label(&d.action, l.en)),
                esc(&d.examiner_name),
                esc(&d.reasons)
            ));
        }
        body.push_str(&format!(
            "<h2>{}</h2><div class=\"scroll\"><table class=\"list\" id=\"decisions\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table></div>",
            l.tt("审查决定", "Decisions"),
            shown::zoned(l.tt("日期", "Date"), l.en),
            l.tt("决定", "Decision"),
            l.tt("审查员", "Examiner"),
            l.tt("理由", "Reasons")
        ));
    }

    // Objections, with a response form while the applicant may answer.
    if !app.objections.is_empty() {
        body.push_str(&format!("<h2 id=\"objections\">{}</h2>", l.tt("异议", "Objections")));
        for o in &app.objections {
            body.push_str(&format!(
                "<section class=\"card\"><p><strong>{}</strong> · {} · {} {}</p><p>{}</p>",
                esc(&o.objector_name),
                shown::date_zoned(o.filed_at, l.en),
                l.tt("决定期限", "decision due"),
                shown::date_zoned(o.decide_by, l.en),
                esc(&o.grounds)
            ));
            if let Some(r) = &o.response {
                body.push_str(&format!("<p><em>{}</em> {}</p>", l.tt("我的答复：", "My response:"), esc(r)));
            }
            if let Some(d) = &o.decision {
                let outcome = match d.outcome {
                    dipr_domain::application::ObjectionOutcome::Upheld => l.tt("异议成立", "Upheld"),
                    dipr_domain::application::ObjectionOutcome::Dismissed => l.tt("异议不成立", "Dismissed"),
                };
                body.push_str(&format!("<p><strong>{outcome}</strong> — {}</p>", esc(&d.reasons)));
            } else if app.state == Status::ObjectionPending && o.response.is_none() {
                let field = format!("response-{}", o.id);
                let typed = match &sent {
                    Sent::Response(oid, t) if *oid == o.id => t.as_str(),
                    _ => "",
                };
                body.push_str(&format!(
                    "<form method=\"post\" action=\"/me/filings/{id}/objections/{}\" class=\"stack\" novalidate>{}{}<button>{}</button></form>",
                    o.id,
                    hidden_csrf(&csrf),
                    textarea_named(&field, "text", l.tt("答复异议", "Answer the objection"), typed, errors),
                    l.tt("提交答复", "Send the answer")
                ));
            }
            body.push_str("</section>");
        }
    }

    // Editing (drafts and filings sent back for correction).
    if matches!(app.state, Status::Draft | Status::CorrectionRequested) {
        let f = match &sent {
            Sent::Edit(f) => f,
            _ => &FileForm::of(&app.form),
        };
        let (go, response) = if app.state == Status::Draft {
            (l.tt("提交申请", "Submit the application"), String::new())
        } else {
            (
                l.tt("重新提交", "Resubmit"),
                textarea("response", l.tt("补正说明（修改了哪些内容）", "What you corrected"), &f.response, errors),
            )
        };
        let fields = match form_fields(st, l, f, errors).await {
            Ok(fields) => fields,
            Err(r) => return r,
        };
        body.push_str(&format!(
            "<h2 id=\"edit\">{}</h2>{}<form method=\"post\" action=\"/me/filings/{id}\" class=\"stack\" novalidate>{}{}{response}\
             <div class=\"actions\"><button name=\"intent\" value=\"submit\" id=\"submit-filing\">{go}</button>\
             <button name=\"intent\" value=\"save\" class=\"secondary\" id=\"save-draft\">{}</button></div></form>",
            l.tt("申请内容", "The application"),
            errors.html_at("form"),
            hidden_csrf(&csrf),
            fields,
            l.tt("保存", "Save")
        ));
        body.push_str(&fingerprint_section(l, app, &csrf, &sent, errors));
    } else if let Some(c) = &app.form.content_commitment {
        body.push_str(&format!(
            "<h2 id=\"fingerprint\">{}</h2><p><code>{}</code></p>",
            l.tt("数据指纹（内容承诺）", "Data fingerprint (content commitment)"),
            esc(&c.root)
        ));
    }

    // The holder's work on a registered product.
    if app.state == Status::Registered && require_holder(&actor, app).is_ok() {
        body.push_str(&licence_section(l, app, &csrf, &sent, errors));
        body.push_str(&transaction_section(st, l, app, &csrf, &sent, errors).await);
    }

    let typed = match &sent {
        Sent::Withdraw(t) => t.as_str(),
        _ => "",
    };
    let end = |h2: &str, warning: &str, reason: Option<&str>, button_id: &str, button: &str| {
        format!(
            "<h2>{h2}</h2><p class=\"muted\">{warning}</p><form method=\"post\" action=\"/me/filings/{id}/withdraw\" class=\"stack\" novalidate>{}\
             <input type=\"hidden\" name=\"version\" value=\"{}\">{}{}<button class=\"danger\" id=\"{button_id}\">{button}</button></form>",
            hidden_csrf(&csrf),
            app.version,
            reason.map(|label| textarea_named("reason", "text", label, typed, errors)).unwrap_or_default(),
            crate::web::layout::confirm_box(l, "confirm", errors.html_at("confirm")),
        )
    };
    if app.state == Status::Draft {
        body.push_str(&end(
            l.tt("丢弃草稿", "Discard the draft"),
            l.tt(
                "草稿从未提交：丢弃后不再显示在您的列表中（操作记录保留），不影响以后就同一产品重新申请。",
                "The draft was never submitted: once discarded it leaves your list (the audit trail keeps it), and the product may be filed again at any time.",
            ),
            None,
            "discard",
            l.tt("丢弃草稿", "Discard the draft"),
        ));
    } else if !app.state.is_final() {
        body.push_str(&end(
            l.tt("撤回申请", "Withdraw the application"),
            l.tt("撤回后三个月内不得就同一产品重新申请。", "The same product may not be filed again for three months."),
            Some(l.tt("撤回理由", "Reason")),
            "withdraw",
            l.tt("撤回", "Withdraw"),
        ));
    } else if app.state == Status::Registered && require_holder(&actor, app).is_ok() {
        body.push_str(&end(
            l.tt("注销登记", "Cancel the registration"),
            l.tt(
                "注销后证书失效并记入公开账本；已质押的产品须经全部质权人同意。",
                "The certificate stops being valid and the cancellation is logged publicly; a pledged product needs every pledgee's consent.",
            ),
            Some(l.tt("注销理由", "Reason")),
            "cancel-registration",
            l.tt("注销登记", "Cancel the registration"),
        ));
    }
    layout(l, &app.form.product_name, "/me", &body, &["/assets/file-input.js"])
}

/// A textarea whose form name differs from its id (several forms on one page post `text`).
fn textarea_named(id: &str, name: &str, label: &str, value: &str, errors: &Errors) -> String {
    format!(
        "<label for=\"{id}\">{label}</label><textarea id=\"{id}\" name=\"{name}\" rows=\"3\" aria-describedby=\"err-{id}\">{}</textarea>{}",
        esc(value),
        errors.html_at(id)
    )
}

fn fingerprint_section(l: Lang, app: &Application, csrf: &str, sent: &Sent, errors: &Errors) -> String {
    let current = app.form.content_commitment.as_ref().map_or_else(
        || format!("<p class=\"muted\">{}</p>", l.tt("尚未提交数据指纹。", "No fingerprint filed yet.")),
        |c| {
            format!(
                "<p>{} <code id=\"commitment-root\">{}</code></p>",
                l.tt("当前内容承诺：", "Current commitment:"),
                esc(&c.root)
            )
        },
    );
    let typed = match sent {
        Sent::Manifest(t) => t.as_str(),
        _ => "",
    };
    format!(
        "<h2 id=\"fingerprint\">{h}</h2><p>{lead}</p>{current}\
         <form method=\"post\" action=\"/me/filings/{id}/manifest\" class=\"stack\" novalidate>{csrf}\
         <label for=\"manifest-file\">{file_l}</label><input type=\"file\" id=\"manifest-file\" data-fill=\"manifest\" accept=\".json,application/json\">\
         <label for=\"manifest\">{text_l}</label><textarea id=\"manifest\" name=\"manifest\" rows=\"6\" spellcheck=\"false\" aria-describedby=\"err-manifest\">{typed}</textarea>{err}\
         <button id=\"file-manifest\">{go}</button></form>",
        h = l.tt("数据指纹", "Data fingerprint"),
        lead = l.tt(
            "在本机运行 dipr fingerprint --discovery-key …（数据不离开您的电脑），再选择生成的清单文件。",
            "Run dipr fingerprint --discovery-key … on your own machine (the data never leaves it), then choose the manifest it wrote."
        ),
        id = app.id,
        csrf = hidden_csrf(csrf),
        file_l = l.tt("选择清单文件（JSON）", "Choose the manifest file (JSON)"),
        text_l = l.tt("或粘贴清单内容", "Or paste the manifest"),
        typed = esc(typed),
        err = errors.html_at("manifest"),
        go = l.tt("提交数据指纹", "File the fingerprint"),
    )
}

fn licence_section(l: Lang, app: &Application, csrf: &str, sent: &Sent, errors: &Errors) -> String {
    let mut rows = String::new();
    for lic in app.holding.iter().flat_map(|h| &h.encumbrances.licences) {
        let end = if lic.is_active() {
            format!(
                "<form method=\"post\" action=\"/me/filings/{}/licences/{}/terminate\">{}<button class=\"secondary\" aria-label=\"{} {}\">{}</button></form>",
                app.id,
                lic.id,
                hidden_csrf(csrf),
                l.tt("终止许可", "End the licence to"),
                esc(&lic.licensee.name),
                l.tt("终止", "End")
            )
        } else {
            String::new()
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{} — {}</td><td>{}</td><td>{}</td><td>{end}</td></tr>",
            esc(&lic.licensee.name),
            licence_kind_label(lic.kind, l),
            lic.term.start,
            lic.term.end,
            lic.fee.map(|f| format!("¥{f}")).unwrap_or_default(),
            if lic.is_active() { l.tt("有效", "active") } else { l.tt("已终止", "ended") }
        ));
    }
    let empty = LicenceForm::default();
    let f = match sent {
        Sent::Licence(f) => f,
        _ => &empty,
    };
    let kinds = [
        ("", l.tt("请选择", "Choose").to_string()),
        ("non_exclusive", licence_kind_label(LicenceKind::NonExclusive, l).to_string()),
        ("sole", licence_kind_label(LicenceKind::Sole, l).to_string()),
        ("exclusive", licence_kind_label(LicenceKind::Exclusive, l).to_string()),
    ];
    format!(
        "<h2 id=\"licences\">{h}</h2><div class=\"scroll\"><table class=\"list\" id=\"licence-list\"><tr><th>{c1}</th><th>{c2}</th><th>{c3}</th><th>{c4}</th><th>{c5}</th><th><span class=\"sr-only\">{c6}</span></th></tr>{rows}</table></div>\
         <h3>{add}</h3>{top}<form method=\"post\" action=\"/me/filings/{id}/licences\" class=\"stack\" novalidate>{csrf}{a}{b}{c}{d}{e}{g}{i}<button id=\"grant-licence\">{go}</button></form>",
        h = l.tt("许可", "Licences"),
        c1 = l.tt("被许可人", "Licensee"),
        c2 = l.tt("类型", "Kind"),
        c3 = l.tt("期限", "Term"),
        c4 = l.tt("许可费", "Fee"),
        c5 = l.tt("状态", "Status"),
        c6 = l.tt("操作", "Actions"),
        add = l.tt("登记新的许可", "Register a licence"),
        top = errors.html_at("lic-form"),
        id = app.id,
        csrf = hidden_csrf(csrf),
        a = input("lic-licensee", l.tt("被许可人统一社会信用代码 / 身份证号码", "Licensee's credit code / ID number"), &f.licensee, errors, "text"),
        b = select("lic-kind", l.tt("许可类型", "Kind"), &f.kind, &kinds, errors),
        c = input("lic-start", l.tt("起始日（YYYY-MM-DD）", "Starts (YYYY-MM-DD)"), &f.start, errors, "text"),
        d = input("lic-end", l.tt("终止日（YYYY-MM-DD）", "Ends (YYYY-MM-DD)"), &f.end, errors, "text"),
        e = input("lic-territories", l.tt("地域（逗号分隔，空为不限）", "Territories (comma-separated; empty: everywhere)"), &f.territories, errors, "text"),
        g = input("lic-scopes", l.tt("使用范围（逗号分隔，空为不限）", "Scopes of use (comma-separated; empty: every use)"), &f.scopes, errors, "text"),
        i = input("lic-fee", l.tt("许可费（元，可不公开）", "Fee in yuan (optional)"), &f.fee, errors, "text"),
        go = l.tt("登记许可", "Register the licence"),
    )
}

pub(crate) fn licence_kind_label(k: LicenceKind, l: Lang) -> &'static str {
    match k {
        LicenceKind::Exclusive => l.tt("独占许可", "Exclusive"),
        LicenceKind::Sole => l.tt("排他许可", "Sole"),
        LicenceKind::NonExclusive => l.tt("普通许可", "Non-exclusive"),
    }
}

fn transaction_kind_label(k: TransactionKind, l: Lang) -> &'static str {
    match k {
        TransactionKind::LicenceFee => l.tt("许可费", "Licence fee"),
        TransactionKind::Trade => l.tt("交易", "Trade"),
        TransactionKind::ServiceFee => l.tt("服务费", "Service fee"),
    }
}

async fn transaction_section(
    st: &AppState,
    l: Lang,
    app: &Application,
    csrf: &str,
    sent: &Sent,
    errors: &Errors,
) -> String {
    let booked = st.store.transactions(app.id, Page::new(1, 20)).await.map(|p| p.items).unwrap_or_default();
    let mut rows = String::new();
    for t in &booked {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"num\">¥{}</td><td>{}</td></tr>",
            t.occurred_on,
            transaction_kind_label(t.kind, l),
            t.amount,
            esc(&t.counterparty)
        ));
    }
    let empty = TransactionForm::default();
    let f = match sent {
        Sent::Transaction(f) => f,
        _ => &empty,
    };
    let mut kinds = vec![("", l.tt("请选择", "Choose").to_string())];
    kinds.extend(TransactionKind::ALL.iter().map(|k| (k.as_str(), transaction_kind_label(*k, l).to_string())));
    let mut licences = vec![(String::new(), l.tt("无", "None").to_string())];
    for lic in app.holding.iter().flat_map(|h| &h.encumbrances.licences) {
        licences.push((lic.id.to_string(), format!("{} ({} — {})", lic.licensee.name, lic.term.start, lic.term.end)));
    }
    let licences: Vec<(&str, String)> = licences.iter().map(|(v, t)| (v.as_str(), t.clone())).collect();
    format!(
        "<h2 id=\"transactions\">{h}</h2><p class=\"muted\">{lead}</p><div class=\"scroll\"><table class=\"list\" id=\"transaction-list\"><tr><th>{c1}</th><th>{c2}</th><th>{c3}</th><th>{c4}</th></tr>{rows}</table></div>\
         <h3>{add}</h3>{top}<form method=\"post\" action=\"/me/filings/{id}/transactions\" class=\"stack\" novalidate>{csrf}{a}{b}{c}{d}{e}{g}<button id=\"book-transaction\">{go}</button></form>",
        h = l.tt("交易与收入", "Transactions and income"),
        lead = l.tt("金额计入公开统计；交易对方不公开。", "Amounts count in the public statistics; counterparties stay private."),
        c1 = l.tt("日期", "Date"),
        c2 = l.tt("类型", "Kind"),
        c3 = l.tt("金额", "Amount"),
        c4 = l.tt("交易对方", "Counterparty"),
        add = l.tt("登记一笔交易", "Book a transaction"),
        top = errors.html_at("tx-form"),
        id = app.id,
        csrf = hidden_csrf(csrf),
        a = select("tx-kind", l.tt("类型", "Kind"), &f.kind, &kinds, errors),
        b = input("tx-amount", l.tt("金额（元）", "Amount (yuan)"), &f.amount, errors, "text"),
        c = input("tx-occurred_on", l.tt("日期（YYYY-MM-DD）", "Date (YYYY-MM-DD)"), &f.occurred_on, errors, "text"),
        d = input("tx-counterparty", l.tt("交易对方", "Counterparty"), &f.counterparty, errors, "text"),
        e = select("tx-licence", l.tt("对应许可（许可费）", "Licence (for a licence fee)"), &f.licence, &licences, errors),
        g = input("tx-note", l.tt("备注", "Note"), &f.note, errors, "text"),
        go = l.tt("登记交易", "Book it"),
    )
}
