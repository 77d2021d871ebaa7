//! Certificate parsing and full verification of arbitrary input never panic.
#![no_main]
use dipr_ledger::certificate::{verify, Certificate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::parse(data) {
        let _ = verify(&cert, None, None);
    }
});
