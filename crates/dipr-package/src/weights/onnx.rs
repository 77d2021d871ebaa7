//! The initializers of an ONNX model (ModelProto → GraphProto → TensorProto), read straight from the
//! protobuf wire format: five fields of three messages do not warrant a protobuf code generator, and the
//! raw data of large tensors is borrowed rather than copied.
//!
//! Only the main graph's initializers are read, where exporters put the weights: tensors held in Constant
//! nodes or in the subgraphs of control-flow nodes are not.

use std::borrow::Cow;

use super::tensor::{checked, DType, Tensor};

/// A field's value as the wire format carries it.
enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

struct Fields<'a> {
    buf: &'a [u8],
}

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for (i, &byte) in self.buf.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.buf = &self.buf[i + 1..];
                return Ok(value);
            }
        }
        Err("malformed protobuf: truncated or overlong varint".to_owned())
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        match usize::try_from(n) {
            Ok(n) if n <= self.buf.len() => {
                let (head, rest) = self.buf.split_at(n);
                self.buf = rest;
                Ok(head)
            }
            _ => Err("malformed protobuf: truncated (the file is cut short or is not ONNX)".to_owned()),
        }
    }

    fn next(&mut self) -> Result<Option<(u64, Value<'a>)>, String> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let value = match tag & 7 {
            0 => Value::Varint(self.varint()?),
            1 => Value::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes"))),
            2 => {
                let len = self.varint()?;
                Value::Bytes(self.take(len)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes"))),
            wire => return Err(format!("malformed protobuf: wire type {wire} (not ONNX?)")),
        };
        Ok(Some((tag >> 3, value)))
    }
}

fn fields(buf: &[u8]) -> Fields<'_> {
    Fields { buf }
}

/// Appends the elements of a repeated varint field, packed or not.
fn varints(value: Value, out: &mut Vec<u64>) -> Result<(), String> {
    match value {
        Value::Varint(v) => out.push(v),
        Value::Bytes(packed) => {
            let mut packed = fields(packed);
            while !packed.buf.is_empty() {
                out.push(packed.varint()?);
            }
        }
        _ => return Err("malformed protobuf: wrong wire type for an integer field".to_owned()),
    }
    Ok(())
}

/// Appends the little-endian bytes of a repeated fixed-width field (float or double), packed or not.
fn fixed(value: Value, width: usize, out: &mut Vec<u8>) -> Result<(), String> {
    match value {
        Value::Fixed32(v) if width == 4 => out.extend_from_slice(&v.to_le_bytes()),
        Value::Fixed64(v) if width == 8 => out.extend_from_slice(&v.to_le_bytes()),
        Value::Bytes(packed) if packed.len().is_multiple_of(width) => out.extend_from_slice(packed),
        _ => return Err("malformed protobuf: wrong wire type or length for a float field".to_owned()),
    }
    Ok(())
}

/// TensorProto.DataType.
fn dtype(code: u64) -> Result<DType, String> {
    Ok(match code {
        1 => DType::F32,
        2 => DType::U8,
        3 => DType::I8,
        4 => DType::U16,
        5 => DType::I16,
        6 => DType::I32,
        7 => DType::I64,
        8 => return Err("string tensors are not weights and are not read".to_owned()),
        9 => DType::Bool,
        10 => DType::F16,
        11 => DType::F64,
        12 => DType::U32,
        13 => DType::U64,
        14 => DType::C64,
        15 => DType::C128,
        16 => DType::Bf16,
        17 => DType::F8E4m3fn,
        18 => DType::F8E4m3fnuz,
        19 => DType::F8E5m2,
        20 => DType::F8E5m2fnuz,
        21 => DType::U4,
        22 => DType::I4,
        23 => DType::F4E2m1,
        24 => DType::F8E8m0,
        0 => return Err("data_type is missing (UNDEFINED)".to_owned()),
        other => return Err(format!("unknown ONNX data_type {other}")),
    })
}

/// The repeated fields that hold a tensor's elements when raw_data does not.
#[derive(Default)]
struct Typed {
    float_data: Vec<u8>,
    double_data: Vec<u8>,
    int32_data: Vec<u64>,
    int64_data: Vec<u64>,
    uint64_data: Vec<u64>,
}

impl Typed {
    /// The canonical bytes of the field that ONNX uses for `dtype`.
    fn into_bytes(self, dtype: DType) -> Vec<u8> {
        // int32_data carries one element of a narrower type each (a byte of two 4-bit elements), as the
        // low bits of the varint: the bit pattern for f16, bf16 and f8.
        let narrow = |width: usize| -> Vec<u8> {
            self.int32_data.iter().flat_map(|v| v.to_le_bytes().into_iter().take(width)).collect()
        };
        let wide = |values: &[u64]| -> Vec<u8> { values.iter().flat_map(|v| v.to_le_bytes()).collect() };
        match dtype {
            DType::F32 | DType::C64 => self.float_data,
            DType::F64 | DType::C128 => self.double_data,
            DType::I64 => wide(&self.int64_data),
            DType::U64 => wide(&self.uint64_data),
            DType::U32 => self.uint64_data.iter().flat_map(|&v| (v as u32).to_le_bytes()).collect(),
            DType::I32 => narrow(4),
            DType::U16 | DType::I16 | DType::F16 | DType::Bf16 => narrow(2),
            DType::Bool | DType::U8 | DType::I8 | DType::U4 | DType::I4 | DType::F4E2m1 => narrow(1),
            DType::F8E4m3fn | DType::F8E4m3fnuz | DType::F8E5m2 | DType::F8E5m2fnuz | DType::F8E8m0 => narrow(1),
            DType::F6E2m3 | DType::F6E3m2 => Vec::new(),
        }
    }
}

fn tensor(buf: &[u8]) -> Result<Tensor<'_>, String> {
    let mut name = String::new();
    let mut dims = Vec::new();
    let mut data_type = 0;
    let mut raw_data = None;
    let mut typed = Typed::default();
    let mut external = false;
    let mut fields = fields(buf);
    while let Some((field, value)) = fields.next()? {
        match (field, value) {
            (1, value) => varints(value, &mut dims)?,
            (2, Value::Varint(v)) => data_type = v,
            (3, _) => return Err(format!("tensor {name}: segmented tensors are not supported")),
            (4, value) => fixed(value, 4, &mut typed.float_data)?,
            (5, value) => varints(value, &mut typed.int32_data)?,
            (7, value) => varints(value, &mut typed.int64_data)?,
            (8, Value::Bytes(b)) => name = String::from_utf8_lossy(b).into_owned(),
            (9, Value::Bytes(b)) => raw_data = Some(b),
            (10, value) => fixed(value, 8, &mut typed.double_data)?,
            (11, value) => varints(value, &mut typed.uint64_data)?,
            (13, _) => external = true,
            (14, Value::Varint(location)) => external |= location == 1,
            _ => {}
        }
    }
    if external {
        return Err(format!(
            "tensor {name}: its data is stored outside the .onnx file (external data); save the model with \
             its weights inside (onnx.save_model(model, path, save_as_external_data=False)) or convert it to \
             safetensors"
        ));
    }
    let dtype = dtype(data_type).map_err(|e| format!("tensor {name}: {e}"))?;
    let shape = dims
        .into_iter()
        .map(|d| i64::try_from(d).map(|d| d as u64).map_err(|_| format!("tensor {name}: negative dimension")))
        .collect::<Result<Vec<u64>, String>>()?;
    let data = match raw_data {
        Some(raw) => Cow::Borrowed(raw),
        None => Cow::Owned(typed.into_bytes(dtype)),
    };
    checked(name, dtype, shape, data)
}

/// The initializers of the model's main graph, in the order the graph lists them.
pub(super) fn read(bytes: &[u8]) -> Result<Vec<Tensor<'_>>, String> {
    let mut ir_version = None;
    let mut tensors = Vec::new();
    let mut has_graph = false;
    let mut model = fields(bytes);
    while let Some((field, value)) = model.next()? {
        match (field, value) {
            (1, Value::Varint(v)) => ir_version = Some(v),
            (7, Value::Bytes(graph)) => {
                has_graph = true;
                let mut graph = fields(graph);
                while let Some((field, value)) = graph.next()? {
                    match (field, value) {
                        (5, Value::Bytes(t)) => tensors.push(tensor(t)?),
                        (15, _) => return Err("sparse initializers are not supported".to_owned()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if ir_version.is_none() || !has_graph {
        return Err("not an ONNX model (no ir_version or no graph)".to_owned());
    }
    Ok(tensors)
}
