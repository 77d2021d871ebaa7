//! Signed-note parsing never panics, and whatever parses renders back to the same bytes.
#![no_main]
use dipr_ledger::note::Note;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(Note::parse(note.to_text().as_bytes()).as_ref(), Ok(&note));
    }
});
