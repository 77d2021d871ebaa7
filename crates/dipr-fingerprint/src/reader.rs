//! Streaming readers: CSV, TSV and JSON Lines into named string cells, with errors that say where.

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
}

impl Format {
    /// Guess from a file name: `.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "tsv" | "tab" => Some(Self::Tsv),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "parquet" | "pq" => Some(Self::Parquet),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            "tsv" => Some(Self::Tsv),
            "jsonl" => Some(Self::Jsonl),
            "parquet" => Some(Self::Parquet),
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

/// Where records come from: a byte stream (CSV, TSV, JSON Lines), or a Parquet file (which needs
/// random access to its footer).
pub enum Input<R> {
    Stream(R),
    ParquetFile(std::fs::File),
}

impl<R: Read> From<R> for Input<R> {
    fn from(r: R) -> Self {
        Input::Stream(r)
    }
}

/// A streaming source of records.
pub enum Records<R: Read> {
    Delimited { reader: csv::Reader<R>, headers: Vec<String>, record: csv::StringRecord },
    Jsonl { lines: std::io::Lines<std::io::BufReader<R>>, line: u64, names: Vec<String>, values: Vec<String> },
    Parquet { rows: parquet::record::reader::RowIter<'static>, line: u64, names: Vec<String>, values: Vec<String> },
}

impl<R: Read> Records<R> {
    pub fn new(input: Input<R>, format: Format) -> Result<Self, FingerprintError> {
        let input = match (input, format) {
            (Input::ParquetFile(file), Format::Parquet) => {
                use parquet::file::reader::SerializedFileReader;
                let reader = SerializedFileReader::new(file)
                    .map_err(|e| FingerprintError::Parse { line: 0, message: format!("Parquet: {e}") })?;
                return Ok(Self::Parquet { rows: reader.into_iter(), line: 0, names: Vec::new(), values: Vec::new() });
            }
            (Input::Stream(r), f) if f != Format::Parquet => r,
            _ => {
                return Err(FingerprintError::Invalid(
                    "Parquet is read from a file; CSV, TSV and JSON Lines from a stream".into(),
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
            Format::Jsonl => Ok(Self::Jsonl {
                lines: std::io::BufReader::with_capacity(1 << 20, input).lines(),
                line: 0,
                names: Vec::new(),
                values: Vec::new(),
            }),
            Format::Parquet => unreachable!("handled above"),
        }
    }

    /// The next record, or `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, FingerprintError> {
        match self {
            Self::Delimited { reader, headers, record } => {
                let ok = reader.read_record(record).map_err(|e| {
                    let line = e.position().map_or(0, |p| p.line());
                    FingerprintError::Parse { line, message: e.to_string() }
                })?;
                if !ok {
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
