//! Passwords: changing one's own (`/me/password`, the one page an account whose password an administrator
//! set may use until it has changed it), the address reset links go to (`/me/email`), asking for a reset link by e-mail (`/password/forgot`) and
//! following it (`/password/reset/{token}`).
//!
//! A change keeps the session it was made in and ends every other; a reset ends them all and sends the
//! person to sign in with the new password.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use dipr_store::UserRecord;
use serde::Deserialize;

use crate::peer::Peer;
use crate::web::form::Errors;
use crate::web::i18n::Lang;
use crate::web::layout::{error_page, filters, page, retry_after_on, status_of, LangQuery};
use crate::web::messages::refusal;
use crate::web::session::{
    csrf_of, form_token, form_token_matches, posted, signed_in, signed_in_as_is, with_cookie, Senders, SignedIn,
    CHANGE_PASSWORD,
};
use dipr_registry::accounts::token_hash;
use dipr_registry::passwords::{NewPassword, PasswordChange};
use dipr_registry::Registry;

const FORGOT_CSRF_COOKIE: &str = "dipr_forgot_csrf";
const RESET_CSRF_COOKIE: &str = "dipr_reset_csrf";

pub fn routes() -> Router<Arc<Registry>> {
    Router::new()
        .route(CHANGE_PASSWORD, get(change_form).post(change))
        .route("/me/email", get(email_form).post(email))
        .route("/password/forgot", get(forgot_form).post(forgot))
        .route("/password/reset/{token}", get(reset_form).post(reset))
}

#[derive(Template)]
#[template(path = "password/change.html")]
struct Change<'a> {
    l: Lang,
    csrf: String,
    required: bool,
    errs: &'a Errors,
    top: Option<String>,
}

#[derive(Template)]
#[template(path = "password/done.html")]
struct Done {
    heading: String,
    text: String,
    next: &'static str,
    link: String,
}

fn change_page(l: Lang, user: &UserRecord, secret: &str, errs: &Errors, top: Option<String>) -> Response {
    let view = Change { l, csrf: csrf_of(secret), required: user.must_change_password, errs, top };
    page(l, &l.t("password-change-heading"), CHANGE_PASSWORD, &view, &[])
}

async fn change_form(State(st): State<Arc<Registry>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    match signed_in_as_is(&st, &headers, l).await {
        Ok((user, secret)) => change_page(l, &user, &secret, &Errors::default(), None),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
}

posted!(ChangeForm);

/// Whoever is signed in, including an account that must change its password: this is where it does.
pub(crate) struct PasswordOwners;

impl Senders for PasswordOwners {
    fn refusal(_: &UserRecord, _: Lang) -> Option<Response> {
        None
    }
    const WHILE_PASSWORD_PENDING: bool = true;
}

async fn change(
    State(st): State<Arc<Registry>>,
    Peer(client): Peer,
    sent: SignedIn<ChangeForm, PasswordOwners>,
) -> Response {
    let SignedIn { l, user, secret, form: f, .. } = sent;
    // The session this form came from stays signed in; every other one ends.
    let keep = match st.store.authenticate(&token_hash(&secret), st.clock.now()).await {
        Ok(found) => found.map(|(_, token)| token.id),
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &refusal(&e.into(), l)),
    };
    let req = PasswordChange {
        current_password: f.current_password,
        new_password: f.new_password,
        repeat_password: f.repeat_password,
    };
    match dipr_registry::passwords::change_password(&st, &user, keep, req, client).await {
        Ok(()) => {
            let view = Done {
                heading: l.t("password-change-heading"),
                text: l.t("password-changed"),
                next: "/me",
                link: l.t("back-to-my-registry"),
            };
            page(l, &l.t("password-change-heading"), CHANGE_PASSWORD, &view, &[])
        }
        Err(e) => {
            let errors = Errors::of(&e, l, &|field| field.to_string(), "form");
            let top = errors.0.iter().find(|(f, _)| f == "form").map(|(_, m)| m.clone());
            let mut r = change_page(l, &user, &secret, &errors, top);
            *r.status_mut() = status_of(&e);
            retry_after_on(&e, &mut r);
            r
        }
    }
}

#[derive(Template)]
#[template(path = "password/email.html")]
struct Email<'a> {
    l: Lang,
    csrf: String,
    current: &'a str,
    email: &'a str,
    errs: &'a Errors,
}

fn email_page(l: Lang, secret: &str, current: &str, email: &str, errs: &Errors) -> Response {
    let view = Email { l, csrf: csrf_of(secret), current, email, errs };
    page(l, &l.t("email-heading"), "/me/email", &view, &[])
}

async fn email_form(State(st): State<Arc<Registry>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    match signed_in(&st, &headers, l).await {
        Ok((user, secret)) => {
            let current = user.email.clone().unwrap_or_default();
            email_page(l, &secret, &current, &current, &Errors::default())
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    email: String,
}

posted!(EmailForm);

async fn email(State(st): State<Arc<Registry>>, Peer(client): Peer, sent: SignedIn<EmailForm>) -> Response {
    let SignedIn { l, user, secret, form: f, .. } = sent;
    match dipr_registry::passwords::change_email(&st, &user, &f.current_password, &f.email, client).await {
        Ok(_) => {
            let view = Done {
                heading: l.t("email-heading"),
                text: l.t("email-saved"),
                next: "/me",
                link: l.t("back-to-my-registry"),
            };
            page(l, &l.t("email-heading"), "/me/email", &view, &[])
        }
        Err(e) => {
            let errors = Errors::of(&e, l, &|field| field.to_string(), "form");
            let current = user.email.clone().unwrap_or_default();
            let mut r = email_page(l, &secret, &current, &f.email, &errors);
            *r.status_mut() = status_of(&e);
            retry_after_on(&e, &mut r);
            r
        }
    }
}

#[derive(Template)]
#[template(path = "password/forgot.html")]
struct Forgot<'a> {
    l: Lang,
    token: String,
    available: bool,
    sent: bool,
    login: &'a str,
    errs: &'a Errors,
    top: Option<String>,
}

fn forgot_page(st: &Registry, l: Lang, login: &str, sent: bool, errs: &Errors, top: Option<String>) -> Response {
    let (token, cookie) = form_token(st, FORGOT_CSRF_COOKIE, "/password/forgot");
    let available = dipr_registry::passwords::resets_available(st);
    let view = Forgot { l, token, available, sent, login, errs, top };
    with_cookie(page(l, &l.t("password-forgot-heading"), "/signin", &view, &[]), &cookie)
}

async fn forgot_form(State(st): State<Arc<Registry>>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang(), &headers);
    forgot_page(&st, l, "", false, &Errors::default(), None)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
}

/// The same page follows whether or not an account matched: only the form's own problems (a stale form,
/// an empty field, too many requests from this client) are told.
async fn forgot(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Peer(client): Peer,
    Form(f): Form<ForgotForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    if !form_token_matches(&headers, FORGOT_CSRF_COOKIE, &f.csrf) {
        return forgot_page(&st, l, &f.login, false, &Errors::default(), Some(l.t("signin-expired")));
    }
    match dipr_registry::passwords::request_reset(&st, &f.login, client).await {
        Ok(()) => forgot_page(&st, l, "", true, &Errors::default(), None),
        Err(e) => {
            let errors = Errors::of(&e, l, &|field| field.to_string(), "form");
            let top = errors.0.iter().find(|(f, _)| f == "form").map(|(_, m)| m.clone());
            let mut r = forgot_page(&st, l, &f.login, false, &errors, top);
            *r.status_mut() = status_of(&e);
            retry_after_on(&e, &mut r);
            r
        }
    }
}

#[derive(Template)]
#[template(path = "password/reset.html")]
struct Reset<'a> {
    l: Lang,
    token: String,
    action: String,
    errs: &'a Errors,
    top: Option<String>,
}

#[derive(Template)]
#[template(path = "password/invalid.html")]
struct Invalid {
    l: Lang,
}

fn reset_page(st: &Registry, l: Lang, secret: &str, errs: &Errors, top: Option<String>) -> Response {
    let action = format!("/password/reset/{secret}");
    let (token, cookie) = form_token(st, RESET_CSRF_COOKIE, &action);
    let view = Reset { l, token, action, errs, top };
    with_cookie(page(l, &l.t("password-reset-heading"), "/signin", &view, &[]), &cookie)
}

fn invalid_page(l: Lang) -> Response {
    let mut r = page(l, &l.t("password-reset-heading"), "/signin", &Invalid { l }, &[]);
    *r.status_mut() = StatusCode::GONE;
    r
}

async fn reset_form(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Path(secret): Path<String>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    match dipr_registry::passwords::reset_link_works(&st, &secret).await {
        Ok(true) => reset_page(&st, l, &secret, &Errors::default(), None),
        Ok(false) => invalid_page(l),
        Err(e) => error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &refusal(&e, l)),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
}

async fn reset(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Path(secret): Path<String>,
    Form(f): Form<ResetForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    if !form_token_matches(&headers, RESET_CSRF_COOKIE, &f.csrf) {
        return reset_page(&st, l, &secret, &Errors::default(), Some(l.t("signin-expired")));
    }
    let new = NewPassword { new_password: f.new_password, repeat_password: f.repeat_password };
    match dipr_registry::passwords::reset_password(&st, &secret, new).await {
        Ok(_) => {
            let view = Done {
                heading: l.t("password-reset-heading"),
                text: l.t("password-reset-done"),
                next: "/signin",
                link: l.t("signin-button"),
            };
            page(l, &l.t("password-reset-heading"), "/signin", &view, &[])
        }
        Err(e) if e.code == "reset_link_invalid" => invalid_page(l),
        Err(e) => {
            let errors = Errors::of(&e, l, &|field| field.to_string(), "form");
            let top = errors.0.iter().find(|(f, _)| f == "form").map(|(_, m)| m.clone());
            let mut r = reset_page(&st, l, &secret, &errors, top);
            *r.status_mut() = status_of(&e);
            r
        }
    }
}
