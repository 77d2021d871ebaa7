//! The log as C2SP tlog-tiles: the bytes of one tile, as the server serves it.
//!
//! A tile's bytes depend only on its path: a full tile holds 256 hashes (or entries) of a log that only grows,
//! and a partial tile `.p/W` the first W of them. No address ever changes what it holds; a larger log is
//! served at other addresses (a wider partial tile, then the full one).

use dipr_ledger::tile::{TileRequest, TILE_HEIGHT};
use dipr_store::Store;

use crate::error::{Error, Result};

/// The bytes of a tile of the log as it is now, or `None` when the log does not (yet) reach that far.
pub async fn tile(store: &dyn Store, req: &TileRequest) -> Result<Option<Vec<u8>>> {
    let size = store.log_size().await?;
    let (start, width) = req.span();
    let level_shift = u32::from(req.level.unwrap_or(0)) * u32::from(TILE_HEIGHT);
    // Hashes available at this tile's level of the tree.
    let available = size.checked_shr(level_shift).unwrap_or(0);
    if start.checked_add(width).is_none_or(|end| end > available) {
        return Ok(None);
    }
    read(store, req).await.map(Some)
}

/// A tile the log is known to reach: hash tiles are the stored subtree hashes of their level, concatenated;
/// entry bundles are the entries, each after its length as a big-endian u16.
async fn read(store: &dyn Store, req: &TileRequest) -> Result<Vec<u8>> {
    let (start, width) = req.span();
    match req.level {
        Some(level) => {
            let tree_level = level * TILE_HEIGHT;
            let keys: Vec<(u8, u64)> = (start..start + width).map(|i| (tree_level, i)).collect();
            let nodes = store.log_nodes(&keys).await?;
            let mut out = Vec::with_capacity(keys.len() * 32);
            for k in &keys {
                out.extend_from_slice(nodes.get(k).ok_or_else(|| Error::internal(format!("missing log hash {k:?}")))?);
            }
            Ok(out)
        }
        None => {
            let entries = store.log_entries(start, start + width).await?;
            if entries.len() as u64 != width {
                return Err(Error::internal(format!("entries {start}..{}: {} found", start + width, entries.len())));
            }
            let mut out = Vec::new();
            for e in entries {
                let len = u16::try_from(e.len()).map_err(|_| Error::internal("a log entry exceeds 65535 bytes"))?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&e);
            }
            Ok(out)
        }
    }
}
