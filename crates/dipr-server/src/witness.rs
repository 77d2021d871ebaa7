//! The witness server (`dipr witness`): an independent party's process that cosigns the registry's
//! checkpoints over HTTP (C2SP tlog-witness). The registry's side, collecting cosignatures, is
//! `dipr_registry::witnessing`.

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
use dipr_ledger::note::{NoteSigner, NoteVerifier};
use dipr_ledger::witness::{add_checkpoint, AddError, WitnessState};
use serde::Serialize;

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
        let signer = dipr_registry::ledger::load_or_create_key(&data_dir.join("witness.key"), name)?;
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
    crate::serve_router(listener, witness_router(w), &dipr_registry::throttle::Limits::default(), shutdown).await;
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
