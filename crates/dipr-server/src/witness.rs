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

/// A witness the registry submits checkpoints to (from configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessEndpoint {
    /// Base URL; the registry posts to `<url>/add-checkpoint`.
    pub url: String,
    /// The witness's `cosignature/v1` verifier key.
    pub key: String,
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

/// Serve a witness until `shutdown` resolves.
pub async fn serve_witness(
    listener: tokio::net::TcpListener,
    w: Arc<Witness>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, witness_router(w)).with_graceful_shutdown(shutdown).await?;
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
    let Some((size, note)) = state.store.checkpoint(None).await? else { return Ok(Vec::new()) };
    let mut outcomes = Vec::new();
    for endpoint in &state.config.witnesses {
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
    let quorum = state.config.witness_quorum;
    if quorum == 0 || state.config.witnesses.is_empty() {
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
