//! Trusted time for the log (可信时间戳): the registry asks its configured time-stamping authorities (RFC 3161)
//! for a token over its newest checkpoint at a configured interval, checks each token against the TSA's trust
//! anchor before keeping it, and certificates are served with the newest time-stamped checkpoint and its tokens.

use std::sync::Arc;

use dipr_ledger::note::Note;
use dipr_ledger::timestamp::{anchors_from_pem, checkpoint_digest, request, token_of_response, verify_token};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::state::Registry;
pub use crate::state::TsaEndpoint;

/// What happened with one TSA in one round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StampOutcome {
    pub tsa: String,
    /// The checkpoint size now stamped, when it was.
    pub stamped: Option<u64>,
    pub error: Option<String>,
}

/// The checkpoint to stamp: the newest one, or with a witness quorum the newest that has it (so that served
/// certificates can carry both the cosignatures and the tokens of one checkpoint).
async fn target(state: &Registry) -> Result<Option<(u64, String)>> {
    let quorum = state.witnesses().quorum;
    let size = if quorum > 0 {
        state.store.latest_quorum_size(quorum).await?
    } else {
        state.store.checkpoint(None).await?.map(|(s, _)| s)
    };
    match size {
        Some(size) => Ok(state.store.checkpoint(Some(size)).await?),
        None => Ok(None),
    }
}

fn post(url: &str, body: Vec<u8>) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    let agent = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(10)).build();
    let resp = agent
        .post(url)
        .set("Content-Type", "application/timestamp-query")
        .set("Accept", "application/timestamp-reply")
        .send_bytes(&body)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    resp.into_reader().take(1 << 20).read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Ask every configured TSA that has not stamped the target checkpoint yet; keep each token that verifies.
pub async fn stamp_once(state: &Registry) -> Result<Vec<StampOutcome>> {
    let tsas = &state.config.tsa;
    if tsas.is_empty() {
        return Ok(Vec::new());
    }
    let Some((size, note)) = target(state).await? else { return Ok(Vec::new()) };
    let text = Note::parse(note.as_bytes()).map_err(Error::internal)?.text;
    let digest = checkpoint_digest(&text);
    let have: Vec<String> = state.store.timestamps(size).await?.into_iter().map(|(tsa, _)| tsa).collect();
    let mut outcomes = Vec::new();
    for tsa in tsas.iter().filter(|t| !have.contains(&t.name)) {
        let outcome = match stamp(state, tsa, size, &digest).await {
            Ok(()) => StampOutcome { tsa: tsa.name.clone(), stamped: Some(size), error: None },
            Err(e) => {
                tracing::warn!(tsa = %tsa.name, error = %e, "no time stamp");
                StampOutcome { tsa: tsa.name.clone(), stamped: None, error: Some(e) }
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

async fn stamp(state: &Registry, tsa: &TsaEndpoint, size: u64, digest: &[u8; 32]) -> std::result::Result<(), String> {
    let pem = std::fs::read_to_string(&tsa.trust).map_err(|e| format!("{}: {e}", tsa.trust.display()))?;
    let anchors = anchors_from_pem(&pem).map_err(|e| format!("{}: {e}", tsa.trust.display()))?;
    let query = request(digest, rand::random())?;
    let url = tsa.url.clone();
    let reply = tokio::task::spawn_blocking(move || post(&url, query)).await.map_err(|e| e.to_string())??;
    let token = token_of_response(&reply)?;
    let stamp = verify_token(&token, digest, &anchors)?;
    let gen_time = dipr_domain::shown::from_unix(stamp.unix).ok_or("the TSA's time is out of range")?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(|e| e.to_string())?;
    tx.insert_timestamp(size, &tsa.name, &token, gen_time, now).await.map_err(|e| e.to_string())?;
    let mut e = crate::audit::event(&dipr_domain::access::Actor::system(), now, "checkpoint", size, "timestamped");
    e.payload = serde_json::json!({"tsa": tsa.name, "gen_time": gen_time, "signer": stamp.signer});
    tx.append_event(&e).await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

/// Stamp every `interval` until `stop` (only with TSAs configured).
pub async fn run(state: Arc<Registry>, interval: std::time::Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    if state.config.tsa.is_empty() {
        return;
    }
    loop {
        let pass = stamp_once(&state).await;
        state.metrics.task_ran("timestamps", pass.is_ok());
        if let Err(e) = pass {
            tracing::warn!(code = e.code, message = %e.message, "time-stamping round failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The TSA trust anchors of the configured TSAs (for `/check`); a file that cannot be read is skipped with a
/// warning, as the check then reports the token unverified.
pub fn anchors(state: &Registry) -> Vec<dipr_ledger::timestamp::TsaCertificate> {
    let mut out = Vec::new();
    for tsa in &state.config.tsa {
        match std::fs::read_to_string(&tsa.trust).map_err(|e| e.to_string()).and_then(|p| anchors_from_pem(&p)) {
            Ok(a) => out.extend(a),
            Err(e) => tracing::warn!(tsa = %tsa.name, error = %e, "cannot read the TSA trust anchor"),
        }
    }
    out
}
