//! Algorithm packages (source code, pipelines, models) fingerprinted like datasets: a package is the
//! table of its canonical files — one record `{path, content, bytes}` per file, `content` the BLAKE3 of
//! the file's canonical bytes — so the salted commitment, the signed manifest, record proofs, filing and
//! certificates are the dataset ones. A file proof is a record proof whose `content` a verifier
//! recomputes from the file. The manifest's `package` section adds what matching needs: files and bytes
//! per language, a keyed sample of the code's winnowing fingerprints and the keyed hash of every tensor.

use std::collections::BTreeMap;

use dipr_package::source::PackageFile;
use dipr_package::PackageError;
use serde::{Deserialize, Serialize};

use crate::{
    discovery_key_id, fingerprint_with, prove_where, DiscoverySketch, FingerprintError, Format, Input, Manifest,
    Options, RecordProof, Secrets, Tuning, ViewSpec,
};

/// One scale for every package's discovery sketch, so any two can be compared: one winnowed code
/// fingerprint in 8; every tensor and every other file is kept.
pub const PACKAGE_DISCOVERY_SCALE: u64 = 8;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageCount {
    pub files: u64,
    pub bytes: u64,
}

/// What a package manifest adds to a dataset's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSummary {
    pub files: u64,
    /// Canonical bytes over every file.
    pub bytes: u64,
    pub text_files: u64,
    /// Source files and their bytes per language (see `dipr_package::language`).
    pub languages: BTreeMap<String, LanguageCount>,
}

impl From<PackageError> for FingerprintError {
    fn from(e: PackageError) -> Self {
        match e {
            PackageError::Invalid(m) => FingerprintError::Invalid(m),
            PackageError::Io(e) => FingerprintError::Io(e),
        }
    }
}

/// A package's files, as `read` gives them (e.g. `|each| source.read(each)`).
pub type ReadPackage<'a> =
    dyn FnMut(&mut dyn FnMut(PackageFile) -> Result<(), PackageError>) -> Result<u64, PackageError> + 'a;

pub struct PackageOptions {
    pub product: String,
    pub version: u32,
    /// The largest FracMinHash scale of the files' sketch.
    pub scale: u64,
    /// The registry's discovery key (needed to file the manifest).
    pub discovery_key: Option<[u8; 32]>,
}

/// One item of a package's discovery sketch, under the registry's discovery key.
fn discovery_item(key: &[u8; 32], domain: &[u8], bytes: &[u8]) -> u64 {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(domain);
    h.update(bytes);
    u64::from_be_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"))
}

/// What reading a package gives: the file table as JSON Lines (path order), the summary and the
/// discovery sketch's values (when a discovery key was given).
struct Read {
    table: Vec<u8>,
    summary: PackageSummary,
    discovery: Vec<u64>,
}

fn file_table(read: &mut ReadPackage<'_>) -> Result<(Vec<u8>, PackageSummary), FingerprintError> {
    let r = read_package(read, None)?;
    Ok((r.table, r.summary))
}

fn read_package(read: &mut ReadPackage<'_>, discovery_key: Option<&[u8; 32]>) -> Result<Read, FingerprintError> {
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut summary = PackageSummary::default();
    let mut discovery = Vec::new();
    read(&mut |f: PackageFile| {
        if let Some(key) = discovery_key {
            discovery.push(discovery_item(key, b"dipr package file/1\0", &f.content));
        }
        let bytes = f.content.len() as u64;
        summary.files += 1;
        summary.bytes += bytes;
        summary.text_files += u64::from(f.text);
        if let Some(lang) = dipr_package::language::Language::of_path(&f.path).filter(|_| f.text) {
            let c = summary.languages.entry(lang.as_str().to_string()).or_default();
            c.files += 1;
            c.bytes += bytes;
        }
        let row = serde_json::json!({"path": f.path, "content": f.content_hash(), "bytes": bytes});
        rows.push((f.path, row.to_string()));
        Ok(())
    })?;
    if rows.is_empty() {
        return Err(FingerprintError::Invalid("the package has no files".into()));
    }
    rows.sort();
    let mut table = Vec::new();
    for (_, r) in rows {
        table.extend_from_slice(r.as_bytes());
        table.push(b'\n');
    }
    discovery.sort_unstable();
    discovery.dedup();
    Ok(Read { table, summary, discovery })
}

/// Fingerprint a package: its files' commitment and sketch, signed.
pub fn fingerprint_package(
    read: &mut ReadPackage<'_>,
    opts: &PackageOptions,
    tuning: &Tuning,
    secrets: &Secrets,
) -> Result<Manifest, FingerprintError> {
    let Read { table, summary, discovery } = read_package(read, opts.discovery_key.as_ref())?;
    let files = Options {
        format: Format::Package,
        product: opts.product.clone(),
        version: opts.version,
        views: vec![ViewSpec::full()],
        scale: opts.scale,
        keep_fingerprints: false,
        discovery_key: None,
    };
    let mut manifest = fingerprint_with(Input::Stream(&table[..]), &files, tuning, secrets, &mut |_| {})?.manifest;
    manifest.package = Some(summary);
    manifest.discovery = opts.discovery_key.map(|k| DiscoverySketch {
        key_id: discovery_key_id(&k),
        scale: PACKAGE_DISCOVERY_SCALE,
        sketch: discovery.iter().map(|h| format!("{h:016x}")).collect(),
    });
    manifest.sign(&secrets.signer);
    Ok(manifest)
}

/// Prove that the file at `path` is in a package's commitment: the package is read again and must give
/// the manifest's root.
pub fn prove_file(
    manifest: &Manifest,
    secrets: &Secrets,
    read: &mut ReadPackage<'_>,
    path: &str,
) -> Result<RecordProof, FingerprintError> {
    if manifest.format != Format::Package {
        return Err(FingerprintError::Invalid("this manifest is a dataset's, not a package's".into()));
    }
    let path = dipr_package::source::normalise_path(path)?;
    let at = manifest
        .schema
        .iter()
        .position(|c| c.name == "path")
        .ok_or_else(|| FingerprintError::Invalid("the manifest's schema has no path column".into()))?;
    let (table, _) = file_table(read)?;
    let (_, mut proven) = prove_where(manifest, secrets, Input::Stream(&table[..]), &[], |_, values, _| {
        (values[at] == Some(&path)).then_some(())
    })?;
    match proven.pop() {
        Some(((), proof)) => Ok(proof),
        None => Err(FingerprintError::Invalid(format!("the package has no file {path:?}"))),
    }
}

/// Check a file proof and that `file` (its bytes as they are now) is the file it proves.
pub fn verify_file(proof: &RecordProof, file: &[u8]) -> Result<(), FingerprintError> {
    proof.verify()?;
    let claimed = proof.record.get("content").cloned().flatten().unwrap_or_default();
    let (canonical, _) = dipr_package::source::canonical_content(file.to_vec());
    if dipr_package::source::content_hash(&canonical) != claimed {
        return Err(FingerprintError::Invalid(
            "the file is not the committed one: its content differs from what the proof states".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dipr_package::source::Source;

    fn pkg(dir: &std::path::Path, files: &[(&str, &[u8])]) {
        for (p, b) in files {
            let p = dir.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b).unwrap();
        }
    }

    fn opts() -> PackageOptions {
        PackageOptions { product: "scheduler".into(), version: 1, scale: 256, discovery_key: None }
    }

    #[test]
    fn a_package_commits_its_files_and_proves_each_one() {
        let tmp = std::env::temp_dir().join(format!("dipr-fp-package-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        pkg(&tmp, &[("src/lib.rs", b"pub fn a() {}\r\n"), ("model.bin", &[0, 159, 146, 150]), ("README.md", b"# x\n")]);
        let secrets = Secrets::generate("owner").unwrap();
        let source = Source::Dir(tmp.clone());
        let m = fingerprint_package(&mut |each| source.read(each), &opts(), &Tuning::default(), &secrets).unwrap();
        m.verify().unwrap();
        assert_eq!(m.format, Format::Package);
        assert_eq!(m.distinct_records, 3);
        let s = m.package.as_ref().unwrap();
        assert_eq!((s.files, s.text_files), (3, 2));
        assert_eq!(s.languages["rust"], LanguageCount { files: 1, bytes: 14 });

        // The same package with other line endings commits to the same root.
        let again = std::env::temp_dir().join(format!("dipr-fp-package-lf-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&again);
        pkg(&again, &[("src/lib.rs", b"pub fn a() {}\n"), ("model.bin", &[0, 159, 146, 150]), ("README.md", b"# x\n")]);
        let m2 = fingerprint_package(
            &mut |each| Source::Dir(again.clone()).read(each),
            &opts(),
            &Tuning::default(),
            &secrets,
        )
        .unwrap();
        assert_eq!(m2.root, m.root);

        let proof = prove_file(&m, &secrets, &mut |each| source.read(each), "./src/lib.rs").unwrap();
        assert_eq!(proof.root, m.root);
        verify_file(&proof, b"pub fn a() {}\n").unwrap();
        verify_file(&proof, b"pub fn a() {}\r\n").unwrap();
        let err = verify_file(&proof, b"pub fn b() {}\n").unwrap_err();
        assert!(err.to_string().contains("not the committed one"), "{err}");
        let err = prove_file(&m, &secrets, &mut |each| source.read(each), "src/main.rs").unwrap_err();
        assert!(err.to_string().contains("no file"), "{err}");

        // A changed package no longer gives the manifest's root: no proof from it.
        std::fs::write(tmp.join("README.md"), "# y\n").unwrap();
        let err = prove_file(&m, &secrets, &mut |each| source.read(each), "src/lib.rs").unwrap_err();
        assert!(err.to_string().contains("not the registered version"), "{err}");
        std::fs::remove_dir_all(&tmp).unwrap();
        std::fs::remove_dir_all(&again).unwrap();
    }
}
