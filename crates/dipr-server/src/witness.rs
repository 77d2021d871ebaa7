//! Witnessing over HTTP: the `dipr witness` server (C2SP tlog-witness `POST /add-checkpoint`), and the
//! registry's side, which sends each new checkpoint to its configured witnesses and stores their
//! cosignatures so certificates can carry them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::note::{Note, NoteSigner, NoteVerifier};
use dipr_ledger::witness::{add_checkpoint, add_checkpoint_body, AddError, WitnessState};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// A witness the registry submits checkpoints to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WitnessEndpoint {
    /// Base URL; the registry posts to `<url>/add-checkpoint`.
    pub url: String,
    /// The witness's `cosignature/v1` verifier key.
    pub key: String,
}

/// The witnesses in use and how many cosignatures a checkpoint needs. Starts from the configuration
/// file; once an administrator changes it, the stored copy (setting `witnesses`) wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WitnessSet {
    pub witnesses: Vec<WitnessEndpoint>,
    /// Cosignatures a checkpoint needs before certificates are served with it (0: serve unwitnessed).
    pub quorum: usize,
}

impl WitnessSet {
    /// Every problem at once: URLs must be http(s), keys `cosignature/v1` verifier keys with distinct
    /// names, and the quorum at most the number of witnesses.
    pub fn check(&self) -> Result<(), Vec<dipr_domain::FieldError>> {
        use dipr_domain::FieldError;
        let mut errors = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, w) in self.witnesses.iter().enumerate() {
            let url = w.url.trim();
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 500 || url.contains(' ') {
                errors.push(FieldError::new(
                    format!("witnesses[{i}].url"),
                    "invalid_url",
                    "an http:// or https:// URL",
                ));
            }
            match NoteVerifier::parse(w.key.trim()) {
                Ok(k) if !k.is_cosigner() => errors.push(FieldError::new(
                    format!("witnesses[{i}].key"),
                    "invalid_witness_key",
                    format!("{} is not a cosignature/v1 key", k.name()),
                )),
                Ok(k) if !names.insert(k.name().to_string()) => errors.push(FieldError::new(
                    format!("witnesses[{i}].key"),
                    "duplicate_witness",
                    format!("{} is listed twice", k.name()),
                )),
                Ok(_) => {}
                Err(e) => {
                    errors.push(FieldError::new(format!("witnesses[{i}].key"), "invalid_witness_key", e.to_string()))
                }
            }
        }
        if self.quorum > self.witnesses.len() {
            errors.push(FieldError::new(
                "quorum",
                "out_of_range",
                format!("the quorum {} exceeds the {} witnesses", self.quorum, self.witnesses.len()),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

const WITNESS_SETTING: &str = "witnesses";

/// The witness set in force: the stored one if an administrator set it, else the configuration's.
pub async fn load(store: &dyn dipr_store::Store, configured: WitnessSet) -> anyhow::Result<WitnessSet> {
    match store.setting(WITNESS_SETTING).await? {
        Some(json) => Ok(serde_json::from_str(&json)?),
        None => Ok(configured),
    }
}

/// Replace the witness set (administrators): checked, stored and logged in one transaction, then used
/// from the next round on.
pub async fn replace(
    state: &AppState,
    actor: &dipr_domain::lifecycle::Actor,
    set: WitnessSet,
) -> ApiResult<WitnessSet> {
    if actor.role != dipr_domain::lifecycle::Role::Admin {
        return Err(ApiError::forbidden("administrators only"));
    }
    let set = WitnessSet {
        witnesses: set
            .witnesses
            .into_iter()
            .map(|w| WitnessEndpoint { url: w.url.trim().to_string(), key: w.key.trim().to_string() })
            .collect(),
        quorum: set.quorum,
    };
    set.check().map_err(ApiError::validation)?;
    let now = state.clock.now();
    let json = serde_json::to_string(&set).map_err(ApiError::internal)?;
    let mut tx = state.store.begin().await?;
    tx.set_setting(WITNESS_SETTING, &json).await?;
    let mut e = crate::service::event(actor, now, "registry", "witnesses", "witnesses_changed");
    e.payload = serde_json::to_value(&set).map_err(ApiError::internal)?;
    tx.append_event(&e).await?;
    tx.commit().await?;
    state.set_witnesses(set.clone());
    Ok(set)
}

/// A running witness: its key, the logs it knows, and its state on disk.
pub struct Witness {
    signer: NoteSigner,
    logs: BTreeMap<String, NoteVerifier>,
    state: tokio::sync::Mutex<WitnessState>,
    path: PathBuf,
}

impl Witness {
    /// Open a witness in `data_dir` (key `witness.key`, state `witness-state.json`), trusting `logs`.
    pub fn open(data_dir: &Path, name: &str, logs: Vec<NoteVerifier>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let signer = crate::ledger::load_or_create_key(&data_dir.join("witness.key"), name)?;
        let path = data_dir.join("witness-state.json");
        let state =
            if path.exists() { serde_json::from_slice(&std::fs::read(&path)?)? } else { WitnessState::default() };
        let logs = logs.into_iter().map(|k| (k.name().to_string(), k)).collect();
        Ok(Self { signer, logs, state: tokio::sync::Mutex::new(state), path })
    }

    /// The key verifiers use to check this witness's cosignatures.
    pub fn verifier(&self) -> NoteVerifier {
        self.signer.cosigner_verifier()
    }

    /// Write the state durably: a temporary file, fsync, then rename over the old one.
    fn persist(&self, state: &WitnessState) -> std::io::Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(state).expect("state serialises"))?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

pub fn witness_router(w: Arc<Witness>) -> Router {
    Router::new().route("/add-checkpoint", post(add)).route("/", get(info)).with_state(w)
}

/// Serve a witness until `shutdown` resolves, with the registry's connection limits (header timeout, drain).
pub async fn serve_witness(
    listener: tokio::net::TcpListener,
    w: Arc<Witness>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    crate::serve_router(listener, witness_router(w), &crate::throttle::Limits::default(), shutdown).await;
    Ok(())
}

async fn add(AxState(w): AxState<Arc<Witness>>, body: Bytes) -> impl IntoResponse {
    let mut state = w.state.lock().await;
    let mut next = state.clone();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    match add_checkpoint(&mut next, &w.logs, &w.signer, &body, now) {
        Ok(line) => {
            if let Err(e) = w.persist(&next) {
                tracing::error!(error = %e, "cannot persist witness state; refusing to cosign");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "text/plain")],
                    "cannot persist state\n".to_string(),
                );
            }
            *state = next;
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line)
        }
        Err(AddError::Conflict(size)) => {
            (StatusCode::CONFLICT, [(header::CONTENT_TYPE, "text/x.tlog.size")], format!("{size}\n"))
        }
        Err(e) => {
            tracing::warn!(error = %e, "refused a checkpoint");
            (
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{e}\n"),
            )
        }
    }
}

#[derive(Serialize)]
struct WitnessInfo {
    name: String,
    key: String,
    logs: BTreeMap<String, u64>,
}

async fn info(AxState(w): AxState<Arc<Witness>>) -> impl IntoResponse {
    let state = w.state.lock().await;
    axum::Json(WitnessInfo {
        name: w.signer.name().to_string(),
        key: w.verifier().to_string(),
        logs: w.logs.keys().map(|o| (o.clone(), state.logs.get(o).map_or(0, |h| h.size))).collect(),
    })
}

/// What happened with one witness in one round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WitnessOutcome {
    pub witness: String,
    /// The checkpoint size now cosigned, when it was.
    pub cosigned: Option<u64>,
    pub error: Option<String>,
}

fn post_blocking(url: String, body: String) -> Result<(u16, String), String> {
    let agent = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(10)).build();
    match agent.post(&url).set("Content-Type", "text/plain").send_string(&body) {
        Ok(r) => Ok((r.status(), r.into_string().map_err(|e| e.to_string())?)),
        Err(ureq::Error::Status(code, r)) => Ok((code, r.into_string().unwrap_or_default())),
        Err(e) => Err(e.to_string()),
    }
}

/// Send the latest checkpoint to every configured witness and store the cosignatures they return.
pub async fn collect_once(state: &AppState) -> ApiResult<Vec<WitnessOutcome>> {
    let set = state.witnesses();
    if set.witnesses.is_empty() {
        return Ok(Vec::new());
    }
    let Some((size, note)) = state.store.checkpoint(None).await? else { return Ok(Vec::new()) };
    let mut outcomes = Vec::new();
    for endpoint in &set.witnesses {
        let key = NoteVerifier::parse(&endpoint.key)
            .map_err(|e| ApiError::internal(format!("witness key {}: {e}", endpoint.key)))?;
        let name = key.name().to_string();
        let result = submit(state, endpoint, &key, size, &note).await;
        outcomes.push(match result {
            Ok(s) => WitnessOutcome { witness: name, cosigned: Some(s), error: None },
            Err(e) => {
                tracing::warn!(witness = %name, error = %e, "witness did not cosign");
                WitnessOutcome { witness: name, cosigned: None, error: Some(e) }
            }
        });
    }
    Ok(outcomes)
}

async fn submit(
    state: &AppState,
    endpoint: &WitnessEndpoint,
    key: &NoteVerifier,
    size: u64,
    note: &str,
) -> Result<u64, String> {
    let mut old = state.store.latest_cosigned_size(key.name()).await.map_err(|e| e.to_string())?.unwrap_or(0);
    if old == size {
        return Ok(size);
    }
    let url = format!("{}/add-checkpoint", endpoint.url.trim_end_matches('/'));
    // One retry: a 409 tells us the size the witness holds.
    for _ in 0..2 {
        if old > size {
            return Err(format!("the witness holds size {old}, beyond this log's {size}: a fork or a lost database"));
        }
        let proof = crate::ledger::prove_consistency(state.store.as_ref(), old, size).await.map_err(|e| e.message)?;
        let body = add_checkpoint_body(old, &proof, note);
        let (status, text) = tokio::task::spawn_blocking({
            let url = url.clone();
            move || post_blocking(url, body)
        })
        .await
        .map_err(|e| e.to_string())??;
        match status {
            200 => {
                let cosigned = Note::parse(format!("{note}{text}").as_bytes()).map_err(|e| e.to_string())?;
                key.verify_cosignature(&cosigned)
                    .map_err(|_| "the witness's reply is not a valid cosignature".to_string())?;
                let now = state.clock.now();
                let mut tx = state.store.begin().await.map_err(|e| e.to_string())?;
                tx.insert_cosignature(size, key.name(), text.trim_end_matches('\n'), now)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut e = crate::service::event(
                    &dipr_domain::lifecycle::Actor::system(),
                    now,
                    "checkpoint",
                    size,
                    "cosigned",
                );
                e.payload = serde_json::json!({"witness": key.name()});
                tx.append_event(&e).await.map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())?;
                return Ok(size);
            }
            409 => old = text.trim().parse().map_err(|_| format!("409 without a size: {text:?}"))?,
            other => return Err(format!("HTTP {other}: {}", text.trim())),
        }
    }
    Err("the witness kept reporting a different size".into())
}

/// Rebuild a certificate's proof against the newest checkpoint with a quorum of cosignatures, so the
/// certificate carries the witnesses' independent evidence.
pub async fn with_cosignatures(state: &AppState, doc: String) -> ApiResult<String> {
    use dipr_ledger::certificate::Certificate;
    use dipr_ledger::proof::TlogProof;
    let quorum = state.witnesses().quorum;
    if quorum == 0 {
        return Ok(doc);
    }
    let mut cert = Certificate::parse(doc.as_bytes()).map_err(ApiError::internal)?;
    let proof = TlogProof::parse(&cert.proof).map_err(ApiError::internal)?;
    let Some(size) = state.store.latest_quorum_size(quorum).await? else { return Ok(doc) };
    if size <= proof.index {
        return Ok(doc);
    }
    let (_, note) = state
        .store
        .checkpoint(Some(size))
        .await?
        .ok_or_else(|| ApiError::internal("cosigned checkpoint is missing"))?;
    let mut checkpoint = note;
    for line in state.store.cosignatures(size).await? {
        checkpoint.push_str(&line);
        checkpoint.push('\n');
    }
    // The note must still verify as the registry's checkpoint.
    Checkpoint::open(checkpoint.as_bytes(), &state.signer.verifier(), state.signer.name())
        .map_err(ApiError::internal)?;
    let hashes = crate::ledger::prove_inclusion(state.store.as_ref(), proof.index, size).await?;
    cert.proof = TlogProof { extra: None, index: proof.index, hashes, checkpoint }.to_text();
    serde_json::to_string_pretty(&cert).map_err(ApiError::internal)
}

/// Submit new checkpoints to the witnesses every `interval` until `stop`.
pub async fn run(state: Arc<AppState>, interval: std::time::Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = collect_once(&state).await {
            tracing::warn!(code = e.code, message = %e.message, "witness round failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}
