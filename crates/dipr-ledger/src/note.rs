//! C2SP signed notes (`c2sp.org/signed-note`) with Ed25519 keys, and witness cosignatures
//! (`c2sp.org/tlog-cosignature`).
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
//! `— <key name> <base64(key id ‖ signature)>`. The key id is the first four bytes of
//! SHA-256(key name ‖ 0x0A ‖ algorithm byte ‖ public key).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Algorithm byte of plain Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// Algorithm byte of `cosignature/v1` (Ed25519 with a timestamp).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    #[error("no signature by {0} verifies")]
    Unverified(String),
}

pub fn key_id(name: &str, alg: u8, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Key names are non-empty, contain no whitespace and no `+`.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| !c.is_whitespace() && c != '+' && !c.is_control())
}

/// A key that signs notes (the registry's, or a witness's).
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({})", self.name)
    }
}

impl NoteSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        if !valid_key_name(name) {
            return Err(NoteError::BadKey("key name must be non-empty, without spaces or '+'"));
        }
        Ok(Self { name: name.to_string(), key })
    }

    pub fn generate(name: &str) -> Result<Self, NoteError> {
        Self::new(name, SigningKey::generate(&mut rand_core::OsRng))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same key under another name (a new registry names itself after its key).
    pub fn renamed(self, name: &str) -> Result<Self, NoteError> {
        Self::new(name, self.key)
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`, the Go `note` format. Keep it secret.
    pub fn to_private_string(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(&self.key.to_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.id(), B64.encode(raw))
    }

    pub fn from_private_string(s: &str) -> Result<Self, NoteError> {
        let rest = s.trim().strip_prefix("PRIVATE+KEY+").ok_or(NoteError::BadKey("missing PRIVATE+KEY+ prefix"))?;
        // Names contain no '+', but base64 may: split from the left.
        let mut parts = rest.splitn(3, '+');
        let (name, id, b64) = (parts.next(), parts.next(), parts.next());
        let (Some(name), Some(id), Some(b64)) = (name, id, b64) else {
            return Err(NoteError::BadKey("expected name+id+key"));
        };
        let raw = B64.decode(b64).map_err(|_| NoteError::BadKey("key is not base64"))?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(NoteError::BadKey("not an Ed25519 private key"));
        }
        let seed: [u8; 32] = raw[1..].try_into().expect("length checked");
        let signer = Self::new(name, SigningKey::from_bytes(&seed))?;
        if format!("{:08x}", signer.id()) != id {
            return Err(NoteError::BadKey("key id does not match the key"));
        }
        Ok(signer)
    }

    pub fn id(&self) -> u32 {
        key_id(&self.name, ALG_ED25519, self.key.verifying_key().as_bytes())
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), alg: ALG_ED25519, key: self.key.verifying_key() }
    }

    /// The same key as a witness (`cosignature/v1`) verifier.
    pub fn cosigner_verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), alg: ALG_COSIGNATURE_V1, key: self.key.verifying_key() }
    }

    /// A bare Ed25519 signature (certificate statements are signed with the log's key this way).
    pub fn sign_bytes(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }

    /// A signature line over `text` (which must end in a newline).
    pub fn sign_line(&self, text: &[u8]) -> String {
        let sig = self.key.sign(text);
        let mut raw = self.id().to_be_bytes().to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {} {}\n", self.name, B64.encode(raw))
    }

    /// A `cosignature/v1` line over a checkpoint, made at `timestamp` (seconds since the epoch).
    pub fn cosign_line(&self, checkpoint_text: &[u8], timestamp: u64) -> String {
        let msg = cosigned_message(checkpoint_text, timestamp);
        let sig = self.key.sign(&msg);
        let mut raw =
            key_id(&self.name, ALG_COSIGNATURE_V1, self.key.verifying_key().as_bytes()).to_be_bytes().to_vec();
        raw.extend_from_slice(&timestamp.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {} {}\n", self.name, B64.encode(raw))
    }
}

fn cosigned_message(checkpoint_text: &[u8], timestamp: u64) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(checkpoint_text);
    msg
}

/// A public key that checks notes: `<name>+<hex id>+<base64(0x01 ‖ public key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    /// [`ALG_ED25519`] for log keys, [`ALG_COSIGNATURE_V1`] for witness keys.
    alg: u8,
    key: VerifyingKey,
}

impl NoteVerifier {
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let mut parts = s.trim().splitn(3, '+');
        let (name, id, b64) = (parts.next(), parts.next(), parts.next());
        let (Some(name), Some(id), Some(b64)) = (name, id, b64) else {
            return Err(NoteError::BadKey("expected name+id+key"));
        };
        if !valid_key_name(name) {
            return Err(NoteError::BadKey("invalid key name"));
        }
        let raw = B64.decode(b64).map_err(|_| NoteError::BadKey("key is not base64"))?;
        if raw.len() != 33 || !(raw[0] == ALG_ED25519 || raw[0] == ALG_COSIGNATURE_V1) {
            return Err(NoteError::BadKey("not an Ed25519 or cosignature/v1 verifier key"));
        }
        let public: [u8; 32] = raw[1..].try_into().expect("length checked");
        let key = VerifyingKey::from_bytes(&public).map_err(|_| NoteError::BadKey("not a valid Ed25519 point"))?;
        let v = Self { name: name.to_string(), alg: raw[0], key };
        if format!("{:08x}", v.id()) != id {
            return Err(NoteError::BadKey("key id does not match the key"));
        }
        Ok(v)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        key_id(&self.name, self.alg, self.key.as_bytes())
    }

    /// A witness key (checks `cosignature/v1`), rather than a log key.
    pub fn is_cosigner(&self) -> bool {
        self.alg == ALG_COSIGNATURE_V1
    }

    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Check a bare Ed25519 signature made with [`NoteSigner::sign_bytes`].
    pub fn verify_bytes(&self, msg: &[u8], signature: &[u8]) -> bool {
        self.alg == ALG_ED25519
            && Signature::from_slice(signature).is_ok_and(|s| self.key.verify_strict(msg, &s).is_ok())
    }

    /// Check that `note` carries a valid signature by this key.
    pub fn verify(&self, note: &Note) -> Result<(), NoteError> {
        if self.alg != ALG_ED25519 {
            return Err(NoteError::Unverified(self.name.clone()));
        }
        for s in note.signatures.iter().filter(|s| s.name == self.name && s.key_id == self.id()) {
            if let Ok(sig) = Signature::from_slice(&s.bytes) {
                if self.key.verify_strict(note.text.as_bytes(), &sig).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(NoteError::Unverified(self.name.clone()))
    }

    /// Check a `cosignature/v1` by this key; returns the cosignature's timestamp.
    pub fn verify_cosignature(&self, note: &Note) -> Result<u64, NoteError> {
        if self.alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::Unverified(self.name.clone()));
        }
        for s in note.signatures.iter().filter(|s| s.name == self.name && s.key_id == self.id()) {
            if s.bytes.len() != 72 {
                continue;
            }
            let timestamp = u64::from_be_bytes(s.bytes[..8].try_into().expect("length checked"));
            let Ok(sig) = Signature::from_slice(&s.bytes[8..]) else { continue };
            if self.key.verify_strict(&cosigned_message(note.text.as_bytes(), timestamp), &sig).is_ok() {
                return Ok(timestamp);
            }
        }
        Err(NoteError::Unverified(self.name.clone()))
    }
}

impl std::fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = vec![self.alg];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id(), B64.encode(raw))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the key id.
    pub bytes: Vec<u8>,
}

/// A parsed signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parse strictly: UTF-8, text ending in `\n`, no control characters but newlines, at least one
    /// well-formed signature line, nothing after the last one.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::Malformed("not UTF-8"))?;
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err(NoteError::Malformed("control characters"));
        }
        let split = s.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (text, sigs) = (&s[..split + 1], &s[split + 2..]);
        if !sigs.ends_with('\n') {
            return Err(NoteError::Malformed("signature block must end in a newline"));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            let rest =
                line.strip_prefix("\u{2014} ").ok_or(NoteError::Malformed("signature line must start with '— '"))?;
            let (name, b64) =
                rest.split_once(' ').ok_or(NoteError::Malformed("signature line needs a name and a signature"))?;
            if !valid_key_name(name) || b64.contains(' ') {
                return Err(NoteError::Malformed("bad signature line"));
            }
            let raw = B64.decode(b64).map_err(|_| NoteError::Malformed("signature is not base64"))?;
            if raw.len() < 5 {
                return Err(NoteError::Malformed("signature too short"));
            }
            signatures.push(NoteSignature {
                name: name.to_string(),
                key_id: u32::from_be_bytes(raw[..4].try_into().expect("length checked")),
                bytes: raw[4..].to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(NoteError::Malformed("no signatures"));
        }
        Ok(Self { text: text.to_string(), signatures })
    }

    /// Sign `text` (which must end in a newline and contain no blank line).
    pub fn sign(text: &str, signer: &NoteSigner) -> Result<String, NoteError> {
        if !text.ends_with('\n') || text.contains("\n\n") || text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(NoteError::Malformed(
                "note text must end in a newline, with no blank lines or control characters",
            ));
        }
        Ok(format!("{text}\n{}", signer.sign_line(text.as_bytes())))
    }

    /// Render back to bytes (text, blank line, signature lines).
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.text);
        for s in &self.signatures {
            let mut raw = s.key_id.to_be_bytes().to_vec();
            raw.extend_from_slice(&s.bytes);
            out.push_str(&format!("\u{2014} {} {}\n", s.name, B64.encode(raw)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_plus_in_their_base64_roundtrip() {
        for _ in 0..64 {
            let s = NoteSigner::generate("k.example").unwrap();
            assert_eq!(NoteSigner::from_private_string(&s.to_private_string()).unwrap().verifier(), s.verifier());
            assert_eq!(NoteVerifier::parse(&s.verifier().to_string()).unwrap(), s.verifier());
        }
    }

    #[test]
    fn sign_parse_verify_roundtrip() {
        let signer = NoteSigner::generate("registry.example.cn/log").unwrap();
        let note = Note::sign("hello\nworld\n", &signer).unwrap();
        let parsed = Note::parse(note.as_bytes()).unwrap();
        assert_eq!(parsed.to_text(), note);
        let v = NoteVerifier::parse(&signer.verifier().to_string()).unwrap();
        v.verify(&parsed).unwrap();
        let restored = NoteSigner::from_private_string(&signer.to_private_string()).unwrap();
        assert_eq!(restored.verifier(), signer.verifier());
        // Another key with the same name does not verify.
        let other = NoteSigner::generate("registry.example.cn/log").unwrap().verifier();
        assert!(other.verify(&parsed).is_err());
        // Any changed byte of the text fails.
        let tampered = note.replacen("world", "worle", 1);
        assert!(v.verify(&Note::parse(tampered.as_bytes()).unwrap()).is_err());
    }

    /// A verifier key and signed note produced by Go's golang.org/x/mod/sumdb/note (its package docs).
    #[test]
    fn go_note_example_verifies() {
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let msg = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let v = NoteVerifier::parse(vkey).unwrap();
        v.verify(&Note::parse(msg.as_bytes()).unwrap()).unwrap();
    }

    #[test]
    fn cosignatures_carry_their_time() {
        let witness = NoteSigner::generate("witness.example").unwrap();
        let text = "example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let note = format!("{text}\n{}", witness.cosign_line(text.as_bytes(), 1_764_000_000));
        let parsed = Note::parse(note.as_bytes()).unwrap();
        let wkey = NoteVerifier::parse(&witness.cosigner_verifier().to_string()).unwrap();
        assert!(wkey.is_cosigner());
        assert_eq!(wkey.verify_cosignature(&parsed).unwrap(), 1_764_000_000);
        assert!(witness.verifier().verify(&parsed).is_err(), "a cosignature is not a plain signature");
        assert!(witness.verifier().verify_cosignature(&parsed).is_err(), "a log key does not check cosignatures");
    }

    #[test]
    fn malformed_notes_are_refused() {
        for bad in [
            &b"no blank line\n"[..],
            b"text\n\n",
            b"text\n\nnot a signature\n",
            b"text\n\n\xe2\x80\x94 name !!!\n",
            b"t\x01\n\n\xe2\x80\x94 n AAAAAAAA\n",
        ] {
            assert!(Note::parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let s = NoteSigner::generate("k").unwrap();
        assert!(Note::sign("no newline", &s).is_err());
        assert!(Note::sign("a\n\nb\n", &s).is_err());
        assert!(NoteVerifier::parse("name+00000000+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err(), "wrong id");
    }
}
