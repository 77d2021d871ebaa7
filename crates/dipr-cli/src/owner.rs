//! The data owner's local files: the secrets (created with mode 0600, refused when others can read them)
//! and the registry's discovery key as given on the command line. Used by `dipr fingerprint` for datasets
//! and packages alike.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use dipr_fingerprint::Secrets;

pub fn parse_key(hex: &str) -> Result<[u8; 32]> {
    let h = hex.trim();
    if h.len() != 64 {
        bail!("a discovery key is 64 hex digits");
    }
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).context("a discovery key is 64 hex digits")?;
    }
    Ok(k)
}

pub fn secrets_path(manifest: &Path, explicit: Option<&PathBuf>) -> PathBuf {
    explicit.cloned().unwrap_or_else(|| manifest.with_extension("secrets.json"))
}

pub fn write_private(path: &Path, text: &str) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

pub fn load_secrets(path: &Path) -> Result<Secrets> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.permissions().mode()
            & 0o777;
        if mode & 0o077 != 0 {
            bail!("{} has mode {mode:o}; it holds your fingerprint keys: chmod 600 it", path.display());
        }
    }
    Ok(Secrets::from_json(&std::fs::read_to_string(path)?)?)
}

/// The owner's secrets beside the manifest at `out`, created (mode 0600) on first use.
pub fn owner_secrets(out: &Path, explicit: Option<&PathBuf>) -> Result<Secrets> {
    let file = secrets_path(out, explicit);
    if file.exists() {
        return load_secrets(&file);
    }
    let s = Secrets::generate("dipr-data-owner")?;
    write_private(&file, &s.to_json())?;
    eprintln!("created secrets {} (mode 0600): keep it, back it up, never share it", file.display());
    Ok(s)
}
