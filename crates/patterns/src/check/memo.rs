//! The searches' memory of configurations already explored (Lowe 2017, §4: "we can avoid
//! re-exploring a configuration (linearized set, state) already seen").
//!
//! Keys are short slices of small integers plus a small state, hashed millions of times per
//! check, so the hasher is a multiply-rotate hash (the one rustc uses, written out here to keep the
//! crate's dependency graph small) rather than SipHash, whose DoS resistance buys nothing here.

use std::collections::HashSet;
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

/// A set of explored configurations.
pub(crate) type Memo<K> = HashSet<K, BuildHasherDefault<MemoHasher>>;
