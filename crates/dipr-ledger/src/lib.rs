//! The dipr public ledger as a pure library: RFC 9162 Merkle trees and proofs, C2SP signed notes,
//! checkpoints, tiles and tlog-proofs, canonical log entries, and certificates with their offline
//! verification. No I/O, no async: the server stores what this crate computes, and `dipr verify` checks
//! certificates with nothing but this crate.

pub mod canonical;
pub mod certificate;
pub mod checkpoint;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod search;
pub mod tile;
pub mod timestamp;
pub mod witness;

pub use merkle::Hash;
