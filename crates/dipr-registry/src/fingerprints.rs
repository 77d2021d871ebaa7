//! Fingerprint manifests on the registry side: filing one with an application (it becomes the content
//! commitment), warning examiners when a filing's data is largely contained in another filing, and
//! ranking registered products by how much of them a suspect's sketch contains. No raw data arrives
//! here: only signed manifests and sketches.

use dipr_domain::application::{Application, ContentCommitment, State};
use dipr_domain::lifecycle;
use dipr_fingerprint::package::PACKAGE_DISCOVERY_SCALE;
use dipr_fingerprint::{discovery_key_id, wilson, DiscoverySketch, Manifest};
use dipr_store::UserRecord;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::event;
use crate::error::Error;
use crate::error::Result;
use crate::state::Registry;
use dipr_domain::access::can_read_full;

/// Default FracMinHash scale for discovery sketches.
pub const DISCOVERY_SCALE: u64 = 256;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DiscoveryKey {
    /// Hex key for `dipr fingerprint --discovery-key`.
    pub key: String,
    pub key_id: String,
    pub scale: u64,
}

pub fn discovery_key(state: &Registry) -> DiscoveryKey {
    DiscoveryKey {
        key: state.discovery_key.iter().map(|b| format!("{b:02x}")).collect(),
        key_id: discovery_key_id(&state.discovery_key),
        scale: DISCOVERY_SCALE,
    }
}

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::new("invalid_manifest", e.to_string())
}

/// A manifest that passed every check, ready to store.
pub struct CheckedManifest {
    pub commitment: ContentCommitment,
    pub sha: String,
    pub doc: String,
    pub sketch: Vec<u64>,
}

/// Check a manifest's signature and that its discovery sketch was made with this registry's key and
/// scale.
pub fn check_manifest(state: &Registry, manifest: &Manifest) -> Result<CheckedManifest> {
    manifest.verify().map_err(invalid)?;
    let discovery = manifest
        .discovery
        .as_ref()
        .ok_or_else(|| Error::new("discovery_key_mismatch", "the manifest has no discovery sketch"))?;
    if discovery.key_id != discovery_key_id(&state.discovery_key) {
        return Err(Error::new("discovery_key_mismatch", "the discovery sketch was made with another key"));
    }
    let package = manifest.format == dipr_fingerprint::Format::Package;
    if package && discovery.scale != PACKAGE_DISCOVERY_SCALE {
        return Err(invalid(format!("a package's discovery sketch is made at scale {PACKAGE_DISCOVERY_SCALE}")));
    }
    if !package && discovery.scale != DISCOVERY_SCALE {
        return Err(invalid(format!(
            "discovery sketches are made at scale {DISCOVERY_SCALE} (dipr fingerprint --scale {DISCOVERY_SCALE})"
        )));
    }
    let sketch = discovery.values();
    if sketch.len() != discovery.sketch.len() {
        return Err(invalid("discovery sketch values must be 16 hex digits"));
    }
    let sha = manifest.digest();
    Ok(CheckedManifest {
        commitment: ContentCommitment {
            // The hashing scheme the commitment was made with (the manifest's version names it).
            algorithm: if manifest.format == dipr_fingerprint::Format::Package {
                // The files of an algorithm package, committed with scheme 2 as the table of its files.
                "dipr-package/1".into()
            } else if manifest.v == dipr_fingerprint::MANIFEST_VERSION_1 {
                "dipr-fingerprint/1".into()
            } else {
                "dipr-fingerprint/2".into()
            },
            root: manifest.root.clone(),
            record_count: Some(manifest.distinct_records),
            manifest_sha256: Some(sha.clone()),
            schema_digest: Some(manifest.schema_digest.clone()),
        },
        sha,
        doc: serde_json::to_string(manifest).map_err(Error::internal)?,
        sketch,
    })
}

/// File a manifest with a draft (or a filing sent back for correction): it becomes the content
/// commitment, and its discovery sketch enters the index.
pub async fn attach(state: &Registry, user: &UserRecord, id: Uuid, manifest: Manifest) -> Result<Application> {
    attach_at(state, user, id, manifest, state.clock.now()).await
}

/// [`attach`] as of `now` (the demo seeder replays history).
pub(crate) async fn attach_at(
    state: &Registry,
    user: &UserRecord,
    id: Uuid,
    manifest: Manifest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Application> {
    let checked = check_manifest(state, &manifest)?;
    let actor = crate::audit::actor_of(user);
    let mut tx = state.store.begin().await?;
    let mut app = tx
        .application_for_update(id)
        .await?
        .filter(|a| can_read_full(&actor, a))
        .ok_or_else(|| Error::not_found("application"))?;
    let mut form = app.form.clone();
    form.content_commitment = Some(checked.commitment.clone());
    lifecycle::edit(&mut app, form, &actor, now)?;
    let CheckedManifest { sha, doc, sketch, .. } = checked;
    tx.insert_manifest(id, &sha, &doc, &sketch, now).await?;
    tx.update_application(&app).await?;
    let mut e = event(&actor, now, "application", id, "manifest_attached");
    e.from_state = Some(app.state.as_str().into());
    e.to_state = e.from_state.clone();
    e.payload = json!({"manifest_sha256": sha, "root": manifest.root, "records": manifest.distinct_records});
    tx.append_event(&e).await?;
    tx.commit().await?;
    Ok(app)
}

/// The manifest an application currently names.
pub async fn current_manifest(state: &Registry, app: &Application) -> Result<Manifest> {
    let current = app.holding.as_ref().and_then(|h| h.current_version()).and_then(|v| v.commitment.as_ref());
    let sha = current
        .or(app.form.content_commitment.as_ref())
        .and_then(|c| c.manifest_sha256.clone())
        .ok_or_else(|| Error::new("no_manifest", "the application has no fingerprint manifest"))?;
    let doc = state.store.manifest(app.id, &sha).await?.ok_or_else(|| Error::internal("named manifest is missing"))?;
    serde_json::from_str(&doc).map_err(Error::internal)
}

/// Another filing that shares data with the one asked about.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Overlap {
    pub application_id: Uuid,
    pub product_name: String,
    pub holder: String,
    pub state: State,
    pub registration_number: Option<String>,
    /// Share of *this* filing's records found in the other (sketch estimate) and its 95% interval.
    pub containment: f64,
    pub low: f64,
    pub high: f64,
    pub matched: u64,
    pub sketch_size: u64,
}

async fn matching_apps(state: &Registry, values: &[u64]) -> Result<Vec<(Application, dipr_store::SketchMatch)>> {
    let mut out = Vec::new();
    for m in state.store.sketch_matches(values).await? {
        let Some(app) = state.store.application(m.application_id).await? else { continue };
        // Only the manifest the application names now counts.
        let current = app.form.content_commitment.as_ref().and_then(|c| c.manifest_sha256.as_deref())
            == Some(m.manifest_sha256.as_str());
        if current {
            out.push((app, m));
        }
    }
    Ok(out)
}

/// For examiners: filings whose data contains a large share of this filing's data.
pub async fn overlaps(state: &Registry, id: Uuid) -> Result<Vec<Overlap>> {
    let app = state.store.application(id).await?.ok_or_else(|| Error::not_found("application"))?;
    let manifest = current_manifest(state, &app).await?;
    let values = manifest.discovery.map(|d| d.values()).unwrap_or_default();
    let n = values.len() as u64;
    let mut out: Vec<Overlap> = matching_apps(state, &values)
        .await?
        .into_iter()
        .filter(|(other, _)| other.id != id && !matches!(other.state, State::Withdrawn | State::DeemedWithdrawn))
        .map(|(other, m)| {
            let (low, high) = wilson(m.matched, n);
            Overlap {
                application_id: other.id,
                product_name: other.form.product_name.clone(),
                holder: other.applicant.name.clone(),
                state: other.state,
                registration_number: other.registration.as_ref().map(|r| r.registration_number.to_string()),
                containment: if n == 0 { 0.0 } else { m.matched as f64 / n as f64 },
                low,
                high,
                matched: m.matched,
                sketch_size: m.sketch_size,
            }
        })
        .collect();
    out.sort_by(|a, b| b.containment.total_cmp(&a.containment));
    Ok(out)
}

/// A registered product found in a suspect's sketch.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Discovery {
    pub application_id: Uuid,
    pub product_name: String,
    pub holder: String,
    pub registration_number: Option<String>,
    /// Share of the *registered product's* records found in the suspect, with its 95% interval.
    pub containment: f64,
    pub low: f64,
    pub high: f64,
    pub matched: u64,
    pub sketch_size: u64,
}

/// Rank registered products by how much of each a suspect's discovery sketch contains.
pub async fn discover(state: &Registry, sketch: &DiscoverySketch, limit: usize) -> Result<Vec<Discovery>> {
    if sketch.key_id != discovery_key_id(&state.discovery_key) {
        return Err(Error::new("discovery_key_mismatch", "the sketch was made with another key"));
    }
    // A dataset's sketch or a package's: each is compared with its kind (their items never coincide).
    if sketch.scale != DISCOVERY_SCALE && sketch.scale != PACKAGE_DISCOVERY_SCALE {
        return Err(Error::new(
            "bad_request",
            format!(
                "sketches are compared at scale {DISCOVERY_SCALE} (datasets) or {PACKAGE_DISCOVERY_SCALE} (packages)"
            ),
        ));
    }
    if sketch.sketch.len() > 2_000_000 {
        return Err(Error::new("bad_request", "the sketch is too large"));
    }
    let values = sketch.values();
    if values.len() != sketch.sketch.len() {
        return Err(Error::new("bad_request", "sketch values must be 16 hex digits"));
    }
    let mut out: Vec<Discovery> = matching_apps(state, &values)
        .await?
        .into_iter()
        .filter(|(app, _)| app.state == State::Registered)
        .map(|(app, m)| {
            let (low, high) = wilson(m.matched, m.sketch_size);
            Discovery {
                application_id: app.id,
                product_name: app.form.product_name.clone(),
                holder: app.applicant.name.clone(),
                registration_number: app.registration.as_ref().map(|r| r.registration_number.to_string()),
                containment: if m.sketch_size == 0 { 0.0 } else { m.matched as f64 / m.sketch_size as f64 },
                low,
                high,
                matched: m.matched,
                sketch_size: m.sketch_size,
            }
        })
        .collect();
    out.sort_by(|a, b| b.containment.total_cmp(&a.containment));
    out.truncate(limit);
    Ok(out)
}
