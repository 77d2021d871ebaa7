//! How canonical records are hashed: fingerprints, salts and commitment leaves, in two versions.
//!
//! - **v1** (`dipr-fingerprint-manifest/v1`, `dipr-record-proof/v1`): the record's bytes are
//!   `name 0x1F value` joined with `0x1E`; `fp = BLAKE3_keyed(K, view ‖ 0x00 ‖ bytes)[..8]`,
//!   `salt = BLAKE3_keyed(K₂, bytes)[..16]`, `leaf = BLAKE3(0x00 ‖ salt ‖ bytes)`. Every column name is
//!   hashed again in every record, three times.
//! - **v2** (`…/v2`): the names are hashed once per view, into a key, and one hash of the record gives
//!   both its full-row fingerprint and its salt. A record's bytes are its values only, each preceded by
//!   its length (LEB128), in the view's column order;
//!   `T(view) = BLAKE3("dipr fp/2" ‖ 0x00 ‖ len-prefixed view name ‖ len-prefixed column names)`.
//!   Over every column: `X = BLAKE3_keyed(K_r, values)` with
//!   `K_r = BLAKE3_keyed(K, T("record") ‖ BLAKE3_keyed(K₂, T("record")))`; `salt = X[0..16]`, and the
//!   fingerprint on any view of every column, unrounded, is `X[16..24]` (big-endian). On any other view:
//!   `fp = BLAKE3_keyed(BLAKE3_keyed(K, T(view)), values)[..8]`. The leaf is
//!   `BLAKE3(0x00 ‖ salt ‖ N ‖ values)` with `N = BLAKE3(len-prefixed column names)[..16]`, so it still
//!   binds the names. For a 19-column record: 4 BLAKE3 blocks instead of 14.
//!
//! The discovery sketch stays v1 in both: it is compared with every registered product's.

use crate::{canon, FingerprintError, Hash, SchemaColumn, View};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    V1,
    V2,
}

impl Scheme {
    /// The scheme of a manifest of version `v`.
    pub(crate) fn of_manifest(v: &str) -> Result<Self, FingerprintError> {
        match v {
            crate::MANIFEST_VERSION_1 => Ok(Self::V1),
            crate::MANIFEST_VERSION => Ok(Self::V2),
            _ => Err(FingerprintError::Invalid(format!("unsupported manifest {v}"))),
        }
    }

    /// The scheme of a record proof of version `v`.
    pub(crate) fn of_proof(v: &str) -> Result<Self, FingerprintError> {
        match v {
            crate::PROOF_VERSION_1 => Ok(Self::V1),
            crate::PROOF_VERSION => Ok(Self::V2),
            _ => Err(FingerprintError::Invalid(format!("unsupported proof {v}"))),
        }
    }

    pub(crate) fn proof_version(self) -> &'static str {
        match self {
            Self::V1 => crate::PROOF_VERSION_1,
            Self::V2 => crate::PROOF_VERSION,
        }
    }
}

fn push_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn push_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    push_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// `T(view)`: what a v2 key is derived for.
fn tag<'n>(view: &str, names: impl IntoIterator<Item = &'n str>) -> Hash {
    let mut t = b"dipr fp/2\0".to_vec();
    push_prefixed(&mut t, view.as_bytes());
    for n in names {
        push_prefixed(&mut t, n.as_bytes());
    }
    *blake3::hash(&t).as_bytes()
}

/// `N`: the column names a v2 leaf binds.
fn names_tag<'n>(names: impl IntoIterator<Item = &'n str>) -> [u8; 16] {
    let mut t = Vec::new();
    for n in names {
        push_prefixed(&mut t, n.as_bytes());
    }
    blake3::hash(&t).as_bytes()[..16].try_into().expect("16")
}

fn first_u64(h: &blake3::Hash) -> u64 {
    u64::from_be_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// The leaf of a record revealed in a proof: its canonical values by column name (every schema column,
/// in name order) and its salt.
pub(crate) fn proof_leaf(scheme: Scheme, record: &crate::CanonicalRecord, salt: &[u8; 16]) -> Hash {
    let mut bytes = vec![0];
    bytes.extend_from_slice(salt);
    match scheme {
        Scheme::V1 => {
            let mut rec = Vec::new();
            for (k, v) in record {
                canon::push_column(&mut rec, k, v.as_deref());
            }
            bytes.extend(rec);
        }
        Scheme::V2 => {
            bytes.extend_from_slice(&names_tag(record.keys().map(String::as_str)));
            for v in record.values() {
                push_prefixed(&mut bytes, v.as_deref().unwrap_or("").as_bytes());
            }
        }
    }
    *blake3::hash(&bytes).as_bytes()
}

/// A record's canonical bytes on every view, built once per record into buffers that are reused. Each
/// buffer keeps room in front of the record for what is hashed before it (a view's name, a salt), so
/// every hash is one call over one slice.
pub(crate) struct Encoder<'a> {
    schema: &'a [SchemaColumn],
    views: &'a [View],
    scheme: Scheme,
    sampling_key: Hash,
    salt_key: Hash,
    /// Suspect cells are read as scrapers write them (`lenient`), in this zone when declared.
    suspect: Option<Option<crate::lenient::Zone>>,
    unread: Vec<Unread>,
    /// v2: each view's key, the record key, the names tag, and `X` of the encoded record once computed.
    view_keys: Vec<Hash>,
    record_key: Hash,
    names: [u8; 16],
    x: Option<Hash>,
    room: usize,
    /// `room` bytes, then the full record.
    full: Vec<u8>,
    /// Each column's canonical value in `full`.
    spans: Vec<(usize, usize)>,
    /// `room` bytes, then a projection (or, in v2, the v1 record for the discovery sketch).
    view: Vec<u8>,
}

impl<'a> Encoder<'a> {
    pub(crate) fn new(
        schema: &'a [SchemaColumn],
        views: &'a [View],
        scheme: Scheme,
        sampling_key: &Hash,
        salt_key: &Hash,
    ) -> Self {
        let names = || schema.iter().map(|c| c.name.as_str());
        let view_keys = views
            .iter()
            .map(|v| {
                let t = tag(&v.name, v.columns.iter().map(|&i| schema[i].name.as_str()));
                *blake3::keyed_hash(sampling_key, &t).as_bytes()
            })
            .collect();
        let record_key = {
            let t = tag("record", names());
            let mut m = t.to_vec();
            m.extend_from_slice(blake3::keyed_hash(salt_key, &t).as_bytes());
            *blake3::keyed_hash(sampling_key, &m).as_bytes()
        };
        let room = views.iter().map(|v| v.name.len() + 1).chain([33, "full".len() + 1]).max().expect("not empty");
        Self {
            schema,
            views,
            scheme,
            suspect: None,
            unread: Vec::new(),
            sampling_key: *sampling_key,
            salt_key: *salt_key,
            view_keys,
            record_key,
            names: names_tag(names()),
            x: None,
            room,
            full: Vec::with_capacity(512),
            spans: Vec::new(),
            view: Vec::with_capacity(512),
        }
    }

    /// Read cells as a suspect's: as scrapers write them, local times in `zone`.
    pub(crate) fn reading_suspect(mut self, zone: Option<crate::lenient::Zone>) -> Self {
        self.suspect = Some(zone);
        self.unread = vec![Unread::default(); self.schema.len()];
        self
    }

    /// Per schema column, how the suspect's cells read (suspects only).
    pub(crate) fn unread(&self) -> &[Unread] {
        &self.unread
    }

    fn value<'c>(
        &self,
        raw: &'c str,
        ty: crate::canon::ColumnType,
        round: Option<u32>,
    ) -> Option<std::borrow::Cow<'c, str>> {
        match self.suspect {
            None => canon::value_cow(raw, ty, round),
            Some(zone) => crate::lenient::value(raw, ty, round, zone),
        }
    }

    /// Encode a record; `cell(i)` is its raw cell for schema column `i`.
    pub(crate) fn encode<'c>(&mut self, cell: impl Fn(usize) -> Option<&'c str>) {
        self.full.clear();
        self.full.resize(self.room, 0);
        self.spans.clear();
        self.x = None;
        for (i, col) in self.schema.iter().enumerate() {
            let v = match (cell(i), self.suspect) {
                (Some(raw), Some(zone)) if !canon::is_null(raw) => {
                    let u = &mut self.unread[i];
                    u.cells += 1;
                    let read = crate::lenient::typed(raw, col.ty, None, zone);
                    // A time without a zone matches only times registered without one: counted, so that
                    // a report can say to declare the zone.
                    let unzoned = col.ty == crate::canon::ColumnType::DateTime
                        && read.as_deref().is_some_and(|v| !v.ends_with('Z'));
                    let read = if unzoned { None } else { read };
                    read.or_else(|| {
                        u.unread += 1;
                        // The smallest, so that the report is the same whatever the thread count.
                        let example: String = raw.chars().take(40).collect();
                        if u.example.as_ref().is_none_or(|e| example < *e) {
                            u.example = Some(example);
                        }
                        canon::value_cow(raw, col.ty, None)
                    })
                }
                (raw, _) => raw.and_then(|raw| self.value(raw, col.ty, None)),
            };
            let v = v.as_deref().unwrap_or("").as_bytes();
            match self.scheme {
                Scheme::V1 => {
                    if i > 0 {
                        self.full.push(canon::RECORD_SEP);
                    }
                    self.full.extend_from_slice(col.name.as_bytes());
                    self.full.push(canon::UNIT_SEP);
                }
                Scheme::V2 => push_len(&mut self.full, v.len()),
            }
            let start = self.full.len();
            self.full.extend_from_slice(v);
            self.spans.push((start, self.full.len()));
        }
    }

    /// `fp` of the encoded record on view `vi`.
    pub(crate) fn fingerprint<'c>(&mut self, vi: usize, cell: impl Fn(usize) -> Option<&'c str>) -> u64 {
        let view = &self.views[vi];
        if view.is_full {
            return match self.scheme {
                Scheme::V1 => prefixed_fingerprint(&self.sampling_key, &view.name, &mut self.full, self.room),
                Scheme::V2 => u64::from_be_bytes(self.x()[16..24].try_into().expect("8 bytes")),
            };
        }
        self.view.clear();
        self.view.resize(self.room, 0);
        for (k, &i) in view.columns.iter().enumerate() {
            let col = &self.schema[i];
            let rounded;
            let v: &[u8] = match view.round[k] {
                None => &self.full[self.spans[i].0..self.spans[i].1],
                Some(r) => {
                    rounded = match (view.convert[k], self.suspect) {
                        // Registered values are converted, then rounded; a suspect's are taken as converted.
                        (Some(f), None) => cell(i)
                            .and_then(|raw| canon::value_cow(raw, col.ty, None))
                            .map(|v| crate::converted(&v, f, r).map_or(v, std::borrow::Cow::Owned)),
                        _ => cell(i).and_then(|raw| self.value(raw, col.ty, Some(r))),
                    };
                    rounded.as_deref().unwrap_or("").as_bytes()
                }
            };
            match self.scheme {
                Scheme::V1 => {
                    if k > 0 {
                        self.view.push(canon::RECORD_SEP);
                    }
                    self.view.extend_from_slice(col.name.as_bytes());
                    self.view.push(canon::UNIT_SEP);
                    self.view.extend_from_slice(v);
                }
                Scheme::V2 => push_prefixed(&mut self.view, v),
            }
        }
        match self.scheme {
            Scheme::V1 => prefixed_fingerprint(&self.sampling_key, &view.name, &mut self.view, self.room),
            Scheme::V2 => first_u64(&blake3::keyed_hash(&self.view_keys[vi], &self.view[self.room..])),
        }
    }

    /// The full record's v1 `fp` under `key` (the discovery sketch's), whatever the scheme.
    pub(crate) fn discovery_fingerprint(&mut self, key: &Hash) -> u64 {
        if self.scheme == Scheme::V1 {
            return prefixed_fingerprint(key, "full", &mut self.full, self.room);
        }
        self.view.clear();
        self.view.resize(self.room, 0);
        for (i, col) in self.schema.iter().enumerate() {
            if i > 0 {
                self.view.push(canon::RECORD_SEP);
            }
            self.view.extend_from_slice(col.name.as_bytes());
            self.view.push(canon::UNIT_SEP);
            self.view.extend_from_slice(&self.full[self.spans[i].0..self.spans[i].1]);
        }
        prefixed_fingerprint(key, "full", &mut self.view, self.room)
    }

    /// v2's `X` of the encoded record.
    fn x(&mut self) -> Hash {
        *self.x.get_or_insert_with(|| *blake3::keyed_hash(&self.record_key, &self.full[self.room..]).as_bytes())
    }

    /// The full record's commitment leaf and salt.
    pub(crate) fn leaf(&mut self) -> (Hash, [u8; 16]) {
        let (salt, at): ([u8; 16], usize) = match self.scheme {
            Scheme::V1 => {
                let salt = blake3::keyed_hash(&self.salt_key, &self.full[self.room..]);
                (salt.as_bytes()[..16].try_into().expect("16"), self.room - 17)
            }
            Scheme::V2 => {
                let salt = self.x()[..16].try_into().expect("16");
                self.full[self.room - 16..self.room].copy_from_slice(&self.names);
                (salt, self.room - 33)
            }
        };
        self.full[at] = 0;
        self.full[at + 1..at + 17].copy_from_slice(&salt);
        (*blake3::hash(&self.full[at..]).as_bytes(), salt)
    }
}

/// How a suspect's cells of one column read: non-null cells, those that did not read as the column's
/// type (or, for date-times, read without a zone), and the smallest of those.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unread {
    pub(crate) cells: u64,
    pub(crate) unread: u64,
    pub(crate) example: Option<String>,
}

impl Unread {
    pub(crate) fn merge(&mut self, other: &Unread) {
        self.cells += other.cells;
        self.unread += other.unread;
        if let Some(e) = &other.example {
            if self.example.as_ref().is_none_or(|mine| e < mine) {
                self.example = Some(e.clone());
            }
        }
    }
}

/// v1's `fp` over `buf[room..]`, writing the view's name in the room in front of it.
fn prefixed_fingerprint(key: &Hash, view: &str, buf: &mut [u8], room: usize) -> u64 {
    let at = room - view.len() - 1;
    buf[at..room - 1].copy_from_slice(view.as_bytes());
    buf[room - 1] = 0;
    first_u64(&blake3::keyed_hash(key, &buf[at..]))
}
