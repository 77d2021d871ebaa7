//! Bulk data: the public register written as files a mirror can download, and the check that proves such a
//! download complete against the log.
//!
//! A dump is a directory: `events.jsonl.gz` (every public log entry up to the checkpoint, one per line, the exact
//! bytes the log hashes, line n = index n), `registrations.csv.gz`, `registrations.parquet` and
//! `registrations.jsonl.gz` (every record that was ever registered, as the register shows it when the dump is
//! made), `encumbrances.csv.gz` and `encumbrances.parquet` (their pledges and licences), `statistics.json`, and
//! `manifest.json` naming every file and column and the signed checkpoint.
//! CSV files are UTF-8 with a byte-order mark (spreadsheets then read Chinese correctly).
//!
//! [`check`] needs only the registry's key: the events must rebuild the checkpoint's tree exactly (none missing,
//! none added, none changed), and the registrations must be exactly those the events issued.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use anyhow::{bail, Context};
use dipr_domain::public::PublicRecord;
use dipr_ledger::certificate::LogEntry;
use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{leaf_hash, Frontier};
use dipr_ledger::note::NoteVerifier;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::Registry;

pub const FORMAT: &str = "dipr-bulk/1";
const BOM: &[u8] = "\u{feff}".as_bytes();
/// Records read per query.
const CHUNK: usize = 1000;

/// One exported file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
    /// `(column, meaning)`, in order.
    pub columns: Vec<(String, String)>,
}

/// What a dump holds and the checkpoint it was made at.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    /// RFC 3339, UTC.
    pub made_at: String,
    /// The log size the dump holds: events `0..size`.
    pub size: u64,
    /// The signed checkpoint of `size` (a note).
    pub checkpoint: String,
    pub files: Vec<FileEntry>,
}

const REGISTRATION_COLUMNS: &[(&str, &str)] = &[
    ("record_id", "the record's id (its page is /records/<id>)"),
    ("registration_number", "登记号"),
    ("certificate_number", "证书号 of the current certificate"),
    ("product_name", "产品名称"),
    ("object_type", "data_collection, data_product or data_algorithm"),
    ("industry", "industry code"),
    ("holder_name", "权利人"),
    ("holder_id_number", "the holder's credit code (a resident ID number is masked)"),
    ("state", "registered, revoked, cancelled or expired, when the dump was made"),
    ("registered_at", "RFC 3339, UTC"),
    ("valid_from", "RFC 3339, UTC"),
    ("valid_until", "RFC 3339, UTC"),
    ("pledged", "true while an active pledge burdens it"),
    ("licensed", "true while a licence is in force"),
    ("disputed", "true while a dispute is undecided"),
];

const ENCUMBRANCE_COLUMNS: &[(&str, &str)] = &[
    ("record_id", "the record's id"),
    ("registration_number", "登记号"),
    ("kind", "pledge or licence"),
    ("id", "the pledge's or licence's id"),
    ("party_name", "the pledgee (bank) or the licensee"),
    ("party_id_number", "its credit code (a resident ID number is masked)"),
    ("status", "pending, active, released, enforced (pledges); active or terminated (licences)"),
    ("rank", "the pledge's rank (1 first), empty for licences and pending pledges"),
    ("amount", "secured amount or public licence fee, in yuan"),
    ("term_start", "YYYY-MM-DD"),
    ("term_end", "YYYY-MM-DD"),
    ("licence_kind", "exclusive, sole or ordinary (licences)"),
];

/// Hashes and counts what is written through it.
struct Counted<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl Counted<std::fs::File> {
    fn create(dir: &Path, name: &str) -> anyhow::Result<Self> {
        let inner = std::fs::File::create(dir.join(name)).with_context(|| format!("creating {name}"))?;
        Ok(Self { inner, hash: Sha256::new(), bytes: 0 })
    }

    /// Make the file durable and describe it for the manifest.
    fn entry(mut self, name: String, rows: u64, columns: &[(&str, &str)]) -> anyhow::Result<FileEntry> {
        self.flush()?;
        self.inner.sync_all()?;
        Ok(FileEntry {
            name,
            sha256: hex::encode(self.hash.finalize()),
            bytes: self.bytes,
            rows,
            columns: columns.iter().map(|(c, m)| (c.to_string(), m.to_string())).collect(),
        })
    }
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A gzip file being written, hashed as stored.
struct Out {
    name: String,
    gz: GzEncoder<Counted<std::fs::File>>,
    rows: u64,
}

impl Out {
    fn create(dir: &Path, name: &str) -> anyhow::Result<Self> {
        let gz = GzEncoder::new(Counted::create(dir, name)?, flate2::Compression::default());
        Ok(Self { name: name.into(), gz, rows: 0 })
    }

    fn finish(self, columns: &[(&str, &str)]) -> anyhow::Result<FileEntry> {
        self.gz.finish()?.entry(self.name, self.rows, columns)
    }
}

/// Rows kept in memory before they are written as a Parquet row group.
const ROW_GROUP: usize = 50_000;

/// A Parquet file being written: every column a required UTF-8 string (as in the CSV), hashed as stored.
struct ParquetOut {
    name: String,
    writer: SerializedFileWriter<Counted<std::fs::File>>,
    columns: Vec<Vec<String>>,
    rows: u64,
}

impl ParquetOut {
    fn create(dir: &Path, name: &str, columns: &[(&str, &str)]) -> anyhow::Result<Self> {
        let fields: Vec<String> = columns.iter().map(|(c, _)| format!("REQUIRED BYTE_ARRAY {c} (UTF8);")).collect();
        let schema = Arc::new(parse_message_type(&format!("message dipr {{ {} }}", fields.join(" ")))?);
        let props = Arc::new(WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build());
        Ok(Self {
            name: name.into(),
            writer: SerializedFileWriter::new(Counted::create(dir, name)?, schema, props)?,
            columns: vec![Vec::new(); columns.len()],
            rows: 0,
        })
    }

    fn push(&mut self, row: &[String]) -> anyhow::Result<()> {
        for (col, v) in self.columns.iter_mut().zip(row) {
            col.push(v.clone());
        }
        self.rows += 1;
        if self.columns[0].len() >= ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.columns[0].is_empty() {
            return Ok(());
        }
        let mut group = self.writer.next_row_group()?;
        for values in &mut self.columns {
            let Some(mut col) = group.next_column()? else { bail!("the Parquet schema has fewer columns") };
            let bytes: Vec<ByteArray> = values.drain(..).map(|v| ByteArray::from(v.into_bytes())).collect();
            col.typed::<ByteArrayType>().write_batch(&bytes, None, None)?;
            col.close()?;
        }
        group.close()?;
        Ok(())
    }

    fn finish(mut self, columns: &[(&str, &str)]) -> anyhow::Result<FileEntry> {
        self.flush()?;
        self.writer.into_inner()?.entry(self.name, self.rows, columns)
    }
}

fn text(v: impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        Ok(Value::Null) | Err(_) => String::new(),
        Ok(other) => other.to_string(),
    }
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Write a dump of the register into `dir` (created; files already there are replaced) and return its
/// manifest. Records are read first and the checkpoint after them, so every registration in the dump has its
/// log entry among the events.
pub async fn export(state: &Registry, dir: &Path) -> anyhow::Result<Manifest> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = state.store.as_ref();
    let ids = store.public_application_ids().await?;
    let mut regs = Out::create(dir, "registrations.csv.gz")?;
    regs.gz.write_all(BOM)?;
    let mut regs_json = Out::create(dir, "registrations.jsonl.gz")?;
    let mut encs = Out::create(dir, "encumbrances.csv.gz")?;
    encs.gz.write_all(BOM)?;
    let mut regs_pq = ParquetOut::create(dir, "registrations.parquet", REGISTRATION_COLUMNS)?;
    let mut encs_pq = ParquetOut::create(dir, "encumbrances.parquet", ENCUMBRANCE_COLUMNS)?;
    {
        let mut rw = csv::Writer::from_writer(&mut regs.gz);
        rw.write_record(REGISTRATION_COLUMNS.iter().map(|c| c.0))?;
        let mut ew = csv::Writer::from_writer(&mut encs.gz);
        ew.write_record(ENCUMBRANCE_COLUMNS.iter().map(|c| c.0))?;
        for chunk in ids.chunks(CHUNK) {
            let mut apps = store.applications_by_ids(chunk).await?;
            apps.sort_by_key(|a| a.id);
            for r in apps.iter().filter_map(PublicRecord::listed) {
                let Some(reg) = &r.registration else { continue };
                let number = reg.registration_number.to_string();
                let row = [
                    r.id.to_string(),
                    number.clone(),
                    reg.certificate_number.to_string(),
                    r.product_name.clone(),
                    text(r.object_type),
                    r.industry.clone(),
                    r.holder.name.clone(),
                    r.holder.id_number.clone(),
                    text(r.state),
                    rfc3339(reg.registered_at),
                    rfc3339(reg.valid_from),
                    rfc3339(reg.valid_until),
                    r.pledged.to_string(),
                    r.licensed.to_string(),
                    r.disputed.to_string(),
                ];
                rw.write_record(&row)?;
                regs_pq.push(&row)?;
                regs.rows += 1;
                serde_json::to_writer(&mut regs_json.gz, &r)?;
                regs_json.gz.write_all(b"\n")?;
                regs_json.rows += 1;
                for p in &r.pledges {
                    let row = [
                        r.id.to_string(),
                        number.clone(),
                        "pledge".into(),
                        p.id.to_string(),
                        p.pledgee.name.clone(),
                        p.pledgee.id_number.clone(),
                        text(p.status),
                        p.rank.map(|k| k.to_string()).unwrap_or_default(),
                        p.secured.to_string(),
                        p.term.start.to_string(),
                        p.term.end.to_string(),
                        String::new(),
                    ];
                    ew.write_record(&row)?;
                    encs_pq.push(&row)?;
                    encs.rows += 1;
                }
                for l in &r.licences {
                    let status = if l.terminated_at.is_some() { "terminated" } else { "active" };
                    let row = [
                        r.id.to_string(),
                        number.clone(),
                        "licence".into(),
                        l.id.to_string(),
                        l.licensee.name.clone(),
                        l.licensee.id_number.clone(),
                        status.into(),
                        String::new(),
                        l.fee.as_ref().map(|f| f.to_string()).unwrap_or_default(),
                        l.term.start.to_string(),
                        l.term.end.to_string(),
                        text(l.kind),
                    ];
                    ew.write_record(&row)?;
                    encs_pq.push(&row)?;
                    encs.rows += 1;
                }
            }
        }
        rw.flush()?;
        ew.flush()?;
    }
    let Some((size, checkpoint)) = store.checkpoint(None).await? else {
        bail!("the log is empty: nothing to export");
    };
    let mut events = Out::create(dir, "events.jsonl.gz")?;
    let mut next = 0;
    while next < size {
        let end = (next + 10_000).min(size);
        for (i, e) in (next..end).zip(store.log_entries(next, end).await?) {
            if e.contains(&b'\n') {
                bail!("log entry {i} holds a newline");
            }
            events.gz.write_all(&e)?;
            events.gz.write_all(b"\n")?;
            events.rows += 1;
        }
        next = end;
    }
    if events.rows != size {
        bail!("the database holds {} of the log's {size} entries", events.rows);
    }
    let statistics = store.statistics(&Default::default()).await?;
    let stats = serde_json::to_vec_pretty(&json!({"size": size, "statistics": statistics}))?;
    std::fs::write(dir.join("statistics.json"), &stats)?;
    let files = vec![
        events.finish(&[("(line)", "one public log entry: the canonical JSON the log hashes; line n is index n")])?,
        regs.finish(REGISTRATION_COLUMNS)?,
        regs_json.finish(&[("(line)", "one registered record as GET /api/v1/public/records/{id} shows it")])?,
        regs_pq.finish(REGISTRATION_COLUMNS)?,
        encs.finish(ENCUMBRANCE_COLUMNS)?,
        encs_pq.finish(ENCUMBRANCE_COLUMNS)?,
        FileEntry {
            name: "statistics.json".into(),
            sha256: hex::encode(Sha256::digest(&stats)),
            bytes: stats.len() as u64,
            rows: 1,
            columns: vec![("statistics".into(), "the figures of GET /api/v1/statistics when the dump was made".into())],
        },
    ];
    let manifest = Manifest { format: FORMAT.into(), made_at: rfc3339(state.clock.now()), size, checkpoint, files };
    let tmp = dir.join("manifest.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)?;
    std::fs::rename(&tmp, dir.join("manifest.json"))?;
    Ok(manifest)
}

/// Dumps the server keeps; older ones are removed (they are copies of what the register holds).
const KEEP: usize = 7;
/// The file naming the newest dump's directory.
pub const LATEST: &str = "latest";

/// Write a new dump under `root` (in a directory of its own, named after its time and log size), check it,
/// then point `root/latest` at it and remove all but the newest few.
pub async fn publish(state: &Registry, root: &Path) -> anyhow::Result<Manifest> {
    let now = state.clock.now();
    let size = state.store.log_size().await?;
    let name = format!("{}-{size}", now.format("%Y%m%dT%H%M%SZ"));
    let dir = root.join(&name);
    let manifest = export(state, &dir).await?;
    check(&dir, &state.signer.verifier()).with_context(|| format!("the new dump {} does not check", dir.display()))?;
    let tmp = root.join("latest.tmp");
    std::fs::write(&tmp, &name)?;
    std::fs::rename(&tmp, root.join(LATEST))?;
    let mut dumps: Vec<_> = std::fs::read_dir(root)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    dumps.sort();
    for old in dumps.iter().rev().skip(KEEP) {
        std::fs::remove_dir_all(root.join(old))?;
    }
    Ok(manifest)
}

/// The newest dump's directory under `root`, if any.
pub fn latest(root: &Path) -> Option<std::path::PathBuf> {
    let name = std::fs::read_to_string(root.join(LATEST)).ok()?;
    let name = name.trim();
    (!name.is_empty() && !name.contains(['/', '\\']) && name != "..").then(|| root.join(name))
}

/// The server's task: a dump every `bulk_interval_secs` (the first when none is newer than that).
pub async fn run(state: std::sync::Arc<Registry>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let (Some(root), every) = (state.config.bulk_dir.clone(), state.config.bulk_interval_secs) else { return };
    if every == 0 {
        return;
    }
    loop {
        let made = latest(&root)
            .and_then(|d| std::fs::read(d.join("manifest.json")).ok())
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
            .and_then(|m| chrono::DateTime::parse_from_rfc3339(&m.made_at).ok());
        let due =
            made.is_none_or(|t| (state.clock.now() - t.with_timezone(&chrono::Utc)).num_seconds() >= every as i64);
        if due {
            let result = publish(&state, &root).await;
            state.metrics.task_ran("bulk", result.is_ok());
            match result {
                Ok(m) => tracing::info!(size = m.size, dir = %root.display(), "bulk data written"),
                Err(e) => tracing::warn!(error = %e, "writing bulk data failed; retrying later"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(every.clamp(1, 60))) => {}
            _ = stop.changed() => return,
        }
    }
}

/// What a successful check found.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    pub size: u64,
    pub registrations: u64,
    pub encumbrances: u64,
}

fn open_gz(dir: &Path, f: &FileEntry) -> anyhow::Result<BufReader<GzDecoder<std::fs::File>>> {
    let file = std::fs::File::open(dir.join(&f.name)).with_context(|| format!("opening {}", f.name))?;
    Ok(BufReader::new(GzDecoder::new(file)))
}

/// Check a downloaded dump against the log, offline: the manifest's checkpoint carries `key`'s signature; every
/// file is the one the manifest names; the events rebuild the checkpoint's tree exactly; the registrations are
/// exactly those the events issued, and the encumbrances belong to them.
pub fn check(dir: &Path, key: &NoteVerifier) -> anyhow::Result<CheckReport> {
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)
        .context("manifest.json is not a dump manifest")?;
    if manifest.format != FORMAT {
        bail!("unknown dump format {:?}", manifest.format);
    }
    let (cp, _) = Checkpoint::open(manifest.checkpoint.as_bytes(), key, key.name())
        .context("the manifest's checkpoint is not signed by the trusted key")?;
    if cp.size != manifest.size {
        bail!("the manifest says {} entries but its checkpoint has {}", manifest.size, cp.size);
    }
    for f in &manifest.files {
        let mut h = Sha256::new();
        let mut file = std::fs::File::open(dir.join(&f.name)).with_context(|| format!("{} is missing", f.name))?;
        std::io::copy(&mut file, &mut h)?;
        if hex::encode(h.finalize()) != f.sha256 {
            bail!("{} is not the file the manifest names (its SHA-256 differs)", f.name);
        }
    }
    let file = |name: &str| {
        manifest.files.iter().find(|f| f.name == name).with_context(|| format!("the manifest names no {name}"))
    };

    // The events: exactly the log's entries 0..size, in order.
    let mut tree = Frontier::new();
    let mut issued = BTreeSet::new();
    for (i, line) in open_gz(dir, file("events.jsonl.gz")?)?.lines().enumerate() {
        let line = line?;
        let entry = LogEntry::parse(line.as_bytes()).map_err(|e| anyhow::anyhow!("events line {}: {e}", i + 1))?;
        if let Some(n) = entry.data.get("registration_number").and_then(Value::as_str) {
            issued.insert(n.to_string());
        }
        tree.push_leaf(leaf_hash(line.as_bytes()));
    }
    if tree.size() != cp.size || tree.root() != cp.root {
        bail!(
            "the events do not rebuild the signed checkpoint ({} entries read, the checkpoint has {}): entries are \
             missing, added, reordered or changed",
            tree.size(),
            cp.size
        );
    }

    // The registrations: each issued by an event, and every issued one present.
    let mut listed = BTreeSet::new();
    let mut regs = csv::Reader::from_reader(strip_bom(open_gz(dir, file("registrations.csv.gz")?)?)?);
    let number_at =
        regs.headers()?.iter().position(|h| h == "registration_number").context("no registration_number column")?;
    for row in regs.records() {
        let n = row?.get(number_at).unwrap_or_default().to_string();
        if !issued.contains(&n) {
            bail!("registrations.csv.gz lists {n}, which no event in the log issued");
        }
        if !listed.insert(n.clone()) {
            bail!("registrations.csv.gz lists {n} twice");
        }
    }
    if let Some(n) = issued.difference(&listed).next() {
        bail!("registration {n} was issued in the log but is missing from registrations.csv.gz");
    }
    let mut encumbrances = 0;
    let mut encs = csv::Reader::from_reader(strip_bom(open_gz(dir, file("encumbrances.csv.gz")?)?)?);
    let number_at =
        encs.headers()?.iter().position(|h| h == "registration_number").context("no registration_number column")?;
    for row in encs.records() {
        let n = row?.get(number_at).unwrap_or_default().to_string();
        if !listed.contains(&n) {
            bail!("encumbrances.csv.gz burdens {n}, which is not among the registrations");
        }
        encumbrances += 1;
    }
    Ok(CheckReport { size: cp.size, registrations: listed.len() as u64, encumbrances })
}

fn strip_bom<R: Read>(mut r: R) -> anyhow::Result<std::io::Chain<std::io::Cursor<Vec<u8>>, R>> {
    let mut head = [0u8; 3];
    let mut got = 0;
    while got < 3 {
        let n = r.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let start = if head[..got] == *BOM { 3 } else { 0 };
    Ok(std::io::Cursor::new(head[start..got].to_vec()).chain(r))
}
