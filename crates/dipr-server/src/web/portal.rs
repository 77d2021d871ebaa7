//! Signed-in pages: sign-in and sign-out with a session cookie, and "my registry" — an applicant's filings
//! with their deadlines, certificates and pledges awaiting consent; an examiner's queue with deadlines;
//! everyone's notifications.
//!
//! The session cookie holds the same session token the API issues (stored hashed, revocable), and is
//! HttpOnly, SameSite=Lax, and Secure when the registry is served over https. Every form that changes
//! something carries a CSRF token derived from the session secret, which a cross-site page cannot read.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dipr_domain::access::Role;
use dipr_domain::application::State as Status;
use dipr_domain::encumbrance::PledgeStatus;
use dipr_domain::holding::Operation;
use dipr_store::{ApplicationFilter, Order, Page, UserRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::web::i18n::Lang;
use crate::web::layout::deadline_label;
use crate::web::layout::{esc, layout, LangQuery};
use crate::web::session::{
    csrf_of, form_token, form_token_matches, session, session_cookie, signed_in_post, with_cookie, SESSION_COOKIE,
};
use dipr_domain::shown;
use dipr_registry::accounts::actor_of;
use dipr_registry::accounts::token_hash;
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

fn signin_page(st: &Registry, l: Lang, username: &str, error: Option<&str>) -> Response {
    let (token, cookie) = form_token(st, LOGIN_CSRF_COOKIE, "/signin");
    let error = error
        .map(|e| format!("<p class=\"result bad\" role=\"alert\" id=\"signin-error\">{}</p>", esc(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>{h1}</h1>{error}<form method=\"post\" action=\"/signin\" class=\"stack\" data-width=\"narrower\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <label for=\"username\">{user_l}</label><input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{username}\">\
         <label for=\"password\">{pw_l}</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
         <button>{go}</button></form><p class=\"muted\">{hint}</p>",
        h1 = l.tt("登录", "Sign in"),
        user_l = l.tt("用户名", "Username"),
        username = esc(username),
        pw_l = l.tt("密码", "Password"),
        go = l.tt("登录", "Sign in"),
        hint = l.tt("还没有账号？<a href=\"/signup\">注册申请人账号</a>", "No account yet? <a href=\"/signup\">Create an applicant account</a>"),
    );
    let resp = layout(l, l.tt("登录", "Sign in"), "/signin", &body, &[]);
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
    crate::guard::Peer(client): crate::guard::Peer,
    Form(form): Form<SigninForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    if !form_token_matches(&headers, LOGIN_CSRF_COOKIE, &form.csrf) {
        return signin_page(
            &st,
            l,
            &form.username,
            Some(l.tt("表单已过期，请重新提交。", "The form expired; please submit it again.")),
        );
    }
    match dipr_registry::accounts::sign_in(&st, &form.username, form.password, client).await {
        Ok((secret, _, _)) => with_cookie(Redirect::to("/me").into_response(), &session_cookie(&st, &secret)),
        Err(e) if e.code == "invalid_credentials" => {
            let mut r =
                signin_page(&st, l, &form.username, Some(l.tt("用户名或密码错误。", "Wrong username or password.")));
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
    if let Some((user, secret)) = session(&st, &headers).await {
        if form.csrf == csrf_of(&secret) {
            if let Ok(Some((_, token))) = st.store.authenticate(&token_hash(&secret), st.clock.now()).await {
                let _ = dipr_registry::accounts::revoke_token(&st, &user, token.id).await;
            }
        }
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
    let Some((user, secret)) = session(&st, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    let forms = MeView { page: q.page.unwrap_or(1).clamp(1, 10_000), ..Default::default() };
    me_page(&st, l, &user, &secret, &forms).await
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

/// The bank's pledge book: pledges it holds (waiting for consent or active), with release and
/// enforcement for the active ones.
async fn pledge_book(st: &Registry, l: Lang, user: &UserRecord, csrf: &str, view: &MeView) -> String {
    let Some(me) = user.party_id else { return String::new() };
    let filter = ApplicationFilter { pledgee: Some(me), ..Default::default() };
    let found = st.store.applications(&filter, Page::new(view.page.max(1), PER_PAGE)).await;
    let (apps, total) = found.map(|p| (p.items, p.total)).unwrap_or_default();
    let mut rows = String::new();
    for a in &apps {
        let mine = a.holding.iter().flat_map(|h| &h.encumbrances.pledges).filter(|p| p.pledgee.id == me);
        for p in mine.filter(|p| matches!(p.status, PledgeStatus::Pending | PledgeStatus::Active)) {
            let sent = view.action.as_ref().filter(|a| a.form.pledge == p.id);
            let err = |field: &str| {
                sent.map(|a| crate::web::layout::field_errors(&a.errors, &format!("{field}-{}", p.id), l))
                    .unwrap_or_default()
            };
            let refusal = sent
                .and_then(|a| a.refusal.as_deref())
                .map(|r| format!("<p class=\"result bad\" role=\"alert\" id=\"refused-{}\">{}</p>", p.id, esc(r)))
                .unwrap_or_default();
            let typed = sent.map(|a| &a.form);
            let actions = if p.status == PledgeStatus::Active {
                format!(
                    "{refusal}<details{release_open}><summary>{release}</summary><form method=\"post\" action=\"/me/pledges/release\" class=\"stack\" novalidate>\
                     <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"record\" value=\"{rid}\">\
                     <input type=\"hidden\" name=\"pledge\" value=\"{pid}\"><p class=\"muted\">{release_note}</p>{release_confirm}\
                     <button class=\"secondary\" id=\"release-{pid}\">{release_go}</button></form></details>\
                     <details{open}><summary>{enforce}</summary><form method=\"post\" action=\"/me/pledges/enforce\" class=\"stack\" novalidate>\
                     <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"record\" value=\"{rid}\">\
                     <input type=\"hidden\" name=\"pledge\" value=\"{pid}\">\
                     <label for=\"to-{pid}\">{to_l}</label><input id=\"to-{pid}\" name=\"to\" value=\"{to}\" aria-describedby=\"err-to-{pid}\">{to_e}\
                     <label for=\"reasons-{pid}\">{reasons_l}</label><textarea id=\"reasons-{pid}\" name=\"reasons\" rows=\"2\" aria-describedby=\"err-reasons-{pid}\">{reasons}</textarea>{reasons_e}\
                     {enforce_confirm}<button class=\"danger\" id=\"enforce-{pid}\">{enforce_go}</button></form></details>",
                    rid = a.id,
                    pid = p.id,
                    release = l.tt("解除质押", "Release"),
                    release_note = l.tt(
                        "贷款已清偿：解除后质押登记终止并记入公开账本，不能恢复。",
                        "The loan is repaid: the pledge ends, the release is logged publicly, and it cannot be restored.",
                    ),
                    release_confirm = crate::web::layout::confirm_box(l, &format!("confirm-release-{}", p.id), err("confirm-release")),
                    release_go = l.tt("确认解除质押", "Release the pledge"),
                    release_open = if sent.is_some_and(|a| !a.enforce) { " open" } else { "" },
                    open = if sent.is_some_and(|a| a.enforce) { " open" } else { "" },
                    enforce_confirm = crate::web::layout::confirm_box(l, &format!("confirm-enforce-{}", p.id), err("confirm-enforce")),
                    enforce = l.tt("实现质权", "Enforce"),
                    to_l = l.tt("受让方统一社会信用代码 / 身份证号码", "Transferee's credit code / ID number"),
                    to = esc(typed.map_or("", |f| f.to.as_str())),
                    to_e = err("to"),
                    reasons_l = l.tt("违约情况与执行依据", "The default and the enforcement title"),
                    reasons = esc(typed.map_or("", |f| f.reasons.as_str())),
                    reasons_e = err("reasons"),
                    enforce_go = l.tt("实现质权（产品转移）", "Enforce (the product is transferred)"),
                )
            } else {
                format!(
                    "{refusal}<span class=\"muted\">{}</span>",
                    l.tt("等待权利人同意", "Awaiting the holder's consent")
                )
            };
            rows.push_str(&format!(
                "<tr><td><a href=\"/records/{}\">{}</a></td><td>{}</td><td class=\"num\">¥{}</td><td>{}</td><td>{} — {}</td><td>{actions}</td></tr>",
                a.id,
                esc(&a.form.product_name),
                a.registration.as_ref().map(|r| r.registration_number.to_string()).unwrap_or_default(),
                p.secured,
                p.rank.unwrap_or(p.stated_rank),
                p.term.start,
                p.term.end,
            ));
        }
    }
    if rows.is_empty() {
        return format!("<h2>{}</h2><p class=\"muted\">{}</p>", l.tt("我的质押", "My pledges"), l.tt("无", "None"));
    }
    format!(
        "<h2>{}</h2><div class=\"scroll\"><table class=\"list\" id=\"pledge-book\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th><span class=\"sr-only\">{}</span></th></tr>{rows}</table></div><p class=\"pager\">{}</p>",
        l.tt("我的质押", "My pledges"),
        l.tt("产品", "Product"),
        l.tt("登记号", "Registration number"),
        l.tt("担保金额", "Secured"),
        l.tt("顺位", "Rank"),
        l.tt("借款期限", "Loan term"),
        l.tt("操作", "Actions"),
        crate::web::layout::pager(l, "/me?", view.page.max(1), PER_PAGE, total),
    )
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

async fn release_pledge(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<PledgeActionForm>,
) -> Response {
    pledge_action(&st, Lang::of(q.lang(), &headers), &headers, f, false).await
}

async fn enforce_pledge(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<PledgeActionForm>,
) -> Response {
    pledge_action(&st, Lang::of(q.lang(), &headers), &headers, f, true).await
}

/// Release (the loan is repaid) or enforce (default: the product goes to the named party) a pledge.
async fn pledge_action(st: &Registry, l: Lang, headers: &HeaderMap, f: PledgeActionForm, enforce: bool) -> Response {
    let (user, secret) = match signed_in_post(st, headers, &f.csrf, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
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
            let mut r = me_page(st, l, &user, &secret, &forms).await;
            *r.status_mut() = status;
            r
        }
    }
}

/// The bank's form: register a pledge on a product by its registration number.
fn pledge_form(
    l: Lang,
    f: &PledgeForm,
    errors: &[dipr_domain::FieldError],
    refusal: Option<&str>,
    csrf: &str,
) -> String {
    let err = |field: &str| crate::web::layout::field_errors(errors, field, l);
    let refusal = refusal
        .map(|r| format!("<p class=\"result bad\" role=\"alert\" id=\"pledge-refused\">{}</p>", esc(r)))
        .unwrap_or_default();
    let field = |name: &str, label: &str, value: &str, placeholder: &str| {
        format!(
            "<label for=\"{name}\">{label}</label><input id=\"{name}\" name=\"{name}\" value=\"{}\" placeholder=\"{placeholder}\" aria-describedby=\"err-{name}\">{}",
            esc(value),
            err(name)
        )
    };
    format!(
        "<h2>{}</h2>{refusal}<form method=\"post\" action=\"/me/pledges\" class=\"stack\" data-width=\"narrow\" novalidate>\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{}{}{}{}{}<button>{}</button></form>\
         <p class=\"muted\">{}</p>",
        l.tt("申请质押登记", "Register a pledge"),
        field("registration_number", l.tt("登记号", "Registration number"), &f.registration_number, ""),
        field("secured", l.tt("担保金额（元）", "Secured amount (yuan)"), &f.secured, "5,000,000.00"),
        field("start", l.tt("借款起始日", "Loan starts"), &f.start, "2026-12-01"),
        field("end", l.tt("借款到期日", "Loan ends"), &f.end, "2028-11-30"),
        field("rank", l.tt("顺位（首个质押为 1）", "Rank (1 for the first pledge)"), &f.rank, "1"),
        l.tt("提交质押登记", "File the pledge"),
        l.tt("质押经权利人同意后生效；在先质权人将收到通知。", "The pledge takes effect when the holder consents; earlier pledgees are notified."),
    )
}

async fn file_pledge(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(f): Form<PledgeForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (user, secret) = match signed_in_post(&st, &headers, &f.csrf, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let app = st.store.application_by_registration_number(f.registration_number.trim()).await.ok().flatten();
    let Some(app) = app else {
        let errors = vec![dipr_domain::FieldError::new("registration_number", "not_found", "")];
        let refusal = l.tt("没有这一登记号。", "No registration has this number.");
        let forms = MeView { pledge: f, errors, refusal: Some(refusal.to_string()), ..Default::default() };
        let mut r = me_page(&st, l, &user, &secret, &forms).await;
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
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
            let mut r = me_page(&st, l, &user, &secret, &forms).await;
            *r.status_mut() = crate::web::layout::status_of(&e);
            r
        }
    }
}

async fn me_page(st: &Registry, l: Lang, user: &UserRecord, secret: &str, view: &MeView) -> Response {
    let user = user.clone();
    let csrf = csrf_of(secret);
    let mut body = format!(
        "<h1>{} · {}</h1><form method=\"post\" action=\"/signout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button class=\"secondary\">{}</button></form>",
        l.tt("我的登记", "My registry"),
        esc(&user.display_name),
        l.tt("退出", "Sign out")
    );
    match user.role {
        Role::Applicant | Role::Agent => {
            // Discarded drafts leave the list (their events stay in the audit trail).
            let filter = ApplicationFilter {
                owned_by: Some((user.id, user.party_id)),
                states: Status::ALL.into_iter().filter(|s| *s != Status::Discarded).collect(),
                ..Default::default()
            };
            let found = st.store.applications(&filter, Page::new(view.page.max(1), PER_PAGE)).await;
            let (apps, total) = found.map(|p| (p.items, p.total)).unwrap_or_default();
            // Pledges waiting for consent, on every product of the holder (not only this page's).
            let pending = ApplicationFilter { pending_pledges: true, ..filter.clone() };
            let pledged = st.store.applications(&pending, Page::new(1, 200)).await.map(|p| p.items).unwrap_or_default();
            body.push_str(&format!(
                "<h2>{}</h2><p><a class=\"button\" id=\"new-filing\" href=\"/me/file\">{}</a></p>",
                l.tt("我的申请与登记", "My filings and registrations"),
                l.tt("提交新的登记申请", "File a new application")
            ));
            let cal = st.calendar();
            let mut rows = String::new();
            let mut consents = String::new();
            for a in &apps {
                let cert = if a.registration.is_some() {
                    format!(
                        "<a href=\"/api/v1/public/records/{0}/certificate.pdf\">PDF</a> · <a href=\"/api/v1/public/records/{0}/certificate\">JSON</a>",
                        a.id
                    )
                } else {
                    String::new()
                };
                let name = format!("<a href=\"/me/filings/{}\">{}</a>", a.id, esc(&a.form.product_name));
                rows.push_str(&format!(
                    "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{cert}</td></tr>",
                    crate::web::layout::state_label(a.state, l),
                    deadline_label(a, l, &cal)
                ));
            }
            for a in &pledged {
                let pending = a
                    .holding
                    .iter()
                    .flat_map(|h| &h.encumbrances.pledges)
                    .filter(|p| p.status == PledgeStatus::Pending);
                for p in pending {
                    consents.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td>¥{}</td><td>{}</td><td>{} — {}</td><td><form method=\"post\" action=\"/me/pledges/consent\">\
                         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"record\" value=\"{}\">\
                         <input type=\"hidden\" name=\"pledge\" value=\"{}\"><button>{}</button></form></td></tr>",
                        esc(&a.form.product_name),
                        esc(&p.pledgee.name),
                        p.secured,
                        p.stated_rank,
                        p.term.start,
                        p.term.end,
                        a.id,
                        p.id,
                        l.tt("同意质押", "Consent")
                    ));
                }
            }
            body.push_str(&format!(
                "<div class=\"scroll\"><table class=\"list\" id=\"my-filings\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table></div><p class=\"pager\">{}</p>",
                l.tt("产品", "Product"),
                l.tt("状态", "Status"),
                l.tt("期限", "Deadline"),
                l.tt("证书", "Certificate"),
                crate::web::layout::pager(l, "/me?", view.page.max(1), PER_PAGE, total)
            ));
            if !consents.is_empty() {
                body.push_str(&format!(
                    "<h2>{}</h2><div class=\"scroll\"><table class=\"list\" id=\"pending-pledges\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th><span class=\"sr-only\">{}</span></th></tr>{consents}</table></div>",
                    l.tt("待同意的质押", "Pledges awaiting your consent"),
                    l.tt("产品", "Product"),
                    l.tt("质权人", "Pledgee"),
                    l.tt("担保金额", "Secured"),
                    l.tt("声明顺位", "Stated rank"),
                    l.tt("期限", "Term"),
                    l.tt("操作", "Actions")
                ));
            }
        }
        Role::Examiner => {
            let filter = ApplicationFilter {
                states: Status::ALL.into_iter().filter(|s| s.in_review_queue()).collect(),
                order: Order::OldestFirst,
                ..Default::default()
            };
            let found = st.store.applications(&filter, Page::new(view.page.max(1), PER_PAGE)).await;
            let (apps, total) = found.map(|p| (p.items, p.total)).unwrap_or_default();
            let mut rows = String::new();
            for a in &apps {
                let due = a.objections.iter().filter(|o| o.decision.is_none()).map(|o| o.decide_by).min();
                rows.push_str(&format!(
                    "<tr><td><a href=\"/review/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    a.id,
                    esc(&a.form.product_name),
                    esc(&a.applicant.name),
                    crate::web::layout::state_label(a.state, l),
                    due.map(|d| format!(
                        "{} {}",
                        l.tt("异议决定截止", "decide objection by"),
                        shown::date_zoned(d, l.en)
                    ))
                    .unwrap_or_default()
                ));
            }
            body.push_str(&format!(
                "<h2>{}</h2><div class=\"scroll\"><table class=\"list\" id=\"review-queue\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table></div><p class=\"pager\">{}</p>",
                l.tt("待审查（先到先审）", "Review queue (oldest first)"),
                l.tt("产品", "Product"),
                l.tt("申请人", "Applicant"),
                l.tt("状态", "Status"),
                l.tt("期限", "Deadline"),
                crate::web::layout::pager(l, "/me?", view.page.max(1), PER_PAGE, total)
            ));
            let filter = ApplicationFilter { open_disputes: true, order: Order::OldestFirst, ..Default::default() };
            let disputed = st.store.applications(&filter, Page::new(1, 100)).await.map(|p| p.items).unwrap_or_default();
            let mut rows = String::new();
            for a in &disputed {
                let open = a.holding.iter().flat_map(|h| &h.disputes).filter(|d| d.decision.is_none());
                let since = open.map(|d| d.filed_at).min();
                rows.push_str(&format!(
                    "<tr><td><a href=\"/review/{}#disputes\">{}</a></td><td>{}</td><td>{}</td></tr>",
                    a.id,
                    esc(&a.form.product_name),
                    esc(&a.holder().name),
                    since.map(shown::date).unwrap_or_default()
                ));
            }
            if !rows.is_empty() {
                body.push_str(&format!(
                    "<h2>{}</h2><div class=\"scroll\"><table class=\"list\" id=\"dispute-queue\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table></div>",
                    l.tt("待决定的登记后异议", "Objections after grant to decide"),
                    l.tt("产品", "Product"),
                    l.tt("权利人", "Holder"),
                    shown::zoned(l.tt("提出日期", "Filed"), l.en)
                ));
            }
        }
        _ => {}
    }
    if let Some(party) = user.party_id {
        let mut notes = st.store.events("party", &party.to_string()).await.unwrap_or_default();
        notes.retain(|e| e.kind == "notification");
        notes.reverse();
        let mut rows = String::new();
        for n in notes.iter().take(30) {
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                shown::date_zoned(n.at, l.en),
                esc(n.payload["product_name"].as_str().unwrap_or_default()),
                esc(&crate::web::layout::event_label(n.payload["event"].as_str().unwrap_or_default(), l.en))
            ));
        }
        body.push_str(&format!("<h2>{}</h2>", l.tt("通知", "Notifications")));
        if rows.is_empty() {
            body.push_str(&format!("<p class=\"muted\">{}</p>", l.tt("无", "None")));
        } else {
            body.push_str(&format!("<table class=\"list\" id=\"notifications\">{rows}</table>"));
        }
    }
    if user.role == Role::Admin {
        body.push_str(&format!(
            "<p><a class=\"button\" id=\"admin-link\" href=\"/admin\">{}</a></p>",
            l.tt("系统管理", "Administration")
        ));
    }
    if user.role == Role::Bank {
        body.push_str(&format!(
            "<p><a class=\"button\" href=\"/encumbrances\">{}</a></p>",
            l.tt("放贷前查询权利负担", "Search encumbrances before lending")
        ));
        body.push_str(&pledge_book(st, l, &user, &csrf, view).await);
        body.push_str(&pledge_form(l, &view.pledge, &view.errors, view.refusal.as_deref(), &csrf));
    }
    layout(l, l.tt("我的登记", "My registry"), "/me", &body, &[])
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    record: Uuid,
    pledge: Uuid,
}

async fn consent(
    State(st): State<Arc<Registry>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<ConsentForm>,
) -> Response {
    let l = Lang::of(q.lang(), &headers);
    let (user, _) = match signed_in_post(&st, &headers, &form.csrf, l).await {
        Ok(x) => x,
        Err(r) => return r,
    };
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
            let body = format!(
                "<h1>{}</h1><p class=\"result bad\" role=\"alert\">{}</p><p><a href=\"/me\">{}</a></p>",
                l.tt("未能登记质押", "The pledge was not registered"),
                esc(&crate::web::messages::refusal(&e, l)),
                l.tt("返回", "Back")
            );
            let mut r = layout(l, l.tt("质押", "Pledge"), "/me", &body, &[]);
            *r.status_mut() = crate::web::layout::status_of(&e);
            r
        }
    }
}
