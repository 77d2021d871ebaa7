//! Checkpoint text parsing never panics, and a parsed checkpoint prints back to its text.
#![no_main]
use dipr_ledger::checkpoint::Checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cp) = Checkpoint::parse_text(text) {
            assert_eq!(Checkpoint::parse_text(&cp.text()), Ok(cp));
        }
    }
});
