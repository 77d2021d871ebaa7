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

    /// The path after `tile/` (the inverse of [`TileRequest::parse`]).
    pub fn path(&self) -> String {
        let level = self.level.map_or_else(|| "entries".to_string(), |l| l.to_string());
        let partial = self.partial.map_or_else(String::new, |w| format!(".p/{w}"));
        format!("{level}/{}{partial}", encode_index(self.index))
    }

    /// Where this tile's hashes (or entries) start and how many it holds, at its own level of the tree; `None`
    /// for an index beyond any tree.
    pub fn span(&self) -> Option<(u64, u64)> {
        let start = self.index.checked_mul(TILE_WIDTH)?;
        let width = self.partial.unwrap_or(TILE_WIDTH);
        start.checked_add(width)?;
        Some((start, width))
    }
}

/// Every tile a tree of `size` entries is served as: at each level the full tiles and the partial one, if any
/// (C2SP tlog-tiles: the partial tile at level `l` has `floor(size / 256^l) mod 256` hashes; empty tiles do not
/// exist), and the entry bundles, which follow level 0. Full tiles come before the partial one of their level.
pub fn tiles_for(size: u64) -> Vec<TileRequest> {
    let mut tiles = Vec::new();
    let mut level = 0u8;
    loop {
        let hashes = size.checked_shr(u32::from(level) * u32::from(TILE_HEIGHT)).unwrap_or(0);
        if hashes == 0 {
            break;
        }
        let levels: &[Option<u8>] = if level == 0 { &[Some(0), None] } else { &[Some(level)] };
        for &l in levels {
            tiles.extend((0..hashes / TILE_WIDTH).map(|index| TileRequest { level: l, index, partial: None }));
            if hashes % TILE_WIDTH != 0 {
                tiles.push(TileRequest { level: l, index: hashes / TILE_WIDTH, partial: Some(hashes % TILE_WIDTH) });
            }
        }
        level += 1;
    }
    tiles
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
        for path in ["0/x001/234.p/7", "entries/000", "entries/x012/345.p/255", "3/000"] {
            assert_eq!(TileRequest::parse(path).unwrap().path(), path);
        }
    }

    #[test]
    fn the_tiles_of_a_tree_are_those_of_the_specification() {
        let count = |tiles: &[TileRequest], level: Option<u8>, full: bool| {
            tiles.iter().filter(|t| t.level == level && t.partial.is_none() == full).count()
        };
        let width = |tiles: &[TileRequest], level: Option<u8>| {
            tiles.iter().find(|t| t.level == level && t.partial.is_some()).and_then(|t| t.partial)
        };
        // c2sp.org/tlog-tiles: "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
        // level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one partial
        // level 2 tile of width 1" (and as many entry bundles as level 0 tiles).
        let t = tiles_for(70_000);
        assert_eq!((count(&t, Some(0), true), width(&t, Some(0))), (273, Some(112)));
        assert_eq!((count(&t, None, true), width(&t, None)), (273, Some(112)));
        assert_eq!((count(&t, Some(1), true), width(&t, Some(1))), (1, Some(17)));
        assert_eq!((count(&t, Some(2), true), width(&t, Some(2))), (0, Some(1)));
        assert_eq!(t.len(), 273 * 2 + 2 + 2 + 1);
        assert!(t.iter().all(|r| r.level.is_none_or(|l| l <= 2)));
        // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile of width 1".
        let paths: Vec<String> = tiles_for(256).iter().map(TileRequest::path).collect();
        assert_eq!(paths, ["0/000", "entries/000", "1/000.p/1"]);
        assert!(tiles_for(0).is_empty());
        assert_eq!(tiles_for(1).iter().map(TileRequest::path).collect::<Vec<_>>(), ["0/000.p/1", "entries/000.p/1"]);
        assert!(t.iter().all(|r| TileRequest::parse(&r.path()) == Some(*r)));
        let beyond = TileRequest::parse("0/x018/x446/x744/x073/x709/x551/615").unwrap();
        assert_eq!((beyond.index, beyond.span()), (u64::MAX, None));
        assert_eq!(TileRequest::parse("entries/x001/000.p/3").unwrap().span(), Some((256_000, 3)));
    }
}
