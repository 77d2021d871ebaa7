//! Two models the owner holds, compared tensor by tensor: which are unchanged, and how far the others
//! have moved (a fine-tune moves some layers a little and leaves others as they were).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

use serde::Serialize;

use super::tensor::{tensor_hash, DType, Tensor};

/// How a tensor of one model was paired with a tensor of the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PairedBy {
    /// The same dtype, shape and bytes.
    Exact,
    /// The same matrix transposed, as exporters of a linear layer to an ONNX MatMul write it.
    Transposed,
    /// The same name and shape.
    Name,
    /// The next unpaired tensor of the same dtype and shape, in file order.
    Shape,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorPair {
    pub name_a: String,
    pub name_b: String,
    pub dtype_a: String,
    pub dtype_b: String,
    pub shape: Vec<u64>,
    pub paired_by: PairedBy,
    /// The same values: the same bytes or, paired by transposition, the same matrix.
    pub identical: bool,
    /// The statistics are `None` where they are undefined (a zero tensor's cosine) or where the dtype is
    /// not decoded (f8, 4- and 6-bit, complex).
    pub cosine: Option<f64>,
    /// ‖a − b‖ / ‖a‖.
    pub relative_l2: Option<f64>,
    /// The share of elements exactly equal.
    pub equal_share: Option<f64>,
    pub max_abs_diff: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unpaired {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub tensors_a: u64,
    pub tensors_b: u64,
    pub pairs: u64,
    pub identical_pairs: u64,
    /// Elements of all the tensors of each model.
    pub parameters_a: u64,
    pub parameters_b: u64,
    pub identical_parameters: u64,
    /// `identical_parameters / parameters_a`.
    pub identical_share: Option<f64>,
    /// The cosine of the pairs that have one, weighted by their elements.
    pub mean_cosine: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelComparison {
    /// In the order of model A's tensors.
    pub pairs: Vec<TensorPair>,
    pub unpaired_a: Vec<Unpaired>,
    pub unpaired_b: Vec<Unpaired>,
    pub summary: Summary,
}

/// Whether `b` is the matrix `a` transposed; stops at the first element that differs.
fn is_transpose(a: &Tensor, b: &Tensor) -> bool {
    let (&[rows, cols], &[b_rows, b_cols]) = (a.shape.as_slice(), b.shape.as_slice()) else { return false };
    let Some(width) = element_bytes(a.dtype) else { return false };
    if a.dtype != b.dtype || (b_rows, b_cols) != (cols, rows) {
        return false;
    }
    let (rows, cols) = (rows as usize, cols as usize);
    (0..rows).all(|i| {
        (0..cols).all(|j| {
            let (x, y) = ((i * cols + j) * width, (j * rows + i) * width);
            a.data[x..x + width] == b.data[y..y + width]
        })
    })
}

/// Pairs the tensors of `a` with those of `b`: first the identical ones (preferring the same name among
/// several), then matrices transposed, then by name with the same shape, then by dtype and shape in file
/// order.
fn pair(a: &[Tensor], b: &[Tensor]) -> Vec<(usize, usize, PairedBy)> {
    // A fixed key: these hashes only pair tensors in memory.
    let hash = |t: &Tensor| tensor_hash(&[0; 32], t);
    let mut paired_a: Vec<Option<(usize, PairedBy)>> = vec![None; a.len()];
    let mut used_b = vec![false; b.len()];

    let mut by_hash: HashMap<[u8; 32], Vec<usize>> = HashMap::new();
    for (j, t) in b.iter().enumerate() {
        by_hash.entry(hash(t)).or_default().push(j);
    }
    for (i, t) in a.iter().enumerate() {
        let Some(candidates) = by_hash.get_mut(&hash(t)).filter(|c| !c.is_empty()) else { continue };
        let j = candidates.remove(candidates.iter().position(|&j| b[j].name == t.name).unwrap_or(0));
        used_b[j] = true;
        paired_a[i] = Some((j, PairedBy::Exact));
    }

    let mut by_transposed_shape: HashMap<(DType, [u64; 2]), Vec<usize>> = HashMap::new();
    for (j, t) in b.iter().enumerate().filter(|&(j, _)| !used_b[j]) {
        if let &[rows, cols] = t.shape.as_slice() {
            by_transposed_shape.entry((t.dtype, [cols, rows])).or_default().push(j);
        }
    }
    for (i, t) in a.iter().enumerate() {
        let (None, &[rows, cols]) = (paired_a[i], t.shape.as_slice()) else { continue };
        let Some(candidates) = by_transposed_shape.get_mut(&(t.dtype, [rows, cols])) else { continue };
        if let Some(k) = candidates.iter().position(|&j| is_transpose(t, &b[j])) {
            let j = candidates.remove(k);
            used_b[j] = true;
            paired_a[i] = Some((j, PairedBy::Transposed));
        }
    }

    let by_name: HashMap<&str, usize> =
        b.iter().enumerate().filter(|&(j, _)| !used_b[j]).map(|(j, t)| (t.name.as_str(), j)).collect();
    for (i, t) in a.iter().enumerate() {
        if paired_a[i].is_some() {
            continue;
        }
        if let Some(&j) = by_name.get(t.name.as_str()) {
            if !used_b[j] && b[j].shape == t.shape {
                used_b[j] = true;
                paired_a[i] = Some((j, PairedBy::Name));
            }
        }
    }

    let mut by_shape: HashMap<(DType, &[u64]), VecDeque<usize>> = HashMap::new();
    for (j, t) in b.iter().enumerate().filter(|&(j, _)| !used_b[j]) {
        by_shape.entry((t.dtype, t.shape.as_slice())).or_default().push_back(j);
    }
    for (i, t) in a.iter().enumerate() {
        if paired_a[i].is_none() {
            if let Some(j) = by_shape.get_mut(&(t.dtype, t.shape.as_slice())).and_then(VecDeque::pop_front) {
                paired_a[i] = Some((j, PairedBy::Shape));
            }
        }
    }
    paired_a.into_iter().enumerate().filter_map(|(i, p)| p.map(|(j, by)| (i, j, by))).collect()
}

/// Elements decoded at a time: the statistics stream through two buffers of this many values.
const BLOCK: usize = 4096;

/// Decodes whole elements of `dtype` into `out`; `None` for dtypes whose values are not decoded.
fn decode(dtype: DType, bytes: &[u8], out: &mut Vec<f64>) -> Option<()> {
    macro_rules! le {
        ($t:ty, $n:literal, $to:expr) => {
            out.extend(bytes.chunks_exact($n).map(|c| $to(<$t>::from_le_bytes(c.try_into().expect("element")))))
        };
    }
    match dtype {
        DType::Bool | DType::U8 => out.extend(bytes.iter().map(|&b| f64::from(b))),
        DType::I8 => out.extend(bytes.iter().map(|&b| f64::from(b as i8))),
        DType::U16 => le!(u16, 2, f64::from),
        DType::I16 => le!(i16, 2, f64::from),
        DType::U32 => le!(u32, 4, f64::from),
        DType::I32 => le!(i32, 4, f64::from),
        DType::U64 => le!(u64, 8, |v| v as f64),
        DType::I64 => le!(i64, 8, |v| v as f64),
        DType::F16 => le!(u16, 2, |v| half::f16::from_bits(v).to_f64()),
        DType::Bf16 => le!(u16, 2, |v| half::bf16::from_bits(v).to_f64()),
        DType::F32 => le!(f32, 4, f64::from),
        DType::F64 => le!(f64, 8, |v| v),
        _ => return None,
    }
    Some(())
}

fn element_bytes(dtype: DType) -> Option<usize> {
    let bits = dtype.bits();
    bits.is_multiple_of(8).then_some(bits as usize / 8)
}

#[derive(Default)]
struct Stats {
    dot: f64,
    norm_a: f64,
    norm_b: f64,
    norm_diff: f64,
    equal: u64,
    max_abs_diff: f64,
}

/// Streams both tensors block by block; `None` if either dtype is not decoded.
fn stats(a: &Tensor, b: &Tensor) -> Option<Stats> {
    let (width_a, width_b) = (element_bytes(a.dtype)?, element_bytes(b.dtype)?);
    let (mut xs, mut ys) = (Vec::with_capacity(BLOCK), Vec::with_capacity(BLOCK));
    let mut s = Stats::default();
    for (block_a, block_b) in a.data.chunks(BLOCK * width_a).zip(b.data.chunks(BLOCK * width_b)) {
        xs.clear();
        ys.clear();
        decode(a.dtype, block_a, &mut xs)?;
        decode(b.dtype, block_b, &mut ys)?;
        for (&x, &y) in xs.iter().zip(&ys) {
            let d = x - y;
            s.dot += x * y;
            s.norm_a += x * x;
            s.norm_b += y * y;
            s.norm_diff += d * d;
            s.equal += u64::from(x == y);
            s.max_abs_diff = s.max_abs_diff.max(d.abs());
        }
    }
    Some(s)
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn tensor_pair(a: &Tensor, b: &Tensor, paired_by: PairedBy) -> TensorPair {
    let identical = matches!(paired_by, PairedBy::Exact | PairedBy::Transposed);
    let mut pair = TensorPair {
        name_a: a.name.clone(),
        name_b: b.name.clone(),
        dtype_a: a.dtype.name().to_owned(),
        dtype_b: b.dtype.name().to_owned(),
        shape: a.shape.clone(),
        paired_by,
        identical,
        cosine: None,
        relative_l2: None,
        equal_share: None,
        max_abs_diff: None,
    };
    if identical {
        // Whatever the dtype, and without decoding a byte.
        (pair.cosine, pair.relative_l2, pair.equal_share, pair.max_abs_diff) =
            (Some(1.0), Some(0.0), Some(1.0), Some(0.0));
        return pair;
    }
    if let Some(s) = stats(a, b) {
        let elements = a.elements() as f64;
        pair.cosine = if s.norm_a == 0.0 && s.norm_b == 0.0 {
            Some(1.0)
        } else {
            finite(s.dot / (s.norm_a.sqrt() * s.norm_b.sqrt()))
        };
        pair.relative_l2 = if s.norm_diff == 0.0 { Some(0.0) } else { finite(s.norm_diff.sqrt() / s.norm_a.sqrt()) };
        pair.equal_share = (elements > 0.0).then(|| s.equal as f64 / elements);
        pair.max_abs_diff = finite(s.max_abs_diff);
    }
    pair
}

fn unpaired(t: &Tensor) -> Unpaired {
    Unpaired { name: t.name.clone(), dtype: t.dtype.name().to_owned(), shape: t.shape.clone() }
}

/// Compares model `a` (the registered one) with model `b`, each the tensors of all its files.
pub fn compare(a: &[Tensor], b: &[Tensor]) -> ModelComparison {
    let pairs_at = pair(a, b);
    let (mut in_a, mut in_b) = (vec![false; a.len()], vec![false; b.len()]);
    let mut pairs = Vec::with_capacity(pairs_at.len());
    let (mut identical_parameters, mut cosine_sum, mut cosine_weight) = (0u64, 0.0, 0.0);
    for (i, j, by) in pairs_at {
        in_a[i] = true;
        in_b[j] = true;
        let pair = tensor_pair(&a[i], &b[j], by);
        let elements = a[i].elements();
        if pair.identical {
            identical_parameters += elements;
        }
        if let Some(cosine) = pair.cosine {
            cosine_sum += cosine * elements as f64;
            cosine_weight += elements as f64;
        }
        pairs.push(pair);
    }
    let parameters_a = a.iter().map(Tensor::elements).sum::<u64>();
    let summary = Summary {
        tensors_a: a.len() as u64,
        tensors_b: b.len() as u64,
        pairs: pairs.len() as u64,
        identical_pairs: pairs.iter().filter(|p| p.identical).count() as u64,
        parameters_a,
        parameters_b: b.iter().map(Tensor::elements).sum(),
        identical_parameters,
        identical_share: (parameters_a > 0).then(|| identical_parameters as f64 / parameters_a as f64),
        mean_cosine: (cosine_weight > 0.0).then(|| cosine_sum / cosine_weight),
    };
    ModelComparison {
        pairs,
        unpaired_a: a.iter().zip(&in_a).filter(|(_, &p)| !p).map(|(t, _)| unpaired(t)).collect(),
        unpaired_b: b.iter().zip(&in_b).filter(|(_, &p)| !p).map(|(t, _)| unpaired(t)).collect(),
        summary,
    }
}

fn or_dash(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "-".to_owned(), format)
}

fn shape_text(shape: &[u64]) -> String {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// The comparison as a plain-text table, a line per pair, then the unpaired tensors and the summary.
pub fn render_table(c: &ModelComparison) -> String {
    let header =
        ["#", "tensor (a = b)", "dtype", "shape", "paired", "identical", "cosine", "rel. L2", "equal", "max |a-b|"];
    let rows: Vec<[String; 10]> = c
        .pairs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name = if p.name_a == p.name_b { p.name_a.clone() } else { format!("{} = {}", p.name_a, p.name_b) };
            let dtype = if p.dtype_a == p.dtype_b { p.dtype_a.clone() } else { format!("{}/{}", p.dtype_a, p.dtype_b) };
            [
                (i + 1).to_string(),
                name,
                dtype,
                shape_text(&p.shape),
                format!("{:?}", p.paired_by).to_lowercase(),
                if p.identical { "yes" } else { "no" }.to_owned(),
                or_dash(p.cosine, |v| format!("{v:.8}")),
                or_dash(p.relative_l2, |v| format!("{v:.3e}")),
                or_dash(p.equal_share, |v| format!("{:.1}%", v * 100.0)),
                or_dash(p.max_abs_diff, |v| format!("{v:.3e}")),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            // Names and kinds left-aligned, figures right-aligned.
            .map(|(k, (cell, w))| if matches!(k, 1..=5) { format!("{cell:<w$}") } else { format!("{cell:>w$}") })
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    for (side, list) in [("a", &c.unpaired_a), ("b", &c.unpaired_b)] {
        if !list.is_empty() {
            let _ = writeln!(out, "\nonly in {side} ({}):", list.len());
            for t in list {
                let _ = writeln!(out, "  {}  {}  {}", t.name, t.dtype, shape_text(&t.shape));
            }
        }
    }
    let s = &c.summary;
    let _ = writeln!(
        out,
        "\n{} pairs of {} tensors in a and {} in b; {} identical.\nparameters: {} in a, {} in b; {} identical ({}).\n\
         mean cosine (weighted by parameters): {}",
        s.pairs,
        s.tensors_a,
        s.tensors_b,
        s.identical_pairs,
        s.parameters_a,
        s.parameters_b,
        s.identical_parameters,
        or_dash(s.identical_share, |v| format!("{:.2}%", v * 100.0)),
        or_dash(s.mean_cosine, |v| format!("{v:.8}")),
    );
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The lowest of a few round bounds that still shows every cosine, so that a fine-tune's 0.99999 do not
/// all sit on the top line.
fn cosine_floor(lowest: f64) -> f64 {
    [0.999999, 0.99999, 0.9999, 0.999, 0.99, 0.9, 0.5, 0.0, -1.0].into_iter().find(|&f| f < lowest).unwrap_or(-1.0)
}

const WIDTH: f64 = 900.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 20.0;
const PANEL: f64 = 190.0;
/// The share of the difference panel below its log scale.
const ZERO_BAND: f64 = 0.1;

/// One panel: a y axis with tick labels, and the points joined in pair order.
struct Panel<'a> {
    top: f64,
    label: &'a str,
    ticks: Vec<(f64, String)>,
    /// Per pair: its y in [0, 1] from the bottom, and whether it is drawn hollow.
    points: Vec<Option<(f64, bool)>>,
    colour: &'a str,
}

fn draw_panel(svg: &mut String, panel: &Panel, names: &[String]) {
    let (top, bottom) = (panel.top, panel.top + PANEL);
    let plot_width = WIDTH - LEFT - RIGHT;
    let x = |i: usize| LEFT + plot_width * (i as f64 + 0.5) / names.len().max(1) as f64;
    let y = |v: f64| bottom - v * PANEL;
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{top}" width="{plot_width}" height="{PANEL}" fill="none" stroke="#888"/>"##
    );
    for (v, text) in &panel.ticks {
        let yv = y(*v);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{yv:.1}" x2="{:.1}" y2="{yv:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            yv + 4.0,
            escape(text)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        top + PANEL / 2.0,
        escape(panel.label)
    );
    let line: Vec<String> = panel
        .points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|(v, _)| format!("{:.1},{:.1}", x(i), y(v))))
        .collect();
    let _ = writeln!(
        svg,
        r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1"/>"#,
        line.join(" "),
        panel.colour
    );
    for (i, p) in panel.points.iter().enumerate() {
        if let Some((v, hollow)) = p {
            let fill = if *hollow { "white" } else { panel.colour };
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{fill}" stroke="{}"><title>{}</title></circle>"#,
                x(i),
                y(*v),
                panel.colour,
                escape(&names[i])
            );
        }
    }
}

/// The comparison as a self-contained SVG: per pair, in model A's order, the cosine similarity (top) and
/// the relative difference on a log scale (bottom, identical tensors hollow on its line of 0).
pub fn render_svg(c: &ModelComparison) -> String {
    let names: Vec<String> = c
        .pairs
        .iter()
        .map(|p| if p.name_a == p.name_b { p.name_a.clone() } else { format!("{} = {}", p.name_a, p.name_b) })
        .collect();
    let lowest = c.pairs.iter().filter_map(|p| p.cosine).fold(1.0, f64::min);
    let floor = cosine_floor(lowest);
    let decimals = (-(1.0 - floor).log10()).ceil().max(1.0) as usize + 1;
    let cosine = Panel {
        top: 50.0,
        label: "cosine similarity",
        ticks: (0..=4)
            .map(|k| (k as f64 / 4.0, format!("{:.*}", decimals, floor + (1.0 - floor) * k as f64 / 4.0)))
            .collect(),
        points: c
            .pairs
            .iter()
            .map(|p| p.cosine.map(|v| (((v - floor) / (1.0 - floor)).clamp(0.0, 1.0), false)))
            .collect(),
        colour: "#1f77b4",
    };

    let positive: Vec<f64> = c.pairs.iter().filter_map(|p| p.relative_l2).filter(|&v| v > 0.0).collect();
    let high = positive.iter().copied().fold(f64::MIN, f64::max).log10().ceil().max(0.0);
    let low = positive.iter().copied().fold(f64::MAX, f64::min).log10().floor().min(high - 1.0).max(-12.0);
    let (low, high) = if positive.is_empty() { (-6.0, 0.0) } else { (low, high) };
    let decades = (high - low) as i32;
    let step = (decades + 5) / 6;
    // The log scale starts above a band at the bottom where differences of exactly 0 sit.
    let log_y = |log: f64| ZERO_BAND + (1.0 - ZERO_BAND) * ((log - low) / (high - low)).clamp(0.0, 1.0);
    let difference = Panel {
        top: 50.0 + PANEL + 40.0,
        label: "relative difference ‖a−b‖/‖a‖",
        ticks: std::iter::once((0.0, "0".to_owned()))
            .chain(
                (0..=decades)
                    .step_by(step.max(1) as usize)
                    .map(|k| (log_y(low + f64::from(k)), format!("1e{}", low as i32 + k))),
            )
            .collect(),
        points: c
            .pairs
            .iter()
            .map(|p| p.relative_l2.map(|v| if v > 0.0 { (log_y(v.log10()), false) } else { (0.0, true) }))
            .collect(),
        colour: "#d62728",
    };

    let height = difference.top + PANEL + 60.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let s = &c.summary;
    let title = format!(
        "{} tensor pairs, {} identical ({} of parameters); mean cosine {}",
        s.pairs,
        s.identical_pairs,
        or_dash(s.identical_share, |v| format!("{:.2}%", v * 100.0)),
        or_dash(s.mean_cosine, |v| format!("{v:.8}"))
    );
    let _ = writeln!(svg, r#"<text x="{LEFT}" y="28" font-size="14">{}</text>"#, escape(&title));
    if c.pairs.is_empty() {
        let _ = writeln!(svg, r#"<text x="{LEFT}" y="120">no tensors were paired</text></svg>"#);
        return svg;
    }
    draw_panel(&mut svg, &cosine, &names);
    draw_panel(&mut svg, &difference, &names);
    let axis_y = difference.top + PANEL;
    let plot_width = WIDTH - LEFT - RIGHT;
    let every = c.pairs.len().div_ceil(20).max(1);
    for i in (0..c.pairs.len()).step_by(every) {
        let x = LEFT + plot_width * (i as f64 + 0.5) / c.pairs.len() as f64;
        let _ = writeln!(svg, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#, axis_y + 16.0, i + 1);
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">tensor pair, in model A's order (hollow: identical, no difference)</text>"#,
        LEFT + plot_width / 2.0,
        axis_y + 40.0
    );
    svg.push_str("</svg>\n");
    svg
}
