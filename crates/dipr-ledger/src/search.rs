//! Search certificates (查询证明): what the register showed for a query, and when, signed by the registry.
//!
//! A bank that searches for encumbrances before lending keeps the certificate: the query, every matching
//! record as the register showed it (holder, status, pledges with their ranks, licences, disputes), the time,
//! and the signed checkpoint the results were read at. Anyone verifies it offline with the registry's key, so
//! the bank can later prove what the register said when it lent — and, with the checkpoint, that nothing
//! logged before that point was hidden from the answer.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::canonical;
use crate::certificate::Check;
use crate::checkpoint::Checkpoint;
use crate::note::{NoteSigner, NoteVerifier};

pub const SEARCH_FORMAT: &str = "dipr-search-certificate/v1";
pub const SEARCH_STATEMENT_VERSION: &str = "1";
const SEARCH_TAG: &[u8] = b"dipr-search-statement/v1\n";

/// What the register answered, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchStatement {
    pub v: String,
    /// The log's origin, naming the registry.
    pub registry: String,
    pub query: String,
    /// Whether records no longer registered (cancelled, revoked, expired) were searched too.
    pub include_ended: bool,
    /// RFC 3339 (UTC) time of the search.
    pub searched_at: String,
    /// The account that asked, when signed in (e.g. the bank's name).
    pub requested_by: Option<String>,
    /// The signed checkpoint (C2SP note) the results were read at: every logged change up to it is reflected.
    pub checkpoint: String,
    /// Every record that matched, as the register showed it then.
    pub results: Vec<serde_json::Value>,
    /// False when more records matched than the certificate lists (`results` holds the first ones).
    pub complete: bool,
    pub matched: u64,
}

impl SearchStatement {
    pub fn to_bytes(&self) -> Vec<u8> {
        canonical::to_bytes(self).expect("search statements hold no floats")
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut m = SEARCH_TAG.to_vec();
        m.extend(self.to_bytes());
        m
    }

    /// Sign the statement as the registry: a certificate carrying the registry's verifier key.
    pub fn certify(self, signer: &NoteSigner) -> SearchCertificate {
        SearchCertificate {
            format: SEARCH_FORMAT.into(),
            signature: B64.encode(signer.sign_bytes(&self.signed_message())),
            registry_key: signer.verifier().to_string(),
            statement: self,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchCertificate {
    pub format: String,
    pub statement: SearchStatement,
    /// Base64 Ed25519 signature over the tagged canonical statement.
    pub signature: String,
    /// The registry's verifier key; pin it with `--trusted-key`.
    pub registry_key: String,
}

impl SearchCertificate {
    /// Parse strictly: unknown fields or another format are errors.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let c: Self = serde_json::from_slice(bytes).map_err(|e| format!("not a dipr search certificate: {e}"))?;
        if c.format != SEARCH_FORMAT {
            return Err(format!("unknown search certificate format {:?}", c.format));
        }
        Ok(c)
    }
}

/// The result of verifying a search certificate offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchReport {
    pub ok: bool,
    pub key_pinned: bool,
    pub query: String,
    pub searched_at: String,
    pub matched: u64,
    /// Size of the checkpoint the results were read at.
    pub checkpoint_size: Option<u64>,
    pub checks: Vec<Check>,
}

/// Verify a search certificate. With `trusted_key` the registry key must be that key; without it the
/// certificate's own key is used and `key_pinned` is false (a self-consistency check only).
pub fn verify_search(cert: &SearchCertificate, trusted_key: Option<&NoteVerifier>) -> SearchReport {
    let s = &cert.statement;
    let mut report = SearchReport {
        ok: false,
        key_pinned: trusted_key.is_some(),
        query: s.query.clone(),
        searched_at: s.searched_at.clone(),
        matched: s.matched,
        checkpoint_size: None,
        checks: Vec::new(),
    };
    let mut check = |id, ok: bool, zh: String, en: String| {
        report.checks.push(Check { id, ok, zh, en });
        ok
    };
    let own = NoteVerifier::parse(&cert.registry_key);
    let key = match (own, trusted_key) {
        (Err(e), _) => {
            check(
                "registry_key",
                false,
                format!("登记机构公钥格式错误：{e}"),
                format!("the registry key is malformed: {e}"),
            );
            None
        }
        (Ok(k), Some(t)) if k != *t => {
            check(
                "registry_key",
                false,
                "证明中的公钥与信任的登记机构公钥不一致".into(),
                "the certificate's key is not the trusted registry key".into(),
            );
            None
        }
        (Ok(_), Some(t)) => {
            check(
                "registry_key",
                true,
                format!("登记机构公钥与信任公钥一致（{}）", t.name()),
                format!("registry key matches the trusted key ({})", t.name()),
            );
            Some(t.clone())
        }
        (Ok(k), None) => {
            check(
                "registry_key",
                true,
                format!("使用证明自带公钥 {}（未指定信任公钥）", k.name()),
                format!("using the certificate's own key {} (no trusted key pinned)", k.name()),
            );
            Some(k)
        }
    };
    let Some(key) = key else {
        return report;
    };
    let sig_ok = B64.decode(&cert.signature).is_ok_and(|sig| key.verify_bytes(&s.signed_message(), &sig));
    let sig_ok = check(
        "statement_signature",
        sig_ok,
        if sig_ok {
            "登记机构对查询结果的签名有效"
        } else {
            "查询结果签名无效（内容可能被篡改）"
        }
        .into(),
        if sig_ok {
            "the registry's signature over the search results is valid"
        } else {
            "the signature over the search results is invalid (the content may have been altered)"
        }
        .into(),
    );
    let version_ok = s.v == SEARCH_STATEMENT_VERSION && s.registry == key.name();
    let version_ok = check(
        "statement_version",
        version_ok,
        "证明版本与登记机构名称".into(),
        "statement version and registry name".into(),
    );
    let checkpoint = Checkpoint::open(s.checkpoint.as_bytes(), &key, key.name());
    let cp_ok = match &checkpoint {
        Ok((cp, _)) => {
            report.checkpoint_size = Some(cp.size);
            check(
                "checkpoint",
                true,
                format!("查询读取时的账本检查点（共 {} 条）签名有效", cp.size),
                format!("the log checkpoint the results were read at ({} entries) is validly signed", cp.size),
            )
        }
        Err(e) => {
            check("checkpoint", false, format!("账本检查点无效：{e}"), format!("the log checkpoint is not valid: {e}"))
        }
    };
    report.ok = sig_ok && version_ok && cp_ok;
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemoryTree;

    fn certificate(signer: &NoteSigner) -> SearchCertificate {
        let mut t = MemoryTree::new();
        t.push(b"entry");
        let checkpoint = Checkpoint { origin: signer.name().into(), size: 1, root: t.root() }.sign(signer);
        SearchStatement {
            v: SEARCH_STATEMENT_VERSION.into(),
            registry: signer.name().into(),
            query: "交通".into(),
            include_ended: false,
            searched_at: "2026-12-01T01:02:03.000Z".into(),
            requested_by: Some("某银行".into()),
            checkpoint,
            results: vec![
                serde_json::json!({"registration_number": "R1", "pledges": [{"rank": 1, "secured": "100.00"}]}),
            ],
            complete: true,
            matched: 1,
        }
        .certify(signer)
    }

    #[test]
    fn a_search_certificate_verifies_offline_and_any_change_fails_it() {
        let signer = NoteSigner::generate("registry.example/log").unwrap();
        let cert = certificate(&signer);
        let bytes = serde_json::to_vec_pretty(&cert).unwrap();
        let parsed = SearchCertificate::parse(&bytes).unwrap();
        let r = verify_search(&parsed, Some(&signer.verifier()));
        assert!(r.ok && r.key_pinned, "{r:?}");
        assert_eq!(r.checkpoint_size, Some(1));

        // A changed amount, a hidden result, another key: each fails.
        let mut edited = parsed.clone();
        edited.statement.results[0]["pledges"][0]["secured"] = "1.00".into();
        assert!(!verify_search(&edited, Some(&signer.verifier())).ok);
        let mut hidden = parsed.clone();
        hidden.statement.results.clear();
        assert!(!verify_search(&hidden, Some(&signer.verifier())).ok);
        let stranger = NoteSigner::generate("registry.example/log").unwrap();
        assert!(!verify_search(&parsed, Some(&stranger.verifier())).ok);
        let forged = certificate(&stranger);
        assert!(!verify_search(&forged, Some(&signer.verifier())).ok);
        // Without a pinned key it is only self-consistent, and says so.
        let r = verify_search(&forged, None);
        assert!(r.ok && !r.key_pinned);
        // One changed byte anywhere in the file: it no longer parses or no longer verifies.
        for i in (0..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            if let Ok(c) = SearchCertificate::parse(&b) {
                if c != parsed {
                    assert!(!verify_search(&c, Some(&signer.verifier())).ok, "byte {i}");
                }
            }
        }
    }
}
