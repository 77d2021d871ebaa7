//! Log entries and certificates, and the offline verification of a certificate.
//!
//! A certificate is JSON: the canonical *statement* (what was registered, to whom, for how long), the
//! registry's Ed25519 signature over it, the *log entry* that recorded the registration (it names the
//! statement's SHA-256), a `c2sp.org/tlog-proof@v1` for that entry, and the registry's verifier key.
//! [`verify`] checks every link without any network access.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use dipr_domain::shown;

use crate::canonical;
use crate::merkle::leaf_hash;
use crate::note::{NoteSigner, NoteVerifier};
use crate::proof::TlogProof;
use crate::witness::WitnessPolicy;

pub const ENTRY_VERSION: &str = "dipr-log/v1";
pub const STATEMENT_VERSION: &str = "dipr-certificate-statement/v1";
pub const CERTIFICATE_FORMAT: &str = "dipr-certificate/v1";
/// Log events that issue a certificate: registration, and the operations that change what a
/// certificate states (holder, data version, validity).
pub const ISSUING_KINDS: &[&str] = &[
    "notice_ended",
    "objection_dismissed",
    "registered",
    "holder_details_changed",
    "transferred",
    "succeeded",
    "pledge_enforced",
    "version_added",
    "renewed",
];
/// Domain separation for statement signatures.
const STATEMENT_TAG: &[u8] = b"dipr-certificate-statement/v1\n";

/// One registry event as it is logged. Its canonical JSON bytes are the Merkle leaf's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    pub v: String,
    /// The registry's audit event id this entry records.
    pub event_id: i64,
    /// RFC 3339 time of the event.
    pub at: String,
    pub kind: String,
    /// The application (data product) the event is about.
    pub subject: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// Public facts of the event: numbers, the statement digest, outcome, SHA-256 of reasons.
    pub data: serde_json::Value,
}

impl LogEntry {
    pub fn to_bytes(&self) -> Vec<u8> {
        canonical::to_bytes(self).expect("log entries hold no floats")
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let e: Self = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if e.v != ENTRY_VERSION {
            return Err(format!("unknown entry version {:?}", e.v));
        }
        if e.to_bytes() != bytes {
            return Err("entry is not in canonical form".into());
        }
        Ok(e)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    pub kind: String,
    pub name: String,
    /// Credit code, or a masked resident ID number.
    pub id_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub name: String,
    pub object_type: String,
    pub industry: String,
}

/// What the certificate attests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub v: String,
    /// The log's origin, naming the registry.
    pub registry: String,
    pub registration_number: String,
    pub certificate_number: String,
    pub holder: Holder,
    pub product: Product,
    /// Kinds of data source, e.g. `self_collected`.
    pub data_sources: Vec<String>,
    /// The applicant's fingerprint commitment, when one was filed.
    pub content_commitment: Option<serde_json::Value>,
    pub registered_at: String,
    pub valid_from: String,
    pub valid_until: String,
    /// The public record page (the QR code's target).
    pub record_url: String,
}

impl Statement {
    pub fn to_bytes(&self) -> Vec<u8> {
        canonical::to_bytes(self).expect("statements hold no floats")
    }

    pub fn sha256_hex(&self) -> String {
        hex_encode(&Sha256::digest(self.to_bytes()))
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut m = STATEMENT_TAG.to_vec();
        m.extend(self.to_bytes());
        m
    }

    pub fn sign(&self, signer: &NoteSigner) -> String {
        B64.encode(signer.sign_bytes(&self.signed_message()))
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub format: String,
    pub statement: Statement,
    /// Base64 Ed25519 signature over the tagged canonical statement.
    pub signature: String,
    /// Base64 of the log entry's canonical bytes.
    pub log_entry: String,
    /// `c2sp.org/tlog-proof@v1` text.
    pub proof: String,
    /// The registry's verifier key (`name+id+key`); pin it with `--trusted-key`.
    pub registry_key: String,
    /// RFC 3161 time-stamp tokens over the proof's checkpoint, from the registry's TSAs (none when it has none
    /// yet): checked with `dipr verify --tsa-ca`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timestamps: Vec<TimestampToken>,
}

/// An RFC 3161 time-stamp token as certificates carry it (checked by `timestamp::check_certificate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampToken {
    /// The TSA, as the registry knows it (for people; the token itself names its signer).
    pub tsa: String,
    /// Base64 DER of the RFC 3161 `TimeStampToken` (CMS ContentInfo).
    pub token: String,
}

impl Certificate {
    /// Parse strictly: unknown fields, a wrong format or trailing data are errors.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let c: Self = serde_json::from_slice(bytes).map_err(|e| format!("not a dipr certificate: {e}"))?;
        if c.format != CERTIFICATE_FORMAT {
            return Err(format!("unknown certificate format {:?}", c.format));
        }
        Ok(c)
    }
}

/// One line of a verification report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier, e.g. `statement_signature`.
    pub id: &'static str,
    pub ok: bool,
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub ok: bool,
    pub registration_number: String,
    pub certificate_number: String,
    /// The validity the certificate states (RFC 3339, as signed).
    pub valid_from: String,
    pub valid_until: String,
    /// Where the registration's current status is published.
    pub record_url: String,
    /// Whether the registry was asked for the current status (`dipr verify --online`): a signature proves
    /// what was registered, not that the registration is still in force.
    pub status_checked: bool,
    pub log_index: Option<u64>,
    pub checkpoint_size: Option<u64>,
    pub key_pinned: bool,
    /// Valid cosignatures by the policy's witnesses: (witness, unix time).
    pub cosignatures: Vec<(String, u64)>,
    /// The earliest cosignature: independent evidence that the entry existed by then.
    pub earliest_cosignature_unix: Option<u64>,
    /// Verified trusted time stamps over the proof's checkpoint: (TSA, Unix time). Empty unless checked
    /// against TSA trust anchors.
    pub timestamps: Vec<(String, u64)>,
    pub checks: Vec<Check>,
}

/// What a report establishes, as its headline says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed against a pinned registry key.
    Valid,
    /// Every check passed, but against the key the certificate carries: anyone can make a certificate
    /// that agrees with its own key, so who issued it is unproven. Never shown as a success.
    SelfConsistentOnly,
    Invalid,
}

impl Report {
    pub fn verdict(&self) -> Verdict {
        if !self.key_pinned && self.checks.iter().all(|c| c.ok || c.id == TRUSTED_KEY_CHECK) {
            Verdict::SelfConsistentOnly
        } else if self.ok {
            Verdict::Valid
        } else {
            Verdict::Invalid
        }
    }
}

/// Verify a certificate offline. With `trusted_key`, the registry key must be that key; without it the
/// certificate's own key is used and the report says the key was not pinned. With a witness `policy`,
/// the checkpoint must carry a quorum of valid witness cosignatures.
pub fn verify(cert: &Certificate, trusted_key: Option<&NoteVerifier>, policy: Option<&WitnessPolicy>) -> Report {
    let mut checks = Vec::new();
    let mut check = |id, ok: bool, zh: String, en: String| {
        checks.push(Check { id, ok, zh, en });
        ok
    };
    let mut report = Report {
        ok: false,
        registration_number: cert.statement.registration_number.clone(),
        certificate_number: cert.statement.certificate_number.clone(),
        valid_from: cert.statement.valid_from.clone(),
        valid_until: cert.statement.valid_until.clone(),
        record_url: cert.statement.record_url.clone(),
        status_checked: false,
        log_index: None,
        checkpoint_size: None,
        key_pinned: trusted_key.is_some(),
        cosignatures: Vec::new(),
        earliest_cosignature_unix: None,
        timestamps: Vec::new(),
        checks: Vec::new(),
    };

    // 1. The key.
    let key = match NoteVerifier::parse(&cert.registry_key) {
        Ok(k) => k,
        Err(e) => {
            check(
                "registry_key",
                false,
                format!("登记机构公钥格式错误：{e}"),
                format!("the registry key is malformed: {e}"),
            );
            report.checks = checks;
            return report;
        }
    };
    let key = match trusted_key {
        Some(t) if *t != key => {
            check(
                "registry_key",
                false,
                "证书中的公钥与信任的登记机构公钥不一致".into(),
                "the certificate's key is not the trusted registry key".into(),
            );
            report.checks = checks;
            return report;
        }
        Some(t) => {
            check(
                "registry_key",
                true,
                format!("登记机构公钥与信任公钥一致（{}）", t.name()),
                format!("registry key matches the trusted key ({})", t.name()),
            );
            t.clone()
        }
        None => {
            check(
                "registry_key",
                true,
                format!("使用证书自带公钥 {}（未指定信任公钥）", key.name()),
                format!("using the certificate's own key {} (no trusted key pinned)", key.name()),
            );
            key
        }
    };

    // 2. The statement signature.
    let sig_ok = B64.decode(&cert.signature).is_ok_and(|s| key.verify_bytes(&cert.statement.signed_message(), &s));
    check(
        "statement_signature",
        sig_ok,
        if sig_ok {
            "登记机构对证书内容的签名有效"
        } else {
            "证书内容签名无效（内容可能被篡改）"
        }
        .into(),
        if sig_ok {
            "the registry's signature over the statement is valid"
        } else {
            "the statement signature is invalid (the content may have been altered)"
        }
        .into(),
    );
    let version_ok = cert.statement.v == STATEMENT_VERSION && cert.statement.registry == key.name();
    check(
        "statement_version",
        version_ok,
        "证书版本与登记机构名称".into(),
        "statement version and registry name".into(),
    );

    // 3. The log entry names this statement.
    let entry_bytes = B64.decode(&cert.log_entry).unwrap_or_default();
    let entry = LogEntry::parse(&entry_bytes);
    let entry_ok = match &entry {
        Ok(e) => ISSUING_KINDS.contains(&e.kind.as_str()),
        Err(_) => false,
    } && entry.as_ref().is_ok_and(|e| {
        e.data.get("statement_sha256").and_then(|v| v.as_str()) == Some(cert.statement.sha256_hex().as_str())
            && e.data.get("registration_number").and_then(|v| v.as_str())
                == Some(cert.statement.registration_number.as_str())
    });
    check(
        "log_entry",
        entry_ok,
        if entry_ok { "账本条目记载了本证书内容的摘要" } else { "账本条目与证书内容不符" }.into(),
        if entry_ok {
            "the log entry records this statement's digest"
        } else {
            "the log entry does not match the statement"
        }
        .into(),
    );

    // 4. Inclusion in a signed checkpoint.
    let proof = TlogProof::parse(&cert.proof);
    let mut checkpoint_note = None;
    let included = match &proof {
        Ok(p) => {
            report.log_index = Some(p.index);
            match p.verify(&leaf_hash(&entry_bytes), &key, key.name()) {
                Ok((cp, note)) => {
                    report.checkpoint_size = Some(cp.size);
                    checkpoint_note = Some(note);
                    check("inclusion", true, format!("条目位于公开账本第 {} 号，账本签名检查点（共 {} 条）有效", p.index, cp.size),
                        format!("the entry is at index {} of the public log, under a validly signed checkpoint of {} entries", p.index, cp.size))
                }
                Err(e) => check(
                    "inclusion",
                    false,
                    format!("账本包含证明或检查点签名无效：{e}"),
                    format!("the inclusion proof or checkpoint signature is invalid: {e}"),
                ),
            }
        }
        Err(e) => check(
            "inclusion",
            false,
            format!("包含证明格式错误：{e}"),
            format!("the inclusion proof is malformed: {e}"),
        ),
    };
    // 5. Witnesses.
    let witnessed = match policy {
        None => true,
        Some(policy) => {
            let cosigs = checkpoint_note.as_ref().map(|n| policy.cosignatures(n)).unwrap_or_default();
            report.earliest_cosignature_unix = cosigs.iter().map(|(_, t)| *t).min();
            let ok = cosigs.len() >= policy.quorum;
            let names: Vec<&str> = cosigs.iter().map(|(n, _)| n.as_str()).collect();
            let when =
                |en| report.earliest_cosignature_unix.and_then(shown::from_unix).map(|t| shown::minute_zoned(t, en));
            let (when_zh, when_en) = (when(false).unwrap_or_default(), when(true).unwrap_or_default());
            report.cosignatures = cosigs.clone();
            check(
                "witnesses",
                ok,
                format!(
                    "见证方联署 {}/{}（需 {}）：{}；最早联署时间 {when_zh}",
                    cosigs.len(),
                    policy.witnesses.len(),
                    policy.quorum,
                    names.join("、")
                ),
                format!(
                    "witness cosignatures {}/{} (quorum {}): {}; earliest {when_en}",
                    cosigs.len(),
                    policy.witnesses.len(),
                    policy.quorum,
                    names.join(", ")
                ),
            )
        }
    };
    report.ok = sig_ok && version_ok && entry_ok && included && witnessed;
    report.checks = checks;
    report
}

/// A report as text a judge can read: Chinese with English alongside. It says what was proven: without a
/// pinned key only that the certificate is self-consistent, and without `--online` that it is authentic,
/// not that the registration is still in force.
pub fn render_report(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("数据知识产权登记证书核验 / Certificate verification\n登记号 Registration no.: {}\n证书号 Certificate no.: {}\n有效期 Valid (as stated): {}\n\n",
        r.registration_number, r.certificate_number, shown::stated_period_both(&r.valid_from, &r.valid_until)));
    for c in &r.checks {
        out.push_str(&format!("[{}] {}\n      {}\n", if c.ok { "通过 PASS" } else { "失败 FAIL" }, c.zh, c.en));
    }
    out.push_str(match r.verdict() {
        Verdict::SelfConsistentOnly => "\n结论：证书自洽，但未核验签发者：未用 --trusted-key 指定登记机构公钥，任何人都能制作自洽的证书。\nResult: SELF-CONSISTENT ONLY — no --trusted-key was given, so the issuer is unproven; anyone can make a self-consistent certificate.\n",
        Verdict::Valid => "\n结论：证书真实，内容未被篡改，且已记入登记机构的公开账本。\nResult: VALID — signed by the registry, unaltered, and recorded in its public log.\n",
        Verdict::Invalid => "\n结论：证书无效。\nResult: INVALID.\n",
    });
    if r.ok && !r.status_checked {
        out.push_str(&format!(
            "注意：本核验证明证书真实，不证明登记现在仍然有效（可能已被撤销、注销或届满）。查询现状：加 --online <登记机构地址> 再次核验，或打开公示记录 {0}\n\
             Note: this proves the certificate is authentic, not that the registration is still in force (it may since have been revoked, cancelled or expired). To check its current status, run again with --online <registry URL>, or open the public record {0}\n",
            r.record_url
        ));
    }
    out
}

/// The check `dipr verify` adds when no key was pinned and the caller did not accept that.
pub const TRUSTED_KEY_CHECK: &str = "trusted_key";

/// A newer checkpoint and the consistency proof from the certificate's checkpoint to it, as served by
/// `GET /api/v1/log/proofs/consistency?old=<size>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyBundle {
    pub old_size: Option<u64>,
    pub size: u64,
    /// Base64 hashes.
    pub hashes: Vec<String>,
    /// The newer signed checkpoint.
    pub checkpoint: String,
    #[serde(default)]
    pub index: Option<u64>,
}

/// Check that the log's newer checkpoint extends the certificate's: the log has not rewritten history
/// since the certificate was issued. Adds one check to `report`.
pub fn verify_newer(cert: &Certificate, key: &NoteVerifier, newer: &ConsistencyBundle, report: &mut Report) {
    use crate::checkpoint::Checkpoint;
    let result = (|| -> Result<(u64, u64), String> {
        let proof = TlogProof::parse(&cert.proof).map_err(|e| e.to_string())?;
        let (old, _) = Checkpoint::open(proof.checkpoint.as_bytes(), key, key.name()).map_err(|e| e.to_string())?;
        let (new, _) = Checkpoint::open(newer.checkpoint.as_bytes(), key, key.name()).map_err(|e| e.to_string())?;
        if newer.old_size.is_some_and(|s| s != old.size) || new.size != newer.size {
            return Err("the consistency proof is for other tree sizes".into());
        }
        let hashes = newer
            .hashes
            .iter()
            .map(|h| B64.decode(h).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| "bad proof hash".to_string()))
            .collect::<Result<Vec<crate::Hash>, _>>()?;
        if crate::merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &hashes) {
            Ok((old.size, new.size))
        } else {
            Err("the consistency proof fails: the log's history differs".into())
        }
    })();
    let ok = result.is_ok();
    let (zh, en) = match &result {
        Ok((o, n)) => (
            format!("较新的检查点（{n} 条）与证书中的检查点（{o} 条）一致，账本未被改写"),
            format!(
                "the newer checkpoint ({n} entries) extends the certificate's ({o} entries): history was not rewritten"
            ),
        ),
        Err(e) => (format!("一致性证明失败：{e}"), format!("consistency check failed: {e}")),
    };
    report.checks.push(Check { id: "consistency", ok, zh, en });
    report.ok &= ok;
}
