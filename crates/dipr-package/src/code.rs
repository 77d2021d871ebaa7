//! Keyed winnowing of source code (being written).
