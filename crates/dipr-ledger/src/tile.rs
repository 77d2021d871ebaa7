//! `c2sp.org/tlog-tiles` paths: tiles of height 8 (256 hashes) and entry bundles.

/// Tile height: each tile holds up to 2^8 = 256 hashes.
pub const TILE_HEIGHT: u8 = 8;
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// Encode a tile index as path elements: `1234067` → `x001/x234/067`.
pub fn encode_index(mut n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        parts.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

/// Parse the path elements of a tile index (the inverse of [`encode_index`]).
pub fn parse_index(path: &str) -> Option<u64> {
    let parts: Vec<&str> = path.split('/').collect();
    let (last, rest) = parts.split_last()?;
    let mut n: u64 = 0;
    for p in rest {
        let d = p.strip_prefix('x')?;
        if d.len() != 3 || !d.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(d.parse().ok()?)?;
    }
    if last.len() != 3 || !last.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = n.checked_mul(1000)?.checked_add(last.parse().ok()?)?;
    // Canonical form only: no leading x000 groups.
    (encode_index(n) == path).then_some(n)
}

/// A parsed tile request: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRequest {
    /// `None` for an entry bundle.
    pub level: Option<u8>,
    pub index: u64,
    /// Width of a partial tile (1–255), or `None` for a full one.
    pub partial: Option<u64>,
}

impl TileRequest {
    /// Parse the part of the path after `tile/`.
    pub fn parse(path: &str) -> Option<Self> {
        let (head, rest) = path.split_once('/')?;
        let level = if head == "entries" {
            None
        } else {
            if head.is_empty() || head.len() > 2 || !head.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(head.parse::<u8>().ok().filter(|l| *l < 8)?)
        };
        let (index, partial) = match rest.split_once(".p/") {
            Some((idx, w)) => {
                let w: u64 = w.parse().ok().filter(|w| (1..TILE_WIDTH).contains(w))?;
                if w.to_string() != rest.split_once(".p/")?.1 {
                    return None;
                }
                (idx, Some(w))
            }
            None => (rest, None),
        };
        Some(Self { level, index: parse_index(index)?, partial })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        for n in [0, 7, 999, 1000, 1_234_067, u64::MAX / 3] {
            assert_eq!(parse_index(&encode_index(n)), Some(n));
        }
        assert_eq!(parse_index("x000/001"), None);
        assert_eq!(parse_index("1"), None);
        assert_eq!(
            TileRequest::parse("0/x001/234.p/7"),
            Some(TileRequest { level: Some(0), index: 1234, partial: Some(7) })
        );
        assert_eq!(TileRequest::parse("entries/000"), Some(TileRequest { level: None, index: 0, partial: None }));
        for bad in ["9/000", "0/000.p/256", "0/000.p/0", "0/000.p/07", "x/000", "0"] {
            assert_eq!(TileRequest::parse(bad), None, "{bad}");
        }
    }
}
