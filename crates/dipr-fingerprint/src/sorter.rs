//! Sorting and deduplicating commitment leaves in bounded memory: chunks are sorted in memory and
//! spilled to temporary files, then merged; the root is folded from the merged stream keeping only the
//! tree's frontier (at most 64 hashes).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use crate::{node, Hash};

/// Leaves held in memory before a chunk is spilled (32 bytes each: 64 MiB).
pub const CHUNK: usize = 2 * 1024 * 1024;

pub struct LeafSorter {
    chunk: Vec<Hash>,
    chunk_limit: usize,
    spills: Vec<PathBuf>,
}

impl Default for LeafSorter {
    fn default() -> Self {
        Self::with_chunk(CHUNK)
    }
}

/// Builds the RFC 9162-shaped root over leaves pushed in order, keeping only the frontier.
#[derive(Default)]
pub struct RootBuilder {
    /// (level, hash) of perfect subtrees, largest first.
    frontier: Vec<(u32, Hash)>,
    count: u64,
}

impl RootBuilder {
    pub fn push(&mut self, leaf: Hash) {
        let mut cur = (0u32, leaf);
        while let Some(&(level, left)) = self.frontier.last() {
            if level != cur.0 {
                break;
            }
            self.frontier.pop();
            cur = (level + 1, node(&left, &cur.1));
        }
        self.frontier.push(cur);
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The root: the perfect subtrees folded right to left.
    pub fn root(&self) -> Hash {
        let mut it = self.frontier.iter().rev();
        match it.next() {
            None => *blake3::hash(b"").as_bytes(),
            Some(&(_, last)) => it.fold(last, |acc, (_, left)| node(left, &acc)),
        }
    }
}

impl LeafSorter {
    pub fn with_chunk(chunk_limit: usize) -> Self {
        Self { chunk: Vec::new(), chunk_limit: chunk_limit.max(1), spills: Vec::new() }
    }

    pub fn push(&mut self, leaf: Hash) -> std::io::Result<()> {
        self.chunk.push(leaf);
        if self.chunk.len() >= self.chunk_limit {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> std::io::Result<()> {
        self.chunk.sort_unstable();
        self.chunk.dedup();
        let path = std::env::temp_dir().join(format!(
            "dipr-leaves-{}-{}-{}",
            std::process::id(),
            self.spills.len(),
            rand_suffix()
        ));
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        for l in &self.chunk {
            w.write_all(l)?;
        }
        w.flush()?;
        self.spills.push(path);
        self.chunk.clear();
        Ok(())
    }

    /// Sort, deduplicate and fold: (distinct leaves, root).
    pub fn finish(self) -> std::io::Result<(u64, Hash)> {
        Self::finish_all(vec![self])
    }

    /// Sort, deduplicate and fold the leaves of several sorters together: (distinct leaves, root). The
    /// same leaves give the same root however they were shared out.
    pub fn finish_all(mut sorters: Vec<Self>) -> std::io::Result<(u64, Hash)> {
        let mut root = RootBuilder::default();
        // The chunks still in memory are sorted side by side.
        std::thread::scope(|scope| {
            for s in sorters.iter_mut().filter(|s| s.spills.is_empty()) {
                scope.spawn(|| {
                    s.chunk.sort_unstable();
                    s.chunk.dedup();
                });
            }
        });
        let mut sources: Vec<Source> = Vec::new();
        for s in &mut sorters {
            if s.spills.is_empty() {
                sources.push(Source::Memory(std::mem::take(&mut s.chunk).into_iter()));
            } else {
                if !s.chunk.is_empty() {
                    s.spill()?;
                }
                for p in &s.spills {
                    sources.push(Source::File(BufReader::with_capacity(1 << 16, File::open(p)?)));
                }
            }
        }
        if let [Source::Memory(only)] = &mut sources[..] {
            for l in only {
                root.push(l);
            }
            return Ok((root.count(), root.root()));
        }
        let mut heap = BinaryHeap::new();
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some(l) = s.next_leaf()? {
                heap.push(Reverse((l, i)));
            }
        }
        let mut last: Option<Hash> = None;
        while let Some(Reverse((l, i))) = heap.pop() {
            if last != Some(l) {
                root.push(l);
                last = Some(l);
            }
            if let Some(next) = sources[i].next_leaf()? {
                heap.push(Reverse((next, i)));
            }
        }
        Ok((root.count(), root.root()))
    }
}

/// Sorted leaves: a chunk still in memory, or one spilled to a file.
enum Source {
    Memory(std::vec::IntoIter<Hash>),
    File(BufReader<File>),
}

impl Source {
    fn next_leaf(&mut self) -> std::io::Result<Option<Hash>> {
        match self {
            Source::Memory(it) => Ok(it.next()),
            Source::File(r) => read_leaf(r),
        }
    }
}

impl Drop for LeafSorter {
    fn drop(&mut self) {
        for p in &self.spills {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn read_leaf(r: &mut BufReader<File>) -> std::io::Result<Option<Hash>> {
    let mut buf = [0u8; 32];
    match r.read_exact(&mut buf) {
        Ok(()) => Ok(Some(buf)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

fn rand_suffix() -> u64 {
    let mut b = [0u8; 8];
    let _ = crate::getrandom(&mut b);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_and_in_memory_roots_agree_with_the_tree() {
        let leaves: Vec<Hash> = (0..10_000u32).map(|i| *blake3::hash(&(i % 7_000).to_le_bytes()).as_bytes()).collect();
        let mut sorted = leaves.clone();
        sorted.sort_unstable();
        sorted.dedup();
        let want = crate::commitment::root(&sorted);
        for chunk in [1_000_000usize, 999, 64] {
            let mut s = LeafSorter::with_chunk(chunk);
            for l in &leaves {
                s.push(*l).unwrap();
            }
            assert_eq!(s.finish().unwrap(), (7_000, want), "chunk {chunk}");
        }
        // Shared out between sorters, spilled or not, the leaves fold to the same root.
        for (chunk, parts) in [(1_000_000usize, 3usize), (999, 2), (64, 5)] {
            let mut sorters: Vec<LeafSorter> = (0..parts).map(|_| LeafSorter::with_chunk(chunk)).collect();
            for (i, l) in leaves.iter().enumerate() {
                sorters[i * 7 % parts].push(*l).unwrap();
            }
            assert_eq!(LeafSorter::finish_all(sorters).unwrap(), (7_000, want), "chunk {chunk}, {parts} sorters");
        }
        assert_eq!(LeafSorter::default().finish().unwrap().1, crate::commitment::root(&[]));
    }
}
