//! Fingerprinting arbitrary bytes as CSV, TSV or JSON Lines never panics: bad input is an error that
//! names its line.
#![no_main]
use dipr_fingerprint::{fingerprint, Format, Options, Secrets};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn secrets() -> &'static Secrets {
    static S: OnceLock<Secrets> = OnceLock::new();
    S.get_or_init(|| Secrets::generate("fuzz").unwrap())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let format = [Format::Csv, Format::Tsv, Format::Jsonl][usize::from(selector % 3)];
    let opts = Options { format, product: String::new(), version: 1, views: vec![], scale: 4, keep_fingerprints: false, discovery_key: None };
    let _ = fingerprint(body, &opts, secrets(), &mut |_| {});
});
