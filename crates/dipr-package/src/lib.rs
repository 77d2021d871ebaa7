//! Algorithm packages (source code, pipelines, trained models) as evidence, read and compared on the
//! owner's machine: the registry never sees the code or the weights.
//!
//! - [`source`]: a directory, an archive or a git tree read into canonical files (normalised paths, text
//!   with LF line endings, binary files as bytes);
//! - [`language`]: what language a file is written in, from its name;
//! - [`code`]: keyed winnowing fingerprints of a normalised token stream, robust to layout, comments and
//!   renamed identifiers, and the containment of registered code in a suspect's;
//! - [`weights`]: tensors of safetensors and ONNX files, hashed by dtype, shape and bytes whatever their
//!   names or shards, and the layer-by-layer comparison of two models.

pub mod code;
pub mod language;
pub mod source;
pub mod weights;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A 32-byte key (the owner's sampling key, or the registry's discovery key).
pub type Key = [u8; 32];

/// Wilson score interval for `k` successes in `n` trials at 95%: how far a share measured on a sample
/// may be from the share over everything.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.959_963_984_540_054_f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let center = (p + z * z / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((center - half).max(0.0), (center + half).min(1.0))
}
