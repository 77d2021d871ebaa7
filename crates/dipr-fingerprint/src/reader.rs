//! Readers: CSV, TSV and JSON Lines (UTF-8, or GB18030/GBK, detected or declared) streamed, Parquet
//! row by row, spreadsheets (xlsx, xls, ods: the first sheet) from memory, into named string cells, with
//! errors that say where.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};

use serde::{Deserialize, Serialize};

use crate::FingerprintError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Tsv,
    Jsonl,
    Parquet,
    Xlsx,
    Xls,
    Ods,
    /// An algorithm package (source code, models): committed as the JSON Lines table of its files, one
    /// record per file (see `package`). Never guessed from a file name.
    Package,
}

impl Format {
    /// Guess from a file name: `.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`, `.parquet`/`.pq`,
    /// `.xlsx`/`.xlsm`, `.xls`, `.ods`.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "tsv" | "tab" => Some(Self::Tsv),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "parquet" | "pq" => Some(Self::Parquet),
            "xlsx" | "xlsm" => Some(Self::Xlsx),
            "xls" => Some(Self::Xls),
            "ods" => Some(Self::Ods),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            "tsv" => Some(Self::Tsv),
            "jsonl" => Some(Self::Jsonl),
            "parquet" => Some(Self::Parquet),
            "xlsx" => Some(Self::Xlsx),
            "xls" => Some(Self::Xls),
            "ods" => Some(Self::Ods),
            _ => None,
        }
    }

    /// Read from a file (random access), not a stream.
    pub fn needs_file(self) -> bool {
        matches!(self, Self::Parquet | Self::Xlsx | Self::Xls | Self::Ods)
    }
}

/// The text encoding of a CSV, TSV or JSON Lines input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// GB18030, which also reads GBK and GB2312.
    Gb18030,
}

impl Encoding {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Self::Utf8),
            "gb18030" | "gbk" | "gb2312" | "cp936" => Some(Self::Gb18030),
            _ => None,
        }
    }
}

/// One record, borrowed from the reader until the next one is read: raw column names and values.
pub struct Record<'a> {
    pub line: u64,
    pub names: &'a [String],
    /// The names are the same as the previous record's (delimited files: always after the first).
    pub same_names: bool,
    pub values: Vec<&'a str>,
}

impl Record<'_> {
    pub fn to_owned_pairs(&self) -> (Vec<String>, Vec<String>) {
        (self.names.to_vec(), self.values.iter().map(|v| v.to_string()).collect())
    }
}

/// Where records come from: a byte stream (CSV, TSV, JSON Lines), or a file that needs random access
/// (Parquet's footer, a spreadsheet's zip or compound document).
pub enum Input<R> {
    Stream(R),
    File(std::fs::File),
}

impl<R: Read> From<R> for Input<R> {
    fn from(r: R) -> Self {
        Input::Stream(r)
    }
}

/// A streaming source of records.
pub enum Records<R: Read> {
    Delimited { reader: csv::Reader<Decoded<R>>, headers: Vec<String>, record: csv::StringRecord },
    Jsonl { lines: std::io::Lines<std::io::BufReader<Decoded<R>>>, line: u64, names: Vec<String>, values: Vec<String> },
    Parquet { rows: parquet::record::reader::RowIter<'static>, line: u64, names: Vec<String>, values: Vec<String> },
    Sheet { range: calamine::Range<calamine::Data>, row: usize, names: Vec<String>, values: Vec<String> },
}

impl<R: Read> Records<R> {
    /// Records of `input`; a text input's encoding is detected (UTF-8, else GB18030).
    pub fn new(input: Input<R>, format: Format) -> Result<Self, FingerprintError> {
        Self::open(input, format, None)
    }

    /// Records of `input`, its text decoded as `encoding` (detected when `None`).
    pub fn open(input: Input<R>, format: Format, encoding: Option<Encoding>) -> Result<Self, FingerprintError> {
        let input = match (input, format) {
            (Input::File(file), Format::Parquet) => {
                use parquet::file::reader::SerializedFileReader;
                let reader = SerializedFileReader::new(file)
                    .map_err(|e| FingerprintError::Parse { line: 0, message: format!("Parquet: {e}") })?;
                return Ok(Self::Parquet { rows: reader.into_iter(), line: 0, names: Vec::new(), values: Vec::new() });
            }
            (Input::File(file), Format::Xlsx | Format::Xls | Format::Ods) => return Self::sheet(file, format),
            (Input::Stream(r), f) if !f.needs_file() => Decoded::new(r, encoding)?,
            _ => {
                return Err(FingerprintError::Invalid(
                    "Parquet and spreadsheets are read from a file; CSV, TSV and JSON Lines from a stream".into(),
                ))
            }
        };
        match format {
            Format::Csv | Format::Tsv => {
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(if format == Format::Tsv { b'\t' } else { b',' })
                    .flexible(false)
                    .buffer_capacity(1 << 20)
                    .from_reader(input);
                let headers: Vec<String> = reader
                    .headers()
                    .map_err(|e| FingerprintError::Parse { line: 1, message: e.to_string() })?
                    .iter()
                    .map(|h| h.trim_start_matches('\u{feff}').to_string())
                    .collect();
                if headers.is_empty() || headers.iter().all(|h| h.trim().is_empty()) {
                    return Err(FingerprintError::Parse { line: 1, message: "no header row".into() });
                }
                Ok(Self::Delimited { reader, headers, record: csv::StringRecord::new() })
            }
            Format::Jsonl | Format::Package => Ok(Self::Jsonl {
                lines: std::io::BufReader::with_capacity(1 << 20, input).lines(),
                line: 0,
                names: Vec::new(),
                values: Vec::new(),
            }),
            Format::Parquet | Format::Xlsx | Format::Xls | Format::Ods => unreachable!("handled above"),
        }
    }

    /// The first sheet of a workbook; its first non-empty row is the header.
    fn sheet(file: std::fs::File, format: Format) -> Result<Self, FingerprintError> {
        use calamine::Reader;
        let bad = |e: &dyn std::fmt::Display| FingerprintError::Parse { line: 0, message: format!("{format:?}: {e}") };
        let file = std::io::BufReader::new(file);
        let range = match format {
            Format::Xlsx => calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(file)
                .map_err(|e| bad(&e))?
                .worksheet_range_at(0)
                .map(|r| r.map_err(|e| bad(&e))),
            Format::Xls => calamine::open_workbook_from_rs::<calamine::Xls<_>, _>(file)
                .map_err(|e| bad(&e))?
                .worksheet_range_at(0)
                .map(|r| r.map_err(|e| bad(&e))),
            _ => calamine::open_workbook_from_rs::<calamine::Ods<_>, _>(file)
                .map_err(|e| bad(&e))?
                .worksheet_range_at(0)
                .map(|r| r.map_err(|e| bad(&e))),
        }
        .ok_or_else(|| bad(&"the workbook has no sheet"))??;
        let mut records = Self::Sheet { range, row: 0, names: Vec::new(), values: Vec::new() };
        let Self::Sheet { range, row, names, values } = &mut records else { unreachable!("just made") };
        if !next_sheet_row(range, row, values) {
            return Err(FingerprintError::Parse { line: 1, message: "no header row".into() });
        }
        // Columns end at the last named one.
        let width = values.iter().rposition(|h| !h.trim().is_empty()).map_or(0, |i| i + 1);
        *names = values.drain(..).take(width).collect();
        Ok(records)
    }

    /// The next record, or `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, FingerprintError> {
        match self {
            Self::Delimited { reader, headers, record } => {
                if !reader.read_record(record).map_err(csv_error)? {
                    return Ok(None);
                }
                let line = record.position().map_or(0, |p| p.line());
                Ok(Some(Record { line, names: headers, same_names: true, values: record.iter().collect() }))
            }
            Self::Jsonl { lines, line, names, values } => loop {
                let Some(l) = lines.next() else { return Ok(None) };
                *line += 1;
                let l = l.map_err(|e| FingerprintError::Parse { line: *line, message: e.to_string() })?;
                if l.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(&l).map_err(|e| FingerprintError::Parse {
                    line: *line,
                    message: format!("column {}: {e}", e.column()),
                })?;
                let serde_json::Value::Object(map) = v else {
                    return Err(FingerprintError::Parse {
                        line: *line,
                        message: "each line must be a JSON object".into(),
                    });
                };
                let mut flat = BTreeMap::new();
                flatten("", &serde_json::Value::Object(map), &mut flat);
                names.clear();
                values.clear();
                for (k, v) in flat {
                    names.push(k);
                    values.push(v);
                }
                return Ok(Some(Record {
                    line: *line,
                    names,
                    same_names: false,
                    values: values.iter().map(String::as_str).collect(),
                }));
            },
            Self::Sheet { range, row, names, values } => {
                if !next_sheet_row(range, row, values) {
                    return Ok(None);
                }
                values.resize(names.len(), String::new());
                Ok(Some(Record {
                    line: *row as u64 + range.start().map_or(0, |(r, _)| u64::from(r)),
                    names,
                    same_names: true,
                    values: values.iter().map(String::as_str).collect(),
                }))
            }
            Self::Parquet { rows, line, names, values } => {
                let Some(row) = rows.next() else { return Ok(None) };
                *line += 1;
                let row = row.map_err(|e| FingerprintError::Parse {
                    line: *line,
                    message: format!("Parquet row {line}: {e}"),
                })?;
                let mut flat = BTreeMap::new();
                for (name, field) in row.get_column_iter() {
                    flatten_parquet(name, field, &mut flat);
                }
                names.clear();
                values.clear();
                for (k, v) in flat {
                    names.push(k);
                    values.push(v);
                }
                Ok(Some(Record {
                    line: *line,
                    names,
                    same_names: false,
                    values: values.iter().map(String::as_str).collect(),
                }))
            }
        }
    }
}

pub(crate) fn csv_error(e: csv::Error) -> FingerprintError {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => format!(
            "{e}: the text is not UTF-8; declare its encoding (--encoding gb18030 for GBK or GB18030) or \
             convert it to UTF-8"
        ),
        _ => e.to_string(),
    };
    FingerprintError::Parse { line, message }
}

/// The next row of a sheet that has any value, as text, into `values`; false at the end.
fn next_sheet_row(range: &calamine::Range<calamine::Data>, row: &mut usize, values: &mut Vec<String>) -> bool {
    while *row < range.height() {
        values.clear();
        values.extend((0..range.width()).map(|c| range.get((*row, c)).map(cell_text).unwrap_or_default()));
        *row += 1;
        if values.iter().any(|v| !v.is_empty()) {
            return true;
        }
    }
    false
}

/// A spreadsheet cell as text the canonicaliser reads: numbers in decimal (`517`, not `517.0`), dates
/// `YYYY-MM-DD`, date-times `YYYY-MM-DDTHH:MM:SS[.fff]` (a sheet has no time zone), durations as days.
fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    let float = |f: f64| if f.is_finite() { f.to_string() } else { String::new() };
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(t) if t.is_datetime() => {
            let (y, mo, d, h, mi, s, ms) = t.to_ymd_hms_milli();
            match (h, mi, s, ms) {
                (0, 0, 0, 0) => format!("{y:04}-{mo:02}-{d:02}"),
                (_, _, _, 0) => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}"),
                _ => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}"),
            }
        }
        Data::DateTime(t) => float(t.as_f64()),
    }
}

/// A text input as UTF-8: passed through, or transcoded from GB18030.
pub enum Decoded<R: Read> {
    Utf8(std::io::BufReader<R>),
    Gb18030 { inner: std::io::BufReader<R>, decoder: encoding_rs::Decoder, out: Vec<u8>, at: usize, done: bool },
}

impl<R: Read> Decoded<R> {
    /// Decides the encoding from the first megabyte when it is not given: UTF-8 when that is valid
    /// UTF-8, else GB18030 when that is valid GB18030, else an error that says what to do.
    fn new(r: R, encoding: Option<Encoding>) -> Result<Self, FingerprintError> {
        let mut inner = std::io::BufReader::with_capacity(1 << 20, r);
        let encoding = match encoding {
            Some(e) => e,
            None => {
                let head = inner.fill_buf()?;
                match std::str::from_utf8(head) {
                    Ok(_) => Encoding::Utf8,
                    // Cut short inside a character: the rest is in the next read.
                    Err(e) if e.error_len().is_none() => Encoding::Utf8,
                    Err(_) => {
                        let mut d = encoding_rs::GB18030.new_decoder_without_bom_handling();
                        let mut sink = String::with_capacity(d.max_utf8_buffer_length(head.len()).unwrap_or(0));
                        match d.decode_to_string_without_replacement(head, &mut sink, false) {
                            (encoding_rs::DecoderResult::Malformed(..), read) => {
                                return Err(FingerprintError::Parse {
                                    line: 1 + head[..read].iter().filter(|&&b| b == b'\n').count() as u64,
                                    message: "the text is neither UTF-8 nor GB18030/GBK: convert it to UTF-8, or \
                                        declare its encoding (--encoding)"
                                        .into(),
                                })
                            }
                            _ => Encoding::Gb18030,
                        }
                    }
                }
            }
        };
        Ok(match encoding {
            Encoding::Utf8 => Self::Utf8(inner),
            Encoding::Gb18030 => Self::Gb18030 {
                inner,
                decoder: encoding_rs::GB18030.new_decoder_without_bom_handling(),
                out: Vec::new(),
                at: 0,
                done: false,
            },
        })
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let (inner, decoder, out, at, done) = match self {
            Self::Utf8(inner) => return inner.read(buf),
            Self::Gb18030 { inner, decoder, out, at, done } => (inner, decoder, out, at, done),
        };
        while *at == out.len() && !*done {
            let input = inner.fill_buf()?;
            let last = input.is_empty();
            out.clear();
            out.resize(decoder.max_utf8_buffer_length_without_replacement(input.len()).unwrap_or(1 << 22), 0);
            let (result, read, written) = decoder.decode_to_utf8_without_replacement(input, out, last);
            if let encoding_rs::DecoderResult::Malformed(..) = result {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "invalid GB18030 text: convert it to UTF-8, or declare its encoding (--encoding)",
                ));
            }
            inner.consume(read);
            out.truncate(written);
            *at = 0;
            *done = last;
        }
        let n = buf.len().min(out.len() - *at);
        buf[..n].copy_from_slice(&out[*at..*at + n]);
        *at += n;
        Ok(n)
    }
}

/// Parquet values as text the canonicaliser reads: numbers in decimal, dates `YYYY-MM-DD`, timestamps
/// RFC 3339 UTC; groups, lists and maps flatten to dotted paths like JSON.
fn flatten_parquet(prefix: &str, f: &parquet::record::Field, out: &mut BTreeMap<String, String>) {
    use parquet::record::Field;
    let key = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
    let ts = |micros: i64| {
        chrono::DateTime::from_timestamp_micros(micros)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            .unwrap_or_default()
    };
    let text = match f {
        Field::Null => String::new(),
        Field::Bool(b) => b.to_string(),
        Field::Byte(v) => v.to_string(),
        Field::Short(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => v.to_string(),
        Field::UByte(v) => v.to_string(),
        Field::UShort(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        Field::Float16(v) => v.to_string(),
        Field::Float(v) => v.to_string(),
        Field::Double(v) => v.to_string(),
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => match std::str::from_utf8(b.data()) {
            Ok(s) => s.to_string(),
            Err(_) => b.data().iter().map(|x| format!("{x:02x}")).collect(),
        },
        Field::Date(days) => chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|d| d.checked_add_signed(chrono::Duration::days(i64::from(*days))))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        Field::TimeMillis(ms) => {
            format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
        }
        Field::TimeMicros(us) => format!(
            "{:02}:{:02}:{:02}.{:06}",
            us / 3_600_000_000,
            us / 60_000_000 % 60,
            us / 1_000_000 % 60,
            us % 1_000_000
        ),
        Field::TimestampMillis(ms) => ts(ms * 1000),
        Field::TimestampMicros(us) => ts(*us),
        Field::Group(row) => {
            for (k, v) in row.get_column_iter() {
                flatten_parquet(&key(k), v, out);
            }
            return;
        }
        Field::ListInternal(list) => {
            for (i, v) in list.elements().iter().enumerate() {
                flatten_parquet(&key(&i.to_string()), v, out);
            }
            return;
        }
        Field::MapInternal(map) => {
            for (k, v) in map.entries() {
                let mut inner = BTreeMap::new();
                flatten_parquet("", k, &mut inner);
                let name = inner.into_values().next().unwrap_or_default();
                flatten_parquet(&key(&name), v, out);
            }
            return;
        }
        other => other.to_string(),
    };
    out.insert(prefix.to_string(), text);
}

/// Nested objects become dotted paths, arrays indexed paths; scalars become their text.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    let key = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                flatten(&key(k), v, out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(&key(&i.to_string()), v, out);
            }
        }
        serde_json::Value::Null => {
            out.insert(prefix.to_string(), String::new());
        }
        serde_json::Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}
