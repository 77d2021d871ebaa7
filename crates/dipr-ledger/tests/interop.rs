//! Interoperability with independent implementations of the same formats: `signed_note` and
//! `tlog_tiles` (ports of Go's `sumdb/note` and `sumdb/tlog`, used by Cloudflare's CT log). What dipr
//! writes, they accept; what they write, dipr accepts.

use dipr_ledger::checkpoint::Checkpoint;
use dipr_ledger::merkle::{consistency_proof, inclusion_proof, leaf_hash, MemoryTree};
use dipr_ledger::note::{Note, NoteSigner, NoteVerifier};

fn tree(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(format!("entry {i}").as_bytes());
    }
    t
}

#[test]
fn our_checkpoints_verify_with_signed_note_and_parse_with_tlog_tiles() {
    let signer = NoteSigner::generate("dipr.example.cn/log").unwrap();
    let t = tree(1234);
    let cp = Checkpoint { origin: "dipr.example.cn/log".into(), size: t.size(), root: t.root() };
    let note = cp.sign(&signer);
    let theirs = signed_note::Note::from_bytes(note.as_bytes()).unwrap();
    let verifier = signed_note::StandardVerifier::new(&signer.verifier().to_string()).unwrap();
    let list = signed_note::VerifierList::new(vec![Box::new(verifier)]);
    let (verified, _) = theirs.verify(&list).unwrap();
    assert_eq!(verified.len(), 1);
    let parsed = tlog_tiles::Checkpoint::from_bytes(cp.text().as_bytes()).unwrap();
    assert_eq!((parsed.origin(), parsed.size(), parsed.hash().0), ("dipr.example.cn/log", 1234, t.root()));

    // A changed byte fails their verification too.
    let tampered = note.replacen("1234", "1235", 1);
    assert!(signed_note::Note::from_bytes(tampered.as_bytes()).unwrap().verify(&list).is_err());
}

#[test]
fn their_notes_verify_with_ours() {
    let (skey, vkey) = signed_note::generate_key(&mut rand_core::OsRng, "their.example");
    let signer = signed_note::StandardSigner::new(&skey).unwrap();
    let mut note = signed_note::Note::new(b"hello from elsewhere\n", &[]).unwrap();
    note.add_sigs(&[&signer]).unwrap();
    let bytes = note.to_bytes();
    let ours = NoteVerifier::parse(&vkey).unwrap();
    ours.verify(&Note::parse(&bytes).unwrap()).unwrap();
    let restored = NoteSigner::from_private_string(&skey).unwrap();
    assert_eq!(restored.verifier(), ours);
}

#[test]
fn our_proofs_check_with_tlog_tiles() {
    let t = tree(1000);
    for (index, size) in [(0u64, 1u64), (5, 6), (511, 512), (513, 1000), (999, 1000)] {
        let root = dipr_ledger::merkle::tree_root(&t, size).unwrap();
        let proof: Vec<tlog_tiles::Hash> =
            inclusion_proof(&t, index, size).unwrap().into_iter().map(tlog_tiles::Hash).collect();
        let leaf = leaf_hash(format!("entry {index}").as_bytes());
        tlog_tiles::check_record(&proof, size, tlog_tiles::Hash(root), index, tlog_tiles::Hash(leaf)).unwrap();
        assert!(
            tlog_tiles::check_record(&proof, size, tlog_tiles::Hash(root), index, tlog_tiles::Hash([0; 32])).is_err()
        );
    }
    for (old, new) in [(1u64, 2u64), (3, 7), (256, 1000), (999, 1000)] {
        let proof: Vec<tlog_tiles::Hash> =
            consistency_proof(&t, old, new).unwrap().into_iter().map(tlog_tiles::Hash).collect();
        let (old_root, new_root) =
            (dipr_ledger::merkle::tree_root(&t, old).unwrap(), dipr_ledger::merkle::tree_root(&t, new).unwrap());
        tlog_tiles::check_tree(&proof, new, tlog_tiles::Hash(new_root), old, tlog_tiles::Hash(old_root)).unwrap();
    }
}
