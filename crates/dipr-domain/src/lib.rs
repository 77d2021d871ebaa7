//! The dipr domain: identifiers, parties, applications and the rules of the registration lifecycle.
//!
//! Architecture invariant: this crate does no I/O. It knows nothing of HTTP, SQL, async or the file
//! system; time comes in through [`time::Clock`] or as an argument.

pub mod access;
pub mod application;
pub mod encumbrance;
pub mod error;
pub mod holding;
pub mod ids;
pub mod lifecycle;
pub mod party;
pub mod public;
pub mod shown;
pub mod time;

pub use error::{DomainError, FieldError};
