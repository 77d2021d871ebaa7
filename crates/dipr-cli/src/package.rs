//! Reading an algorithm package for `dipr fingerprint`, `dipr prove-record` and `dipr contain`: a
//! directory, an archive, a model file, or a git commit of a work tree (through `git archive`, so the
//! package is exactly what the commit holds).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use dipr_fingerprint::package::ReadPackage;
use dipr_fingerprint::FingerprintError;
use dipr_package::source::{read_tar, Source};
use dipr_package::PackageError;

/// Whether `data` is read as a package rather than as a table.
pub fn is_package(data: &Path, format: Option<&str>, git_rev: bool) -> bool {
    match format {
        Some(f) => f == "package",
        None => git_rev || !matches!(Source::detect(data), Source::File(_)) || is_model_file(data),
    }
}

fn is_model_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
    name.ends_with(".safetensors") || name.ends_with(".onnx")
}

/// Run `f` over the package at `data` (at `git_rev` of the work tree, if given).
pub fn with_package<T>(
    data: &Path,
    git_rev: Option<&str>,
    f: &mut dyn FnMut(&mut ReadPackage<'_>) -> Result<T, FingerprintError>,
) -> Result<T> {
    if !data.exists() {
        bail!("{} does not exist", data.display());
    }
    let out = match git_rev {
        None => {
            let source = Source::detect(data);
            f(&mut |each| source.read(each))
        }
        Some(rev) => f(&mut |each| git_archive(data, rev, each)),
    };
    out.with_context(|| format!("reading the package {}", data.display()))
}

/// The files of commit `rev` of the git work tree at `dir`.
fn git_archive(
    dir: &Path,
    rev: &str,
    each: &mut dyn FnMut(dipr_package::source::PackageFile) -> Result<(), PackageError>,
) -> Result<u64, PackageError> {
    if rev.starts_with('-') {
        return Err(PackageError::Invalid(format!("--git-rev {rev:?} is not a revision")));
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["archive", "--format=tar", rev, "--"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| PackageError::Invalid(format!("running git (is it installed?): {e}")))?;
    let n = read_tar(child.stdout.take().expect("piped"), each);
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(PackageError::Invalid(format!(
            "git archive {rev} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    n
}
