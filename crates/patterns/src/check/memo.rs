//! The searches' memory of configurations already explored (Lowe 2017, §4: "we can avoid
//! re-exploring a configuration (linearized set, state) already seen").
//!
//! One refinement for `:info` operations, which are optional: a configuration is also skipped when
//! one already seen had the same required operations done, the same state, and a *subset* of the
//! optional operations taken. The earlier one has every move the later one has (an optional
//! operation not yet taken can still be taken, or not), so if the earlier one leads nowhere, so
//! does the later one. Without this, every `:info` write that is overwritten doubles the
//! configurations: with it and without it, the rest of the history is the same.
//!
//! Keys are short slices of small integers plus a small state, hashed millions of times per
//! check, so the hasher is a multiply-rotate hash (the one rustc uses, written out here to keep the
//! crate's dependency graph small) rather than SipHash, whose DoS resistance buys nothing here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A fast, non-cryptographic hasher for memo keys.
#[derive(Default, Clone, Copy)]
pub(crate) struct MemoHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl MemoHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for MemoHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(n as u64);
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(n as u64);
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// One (required operations done, state) seen, with the sets of optional operations taken
/// with it, each sorted.
struct Entry<S> {
    /// Where the required operations are in [`Memo::keys`].
    required_at: u32,
    required_len: u32,
    state: S,
    /// The first set of optional operations (empty, without an allocation, when no `:info`
    /// operation was taken: the common case), then any others.
    optional: Box<[u32]>,
    more_optional: Vec<Box<[u32]>>,
    /// The previous entry with the same hash.
    next: u32,
}

const NONE: u32 = u32::MAX;

/// The configurations explored so far: entries in one vector, their required operations in
/// another, found by hash. A configuration already seen costs a hash and a comparison and no
/// allocation; a new one, none either, beyond the vectors' growth (and a set of optional
/// operations, when there is one).
pub(crate) struct Memo<S> {
    /// Hash of (required, state) → the latest entry with that hash.
    buckets: HashMap<u64, u32, BuildHasherDefault<MemoHasher>>,
    entries: Vec<Entry<S>>,
    keys: Vec<u32>,
    /// Estimated bytes held: entries, keys, and the states' heap as the model counts it.
    bytes: usize,
}

/// A hash table slot's own cost beyond its entry: the bucket and spare capacity.
const SLOT_OVERHEAD_BYTES: usize = 24;

impl<S: Eq + Hash + Clone> Memo<S> {
    pub(crate) fn new() -> Memo<S> {
        Memo {
            buckets: HashMap::default(),
            entries: Vec::new(),
            keys: Vec::new(),
            bytes: 0,
        }
    }

    /// Records a configuration. `false` if it, or one that dominates it, was seen already.
    /// `heap_bytes` says what a state holds on the heap, asked only of a state stored anew.
    pub(crate) fn insert(
        &mut self,
        required: &[u32],
        state: &S,
        optional: &[u32],
        heap_bytes: impl FnOnce(&S) -> usize,
    ) -> bool {
        let mut hasher = MemoHasher::default();
        required.hash(&mut hasher);
        state.hash(&mut hasher);
        let hash = hasher.finish();
        let head = self.buckets.get(&hash).copied().unwrap_or(NONE);
        let mut i = head;
        while i != NONE {
            let e = &mut self.entries[i as usize];
            let at = e.required_at as usize;
            if self.keys[at..at + e.required_len as usize] == *required && e.state == *state {
                let mut seen = std::iter::once(&e.optional).chain(&e.more_optional);
                if seen.any(|earlier| is_subset(earlier, optional)) {
                    return false;
                }
                self.bytes += size_of::<Box<[u32]>>() + 4 * optional.len();
                e.more_optional.push(optional.into());
                return true;
            }
            i = e.next;
        }
        self.bytes += size_of::<Entry<S>>()
            + SLOT_OVERHEAD_BYTES
            + 4 * (required.len() + optional.len())
            + heap_bytes(state);
        self.entries.push(Entry {
            required_at: self.keys.len() as u32,
            required_len: required.len() as u32,
            state: state.clone(),
            optional: optional.into(),
            more_optional: Vec::new(),
            next: head,
        });
        self.keys.extend_from_slice(required);
        self.buckets.insert(hash, (self.entries.len() - 1) as u32);
        true
    }

    /// Estimated bytes the memo holds.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Whether sorted `a` is a subset of sorted `b`.
fn is_subset(a: &[u32], b: &[u32]) -> bool {
    let mut b = b.iter();
    a.iter().all(|x| b.any(|y| y == x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_with_more_optional_operations_taken_is_dominated() {
        // Same required set and state: {} dominates {3}, {3} dominates {1 3}; {1} does not
        // dominate {3}.
        let mut memo: Memo<u8> = Memo::new();
        let k: &[u32] = &[0, 2];
        let mut insert = |state: u8, optional: &[u32]| memo.insert(k, &state, optional, |_| 0);
        assert!(insert(7, &[3]));
        assert!(!insert(7, &[1, 3]));
        assert!(insert(7, &[1]));
        assert!(!insert(7, &[3]));
        assert!(insert(8, &[3]));
        assert!(insert(7, &[]));
        assert!(!insert(7, &[2, 5]));
    }
}
