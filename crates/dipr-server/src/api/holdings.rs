//! The API of registered products (`/api/v1/records/{id}/…`): holder changes, transfers, licences,
//! transactions, pledges and consents, data versions and renewal, disputes after grant; the banks'
//! encumbrance search; statistics as JSON and CSV; and a party's notifications.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use dipr_domain::access::{Actor, Role};
use dipr_domain::application::Dispute;
use dipr_domain::application::{check_objection_text, Application, ObjectionOutcome};
use dipr_domain::encumbrance::{Consent, ConsentPurpose};
use dipr_domain::holding::{Operation, Transaction};
use dipr_store::{EventRecord, Paged, Statistics};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::params::PageParams;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::error::ErrorEnvelope;
use crate::error::Json;
use crate::error::Path;
use crate::error::Query;
use dipr_registry::audit::actor_of;
use dipr_registry::figures::Snapshot;
use dipr_registry::holdings::party;
use dipr_registry::holdings::LicenceRequest;
use dipr_registry::holdings::PledgeRequest;
use dipr_registry::holdings::TransactionRequest;
use dipr_registry::input::Amount;
use dipr_registry::input::Fields;
use dipr_registry::records;
use dipr_registry::records::StatsParams;
use dipr_registry::Registry;

type S = AxState<Arc<Registry>>;

pub fn routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new()
        .routes(routes!(change_holder_details))
        .routes(routes!(transfer))
        .routes(routes!(succession))
        .routes(routes!(grant_licence))
        .routes(routes!(terminate_licence))
        .routes(routes!(list_transactions, book_transaction))
        .routes(routes!(file_pledge))
        .routes(routes!(consent_to_pledge))
        .routes(routes!(release_pledge))
        .routes(routes!(enforce_pledge))
        .routes(routes!(give_consent))
        .routes(routes!(add_version))
        .routes(routes!(renew))
        .routes(routes!(file_dispute))
        .routes(routes!(decide_dispute))
        .routes(routes!(encumbrance_search))
        .routes(routes!(search_certificate))
        .routes(routes!(statistics))
        .routes(routes!(statistics_csv))
        .routes(routes!(notifications))
}

// ---------------------------------------------------------------------------------------------------
// Input parsing: amounts and dates arrive as text so that a bad one gets its own field error.

fn signed_in(caller: &Caller) -> ApiResult<Actor> {
    Ok(actor_of(caller.user()?))
}

async fn op(st: &Registry, caller: &Caller, id: Uuid, op: Operation) -> ApiResult<Json<Application>> {
    let actor = signed_in(caller)?;
    Ok(Json(dipr_registry::holdings::operate(st, id, op, &actor).await?))
}

// ---------------------------------------------------------------------------------------------------
// Holder and transfers

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderDetailsRequest {
    /// The holder's new name (its identifier does not change).
    pub name: String,
    /// Why, e.g. the registration of the change of name.
    #[serde(default)]
    pub reasons: String,
}

/// Record a change of the holder's name. The holder only; the certificate is issued again.
#[utoipa::path(post, path = "/records/{id}/holder-details", request_body = HolderDetailsRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn change_holder_details(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<HolderDetailsRequest>,
) -> ApiResult<Json<Application>> {
    op(&st, &caller, id, Operation::ChangeHolderDetails { name: req.name, reasons: req.reasons }).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Credit code (or ID number) of the registered party taking the product.
    pub to: String,
    /// The price, booked as a trade when given.
    #[serde(default)]
    pub price: Option<Amount>,
}

/// Transfer the product to another registered party. The holder only; while pledged, every active
/// pledgee must have consented.
#[utoipa::path(post, path = "/records/{id}/transfer", request_body = TransferRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn transfer(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<TransferRequest>,
) -> ApiResult<Json<Application>> {
    signed_in(&caller)?;
    let mut f = Fields::default();
    let price = req.price.as_ref().and_then(|p| f.money("price", p));
    f.done()?;
    let to = party(&st, &req.to, "to").await?;
    op(&st, &caller, id, Operation::Transfer { to, price }).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessionRequest {
    pub to: String,
    /// The ground and its evidence (inheritance, merger, court order).
    pub reasons: String,
}

/// Record a unilateral change of holder (inheritance, merger). Examiners only.
#[utoipa::path(post, path = "/records/{id}/succession", request_body = SuccessionRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn succession(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<SuccessionRequest>,
) -> ApiResult<Json<Application>> {
    caller.require(&[Role::Examiner])?;
    let to = party(&st, &req.to, "to").await?;
    op(&st, &caller, id, Operation::Succession { to, reasons: req.reasons }).await
}

// ---------------------------------------------------------------------------------------------------
// Licences and transactions

/// Register a licence. The holder only. An exclusive or sole licence refuses overlap; an exclusive
/// licence of a pledged product needs the pledgees' consent.
#[utoipa::path(post, path = "/records/{id}/licences", request_body = LicenceRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn grant_licence(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<LicenceRequest>,
) -> ApiResult<Json<Application>> {
    Ok(Json(dipr_registry::holdings::grant_licence(&st, &signed_in(&caller)?, id, req).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonsRequest {
    #[serde(default)]
    pub reasons: String,
}

/// End a licence early. The holder or the licensee.
#[utoipa::path(post, path = "/records/{id}/licences/{lid}/terminate", request_body = ReasonsRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("lid" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn terminate_licence(
    AxState(st): S,
    caller: Caller,
    Path((id, lid)): Path<(Uuid, Uuid)>,
    Json(req): Json<ReasonsRequest>,
) -> ApiResult<Json<Application>> {
    op(&st, &caller, id, Operation::TerminateLicence { licence_id: lid, reasons: req.reasons }).await
}

/// Book a transaction (licence fee, trade, service fee) earned with the product. The holder only.
#[utoipa::path(post, path = "/records/{id}/transactions", request_body = TransactionRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 201, body = Transaction), (status = "4XX", body = ErrorEnvelope)))]
async fn book_transaction(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<TransactionRequest>,
) -> ApiResult<impl IntoResponse> {
    let t = dipr_registry::holdings::book_transaction(&st, &signed_in(&caller)?, id, req).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// The transactions booked against a product: its holder, examiners and administrators.
#[utoipa::path(get, path = "/records/{id}/transactions", tag = "registered", security(("bearer" = [])),
    params(("id" = Uuid, Path), PageParams), responses((status = 200, body = Paged<Transaction>), (status = "4XX", body = ErrorEnvelope)))]
async fn list_transactions(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Query(q): Query<PageParams>,
) -> ApiResult<Json<Paged<Transaction>>> {
    let actor = signed_in(&caller)?;
    let app =
        st.store.application(id).await?.filter(Application::is_public).ok_or_else(|| ApiError::not_found("record"))?;
    if !matches!(actor.role, Role::Examiner | Role::Admin) {
        dipr_domain::access::require_holder(&actor, &app)?;
    }
    let page = crate::api::params::page_of(q.page, q.per_page)?;
    Ok(Json(st.store.transactions(id, page).await?))
}

// ---------------------------------------------------------------------------------------------------
// Pledges and consents

/// A bank files a pledge. It takes effect when the holder consents.
#[utoipa::path(post, path = "/records/{id}/pledges", request_body = PledgeRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn file_pledge(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<PledgeRequest>,
) -> ApiResult<Json<Application>> {
    let user = caller.require(&[Role::Bank])?;
    Ok(Json(dipr_registry::holdings::file_pledge(&st, user, id, &req).await?))
}

/// The holder consents to a filed pledge, which registers it with its rank; earlier pledgees are notified.
#[utoipa::path(post, path = "/records/{id}/pledges/{pid}/consent", tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("pid" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn consent_to_pledge(
    AxState(st): S,
    caller: Caller,
    Path((id, pid)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<Application>> {
    op(&st, &caller, id, Operation::ConsentToPledge { pledge_id: pid }).await
}

/// The pledgee releases its pledge.
#[utoipa::path(post, path = "/records/{id}/pledges/{pid}/release", tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("pid" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn release_pledge(
    AxState(st): S,
    caller: Caller,
    Path((id, pid)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<Application>> {
    op(&st, &caller, id, Operation::ReleasePledge { pledge_id: pid }).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnforceRequest {
    /// The party the product goes to (credit code or ID number).
    pub to: String,
    /// The default and the enforcement title.
    pub reasons: String,
}

/// The senior pledgee enforces its pledge on default: the product goes to the named party.
#[utoipa::path(post, path = "/records/{id}/pledges/{pid}/enforce", request_body = EnforceRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("pid" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn enforce_pledge(
    AxState(st): S,
    caller: Caller,
    Path((id, pid)): Path<(Uuid, Uuid)>,
    Json(req): Json<EnforceRequest>,
) -> ApiResult<Json<Application>> {
    signed_in(&caller)?;
    let to = party(&st, &req.to, "to").await?;
    op(&st, &caller, id, Operation::EnforcePledge { pledge_id: pid, to, reasons: req.reasons }).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub purpose: ConsentPurpose,
    /// The transferee or licensee consented to; anyone when absent.
    #[serde(default)]
    pub counterparty: Option<String>,
}

/// The pledgee of an active pledge consents to one transfer, exclusive licence or cancellation.
#[utoipa::path(post, path = "/records/{id}/pledges/{pid}/consents", request_body = ConsentRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("pid" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn give_consent(
    AxState(st): S,
    caller: Caller,
    Path((id, pid)): Path<(Uuid, Uuid)>,
    Json(req): Json<ConsentRequest>,
) -> ApiResult<Json<Application>> {
    signed_in(&caller)?;
    let counterparty = match &req.counterparty {
        Some(c) if !c.trim().is_empty() => Some(party(&st, c, "counterparty").await?.id),
        _ => None,
    };
    let consent = Consent {
        id: Uuid::now_v7(),
        pledge_id: pid,
        purpose: req.purpose,
        counterparty,
        given_at: st.clock.now(),
        used_at: None,
    };
    op(&st, &caller, id, Operation::GiveConsent { consent }).await
}

// ---------------------------------------------------------------------------------------------------
// Data versions and renewal

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionRequest {
    /// The new data's manifest from `dipr fingerprint --discovery-key …`.
    #[schema(value_type = Object)]
    pub manifest: dipr_fingerprint::Manifest,
    #[serde(default)]
    pub note: String,
}

async fn versioned(
    st: &Registry,
    caller: &Caller,
    id: Uuid,
    manifest: &dipr_fingerprint::Manifest,
    renew: bool,
    note: String,
) -> ApiResult<Json<Application>> {
    let actor = signed_in(caller)?;
    let checked = dipr_registry::fingerprints::check_manifest(st, manifest)?;
    let op = if renew {
        Operation::Renew { commitment: checked.commitment.clone() }
    } else {
        Operation::NewVersion { commitment: checked.commitment.clone(), note }
    };
    Ok(Json(dipr_registry::holdings::operate_at(st, id, op, &actor, st.clock.now(), Some(checked)).await?))
}

/// Attest a new version of the product's data. The holder only; the certificate is issued again
/// naming the new version.
#[utoipa::path(post, path = "/records/{id}/versions", request_body = VersionRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn add_version(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<VersionRequest>,
) -> ApiResult<Json<Application>> {
    versioned(&st, &caller, id, &req.manifest, false, req.note).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    /// The current data's manifest: renewal re-attests it.
    #[schema(value_type = Object)]
    pub manifest: dipr_fingerprint::Manifest,
}

/// Renew the registration within the renewal window before it expires, re-attesting the data.
#[utoipa::path(post, path = "/records/{id}/renewal", request_body = RenewRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn renew(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<RenewRequest>,
) -> ApiResult<Json<Application>> {
    versioned(&st, &caller, id, &req.manifest, true, String::new()).await
}

// ---------------------------------------------------------------------------------------------------
// Disputes after grant

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeRequest {
    pub objector_name: String,
    /// Not published.
    #[serde(default)]
    pub objector_contact: String,
    pub grounds: String,
}

/// Object to a registration after grant (anyone). The record is flagged as disputed until decided.
#[utoipa::path(post, path = "/records/{id}/disputes", request_body = DisputeRequest, tag = "registered",
    params(("id" = Uuid, Path)), responses((status = 201, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn file_dispute(
    AxState(st): S,
    caller: Caller,
    crate::peer::Peer(client): crate::peer::Peer,
    Path(id): Path<Uuid>,
    Json(req): Json<DisputeRequest>,
) -> ApiResult<impl IntoResponse> {
    let mut actor = caller.actor();
    if caller.user.is_none() {
        actor.name = req.objector_name.trim().to_string();
    }
    let problems = check_objection_text(&req.objector_name, &req.objector_contact, &req.grounds, &[]);
    dipr_registry::filings::admit_objection(&st, problems, client, id, caller.user.is_none())?;
    let dispute = Dispute {
        id: Uuid::now_v7(),
        filed_at: st.clock.now(),
        filed_by: actor.user_id,
        objector_name: req.objector_name.trim().to_string(),
        objector_contact: req.objector_contact.trim().to_string(),
        grounds: req.grounds.trim().to_string(),
        decision: None,
    };
    let app = dipr_registry::holdings::operate(&st, id, Operation::FileDispute { dispute }, &actor).await?;
    Ok((StatusCode::CREATED, Json(app)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeDecisionRequest {
    /// `upheld` revokes the registration; `dismissed` clears the flag.
    pub outcome: ObjectionOutcome,
    pub reasons: String,
}

/// Decide an objection after grant. Examiners only.
#[utoipa::path(post, path = "/records/{id}/disputes/{did}/decision", request_body = DisputeDecisionRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("did" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn decide_dispute(
    AxState(st): S,
    caller: Caller,
    Path((id, did)): Path<(Uuid, Uuid)>,
    Json(req): Json<DisputeDecisionRequest>,
) -> ApiResult<Json<Application>> {
    caller.require(&[Role::Examiner])?;
    op(&st, &caller, id, Operation::DecideDispute { dispute_id: did, outcome: req.outcome, reasons: req.reasons }).await
}

// ---------------------------------------------------------------------------------------------------
// Search before lending

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EncumbranceParams {
    /// Registration number, credit code, or part of a product's or holder's name.
    pub q: String,
    /// Include products no longer registered (cancelled, revoked, expired).
    #[serde(default)]
    pub all: bool,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Everything resting on matching products: pledges (with rank and amount), licences, disputes.
#[utoipa::path(get, path = "/encumbrances", tag = "registered", params(EncumbranceParams),
    responses((status = 200, body = Paged<Object>), (status = "4XX", body = ErrorEnvelope)))]
async fn encumbrance_search(
    AxState(st): S,
    Query(q): Query<EncumbranceParams>,
) -> ApiResult<Json<Paged<Box<RawValue>>>> {
    let page = crate::api::params::page_of(q.page, q.per_page)?;
    Ok(Json(records::encumbrances(&st, &q.q, q.all, page).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchCertificateParams {
    /// Registration number, credit code, or part of a product's or holder's name.
    pub q: String,
    /// Include products no longer registered (cancelled, revoked, expired).
    #[serde(default)]
    pub all: bool,
}

/// A search certificate (查询证明): the encumbrance search's results (at most 100 records; `complete` says
/// whether that was all), the time, and the signed checkpoint they were read at, signed by the registry.
/// Verify it offline with `dipr verify FILE --trusted-key KEY`. Signed in, the certificate names the account.
#[utoipa::path(get, path = "/encumbrances/certificate", tag = "registered", params(SearchCertificateParams),
    responses((status = 200, description = "The signed search certificate (JSON)", content_type = "application/json"),
        (status = "4XX", body = ErrorEnvelope)))]
async fn search_certificate(
    AxState(st): S,
    caller: Caller,
    Query(q): Query<SearchCertificateParams>,
) -> ApiResult<impl IntoResponse> {
    let requested_by = caller.user.as_ref().map(|u| u.display_name.clone());
    let cert = records::search_certificate(&st, &q.q, q.all, requested_by).await?;
    let body = serde_json::to_string_pretty(&cert).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"dipr-search-certificate.json\"".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    ))
}

// ---------------------------------------------------------------------------------------------------
// Statistics

/// Every figure the administration publishes, for a period, object type, industry and applicant kind.
/// Unfiltered, the figures are a snapshot refreshed every `refresh_secs` and taken at `as_of`; filtered,
/// they are computed for the request.
#[utoipa::path(get, path = "/statistics", tag = "statistics", params(StatsParams),
    responses((status = 200, body = Snapshot), (status = "4XX", body = ErrorEnvelope)))]
async fn statistics(AxState(st): S, Query(q): Query<StatsParams>) -> ApiResult<Json<Snapshot>> {
    let snap = records::statistics(&st, &q.parse()?).await?;
    Ok(Json(Snapshot::clone(&snap)))
}

/// The same figures as CSV (`section,key,value`; amounts in yuan).
#[utoipa::path(get, path = "/statistics.csv", tag = "statistics", params(StatsParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = "4XX", body = ErrorEnvelope)))]
async fn statistics_csv(AxState(st): S, Query(q): Query<StatsParams>) -> ApiResult<impl IntoResponse> {
    let s = records::statistics(&st, &q.parse()?).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"dipr-statistics.csv\""),
        ],
        to_csv(&s.statistics),
    ))
}

/// One row per figure: section, key, value.
pub fn to_csv(s: &Statistics) -> String {
    fn field(v: &str) -> String {
        if v.contains([',', '"', '\n']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_string()
        }
    }
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut row = |section: &str, key: &str, value: String| rows.push((section.into(), key.into(), value));
    row("filings", "applications", s.applications.to_string());
    row("filings", "certificates", s.certificates.to_string());
    row("filings", "rejected", s.rejected.to_string());
    row("filings", "refused", s.refused.to_string());
    row("filings", "withdrawn", s.withdrawn.to_string());
    let days = |d: Option<f64>| d.map(|d| format!("{d:.1}")).unwrap_or_default();
    row("decision_days", "decided", s.decision_times.decided.to_string());
    row("decision_days", "mean", days(s.decision_times.mean_days));
    row("decision_days", "median", days(s.decision_times.median_days));
    row("decision_days", "p90", days(s.decision_times.p90_days));
    row("applicants", "total", s.applicants.total.to_string());
    for c in &s.applicants.by_kind {
        row("applicants_by_kind", &c.key, c.count.to_string());
    }
    for c in &s.applicants.by_ownership {
        row("applicants_by_ownership", &c.key, c.count.to_string());
    }
    row("applicants", "high_tech", s.applicants.high_tech.to_string());
    row("applicants", "specialised_innovative", s.applicants.specialised_innovative.to_string());
    row("applicants", "university_or_institute", s.applicants.university_or_institute.to_string());
    for c in &s.products_by_object_type {
        row("certificates_by_object_type", &c.key, c.count.to_string());
    }
    for c in &s.products_by_industry {
        row("certificates_by_industry", &c.key, c.count.to_string());
    }
    row("economic_value", "transactions", s.economic_value.transactions.to_string());
    row("economic_value", "amount_yuan", dipr_domain::shown::yuan(s.economic_value.amount_fen));
    row("economic_value", "products", s.economic_value.products.to_string());
    for k in &s.economic_value.by_kind {
        row("economic_value_yuan", &k.kind, dipr_domain::shown::yuan(k.amount_fen));
        row("economic_value_transactions", &k.kind, k.transactions.to_string());
        if let Some(p) = k.products {
            row("economic_value_products", &k.kind, p.to_string());
        }
    }
    row("pledge_financing", "enterprises", s.pledge_financing.enterprises.to_string());
    row("pledge_financing", "loans", s.pledge_financing.loans.to_string());
    row("pledge_financing", "amount_yuan", dipr_domain::shown::yuan(s.pledge_financing.amount_fen));
    row("pledge_financing", "active_now", s.pledge_financing.active_now.to_string());
    for m in &s.monthly {
        row("monthly_applications", &m.month, m.applications.to_string());
        row("monthly_certificates", &m.month, m.certificates.to_string());
        row("monthly_value_yuan", &m.month, dipr_domain::shown::yuan(m.value_fen));
    }
    let mut out = String::from("section,key,value\n");
    for (a, b, c) in rows {
        out.push_str(&format!("{},{},{}\n", field(&a), field(&b), field(&c)));
    }
    out
}

// ---------------------------------------------------------------------------------------------------
// Notifications

#[derive(Debug, Serialize, ToSchema)]
pub struct Notifications {
    pub items: Vec<EventRecord>,
}

/// What happened to products the caller's party has a stake in: pledges filed on its products,
/// further pledges ranking after its own, consents, disputes.
#[utoipa::path(get, path = "/me/notifications", tag = "registered", security(("bearer" = [])),
    responses((status = 200, body = Notifications), (status = "4XX", body = ErrorEnvelope)))]
async fn notifications(AxState(st): S, caller: Caller) -> ApiResult<Json<Notifications>> {
    let user = caller.user()?;
    let Some(party) = user.party_id else {
        return Ok(Json(Notifications { items: Vec::new() }));
    };
    let mut items = st.store.events("party", &party.to_string()).await?;
    items.retain(|e| e.kind == "notification");
    items.reverse();
    Ok(Json(Notifications { items }))
}
