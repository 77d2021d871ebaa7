//! Trusted time stamps (RFC 3161, 可信时间戳) over checkpoints: the request a registry sends a time-stamping
//! authority (TSA), and the offline verification of the token it returns.
//!
//! A token binds the SHA-256 of a checkpoint's text (origin, size, root) to the TSA's time, under the TSA's
//! signature. Since every entry up to the checkpoint's size is committed by its root, the token is independent
//! evidence that the entries existed by then, from a party other than the registry. Verification needs the
//! TSA's trust anchor (its CA certificate, or its own certificate): the token's signature, the signing
//! certificate's chain to the anchor and its time-stamping purpose, and the hashed message are all checked.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{Int, OctetString};
use der::oid::ObjectIdentifier;
use der::{Any, Decode, DecodePem, Encode};
use sha2::{Digest, Sha256};
use x509_cert::spki::{AlgorithmIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate as X509;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

pub use crate::certificate::TimestampToken;
use crate::certificate::{Certificate, Check, Report};
use crate::note::Note;
use crate::proof::TlogProof;

const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const ID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// A TSA's certificate (a trust anchor, or the signer a token carries).
pub use x509_cert::Certificate as TsaCertificate;

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The TSA's time (`genTime`), in Unix seconds.
    pub unix: u64,
    /// The signing certificate's subject.
    pub signer: String,
}

/// The message a checkpoint's token is over: SHA-256 of the checkpoint's text (without its signatures).
pub fn checkpoint_digest(checkpoint_text: &str) -> [u8; 32] {
    Sha256::digest(checkpoint_text.as_bytes()).into()
}

/// A DER `TimeStampReq` for `digest` (SHA-256), asking for the signer's certificate in the reply. The nonce
/// must be positive: its first byte is forced to 1..=127.
pub fn request(digest: &[u8; 32], nonce: [u8; 8]) -> Result<Vec<u8>, String> {
    let mut nonce = nonce;
    nonce[0] = (nonce[0] & 0x7f).max(1);
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier { oid: ID_SHA256, parameters: Some(Any::null()) },
            hashed_message: OctetString::new(digest.to_vec()).map_err(|e| e.to_string())?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce).map_err(|e| e.to_string())?),
        cert_req: true,
        extensions: None,
    };
    req.to_der().map_err(|e| e.to_string())
}

/// The token in a TSA's DER `TimeStampResp`, if the request was granted.
pub fn token_of_response(response: &[u8]) -> Result<Vec<u8>, String> {
    let resp = TimeStampResp::from_der(response).map_err(|e| format!("not a time-stamp response: {e}"))?;
    let status = resp.status.status as u8;
    // granted (0) or grantedWithMods (1)
    if status > 1 {
        let text = resp.status.status_string.map(|s| format!("{s:?}")).unwrap_or_default();
        return Err(format!("the TSA refused (status {status}) {text}"));
    }
    let token = resp.time_stamp_token.ok_or("the TSA granted the request but sent no token")?;
    token.to_der().map_err(|e| e.to_string())
}

/// Trust anchors from PEM text (one or more certificates).
pub fn anchors_from_pem(pem: &str) -> Result<Vec<X509>, String> {
    let mut out = Vec::new();
    let marker = "-----BEGIN CERTIFICATE-----";
    for block in pem.split(marker).skip(1) {
        let text = format!("{marker}{block}");
        out.push(X509::from_pem(text.as_bytes()).map_err(|e| format!("not a PEM certificate: {e}"))?);
    }
    if out.is_empty() {
        return Err("no certificate in the PEM text".into());
    }
    Ok(out)
}

/// Verify a DER token over `digest` against `anchors`: the signature, the signer's chain to an anchor, its
/// time-stamping purpose and validity at the stamped time, and the hashed message.
pub fn verify_token(token: &[u8], digest: &[u8; 32], anchors: &[X509]) -> Result<Stamp, String> {
    let ci = ContentInfo::from_der(token).map_err(|e| format!("not a time-stamp token: {e}"))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err("the token is not CMS signed data".into());
    }
    let sd: SignedData = ci.content.decode_as().map_err(|e| format!("the token's signed data: {e}"))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err("the token does not hold time-stamp information".into());
    }
    let econtent: OctetString = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or("the token holds no time-stamp information")?
        .decode_as()
        .map_err(|e| e.to_string())?;
    let tst = TstInfo::from_der(econtent.as_bytes()).map_err(|e| format!("the time-stamp information: {e}"))?;
    if tst.message_imprint.hash_algorithm.oid != ID_SHA256 {
        return Err("the token is not over a SHA-256 digest".into());
    }
    if tst.message_imprint.hashed_message.as_bytes() != digest {
        return Err("the token is over another message (another checkpoint)".into());
    }
    let signers: Vec<_> = sd.signer_infos.0.iter().collect();
    let [si] = signers.as_slice() else { return Err("the token must have exactly one signer".into()) };
    if si.digest_alg.oid != ID_SHA256 {
        return Err("the token's signer does not use SHA-256".into());
    }
    let attrs = si.signed_attrs.as_ref().ok_or("the token's signer signed no attributes")?;
    let attr = |oid| attrs.iter().find(|a| a.oid == oid).and_then(|a| a.values.iter().next());
    let content_type: ObjectIdentifier =
        attr(ID_CONTENT_TYPE).ok_or("no content-type attribute")?.decode_as().map_err(|e| e.to_string())?;
    let message_digest: OctetString =
        attr(ID_MESSAGE_DIGEST).ok_or("no message-digest attribute")?.decode_as().map_err(|e| e.to_string())?;
    if content_type != ID_CT_TST_INFO || message_digest.as_bytes() != &Sha256::digest(econtent.as_bytes())[..] {
        return Err("the signed attributes do not match the time-stamp information".into());
    }
    let carried: Vec<X509> = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    let signer =
        carried
            .iter()
            .chain(anchors)
            .find(|c| match &si.sid {
                SignerIdentifier::IssuerAndSerialNumber(isn) => {
                    c.tbs_certificate.issuer == isn.issuer && c.tbs_certificate.serial_number == isn.serial_number
                }
                SignerIdentifier::SubjectKeyIdentifier(ski) => c.tbs_certificate.extensions.iter().flatten().any(|e| {
                    e.extn_id.to_string() == "2.5.29.14" && e.extn_value.as_bytes().ends_with(ski.0.as_bytes())
                }),
            })
            .ok_or("the token does not carry its signer's certificate")?;
    let signed = attrs.to_der().map_err(|e| e.to_string())?;
    let spki = &signer.tbs_certificate.subject_public_key_info;
    verify_signature(spki, &si.signature_algorithm.oid, &signed, si.signature.as_bytes())
        .map_err(|e| format!("the TSA's signature does not verify: {e}"))?;
    // The signer is an anchor, or certified by one.
    let signer_der = signer.to_der().map_err(|e| e.to_string())?;
    let anchored = anchors.iter().any(|a| {
        a.to_der().is_ok_and(|d| d == signer_der)
            || (a.tbs_certificate.subject == signer.tbs_certificate.issuer
                && signer.tbs_certificate.to_der().is_ok_and(|tbs| {
                    let algorithm = &signer.signature_algorithm.oid;
                    let spki = &a.tbs_certificate.subject_public_key_info;
                    verify_signature(spki, algorithm, &tbs, signer.signature.raw_bytes()).is_ok()
                }))
    });
    if !anchored {
        return Err("the TSA's certificate is not issued by a trusted TSA authority".into());
    }
    let time_stamping = signer.tbs_certificate.extensions.iter().flatten().any(|e| {
        e.extn_id == ID_EXT_KEY_USAGE
            && x509_cert::ext::pkix::ExtendedKeyUsage::from_der(e.extn_value.as_bytes())
                .is_ok_and(|eku| eku.0.contains(&ID_KP_TIME_STAMPING))
    });
    if !time_stamping {
        return Err("the signing certificate is not for time-stamping".into());
    }
    let unix = tst.gen_time.to_unix_duration().as_secs();
    let validity = &signer.tbs_certificate.validity;
    if unix < validity.not_before.to_unix_duration().as_secs() || unix > validity.not_after.to_unix_duration().as_secs()
    {
        return Err("the TSA's certificate was not valid at the stamped time".into());
    }
    Ok(Stamp { unix, signer: signer.tbs_certificate.subject.to_string() })
}

/// An RSA (PKCS #1 v1.5) or ECDSA P-256 signature with SHA-256, as `algorithm` names it.
fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let key = spki.subject_public_key.raw_bytes();
    match spki.algorithm.oid {
        RSA_ENCRYPTION if [RSA_ENCRYPTION, SHA256_WITH_RSA].contains(algorithm) => {
            use rsa::pkcs1::DecodeRsaPublicKey;
            use rsa::signature::Verifier;
            let key = rsa::RsaPublicKey::from_pkcs1_der(key).map_err(|e| e.to_string())?;
            let sig = rsa::pkcs1v15::Signature::try_from(signature).map_err(|e| e.to_string())?;
            rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key).verify(message, &sig).map_err(|e| e.to_string())
        }
        EC_PUBLIC_KEY if *algorithm == ECDSA_WITH_SHA256 => {
            use p256::ecdsa::signature::Verifier;
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|e| e.to_string())?;
            let sig = p256::ecdsa::DerSignature::try_from(signature).map_err(|e| e.to_string())?;
            key.verify(message, &sig).map_err(|e| e.to_string())
        }
        other => Err(format!("unsupported key {other} with signature algorithm {algorithm}")),
    }
}

/// Check a certificate's time-stamp tokens against `anchors`: each must be over the checkpoint the
/// certificate's proof ends at. Adds one check per token and the stamped times to the report; a token for
/// another checkpoint, or one that does not verify, fails the report. No tokens: a failing check, since the
/// caller asked for trusted time.
pub fn check_certificate(cert: &Certificate, anchors: &[X509], report: &mut Report) {
    let digest = TlogProof::parse(&cert.proof)
        .ok()
        .and_then(|p| Note::parse(p.checkpoint.as_bytes()).ok())
        .map(|n| checkpoint_digest(&n.text));
    let Some(digest) = digest else { return };
    if cert.timestamps.is_empty() {
        report.checks.push(Check {
            id: "timestamp",
            ok: false,
            zh: "证书未附可信时间戳".into(),
            en: "the certificate carries no trusted time stamp".into(),
        });
        report.ok = false;
        return;
    }
    for t in &cert.timestamps {
        let result =
            B64.decode(&t.token).map_err(|e| e.to_string()).and_then(|der| verify_token(&der, &digest, anchors));
        match result {
            Ok(stamp) => {
                let when = dipr_domain::shown::from_unix(stamp.unix)
                    .map(|t| (dipr_domain::shown::minute_zoned(t, false), dipr_domain::shown::minute_zoned(t, true)))
                    .unwrap_or_default();
                report.timestamps.push((t.tsa.clone(), stamp.unix));
                report.checks.push(Check {
                    id: "timestamp",
                    ok: true,
                    zh: format!("可信时间戳有效：{}（{}）证明账本检查点不晚于 {} 已存在", t.tsa, stamp.signer, when.0),
                    en: format!(
                        "trusted time stamp valid: {} ({}) shows the checkpoint existed by {}",
                        t.tsa, stamp.signer, when.1
                    ),
                });
            }
            Err(e) => {
                report.checks.push(Check {
                    id: "timestamp",
                    ok: false,
                    zh: format!("可信时间戳无效（{}）：{e}", t.tsa),
                    en: format!("trusted time stamp invalid ({}): {e}", t.tsa),
                });
                report.ok = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_der_with_the_digest_a_positive_nonce_and_a_certificate_request() {
        let digest = checkpoint_digest("log.example\n3\nAAAA\n");
        let der = request(&digest, [0xff; 8]).unwrap();
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.message_imprint.hashed_message.as_bytes(), digest);
        assert_eq!(req.message_imprint.hash_algorithm.oid, ID_SHA256);
        assert!(req.cert_req);
        assert_eq!(req.nonce.unwrap().as_bytes()[0], 0x7f);
        assert!(token_of_response(b"not der").is_err());
        assert!(verify_token(b"not der", &digest, &[]).is_err());
    }
}
