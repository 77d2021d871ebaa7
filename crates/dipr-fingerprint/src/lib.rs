//! Data fingerprints, computed by the data owner on their own machine; the data never leaves it.
//!
//! For each record and each declared *view* (the full row, or a projection with rounded measures):
//! a keyed fingerprint `fp = BLAKE3_keyed(K, view ‖ 0x00 ‖ canon(r))[..8]`; a FracMinHash sketch keeps
//! every `fp < 2^64 / s`. Over the full rows, a salted Merkle commitment: leaves
//! `BLAKE3(0x00 ‖ salt ‖ canon(r))`, `salt = BLAKE3_keyed(K₂, canon(r))[..16]`, sorted and deduplicated,
//! nodes `BLAKE3(0x01 ‖ L ‖ R)` in the RFC 9162 tree shape. A signed manifest carries the schema,
//! counts, sketches and root; the keys stay in a local secrets file.

pub mod canon;
pub mod evidence;
pub mod lenient;
pub mod package;
mod pipeline;
pub mod reader;
mod scheme;
pub mod sorter;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use base64::Engine;
use serde::{Deserialize, Serialize};

use canon::ColumnType;
use dipr_ledger::note::{NoteSigner, NoteVerifier};
pub use dipr_package::wilson;
pub use reader::{Encoding, Format, Input};
use scheme::{Encoder, Scheme};

/// Manifests made now: fingerprints, salts and leaves hashed by scheme v2 (see `scheme.rs`).
pub const MANIFEST_VERSION: &str = "dipr-fingerprint-manifest/v2";
/// The first manifests (scheme v1): still verified, measured against and proven from.
pub const MANIFEST_VERSION_1: &str = "dipr-fingerprint-manifest/v1";
pub const PROOF_VERSION: &str = "dipr-record-proof/v2";
pub const PROOF_VERSION_1: &str = "dipr-record-proof/v1";
/// Records read before the column types are fixed.
pub const INFER_ROWS: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error("line {line}: {message}")]
    Parse { line: u64, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

type Hash = [u8; 32];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex<const N: usize>(s: &str) -> Result<[u8; N], FingerprintError> {
    let bad = || FingerprintError::Invalid(format!("expected {} hex digits, got {s:?}", 2 * N));
    if s.len() != 2 * N {
        return Err(bad());
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The owner's secrets: never sent anywhere, stored with mode 0600.
#[derive(Clone)]
pub struct Secrets {
    pub sampling_key: Hash,
    pub salt_key: Hash,
    pub signer: NoteSigner,
}

#[derive(Serialize, Deserialize)]
struct SecretsFile {
    v: String,
    sampling_key: String,
    salt_key: String,
    signing_key: String,
}

impl Secrets {
    pub fn generate(owner: &str) -> Result<Self, FingerprintError> {
        let mut k = [0u8; 64];
        getrandom(&mut k)?;
        let signer = NoteSigner::generate(owner).map_err(|e| FingerprintError::Invalid(e.to_string()))?;
        Ok(Self { sampling_key: k[..32].try_into().expect("32"), salt_key: k[32..].try_into().expect("32"), signer })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&SecretsFile {
            v: "dipr-fingerprint-secrets/v1".into(),
            sampling_key: hex(&self.sampling_key),
            salt_key: hex(&self.salt_key),
            signing_key: self.signer.to_private_string(),
        })
        .expect("serialises")
    }

    pub fn from_json(s: &str) -> Result<Self, FingerprintError> {
        let f: SecretsFile =
            serde_json::from_str(s).map_err(|e| FingerprintError::Invalid(format!("secrets file: {e}")))?;
        Ok(Self {
            sampling_key: unhex(&f.sampling_key)?,
            salt_key: unhex(&f.salt_key)?,
            signer: NoteSigner::from_private_string(&f.signing_key)
                .map_err(|e| FingerprintError::Invalid(e.to_string()))?,
        })
    }

    /// Names the sampling key without revealing it.
    pub fn key_id(&self) -> String {
        hex(&blake3::hash(&self.sampling_key).as_bytes()[..8])
    }
}

fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    use rand_core::RngCore;
    rand_core::OsRng.try_fill_bytes(buf).map_err(|e| std::io::Error::other(e.to_string()))
}

/// The registry-wide discovery key, derived from registry secret material. Sketches made with it can be
/// compared across products (double registration, "which registered products does this contain");
/// sketches made with the owner's own key resist a reseller who knows the discovery key.
pub fn derive_discovery_key(registry_secret: &[u8]) -> Hash {
    blake3::derive_key("dipr 2026 registry discovery sketch key v1", registry_secret)
}

pub fn discovery_key_id(key: &Hash) -> String {
    hex(&blake3::hash(key).as_bytes()[..8])
}

/// The `full`-view sketch made with the registry's discovery key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverySketch {
    pub key_id: String,
    pub scale: u64,
    pub sketch: Vec<String>,
}

impl DiscoverySketch {
    pub fn values(&self) -> Vec<u64> {
        self.sketch.iter().filter_map(|h| u64::from_str_radix(h, 16).ok()).collect()
    }
}

/// A declared view: a projection of columns, some rounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    pub name: String,
    /// Columns in the view (canonical names); all columns when absent.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Decimals to round numeric columns to.
    #[serde(default)]
    pub round: BTreeMap<String, u32>,
    /// Unit conversions of numeric columns, applied to the registered values before they are rounded:
    /// a factor written `n/d` or as a decimal (`air_time = "1/60"`: minutes to hours; `distance =
    /// "1.609344"`: miles to km). A suspect's values are taken as already converted. A converted column
    /// must be rounded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub convert: BTreeMap<String, String>,
}

impl ViewSpec {
    pub fn full() -> Self {
        Self { name: "full".into(), columns: None, round: BTreeMap::new(), convert: BTreeMap::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewManifest {
    pub name: String,
    pub columns: Vec<String>,
    pub round: BTreeMap<String, u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub convert: BTreeMap<String, String>,
    /// Sorted sketch values (hex u64).
    pub sketch: Vec<String>,
    /// Distinct records of the view, estimated from the sketch (exact when fingerprints were kept).
    pub distinct_records: u64,
    pub sketch_digest: String,
    /// This view's FracMinHash scale, chosen so that the sketch keeps enough records (v2 manifests);
    /// absent: the manifest's `scale`. At 1 the sketch holds every record of the view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u64>,
}

impl ViewManifest {
    /// The declaration this view was made from.
    fn spec(&self) -> ViewSpec {
        ViewSpec {
            name: self.name.clone(),
            columns: Some(self.columns.clone()),
            round: self.round.clone(),
            convert: self.convert.clone(),
        }
    }
}

/// What the owner files: enough to recognise the data, nothing to rebuild it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub v: String,
    pub canon: String,
    pub product: String,
    pub version: u32,
    pub created_at: String,
    pub format: Format,
    pub schema: Vec<SchemaColumn>,
    pub schema_digest: String,
    pub records_read: u64,
    /// Distinct full records: the commitment's leaf count.
    pub distinct_records: u64,
    /// Hex BLAKE3 root of the salted commitment.
    pub root: String,
    /// FracMinHash scale `s`: a value is kept when `fp < 2^64 / s`.
    pub scale: u64,
    pub sampling_key_id: String,
    pub views: Vec<ViewManifest>,
    /// For filing: the `full` sketch under the registry's discovery key.
    #[serde(default)]
    pub discovery: Option<DiscoverySketch>,
    /// The SHA-256 digest of the manifest this one extends with views declared after registration (see
    /// [`add_views`]): same data, same commitment, more views.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// An algorithm package's files, languages, code sketch and tensors (`format` is `package`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<package::PackageSummary>,
    /// The owner's verifier key.
    pub signer: String,
    /// Base64 Ed25519 signature over the canonical manifest without this field.
    #[serde(default)]
    pub signature: String,
}

impl Manifest {
    fn sign(&mut self, signer: &NoteSigner) {
        self.signature = String::new();
        self.signature = base64::engine::general_purpose::STANDARD.encode(signer.sign_bytes(&self.signed_bytes()));
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.signature = String::new();
        let mut m = format!("{}\n", self.v).into_bytes();
        m.extend(dipr_ledger::canonical::to_bytes(&unsigned).expect("no floats"));
        m
    }

    /// SHA-256 of the signed, canonical manifest: what the certificate commits to.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        hex(&sha2::Sha256::digest(dipr_ledger::canonical::to_bytes(self).expect("no floats")))
    }

    /// Check the manifest's own signature and internal consistency.
    pub fn verify(&self) -> Result<(), FingerprintError> {
        if Scheme::of_manifest(&self.v).is_err() || self.canon != canon::CANON_VERSION {
            return Err(FingerprintError::Invalid(format!("unsupported manifest {} / {}", self.v, self.canon)));
        }
        let key = NoteVerifier::parse(&self.signer).map_err(|e| FingerprintError::Invalid(format!("signer: {e}")))?;
        let sig = base64::engine::general_purpose::STANDARD.decode(&self.signature).unwrap_or_default();
        if !key.verify_bytes(&self.signed_bytes(), &sig) {
            return Err(FingerprintError::Invalid("the manifest's signature does not verify".into()));
        }
        if self.schema_digest != schema_digest(&self.schema) {
            return Err(FingerprintError::Invalid("schema digest does not match the schema".into()));
        }
        if (self.format == Format::Package) != self.package.is_some() {
            return Err(FingerprintError::Invalid("a package manifest, and only one, has a package section".into()));
        }
        if !self.views.iter().any(|v| v.name == "full") {
            return Err(FingerprintError::Invalid("the manifest has no full view".into()));
        }
        for v in &self.views {
            if v.sketch_digest != sketch_digest(&v.sketch) {
                return Err(FingerprintError::Invalid(format!("sketch digest of view {} does not match", v.name)));
            }
        }
        Ok(())
    }

    /// Check that this manifest extends `previous` (itself valid): it names it, was signed by the same
    /// owner over the same data and commitment, and keeps every one of its views unchanged.
    pub fn verify_extends(&self, previous: &Manifest) -> Result<(), FingerprintError> {
        self.verify()?;
        previous.verify()?;
        let bad =
            |what: &str| Err(FingerprintError::Invalid(format!("this manifest does not extend that one: {what}")));
        if self.extends.as_deref() != Some(previous.digest().as_str()) {
            return bad("it names another manifest");
        }
        let same = (&self.v, &self.canon, &self.product, self.version, &self.format, &self.schema, &self.root)
            == (
                &previous.v,
                &previous.canon,
                &previous.product,
                previous.version,
                &previous.format,
                &previous.schema,
                &previous.root,
            )
            && (self.records_read, self.distinct_records, self.scale, &self.sampling_key_id, &self.signer)
                == (
                    previous.records_read,
                    previous.distinct_records,
                    previous.scale,
                    &previous.sampling_key_id,
                    &previous.signer,
                )
            && self.discovery == previous.discovery;
        if !same {
            return bad("other data, commitment or owner");
        }
        if !self.views.starts_with(&previous.views) {
            return bad("a view it had is changed or gone");
        }
        Ok(())
    }

    pub fn sketch_values(&self, view: &str) -> Option<HashSet<u64>> {
        let v = self.views.iter().find(|v| v.name == view)?;
        Some(v.sketch.iter().filter_map(|h| u64::from_str_radix(h, 16).ok()).collect())
    }
}

fn schema_digest(schema: &[SchemaColumn]) -> String {
    hex(blake3::hash(&dipr_ledger::canonical::to_bytes(&schema).expect("no floats")).as_bytes())
}

fn sketch_digest(sketch: &[String]) -> String {
    hex(blake3::hash(sketch.join("\n").as_bytes()).as_bytes())
}

/// A compiled view: which schema columns, with what rounding and conversion.
struct View {
    name: String,
    columns: Vec<usize>,
    round: Vec<Option<u32>>,
    /// A conversion factor `n/d` per column.
    convert: Vec<Option<(i128, i128)>>,
    is_full: bool,
}

/// A conversion factor: `n/d` or a decimal, positive.
fn factor(f: &str) -> Option<(i128, i128)> {
    let (n, d) = match f.split_once('/') {
        Some((n, d)) => (n.trim().parse::<i128>().ok()?, d.trim().parse::<i128>().ok()?),
        None => {
            let c = canon::number(f, None)?;
            let (int, frac) = c.split_once('.').unwrap_or((&c, ""));
            (format!("{int}{frac}").parse().ok()?, 10i128.checked_pow(frac.len() as u32)?)
        }
    };
    (n > 0 && d > 0).then_some((n, d))
}

/// A canonical number times `n/d`, rounded half away from zero to `round` decimals, canonical; `None`
/// when too large to compute exactly.
fn converted(value: &str, (n, d): (i128, i128), round: u32) -> Option<String> {
    let negative = value.starts_with('-');
    let (int, frac) = value.trim_start_matches('-').split_once('.').unwrap_or((value.trim_start_matches('-'), ""));
    let mantissa: i128 = format!("{int}{frac}").parse().ok()?;
    // value × n/d × 10^round = mantissa × n × 10^round / (d × 10^frac)
    let num = mantissa.checked_mul(n)?.checked_mul(10i128.checked_pow(round)?)?;
    let den = d.checked_mul(10i128.checked_pow(frac.len() as u32)?)?;
    let q = (2 * num + den) / (2 * den);
    let digits = format!("{q:0>width$}", width = round as usize + 1);
    let (i, f) = digits.split_at(digits.len() - round as usize);
    let text = if f.is_empty() { i.to_string() } else { format!("{i}.{f}") };
    canon::number(&format!("{}{text}", if negative { "-" } else { "" }), None)
}

fn compile_views(schema: &[SchemaColumn], specs: &[ViewSpec]) -> Result<Vec<View>, FingerprintError> {
    let mut names = HashSet::new();
    specs
        .iter()
        .map(|s| {
            if !names.insert(s.name.clone()) || s.name.is_empty() || s.name.contains('\0') {
                return Err(FingerprintError::Invalid(format!("view name {:?} is empty or repeated", s.name)));
            }
            let columns: Vec<usize> = match &s.columns {
                None => (0..schema.len()).collect(),
                Some(cols) => cols
                    .iter()
                    .map(|c| {
                        let c = canon::name(c);
                        schema
                            .iter()
                            .position(|k| k.name == c)
                            .ok_or_else(|| FingerprintError::Invalid(format!("view {}: no column {c:?}", s.name)))
                    })
                    .collect::<Result<_, _>>()?,
            };
            let mut columns = columns;
            columns.sort_unstable();
            columns.dedup();
            for r in s.round.keys() {
                let r = canon::name(r);
                if !columns.iter().any(|&i| schema[i].name == r && schema[i].ty == ColumnType::Number) {
                    return Err(FingerprintError::Invalid(format!(
                        "view {}: {r:?} is not a numeric column of the view",
                        s.name
                    )));
                }
            }
            let round: Vec<Option<u32>> = columns
                .iter()
                .map(|&i| s.round.iter().find(|(k, _)| canon::name(k) == schema[i].name).map(|(_, d)| *d))
                .collect();
            let convert: Vec<Option<(i128, i128)>> = columns
                .iter()
                .zip(&round)
                .map(|(&i, r)| {
                    let Some((_, f)) = s.convert.iter().find(|(k, _)| canon::name(k) == schema[i].name) else {
                        return Ok(None);
                    };
                    let bad = |why: &str| {
                        FingerprintError::Invalid(format!(
                            "view {}: {:?} conversion {f:?}: {why}",
                            s.name, schema[i].name
                        ))
                    };
                    if schema[i].ty != ColumnType::Number || r.is_none() {
                        return Err(bad("only a numeric column of the view, rounded, can be converted"));
                    }
                    factor(f).map(Some).ok_or_else(|| bad("write the factor as n/d or a decimal"))
                })
                .collect::<Result<_, _>>()?;
            if let Some(c) = s.convert.keys().find(|c| !columns.iter().any(|&i| schema[i].name == canon::name(c))) {
                return Err(FingerprintError::Invalid(format!("view {}: {c:?} is not a column of the view", s.name)));
            }
            let is_full = columns.len() == schema.len() && round.iter().all(Option::is_none);
            Ok(View { name: s.name.clone(), columns, round, convert, is_full })
        })
        .collect()
}

/// Canonical record bytes of `values` (per schema column, raw) for one view; a suspect's values
/// (`suspect`: with the declared zone, if any) are read as scrapers write them (`lenient`).
fn view_bytes(
    schema: &[SchemaColumn],
    values: &[Option<&str>],
    view: &View,
    suspect: Option<Option<lenient::Zone>>,
    out: &mut Vec<u8>,
) {
    out.clear();
    for (k, &i) in view.columns.iter().enumerate() {
        let v = values[i].and_then(|raw| match (suspect, view.convert[k], view.round[k]) {
            (None, Some(f), Some(r)) => {
                canon::value_cow(raw, schema[i].ty, None).map(|v| converted(&v, f, r).map_or(v, Cow::Owned))
            }
            (None, _, _) => canon::value_cow(raw, schema[i].ty, view.round[k]),
            (Some(zone), _, _) => lenient::value(raw, schema[i].ty, view.round[k], zone),
        });
        canon::push_column(out, &schema[i].name, v.as_deref());
    }
}

fn node(l: &Hash, r: &Hash) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(&[1]);
    h.update(l);
    h.update(r);
    *h.finalize().as_bytes()
}

/// Commitment tree over sorted, deduplicated leaves (RFC 9162 shape, BLAKE3 nodes).
pub mod commitment {
    use super::{node, Hash};

    fn split(n: usize) -> usize {
        1 << (usize::BITS - 1 - (n - 1).leading_zeros())
    }

    pub fn root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => *blake3::hash(b"").as_bytes(),
            1 => leaves[0],
            n => {
                let k = split(n);
                node(&root(&leaves[..k]), &root(&leaves[k..]))
            }
        }
    }

    pub fn path(leaves: &[Hash], index: usize) -> Vec<Hash> {
        let mut out = Vec::new();
        fn go(leaves: &[Hash], m: usize, out: &mut Vec<Hash>) {
            let n = leaves.len();
            if n <= 1 {
                return;
            }
            let k = split(n);
            if m < k {
                go(&leaves[..k], m, out);
                out.push(root(&leaves[k..]));
            } else {
                go(&leaves[k..], m - k, out);
                out.push(root(&leaves[..k]));
            }
        }
        go(leaves, index, &mut out);
        out
    }

    pub fn verify(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
        dipr_ledger::merkle::verify_inclusion_with(node, leaf, index, size, path, root)
    }
}

/// Everything `fingerprint` computes.
pub struct Fingerprints {
    pub manifest: Manifest,
    /// Sorted, deduplicated fingerprints per view, when asked to keep them.
    pub kept: Option<BTreeMap<String, Vec<u64>>>,
    /// Sampled values per column, to recognise a suspect's columns by (kept locally, never filed).
    pub columns: ColumnValues,
}

pub struct Options {
    pub format: Format,
    pub product: String,
    pub version: u32,
    pub views: Vec<ViewSpec>,
    pub scale: u64,
    pub keep_fingerprints: bool,
    /// Also sketch the full records under the registry's discovery key (needed to file the manifest).
    pub discovery_key: Option<Hash>,
}

fn threshold(scale: u64) -> u64 {
    u64::MAX / scale.max(1)
}

/// Places a record's raw cells at their schema positions, remembering the header mapping while the
/// headers stay the same (delimited files: always).
struct Mapper<'s> {
    schema: &'s [SchemaColumn],
    rename: BTreeMap<String, String>,
    cache: Option<(Vec<String>, Vec<Option<usize>>)>,
}

impl<'s> Mapper<'s> {
    fn new(schema: &'s [SchemaColumn]) -> Self {
        Self { schema, rename: BTreeMap::new(), cache: None }
    }

    fn values<'r>(
        &mut self,
        names: &[String],
        same_names: bool,
        vals: &[&'r str],
    ) -> Result<Vec<Option<&'r str>>, FingerprintError> {
        if !(same_names && self.cache.is_some()) && self.cache.as_ref().is_none_or(|(n, _)| n.as_slice() != names) {
            self.cache = Some((names.to_vec(), positions(names, self.schema, &self.rename)?));
        }
        let pos = &self.cache.as_ref().expect("set").1;
        let mut values = vec![None; self.schema.len()];
        for (v, p) in vals.iter().zip(pos) {
            if let Some(i) = p {
                values[*i] = Some(*v);
            }
        }
        Ok(values)
    }
}

/// Map raw headers to schema positions; two raw names with one canonical name is an error.
fn positions(
    names: &[String],
    schema: &[SchemaColumn],
    rename: &BTreeMap<String, String>,
) -> Result<Vec<Option<usize>>, FingerprintError> {
    let mut seen = HashSet::new();
    names
        .iter()
        .map(|k| {
            let c = canon::name(k);
            let c = rename.get(&c).map_or(c, |r| canon::name(r));
            if !seen.insert(c.clone()) {
                return Err(FingerprintError::Invalid(format!("two columns are both named {c:?} once canonicalised")));
            }
            Ok(schema.iter().position(|s| s.name == c))
        })
        .collect()
}

/// How a run is carried out, beyond what the options record in the manifest.
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    /// Worker threads (default: every core). The manifest is the same whatever the number.
    pub threads: Option<usize>,
    /// The manifest's `created_at` (default: now).
    pub created_at: Option<String>,
    /// The text encoding of a CSV, TSV or JSON Lines input (default: detected).
    pub encoding: Option<Encoding>,
    /// The time zone of a suspect's times written without one.
    pub zone: Option<lenient::Zone>,
    /// A suspect's columns by the registered columns they hold: suspect name → registered name (see
    /// [`propose_columns`]).
    pub columns: BTreeMap<String, String>,
    /// A suspect's date columns that merge registered year, month and day columns: suspect name →
    /// [year, month, day] registered names.
    pub dates: BTreeMap<String, [String; 3]>,
    /// Registered date columns a suspect splits into year, month and day columns: registered name →
    /// [year, month, day] suspect names.
    pub date_parts: BTreeMap<String, [String; 3]>,
}

/// Where each schema column's cell is in records with the given headers, remembered by header id.
#[derive(Default)]
struct Cells {
    id: Option<u64>,
    at: Vec<Option<usize>>,
}

impl Cells {
    fn locate(
        &mut self,
        schema: &[SchemaColumn],
        id: u64,
        names: &[String],
        rename: &BTreeMap<String, String>,
    ) -> Result<&[Option<usize>], FingerprintError> {
        if self.id != Some(id) {
            self.at = vec![None; schema.len()];
            for (cell, p) in positions(names, schema, rename)?.into_iter().enumerate() {
                if let Some(i) = p {
                    self.at[i] = Some(cell);
                }
            }
            self.id = Some(id);
        }
        Ok(&self.at)
    }
}

/// Infer the schema from the first records: one type per canonical column name.
fn infer_schema(sample: &pipeline::Batch, threads: usize) -> Result<Vec<SchemaColumn>, FingerprintError> {
    let mut columns: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut canonical: Option<(u64, Vec<String>)> = None;
    sample.for_each(|id, names, cells| {
        if canonical.as_ref().is_none_or(|(c, _)| *c != id) {
            let mut seen = HashSet::new();
            let names = names
                .iter()
                .map(|k| {
                    let c = canon::name(k);
                    match seen.insert(c.clone()) {
                        true => Ok(c),
                        false => Err(FingerprintError::Invalid(format!(
                            "two columns are both named {c:?} once canonicalised"
                        ))),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            canonical = Some((id, names));
        }
        for (k, v) in canonical.as_ref().expect("set").1.iter().zip(cells) {
            match columns.get_mut(k) {
                Some(values) => values.push(v),
                None => {
                    columns.insert(k.clone(), vec![v]);
                }
            }
        }
        Ok(())
    })?;
    let columns: Vec<(String, Vec<&str>)> = columns.into_iter().collect();
    let per = columns.len().div_ceil(threads.max(1)).max(1);
    let types: Vec<ColumnType> = std::thread::scope(|s| {
        let parts: Vec<_> = columns
            .chunks(per)
            .map(|part| s.spawn(move || part.iter().map(|(_, v)| canon::infer(v.iter().copied())).collect::<Vec<_>>()))
            .collect();
        parts.into_iter().flat_map(|p| p.join().expect("inference does not panic")).collect()
    });
    Ok(columns.into_iter().zip(types).map(|((name, _), ty)| SchemaColumn { name, ty }).collect())
}

/// Fingerprint a dataset read from `input`. `progress` is called with the records read so far.
pub fn fingerprint<R: Read>(
    input: impl Into<Input<R>>,
    opts: &Options,
    secrets: &Secrets,
    progress: &mut dyn FnMut(u64),
) -> Result<Fingerprints, FingerprintError> {
    fingerprint_with(input, opts, &Tuning::default(), secrets, progress)
}

/// A view's sketch keeps at most this many values, unless the declared scale is reached first: the scale
/// doubles (1, 2, 4, …) while it holds more. So every view keeps at least half of it — ±1.5 points at 95%
/// for any containment — or every one of its records.
pub const SAMPLE_CAP: usize = 8192;

/// A view's FracMinHash sample at the smallest scale (a power of two, at most the declared one) that
/// keeps it within [`SAMPLE_CAP`]. Workers each keep one; merged, the result is the one a single worker
/// would have kept, since a worker's scale never passes the one all the records need.
struct Sample {
    scale: u64,
    max_scale: u64,
    values: Vec<u64>,
    /// When to deduplicate and check the size again.
    check_at: usize,
}

impl Sample {
    fn new(max_scale: u64) -> Self {
        Self { scale: 1, max_scale: max_scale.max(1), values: Vec::new(), check_at: 2 * SAMPLE_CAP }
    }

    fn push(&mut self, fp: u64) {
        if fp < threshold(self.scale) {
            self.values.push(fp);
            if self.values.len() >= self.check_at {
                self.shrink();
            }
        }
    }

    fn shrink(&mut self) {
        self.values.sort_unstable();
        self.values.dedup();
        while self.values.len() > SAMPLE_CAP && self.scale * 2 <= self.max_scale {
            self.scale *= 2;
            let limit = threshold(self.scale);
            self.values.retain(|&v| v < limit);
        }
        self.check_at = (2 * self.values.len()).max(2 * SAMPLE_CAP);
    }

    fn merge(parts: impl IntoIterator<Item = Sample>) -> Sample {
        let parts: Vec<Sample> = parts.into_iter().collect();
        let mut all = Sample::new(parts.first().map_or(1, |p| p.max_scale));
        all.scale = parts.iter().map(|p| p.scale).max().unwrap_or(1);
        let limit = threshold(all.scale);
        all.values = parts.into_iter().flat_map(|p| p.values).filter(|&v| v < limit).collect();
        all.shrink();
        all
    }
}

/// Registered values sampled per column (keyed fingerprints of the canonical values of the first
/// records), kept by the owner beside the manifest, never filed: what [`propose_columns`] recognises a
/// suspect's columns by.
pub type ColumnValues = BTreeMap<String, Vec<u64>>;

/// A column's value fingerprint: keyed, so the values cannot be read back from it.
fn value_fingerprint(key: &Hash, ty: ColumnType, value: &str) -> u64 {
    let mut b = Vec::with_capacity(value.len() + 1);
    b.push(ty as u8);
    b.extend_from_slice(value.as_bytes());
    u64::from_be_bytes(blake3::keyed_hash(key, &b).as_bytes()[..8].try_into().expect("8 bytes"))
}

fn value_key(secrets: &Secrets) -> Hash {
    *blake3::keyed_hash(&secrets.sampling_key, b"dipr fp/2 column values").as_bytes()
}

/// The distinct value fingerprints of each column of `sample` read as `read` reads them.
fn column_values(
    sample: &pipeline::Batch,
    mut read: impl FnMut(&str, &str) -> Option<u64>,
) -> BTreeMap<String, HashSet<u64>> {
    let mut out: BTreeMap<String, HashSet<u64>> = BTreeMap::new();
    let mut canonical: Option<(u64, Vec<String>)> = None;
    let _ = sample.for_each(|id, names, cells| {
        if canonical.as_ref().is_none_or(|(c, _)| *c != id) {
            canonical = Some((id, names.iter().map(|n| canon::name(n)).collect()));
        }
        for (k, v) in canonical.as_ref().expect("set").1.iter().zip(cells) {
            if !canon::is_null(v) {
                out.entry(k.clone()).or_default().extend(read(k, v));
            }
        }
        Ok(())
    });
    out
}

/// One suspect column's proposed registered column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correspondence {
    /// The suspect's column (canonical name) and the registered column proposed for it.
    pub suspect: String,
    pub registered: String,
    /// Share of the registered column's sampled values found in the suspect column, times the ratio of
    /// their numbers of distinct values (1 for the same column, scraped whole).
    pub score: f64,
    /// The next best registered column's score: close to `score`, the proposal is a guess to confirm.
    pub runner_up: f64,
}

/// Which registered column each suspect column holds, judged by content, not by name: translated,
/// renamed and reordered headers are matched. From the first 10,000 suspect records; one registered
/// column per suspect column, best scores first; columns scoring under 0.05 are left out.
pub fn propose_columns<R: Read>(
    manifest: &Manifest,
    secrets: &Secrets,
    registered: &ColumnValues,
    suspect: impl Into<Input<R>>,
    format: Format,
    tuning: &Tuning,
) -> Result<Vec<Correspondence>, FingerprintError> {
    let key = value_key(secrets);
    let mut reader = pipeline::Reader::new(reader::Records::open(suspect.into(), format, tuning.encoding)?);
    let mut sample = pipeline::Batch::default();
    reader.fill(&mut sample, INFER_ROWS)?;
    let types: Vec<ColumnType> = {
        let mut t: Vec<ColumnType> = manifest.schema.iter().map(|c| c.ty).collect();
        t.sort_by_key(|t| *t as u8);
        t.dedup();
        t
    };
    // Each suspect column's values read as each registered type.
    let by_type: Vec<(ColumnType, BTreeMap<String, HashSet<u64>>)> = types
        .iter()
        .map(|&ty| {
            let values = column_values(&sample, |_, raw| {
                lenient::typed(raw, ty, None, tuning.zone).map(|v| value_fingerprint(&key, ty, &v))
            });
            (ty, values)
        })
        .collect();
    let mut scores: Vec<(f64, String, String)> = Vec::new();
    for col in &manifest.schema {
        let Some(reg) = registered.get(&col.name).filter(|r| !r.is_empty()) else { continue };
        let suspect_cols = &by_type.iter().find(|(t, _)| *t == col.ty).expect("every type").1;
        for (name, values) in suspect_cols {
            let found = reg.iter().filter(|v| values.contains(v)).count() as f64 / reg.len() as f64;
            let (a, b) = (values.len() as f64, reg.len() as f64);
            scores.push((found * a.min(b) / a.max(b).max(1.0), name.clone(), col.name.clone()));
        }
    }
    scores.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| (&x.1, &x.2).cmp(&(&y.1, &y.2))));
    let (mut used_s, mut used_r, mut out) = (HashSet::new(), HashSet::new(), Vec::new());
    for (score, s, r) in &scores {
        if *score < 0.05 || used_s.contains(s) || used_r.contains(r) {
            continue;
        }
        let runner_up = scores.iter().filter(|(_, s2, r2)| s2 == s && r2 != r).map(|x| x.0).fold(0.0, f64::max);
        used_s.insert(s.clone());
        used_r.insert(r.clone());
        out.push(Correspondence { suspect: s.clone(), registered: r.clone(), score: *score, runner_up });
    }
    Ok(out)
}

/// What one worker keeps while fingerprinting.
struct Partial<'a> {
    cells: Cells,
    encoder: Encoder<'a>,
    /// Per view: its sample.
    sketches: Vec<Sample>,
    kept: Vec<Vec<u64>>,
    discovery: Vec<u64>,
    leaves: sorter::LeafSorter,
}

/// [`fingerprint`], with the number of threads and the creation time chosen.
pub fn fingerprint_with<R: Read>(
    input: impl Into<Input<R>>,
    opts: &Options,
    tuning: &Tuning,
    secrets: &Secrets,
    progress: &mut dyn FnMut(u64),
) -> Result<Fingerprints, FingerprintError> {
    fingerprint_scheme(input, opts, tuning, secrets, Scheme::V2, progress)
}

/// Views declared after registration, added to `manifest` as a new manifest that names it (`extends`):
/// `data` is read again and must give the manifest's root; the views it had are kept as they were, and
/// the new ones are hashed by the manifest's scheme. Evidence made with the earlier manifest keeps
/// verifying; evidence made with this one carries the chain back to the certified manifest.
pub fn add_views<R: Read>(
    manifest: &Manifest,
    secrets: &Secrets,
    data: impl Into<Input<R>>,
    views: &[ViewSpec],
    tuning: &Tuning,
    progress: &mut dyn FnMut(u64),
) -> Result<Manifest, FingerprintError> {
    manifest.verify()?;
    if manifest.sampling_key_id != secrets.key_id() {
        return Err(FingerprintError::Invalid("these secrets are not the ones this manifest was made with".into()));
    }
    if let Some(v) = views.iter().find(|v| manifest.views.iter().any(|m| m.name == v.name)) {
        return Err(FingerprintError::Invalid(format!("the manifest already has a view {:?}", v.name)));
    }
    let opts = Options {
        format: manifest.format,
        product: manifest.product.clone(),
        version: manifest.version,
        views: [vec![ViewSpec::full()], views.to_vec()].concat(),
        scale: manifest.scale,
        keep_fingerprints: false,
        discovery_key: None,
    };
    let scheme = Scheme::of_manifest(&manifest.v)?;
    let again = fingerprint_scheme(data, &opts, tuning, secrets, scheme, progress)?.manifest;
    if again.root != manifest.root || again.schema != manifest.schema {
        return Err(FingerprintError::Invalid(
            "this data does not produce the manifest's root: it is not the registered version".into(),
        ));
    }
    let mut next = manifest.clone();
    next.views.extend(again.views.into_iter().skip(1));
    next.extends = Some(manifest.digest());
    next.created_at = again.created_at;
    next.sign(&secrets.signer);
    Ok(next)
}

fn fingerprint_scheme<R: Read>(
    input: impl Into<Input<R>>,
    opts: &Options,
    tuning: &Tuning,
    secrets: &Secrets,
    scheme: Scheme,
    progress: &mut dyn FnMut(u64),
) -> Result<Fingerprints, FingerprintError> {
    let threads = tuning.threads.unwrap_or_else(pipeline::default_threads).max(1);
    let mut reader = pipeline::Reader::new(reader::Records::open(input.into(), opts.format, tuning.encoding)?);
    // Fix the schema from the first records.
    let mut sample = pipeline::Batch::default();
    reader.fill(&mut sample, INFER_ROWS)?;
    if sample.len() == 0 {
        return Err(FingerprintError::Invalid("the data has no records".into()));
    }
    let schema = infer_schema(&sample, threads)?;
    let columns: ColumnValues = {
        let key = value_key(secrets);
        column_values(&sample, |name, raw| {
            let ty = schema.iter().find(|c| c.name == name).map_or(ColumnType::Text, |c| c.ty);
            canon::value_cow(raw, ty, None).map(|v| value_fingerprint(&key, ty, &v))
        })
        .into_iter()
        .map(|(k, v)| {
            let mut v: Vec<u64> = v.into_iter().collect();
            v.sort_unstable();
            (k, v)
        })
        .collect()
    };
    let specs = if opts.views.iter().any(|v| v.name == "full") {
        opts.views.clone()
    } else {
        [vec![ViewSpec::full()], opts.views.clone()].concat()
    };
    let views = compile_views(&schema, &specs)?;
    let limit = threshold(opts.scale);

    let (read, partials) = pipeline::run(
        sample,
        &mut reader,
        threads,
        progress,
        || Partial {
            cells: Cells::default(),
            encoder: Encoder::new(&schema, &views, scheme, &secrets.sampling_key, &secrets.salt_key),
            sketches: views.iter().map(|_| Sample::new(opts.scale)).collect(),
            kept: vec![Vec::new(); views.len()],
            discovery: Vec::new(),
            leaves: sorter::LeafSorter::with_chunk(sorter::CHUNK / threads),
        },
        |p, id, names, cells| {
            let at = p.cells.locate(&schema, id, names, &BTreeMap::new())?;
            let cell = |i: usize| at[i].map(|c| cells[c]);
            p.encoder.encode(cell);
            for vi in 0..views.len() {
                let fp = p.encoder.fingerprint(vi, cell);
                p.sketches[vi].push(fp);
                if opts.keep_fingerprints {
                    p.kept[vi].push(fp);
                }
            }
            if let Some(k) = &opts.discovery_key {
                let fp = p.encoder.discovery_fingerprint(k);
                if fp < limit {
                    p.discovery.push(fp);
                }
            }
            p.leaves.push(p.encoder.leaf().0)?;
            Ok(())
        },
    )?;
    let mut samples: Vec<Vec<Sample>> = views.iter().map(|_| Vec::new()).collect();
    let mut kept: Vec<Vec<u64>> = vec![Vec::new(); views.len()];
    let mut discovery = Vec::new();
    let mut sorters = Vec::new();
    for p in partials {
        for (all, mine) in samples.iter_mut().zip(p.sketches) {
            all.push(mine);
        }
        for (all, mine) in kept.iter_mut().zip(p.kept) {
            all.extend(mine);
        }
        discovery.extend(p.discovery);
        sorters.push(p.leaves);
    }
    let (distinct, root) = sorter::LeafSorter::finish_all(sorters)?;
    let sketches: Vec<Sample> = samples.into_iter().map(Sample::merge).collect();
    for v in kept.iter_mut().chain([&mut discovery]) {
        v.sort_unstable();
        v.dedup();
    }

    let view_manifests: Vec<ViewManifest> = views
        .iter()
        .zip(sketches)
        .zip(&kept)
        .map(|((v, sample), kept)| {
            let distinct =
                if opts.keep_fingerprints { kept.len() as u64 } else { sample.values.len() as u64 * sample.scale };
            let sketch: Vec<String> = sample.values.iter().map(|h| format!("{h:016x}")).collect();
            ViewManifest {
                name: v.name.clone(),
                columns: v.columns.iter().map(|&i| schema[i].name.clone()).collect(),
                round: v
                    .columns
                    .iter()
                    .zip(&v.round)
                    .filter_map(|(&i, r)| r.map(|r| (schema[i].name.clone(), r)))
                    .collect(),
                convert: specs
                    .iter()
                    .find(|sp| sp.name == v.name)
                    .map(|sp| sp.convert.iter().map(|(k, f)| (canon::name(k), f.clone())).collect())
                    .unwrap_or_default(),
                sketch_digest: sketch_digest(&sketch),
                sketch,
                distinct_records: distinct,
                scale: Some(sample.scale),
            }
        })
        .collect();
    let mut manifest = Manifest {
        v: match scheme {
            Scheme::V1 => MANIFEST_VERSION_1,
            Scheme::V2 => MANIFEST_VERSION,
        }
        .into(),
        canon: canon::CANON_VERSION.into(),
        product: opts.product.clone(),
        version: opts.version,
        created_at: tuning
            .created_at
            .clone()
            .unwrap_or_else(|| chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        format: opts.format,
        schema_digest: schema_digest(&schema),
        schema,
        records_read: read,
        distinct_records: distinct,
        root: hex(&root),
        scale: opts.scale.max(1),
        sampling_key_id: secrets.key_id(),
        views: view_manifests,
        discovery: opts.discovery_key.map(|k| DiscoverySketch {
            key_id: discovery_key_id(&k),
            scale: opts.scale.max(1),
            sketch: discovery.iter().map(|h| format!("{h:016x}")).collect(),
        }),
        extends: None,
        package: None,
        signer: secrets.signer.verifier().to_string(),
        signature: String::new(),
    };
    manifest.sign(&secrets.signer);
    let kept = opts.keep_fingerprints.then(|| views.iter().map(|v| v.name.clone()).zip(kept).collect());
    Ok(Fingerprints { manifest, kept, columns })
}

/// The share of the owner's records found in a suspect dataset, for one view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewContainment {
    pub view: String,
    /// `exact` (the owner kept every fingerprint) or `sketch` (FracMinHash sample).
    pub mode: &'static str,
    /// Owner records considered: all distinct fingerprints (exact) or the sketch's sample.
    pub owner_sample: u64,
    /// Of those, found in the suspect.
    pub matched: u64,
    pub estimate: f64,
    /// 95% Wilson score interval (equal to the estimate in exact mode).
    pub low: f64,
    pub high: f64,
    /// Estimated number of the owner's distinct records present in the suspect.
    pub records_found: u64,
    /// Owner columns this view needs that the suspect lacks (the view cannot match then).
    pub missing_columns: Vec<String>,
    /// Columns of the view whose suspect cells did not all read as their registered type (or were times
    /// without a zone).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<UnreadColumn>,
    /// Why this figure may understate the truth (few samples, or a low estimate with formats that did
    /// not read), when it may.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caution: Option<String>,
    /// The matching fingerprints themselves (for choosing records to prove); not reported.
    #[serde(skip)]
    pub matched_fingerprints: Vec<u64>,
}

/// Sampled records that bound a 95% interval to ±2 points whatever the containment (1.96² × 0.25 / 0.02²).
pub const MIN_SAMPLE: u64 = 2401;

/// A registered column whose values the suspect writes in a form that was not read as its type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnreadColumn {
    pub column: String,
    pub registered_type: ColumnType,
    /// The suspect's non-null cells in the column, and the share of them not read as the type.
    pub cells: u64,
    pub share_unread: f64,
    /// One of them, as written.
    pub example: String,
    /// What to declare.
    pub hint: &'static str,
}

impl UnreadColumn {
    fn new(col: &SchemaColumn, u: &scheme::Unread) -> Self {
        Self {
            column: col.name.clone(),
            registered_type: col.ty,
            cells: u.cells,
            share_unread: u.unread as f64 / u.cells.max(1) as f64,
            example: u.example.clone().unwrap_or_default(),
            hint: match col.ty {
                ColumnType::DateTime => {
                    "registered as ISO-8601 date-times; times written without a zone match only unzoned registered \
                     times: declare the suspect's zone (--zone); other written forms are not read"
                }
                ColumnType::Date => "registered as YYYY-MM-DD dates; day-first or month-first dates are not read",
                ColumnType::Number => "registered as numbers; these cells hold no number dipr can read",
                ColumnType::Bool => "registered as true/false",
                ColumnType::Text => "",
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainmentReport {
    pub product: String,
    pub root: String,
    pub suspect_records: u64,
    pub views: Vec<ViewContainment>,
}

/// How much of the owner's registered data is in `suspect`: per view, from the sketch, or exactly when
/// `kept` holds the owner's full fingerprint lists.
pub fn contain<R: Read>(
    manifest: &Manifest,
    secrets: &Secrets,
    suspect: impl Into<Input<R>>,
    format: Format,
    kept: Option<&BTreeMap<String, Vec<u64>>>,
    progress: &mut dyn FnMut(u64),
) -> Result<ContainmentReport, FingerprintError> {
    contain_with(manifest, secrets, suspect, format, kept, &Tuning::default(), progress)
}

/// [`contain`], with the number of threads chosen.
pub fn contain_with<R: Read>(
    manifest: &Manifest,
    secrets: &Secrets,
    suspect: impl Into<Input<R>>,
    format: Format,
    kept: Option<&BTreeMap<String, Vec<u64>>>,
    tuning: &Tuning,
    progress: &mut dyn FnMut(u64),
) -> Result<ContainmentReport, FingerprintError> {
    if manifest.sampling_key_id != secrets.key_id() {
        return Err(FingerprintError::Invalid("these secrets are not the ones this manifest was made with".into()));
    }
    let schema = &manifest.schema;
    let views = manifest_views(manifest, manifest.views.iter().map(|v| v.name.as_str()))?;
    let limits: Vec<u64> = manifest.views.iter().map(|v| threshold(v.scale.unwrap_or(manifest.scale))).collect();
    let owner: Vec<HashSet<u64>> = views
        .iter()
        .map(|v| match kept.and_then(|k| k.get(&v.name)) {
            Some(all) => all.iter().copied().collect(),
            None => manifest.sketch_values(&v.name).unwrap_or_default(),
        })
        .collect();
    let scheme = Scheme::of_manifest(&manifest.v)?;
    // Exact when the owner kept every fingerprint, or when the sketch holds every record (scale 1).
    let exact: Vec<bool> = views
        .iter()
        .zip(&manifest.views)
        .map(|(v, m)| kept.is_some_and(|k| k.contains_key(&v.name)) || m.scale == Some(1))
        .collect();
    let mut reader = pipeline::Reader::new(reader::Records::open(suspect.into(), format, tuning.encoding)?);
    let mut first = pipeline::Batch::default();
    reader.fill(&mut first, INFER_ROWS)?;
    let threads = tuning.threads.unwrap_or_else(pipeline::default_threads).max(1);
    struct Partial<'a> {
        cells: Cells,
        encoder: Encoder<'a>,
        found: Vec<HashSet<u64>>,
        present: Vec<bool>,
        /// Per schema column, a value taken from a suspect's merged date column, for this record.
        derived: Vec<Option<String>>,
        /// For a header set id: its merged and split dates.
        splits: Option<(u64, Merged, Split)>,
    }
    /// Suspect cells of merged dates, with the year, month and day schema columns they hold.
    type Merged = Vec<(usize, [Option<usize>; 3])>;
    /// Schema columns of dates, with the suspect cells of their year, month and day.
    type Split = Vec<(usize, [usize; 3])>;
    let column = |name: &str| schema.iter().position(|c| c.name == canon::name(name));
    let (read, partials) = pipeline::run(
        first,
        &mut reader,
        threads,
        progress,
        || Partial {
            cells: Cells::default(),
            encoder: Encoder::new(schema, &views, scheme, &secrets.sampling_key, &secrets.salt_key)
                .reading_suspect(tuning.zone),
            found: vec![HashSet::new(); views.len()],
            present: vec![false; schema.len()],
            derived: vec![None; schema.len()],
            splits: None,
        },
        |p, id, names, cells| {
            let Partial { cells: located, encoder, found, present, derived, splits } = p;
            let at = located.locate(schema, id, names, &tuning.columns)?;
            if splits.as_ref().is_none_or(|(i, _, _)| *i != id) {
                let canonical: Vec<String> = names.iter().map(|n| canon::name(n)).collect();
                let cell = |name: &str| canonical.iter().position(|n| *n == canon::name(name));
                let merged = tuning
                    .dates
                    .iter()
                    .filter_map(|(from, to)| Some((cell(from)?, [column(&to[0]), column(&to[1]), column(&to[2])])))
                    .collect();
                let parts = tuning
                    .date_parts
                    .iter()
                    .filter_map(|(to, from)| Some((column(to)?, [cell(&from[0])?, cell(&from[1])?, cell(&from[2])?])))
                    .collect();
                *splits = Some((id, merged, parts));
            }
            let (_, merged, parts) = splits.as_ref().expect("set");
            for (col, [y, m, d]) in parts {
                let num = |c: usize| lenient::typed(cells[c], ColumnType::Number, None, None);
                derived[*col] = match (num(*y), num(*m), num(*d)) {
                    (Some(y), Some(m), Some(d)) => Some(format!("{y}-{m:0>2}-{d:0>2}")),
                    _ => None,
                };
            }
            for (cell, to) in merged {
                let date = lenient::typed(cells[*cell], ColumnType::Date, None, None);
                let parts: Vec<&str> = date.as_deref().map_or(Vec::new(), |d| d.split('-').collect());
                for (k, col) in to.iter().enumerate() {
                    if let Some(col) = col {
                        derived[*col] = parts.get(k).map(|v| v.to_string());
                    }
                }
            }
            for ((seen, cell), d) in present.iter_mut().zip(at).zip(derived.iter()) {
                *seen |= cell.is_some() || d.is_some();
            }
            let cell = |i: usize| at[i].map(|c| cells[c]).or(derived[i].as_deref());
            encoder.encode(cell);
            for vi in 0..views.len() {
                let fp = encoder.fingerprint(vi, cell);
                if (exact[vi] || fp < limits[vi]) && owner[vi].contains(&fp) {
                    found[vi].insert(fp);
                }
            }
            Ok(())
        },
    )?;
    let mut found: Vec<HashSet<u64>> = vec![HashSet::new(); views.len()];
    let mut present = vec![false; schema.len()];
    let mut unread = vec![scheme::Unread::default(); schema.len()];
    for p in partials {
        for (all, mine) in unread.iter_mut().zip(p.encoder.unread()) {
            all.merge(mine);
        }
        for (all, mine) in found.iter_mut().zip(p.found) {
            all.extend(mine);
        }
        for (all, mine) in present.iter_mut().zip(p.present) {
            *all |= mine;
        }
    }
    let report_views = views
        .iter()
        .enumerate()
        .map(|(vi, view)| {
            let exact = exact[vi];
            let n = owner[vi].len() as u64;
            let k = found[vi].len() as u64;
            let estimate = if n == 0 { 0.0 } else { k as f64 / n as f64 };
            let (low, high) = if exact { (estimate, estimate) } else { wilson(k, n) };
            let distinct = manifest.views[vi].distinct_records;
            let missing: Vec<String> =
                view.columns.iter().filter(|&&i| read > 0 && !present[i]).map(|&i| schema[i].name.clone()).collect();
            let unread: Vec<UnreadColumn> = view
                .columns
                .iter()
                .filter(|&&i| unread[i].unread > 0)
                .map(|&i| UnreadColumn::new(&schema[i], &unread[i]))
                .collect();
            let mut caution = Vec::new();
            if !exact && n < MIN_SAMPLE {
                caution.push(format!(
                    "only {n} sampled records: the interval is wider than ±2 points (it needs {MIN_SAMPLE})"
                ));
            }
            if estimate < 0.05 && !missing.is_empty() {
                caution.push(format!("the suspect has no column {missing:?}: this view cannot match"));
            }
            if estimate < 0.05 && unread.iter().any(|u| u.share_unread > 0.1) {
                let cols: Vec<&str> =
                    unread.iter().filter(|u| u.share_unread > 0.1).map(|u| u.column.as_str()).collect();
                caution.push(format!(
                    "low, and the suspect's {cols:?} did not read as the registered types: this may be a false \
                     negative (see unread)"
                ));
            }
            ViewContainment {
                view: view.name.clone(),
                mode: if exact { "exact" } else { "sketch" },
                owner_sample: n,
                matched: k,
                estimate,
                low,
                high,
                records_found: if exact { k } else { (estimate * distinct as f64).round() as u64 },
                missing_columns: missing,
                unread,
                caution: (!caution.is_empty()).then(|| caution.join("; ")),
                matched_fingerprints: {
                    let mut v: Vec<u64> = found[vi].iter().copied().collect();
                    v.sort_unstable();
                    v
                },
            }
        })
        .collect();
    Ok(ContainmentReport {
        product: manifest.product.clone(),
        root: manifest.root.clone(),
        suspect_records: read,
        views: report_views,
    })
}

/// A record in canonical form: column → value (`None` for null).
pub type CanonicalRecord = BTreeMap<String, Option<String>>;

/// The discovery sketch of a suspect dataset's full rows (its own schema), to ask the registry which
/// registered products it contains.
pub fn discovery_sketch<R: Read>(
    input: impl Into<Input<R>>,
    format: Format,
    key: &Hash,
    scale: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<DiscoverySketch, FingerprintError> {
    let secrets = Secrets {
        sampling_key: *key,
        salt_key: *key,
        signer: NoteSigner::generate("suspect").map_err(|e| FingerprintError::Invalid(e.to_string()))?,
    };
    let opts = Options {
        format,
        product: String::new(),
        version: 0,
        views: Vec::new(),
        scale,
        keep_fingerprints: false,
        discovery_key: Some(*key),
    };
    let fp = fingerprint(input, &opts, &secrets, progress)?;
    Ok(fp.manifest.discovery.expect("requested"))
}

/// A proof that one record was in the committed data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordProof {
    pub v: String,
    /// The record in canonical form: column → value (`null` for none), every schema column.
    pub record: CanonicalRecord,
    pub salt: String,
    pub index: u64,
    pub leaves: u64,
    pub path: Vec<String>,
    /// The commitment root (hex) the path leads to.
    pub root: String,
}

impl RecordProof {
    /// Recompute the leaf from the record and its salt and follow the path to the root.
    pub fn verify(&self) -> Result<(), FingerprintError> {
        let scheme = Scheme::of_proof(&self.v)?;
        let salt: [u8; 16] = unhex(&self.salt)?;
        let leaf = scheme::proof_leaf(scheme, &self.record, &salt);
        let path = self.path.iter().map(|h| unhex::<32>(h)).collect::<Result<Vec<_>, _>>()?;
        let root: Hash = unhex(&self.root)?;
        if commitment::verify(&leaf, self.index, self.leaves, &path, &root) {
            Ok(())
        } else {
            Err(FingerprintError::Invalid(
                "the record is not in the committed data (the path does not lead to the root)".into(),
            ))
        }
    }
}

/// Prove that record number `record_number` (1-based, in file order) of `data` is in the commitment.
/// Re-reads the data to rebuild the sorted leaves; the data must produce the manifest's root.
pub fn prove_record<R: Read>(
    manifest: &Manifest,
    secrets: &Secrets,
    data: impl Into<Input<R>>,
    record_number: u64,
) -> Result<RecordProof, FingerprintError> {
    let (n, mut proven) =
        prove_where(manifest, secrets, data.into(), &[], |r, _, _| (r == record_number).then_some(()))?;
    match proven.pop() {
        Some(((), proof)) => Ok(proof),
        None => Err(FingerprintError::Invalid(format!("the data has {n} records; there is no record {record_number}"))),
    }
}

/// A suspect record's cells on a view's columns, as written in the suspect file, by canonical column name
/// (`None`: the suspect has no such column).
pub type SuspectCells = BTreeMap<String, Option<String>>;

/// Registered records whose fingerprint on a view is among that view's targets, proven: at most `limit`
/// per view, each record once (for the first view, in the order given, that chooses it) and each
/// fingerprint once. Returns (index into `targets`, fingerprint, proof), in file order.
pub(crate) fn prove_matching<R: Read>(
    manifest: &Manifest,
    secrets: &Secrets,
    data: Input<R>,
    targets: &[(String, HashSet<u64>)],
    limit: usize,
) -> Result<Vec<(usize, u64, RecordProof)>, FingerprintError> {
    let views = manifest_views(manifest, targets.iter().map(|(v, _)| v.as_str()))?;
    let mut seen: Vec<HashSet<u64>> = vec![HashSet::new(); targets.len()];
    let (_, proven) = prove_where(manifest, secrets, data, &views, |_, _, fps| {
        for (ti, (fp, (_, wanted))) in fps.iter().zip(targets).enumerate() {
            if seen[ti].len() >= limit || wanted.is_empty() {
                continue;
            }
            let fp = *fp;
            if wanted.contains(&fp) && seen[ti].insert(fp) {
                return Some((ti, fp));
            }
        }
        None
    })?;
    Ok(proven.into_iter().map(|((ti, fp), proof)| (ti, fp, proof)).collect())
}

/// The first suspect record with each wanted fingerprint on its view: (index into `wanted`, fingerprint,
/// record number (1-based, file order), the record's cells on the view's columns as written).
pub(crate) fn find_in_suspect<R: Read>(
    manifest: &Manifest,
    secrets: &Secrets,
    suspect: Input<R>,
    format: Format,
    tuning: &Tuning,
    wanted: &[(String, HashSet<u64>)],
) -> Result<Vec<(usize, u64, u64, SuspectCells)>, FingerprintError> {
    let schema = &manifest.schema;
    let views = manifest_views(manifest, wanted.iter().map(|(v, _)| v.as_str()))?;
    let mut left: Vec<HashSet<u64>> = wanted.iter().map(|(_, fps)| fps.clone()).collect();
    let mut records = reader::Records::open(suspect, format, tuning.encoding)?;
    let mut mapper = Mapper::new(schema);
    mapper.rename = tuning.columns.clone();
    let scheme = Scheme::of_manifest(&manifest.v)?;
    let mut encoder =
        Encoder::new(schema, &views, scheme, &secrets.sampling_key, &secrets.salt_key).reading_suspect(tuning.zone);
    let mut out = Vec::new();
    let mut n = 0u64;
    while left.iter().any(|l| !l.is_empty()) {
        let Some(rec) = records.next_record()? else { break };
        n += 1;
        let values = mapper.values(rec.names, rec.same_names, &rec.values)?;
        encoder.encode(|i| values[i]);
        for (wi, view) in views.iter().enumerate() {
            if left[wi].is_empty() {
                continue;
            }
            let fp = encoder.fingerprint(wi, |i| values[i]);
            if left[wi].remove(&fp) {
                let cells = view.columns.iter().map(|&i| (schema[i].name.clone(), values[i].map(str::to_string)));
                out.push((wi, fp, n, cells.collect()));
            }
        }
    }
    Ok(out)
}

/// Whether a suspect record's cells, as written, equal a registered record (canonical, as a record proof
/// reveals it) on one of the manifest's views: the comparison the keyed fingerprints made, redone in the
/// open so that anyone can check it without the owner's keys.
pub fn agree_on_view(manifest: &Manifest, view: &str, record: &CanonicalRecord, suspect: &SuspectCells) -> bool {
    agree_on_view_in(manifest, view, record, suspect, None)
}

/// [`agree_on_view`], the suspect's times without a zone read in `zone` (as the measurement declared).
pub fn agree_on_view_in(
    manifest: &Manifest,
    view: &str,
    record: &CanonicalRecord,
    suspect: &SuspectCells,
    zone: Option<lenient::Zone>,
) -> bool {
    let Ok(mut views) = manifest_views(manifest, [view]) else { return false };
    let view = views.remove(0);
    let schema = &manifest.schema;
    let columns: Vec<&str> = view.columns.iter().map(|&i| schema[i].name.as_str()).collect();
    if !suspect.keys().map(String::as_str).eq(columns.iter().copied()) {
        return false;
    }
    fn bytes<'a>(
        schema: &[SchemaColumn],
        view: &View,
        cells: &'a BTreeMap<String, Option<String>>,
        suspect: Option<Option<lenient::Zone>>,
    ) -> Vec<u8> {
        let values: Vec<Option<&'a str>> =
            schema.iter().map(|c| cells.get(&c.name).and_then(|v| v.as_deref())).collect();
        let mut out = Vec::new();
        view_bytes(schema, &values, view, suspect, &mut out);
        out
    }
    // A canonical value canonicalises to itself, so the registered record's bytes are what they were
    // when its fingerprint was made; the suspect's cells are read as the measurement read them.
    bytes(schema, &view, record, None) == bytes(schema, &view, suspect, Some(zone))
}

/// The manifest's views of these names, compiled.
fn manifest_views<'n>(
    manifest: &Manifest,
    names: impl IntoIterator<Item = &'n str>,
) -> Result<Vec<View>, FingerprintError> {
    let specs = names
        .into_iter()
        .map(|name| {
            manifest
                .views
                .iter()
                .find(|v| v.name == name)
                .map(ViewManifest::spec)
                .ok_or_else(|| FingerprintError::Invalid(format!("the manifest declares no view {name:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    compile_views(&manifest.schema, &specs)
}

/// One pass over the registered data: the proofs of the records `pick` chooses (given the record number,
/// 1-based, and its cells at the schema's positions), with what `pick` returned, and the number of records.
/// Rebuilds the sorted leaves; the data must produce the manifest's root.
fn prove_where<R: Read, T>(
    manifest: &Manifest,
    secrets: &Secrets,
    data: Input<R>,
    views: &[View],
    mut pick: impl FnMut(u64, &[Option<&str>], &[u64]) -> Option<T>,
) -> Result<(u64, Vec<(T, RecordProof)>), FingerprintError> {
    let schema = &manifest.schema;
    let scheme = Scheme::of_manifest(&manifest.v)?;
    let mut encoder = Encoder::new(schema, views, scheme, &secrets.sampling_key, &secrets.salt_key);
    let mut records = reader::Records::new(data, manifest.format)?;
    let mut leaves = Vec::new();
    let mut fps = vec![0u64; views.len()];
    let mut chosen: Vec<(T, Hash, [u8; 16], CanonicalRecord)> = Vec::new();
    let mut n = 0u64;
    let mut mapper = Mapper::new(schema);
    while let Some(rec) = records.next_record()? {
        n += 1;
        let values = mapper.values(rec.names, rec.same_names, &rec.values)?;
        encoder.encode(|i| values[i]);
        for (vi, fp) in fps.iter_mut().enumerate() {
            *fp = encoder.fingerprint(vi, |i| values[i]);
        }
        let (leaf, salt) = encoder.leaf();
        leaves.push(leaf);
        if let Some(tag) = pick(n, &values, &fps) {
            let record = schema
                .iter()
                .zip(&values)
                .map(|(c, v)| (c.name.clone(), v.and_then(|raw| canon::value(raw, c.ty, None))))
                .collect();
            chosen.push((tag, leaf, salt, record));
        }
    }
    leaves.sort_unstable();
    leaves.dedup();
    let root = commitment::root(&leaves);
    if hex(&root) != manifest.root {
        return Err(FingerprintError::Invalid(
            "this data does not produce the manifest's root: it is not the registered version".into(),
        ));
    }
    let proofs = chosen
        .into_iter()
        .map(|(tag, leaf, salt, record)| {
            let index = leaves.binary_search(&leaf).expect("the leaf is among the leaves");
            let proof = RecordProof {
                v: scheme.proof_version().into(),
                record,
                salt: hex(&salt),
                index: index as u64,
                leaves: leaves.len() as u64,
                path: commitment::path(&leaves, index).iter().map(|h| hex(h)).collect(),
                root: hex(&root),
            };
            (tag, proof)
        })
        .collect();
    Ok((n, proofs))
}
