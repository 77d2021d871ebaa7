//! Witnessing, the registry's side: send each new checkpoint to the configured witnesses (C2SP
//! tlog-witness `POST /add-checkpoint`) and store their cosignatures so certificates can carry them.
//! The witness server itself is `dipr_server::witness`.

use std::sync::Arc;

use base64::Engine;

use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::note::{Note, NoteVerifier};
use dipr_ledger::witness::add_checkpoint_body;
use serde::Serialize;

use crate::error::Error;
use crate::error::Result;
use crate::state::Registry;
use crate::witnesses::WitnessEndpoint;
use crate::witnesses::WitnessSet;
use crate::witnesses::WITNESS_SETTING;

/// Replace the witness set (administrators): checked, stored and logged in one transaction, then used
/// from the next round on.
pub async fn replace(state: &Registry, actor: &dipr_domain::access::Actor, set: WitnessSet) -> Result<WitnessSet> {
    if actor.role != dipr_domain::access::Role::Admin {
        return Err(Error::forbidden("administrators only"));
    }
    let set = WitnessSet {
        witnesses: set
            .witnesses
            .into_iter()
            .map(|w| WitnessEndpoint { url: w.url.trim().to_string(), key: w.key.trim().to_string() })
            .collect(),
        quorum: set.quorum,
    };
    set.check().map_err(Error::validation)?;
    let now = state.clock.now();
    let json = serde_json::to_string(&set).map_err(Error::internal)?;
    let mut tx = state.store.begin().await?;
    tx.set_setting(WITNESS_SETTING, &json).await?;
    let mut e = crate::audit::event(actor, now, "registry", "witnesses", "witnesses_changed");
    e.payload = serde_json::to_value(&set).map_err(Error::internal)?;
    tx.append_event(&e).await?;
    tx.commit().await?;
    state.set_witnesses(set.clone());
    Ok(set)
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
pub async fn collect_once(state: &Registry) -> Result<Vec<WitnessOutcome>> {
    let set = state.witnesses();
    if set.witnesses.is_empty() {
        return Ok(Vec::new());
    }
    let Some((size, note)) = state.store.checkpoint(None).await? else { return Ok(Vec::new()) };
    let mut outcomes = Vec::new();
    for endpoint in &set.witnesses {
        let key = NoteVerifier::parse(&endpoint.key)
            .map_err(|e| Error::internal(format!("witness key {}: {e}", endpoint.key)))?;
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
    state: &Registry,
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
                let mut e =
                    crate::audit::event(&dipr_domain::access::Actor::system(), now, "checkpoint", size, "cosigned");
                e.payload = serde_json::json!({"witness": key.name()});
                tx.append_event(&e).await.map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())?;
                return Ok(size);
            }
            // A size: the witness holds another one; text: a fork at the size we sent.
            409 => old = text.trim().parse().map_err(|_| format!("HTTP 409: {}", text.trim()))?,
            other => return Err(format!("HTTP {other}: {}", text.trim())),
        }
    }
    Err("the witness kept reporting a different size".into())
}

/// Rebuild a certificate's proof against the newest checkpoint that has the witnesses' quorum of
/// cosignatures and, with TSAs configured, trusted time stamps, so the certificate carries that independent
/// evidence (the cosignatures in its checkpoint, the tokens beside it).
pub async fn with_cosignatures(state: &Registry, doc: String) -> Result<String> {
    use dipr_ledger::certificate::Certificate;
    use dipr_ledger::proof::TlogProof;
    let quorum = state.witnesses().quorum;
    let stamped = !state.config.tsa.is_empty();
    if quorum == 0 && !stamped {
        return Ok(doc);
    }
    let mut cert = Certificate::parse(doc.as_bytes()).map_err(Error::internal)?;
    let proof = TlogProof::parse(&cert.proof).map_err(Error::internal)?;
    let mut size = None;
    if stamped {
        for s in state.store.timestamped_sizes(50).await? {
            if quorum == 0 || state.store.cosignatures(s).await?.len() >= quorum {
                size = Some(s);
                break;
            }
        }
    }
    if size.is_none() && quorum > 0 {
        size = state.store.latest_quorum_size(quorum).await?;
    }
    let Some(size) = size.filter(|s| *s > proof.index) else { return Ok(doc) };
    let checkpoint = cosigned(state, size).await?;
    let hashes = crate::ledger::prove_inclusion(state.store.as_ref(), proof.index, size).await?;
    cert.proof = TlogProof { extra: None, index: proof.index, hashes, checkpoint }.to_text();
    cert.timestamps = state
        .store
        .timestamps(size)
        .await?
        .into_iter()
        .map(|(tsa, der)| dipr_ledger::timestamp::TimestampToken {
            tsa,
            token: base64::engine::general_purpose::STANDARD.encode(der),
        })
        .collect();
    serde_json::to_string_pretty(&cert).map_err(Error::internal)
}

/// The signed checkpoint of `size` with every cosignature collected for it.
async fn cosigned(state: &Registry, size: u64) -> Result<String> {
    let (_, mut note) =
        state.store.checkpoint(Some(size)).await?.ok_or_else(|| Error::internal("cosigned checkpoint is missing"))?;
    for line in state.store.cosignatures(size).await? {
        note.push_str(&line);
        note.push('\n');
    }
    // The note must still verify as the registry's checkpoint.
    Checkpoint::open(note.as_bytes(), &state.signer.verifier(), state.signer.name()).map_err(Error::internal)?;
    Ok(note)
}

/// The checkpoint `/log/checkpoint` publishes: with a witness quorum configured, the newest checkpoint that
/// has it, with its cosignatures (so tile clients can check the witnesses); before any has, and without a
/// quorum, the newest checkpoint with whatever cosignatures it has. `None` while the log is empty.
pub async fn published_checkpoint(state: &Registry) -> Result<Option<String>> {
    let quorum = state.witnesses().quorum;
    let size = match state.store.latest_quorum_size(quorum.max(1)).await? {
        Some(size) if quorum > 0 => Some(size),
        _ => state.store.checkpoint(None).await?.map(|(size, _)| size),
    };
    match size {
        Some(size) => cosigned(state, size).await.map(Some),
        None => Ok(None),
    }
}

/// How the log stands for the health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LogHealth {
    /// Entries in the log (the newest checkpoint's size).
    pub size: u64,
    /// The newest checkpoint cosigned by the quorum (none without a quorum configured).
    pub cosigned_size: Option<u64>,
    /// Seconds the newest checkpoint has waited for its quorum of cosignatures (0 when it has it).
    pub waiting_secs: u64,
    /// What is wrong, in plain words; empty when healthy.
    pub problems: Vec<String>,
}

/// The log's health: unhealthy when its database is behind the checkpoint the registry keeps outside it (a
/// rollback), or when, with a witness quorum configured, the newest checkpoint has waited longer than
/// `witness_max_lag_secs` for its cosignatures (witnesses down, refusing, or the log forked).
pub async fn log_health(state: &Registry) -> Result<LogHealth> {
    let mut problems = Vec::new();
    let size = state.store.checkpoint(None).await?.map_or(0, |(s, _)| s);
    if let Some(head) = state.head().and_then(|f| f.head()) {
        if let Some(p) = crate::head::standing(state.store.as_ref(), &head).await?.problem() {
            problems.push(p);
        }
    }
    let quorum = state.witnesses().quorum;
    let cosigned_size = if quorum > 0 { state.store.latest_quorum_size(quorum).await? } else { None };
    let mut waiting_secs = 0;
    if quorum > 0 && size > 0 && cosigned_size.is_none_or(|c| c < size) {
        // The newest checkpoint was signed with the entry that made it: that entry's time.
        let signed_at = state
            .store
            .log_entries(size - 1, size)
            .await?
            .first()
            .and_then(|e| dipr_ledger::certificate::LogEntry::parse(e).ok())
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(&e.at).ok());
        if let Some(at) = signed_at {
            waiting_secs = (state.clock.now() - at.with_timezone(&chrono::Utc)).num_seconds().max(0) as u64;
        }
        let limit = state.config.witness_max_lag_secs;
        if limit > 0 && waiting_secs > limit {
            problems.push(format!(
                "the newest checkpoint (size {size}) has waited {waiting_secs} s for {quorum} witness cosignature(s), \
                 more than the {limit} s allowed; newest cosigned: {}",
                cosigned_size.map_or("none".to_string(), |s| format!("size {s}"))
            ));
        }
    }
    Ok(LogHealth { size, cosigned_size, waiting_secs, problems })
}

/// Submit new checkpoints to the witnesses every `interval` until `stop`.
pub async fn run(state: Arc<Registry>, interval: std::time::Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let pass = collect_once(&state).await;
        state.metrics.task_ran("witnesses", pass.is_ok());
        if let Err(e) = pass {
            tracing::warn!(code = e.code, message = %e.message, "witness round failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}
