//! A witness fed arbitrary add-checkpoint bodies never panics and never advances on bad input signed
//! by nobody it trusts.
#![no_main]
use std::collections::BTreeMap;
use std::sync::OnceLock;

use dipr_ledger::note::NoteSigner;
use dipr_ledger::witness::{add_checkpoint, WitnessState};
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static (NoteSigner, NoteSigner) {
    static KEYS: OnceLock<(NoteSigner, NoteSigner)> = OnceLock::new();
    KEYS.get_or_init(|| (NoteSigner::generate("log.example").unwrap(), NoteSigner::generate("w.example").unwrap()))
}

fuzz_target!(|data: &[u8]| {
    let (log, witness) = keys();
    let logs = BTreeMap::from([("log.example".to_string(), log.verifier())]);
    let mut state = WitnessState::default();
    if add_checkpoint(&mut state, &logs, witness, data, 0).is_err() {
        assert!(state.logs.is_empty());
    }
});
