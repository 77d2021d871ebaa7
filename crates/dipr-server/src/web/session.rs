//! Sessions and form tokens: the session cookie (the same token the API issues, stored hashed, revocable;
//! HttpOnly, SameSite=Lax, Secure over https), the CSRF token derived from it, the double-submit tokens of
//! anonymous forms, and [`SignedIn`], the extractor every signed-in form post goes through.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequest, Query, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use dipr_store::UserRecord;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::web::i18n::Lang;
use crate::web::layout::{error_page, expired, LangQuery};
use crate::web::messages::refusal;
use dipr_registry::accounts::token_hash;
use dipr_registry::{Error, Registry};

pub(crate) const SESSION_COOKIE: &str = "dipr_session";
pub(crate) const SIGNUP_CSRF_COOKIE: &str = "dipr_signup_csrf";
pub(crate) const OBJECTION_CSRF_COOKIE: &str = "dipr_csrf";

/// A token for an anonymous form (sign-in, sign-up, objection) and the cookie that carries it: the
/// post must return the cookie's value (double submit), and SameSite=Strict keeps other sites from
/// sending the cookie. Each form has its own cookie, scoped to its path, so tabs do not clash.
pub(crate) fn form_token(st: &Registry, name: &str, path: &str) -> (String, String) {
    let token = dipr_registry::accounts::new_token().0;
    let cookie = format!("{name}={token}; Path={path}; HttpOnly; SameSite=Strict{}", secure(st));
    (token, cookie)
}

pub(crate) fn form_token_matches(headers: &HeaderMap, name: &str, posted: &str) -> bool {
    !posted.is_empty() && cookie(headers, name).as_deref() == Some(posted)
}

pub(crate) fn session_cookie(st: &Registry, secret: &str) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        st.config.session_hours * 3600,
        secure(st)
    )
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let raw = headers.get(header::COOKIE)?.to_str().ok()?;
    raw.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
}

pub(crate) fn secure(st: &Registry) -> &'static str {
    if st.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

pub(crate) fn csrf_of(session: &str) -> String {
    hex::encode(Sha256::digest(format!("dipr-csrf\n{session}").as_bytes()))
}

/// The signed-in user and the session secret, from the cookie: None without a live session, and an error
/// when the store cannot say (which is not the same as being signed out).
pub(crate) async fn session(st: &Registry, headers: &HeaderMap) -> Result<Option<(UserRecord, String)>, Error> {
    let Some(secret) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let found = st.store.authenticate(&token_hash(&secret), st.clock.now()).await?;
    Ok(found.map(|(user, _)| (user, secret)))
}

/// Where an account that must change its password is sent, whatever page it asks for.
pub(crate) const CHANGE_PASSWORD: &str = "/me/password";

/// A page for signed-in users: the user and the session secret, or the response to give instead — the
/// sign-in page without a session, the password change page for an account that must change the password
/// an administrator set, an error page when the store cannot be read.
pub(crate) async fn signed_in(st: &Registry, headers: &HeaderMap, l: Lang) -> Result<(UserRecord, String), Response> {
    let (user, secret) = signed_in_as_is(st, headers, l).await?;
    if user.must_change_password {
        return Err(Redirect::to(CHANGE_PASSWORD).into_response());
    }
    Ok((user, secret))
}

/// [`signed_in`] for the pages such an account may use: the password change page.
pub(crate) async fn signed_in_as_is(
    st: &Registry,
    headers: &HeaderMap,
    l: Lang,
) -> Result<(UserRecord, String), Response> {
    match session(st, headers).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(Redirect::to("/signin").into_response()),
        Err(e) => Err(error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &refusal(&e, l))),
    }
}

/// A form that carries the session's CSRF token.
pub(crate) trait Posted {
    fn csrf(&self) -> &str;
}

/// [`Posted`] for forms that carry the token in their `csrf` field.
macro_rules! posted {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::web::session::Posted for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(crate) use posted;

/// Who may send a form: anyone signed in, or whom a page admits.
pub(crate) trait Senders {
    /// The page a signed-in user gets who may not send the form; None when they may.
    fn refusal(user: &UserRecord, l: Lang) -> Option<Response>;
    /// Whether an account that must change its password may send it (only the change itself).
    const WHILE_PASSWORD_PENDING: bool = false;
}

/// Anyone signed in.
pub(crate) struct Anyone;

impl Senders for Anyone {
    fn refusal(_: &UserRecord, _: Lang) -> Option<Response> {
        None
    }
}

/// A signed-in form post, checked before the handler runs: the page's language (`?lang=`, then the
/// cookie), the form (one that does not parse is refused as [`Form`] refuses it), a session (else the
/// sign-in page; a store that cannot be read is an error page), the posted CSRF token matching the session
/// (else the "form expired" page), and a sender `R` admits (else its refusal page).
pub(crate) struct SignedIn<F, R = Anyone> {
    pub(crate) l: Lang,
    pub(crate) user: UserRecord,
    /// The session secret, from which a page re-rendered after a refusal derives its CSRF token.
    pub(crate) secret: String,
    pub(crate) form: F,
    /// `R` is only a type: `fn() -> R` keeps it from adding Send or Sync bounds.
    senders: PhantomData<fn() -> R>,
}

impl<F, R> FromRequest<Arc<Registry>> for SignedIn<F, R>
where
    F: DeserializeOwned + Posted + Send,
    R: Senders,
{
    type Rejection = Response;

    async fn from_request(req: Request, st: &Arc<Registry>) -> Result<Self, Response> {
        // A malformed query or form is refused as axum's own extractors refuse it, before the store is asked.
        let Query(q) = Query::<LangQuery>::try_from_uri(req.uri()).map_err(IntoResponse::into_response)?;
        let l = Lang::of(q.lang(), req.headers());
        let headers = req.headers().clone();
        let Form(form) = Form::<F>::from_request(req, st).await.map_err(IntoResponse::into_response)?;
        let (user, secret) = if R::WHILE_PASSWORD_PENDING {
            signed_in_as_is(st, &headers, l).await?
        } else {
            signed_in(st, &headers, l).await?
        };
        if form.csrf() != csrf_of(&secret) {
            return Err(expired(l));
        }
        if let Some(refused) = R::refusal(&user, l) {
            return Err(refused);
        }
        Ok(Self { l, user, secret, form, senders: PhantomData })
    }
}

pub(crate) fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
