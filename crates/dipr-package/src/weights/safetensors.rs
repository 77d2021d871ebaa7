//! Safetensors files, a whole model or one shard of it: the tensors' bytes are borrowed as they are.

use std::borrow::Cow;

use safetensors::{Dtype, SafeTensors};

use super::tensor::{checked, DType, Tensor};

fn dtype(dtype: Dtype) -> Result<DType, String> {
    Ok(match dtype {
        Dtype::BOOL => DType::Bool,
        Dtype::U8 => DType::U8,
        Dtype::I8 => DType::I8,
        Dtype::U16 => DType::U16,
        Dtype::I16 => DType::I16,
        Dtype::U32 => DType::U32,
        Dtype::I32 => DType::I32,
        Dtype::U64 => DType::U64,
        Dtype::I64 => DType::I64,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::Bf16,
        Dtype::F32 => DType::F32,
        Dtype::F64 => DType::F64,
        Dtype::F8_E4M3 => DType::F8E4m3fn,
        Dtype::F8_E5M2 => DType::F8E5m2,
        Dtype::F8_E8M0 => DType::F8E8m0,
        Dtype::F4 => DType::F4E2m1,
        Dtype::F6_E2M3 => DType::F6E2m3,
        Dtype::F6_E3M2 => DType::F6E3m2,
        other => return Err(format!("unsupported safetensors dtype {other:?}")),
    })
}

pub(super) fn read(bytes: &[u8]) -> Result<Vec<Tensor<'_>>, String> {
    let invalid = |e| format!("not a valid safetensors file: {e}");
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(invalid)?;
    let file = SafeTensors::deserialize(bytes).map_err(invalid)?;
    metadata
        .offset_keys()
        .into_iter()
        .map(|name| {
            let view = file.tensor(&name).map_err(invalid)?;
            let dtype = dtype(view.dtype()).map_err(|e| format!("tensor {name}: {e}"))?;
            let shape = view.shape().iter().map(|&d| d as u64).collect();
            checked(name, dtype, shape, Cow::Borrowed(view.data()))
        })
        .collect()
}
