//! `dipr follow`: read the registry's public events after the last one this mirror holds, check every page
//! against the signed checkpoint, and append the events as JSON Lines. The state file keeps the last index
//! read and the last checkpoint seen; a restarted follower resumes after that index, misses nothing, and
//! checks that each new checkpoint extends the one before (a registry that rewrote its history is caught).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clap::Args;
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{leaf_hash, verify_consistency, verify_range, Hash};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;

#[derive(Args)]
pub struct FollowArgs {
    /// Base URL of the registry.
    #[arg(long, env = "DIPR_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The registry's verifier key (`name+id+key`), or a file holding it: every checkpoint must carry its
    /// signature.
    #[arg(long)]
    trusted_key: String,
    /// Where the last index read and the last checkpoint seen are kept between runs (created if missing).
    #[arg(long)]
    state: PathBuf,
    /// Append each verified event to this file as one JSON line (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Events per request, 1–1000.
    #[arg(long, default_value_t = 500)]
    limit: u32,
    /// Stop once the published log has been read (otherwise wait for new events, polling every `--every`).
    #[arg(long)]
    once: bool,
    /// Seconds between polls when nothing is new.
    #[arg(long, default_value_t = 5)]
    every: u64,
}

impl FollowArgs {
    /// A run that reads what is published and stops (the open-register benchmark).
    pub fn once(server: &str, trusted_key: &str, state: &Path, out: &Path, limit: u32) -> Self {
        Self {
            server: server.into(),
            trusted_key: trusted_key.into(),
            state: state.into(),
            out: Some(out.into()),
            limit,
            once: true,
            every: 5,
        }
    }
}

/// What a follower remembers.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct FollowState {
    /// Index of the last event written out.
    last: Option<u64>,
    /// The last checkpoint verified: its size and base64 root.
    size: u64,
    root: Option<String>,
}

pub fn follow(a: FollowArgs) -> Result<()> {
    let key = crate::trusted_key(&a.trusted_key)?;
    let client = Client::new(&a.server, None);
    let mut state: FollowState = match std::fs::read(&a.state) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).with_context(|| format!("{}: not a follow state", a.state.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FollowState::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", a.state.display())),
    };
    // Buffered: an event is written as many small pieces; the buffer is flushed after each page.
    let mut out: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::OpenOptions::new().create(true).append(true).open(p).with_context(|| p.display().to_string())?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut read = 0u64;
    loop {
        let path = match state.last {
            Some(last) => format!("/api/v1/log/events?after={last}&limit={}", a.limit),
            None => format!("/api/v1/log/events?limit={}", a.limit),
        };
        let page = client.call("GET", &path, None)?;
        let (events, cp) = check_page(&page, &state, &key)?;
        if cp.size != state.size || state.root.is_none() {
            check_extends(&client, &state, &cp)?;
        }
        for e in &events {
            serde_json::to_writer(&mut out, e)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        read += events.len() as u64;
        if let Some(last) = events.last().and_then(|e| e["index"].as_u64()) {
            state.last = Some(last);
        }
        state.size = cp.size;
        state.root = Some(B64.encode(cp.root));
        save(&a.state, &state)?;
        if page["more"].as_bool() == Some(true) {
            continue;
        }
        if a.once {
            eprintln!("{read} events read and verified; last index {:?}, log size {}", state.last, state.size);
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(a.every));
    }
}

/// The page's events, once they are proved to be exactly the log's entries after `state.last` under a
/// checkpoint the trusted key signed.
fn check_page(
    page: &Value,
    state: &FollowState,
    key: &dipr_ledger::note::NoteVerifier,
) -> Result<(Vec<Value>, Checkpoint)> {
    let note = page["checkpoint"].as_str().context("the page has no checkpoint")?;
    let (cp, _) = Checkpoint::open(note.as_bytes(), key, key.name()).context("the page's checkpoint")?;
    let start = state.last.map_or(0, |l| l + 1);
    let events = page["events"].as_array().context("the page has no events list")?.clone();
    let mut leaves = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        if e["index"].as_u64() != Some(start + i as u64) {
            bail!("event {} of the page has index {}, expected {}", i, e["index"], start + i as u64);
        }
        let entry = e["entry"].as_str().context("an event without its entry")?;
        let read: dipr_ledger::certificate::LogEntry = dipr_ledger::certificate::LogEntry::parse(entry.as_bytes())
            .map_err(|m| anyhow::anyhow!("entry {}: {m}", start + i as u64))?;
        if serde_json::to_value(&read)? != e["event"] {
            bail!("event {}: the server's reading of the entry differs from the entry", start + i as u64);
        }
        leaves.push(leaf_hash(entry.as_bytes()));
    }
    let left = hashes(&page["left"])?;
    let consistency = hashes(&page["consistency"])?;
    if !verify_range(start, &left, leaves, cp.size, &cp.root, &consistency) {
        bail!(
            "events {start}–{} do not verify against the checkpoint of size {}: the page is not the log's",
            start + events.len() as u64,
            cp.size
        );
    }
    Ok((events, cp))
}

/// The new checkpoint extends the last one verified (the same history, only longer).
fn check_extends(client: &Client, state: &FollowState, cp: &Checkpoint) -> Result<()> {
    let Some(root) = &state.root else { return Ok(()) };
    let old: Hash = B64.decode(root)?.try_into().map_err(|_| anyhow::anyhow!("state: root is not 32 bytes"))?;
    if cp.size < state.size {
        bail!(
            "the registry now publishes a checkpoint of size {} after one of size {}: its log shrank",
            cp.size,
            state.size
        );
    }
    let proof = if cp.size == state.size {
        Vec::new()
    } else {
        let p =
            client.call("GET", &format!("/api/v1/log/proofs/consistency?old={}&new={}", state.size, cp.size), None)?;
        hashes(&p["hashes"])?
    };
    if !verify_consistency(state.size, cp.size, &old, &cp.root, &proof) {
        bail!(
            "the checkpoint of size {} does not extend the one of size {} seen before: the log forked",
            cp.size,
            state.size
        );
    }
    Ok(())
}

fn hashes(v: &Value) -> Result<Vec<Hash>> {
    v.as_array()
        .context("expected a list of base64 hashes")?
        .iter()
        .map(|h| {
            let bytes = B64.decode(h.as_str().context("a hash is not a string")?)?;
            bytes.try_into().map_err(|_| anyhow::anyhow!("a hash is not 32 bytes"))
        })
        .collect()
}

/// Replace the state file whole, so a crash leaves the old state or the new one.
fn save(path: &Path, state: &FollowState) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(state)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
