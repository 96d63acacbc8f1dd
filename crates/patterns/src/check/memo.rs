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
use std::hash::{BuildHasherDefault, Hasher};

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

/// (required operations done, state) → the sets of optional operations taken with them, each
/// sorted.
type Seen<S> = HashMap<(Box<[u32]>, S), Vec<Box<[u32]>>, BuildHasherDefault<MemoHasher>>;

/// The configurations explored so far.
pub(crate) struct Memo<S> {
    seen: Seen<S>,
    /// Estimated bytes held: entries, keys, and the states' heap as the model counts it.
    bytes: usize,
}

/// A hash table entry's own cost beyond its key and value: control bytes and spare capacity.
const ENTRY_OVERHEAD_BYTES: usize = 16;

impl<S: Eq + std::hash::Hash> Memo<S> {
    pub(crate) fn new() -> Memo<S> {
        Memo {
            seen: HashMap::default(),
            bytes: 0,
        }
    }

    /// Records a configuration. `false` if it, or one that dominates it, was seen already.
    /// `heap_bytes` says what a state holds on the heap, asked only of a state stored anew.
    pub(crate) fn insert(
        &mut self,
        required: Box<[u32]>,
        state: S,
        optional: Box<[u32]>,
        heap_bytes: impl FnOnce(&S) -> usize,
    ) -> bool {
        use std::collections::hash_map::Entry;
        let taken = match self.seen.entry((required, state)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                self.bytes += size_of::<((Box<[u32]>, S), Vec<Box<[u32]>>)>()
                    + ENTRY_OVERHEAD_BYTES
                    + 4 * e.key().0.len()
                    + heap_bytes(&e.key().1);
                e.insert(Vec::new())
            }
        };
        if taken.iter().any(|earlier| is_subset(earlier, &optional)) {
            return false;
        }
        self.bytes += size_of::<Box<[u32]>>() + 4 * optional.len();
        taken.push(optional);
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
        let k = || Box::from([0u32, 2]);
        let mut insert = |state, optional: &[u32]| memo.insert(k(), state, optional.into(), |_| 0);
        assert!(insert(7, &[3]));
        assert!(!insert(7, &[1, 3]));
        assert!(insert(7, &[1]));
        assert!(!insert(7, &[3]));
        assert!(insert(8, &[3]));
        assert!(insert(7, &[]));
        assert!(!insert(7, &[2, 5]));
    }
}
