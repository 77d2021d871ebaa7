//! Signed-in pages: sign-in and sign-out with a session cookie, and "my registry" — an applicant's filings
//! with their deadlines, certificates and pledges awaiting consent; an examiner's queue with deadlines;
//! a bank's pledge book (release, enforcement) and pledge form; everyone's notifications.
//!
//! The session cookie holds the same session token the API issues (stored hashed, revocable), and is
//! HttpOnly, SameSite=Lax, and Secure when the registry is served over https. Every form that changes
//! something carries a CSRF token derived from the session secret, which a cross-site page cannot read.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dipr_domain::access::Role;
use dipr_domain::application::State as Status;
use dipr_domain::encumbrance::PledgeStatus;
use dipr_domain::holding::Operation;
use dipr_domain::shown;
use dipr_store::{ApplicationFilter, Order, Page, StoreError, UserRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::web::form::Errors;
use crate::web::i18n::Lang;
use crate::web::layout::{deadline_label, error_page, event_label, filters, page, state_label, LangQuery, Pager};
use crate::web::session::{
    csrf_of, form_token, form_token_matches, posted, session, session_cookie, signed_in, with_cookie, SignedIn,
    SESSION_COOKIE,
};
use dipr_registry::accounts::token_hash;
use dipr_registry::audit::actor_of;
use dipr_registry::Registry;

const LOGIN_CSRF_COOKIE: &str = "dipr_login_csrf";

pub fn routes() -> Router<Arc<Registry>> {
    Router::new()
        .route("/signin", get(signin_form).post(signin))
        .route("/signout", post(signout))
        .route("/me", get(me))
        .route("/me/pledges/consent", post(consent))
        .route("/me/pledges", post(file_pledge))
        .route("/me/pledges/release", post(release_pledge))
        .route("/me/pledges/enforce", post(enforce_pledge))
}

#[derive(Template)]
#[template(path = "portal/signin.html")]
struct Signin<'a> {
    l: Lang,
    token: String,
    username: &'a str,
    error: Option<&'a str>,
}

fn signin_page(st: &Registry, l: Lang, username: &str, error: Option<&str>) -> Response {
    let (token, cookie) = form_token(st, LOGIN_CSRF_COOKIE, "/signin");
    let resp = page(l, &l.t("signin-heading"), "/signin", &Signin { l, token, username, error }, &[]);
    with_cookie(resp, &cookie)
}

async fn signin_form(State(st): State<Arc<Registry>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    signin_page(&st, l, "", None)
}

#[derive(Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

async fn signin(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    crate::peer::Peer(client): crate::peer::Peer,
    Form(form): Form<SigninForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    if !form_token_matches(&headers, LOGIN_CSRF_COOKIE, &form.csrf) {
        return signin_page(&st, l, &form.username, Some(&l.t("signin-expired")));
    }
    match dipr_registry::accounts::sign_in(&st, &form.username, form.password, client).await {
        Ok((secret, _, _)) => with_cookie(Redirect::to("/me").into_response(), &session_cookie(&st, &secret)),
        Err(e) if e.code == "invalid_credentials" => {
            let mut r = signin_page(&st, l, &form.username, Some(&l.t("signin-wrong")));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
        Err(e) => {
            let mut r = signin_page(&st, l, &form.username, Some(&crate::web::messages::refusal(&e, l)));
            crate::web::layout::retry_after_on(&e, &mut r);
            r
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn signout(State(st): State<Arc<Registry>>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let l = Lang::of(None, &headers);
    // A sign-out the store could not record would leave the session valid on the server: say so and keep
    // the cookie, so that signing out again is possible. Without a session (or with a stale form) the
    // cookie just goes.
    let revoked = match session(&st, &headers).await {
        Ok(Some((user, secret))) if form.csrf == csrf_of(&secret) => {
            match st.store.authenticate(&token_hash(&secret), st.clock.now()).await {
                Ok(Some((_, token))) => dipr_registry::accounts::revoke_token(&st, &user, token.id).await,
                Ok(None) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = revoked {
        return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &crate::web::messages::refusal(&e, l));
    }
    with_cookie(
        Redirect::to("/").into_response(),
        &format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    )
}

#[derive(Deserialize, Default)]
pub struct MeQuery {
    lang: Option<String>,
    page: Option<u32>,
}

async fn me(State(st): State<Arc<Registry>>, Query(q): Query<MeQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let (user, secret) = match signed_in(&st, &headers, l).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let forms = MeView { page: q.page.unwrap_or(1).clamp(1, 10_000), ..Default::default() };
    me_page(&st, l, &user, &secret, &forms, StatusCode::OK).await
}

/// Rows a page of "my registry" lists.
const PER_PAGE: u32 = 50;

#[derive(Deserialize, Default)]
pub struct PledgeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    registration_number: String,
    #[serde(default)]
    secured: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    rank: String,
}

/// A refused release or enforcement, to show again at its pledge.
struct SentAction {
    form: PledgeActionForm,
    errors: Vec<dipr_domain::FieldError>,
    /// A refusal that belongs to no field.
    refusal: Option<String>,
    enforce: bool,
}

/// What "my registry" shows besides the records: the page of its main list, and for a bank's forms what
/// was typed and refused in the one that was sent.
#[derive(Default)]
struct MeView {
    /// The page of the main list (filings, the queue, the pledge book); 0 and 1 both mean the first.
    page: u32,
    pledge: PledgeForm,
    errors: Vec<dipr_domain::FieldError>,
    refusal: Option<String>,
    /// A refused release or enforcement: the pledge, what was typed, the field errors, the refusal.
    action: Option<SentAction>,
}

/// The ids of one pledge's release and enforcement fields: the book holds a form pair per pledge.
struct ActionIds {
    to: String,
    reasons: String,
    confirm_release: String,
    confirm_enforce: String,
}

/// One pledge in the bank's book; for the pledge whose release or enforcement was refused, what was
/// typed, the errors and the refusal, with its form open.
struct BookRow {
    record: Uuid,
    pledge: Uuid,
    product: String,
    number: String,
    secured: String,
    rank: u32,
    start: String,
    end: String,
    active: bool,
    ids: ActionIds,
    to: String,
    reasons: String,
    errors: Errors,
    refusal: Option<String>,
    release_open: bool,
    enforce_open: bool,
}

/// The pledges a bank holds, a page at a time.
struct Book {
    rows: Vec<BookRow>,
    pager: Pager,
}

/// The bank's pledge book: pledges it holds (waiting for consent or active), with release and
/// enforcement for the active ones. None for an account without a party.
async fn pledge_book(st: &Registry, l: Lang, user: &UserRecord, view: &MeView) -> Result<Option<Book>, StoreError> {
    let Some(me) = user.party_id else { return Ok(None) };
    let filter = ApplicationFilter { pledgee: Some(me), ..Default::default() };
    let found = st.store.applications(&filter, Page::new(view.page.max(1), PER_PAGE)).await?;
    let mut rows = Vec::new();
    for a in &found.items {
        let mine = a.holding.iter().flat_map(|h| &h.encumbrances.pledges).filter(|p| p.pledgee.id == me);
        for p in mine.filter(|p| matches!(p.status, PledgeStatus::Pending | PledgeStatus::Active)) {
            let sent = view.action.as_ref().filter(|a| a.form.pledge == p.id);
            rows.push(BookRow {
                record: a.id,
                pledge: p.id,
                product: a.form.product_name.clone(),
                number: a.registration.as_ref().map(|r| r.registration_number.to_string()).unwrap_or_default(),
                secured: p.secured.to_string(),
                rank: p.rank.unwrap_or(p.stated_rank),
                start: p.term.start.to_string(),
                end: p.term.end.to_string(),
                active: p.status == PledgeStatus::Active,
                ids: ActionIds {
                    to: format!("to-{}", p.id),
                    reasons: format!("reasons-{}", p.id),
                    confirm_release: format!("confirm-release-{}", p.id),
                    confirm_enforce: format!("confirm-enforce-{}", p.id),
                },
                to: sent.map(|a| a.form.to.clone()).unwrap_or_default(),
                reasons: sent.map(|a| a.form.reasons.clone()).unwrap_or_default(),
                errors: sent.map(|a| Errors::fields(&a.errors, l)).unwrap_or_default(),
                refusal: sent.and_then(|a| a.refusal.clone()),
                release_open: sent.is_some_and(|a| !a.enforce),
                enforce_open: sent.is_some_and(|a| a.enforce),
            });
        }
    }
    Ok(Some(Book { rows, pager: Pager::new("/me?", view.page.max(1), PER_PAGE, found.total) }))
}

#[derive(Deserialize, Default)]
pub struct PledgeActionForm {
    #[serde(default)]
    csrf: String,
    record: Uuid,
    pledge: Uuid,
    #[serde(default)]
    to: String,
    #[serde(default)]
    reasons: String,
    #[serde(default)]
    confirm: Option<String>,
}

posted!(PledgeForm, PledgeActionForm, ConsentForm);

async fn release_pledge(State(st): State<Arc<Registry>>, sent: SignedIn<PledgeActionForm>) -> Response {
    pledge_action(&st, sent, false).await
}

async fn enforce_pledge(State(st): State<Arc<Registry>>, sent: SignedIn<PledgeActionForm>) -> Response {
    pledge_action(&st, sent, true).await
}

/// Release (the loan is repaid) or enforce (default: the product goes to the named party) a pledge.
async fn pledge_action(st: &Registry, sent: SignedIn<PledgeActionForm>, enforce: bool) -> Response {
    let SignedIn { l, user, secret, form: f, .. } = sent;
    let actor = actor_of(&user);
    // Every problem at once: the confirmation tick, and for an enforcement the transferee and the default.
    let mut missing = Vec::new();
    if f.confirm.is_none() {
        let field = if enforce { "confirm-enforce" } else { "confirm-release" };
        missing.push(dipr_domain::FieldError::new(field, "confirmation_required", "tick the box to confirm"));
    }
    if enforce && f.to.trim().is_empty() {
        missing.push(dipr_domain::FieldError::new("to", "required", "name the transferee"));
    }
    if enforce && f.reasons.trim().is_empty() {
        missing.push(dipr_domain::FieldError::new("reasons", "required", "state the default"));
    }
    let result = if !missing.is_empty() {
        Err(dipr_registry::Error::validation(missing))
    } else if enforce {
        match dipr_registry::holdings::party(st, &f.to.trim().to_uppercase(), "to").await {
            Ok(to) => {
                let op = Operation::EnforcePledge { pledge_id: f.pledge, to, reasons: f.reasons.clone() };
                dipr_registry::holdings::operate(st, f.record, op, &actor).await
            }
            Err(e) => Err(e),
        }
    } else {
        dipr_registry::holdings::operate(st, f.record, Operation::ReleasePledge { pledge_id: f.pledge }, &actor).await
    };
    match result {
        Ok(_) => Redirect::to(&format!("/records/{}", f.record)).into_response(),
        Err(e) => {
            let mut errors: Vec<_> = e
                .details
                .iter()
                .map(|d| dipr_domain::FieldError::new(format!("{}-{}", d.field, f.pledge), &d.code, d.message.clone()))
                .collect();
            if e.code == "party_not_found" {
                errors.push(dipr_domain::FieldError::new(format!("to-{}", f.pledge), "party_not_found", ""));
            }
            let refusal = errors.is_empty().then(|| crate::web::messages::refusal(&e, l));
            let status = crate::web::layout::status_of(&e);
            let forms = MeView { action: Some(SentAction { form: f, errors, refusal, enforce }), ..Default::default() };
            me_page(st, l, &user, &secret, &forms, status).await
        }
    }
}

/// A field of the bank's pledge form.
struct PledgeField {
    name: &'static str,
    label: String,
    value: String,
    placeholder: &'static str,
}

/// The bank's form: register a pledge on a product by its registration number.
fn pledge_fields(l: Lang, f: &PledgeForm) -> Vec<PledgeField> {
    let field =
        |name, label, value: &str, placeholder| PledgeField { name, label, value: value.to_string(), placeholder };
    vec![
        field("registration_number", l.t("me-pledge-registration-number"), &f.registration_number, ""),
        field("secured", l.t("me-pledge-secured"), &f.secured, "5,000,000.00"),
        field("start", l.t("me-pledge-start"), &f.start, "2026-12-01"),
        field("end", l.t("me-pledge-end"), &f.end, "2028-11-30"),
        field("rank", l.t("me-pledge-rank"), &f.rank, "1"),
    ]
}

async fn file_pledge(
    State(st): State<Arc<Registry>>,
    SignedIn { l, user, secret, form: f, .. }: SignedIn<PledgeForm>,
) -> Response {
    let app = match st.store.application_by_registration_number(f.registration_number.trim()).await {
        Ok(app) => app,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let Some(app) = app else {
        let errors = vec![dipr_domain::FieldError::new("registration_number", "not_found", "")];
        let refusal = Some(l.t("me-pledge-not-found"));
        let forms = MeView { pledge: f, errors, refusal, ..Default::default() };
        return me_page(&st, l, &user, &secret, &forms, StatusCode::NOT_FOUND).await;
    };
    let req = dipr_registry::holdings::PledgeRequest {
        debtor: None,
        secured: dipr_registry::input::Amount::Text(f.secured.clone()),
        start: f.start.clone(),
        end: f.end.clone(),
        rank: f.rank.trim().parse().unwrap_or(0),
    };
    match dipr_registry::holdings::file_pledge(&st, &user, app.id, &req).await {
        Ok(_) => Redirect::to(&format!("/records/{}", app.id)).into_response(),
        Err(e) => {
            let refusal = if e.details.is_empty() { Some(crate::web::messages::refusal(&e, l)) } else { None };
            let forms = MeView { pledge: f, errors: e.details.clone(), refusal, ..Default::default() };
            me_page(&st, l, &user, &secret, &forms, crate::web::layout::status_of(&e)).await
        }
    }
}

struct FilingRow {
    id: Uuid,
    product: String,
    state: String,
    deadline: String,
    /// Registered: the certificate's links.
    registered: bool,
}

struct ConsentRow {
    record: Uuid,
    pledge: Uuid,
    product: String,
    pledgee: String,
    /// Whose debt the pledge secures, and whether that is someone other than the holder.
    debtor: String,
    others_debt: bool,
    secured: String,
    rank: u32,
    start: String,
    end: String,
}

/// An applicant's (or agent's) part: the filings, a page at a time, and every pledge awaiting consent.
struct Applicant {
    filings: Vec<FilingRow>,
    pager: Pager,
    consents: Vec<ConsentRow>,
}

struct QueueRow {
    id: Uuid,
    product: String,
    applicant: String,
    state: String,
    /// The earliest open objection's decision deadline.
    due: Option<String>,
}

struct DisputeRow {
    id: Uuid,
    product: String,
    holder: String,
    since: String,
}

/// An examiner's part: the review queue, oldest first, and the open objections after grant.
struct Examiner {
    queue: Vec<QueueRow>,
    pager: Pager,
    disputes: Vec<DisputeRow>,
    filed_heading: String,
}

struct Notification {
    at: String,
    product: String,
    event: String,
}

/// A bank's part: the pledge book and the pledge form (`portal/bank.html`).
struct Bank {
    /// None for an account without a party: no book at all.
    book: Option<Book>,
    fields: Vec<PledgeField>,
    errors: Errors,
    refusal: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/me.html")]
struct Me {
    l: Lang,
    name: String,
    csrf: String,
    applicant: Option<Applicant>,
    examiner: Option<Examiner>,
    /// None for an account without a party (nothing is addressed to it).
    notifications: Option<Vec<Notification>>,
    /// The newest alerts of the account's watches.
    alerts: Vec<crate::web::watches::AlertRow>,
    admin: bool,
    bank: Option<Bank>,
}

/// "My registry" with `status` (a refused form's, or 200); a store that cannot be read gives an error page.
async fn me_page(
    st: &Registry,
    l: Lang,
    user: &UserRecord,
    secret: &str,
    view: &MeView,
    status: StatusCode,
) -> Response {
    match me_view(st, l, user, secret, view).await {
        Ok(me) => {
            let mut r = page(l, &l.t("me-heading"), "/me", &me, &[]);
            if r.status().is_success() {
                *r.status_mut() = status;
            }
            r
        }
        Err(e) => error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn me_view(st: &Registry, l: Lang, user: &UserRecord, secret: &str, view: &MeView) -> Result<Me, StoreError> {
    let mut me = Me {
        l,
        name: user.display_name.clone(),
        csrf: csrf_of(secret),
        applicant: None,
        examiner: None,
        notifications: None,
        alerts: crate::web::watches::alert_rows(st, l, user, 10).await?,
        admin: user.role == Role::Admin,
        bank: None,
    };
    match user.role {
        Role::Applicant | Role::Agent => me.applicant = Some(applicant(st, l, user, view.page.max(1)).await?),
        Role::Examiner => me.examiner = Some(examiner(st, l, view.page.max(1)).await?),
        _ => {}
    }
    if let Some(party) = user.party_id {
        let mut notes = st.store.events("party", &party.to_string()).await?;
        notes.retain(|e| e.kind == "notification");
        notes.reverse();
        let notes = notes.iter().take(30).map(|n| Notification {
            at: shown::date_zoned(n.at, l.en),
            product: n.payload["product_name"].as_str().unwrap_or_default().to_string(),
            event: event_label(n.payload["event"].as_str().unwrap_or_default(), l),
        });
        me.notifications = Some(notes.collect());
    }
    if user.role == Role::Bank {
        me.bank = Some(Bank {
            book: pledge_book(st, l, user, view).await?,
            fields: pledge_fields(l, &view.pledge),
            errors: Errors::fields(&view.errors, l),
            refusal: view.refusal.clone(),
        });
    }
    Ok(me)
}

async fn applicant(st: &Registry, l: Lang, user: &UserRecord, at: u32) -> Result<Applicant, StoreError> {
    // Discarded drafts leave the list (their events stay in the audit trail).
    let filter = ApplicationFilter {
        owned_by: Some((user.id, user.party_id)),
        states: Status::ALL.into_iter().filter(|s| *s != Status::Discarded).collect(),
        ..Default::default()
    };
    let found = st.store.applications(&filter, Page::new(at, PER_PAGE)).await?;
    // Pledges waiting for consent, on every product of the holder (not only this page's).
    let pending = ApplicationFilter { pending_pledges: true, ..filter.clone() };
    let pledged = st.store.applications(&pending, Page::new(1, 200)).await?.items;
    let cal = st.calendar();
    let filings = found
        .items
        .iter()
        .map(|a| FilingRow {
            id: a.id,
            product: a.form.product_name.clone(),
            state: state_label(a.state, l),
            deadline: deadline_label(a, l, &cal),
            registered: a.registration.is_some(),
        })
        .collect();
    let mut consents = Vec::new();
    for a in &pledged {
        let pending =
            a.holding.iter().flat_map(|h| &h.encumbrances.pledges).filter(|p| p.status == PledgeStatus::Pending);
        for p in pending {
            consents.push(ConsentRow {
                record: a.id,
                pledge: p.id,
                product: a.form.product_name.clone(),
                pledgee: p.pledgee.name.clone(),
                debtor: p.debtor.name.clone(),
                others_debt: p.debtor.id != a.holder().id,
                secured: p.secured.to_string(),
                rank: p.stated_rank,
                start: p.term.start.to_string(),
                end: p.term.end.to_string(),
            });
        }
    }
    Ok(Applicant { filings, pager: Pager::new("/me?", at, PER_PAGE, found.total), consents })
}

async fn examiner(st: &Registry, l: Lang, at: u32) -> Result<Examiner, StoreError> {
    let filter = ApplicationFilter {
        states: Status::ALL.into_iter().filter(|s| s.in_review_queue()).collect(),
        order: Order::OldestFirst,
        ..Default::default()
    };
    let found = st.store.applications(&filter, Page::new(at, PER_PAGE)).await?;
    let queue = found
        .items
        .iter()
        .map(|a| QueueRow {
            id: a.id,
            product: a.form.product_name.clone(),
            applicant: a.applicant.name.clone(),
            state: state_label(a.state, l),
            due: a
                .objections
                .iter()
                .filter(|o| o.decision.is_none())
                .map(|o| o.decide_by)
                .min()
                .map(|d| shown::date_zoned(d, l.en)),
        })
        .collect();
    let filter = ApplicationFilter { open_disputes: true, order: Order::OldestFirst, ..Default::default() };
    let disputed = st.store.applications(&filter, Page::new(1, 100)).await?.items;
    let disputes = disputed
        .iter()
        .map(|a| {
            let open = a.holding.iter().flat_map(|h| &h.disputes).filter(|d| d.decision.is_none());
            DisputeRow {
                id: a.id,
                product: a.form.product_name.clone(),
                holder: a.holder().name.clone(),
                since: open.map(|d| d.filed_at).min().map(shown::date).unwrap_or_default(),
            }
        })
        .collect();
    Ok(Examiner {
        queue,
        pager: Pager::new("/me?", at, PER_PAGE, found.total),
        disputes,
        filed_heading: shown::zoned(&l.t("me-col-filed"), l.en),
    })
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    record: Uuid,
    pledge: Uuid,
}

#[derive(Template)]
#[template(path = "portal/consent_refused.html")]
struct ConsentRefused {
    l: Lang,
    refusal: String,
}

async fn consent(State(st): State<Arc<Registry>>, SignedIn { l, user, form, .. }: SignedIn<ConsentForm>) -> Response {
    match dipr_registry::holdings::operate(
        &st,
        form.record,
        Operation::ConsentToPledge { pledge_id: form.pledge },
        &actor_of(&user),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/records/{}", form.record)).into_response(),
        Err(e) => {
            let refused = ConsentRefused { l, refusal: crate::web::messages::refusal(&e, l) };
            let mut r = page(l, &l.t("me-consent-title"), "/me", &refused, &[]);
            *r.status_mut() = crate::web::layout::status_of(&e);
            r
        }
    }
}
