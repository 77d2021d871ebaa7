//! Reads a weights file, or every weights file of a directory, hashes every tensor and prints how long
//! that took as JSON:
//!
//!     cargo run --release -p dipr-package --example weights_hash -- PATH

use std::path::{Path, PathBuf};
use std::time::Instant;

use dipr_package::weights::{entries, is_weights_file, read_tensors};

fn files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let file = entry?.path();
        if is_weights_file(&file.to_string_lossy()) {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: weights_hash FILE_OR_DIRECTORY")?;
    let key = [7u8; 32];
    let (mut tensors, mut bytes, mut read_seconds, mut parse_seconds, mut hash_seconds) = (0, 0u64, 0.0, 0.0, 0.0);
    let files = files(Path::new(&path))?;
    for file in &files {
        let started = Instant::now();
        let content = std::fs::read(file)?;
        read_seconds += started.elapsed().as_secs_f64();

        let started = Instant::now();
        let read = read_tensors(&file.to_string_lossy(), &content)?;
        parse_seconds += started.elapsed().as_secs_f64();

        let started = Instant::now();
        std::hint::black_box(entries(&key, &read));
        hash_seconds += started.elapsed().as_secs_f64();

        tensors += read.len();
        bytes += read.iter().map(|t| t.data.len() as u64).sum::<u64>();
    }
    println!(
        "{}",
        serde_json::json!({
            "files": files.len(),
            "tensors": tensors,
            "bytes": bytes,
            "read_seconds": read_seconds,
            "parse_seconds": parse_seconds,
            "hash_seconds": hash_seconds,
            "hash_gb_per_s": bytes as f64 / hash_seconds / 1e9,
            "parse_and_hash_gb_per_s": bytes as f64 / (parse_seconds + hash_seconds) / 1e9,
        })
    );
    Ok(())
}
