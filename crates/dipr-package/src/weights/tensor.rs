//! A tensor as every reader gives it, and its keyed hash: one element type name, one shape, one byte
//! order, whatever file it came from.

use std::borrow::Cow;

use crate::Key;

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

/// How many bytes `shape` elements of `dtype` take, or `None` if that overflows.
fn data_len(dtype: DType, shape: &[u64]) -> Option<u64> {
    let elements = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d))?;
    Some(elements.checked_mul(dtype.bits())?.div_ceil(8))
}

/// Checks that a tensor's bytes are as many as its dtype and shape say.
pub(super) fn checked<'a>(
    name: String,
    dtype: DType,
    shape: Vec<u64>,
    data: Cow<'a, [u8]>,
) -> Result<Tensor<'a>, String> {
    let expected = data_len(dtype, &shape).ok_or_else(|| format!("tensor {name}: shape {shape:?} is too large"))?;
    if data.len() as u64 != expected {
        return Err(format!("tensor {name}: {} bytes of data where {dtype} {shape:?} takes {expected}", data.len()));
    }
    Ok(Tensor { name, dtype, shape, data })
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
