//! Tensors of model weights as evidence. A tensor is its dtype, shape and little-endian element bytes,
//! whatever it is named and whichever file format or shard holds it: the registry keeps keyed hashes of
//! those, and a fine-tuned derivative, whose bytes differ, is compared layer by layer on the owner's
//! machine ([`comparison`]).
//!
//! Safetensors and ONNX files are read; PyTorch pickles are refused, since loading one can run code.

pub mod comparison;
mod onnx;
mod safetensors;
mod tensor;

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{Key, PackageError};

pub use tensor::{tensor_hash, DType, Tensor};

/// A matrix with its rows and columns swapped (exporters such as PyTorch's to ONNX store linear layers
/// transposed); `None` for anything but a 2-D tensor of whole-byte elements.
pub fn transposed(t: &Tensor) -> Option<Tensor<'static>> {
    let [rows, cols] = t.shape[..] else { return None };
    if !t.dtype.bits().is_multiple_of(8) {
        return None;
    }
    let size = (t.dtype.bits() / 8) as usize;
    let (rows, cols) = (rows as usize, cols as usize);
    let mut out = vec![0u8; t.data.len()];
    for r in 0..rows {
        for c in 0..cols {
            let from = (r * cols + c) * size;
            let to = (c * rows + r) * size;
            out[to..to + size].copy_from_slice(&t.data[from..from + size]);
        }
    }
    Some(Tensor { name: t.name.clone(), dtype: t.dtype, shape: vec![cols as u64, rows as u64], data: Cow::Owned(out) })
}

fn extension(name: &str) -> Option<String> {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    file.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase())
}

/// Whether a file holds weights that [`read_tensors`] reads (safetensors, shards included, and ONNX).
pub fn is_weights_file(name: &str) -> bool {
    matches!(extension(name).as_deref(), Some("safetensors" | "onnx"))
}

const PICKLE_REFUSED: &str = "PyTorch pickle files are refused: loading one can run arbitrary code, so it is never \
     unpickled. Convert the model to safetensors (e.g. `safetensors.torch.save_file(torch.load(path, \
     weights_only=True), \"model.safetensors\")`, or `save_pretrained(dir, safe_serialization=True)`) and register \
     the .safetensors file instead";

/// Why a file is refused as weights, if it is: PyTorch pickles by name (`.pt`, `.pth`, `.ckpt`, `.pkl`,
/// `.pickle`), and `.bin` files whose first bytes (`head`, eight are enough) are a zip or a pickle.
pub fn refused(name: &str, head: &[u8]) -> Option<&'static str> {
    match extension(name).as_deref() {
        Some("pt" | "pth" | "ckpt" | "pkl" | "pickle") => Some(PICKLE_REFUSED),
        // torch.save writes a zip since PyTorch 1.6, a bare pickle (protocol 2 and up) before.
        Some("bin") if head.starts_with(b"PK\x03\x04") || matches!(head, [0x80, 2..=5, ..]) => Some(PICKLE_REFUSED),
        _ => None,
    }
}

/// The tensors of one weights file (one shard of a sharded model), in the order the file holds them.
pub fn read_tensors<'a>(file_name: &str, bytes: &'a [u8]) -> Result<Vec<Tensor<'a>>, PackageError> {
    if let Some(why) = refused(file_name, bytes) {
        return Err(PackageError::Invalid(format!("{file_name}: {why}")));
    }
    let read = match extension(file_name).as_deref() {
        Some("safetensors") => safetensors::read(bytes),
        Some("onnx") => onnx::read(bytes),
        _ => Err("not a weights file: .safetensors and .onnx files are read".to_owned()),
    };
    read.map_err(|e| PackageError::Invalid(format!("{file_name}: {e}")))
}

/// What a manifest carries of one tensor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorEntry {
    pub dtype: String,
    pub shape: Vec<u64>,
    /// [`tensor_hash`] in lowercase hex.
    pub hash: String,
    pub bytes: u64,
}

/// The entries of a model's tensors, sorted by hash so that neither names nor order show through.
pub fn entries(key: &Key, tensors: &[Tensor]) -> Vec<TensorEntry> {
    let mut entries = entries_in_order(key, tensors);
    entries.sort_by(|a, b| a.hash.cmp(&b.hash));
    entries
}

/// The entries of `tensors`, in their order (for the owner, who may pair each with its tensor).
pub fn entries_in_order(key: &Key, tensors: &[Tensor]) -> Vec<TensorEntry> {
    tensors
        .iter()
        .map(|t| TensorEntry {
            dtype: t.dtype.name().to_owned(),
            shape: t.shape.clone(),
            hash: blake3::Hash::from_bytes(tensor_hash(key, t)).to_hex().to_string(),
            bytes: t.data.len() as u64,
        })
        .collect()
}

/// How much of a registered model a suspect holds unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExactMatch {
    /// Registered tensors, and how many of them the suspect holds.
    pub tensors: u64,
    pub matched: u64,
    /// Their bytes.
    pub bytes: u64,
    pub matched_bytes: u64,
}

/// Registered tensors found in the suspect, each suspect tensor matching at most one registered (a model
/// with ten identical tensors matches ten only if the suspect holds ten).
pub fn match_exact(registered: &[TensorEntry], suspect: &[TensorEntry]) -> ExactMatch {
    let mut available: HashMap<&str, u64> = HashMap::new();
    for entry in suspect {
        *available.entry(entry.hash.as_str()).or_default() += 1;
    }
    let mut result = ExactMatch::default();
    for entry in registered {
        result.tensors += 1;
        result.bytes += entry.bytes;
        if let Some(left @ 1..) = available.get_mut(entry.hash.as_str()) {
            *left -= 1;
            result.matched += 1;
            result.matched_bytes += entry.bytes;
        }
    }
    result
}
