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
}

impl Format {
    /// Guess from a file name: `.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "tsv" | "tab" => Some(Self::Tsv),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            "tsv" => Some(Self::Tsv),
            "jsonl" => Some(Self::Jsonl),
            _ => None,
        }
    }
}

/// One record, borrowed from the reader until the next one is read: raw column names and values.
pub struct Record<'a> {
    pub line: u64,
    pub names: &'a [String],
    pub values: Vec<&'a str>,
}

impl Record<'_> {
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names.iter().map(String::as_str).zip(self.values.iter().copied())
    }

    pub fn to_owned_pairs(&self) -> (Vec<String>, Vec<String>) {
        (self.names.to_vec(), self.values.iter().map(|v| v.to_string()).collect())
    }
}

/// A streaming source of records.
pub enum Records<R: Read> {
    Delimited { reader: csv::Reader<R>, headers: Vec<String>, record: csv::StringRecord },
    Jsonl { lines: std::io::Lines<std::io::BufReader<R>>, line: u64, names: Vec<String>, values: Vec<String> },
}

impl<R: Read> Records<R> {
    pub fn new(input: R, format: Format) -> Result<Self, FingerprintError> {
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
                Ok(Some(Record { line, names: headers, values: record.iter().collect() }))
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
                return Ok(Some(Record { line: *line, names, values: values.iter().map(String::as_str).collect() }));
            },
        }
    }
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
