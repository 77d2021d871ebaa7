//! `c2sp.org/tlog-checkpoint`: the note text `<origin>\n<size>\n<base64 root>\n` (extension lines may
//! follow), signed by the log.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::merkle::Hash;
use crate::note::{Note, NoteError, NoteSigner, NoteVerifier};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("checkpoint is for log {found:?}, expected {expected:?}")]
    WrongOrigin { expected: String, found: String },
}

impl Checkpoint {
    pub fn text(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root))
    }

    /// Parse checkpoint text (the signed part of the note).
    pub fn parse_text(text: &str) -> Result<Self, CheckpointError> {
        let mut lines = text.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or(CheckpointError::Malformed("empty origin"))?;
        let size = lines.next().ok_or(CheckpointError::Malformed("missing size"))?;
        // Decimal without sign or leading zeros.
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
            return Err(CheckpointError::Malformed("size is not a decimal number"));
        }
        let size: u64 = size.parse().map_err(|_| CheckpointError::Malformed("size out of range"))?;
        let root = lines.next().ok_or(CheckpointError::Malformed("missing root hash"))?;
        let root = B64.decode(root).map_err(|_| CheckpointError::Malformed("root hash is not base64"))?;
        let root: Hash = root.try_into().map_err(|_| CheckpointError::Malformed("root hash is not 32 bytes"))?;
        if !text.ends_with('\n') {
            return Err(CheckpointError::Malformed("text must end in a newline"));
        }
        Ok(Self { origin: origin.to_string(), size, root })
    }

    pub fn sign(&self, signer: &NoteSigner) -> String {
        Note::sign(&self.text(), signer).expect("checkpoint text is well formed")
    }

    /// Parse a signed checkpoint note and check the log's signature and origin.
    pub fn open(note: &[u8], log_key: &NoteVerifier, origin: &str) -> Result<(Self, Note), CheckpointError> {
        let note = Note::parse(note)?;
        log_key.verify(&note)?;
        let cp = Self::parse_text(&note.text)?;
        if cp.origin != origin {
            return Err(CheckpointError::WrongOrigin { expected: origin.into(), found: cp.origin });
        }
        Ok((cp, note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_strictness() {
        let signer = NoteSigner::generate("dipr.example.cn/log").unwrap();
        let cp = Checkpoint { origin: "dipr.example.cn/log".into(), size: 42, root: [7; 32] };
        let note = cp.sign(&signer);
        let (back, _) = Checkpoint::open(note.as_bytes(), &signer.verifier(), "dipr.example.cn/log").unwrap();
        assert_eq!(back, cp);
        assert!(matches!(
            Checkpoint::open(note.as_bytes(), &signer.verifier(), "other"),
            Err(CheckpointError::WrongOrigin { .. })
        ));
        for bad in [
            "o\n042\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
            "o\n-1\nAA==\n",
            "o\n1\nAA==\n",
            "\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
        ] {
            assert!(Checkpoint::parse_text(bad).is_err(), "{bad:?}");
        }
    }
}
