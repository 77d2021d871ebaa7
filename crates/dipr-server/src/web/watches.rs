//! "My watches" (`/me/watches`): the signed-in account's watches, its alerts and its webhook endpoints, the
//! forms that make and stop them, and one endpoint's delivery log (`/me/webhooks/{id}`). Everything shown
//! and changed here is the account's own; another account's endpoint is "not found".

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use dipr_domain::shown;
use dipr_registry::watches::{NewEndpoint, NewWatch};
use dipr_registry::Registry;
use dipr_store::{AlertRecord, EmailMode, StoreError, UserRecord, WatchKind};
use serde::Deserialize;
use uuid::Uuid;

use crate::web::form::Errors;
use crate::web::i18n::Lang;
use crate::web::layout::{error_page, event_label, filters, page, status_of};
use crate::web::messages::refusal;
use crate::web::session::{csrf_of, posted, signed_in, SignedIn};

pub fn routes() -> Router<Arc<Registry>> {
    Router::new()
        .route("/me/watches", get(watches).post(create_watch))
        .route("/me/watches/stop", post(stop_watch))
        .route("/me/webhooks", post(create_endpoint))
        .route("/me/webhooks/{id}", get(endpoint))
        .route("/me/webhooks/state", post(set_endpoint_state))
}

/// An alert as the portal lists it.
pub struct AlertRow {
    pub at: String,
    pub product: String,
    pub event: String,
    pub record: Uuid,
    pub log_index: u64,
}

/// `user`'s newest alerts, for this page and the portal's.
pub async fn alert_rows(st: &Registry, l: Lang, user: &UserRecord, limit: u32) -> Result<Vec<AlertRow>, StoreError> {
    let alerts = st.store.alerts_of(user.id, limit).await?;
    Ok(alerts.iter().map(|a| alert_row(a, l)).collect())
}

fn alert_row(a: &AlertRecord, l: Lang) -> AlertRow {
    let product = match &a.registration_number {
        Some(n) => format!("{} ({n})", a.product_name),
        None => a.product_name.clone(),
    };
    AlertRow {
        at: shown::minute_zoned(a.at, l.en),
        product,
        event: event_label(&a.kind, l),
        record: a.application_id,
        log_index: a.log_index,
    }
}

struct WatchRow {
    id: Uuid,
    kind: String,
    label: String,
    /// The record watched, to link to.
    record: Option<String>,
    delivery: String,
    since: String,
    stopped: Option<String>,
}

struct EndpointRow {
    id: Uuid,
    url: String,
    description: String,
    status: String,
    failures: u32,
}

/// What the new-watch and new-endpoint forms hold.
#[derive(Deserialize, Default)]
pub struct WatchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    email_mode: String,
    #[serde(default)]
    endpoint_id: String,
}

#[derive(Deserialize, Default)]
pub struct EndpointForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
pub struct StopForm {
    #[serde(default)]
    csrf: String,
    watch: Uuid,
}

#[derive(Deserialize)]
pub struct StateForm {
    #[serde(default)]
    csrf: String,
    endpoint: Uuid,
    enabled: bool,
}

posted!(WatchForm, EndpointForm, StopForm, StateForm);

#[derive(Template)]
#[template(path = "watches/watches.html")]
struct WatchesPage {
    l: Lang,
    csrf: String,
    watches: Vec<WatchRow>,
    alerts: Vec<AlertRow>,
    endpoints: Vec<EndpointRow>,
    kinds: Vec<(String, String)>,
    modes: Vec<(String, String)>,
    /// The endpoints a watch may call: (id, url), and "none" first.
    endpoint_options: Vec<(String, String)>,
    watch: WatchForm,
    watch_errors: Errors,
    watch_refusal: Option<String>,
    endpoint: EndpointForm,
    endpoint_errors: Errors,
    endpoint_refusal: Option<String>,
    /// A new endpoint's signing secret, shown once.
    secret: Option<String>,
}

#[derive(Deserialize)]
pub struct WatchesQuery {
    /// A record to watch (the record page's "watch this" link): fills in the new-watch form.
    watch: Option<Uuid>,
    lang: Option<String>,
}

async fn watches(State(st): State<Arc<Registry>>, Query(q): Query<WatchesQuery>, headers: HeaderMap) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let (user, secret) = match signed_in(&st, &headers, l).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    let watch = match q.watch {
        Some(id) => WatchForm { kind: "registration".into(), target: id.to_string(), ..Default::default() },
        None => WatchForm::default(),
    };
    let view = View { watch, ..Default::default() };
    watches_page(&st, l, &user, &secret, view, StatusCode::OK).await
}

/// A re-rendered page's forms and messages.
#[derive(Default)]
struct View {
    watch: WatchForm,
    watch_errors: Errors,
    watch_refusal: Option<String>,
    endpoint: EndpointForm,
    endpoint_errors: Errors,
    endpoint_refusal: Option<String>,
    secret: Option<String>,
}

async fn watches_page(
    st: &Registry,
    l: Lang,
    user: &UserRecord,
    secret: &str,
    v: View,
    status: StatusCode,
) -> Response {
    let overview = match dipr_registry::watches::overview(st, user).await {
        Ok(o) => o,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &refusal(&e, l)),
    };
    let alerts = match alert_rows(st, l, user, 50).await {
        Ok(a) => a,
        Err(e) => return error_page(l, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let urls: std::collections::HashMap<Uuid, String> =
        overview.endpoints.iter().map(|e| (e.id, e.url.clone())).collect();
    let watches = overview
        .watches
        .iter()
        .map(|w| {
            let mut delivery = vec![l.t("watches-in-portal")];
            if let Some(email) = &w.email {
                delivery.push(l.t2(
                    "watches-by-email",
                    ("address", email.clone()),
                    ("mode", l.t(mode_id(w.email_mode))),
                ));
            }
            if let Some(url) = w.endpoint_id.and_then(|e| urls.get(&e)) {
                delivery.push(l.t1("watches-by-webhook", "url", url.clone()));
            }
            WatchRow {
                id: w.id,
                kind: l.t(kind_id(w.kind)),
                label: w.label.clone(),
                record: (w.kind == WatchKind::Registration).then(|| w.target.clone()),
                delivery: delivery.join(l.t("watches-separator").as_str()),
                since: shown::minute_zoned(w.created_at, l.en),
                stopped: w.stopped_at.map(|t| shown::minute_zoned(t, l.en)),
            }
        })
        .collect();
    let endpoints = overview
        .endpoints
        .iter()
        .map(|e| EndpointRow {
            id: e.id,
            url: e.url.clone(),
            description: e.description.clone(),
            status: endpoint_status(e, l),
            failures: e.failures,
        })
        .collect();
    let mut endpoint_options = vec![(String::new(), l.t("watches-no-webhook"))];
    endpoint_options.extend(
        overview.endpoints.iter().filter(|e| e.disabled_at.is_none()).map(|e| (e.id.to_string(), e.url.clone())),
    );
    let kinds = [WatchKind::Registration, WatchKind::Holder, WatchKind::Search]
        .into_iter()
        .map(|k| (k.as_str().to_string(), l.t(kind_id(k))))
        .collect();
    let modes = [EmailMode::None, EmailMode::Immediate, EmailMode::Daily]
        .into_iter()
        .map(|m| (m.as_str().to_string(), l.t(mode_id(m))))
        .collect();
    let view = WatchesPage {
        l,
        csrf: csrf_of(secret),
        watches,
        alerts,
        endpoints,
        kinds,
        modes,
        endpoint_options,
        watch: v.watch,
        watch_errors: v.watch_errors,
        watch_refusal: v.watch_refusal,
        endpoint: v.endpoint,
        endpoint_errors: v.endpoint_errors,
        endpoint_refusal: v.endpoint_refusal,
        secret: v.secret,
    };
    let mut r = page(l, &l.t("watches-heading"), "/me", &view, &[]);
    if r.status().is_success() {
        *r.status_mut() = status;
    }
    r
}

fn kind_id(k: WatchKind) -> &'static str {
    match k {
        WatchKind::Registration => "watches-kind-registration",
        WatchKind::Holder => "watches-kind-holder",
        WatchKind::Search => "watches-kind-search",
    }
}

fn mode_id(m: EmailMode) -> &'static str {
    match m {
        EmailMode::None => "watches-mode-none",
        EmailMode::Immediate => "watches-mode-immediate",
        EmailMode::Daily => "watches-mode-daily",
    }
}

fn endpoint_status(e: &dipr_store::EndpointRecord, l: Lang) -> String {
    match (e.disabled_at, e.disabled_reason.as_deref()) {
        (None, _) => l.t("watches-endpoint-enabled"),
        (Some(at), Some("failing")) => l.t1("watches-endpoint-disabled-failing", "at", shown::minute_zoned(at, l.en)),
        (Some(at), _) => l.t1("watches-endpoint-disabled-owner", "at", shown::minute_zoned(at, l.en)),
    }
}

async fn create_watch(State(st): State<Arc<Registry>>, sent: SignedIn<WatchForm>) -> Response {
    let SignedIn { l, user, secret, form: f, .. } = sent;
    let mut problems = Vec::new();
    let kind = WatchKind::parse(&f.kind);
    if kind.is_none() {
        problems.push(dipr_domain::FieldError::new("kind", "required", "choose what to watch"));
    }
    let email_mode = if f.email_mode.is_empty() { Some(EmailMode::None) } else { EmailMode::parse(&f.email_mode) };
    if email_mode.is_none() {
        problems.push(dipr_domain::FieldError::new("email_mode", "required", "choose how to be mailed"));
    }
    let endpoint_id = match f.endpoint_id.trim() {
        "" => None,
        id => match Uuid::parse_str(id) {
            Ok(id) => Some(id),
            Err(_) => {
                problems.push(dipr_domain::FieldError::new("endpoint_id", "unknown_endpoint", ""));
                None
            }
        },
    };
    let result = match (kind, email_mode) {
        (Some(kind), Some(email_mode)) if problems.is_empty() => {
            let email = Some(f.email.clone()).filter(|e| !e.trim().is_empty());
            let input = NewWatch { kind, target: f.target.clone(), email, email_mode, endpoint_id };
            dipr_registry::watches::create_watch(&st, &user, input).await.map(|_| ())
        }
        _ => Err(dipr_registry::Error::validation(problems)),
    };
    match result {
        Ok(()) => Redirect::to("/me/watches").into_response(),
        Err(e) => {
            let view = View {
                watch_errors: Errors::fields(&e.details, l),
                watch_refusal: e.details.is_empty().then(|| refusal(&e, l)),
                watch: f,
                ..Default::default()
            };
            watches_page(&st, l, &user, &secret, view, status_of(&e)).await
        }
    }
}

async fn stop_watch(State(st): State<Arc<Registry>>, SignedIn { l, user, form, .. }: SignedIn<StopForm>) -> Response {
    match dipr_registry::watches::stop_watch(&st, &user, form.watch).await {
        Ok(()) => Redirect::to("/me/watches").into_response(),
        Err(e) => error_page(l, status_of(&e), &refusal(&e, l)),
    }
}

async fn create_endpoint(State(st): State<Arc<Registry>>, sent: SignedIn<EndpointForm>) -> Response {
    let SignedIn { l, user, secret, form: f, .. } = sent;
    let input = NewEndpoint { url: f.url.clone(), description: f.description.clone() };
    match dipr_registry::watches::create_endpoint(&st, &user, input).await {
        // The secret is shown on this answer only (a repeat of the same form gets this answer back).
        Ok((_, signing)) => {
            let view = View { secret: Some(signing), ..Default::default() };
            watches_page(&st, l, &user, &secret, view, StatusCode::CREATED).await
        }
        Err(e) => {
            let view = View {
                endpoint_errors: Errors::fields(&e.details, l),
                endpoint_refusal: e.details.is_empty().then(|| refusal(&e, l)),
                endpoint: f,
                ..Default::default()
            };
            watches_page(&st, l, &user, &secret, view, status_of(&e)).await
        }
    }
}

struct AttemptRow {
    at: String,
    delivery: Uuid,
    attempt: u32,
    event: String,
    product: String,
    log_index: u64,
    status: String,
    error: String,
    state: String,
}

#[derive(Template)]
#[template(path = "watches/endpoint.html")]
struct EndpointPage {
    l: Lang,
    csrf: String,
    id: Uuid,
    url: String,
    description: String,
    status: String,
    enabled: bool,
    failures: u32,
    attempts: Vec<AttemptRow>,
}

#[derive(Deserialize)]
pub struct LangOnly {
    lang: Option<String>,
}

async fn endpoint(
    State(st): State<Arc<Registry>>,
    Path(id): Path<String>,
    Query(q): Query<LangOnly>,
    headers: HeaderMap,
) -> Response {
    let l = Lang::of(q.lang.as_deref(), &headers);
    let (user, secret) = match signed_in(&st, &headers, l).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return error_page(l, StatusCode::NOT_FOUND, &l.t("watches-endpoint-not-found"));
    };
    let (e, attempts) = match dipr_registry::watches::endpoint_log(&st, &user, id).await {
        Ok(found) => found,
        Err(e) if e.code == "not_found" => {
            return error_page(l, StatusCode::NOT_FOUND, &l.t("watches-endpoint-not-found"))
        }
        Err(e) => return error_page(l, status_of(&e), &refusal(&e, l)),
    };
    let view = EndpointPage {
        l,
        csrf: csrf_of(&secret),
        id: e.id,
        url: e.url.clone(),
        description: e.description.clone(),
        status: endpoint_status(&e, l),
        enabled: e.disabled_at.is_none(),
        failures: e.failures,
        attempts: attempts
            .iter()
            .map(|a| AttemptRow {
                at: shown::minute_zoned(a.at, l.en),
                delivery: a.delivery_id,
                attempt: a.attempt,
                event: event_label(&a.kind, l),
                product: a.product_name.clone(),
                log_index: a.log_index,
                status: a.status.map(|s| s.to_string()).unwrap_or_default(),
                error: a.error.clone(),
                state: l
                    .lookup(&format!("watches-delivery-{}", a.delivery_state))
                    .unwrap_or_else(|| a.delivery_state.clone()),
            })
            .collect(),
    };
    page(l, &l.t("watches-endpoint-heading"), "/me", &view, &[])
}

async fn set_endpoint_state(
    State(st): State<Arc<Registry>>,
    SignedIn { l, user, form, .. }: SignedIn<StateForm>,
) -> Response {
    match dipr_registry::watches::set_endpoint_enabled(&st, &user, form.endpoint, form.enabled).await {
        Ok(e) => Redirect::to(&format!("/me/webhooks/{}", e.id)).into_response(),
        Err(e) => error_page(l, status_of(&e), &refusal(&e, l)),
    }
}
