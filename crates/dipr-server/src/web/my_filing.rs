//! One filing, as its applicant (or, once registered, its holder) works on it: edit and submit a draft,
//! file the fingerprint manifest, answer a correction request, answer objections, withdraw; and for a
//! registered product register and end licences, book transactions, and cancel the registration.
//!
//! Every post re-renders the same page on a refusal, with the errors next to the fields of the form that
//! was sent and what was typed kept; every other form on the page starts fresh.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use dipr_domain::access::require_holder;
use dipr_domain::access::Actor;
use dipr_domain::application::{Application, ApplicationForm, ObjectionOutcome, State as Status};
use dipr_domain::encumbrance::LicenceKind;
use dipr_domain::holding::{Operation, TransactionKind};
use dipr_domain::lifecycle::Command;
use dipr_domain::{shown, FieldError};
use dipr_store::{Page, UserRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::web::filing::{check_submission, choices, field_of, form_fields, Choices, FileForm};
use crate::web::form::Errors;
use crate::web::i18n::Lang;
use crate::web::layout::{deadline_label, error_page, event_label, filters, message_page, state_label, Html};
use crate::web::session::{csrf_of, posted, signed_in, SignedIn};
use dipr_registry::audit::actor_of;
use dipr_registry::holdings::LicenceRequest;
use dipr_registry::holdings::TransactionRequest;
use dipr_registry::input::Amount;
use dipr_registry::Error;
use dipr_registry::Registry;

pub fn routes() -> Router<Arc<Registry>> {
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
    st: &Registry,
    headers: &HeaderMap,
    id: Uuid,
    l: Lang,
) -> Result<(UserRecord, String, Application), Response> {
    let (user, secret) = signed_in(st, headers, l).await?;
    let app = filing_of(st, &user, id, l).await?;
    Ok((user, secret, app))
}

/// The filing, if this user may work on it: the page and every post to it ask this first.
async fn filing_of(st: &Registry, user: &UserRecord, id: Uuid, l: Lang) -> Result<Application, Response> {
    match st.store.application(id).await {
        Ok(Some(app)) if may_work_on(&actor_of(user), &app) => Ok(app),
        Ok(_) => Err(message_page(l, StatusCode::NOT_FOUND, &l.t("my-filing-not-found"))),
        Err(e) => Err(message_page(l, StatusCode::INTERNAL_SERVER_ERROR, &Error::from(e).message)),
    }
}

posted!(ManifestForm, TextForm, EndForm, LicenceForm, TransactionForm);

/// The filing page's address: the language, and whether to show the receipt of the action just done.
#[derive(Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
    receipt: Option<String>,
}

async fn page(
    State(st): State<Arc<Registry>>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    // A mistyped address is a missing filing, not a malformed request.
    let Ok(id) = Uuid::parse_str(&id) else {
        return message_page(l, StatusCode::NOT_FOUND, &l.t("my-filing-not-found"));
    };
    match open(&st, &headers, id, l).await {
        Ok((user, secret, app)) => {
            let sent = if q.receipt.is_some() { Sent::Receipt } else { Sent::Nothing };
            render(&st, l, &user, &secret, &app, sent, &Errors::default()).await
        }
        Err(r) => r,
    }
}

/// Who is working on which filing, for re-rendering a refused form.
struct Working<'a> {
    st: &'a Registry,
    l: Lang,
    user: &'a UserRecord,
    secret: &'a str,
    id: Uuid,
}

/// Re-render after a refusal, with the status the refusal carries.
async fn refused(w: Working<'_>, sent: Sent, e: &Error, map: &(dyn Fn(&str) -> String + Sync), top: &str) -> Response {
    let Working { st, l, user, secret, id } = w;
    let errors = Errors::of(e, l, map, top);
    let app = match st.store.application(id).await {
        Ok(Some(app)) => app,
        Ok(None) => return message_page(l, StatusCode::NOT_FOUND, &l.t("my-filing-gone")),
        Err(e) => return message_page(l, StatusCode::INTERNAL_SERVER_ERROR, &Error::from(e).message),
    };
    let mut r = render(st, l, user, secret, &app, sent, &errors).await;
    *r.status_mut() = crate::web::layout::status_of(e);
    r
}

/// After an action: the filing page with the action's receipt.
fn done(id: Uuid, anchor: &str) -> Response {
    Redirect::to(&format!("/me/filings/{id}?receipt=1#{anchor}")).into_response()
}

/// What was just done, when (Beijing time), by whom, and where the public log holds it: the filing's latest
/// event (none before the first).
async fn receipt(st: &Registry, l: Lang, app: &Application) -> Option<Receipt> {
    let events = match st.store.events("application", &app.id.to_string()).await {
        Ok(e) => e,
        Err(e) => return Some(Receipt::Unreadable(Error::from(e).message)),
    };
    let last = events.last()?;
    let logged = match st.store.log_indexes(&[last.id]).await {
        Ok(found) => found.get(&last.id).map(|i| l.t1("my-filing-receipt-logged", "index", i.to_string())),
        Err(e) => Some(Error::from(e).message),
    };
    Some(Receipt::Done(Done {
        event: event_label(&last.kind, l),
        at: shown::minute_zoned(last.at, l.en),
        actor: last.actor_name.clone(),
        number: last.id,
        logged,
    }))
}

// ---------------------------------------------------------------------------------------------------
// Editing, submitting, answering a correction request

async fn edit(
    State(st): State<Arc<Registry>>,
    Path(id): Path<Uuid>,
    SignedIn { l, user, secret, form: f, .. }: SignedIn<FileForm>,
) -> Response {
    let app = match filing_of(&st, &user, id, l).await {
        Ok(app) => app,
        Err(r) => return r,
    };
    let result = match f.to_form(app.form.clone()) {
        Ok(form) => save_and_send(&st, &user, &app, form, &f).await,
        Err(e) => Err(e),
    };
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
    st: &Registry,
    user: &UserRecord,
    app: &Application,
    form: ApplicationForm,
    f: &FileForm,
) -> dipr_registry::Result<()> {
    if f.saves_draft() {
        return dipr_registry::filings::edit_application(st, user, app.id, form).await.map(|_| ());
    }
    check_submission(st, &form).await?;
    let command = match app.state {
        Status::Draft => Command::Submit,
        Status::CorrectionRequested => {
            if f.response.trim().is_empty() {
                return Err(Error::validation(vec![FieldError::new("response", "required", "say what was corrected")]));
            }
            Command::Resubmit { response: f.response.clone() }
        }
        _ => return Err(Error::new("illegal_transition", "this filing cannot be edited now")),
    };
    dipr_registry::filings::edit_and_send(st, user, app.id, form, command).await.map(|_| ())
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
    State(st): State<Arc<Registry>>,
    Path(id): Path<Uuid>,
    SignedIn { l, user, secret, form: f, .. }: SignedIn<ManifestForm>,
) -> Response {
    if let Err(r) = filing_of(&st, &user, id, l).await {
        return r;
    }
    let result = match serde_json::from_str::<dipr_fingerprint::Manifest>(&f.manifest) {
        Err(e) if f.manifest.trim().is_empty() => {
            Err(Error::validation(vec![FieldError::new("manifest", "required", e.to_string())]))
        }
        Err(e) => Err(Error::new("invalid_manifest", format!("not a fingerprint manifest: {e}"))),
        Ok(m) => dipr_registry::fingerprints::attach(&st, &user, id, m).await.map(|_| ()),
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
    State(st): State<Arc<Registry>>,
    Path(id): Path<Uuid>,
    SignedIn { l, user, secret, form: f, .. }: SignedIn<EndForm>,
) -> Response {
    let app = match filing_of(&st, &user, id, l).await {
        Ok(app) => app,
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
        dipr_registry::filings::execute_on(&st, id, version, command, &actor_of(&user)).await
    } else {
        Err(Error::validation(problems))
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
    State(st): State<Arc<Registry>>,
    Path((id, oid)): Path<(Uuid, Uuid)>,
    SignedIn { l, user, secret, form: f, .. }: SignedIn<TextForm>,
) -> Response {
    if let Err(r) = filing_of(&st, &user, id, l).await {
        return r;
    }
    let result = if f.text.trim().is_empty() {
        Err(Error::validation(vec![FieldError::new("response", "required", "write a response")]))
    } else {
        let cmd = Command::RespondToObjection { objection_id: oid, response: f.text.clone() };
        dipr_registry::filings::execute(&st, id, cmd, &actor_of(&user)).await
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
    State(st): State<Arc<Registry>>,
    Path(id): Path<Uuid>,
    SignedIn { l, user, secret, form: f, .. }: SignedIn<LicenceForm>,
) -> Response {
    if let Err(r) = filing_of(&st, &user, id, l).await {
        return r;
    }
    let kind = match f.kind.as_str() {
        "exclusive" => Some(LicenceKind::Exclusive),
        "sole" => Some(LicenceKind::Sole),
        "non_exclusive" => Some(LicenceKind::NonExclusive),
        _ => None,
    };
    let result = match kind {
        None => Err(Error::validation(vec![FieldError::new("kind", "invalid_choice", "choose a licence kind")])),
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
            dipr_registry::holdings::grant_licence(&st, &actor_of(&user), id, req).await.map(|_| ())
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
    State(st): State<Arc<Registry>>,
    Path((id, lid)): Path<(Uuid, Uuid)>,
    SignedIn { l, user, secret, form: f, .. }: SignedIn<TextForm>,
) -> Response {
    if let Err(r) = filing_of(&st, &user, id, l).await {
        return r;
    }
    let op = Operation::TerminateLicence { licence_id: lid, reasons: f.text.trim().to_string() };
    match dipr_registry::holdings::operate(&st, id, op, &actor_of(&user)).await {
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
    State(st): State<Arc<Registry>>,
    Path(id): Path<Uuid>,
    SignedIn { l, user, secret, form: f, .. }: SignedIn<TransactionForm>,
) -> Response {
    if let Err(r) = filing_of(&st, &user, id, l).await {
        return r;
    }
    let kind = TransactionKind::ALL.into_iter().find(|k| k.as_str() == f.kind);
    let result = match kind {
        None => Err(Error::validation(vec![FieldError::new("kind", "invalid_choice", "choose a kind")])),
        Some(kind) => {
            let req = TransactionRequest {
                kind,
                amount: Amount::Text(f.amount.clone()),
                occurred_on: f.occurred_on.clone(),
                counterparty: f.counterparty.trim().to_string(),
                licence_id: f.licence.parse().ok(),
                note: f.note.trim().to_string(),
            };
            dipr_registry::holdings::book_transaction(&st, &actor_of(&user), id, req).await.map(|_| ())
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

/// The receipt of the action just done, or why it cannot be shown.
enum Receipt {
    Unreadable(String),
    Done(Done),
}

struct Done {
    event: String,
    at: String,
    actor: String,
    number: i64,
    /// Where the public log holds the event, or why that cannot be said.
    logged: Option<String>,
}

struct CorrectionView<'a> {
    reasons: &'a str,
    items: &'a [String],
    due: String,
}

struct DecisionRow<'a> {
    date: String,
    action: String,
    examiner: &'a str,
    reasons: &'a str,
}

struct ObjectionCard<'a> {
    objector: &'a str,
    filed: String,
    decide_by: String,
    grounds: &'a str,
    response: Option<&'a str>,
    decision: Option<Outcome<'a>>,
    answer: Option<Answer>,
}

struct Outcome<'a> {
    outcome: String,
    reasons: &'a str,
}

/// The form answering an objection: its address, its field's id, and what was typed.
struct Answer {
    action: String,
    field: String,
    typed: String,
}

/// Editing a draft or a filing sent back for correction, and filing its fingerprint.
struct Edit {
    draft: bool,
    fields: Html,
    response: String,
    manifest: String,
}

struct LicenceRow {
    licensee: String,
    kind: String,
    start: String,
    end: String,
    fee: Option<String>,
    /// Where an active licence is ended.
    end_action: Option<String>,
}

struct TransactionRow {
    occurred_on: String,
    kind: String,
    amount: String,
    counterparty: String,
}

/// The holder's licences and transactions, with their forms.
struct Holding {
    licences: Vec<LicenceRow>,
    licence_kinds: Choices,
    lic: LicenceForm,
    transactions: Vec<TransactionRow>,
    transaction_kinds: Choices,
    licence_choices: Choices,
    tx: TransactionForm,
}

/// Discarding, withdrawing or cancelling: the form is the same, the words differ.
struct End {
    heading: String,
    warning: String,
    /// The reason's label, when a reason is needed.
    reason: Option<String>,
    button_id: &'static str,
    button: String,
}

#[derive(Template)]
#[template(path = "my_filing/page.html")]
struct FilingPage<'a> {
    l: Lang,
    errs: &'a Errors,
    csrf: String,
    id: Uuid,
    /// The filing's address: its forms post to it and below it.
    url: String,
    version: i64,
    product: &'a str,
    state: String,
    receipt: Option<Receipt>,
    deadline: String,
    public: bool,
    registration_number: Option<String>,
    correction: Option<CorrectionView<'a>>,
    date_heading: String,
    decisions: Vec<DecisionRow<'a>>,
    objections: Vec<ObjectionCard<'a>>,
    edit: Option<Edit>,
    /// The applicant's copy of what was filed, once it can no longer be edited.
    filed: Vec<(String, String)>,
    /// What the filed manifest says (see `manifest.rs`); the root first.
    commitment: Vec<(String, String)>,
    holder: Option<Holding>,
    end: Option<End>,
    /// The withdrawal or cancellation reason that was typed.
    reason: String,
}

async fn render(
    st: &Registry,
    l: Lang,
    user: &UserRecord,
    secret: &str,
    app: &Application,
    sent: Sent,
    errs: &Errors,
) -> Response {
    let id = app.id;
    let actor = actor_of(user);
    let holds = app.state == Status::Registered && require_holder(&actor, app).is_ok();
    // What was sent and refused goes back into its form; every other form starts fresh.
    let (mut edited, mut manifest, mut reason, mut answered) = (None, String::new(), String::new(), None);
    let (mut lic, mut tx, mut show_receipt) = (LicenceForm::default(), TransactionForm::default(), false);
    match sent {
        Sent::Nothing => {}
        Sent::Receipt => show_receipt = true,
        Sent::Edit(f) => edited = Some(f),
        Sent::Manifest(t) => manifest = t,
        Sent::Withdraw(t) => reason = t,
        Sent::Response(oid, t) => answered = Some((oid, t)),
        Sent::Licence(f) => lic = *f,
        Sent::Transaction(f) => tx = *f,
    }
    let receipt = if show_receipt { receipt(st, l, app).await } else { None };

    let correction = app
        .correction
        .as_ref()
        .filter(|_| app.state == Status::CorrectionRequested)
        .map(|c| CorrectionView { reasons: &c.reasons, items: &c.items, due: shown::date_zoned(c.due, l.en) });
    let decisions = app
        .decisions
        .iter()
        .map(|d| DecisionRow {
            date: shown::date(d.decided_at),
            action: event_label(&d.action, l),
            examiner: &d.examiner_name,
            reasons: &d.reasons,
        })
        .collect();
    let objections = objection_cards(app, l, answered);

    let edit = if matches!(app.state, Status::Draft | Status::CorrectionRequested) {
        let f = edited.unwrap_or_else(|| Box::new(FileForm::of(&app.form)));
        let fields = match form_fields(st, l, &f, errs).await {
            Ok(fields) => fields,
            Err(r) => return r,
        };
        Some(Edit { draft: app.state == Status::Draft, fields, response: f.response.clone(), manifest })
    } else {
        None
    };
    let filed = if edit.is_none() {
        let industry = match st.store.industries().await {
            Ok(known) => known
                .into_iter()
                .find(|i| i.code == app.form.industry)
                .map_or_else(|| app.form.industry.clone(), |i| if l.en { i.name_en } else { i.name_zh }),
            Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        };
        crate::web::filed::rows(&app.form, &industry, l)
    } else {
        Vec::new()
    };
    let holder = if holds {
        match holding(st, l, app, lic, tx).await {
            Ok(h) => Some(h),
            Err(r) => return r,
        }
    } else {
        None
    };

    let end = end_form(app, l, holds);

    let view = FilingPage {
        l,
        errs,
        csrf: csrf_of(secret),
        id,
        url: format!("/me/filings/{id}"),
        version: app.version,
        product: &app.form.product_name,
        state: state_label(app.state, l),
        receipt,
        deadline: deadline_label(app, l, &st.calendar()),
        public: app.is_public(),
        registration_number: app.registration.as_ref().map(|r| r.registration_number.to_string()),
        correction,
        date_heading: shown::zoned(&l.t("my-filing-date"), l.en),
        decisions,
        objections,
        edit,
        filed,
        commitment: crate::web::manifest::of_application(st, app, l).await,
        holder,
        end,
        reason,
    };
    // `page` is this file's handler; the layout's function renders.
    crate::web::layout::page(l, &app.form.product_name, "/me", &view, &["/assets/file-input.js"])
}

/// The objections, each with the applicant's answer form while one is due (`answered`: what was sent).
fn objection_cards(app: &Application, l: Lang, answered: Option<(Uuid, String)>) -> Vec<ObjectionCard<'_>> {
    let id = app.id;
    app.objections
        .iter()
        .map(|o| ObjectionCard {
            objector: &o.objector_name,
            filed: shown::date_zoned(o.filed_at, l.en),
            decide_by: shown::date_zoned(o.decide_by, l.en),
            grounds: &o.grounds,
            response: o.response.as_deref(),
            decision: o.decision.as_ref().map(|d| Outcome {
                outcome: match d.outcome {
                    ObjectionOutcome::Upheld => l.t("my-filing-upheld"),
                    ObjectionOutcome::Dismissed => l.t("my-filing-dismissed"),
                },
                reasons: &d.reasons,
            }),
            answer: (app.state == Status::ObjectionPending && o.response.is_none()).then(|| Answer {
                action: format!("/me/filings/{id}/objections/{}", o.id),
                field: format!("response-{}", o.id),
                typed: match &answered {
                    Some((oid, t)) if *oid == o.id => t.clone(),
                    _ => String::new(),
                },
            }),
        })
        .collect()
}

/// Discarding a draft, withdrawing an application, or (the holder) cancelling a registration.
fn end_form(app: &Application, l: Lang, holds: bool) -> Option<End> {
    if app.state == Status::Draft {
        Some(End {
            heading: l.t("my-filing-discard"),
            warning: l.t("my-filing-discard-warning"),
            reason: None,
            button_id: "discard",
            button: l.t("my-filing-discard"),
        })
    } else if !app.state.is_final() {
        Some(End {
            heading: l.t("my-filing-withdraw-heading"),
            warning: l.t("my-filing-withdraw-warning"),
            reason: Some(l.t("my-filing-withdraw-reason")),
            button_id: "withdraw",
            button: l.t("my-filing-withdraw"),
        })
    } else if holds {
        Some(End {
            heading: l.t("my-filing-cancel"),
            warning: l.t("my-filing-cancel-warning"),
            reason: Some(l.t("my-filing-cancel-reason")),
            button_id: "cancel-registration",
            button: l.t("my-filing-cancel"),
        })
    } else {
        None
    }
}

/// The holder's licences and booked transactions, with the forms to add more (`lic` and `tx` as sent).
async fn holding(
    st: &Registry,
    l: Lang,
    app: &Application,
    lic: LicenceForm,
    tx: TransactionForm,
) -> Result<Holding, Response> {
    let booked = match st.store.transactions(app.id, Page::new(1, 20)).await {
        Ok(p) => p.items,
        Err(e) => return Err(error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &Error::from(e).message)),
    };
    let granted: Vec<_> = app.holding.iter().flat_map(|h| &h.encumbrances.licences).collect();
    let licences = granted
        .iter()
        .map(|lic| LicenceRow {
            licensee: lic.licensee.name.clone(),
            kind: crate::web::layout::licence_kind_label(lic.kind, l),
            start: lic.term.start.to_string(),
            end: lic.term.end.to_string(),
            fee: lic.fee.map(|f| f.to_string()),
            end_action: lic.is_active().then(|| format!("/me/filings/{}/licences/{}/terminate", app.id, lic.id)),
        })
        .collect();
    let mut licence_choices = vec![(String::new(), l.t("my-filing-tx-no-licence"))];
    licence_choices.extend(
        granted
            .iter()
            .map(|lic| (lic.id.to_string(), format!("{} ({} — {})", lic.licensee.name, lic.term.start, lic.term.end))),
    );
    let mut transaction_kinds = vec![(String::new(), l.t("filing-choose"))];
    transaction_kinds
        .extend(TransactionKind::ALL.iter().map(|k| (k.as_str().to_string(), transaction_kind_label(*k, l))));
    Ok(Holding {
        licences,
        licence_kinds: choices([
            ("", l.t("filing-choose")),
            ("non_exclusive", crate::web::layout::licence_kind_label(LicenceKind::NonExclusive, l)),
            ("sole", crate::web::layout::licence_kind_label(LicenceKind::Sole, l)),
            ("exclusive", crate::web::layout::licence_kind_label(LicenceKind::Exclusive, l)),
        ]),
        lic,
        transactions: booked
            .iter()
            .map(|t| TransactionRow {
                occurred_on: t.occurred_on.to_string(),
                kind: transaction_kind_label(t.kind, l),
                amount: t.amount.to_string(),
                counterparty: t.counterparty.clone(),
            })
            .collect(),
        transaction_kinds,
        licence_choices,
        tx,
    })
}

fn transaction_kind_label(k: TransactionKind, l: Lang) -> String {
    match k {
        TransactionKind::LicenceFee => l.t("my-filing-tx-licence-fee"),
        TransactionKind::Trade => l.t("my-filing-tx-trade"),
        TransactionKind::ServiceFee => l.t("my-filing-tx-service-fee"),
    }
}
