//! RFC 9162 (§2.1) Merkle tree hashing, inclusion and consistency proofs.
//!
//! A tree is read through [`HashSource`], which returns the root of any complete, aligned subtree
//! ("stored hashes", as in Go's `sumdb/tlog`): level `l`, index `i` covers leaves `[i·2^l, (i+1)·2^l)`.
//! Appending leaf `n` stores its hash at level 0 plus one parent for every subtree it completes
//! ([`hashes_to_store`]), about two hashes per leaf; every root and proof is computed from those.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Read access to stored subtree roots.
pub trait HashSource {
    type Error;
    /// Root of the complete subtree at `level` covering leaves `[index << level, (index + 1) << level)`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// The hashes to store when appending leaf number `index` (0-based) with hash `leaf`: the leaf at level
/// 0 and every subtree root it completes. Reads the left siblings from `src`.
pub fn hashes_to_store<S: HashSource>(src: &S, index: u64, leaf: Hash) -> Result<Vec<(u8, u64, Hash)>, S::Error> {
    let mut out = vec![(0u8, index, leaf)];
    let (mut level, mut i, mut cur) = (0u8, index, leaf);
    while i & 1 == 1 {
        let left = src.node(level, i - 1)?;
        cur = node_hash(&left, &cur);
        level += 1;
        i >>= 1;
        out.push((level, i, cur));
    }
    Ok(out)
}

/// The stored hashes a tree of `size` leaves needs to grow: the roots of the perfect subtrees that
/// make it up, largest first. Appending any number of leaves reads nothing else that already exists.
pub fn frontier(size: u64) -> Vec<(u8, u64)> {
    (0..64u8).rev().filter(|l| size >> l & 1 == 1).map(|l| (l, (size >> l) - 1)).collect()
}

/// MTH of leaves `[lo, hi)`.
pub fn subtree_root<S: HashSource>(src: &S, lo: u64, hi: u64) -> Result<Hash, S::Error> {
    let n = hi - lo;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return src.node(n.trailing_zeros() as u8, lo >> n.trailing_zeros());
    }
    let k = split(n);
    Ok(node_hash(&subtree_root(src, lo, lo + k)?, &subtree_root(src, lo + k, hi)?))
}

/// The root of the tree of the first `size` leaves.
pub fn tree_root<S: HashSource>(src: &S, size: u64) -> Result<Hash, S::Error> {
    subtree_root(src, 0, size)
}

/// Why a proof cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    #[error("index {index} is not below tree size {size}")]
    OutOfRange { index: u64, size: u64 },
    #[error(transparent)]
    Source(E),
}

/// Inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
pub fn inclusion_proof<S: HashSource>(src: &S, index: u64, size: u64) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::OutOfRange { index, size });
    }
    let mut proof = Vec::new();
    path(src, index, 0, size, &mut proof).map_err(ProofError::Source)?;
    Ok(proof)
}

fn path<S: HashSource>(src: &S, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) -> Result<(), S::Error> {
    let n = hi - lo;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(src, m, lo, lo + k, out)?;
        out.push(subtree_root(src, lo + k, hi)?);
    } else {
        path(src, m - k, lo + k, hi, out)?;
        out.push(subtree_root(src, lo, lo + k)?);
    }
    Ok(())
}

/// Consistency proof between the trees of `old` and `new` leaves (RFC 9162 §2.1.4.1).
pub fn consistency_proof<S: HashSource>(src: &S, old: u64, new: u64) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old > new {
        return Err(ProofError::OutOfRange { index: old, size: new });
    }
    let mut proof = Vec::new();
    if old > 0 && old < new {
        subproof(src, old, 0, new, true, &mut proof).map_err(ProofError::Source)?;
    }
    Ok(proof)
}

fn subproof<S: HashSource>(
    src: &S,
    m: u64,
    lo: u64,
    hi: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push(subtree_root(src, lo, hi)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, lo, lo + k, whole, out)?;
        out.push(subtree_root(src, lo + k, hi)?);
    } else {
        subproof(src, m - k, lo + k, hi, false, out)?;
        out.push(subtree_root(src, lo, lo + k)?);
    }
    Ok(())
}

/// Check an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    verify_inclusion_with(node_hash, leaf, index, size, proof, root)
}

/// [`verify_inclusion`] for a tree of the same shape with another node hash (the fingerprint
/// commitment uses BLAKE3).
pub fn verify_inclusion_with(
    node_hash: impl Fn(&Hash, &Hash) -> Hash,
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && &r == root
}

/// Check a consistency proof between two tree heads (RFC 9162 §2.1.4.2).
pub fn verify_consistency(old: u64, new: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> bool {
    if old > new {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    if old == 0 {
        return proof.is_empty();
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    &fr == old_root && &sr == new_root && s == 0
}

/// Which stored hashes a computation reads. Proof and root algorithms never branch on hash values,
/// so one dry run with a recording source names every node a real run needs: a database can then fetch
/// them in one query and run again over a [`MapSource`].
pub fn nodes_needed<T>(run: impl FnOnce(&Recorder) -> T) -> Vec<(u8, u64)> {
    let rec = Recorder::default();
    let _ = run(&rec);
    let mut keys = rec.seen.into_inner();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A [`HashSource`] that records what is asked of it (see [`nodes_needed`]).
#[derive(Default)]
pub struct Recorder {
    seen: std::cell::RefCell<Vec<(u8, u64)>>,
}

impl HashSource for Recorder {
    type Error = std::convert::Infallible;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        self.seen.borrow_mut().push((level, index));
        Ok([0; 32])
    }
}

/// Stored hashes fetched into a map.
#[derive(Debug, Default, Clone)]
pub struct MapSource(pub std::collections::HashMap<(u8, u64), Hash>);

impl HashSource for MapSource {
    type Error = MissingHash;
    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingHash> {
        self.0.get(&(level, index)).copied().ok_or(MissingHash(level, index))
    }
}

/// An in-memory tree with stored hashes: tests, benchmarks and offline tools.
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    /// `levels[l][i]` is the stored hash at level `l`, index `i`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Append an entry's leaf hash; returns its index.
    pub fn push_leaf(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        let hashes = hashes_to_store(self, index, leaf).expect("memory reads never fail");
        for (level, i, h) in hashes {
            let level = usize::from(level);
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            debug_assert_eq!(self.levels[level].len() as u64, i);
            self.levels[level].push(h);
        }
        index
    }

    pub fn push(&mut self, entry: &[u8]) -> u64 {
        self.push_leaf(leaf_hash(entry))
    }

    pub fn root(&self) -> Hash {
        tree_root(self, self.size()).expect("memory reads never fail")
    }
}

/// The right edge of a growing tree: only the roots of the perfect subtrees that make it up ([`frontier`]),
/// so a log of any size is rebuilt leaf by leaf in memory that grows with the logarithm of its size. Each
/// push returns the stored hashes the leaf completes, to compare with those a database holds.
#[derive(Debug, Default, Clone)]
pub struct Frontier {
    size: u64,
    /// `(level, index, hash)`, largest subtree first, as [`frontier`] orders them.
    nodes: Vec<(u8, u64, Hash)>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append a leaf; returns what [`hashes_to_store`] stores for it (the leaf and every subtree it completes).
    pub fn push_leaf(&mut self, leaf: Hash) -> Vec<(u8, u64, Hash)> {
        let stored = hashes_to_store(self, self.size, leaf).expect("the frontier holds every left sibling");
        // The leaf's completed subtrees replace the smaller ones they contain: what remains is the new frontier.
        let merged = stored.len() - 1;
        self.nodes.truncate(self.nodes.len() - merged);
        let top = *stored.last().expect("at least the leaf");
        self.nodes.push(top);
        self.size += 1;
        stored
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        tree_root(self, self.size).expect("the frontier holds the root's parts")
    }

    /// The frontier of a tree of `size` leaves from the roots of its perfect subtrees, in [`frontier`]'s order:
    /// what a reader needs to go on hashing the log from entry `size` without the entries before it. `None`
    /// when there are not exactly as many roots as the size has perfect subtrees.
    pub fn from_roots(size: u64, roots: &[Hash]) -> Option<Self> {
        let keys = frontier(size);
        (keys.len() == roots.len())
            .then(|| Self { size, nodes: keys.into_iter().zip(roots).map(|((l, i), h)| (l, i, *h)).collect() })
    }

    /// The roots of the perfect subtrees, largest first (what [`Frontier::from_roots`] takes).
    pub fn roots(&self) -> Vec<Hash> {
        self.nodes.iter().map(|(_, _, h)| *h).collect()
    }
}

/// Whether `leaves` are exactly the log's leaves `[start, start + n)` of the tree whose root at `size` is
/// `root`. `left` are the roots of the perfect subtrees of the first `start` leaves (as [`frontier`] orders
/// them) and `consistency` proves the tree of `start + n` leaves a prefix of the tree of `size`. Whoever
/// supplies `left` cannot make other leaves pass: the recomputed root of `start + n` leaves must be the one
/// the consistency proof ties to the signed root, and it commits to every leaf and its position.
pub fn verify_range(
    start: u64,
    left: &[Hash],
    leaves: impl IntoIterator<Item = Hash>,
    size: u64,
    root: &Hash,
    consistency: &[Hash],
) -> bool {
    let Some(mut f) = Frontier::from_roots(start, left) else {
        return false;
    };
    for leaf in leaves {
        f.push_leaf(leaf);
    }
    f.size() <= size && verify_consistency(f.size(), size, &f.root(), root, consistency)
}

impl HashSource for Frontier {
    type Error = MissingHash;
    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingHash> {
        self.nodes
            .iter()
            .find(|(l, i, _)| *l == level && *i == index)
            .map(|(_, _, h)| *h)
            .ok_or(MissingHash(level, index))
    }
}

/// Reading a hash the tree does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no stored hash at level {0}, index {1}")]
pub struct MissingHash(pub u8, pub u64);

impl HashSource for MemoryTree {
    type Error = MissingHash;
    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingHash> {
        self.levels
            .get(usize::from(level))
            .and_then(|l| l.get(index as usize))
            .copied()
            .ok_or(MissingHash(level, index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// MTH straight from the RFC's recursive definition, over raw entries.
    fn reference_root(entries: &[Vec<u8>]) -> Hash {
        match entries.len() {
            0 => empty_root(),
            1 => leaf_hash(&entries[0]),
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&entries[..k]), &reference_root(&entries[k..]))
            }
        }
    }

    fn tree(n: u64) -> (MemoryTree, Vec<Vec<u8>>) {
        let mut t = MemoryTree::new();
        let entries: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
        for e in &entries {
            t.push(e);
        }
        (t, entries)
    }

    #[test]
    fn the_frontier_rebuilds_every_root_and_stored_hash() {
        let (t, entries) = tree(300);
        let mut f = Frontier::new();
        let mut stored = 0;
        for (i, e) in entries.iter().enumerate() {
            for (level, index, h) in f.push_leaf(leaf_hash(e)) {
                assert_eq!(t.node(level, index), Ok(h));
                stored += 1;
            }
            assert_eq!(f.root(), tree_root(&t, i as u64 + 1).unwrap());
            assert_eq!(f.root(), reference_root(&entries[..=i]));
            assert!(f.nodes.len() <= 9);
        }
        assert_eq!(stored, t.levels.iter().map(Vec::len).sum::<usize>());
        assert_eq!(Frontier::new().root(), empty_root());
    }

    proptest! {
        #[test]
        fn a_range_verifies_against_a_later_root_and_nothing_else_does(
            size in 1u64..70, a in 0u64..70, b in 0u64..70, tamper in 0usize..4,
        ) {
            let (start, end) = (a.min(b) % (size + 1), a.max(b) % (size + 1));
            let (start, end) = (start.min(end), start.max(end));
            let entries: Vec<Vec<u8>> = (0..size).map(|i| format!("entry {i}").into_bytes()).collect();
            let mut t = MemoryTree::new();
            for e in &entries {
                t.push(e);
            }
            let left: Vec<Hash> = frontier(start).iter().map(|&(l, i)| t.node(l, i).unwrap()).collect();
            let mut leaves: Vec<Hash> = entries[start as usize..end as usize].iter().map(|e| leaf_hash(e)).collect();
            let proof = consistency_proof(&t, end, size).unwrap();
            let root = t.root();
            prop_assert!(verify_range(start, &left, leaves.clone(), size, &root, &proof));
            let mut left = left;
            let changed = match tamper {
                0 if !leaves.is_empty() => { leaves[0][0] ^= 1; true }
                1 if leaves.len() > 1 => { leaves.swap(0, 1); leaves[0] != leaves[1] }
                // Dropping the last is only a shorter page; one before it moves the rest.
                2 if leaves.len() > 1 => { leaves.remove(0); true }
                3 if !left.is_empty() => { left[0][5] ^= 1; true }
                _ => false,
            };
            if changed {
                prop_assert!(!verify_range(start, &left, leaves, size, &root, &proof));
            }
        }
    }

    /// The RFC 6962 test vectors used by Certificate Transparency implementations (the eight leaves of
    /// RFC 6962's reference tests, and the roots of their prefixes).
    #[test]
    fn rfc6962_test_vectors() {
        let leaves: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let mut t = MemoryTree::new();
        for (leaf, root) in leaves.iter().zip(roots) {
            t.push(leaf);
            assert_eq!(hex::encode(t.root()), root, "root of {} leaves", t.size());
        }
    }

    #[test]
    fn the_frontier_is_all_appends_read() {
        let (t, _) = tree(1000);
        for size in [0u64, 1, 2, 3, 6, 255, 256, 999] {
            let keys = frontier(size);
            let mut src = MapSource(keys.iter().map(|k| (*k, t.node(k.0, k.1).unwrap())).collect());
            for i in size..size + 40 {
                for (l, idx, h) in hashes_to_store(&src, i, leaf_hash(&i.to_le_bytes())).unwrap() {
                    src.0.insert((l, idx), h);
                }
            }
        }
    }

    #[test]
    fn recorded_nodes_are_enough() {
        let (t, _) = tree(1000);
        let fetch =
            |keys: Vec<(u8, u64)>| MapSource(keys.into_iter().map(|k| (k, t.node(k.0, k.1).unwrap())).collect());
        let keys = nodes_needed(|r| inclusion_proof(r, 345, 999).map(|_| ()));
        assert!(keys.len() < 40, "{}", keys.len());
        assert_eq!(inclusion_proof(&fetch(keys), 345, 999).unwrap(), inclusion_proof(&t, 345, 999).unwrap());
        let keys = nodes_needed(|r| consistency_proof(r, 17, 1000).map(|_| ()));
        assert_eq!(consistency_proof(&fetch(keys), 17, 1000).unwrap(), consistency_proof(&t, 17, 1000).unwrap());
        let keys = nodes_needed(|r| hashes_to_store(r, 1000, [1; 32]));
        assert_eq!(hashes_to_store(&fetch(keys), 1000, [1; 32]).unwrap(), hashes_to_store(&t, 1000, [1; 32]).unwrap());
    }

    #[test]
    fn proofs_for_every_index_and_size_up_to_70() {
        let (t, entries) = tree(70);
        for size in 1..=70u64 {
            let root = tree_root(&t, size).unwrap();
            assert_eq!(root, reference_root(&entries[..size as usize]));
            for index in 0..size {
                let p = inclusion_proof(&t, index, size).unwrap();
                assert!(
                    verify_inclusion(&leaf_hash(&entries[index as usize]), index, size, &p, &root),
                    "{index}/{size}"
                );
            }
            for old in 0..=size {
                let p = consistency_proof(&t, old, size).unwrap();
                let old_root = tree_root(&t, old).unwrap();
                assert!(verify_consistency(old, size, &old_root, &root, &p), "{old}→{size}");
            }
        }
        assert!(inclusion_proof(&t, 5, 5).is_err());
    }

    proptest! {
        #[test]
        fn a_flipped_bit_fails_inclusion(size in 1u64..300, index_seed in any::<u64>(), byte in 0usize..32, bit in 0u8..8, which in any::<prop::sample::Index>()) {
            let (t, entries) = tree(size);
            let index = index_seed % size;
            let root = t.root();
            let leaf = leaf_hash(&entries[index as usize]);
            let proof = inclusion_proof(&t, index, size).unwrap();
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root));
            let mut bad_leaf = leaf;
            bad_leaf[byte] ^= 1 << bit;
            prop_assert!(!verify_inclusion(&bad_leaf, index, size, &proof, &root));
            let mut bad_root = root;
            bad_root[byte] ^= 1 << bit;
            prop_assert!(!verify_inclusion(&leaf, index, size, &proof, &bad_root));
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let i = which.index(bad.len());
                bad[i][byte] ^= 1 << bit;
                prop_assert!(!verify_inclusion(&leaf, index, size, &bad, &root));
                prop_assert!(!verify_inclusion(&leaf, index, size, &proof[..proof.len() - 1], &root));
            }
        }

        #[test]
        fn a_flipped_bit_fails_consistency(new in 2u64..300, old_seed in any::<u64>(), byte in 0usize..32, bit in 0u8..8, which in any::<prop::sample::Index>()) {
            let (t, _) = tree(new);
            let old = 1 + old_seed % (new - 1);
            let (old_root, new_root) = (tree_root(&t, old).unwrap(), t.root());
            let proof = consistency_proof(&t, old, new).unwrap();
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof));
            let mut bad = proof.clone();
            let i = which.index(bad.len());
            bad[i][byte] ^= 1 << bit;
            prop_assert!(!verify_consistency(old, new, &old_root, &new_root, &bad));
            let mut bad_old = old_root;
            bad_old[byte] ^= 1 << bit;
            prop_assert!(!verify_consistency(old, new, &bad_old, &new_root, &proof));
            let mut bad_new = new_root;
            bad_new[byte] ^= 1 << bit;
            prop_assert!(!verify_consistency(old, new, &old_root, &bad_new, &proof));
        }

        #[test]
        fn agrees_with_ct_merkle(n in 0usize..200) {
            let mut reference = ct_merkle::mem_backed_tree::MemoryBackedTree::<sha2_011::Sha256, Vec<u8>>::new();
            let mut t = MemoryTree::new();
            for i in 0..n {
                let e = format!("leaf-{i}").into_bytes();
                reference.push(e.clone());
                t.push(&e);
            }
            let theirs = reference.root();
            let ours = t.root();
            prop_assert_eq!(theirs.as_bytes().as_slice(), ours.as_slice());
        }
    }
}
