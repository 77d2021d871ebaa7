//! The set of witnesses a registry uses and how many cosignatures it needs: from the configuration file
//! until an administrator changes it, then from the stored copy.

use dipr_ledger::note::NoteVerifier;
use serde::{Deserialize, Serialize};

/// A witness the registry submits checkpoints to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WitnessEndpoint {
    /// Base URL; the registry posts to `<url>/add-checkpoint`.
    pub url: String,
    /// The witness's `cosignature/v1` verifier key.
    pub key: String,
}

/// The witnesses in use and how many cosignatures a checkpoint needs. Starts from the configuration
/// file; once an administrator changes it, the stored copy (setting `witnesses`) wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WitnessSet {
    pub witnesses: Vec<WitnessEndpoint>,
    /// Cosignatures a checkpoint needs before certificates are served with it (0: serve unwitnessed).
    pub quorum: usize,
}

impl WitnessSet {
    /// Every problem at once: URLs must be http(s), keys `cosignature/v1` verifier keys with distinct
    /// names, and the quorum at most the number of witnesses.
    pub fn check(&self) -> Result<(), Vec<dipr_domain::FieldError>> {
        use dipr_domain::FieldError;
        let mut errors = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, w) in self.witnesses.iter().enumerate() {
            let url = w.url.trim();
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 500 || url.contains(' ') {
                errors.push(FieldError::new(
                    format!("witnesses[{i}].url"),
                    "invalid_url",
                    "an http:// or https:// URL",
                ));
            }
            match NoteVerifier::parse(w.key.trim()) {
                Ok(k) if !k.is_cosigner() => errors.push(FieldError::new(
                    format!("witnesses[{i}].key"),
                    "invalid_witness_key",
                    format!("{} is not a cosignature/v1 key", k.name()),
                )),
                Ok(k) if !names.insert(k.name().to_string()) => errors.push(FieldError::new(
                    format!("witnesses[{i}].key"),
                    "duplicate_witness",
                    format!("{} is listed twice", k.name()),
                )),
                Ok(_) => {}
                Err(e) => {
                    errors.push(FieldError::new(format!("witnesses[{i}].key"), "invalid_witness_key", e.to_string()))
                }
            }
        }
        if self.quorum > self.witnesses.len() {
            errors.push(FieldError::new(
                "quorum",
                "out_of_range",
                format!("the quorum {} exceeds the {} witnesses", self.quorum, self.witnesses.len()),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

pub(crate) const WITNESS_SETTING: &str = "witnesses";

/// The witness set in force: the stored one if an administrator set it, else the configuration's.
pub async fn load(store: &dyn dipr_store::Store, configured: WitnessSet) -> anyhow::Result<WitnessSet> {
    match store.setting(WITNESS_SETTING).await? {
        Some(json) => Ok(serde_json::from_str(&json)?),
        None => Ok(configured),
    }
}
