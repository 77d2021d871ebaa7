//! The API of registered products (`/api/v1/records/{id}/…`): holder changes, transfers, licences,
//! transactions, pledges and consents, data versions and renewal, disputes after grant; the banks'
//! encumbrance search; statistics as JSON and CSV; and a party's notifications.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use dipr_domain::application::{check_objection_text, Application, ObjectType, ObjectionOutcome, State};
use dipr_domain::encumbrance::{Consent, ConsentPurpose, Licence, LicenceKind, Money, Reach, Term};
use dipr_domain::holding::{self, Dispute, NewTransaction, Operation, Transaction, TransactionKind};
use dipr_domain::lifecycle::{Actor, Role};
use dipr_domain::{DomainError, FieldError};
use dipr_store::{ApplicationFilter, EventRecord, Page, Paged, Statistics, StatsFilter, UserRecord};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::PageParams;
use crate::auth::{actor_of, Caller};
use crate::error::{ApiError, ApiResult, ErrorEnvelope, Json, Path, Query};
use crate::operations::{self, party};
use crate::throttle::Client;
use crate::AppState;

type S = AxState<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/records/{id}/holder-details", post(change_holder_details))
        .route("/records/{id}/transfer", post(transfer))
        .route("/records/{id}/succession", post(succession))
        .route("/records/{id}/licences", post(grant_licence))
        .route("/records/{id}/licences/{lid}/terminate", post(terminate_licence))
        .route("/records/{id}/transactions", get(list_transactions).post(book_transaction))
        .route("/records/{id}/pledges", post(file_pledge))
        .route("/records/{id}/pledges/{pid}/consent", post(consent_to_pledge))
        .route("/records/{id}/pledges/{pid}/release", post(release_pledge))
        .route("/records/{id}/pledges/{pid}/enforce", post(enforce_pledge))
        .route("/records/{id}/pledges/{pid}/consents", post(give_consent))
        .route("/records/{id}/versions", post(add_version))
        .route("/records/{id}/renewal", post(renew))
        .route("/records/{id}/disputes", post(file_dispute))
        .route("/records/{id}/disputes/{did}/decision", post(decide_dispute))
        .route("/encumbrances", get(encumbrance_search))
        .route("/statistics", get(statistics))
        .route("/statistics.csv", get(statistics_csv))
        .route("/me/notifications", get(notifications))
}

// ---------------------------------------------------------------------------------------------------
// Input parsing: amounts and dates arrive as text so that a bad one gets its own field error.

/// An amount in yuan: `"12345.67"` or a JSON number.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Amount {
    Text(String),
    #[schema(value_type = f64)]
    Number(serde_json::Number),
}

impl Amount {
    fn raw(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Number(n) => n.to_string(),
        }
    }
}

/// Collects field errors so that a form reports every bad field at once.
#[derive(Default)]
struct Fields(Vec<FieldError>);

impl Fields {
    fn money(&mut self, field: &str, a: &Amount) -> Option<Money> {
        match Money::parse(&a.raw()).and_then(|m| m.positive(field)) {
            Ok(m) => Some(m),
            Err(_) => {
                self.0.push(FieldError::new(
                    field,
                    "invalid_amount",
                    format!("{:?} is not an amount in yuan above zero with at most two decimals", a.raw()),
                ));
                None
            }
        }
    }
    fn date(&mut self, field: &str, raw: &str) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.0.push(FieldError::new(field, "invalid_date", format!("{raw:?} is not a date (YYYY-MM-DD)")));
                None
            }
        }
    }
    fn term(&mut self, start: &str, end: &str) -> Option<Term> {
        let (s, e) = (self.date("start", start), self.date("end", end));
        match Term::new(s?, e?) {
            Ok(t) => Some(t),
            Err(DomainError::Validation(mut errs)) => {
                for e in &mut errs {
                    e.field = "end".into();
                }
                self.0.extend(errs);
                None
            }
            Err(_) => None,
        }
    }
    fn done(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}

fn signed_in(caller: &Caller) -> ApiResult<Actor> {
    Ok(actor_of(caller.user()?))
}

async fn op(st: &AppState, caller: &Caller, id: Uuid, op: Operation) -> ApiResult<Json<Application>> {
    let actor = signed_in(caller)?;
    Ok(Json(operations::operate(st, id, op, &actor).await?))
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
#[utoipa::path(post, path = "/api/v1/records/{id}/holder-details", request_body = HolderDetailsRequest, tag = "registered",
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
#[utoipa::path(post, path = "/api/v1/records/{id}/transfer", request_body = TransferRequest, tag = "registered",
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
#[utoipa::path(post, path = "/api/v1/records/{id}/succession", request_body = SuccessionRequest, tag = "registered",
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenceRequest {
    /// Credit code (or ID number) of the registered licensee.
    pub licensee: String,
    pub kind: LicenceKind,
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    /// Last day, `YYYY-MM-DD`.
    pub end: String,
    /// Empty: everywhere.
    #[serde(default)]
    pub territories: Vec<String>,
    /// Empty: every use.
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub fee: Option<Amount>,
}

/// Register a licence. The holder only. An exclusive or sole licence refuses overlap; an exclusive
/// licence of a pledged product needs the pledgees' consent.
#[utoipa::path(post, path = "/api/v1/records/{id}/licences", request_body = LicenceRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn grant_licence(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<LicenceRequest>,
) -> ApiResult<Json<Application>> {
    Ok(Json(grant_licence_as(&st, &signed_in(&caller)?, id, req).await?))
}

/// Check a licence request (every bad field at once) and register it: the API's and the web's way in.
pub async fn grant_licence_as(st: &AppState, actor: &Actor, id: Uuid, req: LicenceRequest) -> ApiResult<Application> {
    let mut f = Fields::default();
    let term = f.term(&req.start, &req.end);
    let fee = req.fee.as_ref().and_then(|a| f.money("fee", a));
    let clean = |v: Vec<String>| -> Vec<String> {
        v.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
    };
    let reach = Reach { territories: clean(req.territories), scopes: clean(req.scopes) };
    if reach.territories.len() + reach.scopes.len() > 100 {
        f.0.push(FieldError::new("territories", "too_many", "at most 100 territories and scopes"));
    }
    f.done()?;
    let licensee = party(st, &req.licensee, "licensee").await?;
    let licence = Licence {
        id: Uuid::now_v7(),
        licensee,
        kind: req.kind,
        term: term.expect("checked"),
        reach,
        fee,
        granted_at: st.clock.now(),
        terminated_at: None,
    };
    operations::operate(st, id, Operation::GrantLicence { licence }, actor).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonsRequest {
    #[serde(default)]
    pub reasons: String,
}

/// End a licence early. The holder or the licensee.
#[utoipa::path(post, path = "/api/v1/records/{id}/licences/{lid}/terminate", request_body = ReasonsRequest, tag = "registered",
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionRequest {
    pub kind: TransactionKind,
    pub amount: Amount,
    /// `YYYY-MM-DD`, not in the future.
    pub occurred_on: String,
    pub counterparty: String,
    #[serde(default)]
    pub licence_id: Option<Uuid>,
    #[serde(default)]
    pub note: String,
}

/// Book a transaction (licence fee, trade, service fee) earned with the product. The holder only.
#[utoipa::path(post, path = "/api/v1/records/{id}/transactions", request_body = TransactionRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 201, body = Transaction), (status = "4XX", body = ErrorEnvelope)))]
async fn book_transaction(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<TransactionRequest>,
) -> ApiResult<impl IntoResponse> {
    let t = book_transaction_as(&st, &signed_in(&caller)?, id, req).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// Check a transaction (every bad field at once) and book it: the API's and the web's way in.
pub async fn book_transaction_as(
    st: &AppState,
    actor: &Actor,
    id: Uuid,
    req: TransactionRequest,
) -> ApiResult<Transaction> {
    let mut f = Fields::default();
    let amount = f.money("amount", &req.amount);
    let occurred_on = f.date("occurred_on", &req.occurred_on);
    f.done()?;
    let input = NewTransaction {
        kind: req.kind,
        amount: amount.expect("checked"),
        occurred_on: occurred_on.expect("checked"),
        counterparty: req.counterparty,
        licence_id: req.licence_id,
        note: req.note,
    };
    operations::book_transaction(st, id, input, actor).await
}

/// The transactions booked against a product: its holder, examiners and administrators.
#[utoipa::path(get, path = "/api/v1/records/{id}/transactions", tag = "registered", security(("bearer" = [])),
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
        holding::require_holder(&actor, &app)?;
    }
    let page = Page::new(q.page.unwrap_or(1), q.per_page.unwrap_or(20));
    Ok(Json(st.store.transactions(id, page).await?))
}

// ---------------------------------------------------------------------------------------------------
// Pledges and consents

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PledgeRequest {
    /// Whose loan it secures (credit code or ID number); the holder when absent.
    #[serde(default)]
    pub debtor: Option<String>,
    pub secured: Amount,
    /// The loan's first day, `YYYY-MM-DD`.
    pub start: String,
    /// The loan's last day.
    pub end: String,
    /// The rank this pledge will take: 1 if no pledge was ever registered on the product, and so on.
    pub rank: u32,
}

/// A bank files a pledge. It takes effect when the holder consents.
#[utoipa::path(post, path = "/api/v1/records/{id}/pledges", request_body = PledgeRequest, tag = "registered",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn file_pledge(
    AxState(st): S,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(req): Json<PledgeRequest>,
) -> ApiResult<Json<Application>> {
    let user = caller.require(&[Role::Bank])?;
    Ok(Json(file_pledge_as(&st, user, id, &req).await?))
}

/// A bank files a pledge on a published record (the API and the bank's web form).
pub async fn file_pledge_as(st: &AppState, user: &UserRecord, id: Uuid, req: &PledgeRequest) -> ApiResult<Application> {
    if user.role != Role::Bank {
        return Err(ApiError::forbidden("only a bank registers pledges"));
    }
    let mut f = Fields::default();
    let secured = f.money("secured", &req.secured);
    let term = f.term(&req.start, &req.end);
    if req.rank == 0 {
        f.0.push(FieldError::new("rank", "pledge_rank", "ranks start at 1"));
    }
    f.done()?;
    let bank_party = user.party_id.ok_or_else(|| ApiError::forbidden("this bank account has no party"))?;
    let bank = st.store.party(bank_party).await?.ok_or_else(|| ApiError::internal("bank party missing"))?;
    let app =
        st.store.application(id).await?.filter(Application::is_public).ok_or_else(|| ApiError::not_found("record"))?;
    let debtor = match &req.debtor {
        Some(d) if !d.trim().is_empty() => party(st, d, "debtor").await?,
        _ => app.holder().clone(),
    };
    let pledge = holding::new_pledge(
        (&bank).into(),
        debtor,
        secured.expect("checked"),
        term.expect("checked"),
        req.rank,
        st.clock.now(),
    );
    operations::operate(st, id, Operation::FilePledge { pledge }, &actor_of(user)).await
}

/// The holder consents to a filed pledge, which registers it with its rank; earlier pledgees are notified.
#[utoipa::path(post, path = "/api/v1/records/{id}/pledges/{pid}/consent", tag = "registered",
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
#[utoipa::path(post, path = "/api/v1/records/{id}/pledges/{pid}/release", tag = "registered",
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
#[utoipa::path(post, path = "/api/v1/records/{id}/pledges/{pid}/enforce", request_body = EnforceRequest, tag = "registered",
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
#[utoipa::path(post, path = "/api/v1/records/{id}/pledges/{pid}/consents", request_body = ConsentRequest, tag = "registered",
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
    st: &AppState,
    caller: &Caller,
    id: Uuid,
    manifest: &dipr_fingerprint::Manifest,
    renew: bool,
    note: String,
) -> ApiResult<Json<Application>> {
    let actor = signed_in(caller)?;
    let checked = crate::fingerprints::check_manifest(st, manifest)?;
    let op = if renew {
        Operation::Renew { commitment: checked.commitment.clone() }
    } else {
        Operation::NewVersion { commitment: checked.commitment.clone(), note }
    };
    Ok(Json(operations::operate_at(st, id, op, &actor, st.clock.now(), Some(checked)).await?))
}

/// Attest a new version of the product's data. The holder only; the certificate is issued again
/// naming the new version.
#[utoipa::path(post, path = "/api/v1/records/{id}/versions", request_body = VersionRequest, tag = "registered",
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
#[utoipa::path(post, path = "/api/v1/records/{id}/renewal", request_body = RenewRequest, tag = "registered",
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
#[utoipa::path(post, path = "/api/v1/records/{id}/disputes", request_body = DisputeRequest, tag = "registered",
    params(("id" = Uuid, Path)), responses((status = 201, body = Application), (status = "4XX", body = ErrorEnvelope)))]
async fn file_dispute(
    AxState(st): S,
    caller: Caller,
    client: Client,
    Path(id): Path<Uuid>,
    Json(req): Json<DisputeRequest>,
) -> ApiResult<impl IntoResponse> {
    let mut actor = caller.actor();
    if caller.user.is_none() {
        actor.name = req.objector_name.trim().to_string();
    }
    let problems = check_objection_text(&req.objector_name, &req.objector_contact, &req.grounds, &[]);
    crate::service::admit_objection(&st, problems, client, id, caller.user.is_none())?;
    let dispute = Dispute {
        id: Uuid::now_v7(),
        filed_at: st.clock.now(),
        filed_by: actor.user_id,
        objector_name: req.objector_name.trim().to_string(),
        objector_contact: req.objector_contact.trim().to_string(),
        grounds: req.grounds.trim().to_string(),
        decision: None,
    };
    let app = operations::operate(&st, id, Operation::FileDispute { dispute }, &actor).await?;
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
#[utoipa::path(post, path = "/api/v1/records/{id}/disputes/{did}/decision", request_body = DisputeDecisionRequest, tag = "registered",
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
#[utoipa::path(get, path = "/api/v1/encumbrances", tag = "registered", params(EncumbranceParams),
    responses((status = 200, body = Paged<Object>), (status = "4XX", body = ErrorEnvelope)))]
async fn encumbrance_search(
    AxState(st): S,
    Query(q): Query<EncumbranceParams>,
) -> ApiResult<Json<Paged<Box<RawValue>>>> {
    let text = q.q.trim();
    if text.chars().count() < 2 {
        return Err(ApiError::validation(vec![FieldError::new("q", "too_short", "search with at least 2 characters")]));
    }
    let states = if q.all {
        vec![State::Registered, State::Cancelled, State::Revoked, State::Expired]
    } else {
        vec![State::Registered]
    };
    let filter = ApplicationFilter { text: Some(text.to_string()), states, ..Default::default() };
    let page = Page::new(q.page.unwrap_or(1), q.per_page.unwrap_or(20));
    Ok(Json(st.store.public_records(&filter, page).await?))
}

// ---------------------------------------------------------------------------------------------------
// Statistics

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    pub to: Option<String>,
    pub object_type: Option<String>,
    /// Industry code.
    pub industry: Option<String>,
    /// `legal_person`, `natural_person` or `unincorporated_organisation`.
    pub applicant_kind: Option<String>,
}

impl StatsParams {
    pub fn parse(&self) -> ApiResult<StatsFilter> {
        let mut f = Fields::default();
        let nonempty = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        let from = nonempty(&self.from).and_then(|d| f.date("from", &d));
        let to = nonempty(&self.to).and_then(|d| f.date("to", &d));
        if let (Some(a), Some(b)) = (from, to) {
            if b < a {
                f.0.push(FieldError::new("to", "ends_before_start", "the period ends before it starts"));
            }
        }
        let object_type = nonempty(&self.object_type).and_then(|t| {
            let parsed = ObjectType::parse(&t);
            if parsed.is_none() {
                f.0.push(FieldError::new("object_type", "invalid_choice", format!("unknown object type {t:?}")));
            }
            parsed
        });
        let applicant_kind = nonempty(&self.applicant_kind);
        if let Some(k) = &applicant_kind {
            if !["legal_person", "natural_person", "unincorporated_organisation"].contains(&k.as_str()) {
                f.0.push(FieldError::new("applicant_kind", "invalid_choice", format!("unknown applicant kind {k:?}")));
            }
        }
        f.done()?;
        Ok(StatsFilter { from, to, object_type, industry: nonempty(&self.industry), applicant_kind })
    }
}

/// Every figure the administration publishes, for a period, object type, industry and applicant kind.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "statistics", params(StatsParams),
    responses((status = 200, body = Statistics), (status = "4XX", body = ErrorEnvelope)))]
async fn statistics(AxState(st): S, Query(q): Query<StatsParams>) -> ApiResult<Json<Statistics>> {
    Ok(Json(st.store.statistics(&q.parse()?).await?))
}

/// The same figures as CSV (`section,key,value`; amounts in yuan).
#[utoipa::path(get, path = "/api/v1/statistics.csv", tag = "statistics", params(StatsParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = "4XX", body = ErrorEnvelope)))]
async fn statistics_csv(AxState(st): S, Query(q): Query<StatsParams>) -> ApiResult<impl IntoResponse> {
    let s = st.store.statistics(&q.parse()?).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"dipr-statistics.csv\""),
        ],
        to_csv(&s),
    ))
}

fn yuan(fen: i64) -> String {
    format!("{}{}.{:02}", if fen < 0 { "-" } else { "" }, (fen / 100).abs(), (fen % 100).abs())
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
    row("economic_value", "amount_yuan", yuan(s.economic_value.amount_fen));
    row("economic_value", "products", s.economic_value.products.to_string());
    for k in &s.economic_value.by_kind {
        row("economic_value_yuan", &k.kind, yuan(k.amount_fen));
        row("economic_value_transactions", &k.kind, k.transactions.to_string());
        if let Some(p) = k.products {
            row("economic_value_products", &k.kind, p.to_string());
        }
    }
    row("pledge_financing", "enterprises", s.pledge_financing.enterprises.to_string());
    row("pledge_financing", "loans", s.pledge_financing.loans.to_string());
    row("pledge_financing", "amount_yuan", yuan(s.pledge_financing.amount_fen));
    row("pledge_financing", "active_now", s.pledge_financing.active_now.to_string());
    for m in &s.monthly {
        row("monthly_applications", &m.month, m.applications.to_string());
        row("monthly_certificates", &m.month, m.certificates.to_string());
        row("monthly_value_yuan", &m.month, yuan(m.value_fen));
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
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "registered", security(("bearer" = [])),
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
