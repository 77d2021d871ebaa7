//! tlog-proof parsing never panics; parsed proofs round-trip; verification of arbitrary proofs
//! against a fixed key never panics.
#![no_main]
use dipr_ledger::note::NoteSigner;
use dipr_ledger::proof::TlogProof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = TlogProof::parse(text) {
            assert_eq!(TlogProof::parse(&p.to_text()).as_ref(), Ok(&p));
            let key = NoteSigner::generate("fuzz.example").unwrap().verifier();
            let _ = p.verify(&[0; 32], &key, "fuzz.example");
        }
    }
});
