//! `/bulk/{file}`: the newest bulk-data dump the server wrote (`dipr_registry::bulk`), its `manifest.json`
//! first. Files, not JSON operations, so they stay out of the OpenAPI document, like the log's tiles.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use dipr_registry::bulk::{latest, Manifest};
use dipr_registry::Registry;

use crate::conditional;
use crate::error::ApiError;

pub fn root_routes() -> Router<Arc<Registry>> {
    Router::new().route("/bulk/{file}", get(file))
}

async fn file(State(st): State<Arc<Registry>>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let missing = || conditional::uncached(ApiError::not_found("bulk data file"));
    let Some(dir) = st.config.bulk_dir.as_deref().and_then(latest) else { return missing() };
    let Ok(manifest_bytes) = std::fs::read(dir.join("manifest.json")) else { return missing() };
    let Ok(manifest) = serde_json::from_slice::<Manifest>(&manifest_bytes) else { return missing() };
    // Only what the manifest names (never a path the request makes up), and the manifest itself.
    let (body, content_type) = if name == "manifest.json" {
        (manifest_bytes, "application/json")
    } else {
        let Some(f) = manifest.files.iter().find(|f| f.name == name) else { return missing() };
        let Ok(bytes) = std::fs::read(dir.join(&f.name)) else { return missing() };
        let kind = if name.ends_with(".gz") { "application/gzip" } else { "application/json" };
        (bytes, kind)
    };
    let disposition = format!("attachment; filename=\"{name}\"");
    conditional::answer(
        &headers,
        conditional::REVALIDATE,
        &[(header::CONTENT_TYPE, content_type.into()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
}
