//! `c2sp.org/tlog-proof@v1`: an offline proof that an entry is in a log — the index, the inclusion
//! proof, and the signed checkpoint (with any witness cosignatures) it leads to.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::merkle::{verify_inclusion, Hash};
use crate::note::{Note, NoteVerifier};

const HEADER: &str = "c2sp.org/tlog-proof@v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, exactly as the log (and witnesses) signed it.
    pub checkpoint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFormatError {
    #[error("malformed tlog-proof: {0}")]
    Malformed(&'static str),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("the inclusion proof does not lead to the checkpoint's root")]
    NotIncluded,
}

impl TlogProof {
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", B64.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    pub fn parse(text: &str) -> Result<Self, ProofFormatError> {
        let bad = ProofFormatError::Malformed;
        let (head, checkpoint) = text.split_once("\n\n").ok_or(bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("first line must be c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or(bad("missing index"))?;
        let mut extra = None;
        if let Some(e) = line.strip_prefix("extra ") {
            extra = Some(B64.decode(e).map_err(|_| bad("extra is not base64"))?);
            line = lines.next().ok_or(bad("missing index"))?;
        }
        let idx = line.strip_prefix("index ").ok_or(bad("missing index line"))?;
        if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) || (idx.len() > 1 && idx.starts_with('0')) {
            return Err(bad("index is not a decimal number"));
        }
        let index = idx.parse().map_err(|_| bad("index out of range"))?;
        let mut hashes = Vec::new();
        for l in lines {
            let h = B64.decode(l).map_err(|_| bad("proof hash is not base64"))?;
            hashes.push(h.try_into().map_err(|_| bad("proof hash is not 32 bytes"))?);
        }
        if hashes.len() > 64 {
            return Err(bad("too many proof hashes"));
        }
        Ok(Self { extra, index, hashes, checkpoint: checkpoint.to_string() })
    }

    /// Check the checkpoint's signature and that `leaf` is at `index` in it. Returns the checkpoint
    /// and its note (whose other signatures are witness cosignatures).
    pub fn verify(
        &self,
        leaf: &Hash,
        log_key: &NoteVerifier,
        origin: &str,
    ) -> Result<(Checkpoint, Note), ProofFormatError> {
        let (cp, note) = Checkpoint::open(self.checkpoint.as_bytes(), log_key, origin)?;
        if !verify_inclusion(leaf, self.index, cp.size, &self.hashes, &cp.root) {
            return Err(ProofFormatError::NotIncluded);
        }
        Ok((cp, note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{inclusion_proof, leaf_hash, MemoryTree};
    use crate::note::NoteSigner;

    #[test]
    fn proof_roundtrip_and_verification() {
        let signer = NoteSigner::generate("log.example").unwrap();
        let mut t = MemoryTree::new();
        for i in 0..10 {
            t.push(format!("e{i}").as_bytes());
        }
        let cp = Checkpoint { origin: "log.example".into(), size: 10, root: t.root() };
        let p = TlogProof {
            extra: Some(b"x".to_vec()),
            index: 3,
            hashes: inclusion_proof(&t, 3, 10).unwrap(),
            checkpoint: cp.sign(&signer),
        };
        let text = p.to_text();
        let back = TlogProof::parse(&text).unwrap();
        assert_eq!(back, p);
        back.verify(&leaf_hash(b"e3"), &signer.verifier(), "log.example").unwrap();
        assert_eq!(
            back.verify(&leaf_hash(b"e4"), &signer.verifier(), "log.example"),
            Err(ProofFormatError::NotIncluded)
        );
        assert!(TlogProof::parse(&text.replacen("index 3", "index 03", 1)).is_err());
    }
}
