//! Witnessing (`c2sp.org/tlog-witness`, `c2sp.org/tlog-cosignature`): the state machine of a witness,
//! the request a log sends it, and the witness policy a verifier applies.
//!
//! A witness remembers the latest checkpoint it cosigned for each log it knows. It cosigns a new
//! checkpoint only with a valid log signature and a consistency proof from the checkpoint it holds;
//! a forked history (same size, other root; or a proof that fails) is refused and never cosigned.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::merkle::{verify_consistency, Hash};
use crate::note::{Note, NoteSigner, NoteVerifier};

/// The latest checkpoint a witness cosigned for one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    pub size: u64,
    /// Base64 root hash.
    pub root: String,
}

/// Everything a witness must remember, per log origin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessState {
    pub logs: BTreeMap<String, LogHead>,
}

/// Why a witness refused; each maps to the HTTP status of the tlog-witness protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    #[error("the checkpoint is not signed by the log's key")]
    BadSignature,
    /// The witness holds another size for this log: the body of the 409 response.
    #[error("the witness's latest size for this log is {0}")]
    Conflict(u64),
    /// The checkpoint has the size the witness holds but another root: a fork (409, as C2SP requires).
    #[error("the witness holds another root at size {0}: the log has forked")]
    Fork(u64),
    #[error("the consistency proof does not hold: the log has forked or rewritten history")]
    Inconsistent,
}

impl AddError {
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) => 400,
            Self::UnknownLog(_) => 404,
            Self::BadSignature => 403,
            Self::Conflict(_) | Self::Fork(_) => 409,
            Self::Inconsistent => 422,
        }
    }
}

/// The body of an `add-checkpoint` request.
pub fn add_checkpoint_body(old: u64, proof: &[Hash], checkpoint_note: &str) -> String {
    let mut out = format!("old {old}\n");
    for h in proof {
        out.push_str(&B64.encode(h));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(checkpoint_note);
    out
}

/// Process an `add-checkpoint` request. On success the state is advanced and the cosignature line is
/// returned; on error the state is unchanged.
pub fn add_checkpoint(
    state: &mut WitnessState,
    logs: &BTreeMap<String, NoteVerifier>,
    witness: &NoteSigner,
    body: &[u8],
    now_unix: u64,
) -> Result<String, AddError> {
    let text = std::str::from_utf8(body).map_err(|_| AddError::Malformed("not UTF-8".into()))?;
    let (head, note) = text.split_once("\n\n").ok_or_else(|| AddError::Malformed("no blank line".into()))?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| AddError::Malformed("first line must be `old <size>`".into()))?;
    let mut proof = Vec::new();
    for l in lines {
        let h = B64.decode(l).map_err(|_| AddError::Malformed("proof line is not base64".into()))?;
        proof.push(h.try_into().map_err(|_| AddError::Malformed("proof hash is not 32 bytes".into()))?);
        if proof.len() > 64 {
            return Err(AddError::Malformed("too many proof hashes".into()));
        }
    }
    let parsed = Note::parse(note.as_bytes()).map_err(|e| AddError::Malformed(e.to_string()))?;
    let cp = Checkpoint::parse_text(&parsed.text).map_err(|e| AddError::Malformed(e.to_string()))?;
    let key = logs.get(&cp.origin).ok_or_else(|| AddError::UnknownLog(cp.origin.clone()))?;
    key.verify(&parsed).map_err(|_| AddError::BadSignature)?;
    if old > cp.size {
        return Err(AddError::Malformed(format!("old size {old} is larger than the checkpoint's {}", cp.size)));
    }
    let (known_size, known_root) = match state.logs.get(&cp.origin) {
        Some(h) => {
            let root: Hash = B64
                .decode(&h.root)
                .ok()
                .and_then(|r| r.try_into().ok())
                .ok_or_else(|| AddError::Malformed("corrupt witness state".into()))?;
            (h.size, root)
        }
        None => (0, crate::merkle::empty_root()),
    };
    if old != known_size {
        return Err(AddError::Conflict(known_size));
    }
    if cp.size == known_size && cp.root != known_root {
        return Err(AddError::Fork(known_size));
    }
    if !verify_consistency(known_size, cp.size, &known_root, &cp.root, &proof) {
        return Err(AddError::Inconsistent);
    }
    state.logs.insert(cp.origin.clone(), LogHead { size: cp.size, root: B64.encode(cp.root) });
    Ok(witness.cosign_line(parsed.text.as_bytes(), now_unix))
}

/// Which witnesses a verifier trusts and how many must have cosigned.
///
/// Text format, one directive a line (`#` starts a comment):
/// `witness <verifier key>` (a `cosignature/v1` key) and `quorum <n>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessPolicy {
    pub witnesses: Vec<NoteVerifier>,
    pub quorum: usize,
}

impl WitnessPolicy {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut witnesses = Vec::new();
        let mut quorum = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            match line.split_once(' ') {
                Some(("witness", key)) => {
                    let k = NoteVerifier::parse(key.trim()).map_err(|e| format!("line {}: {e}", n + 1))?;
                    if !k.is_cosigner() {
                        return Err(format!("line {}: {} is not a witness (cosignature/v1) key", n + 1, k.name()));
                    }
                    witnesses.push(k);
                }
                Some(("quorum", q)) => {
                    quorum = Some(
                        q.trim().parse::<usize>().map_err(|_| format!("line {}: quorum must be a number", n + 1))?,
                    )
                }
                _ => return Err(format!("line {}: expected `witness <key>` or `quorum <n>`", n + 1)),
            }
        }
        let quorum = quorum.unwrap_or(witnesses.len());
        if quorum > witnesses.len() {
            return Err(format!("quorum {quorum} exceeds the {} witnesses listed", witnesses.len()));
        }
        Ok(Self { witnesses, quorum })
    }

    /// The valid cosignatures on `note` by this policy's witnesses: (witness name, unix time).
    pub fn cosignatures(&self, note: &Note) -> Vec<(String, u64)> {
        self.witnesses
            .iter()
            .filter_map(|w| w.verify_cosignature(note).ok().map(|t| (w.name().to_string(), t)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{consistency_proof, MemoryTree};

    fn setup() -> (NoteSigner, BTreeMap<String, NoteVerifier>, NoteSigner) {
        let log = NoteSigner::generate("log.example").unwrap();
        let logs = BTreeMap::from([("log.example".to_string(), log.verifier())]);
        (log, logs, NoteSigner::generate("witness.example").unwrap())
    }

    fn checkpoint(log: &NoteSigner, t: &MemoryTree, size: u64) -> String {
        Checkpoint { origin: "log.example".into(), size, root: crate::merkle::tree_root(t, size).unwrap() }.sign(log)
    }

    #[test]
    fn cosigns_consistent_checkpoints_and_refuses_forks() {
        let (log, logs, w) = setup();
        let mut state = WitnessState::default();
        let mut t = MemoryTree::new();
        for i in 0..5 {
            t.push(format!("{i}").as_bytes());
        }
        let line = add_checkpoint(
            &mut state,
            &logs,
            &w,
            add_checkpoint_body(0, &[], &checkpoint(&log, &t, 5)).as_bytes(),
            100,
        )
        .unwrap();
        let note = Note::parse(format!("{}{line}", checkpoint(&log, &t, 5)).as_bytes()).unwrap();
        assert_eq!(w.cosigner_verifier().verify_cosignature(&note).unwrap(), 100);

        for i in 5..9 {
            t.push(format!("{i}").as_bytes());
        }
        // A stale `old` gets the witness's size back.
        let stale = add_checkpoint_body(3, &[], &checkpoint(&log, &t, 9));
        assert_eq!(add_checkpoint(&mut state, &logs, &w, stale.as_bytes(), 101), Err(AddError::Conflict(5)));
        let good = add_checkpoint_body(5, &consistency_proof(&t, 5, 9).unwrap(), &checkpoint(&log, &t, 9));
        add_checkpoint(&mut state, &logs, &w, good.as_bytes(), 102).unwrap();
        assert_eq!(state.logs["log.example"].size, 9);

        // A fork: the same key signs a different history of 12 entries.
        let mut fork = MemoryTree::new();
        for i in 0..12 {
            fork.push(format!("forked {i}").as_bytes());
        }
        let forged = add_checkpoint_body(9, &consistency_proof(&fork, 9, 12).unwrap(), &checkpoint(&log, &fork, 12));
        assert_eq!(add_checkpoint(&mut state, &logs, &w, forged.as_bytes(), 103), Err(AddError::Inconsistent));
        let same_size_other_root = add_checkpoint_body(9, &[], &checkpoint(&log, &fork, 9));
        let refused = add_checkpoint(&mut state, &logs, &w, same_size_other_root.as_bytes(), 104);
        assert_eq!(refused, Err(AddError::Fork(9)));
        assert_eq!(refused.unwrap_err().status(), 409, "c2sp.org/tlog-witness: same size, other root is a conflict");
        assert_eq!(state.logs["log.example"].size, 9, "refusals leave the state unchanged");

        // Unknown logs and foreign signatures.
        let stranger = NoteSigner::generate("log.example").unwrap();
        let bad_sig = add_checkpoint_body(9, &[], &checkpoint(&stranger, &t, 9));
        assert_eq!(add_checkpoint(&mut state, &logs, &w, bad_sig.as_bytes(), 105), Err(AddError::BadSignature));
        let other = NoteSigner::generate("other.example").unwrap();
        let cp = Checkpoint { origin: "other.example".into(), size: 1, root: [0; 32] }.sign(&other);
        assert!(matches!(
            add_checkpoint(&mut state, &logs, &w, add_checkpoint_body(0, &[], &cp).as_bytes(), 106),
            Err(AddError::UnknownLog(_))
        ));
    }

    #[test]
    fn policies_parse() {
        let w1 = NoteSigner::generate("w1").unwrap().cosigner_verifier();
        let w2 = NoteSigner::generate("w2").unwrap().cosigner_verifier();
        let p = WitnessPolicy::parse(&format!("# trusted\nwitness {w1}\nwitness {w2}\nquorum 1\n")).unwrap();
        assert_eq!((p.witnesses.len(), p.quorum), (2, 1));
        assert!(WitnessPolicy::parse(&format!("witness {w1}\nquorum 2\n")).is_err());
        let log_key = NoteSigner::generate("log").unwrap().verifier();
        assert!(WitnessPolicy::parse(&format!("witness {log_key}\n")).is_err());
    }
}
