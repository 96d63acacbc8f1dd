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
}

impl<S: Eq + std::hash::Hash> Memo<S> {
    pub(crate) fn new() -> Memo<S> {
        Memo {
            seen: HashMap::default(),
        }
    }

    /// Records a configuration. `false` if it, or one that dominates it, was seen already.
    pub(crate) fn insert(&mut self, required: Box<[u32]>, state: S, optional: Box<[u32]>) -> bool {
        let taken = self.seen.entry((required, state)).or_default();
        if taken.iter().any(|earlier| is_subset(earlier, &optional)) {
            return false;
        }
        taken.push(optional);
        true
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
        assert!(memo.insert(k(), 7, Box::from([3])));
        assert!(!memo.insert(k(), 7, Box::from([1, 3])));
        assert!(memo.insert(k(), 7, Box::from([1])));
        assert!(!memo.insert(k(), 7, Box::from([3])));
        assert!(memo.insert(k(), 8, Box::from([3])));
        assert!(memo.insert(k(), 7, Box::from([])));
        assert!(!memo.insert(k(), 7, Box::from([2, 5])));
    }
}
