//! Tensors of model weights as evidence. A tensor is its dtype, shape and little-endian element bytes,
//! whatever it is named and whichever file format or shard holds it: the registry keeps keyed hashes of
//! those, and a fine-tuned derivative, whose bytes differ, is compared layer by layer on the owner's
//! machine ([`compare`]).
//!
//! Safetensors and ONNX files are read; PyTorch pickles are refused, since loading one can run code.

mod compare;
mod onnx;
mod safetensors;

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{Key, PackageError};

pub use compare::{compare, render_svg, render_table, ModelComparison, PairedBy, Summary, TensorPair, Unpaired};

/// The element type of a tensor, under one name whatever format it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Bool,
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F16,
    Bf16,
    F32,
    F64,
    /// Complex numbers of two f32 (real first).
    C64,
    /// Complex numbers of two f64 (real first).
    C128,
    F8E4m3fn,
    F8E4m3fnuz,
    F8E5m2,
    F8E5m2fnuz,
    F8E8m0,
    /// Two elements a byte (4-bit types are kept packed as the file holds them).
    F4E2m1,
    F6E2m3,
    F6E3m2,
    I4,
    U4,
}

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::U8 => "u8",
            Self::I8 => "i8",
            Self::U16 => "u16",
            Self::I16 => "i16",
            Self::U32 => "u32",
            Self::I32 => "i32",
            Self::U64 => "u64",
            Self::I64 => "i64",
            Self::F16 => "f16",
            Self::Bf16 => "bf16",
            Self::F32 => "f32",
            Self::F64 => "f64",
            Self::C64 => "c64",
            Self::C128 => "c128",
            Self::F8E4m3fn => "f8_e4m3fn",
            Self::F8E4m3fnuz => "f8_e4m3fnuz",
            Self::F8E5m2 => "f8_e5m2",
            Self::F8E5m2fnuz => "f8_e5m2fnuz",
            Self::F8E8m0 => "f8_e8m0",
            Self::F4E2m1 => "f4_e2m1",
            Self::F6E2m3 => "f6_e2m3",
            Self::F6E3m2 => "f6_e3m2",
            Self::I4 => "i4",
            Self::U4 => "u4",
        }
    }

    pub fn bits(self) -> u64 {
        match self {
            Self::F4E2m1 | Self::I4 | Self::U4 => 4,
            Self::F6E2m3 | Self::F6E3m2 => 6,
            Self::Bool | Self::U8 | Self::I8 => 8,
            Self::F8E4m3fn | Self::F8E4m3fnuz | Self::F8E5m2 | Self::F8E5m2fnuz | Self::F8E8m0 => 8,
            Self::U16 | Self::I16 | Self::F16 | Self::Bf16 => 16,
            Self::U32 | Self::I32 | Self::F32 => 32,
            Self::U64 | Self::I64 | Self::F64 | Self::C64 => 64,
            Self::C128 => 128,
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One tensor of a model: its bytes are borrowed from the file where the format stores them as they are.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor<'a> {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<u64>,
    /// Little-endian element bytes; sub-byte elements packed as the file holds them.
    pub data: Cow<'a, [u8]>,
}

impl Tensor<'_> {
    pub fn elements(&self) -> u64 {
        self.shape.iter().product()
    }
}

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

/// How many bytes `shape` elements of `dtype` take, or `None` if that overflows.
fn data_len(dtype: DType, shape: &[u64]) -> Option<u64> {
    let elements = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d))?;
    Some(elements.checked_mul(dtype.bits())?.div_ceil(8))
}

/// Checks that a tensor's bytes are as many as its dtype and shape say.
fn checked<'a>(name: String, dtype: DType, shape: Vec<u64>, data: Cow<'a, [u8]>) -> Result<Tensor<'a>, String> {
    let expected = data_len(dtype, &shape).ok_or_else(|| format!("tensor {name}: shape {shape:?} is too large"))?;
    if data.len() as u64 != expected {
        return Err(format!("tensor {name}: {} bytes of data where {dtype} {shape:?} takes {expected}", data.len()));
    }
    Ok(Tensor { name, dtype, shape, data })
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

const TENSOR_DOMAIN: &[u8] = b"dipr-tensor/1";

fn update_prefixed(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// Keyed BLAKE3 of a tensor's dtype, shape and bytes, each length-prefixed; the name is left out.
pub fn tensor_hash(key: &Key, tensor: &Tensor) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_keyed(key);
    update_prefixed(&mut hasher, TENSOR_DOMAIN);
    update_prefixed(&mut hasher, tensor.dtype.name().as_bytes());
    hasher.update(&(tensor.shape.len() as u64).to_le_bytes());
    for dim in &tensor.shape {
        hasher.update(&dim.to_le_bytes());
    }
    update_prefixed(&mut hasher, &tensor.data);
    *hasher.finalize().as_bytes()
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
