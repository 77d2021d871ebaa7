//! A package read into canonical files, one file at a time (a model's weights may be larger than memory
//! allows twice): a directory (honouring `.gitignore` as git does), a zip or tar(.gz) archive, a tar
//! stream (what `git archive` writes for a commit), or a single file.
//!
//! Canonical means: paths relative, `/`-separated, NFC, without `.` or `..`; when every file sits under
//! one top-level directory (as in most archives), that directory is dropped, so a package committed from
//! its archive and from its unpacked directory gives the same files. Text (valid UTF-8 without NUL) loses
//! a leading byte-order mark and has its line endings made LF; anything else is kept byte for byte.

use std::io::Read;
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use crate::PackageError;

/// One file of a package, canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    pub path: String,
    pub content: Vec<u8>,
    /// Read as text (line endings normalised), not as bytes.
    pub text: bool,
}

impl PackageFile {
    pub fn new(path: String, bytes: Vec<u8>) -> Self {
        // Weights are binary whatever their bytes happen to look like.
        if crate::weights::is_weights_file(&path) {
            return Self { path, content: bytes, text: false };
        }
        let (content, text) = canonical_content(bytes);
        Self { path, content, text }
    }

    /// BLAKE3 of the canonical content, as a file proof states it and a verifier recomputes it.
    pub fn content_hash(&self) -> String {
        content_hash(&self.content)
    }
}

pub fn content_hash(canonical: &[u8]) -> String {
    format!("blake3:{}", blake3::hash(canonical).to_hex())
}

/// Text without BOM and with LF line endings, or the bytes as they are.
pub fn canonical_content(bytes: Vec<u8>) -> (Vec<u8>, bool) {
    if bytes.contains(&0) || std::str::from_utf8(&bytes).is_err() {
        return (bytes, false);
    }
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    if !body.contains(&b'\r') && body.len() == bytes.len() {
        return (bytes, true);
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' => {
                out.push(b'\n');
                if body.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    (out, true)
}

/// A relative, `/`-separated, NFC path without empty, `.` or `..` parts.
pub fn normalise_path(raw: &str) -> Result<String, PackageError> {
    let nfc: String = raw.replace('\\', "/").nfc().collect();
    let mut parts = Vec::new();
    for part in nfc.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(PackageError::Invalid(format!("{raw:?}: a package path may not leave the package"))),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(PackageError::Invalid(format!("{raw:?} names no file")));
    }
    Ok(parts.join("/"))
}

/// Where a package is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Dir(PathBuf),
    Zip(PathBuf),
    Tar {
        path: PathBuf,
        gzip: bool,
    },
    /// A single file (a model's weights, one script).
    File(PathBuf),
}

impl Source {
    /// A directory, an archive by its name, or a single file.
    pub fn detect(path: &Path) -> Self {
        if path.is_dir() {
            return Self::Dir(path.into());
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
        if name.ends_with(".zip") {
            Self::Zip(path.into())
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".crate") {
            Self::Tar { path: path.into(), gzip: true }
        } else if name.ends_with(".tar") {
            Self::Tar { path: path.into(), gzip: false }
        } else {
            Self::File(path.into())
        }
    }

    /// Read every file, in path order, calling `each` with it; returns the number of files.
    pub fn read(&self, each: &mut dyn FnMut(PackageFile) -> Result<(), PackageError>) -> Result<u64, PackageError> {
        match self {
            Self::Dir(root) => read_dir(root, each),
            Self::Zip(path) => read_zip(path, each),
            Self::Tar { path, gzip } => {
                let open = || -> Result<Box<dyn Read>, PackageError> {
                    let f = std::io::BufReader::new(std::fs::File::open(path)?);
                    Ok(if *gzip { Box::new(flate2::read::GzDecoder::new(f)) } else { Box::new(f) })
                };
                // Names first (to find a common top directory), then the contents.
                let mut names = Vec::new();
                for entry in tar::Archive::new(open()?).entries()? {
                    let entry = entry?;
                    if entry.header().entry_type().is_file() {
                        names.push(String::from_utf8_lossy(&entry.path_bytes()).into_owned());
                    }
                }
                read_tar_with(open()?, &common_top(&names)?, each)
            }
            Self::File(path) => {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
                each(PackageFile::new(normalise_path(name)?, std::fs::read(path)?))?;
                Ok(1)
            }
        }
    }
}

/// Read a tar stream (`git archive --format=tar REV` writes one), file by file in stream order.
pub fn read_tar(
    stream: impl Read,
    each: &mut dyn FnMut(PackageFile) -> Result<(), PackageError>,
) -> Result<u64, PackageError> {
    read_tar_with(stream, "", each)
}

fn read_tar_with(
    stream: impl Read,
    top: &str,
    each: &mut dyn FnMut(PackageFile) -> Result<(), PackageError>,
) -> Result<u64, PackageError> {
    let mut seen = std::collections::HashSet::new();
    let mut n = 0;
    for entry in tar::Archive::new(stream).entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_symlink()) {
            continue;
        }
        let path = strip(&String::from_utf8_lossy(&entry.path_bytes()), top)?;
        if !seen.insert(path.clone()) {
            return Err(PackageError::Invalid(format!("{path:?} is in the archive twice")));
        }
        // A symbolic link is committed as its target, as git stores it.
        let bytes = match entry.link_name_bytes() {
            Some(target) if kind.is_symlink() => target.into_owned(),
            _ => {
                let mut b = Vec::with_capacity(entry.size() as usize);
                entry.read_to_end(&mut b)?;
                b
            }
        };
        each(PackageFile::new(path, bytes))?;
        n += 1;
    }
    Ok(n)
}

fn read_zip(path: &Path, each: &mut dyn FnMut(PackageFile) -> Result<(), PackageError>) -> Result<u64, PackageError> {
    let bad = |e: zip::result::ZipError| PackageError::Invalid(format!("{}: {e}", path.display()));
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(std::fs::File::open(path)?)).map_err(bad)?;
    let mut entries: Vec<(String, usize)> = Vec::new();
    for i in 0..archive.len() {
        let f = archive.by_index_raw(i).map_err(bad)?;
        if f.is_file() {
            entries.push((f.name().map_err(bad)?.into_owned(), i));
        }
    }
    let top = common_top(&entries.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>())?;
    let mut named: Vec<(String, usize)> =
        entries.into_iter().map(|(n, i)| Ok((strip(&n, &top)?, i))).collect::<Result<_, PackageError>>()?;
    named.sort();
    if let Some(w) = named.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(PackageError::Invalid(format!("{:?} is in the archive twice", w[0].0)));
    }
    for (name, i) in &named {
        let mut f = archive.by_index(*i).map_err(bad)?;
        let mut b = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut b)?;
        each(PackageFile::new(name.clone(), b))?;
    }
    Ok(named.len() as u64)
}

fn read_dir(root: &Path, each: &mut dyn FnMut(PackageFile) -> Result<(), PackageError>) -> Result<u64, PackageError> {
    let walk = ignore::WalkBuilder::new(root)
        .hidden(false)
        .parents(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    let mut files = Vec::new();
    for entry in walk {
        let entry = entry.map_err(|e| PackageError::Invalid(e.to_string()))?;
        let Some(kind) = entry.file_type() else { continue };
        if kind.is_file() || kind.is_symlink() {
            let rel = entry.path().strip_prefix(root).expect("under the root").to_string_lossy().into_owned();
            files.push((rel, entry.into_path(), kind.is_symlink()));
        }
    }
    let top = common_top(&files.iter().map(|(r, _, _)| r.clone()).collect::<Vec<_>>())?;
    let mut named: Vec<(String, PathBuf, bool)> =
        files.into_iter().map(|(r, p, link)| Ok((strip(&r, &top)?, p, link))).collect::<Result<_, PackageError>>()?;
    named.sort();
    for (name, path, link) in &named {
        let bytes = if *link {
            std::fs::read_link(path)?.to_string_lossy().replace('\\', "/").into_bytes()
        } else {
            std::fs::read(path)?
        };
        each(PackageFile::new(name.clone(), bytes))?;
    }
    Ok(named.len() as u64)
}

/// The one top-level directory every file sits under, if there is one (with its trailing `/`).
fn common_top(names: &[String]) -> Result<String, PackageError> {
    let mut top: Option<String> = None;
    for n in names {
        let n = normalise_path(n)?;
        let Some((first, _)) = n.split_once('/') else { return Ok(String::new()) };
        match &top {
            None => top = Some(first.to_string()),
            Some(t) if t == first => {}
            Some(_) => return Ok(String::new()),
        }
    }
    Ok(top.map(|t| format!("{t}/")).unwrap_or_default())
}

fn strip(name: &str, top: &str) -> Result<String, PackageError> {
    let n = normalise_path(name)?;
    Ok(n.strip_prefix(top).map(str::to_string).unwrap_or(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(s: &Source) -> Vec<PackageFile> {
        let mut out = Vec::new();
        s.read(&mut |f| {
            out.push(f);
            Ok(())
        })
        .unwrap();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    #[test]
    fn text_is_canonical_and_binary_is_kept() {
        assert_eq!(canonical_content(b"a\r\nb\rc\n".to_vec()), (b"a\nb\nc\n".to_vec(), true));
        assert_eq!(canonical_content("\u{feff}x\n".into()), (b"x\n".to_vec(), true));
        assert_eq!(canonical_content(vec![0, 1, b'\r', b'\n']), (vec![0, 1, b'\r', b'\n'], false));
        assert_eq!(canonical_content(vec![0xff, b'\r']), (vec![0xff, b'\r'], false));
    }

    #[test]
    fn paths_are_relative_and_stay_inside() {
        assert_eq!(normalise_path("./src//lib.rs").unwrap(), "src/lib.rs");
        assert_eq!(normalise_path("src\\main.rs").unwrap(), "src/main.rs");
        assert!(normalise_path("../etc/passwd").is_err());
        assert!(normalise_path("/").is_err());
        // NFC: a decomposed é and a composed one are one path.
        assert_eq!(normalise_path("cafe\u{301}.py").unwrap(), "caf\u{e9}.py");
    }

    #[test]
    fn a_directory_an_unpacked_copy_and_its_archives_give_the_same_files() {
        let tmp = std::env::temp_dir().join(format!("dipr-package-source-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let root = tmp.join("pkg-1.0");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("target")).unwrap();
        std::fs::write(root.join("src/lib.rs"), "fn main() {}\r\n").unwrap();
        std::fs::write(root.join("weights.bin"), [0u8, 1, 2, 3]).unwrap();
        std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
        std::fs::write(root.join("target/junk.o"), "ignored").unwrap();

        let from_dir = collect(&Source::Dir(root.clone()));
        let names: Vec<&str> = from_dir.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, [".gitignore", "src/lib.rs", "weights.bin"], "ignored files are left out");
        assert_eq!(from_dir[1].content, b"fn main() {}\n");
        // The parent directory holds one top directory: dropped.
        assert_eq!(collect(&Source::Dir(tmp.clone())), from_dir);

        let tgz = tmp.join("pkg.tar.gz");
        {
            let gz = flate2::write::GzEncoder::new(std::fs::File::create(&tgz).unwrap(), flate2::Compression::fast());
            let mut t = tar::Builder::new(gz);
            for f in [".gitignore", "src/lib.rs", "weights.bin"] {
                t.append_path_with_name(root.join(f), format!("pkg-1.0/{f}")).unwrap();
            }
            t.into_inner().unwrap().finish().unwrap();
        }
        assert_eq!(collect(&Source::detect(&tgz)), from_dir);

        let zipped = tmp.join("pkg.zip");
        {
            let mut z = zip::ZipWriter::new(std::fs::File::create(&zipped).unwrap());
            for f in [".gitignore", "src/lib.rs", "weights.bin"] {
                z.start_file(format!("pkg-1.0/{f}"), zip::write::SimpleFileOptions::default()).unwrap();
                std::io::Write::write_all(&mut z, &std::fs::read(root.join(f)).unwrap()).unwrap();
            }
            z.finish().unwrap();
        }
        assert_eq!(collect(&Source::detect(&zipped)), from_dir);
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn an_archive_that_escapes_is_refused() {
        let tmp = std::env::temp_dir().join(format!("dipr-package-escape-{}.zip", std::process::id()));
        {
            let mut z = zip::ZipWriter::new(std::fs::File::create(&tmp).unwrap());
            z.start_file("a/../../evil.sh", zip::write::SimpleFileOptions::default()).unwrap();
            z.finish().unwrap();
        }
        let err = Source::detect(&tmp).read(&mut |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("may not leave the package"), "{err}");
        std::fs::remove_file(&tmp).unwrap();
    }
}
