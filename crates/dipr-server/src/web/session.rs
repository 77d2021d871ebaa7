//! Sessions and form tokens: the session cookie (the same token the API issues, stored hashed, revocable;
//! HttpOnly, SameSite=Lax, Secure over https), the CSRF token derived from it, and the double-submit
//! tokens of anonymous forms.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use dipr_store::UserRecord;
use sha2::{Digest, Sha256};

use crate::web::i18n::Lang;
use crate::web::layout::error_page;
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
    if st.config.public_url.starts_with("https://") {
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

/// A page for signed-in users: the user and the session secret, or the response to give instead — the
/// sign-in page without a session, an error page when the store cannot be read.
pub(crate) async fn signed_in(st: &Registry, headers: &HeaderMap, l: Lang) -> Result<(UserRecord, String), Response> {
    match session(st, headers).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(Redirect::to("/signin").into_response()),
        Err(e) => Err(error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &refusal(&e, l))),
    }
}

/// A signed-in form post: the user and the session secret, once the posted CSRF token matches the
/// session; otherwise the sign-in page (an error page when the store cannot be read), or the "form
/// expired" page.
pub(crate) async fn signed_in_post(
    st: &Registry,
    headers: &HeaderMap,
    posted_csrf: &str,
    l: Lang,
) -> Result<(UserRecord, String), Response> {
    let (user, secret) = signed_in(st, headers, l).await?;
    if posted_csrf != csrf_of(&secret) {
        return Err(crate::web::layout::expired(l));
    }
    Ok((user, secret))
}

pub(crate) fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
