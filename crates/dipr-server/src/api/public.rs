//! What anyone may read or do without signing in: search published records and notices, read a record
//! and its certificate (JSON or PDF), file an objection; the industry list, the working calendar and the
//! table of error codes.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use dipr_domain::application::{check_objection_text, NewObjection, ObjectType, State};
use dipr_domain::lifecycle::Command;
use dipr_domain::public::PublicRecord;
use dipr_domain::shown;
use dipr_domain::time::CalendarDay;
use dipr_store::{ApplicationFilter, Industry, Order, Paged};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::params::{page_after, parse_states, CursorParams};
use crate::auth::Caller;
use crate::conditional;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::error::ErrorEnvelope;
use crate::error::Json;
use crate::error::Path;
use crate::error::Query;
use dipr_registry::error::ERROR_CODES;
use dipr_registry::records::public_detail;
use dipr_registry::records::PublicRecordDetail;
use dipr_registry::Registry;

type S = AxState<Arc<Registry>>;

pub fn routes() -> OpenApiRouter<Arc<Registry>> {
    OpenApiRouter::new()
        .routes(routes!(search_records))
        .routes(routes!(notices))
        .routes(routes!(public_record))
        .routes(routes!(file_objection))
        .routes(routes!(certificate))
        .routes(routes!(certificate_pdf))
        .routes(routes!(industries))
        .routes(routes!(calendar))
        .routes(routes!(error_codes))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionFiled {
    pub id: Uuid,
    pub decide_by: DateTime<Utc>,
    pub record: PublicRecord,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Words to find (all of them) in the product's name, the holder's or applicant's name, the registration
    /// or certificate number, a credit code, or the summary; Chinese terms of any length, other words by
    /// prefix. Results are ranked: names and identifiers before summaries.
    pub q: Option<String>,
    /// Words of the holder's name.
    pub holder: Option<String>,
    pub object_type: Option<ObjectType>,
    /// Industry code.
    pub industry: Option<String>,
    /// `notice`, `registered`, `refused`, … (comma-separated states).
    pub status: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    /// The `next` of the previous page, to continue after it (lists without `q`; `page` is then ignored).
    pub after: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorCodeInfo {
    pub code: &'static str,
    pub status: u16,
    pub meaning: &'static str,
}

/// Search published records (notices and registrations).
#[utoipa::path(get, path = "/public/records", tag = "public", params(SearchParams),
    responses((status = 200, body = Paged<PublicRecord>), (status = "4XX", body = ErrorEnvelope)))]
async fn search_records(AxState(st): S, Query(q): Query<SearchParams>) -> ApiResult<Json<Paged<Box<RawValue>>>> {
    if q.q.as_deref().is_some_and(|s| s.chars().count() > 200) {
        return Err(ApiError::new("bad_request", "q must be at most 200 characters"));
    }
    let filter = ApplicationFilter {
        public_only: true,
        text: q.q,
        holder: q.holder,
        object_type: q.object_type,
        industry: q.industry,
        states: parse_states(q.status.as_deref())?,
        ..Default::default()
    };
    // A search is ranked and paged by number; a cursor would silently restart it at the first page.
    if q.after.is_some() && filter.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        return Err(ApiError::new("bad_request", "after pages lists without q; page a search with page"));
    }
    let page = page_after(q.page, q.per_page, q.after.as_deref())?;
    Ok(Json(st.store.public_records(&filter, page).await?))
}

/// Records in their public notice period, open to objections, oldest first.
#[utoipa::path(get, path = "/public/notices", tag = "public", params(CursorParams),
    responses((status = 200, body = Paged<PublicRecord>), (status = "4XX", body = ErrorEnvelope)))]
async fn notices(AxState(st): S, Query(q): Query<CursorParams>) -> ApiResult<Json<Paged<Box<RawValue>>>> {
    let filter = ApplicationFilter {
        public_only: true,
        states: vec![State::PublicNotice, State::ObjectionPending],
        order: Order::OldestFirst,
        ..Default::default()
    };
    Ok(Json(st.store.public_records(&filter, page_after(q.page, q.per_page, q.after.as_deref())?).await?))
}

/// A published record with its public history.
#[utoipa::path(get, path = "/public/records/{id}", tag = "public", params(("id" = Uuid, Path)),
    responses((status = 200, body = PublicRecordDetail), (status = 404, body = ErrorEnvelope), (status = "4XX", body = ErrorEnvelope)))]
async fn public_record(AxState(st): S, Path(id): Path<Uuid>) -> ApiResult<Json<PublicRecordDetail>> {
    Ok(Json(public_detail(&st, id).await?))
}

/// File an objection during the notice period. Anyone may; signing in is optional.
#[utoipa::path(post, path = "/public/records/{id}/objections", request_body = NewObjection, tag = "public",
    params(("id" = Uuid, Path)), responses((status = 201, body = ObjectionFiled), (status = "4XX", body = ErrorEnvelope),
        (status = 429, description = "too many objections; see Retry-After", body = ErrorEnvelope)))]
async fn file_objection(
    AxState(st): S,
    caller: Caller,
    crate::peer::Peer(client): crate::peer::Peer,
    Path(id): Path<Uuid>,
    Json(req): Json<NewObjection>,
) -> ApiResult<impl IntoResponse> {
    let problems = check_objection_text(&req.objector_name, &req.objector_contact, &req.grounds, &req.evidence);
    dipr_registry::filings::admit_objection(&st, problems, client, id, caller.user.is_none())?;
    let mut actor = caller.actor();
    if caller.user.is_none() {
        actor.name = req.objector_name.trim().to_string();
    }
    let oid = Uuid::now_v7();
    let app =
        dipr_registry::filings::execute(&st, id, Command::FileObjection { objection: req, id: oid }, &actor).await?;
    let decide_by = app.objections.iter().find(|o| o.id == oid).map(|o| o.decide_by).expect("just filed");
    let record = PublicRecord::of(&app).expect("objections are only filed on published records");
    Ok((StatusCode::CREATED, Json(ObjectionFiled { id: oid, decide_by, record })))
}

/// The industry code list.
#[utoipa::path(get, path = "/industries", tag = "public", responses((status = 200, body = Vec<Industry>), (status = "4XX", body = ErrorEnvelope)))]
async fn industries(AxState(st): S) -> ApiResult<Json<Vec<Industry>>> {
    Ok(Json(st.store.industries().await?))
}

/// Public holidays and 调休 working days that deadlines are counted with.
#[utoipa::path(get, path = "/calendar", tag = "public", responses((status = 200, body = Vec<CalendarDay>), (status = "4XX", body = ErrorEnvelope)))]
async fn calendar(AxState(st): S) -> ApiResult<Json<Vec<CalendarDay>>> {
    Ok(Json(st.store.calendar().await?))
}

/// The table of error codes: code → HTTP status → meaning.
#[utoipa::path(get, path = "/errors", tag = "meta", responses((status = 200, body = Vec<ErrorCodeInfo>), (status = "4XX", body = ErrorEnvelope)))]
async fn error_codes() -> Json<Vec<ErrorCodeInfo>> {
    Json(ERROR_CODES.iter().map(|(code, status, meaning)| ErrorCodeInfo { code, status: *status, meaning }).collect())
}

/// The certificate issued on registration (JSON, verifiable offline with `dipr verify`). It carries an `ETag`
/// and `Cache-Control: public, no-cache`: send the tag back in `If-None-Match` for `304` while it is unchanged.
#[utoipa::path(get, path = "/public/records/{id}/certificate", tag = "ledger", params(("id" = Uuid, Path)),
    responses((status = 200, description = "dipr-certificate/v1 JSON", content_type = "application/json"),
        (status = 304, description = "Not modified: the `If-None-Match` tag is the current one"),
        (status = 404, body = ErrorEnvelope), (status = "4XX", body = ErrorEnvelope)))]
async fn certificate(AxState(st): S, Path(id): Path<Uuid>, headers: HeaderMap) -> ApiResult<Response> {
    let doc = st.store.certificate(id).await?.ok_or_else(|| ApiError::not_found("certificate"))?;
    let doc = dipr_registry::witnessing::with_cosignatures(&st, doc).await?;
    let tag = conditional::strong_tag(doc.as_bytes());
    if conditional::not_modified(&headers, &tag) {
        return Ok(conditional::unchanged(&tag, conditional::REVALIDATE));
    }
    let name = st
        .store
        .application(id)
        .await?
        .and_then(|a| a.registration)
        .map(|r| r.certificate_number.to_string())
        .unwrap_or_default();
    Ok(conditional::with_tag(
        &tag,
        conditional::REVALIDATE,
        &[
            (header::CONTENT_TYPE, "application/json".into()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"dipr-certificate-{name}.json\"")),
        ],
        doc.into_bytes(),
    ))
}

/// The certificate as a PDF (Chinese with English alongside: the registrar and its seal, the date of issue,
/// a QR code to the public record, how to verify it). Its weak `ETag` stands for what the PDF is rendered from
/// (the certificate, the registrar, the registry's address, the industry's names, whether the registration is
/// still in force): `If-None-Match` with it gets `304` without rendering again.
#[utoipa::path(get, path = "/public/records/{id}/certificate.pdf", tag = "ledger", params(("id" = Uuid, Path)),
    responses((status = 200, description = "PDF", content_type = "application/pdf"),
        (status = 304, description = "Not modified: the `If-None-Match` tag is the current one"),
        (status = 404, body = ErrorEnvelope), (status = "4XX", body = ErrorEnvelope)))]
async fn certificate_pdf(AxState(st): S, Path(id): Path<Uuid>, headers: HeaderMap) -> ApiResult<Response> {
    let doc = st.store.certificate(id).await?.ok_or_else(|| ApiError::not_found("certificate"))?;
    let doc = dipr_registry::witnessing::with_cosignatures(&st, doc).await?;
    let cert = dipr_ledger::certificate::Certificate::parse(doc.as_bytes()).map_err(ApiError::internal)?;
    let industry = st
        .store
        .industries()
        .await?
        .into_iter()
        .find(|i| i.code == cert.statement.product.industry)
        .map(|i| (i.name_zh, i.name_en));
    // A registration no longer in force gets a visible mark: the PDF must not pass for a valid certificate.
    let detail = public_detail(&st, id).await?;
    let not_in_force = dipr_registry::standing::Standing::of(&detail, st.clock.now()).and_then(|s| s.ended).map(|e| {
        let (zh, en) = dipr_registry::standing::mark(e.state);
        dipr_pdf::NotInForce { zh: zh.into(), en: en.into(), since: shown::date_both(e.at) }
    });
    // The record and check pages at the registry's address now, whatever address the statement was signed with.
    let names = dipr_pdf::Names {
        registrar: dipr_pdf::Registrar {
            name_zh: st.config.registrar_name.clone(),
            name_en: st.config.registrar_name_en.clone(),
            code: st.config.rules.registrar_code,
            seal: st.seal.clone(),
        },
        record_url: format!("{}/records/{id}", st.public_url()),
        check_url: format!("{}/check", st.public_url()),
        industry,
        not_in_force,
    };
    let inputs = format!("{names:?}\n{}", env!("CARGO_PKG_VERSION"));
    let tag = conditional::weak_tag(&[doc.as_bytes(), inputs.as_bytes()]);
    if conditional::not_modified(&headers, &tag) {
        return Ok(conditional::unchanged(&tag, conditional::REVALIDATE));
    }
    let number = cert.statement.certificate_number.clone();
    let pdf = tokio::task::spawn_blocking(move || dipr_pdf::render(&cert, &names))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(conditional::with_tag(
        &tag,
        conditional::REVALIDATE,
        &[
            (header::CONTENT_TYPE, "application/pdf".into()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"dipr-certificate-{number}.pdf\"")),
        ],
        pdf,
    ))
}
