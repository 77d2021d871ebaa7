//! REST + JSON under `/api/v1`, the OpenAPI document, the log's checkpoint and tiles, and `/healthz`.
//! One file per resource, each an `OpenApiRouter` whose `routes!` take a handler's path and methods from
//! its `#[utoipa::path]`, so the document is collected from the routes that are served. Those paths are
//! relative to `/api/v1`, which nesting adds to the route and to the document alike. Handlers stay thin
//! and call `dipr_registry`.

pub mod accounts;
pub mod admin;
pub mod bulk;
pub mod events;
pub mod filings;
pub mod fingerprints;
pub mod holdings;
pub mod ledger;
pub mod lifecycle;
pub mod params;
pub mod public;
pub mod review;
pub mod watches;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use dipr_registry::Registry;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;

/// The JSON API, the OpenAPI document, the log's checkpoint and tiles, and the health check.
pub fn routes() -> Router<Arc<Registry>> {
    let v1 = OpenApiRouter::new()
        .merge(accounts::routes())
        .merge(filings::routes())
        .merge(fingerprints::routes())
        .merge(review::routes())
        .merge(public::routes())
        .merge(ledger::routes())
        .merge(events::routes())
        .merge(admin::routes())
        .merge(holdings::routes())
        .merge(watches::routes())
        .fallback(|| async { ApiError::not_found("endpoint") });
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1)
        .merge(ledger::root_routes())
        .split_for_parts();
    // Built once with the routes; the document does not describe itself.
    router.route("/api/openapi.json", get(move || async move { axum::Json(doc) })).merge(bulk::root_routes())
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// What the document says besides its paths and the schemas they use, which the routers add.
#[derive(OpenApi)]
#[openapi(
    info(title = "dipr", description = "Registry for intellectual property in data products. Errors: see /api/v1/errors. \
        At most once: send `Idempotency-Key: <8–128 printable characters>` with a POST, PUT or DELETE; a repeat with \
        the same key gets the first answer back (`Idempotent-Replayed: true`) while the key is kept, `request_key_days` \
        (7 by default) after its last use. After that the key is pruned, and a repeat is a new request."),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Sign-up, sign-in, tokens"),
        (name = "applications", description = "Applicant and agent side of a filing"),
        (name = "review", description = "Examiner decisions"),
        (name = "public", description = "Search, notices, objections (no sign-in needed)"),
        (name = "fingerprints", description = "Fingerprint manifests, overlap warnings, discovery"),
        (name = "ledger", description = "Certificates, proofs and the public events from the public log (tiles: /log/checkpoint, /log/tile/…; bulk data: /bulk/manifest.json and the files it names)"),
        (name = "registered", description = "Registered products: holder changes, transfers, licences, transactions, pledges, versions, disputes; encumbrance search"),
        (name = "statistics", description = "The administration's statistics (JSON and CSV)"),
        (name = "admin", description = "Users, code lists, calendar, clock"),
        (name = "watches", description = "Watches on registrations, holders and searches; alerts; signed webhooks"),
        (name = "meta", description = "Health and error codes"),
    )
)]
struct ApiDoc;
