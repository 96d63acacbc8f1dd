//! Many logs in one ordered key-value map, the way TiKV and CockroachDB keep Raft logs in
//! RocksDB/Pebble (spec §2.3.7).
//!
//! Key = `[log id: u64 big-endian][index: u64 big-endian]`. An ordered map compares keys as
//! unsigned bytes, left to right; big-endian puts the most significant byte first, so byte order
//! is numeric order and a log's entries sit together, in index order, with the newest last.
//! Little-endian would put the least significant byte first: index 256 (`00 01 ...`) would sort
//! before index 2 (`02 00 ...`). See [`KeyOrder`] and [`sorted_by_key`].
//!
//! The fixed-width log id matters too: the reference's `lowerKey(key(log, MAX))` returned the
//! greatest key below the bound with no prefix check, so an empty log picked up another log's
//! last index (spec §5.2 item 2). Here the last index is searched only within the log's own key
//! range, and the key found is checked to carry the log's prefix.
//!
//! A store may hold other keys besides entries (CockroachDB keeps range-local state next to its
//! Raft log). A key that is not [`KEY_BYTES`] long is not an entry, even when it starts with a
//! log's id and sorts among its entries: every read skips it and truncation leaves it alone.

use std::collections::BTreeMap;

/// Which log (a shard, a Raft group, a region).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogId(pub u64);

/// Byte order of the numbers in a key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KeyOrder {
    /// Most significant byte first: byte order is numeric order.
    BigEndian,
    /// Least significant byte first (x86's native order): byte order is not numeric order.
    LittleEndian,
}

/// Bytes of an entry key.
pub const KEY_BYTES: usize = 16;

/// The key of entry `index` of `log`, in the given byte order.
pub fn entry_key(log: LogId, index: u64, order: KeyOrder) -> [u8; KEY_BYTES] {
    let mut key = [0; KEY_BYTES];
    match order {
        KeyOrder::BigEndian => {
            key[..8].copy_from_slice(&log.0.to_be_bytes());
            key[8..].copy_from_slice(&index.to_be_bytes());
        }
        KeyOrder::LittleEndian => {
            key[..8].copy_from_slice(&log.0.to_le_bytes());
            key[8..].copy_from_slice(&index.to_le_bytes());
        }
    }
    key
}

/// The order an ordered map keeps `indexes` of one log in, when keys use `order`.
pub fn sorted_by_key(indexes: &[u64], order: KeyOrder) -> Vec<u64> {
    let map: BTreeMap<[u8; KEY_BYTES], u64> = indexes
        .iter()
        .map(|&i| (entry_key(LogId(1), i, order), i))
        .collect();
    map.into_values().collect()
}

fn key(log: LogId, index: u64) -> Vec<u8> {
    entry_key(log, index, KeyOrder::BigEndian).to_vec()
}

/// The index an entry key holds; `None` for a key of another length (not an entry).
fn index_of(key: &[u8]) -> Option<u64> {
    let key: &[u8; KEY_BYTES] = key.try_into().ok()?;
    Some(u64::from_be_bytes(key[8..].try_into().expect("8 bytes")))
}

/// Logs kept as entries of one ordered map (a stand-in for RocksDB).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogStore {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl LogStore {
    /// No logs.
    pub fn new() -> LogStore {
        LogStore::default()
    }

    /// Reopens logs from a map written earlier: every last index is found again from the keys.
    pub fn from_map(map: BTreeMap<Vec<u8>, Vec<u8>>) -> LogStore {
        LogStore { map }
    }

    /// The underlying map, as the key-value store would persist it.
    pub fn map(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.map
    }

    /// Appends to `log`; returns the index (1 for the first entry).
    pub fn append(&mut self, log: LogId, payload: &[u8]) -> u64 {
        let index = self.last_index(log) + 1;
        self.map.insert(key(log, index), payload.to_vec());
        index
    }

    /// Entry `index` of `log`, if present.
    pub fn read(&self, log: LogId, index: u64) -> Option<&[u8]> {
        self.map.get(&key(log, index)).map(Vec::as_slice)
    }

    /// The newest index of `log`, 0 when it has none: a reverse seek within the log's own keys.
    pub fn last_index(&self, log: LogId) -> u64 {
        let prefix = log.0.to_be_bytes();
        self.map
            .range(key(log, 0)..=key(log, u64::MAX))
            .rev()
            .filter(|(k, _)| k.starts_with(&prefix))
            .find_map(|(k, _)| index_of(k))
            .unwrap_or(0)
    }

    /// Entries of `log` from `from` on, in index order: one forward range scan.
    pub fn entries_from(&self, log: LogId, from: u64) -> Vec<(u64, &[u8])> {
        self.map
            .range(key(log, from)..=key(log, u64::MAX))
            .filter_map(|(k, v)| Some((index_of(k)?, v.as_slice())))
            .collect()
    }

    /// Deletes entries of `log` from `from` on.
    pub fn truncate_from(&mut self, log: LogId, from: u64) {
        let doomed: Vec<Vec<u8>> = self
            .map
            .range(key(log, from)..=key(log, u64::MAX))
            .filter(|(k, _)| index_of(k).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_keys_keep_numeric_order_and_little_endian_keys_do_not() {
        // Claim: an ordered map of big-endian keys iterates indexes numerically; with
        // little-endian keys 256 comes before 2 (rocksdb_based_log.md, spec §2.3.7).
        let indexes = [1, 2, 255, 256, 257, 65_536];
        assert_eq!(sorted_by_key(&indexes, KeyOrder::BigEndian), indexes);
        let little = sorted_by_key(&indexes, KeyOrder::LittleEndian);
        let pos = |i| little.iter().position(|x| *x == i).unwrap();
        assert!(pos(256) < pos(2), "little-endian order: {little:?}");
    }

    #[test]
    fn entry_keys_group_by_log_then_order_by_index() {
        // Claim: key(log 1, 1) < key(log 1, 2) < key(log 2, 1), and the last 8 bytes are the
        // index (spec §3.1 #15, testLogEntryKey, with a fixed-width id instead of "rftl").
        let k = |log, i| entry_key(LogId(log), i, KeyOrder::BigEndian);
        assert!(k(1, 1) < k(1, 2));
        assert!(k(1, 2) < k(2, 1));
        assert!(k(1, u64::MAX) < k(2, 0));
        assert_eq!(index_of(&k(1, 1)), Some(1));
        assert_eq!(&k(7, 1)[..8], &7u64.to_be_bytes());
    }

    #[test]
    fn appends_to_several_logs_number_each_log_from_one() {
        // Claim: each log numbers its own entries (spec §3.1 #16, testLogAppendWithLogId).
        let mut store = LogStore::new();
        let (a, b, c) = (LogId(1), LogId(2), LogId(3));
        assert_eq!(store.append(a, b"a1"), 1);
        assert_eq!(store.append(a, b"a2"), 2);
        assert_eq!(store.append(b, b"b1"), 1);
        assert_eq!(store.append(c, b"c1"), 1);
        assert_eq!(store.read(a, 2), Some(&b"a2"[..]));
        assert_eq!(store.read(b, 2), None);
    }

    #[test]
    fn last_indexes_are_found_again_after_reopening() {
        // Claim: last indexes 4, 2, 6 come back from the keys alone after a reopen (spec §3.1
        // #17, which only read in-memory counters and so never tested recovery).
        let mut store = LogStore::new();
        let logs = [(LogId(10), 4), (LogId(11), 2), (LogId(12), 6)];
        for (log, n) in logs {
            for i in 0..n {
                store.append(log, format!("{i}").as_bytes());
            }
        }
        let reopened = LogStore::from_map(store.map().clone());
        for (log, n) in logs {
            assert_eq!(reopened.last_index(log), n);
        }
    }

    #[test]
    fn an_empty_log_never_picks_up_another_logs_last_index() {
        // Claim: the reference's lowerKey bug (spec §5.2 item 2) cannot happen: log 2 is empty
        // although log 1, whose keys sort just below, has entries; log 3 sorts after both.
        let mut store = LogStore::new();
        for _ in 0..5 {
            store.append(LogId(1), b"x");
        }
        store.append(LogId(3), b"y");
        assert_eq!(store.last_index(LogId(2)), 0);
        assert_eq!(store.append(LogId(2), b"first"), 1);
        assert_eq!(store.last_index(LogId(0)), 0);
        assert_eq!(store.last_index(LogId(u64::MAX)), 0);
    }

    #[test]
    fn the_last_key_of_a_single_log_carries_the_last_index() {
        // Claim: after appending 1, 2, 3 the greatest key ends in 3 big-endian (spec §3.1 #18,
        // RocksWAL's writesIndexedEntriesToRocksDb).
        let mut store = LogStore::new();
        let wal = LogId(1);
        assert_eq!(store.last_index(wal), 0, "empty store");
        for _ in 0..3 {
            store.append(wal, b"");
        }
        let (last_key, _) = store.map().iter().next_back().unwrap();
        assert_eq!(&last_key[..8], &1u64.to_be_bytes());
        assert_eq!(&last_key[8..], &3u64.to_be_bytes());
    }

    #[test]
    fn a_foreign_key_among_a_logs_keys_is_skipped_not_a_panic() {
        // Claim: a key that is not 16 bytes, even one with a log's prefix that sorts among its
        // entries, is not an entry: last_index, reads, appends and truncation skip it and leave
        // it alone (issue 10, item 12).
        let mut map = BTreeMap::new();
        for i in 1..=2 {
            map.insert(key(LogId(1), i), vec![i as u8]);
        }
        let mut stray = 1u64.to_be_bytes().to_vec();
        stray.push(0xff);
        map.insert(stray.clone(), b"not an entry".to_vec());
        let mut longer = key(LogId(1), 1);
        longer.push(0);
        map.insert(longer.clone(), b"nor this".to_vec());
        let mut store = LogStore::from_map(map);
        assert_eq!(store.last_index(LogId(1)), 2);
        let indexes: Vec<u64> = store
            .entries_from(LogId(1), 1)
            .iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(indexes, vec![1, 2]);
        assert_eq!(store.append(LogId(1), b"three"), 3);
        store.truncate_from(LogId(1), 1);
        assert_eq!(store.last_index(LogId(1)), 0);
        assert!(store.map().contains_key(&stray) && store.map().contains_key(&longer));
    }

    #[test]
    fn truncation_and_range_reads_stay_within_one_log() {
        // Claim: truncating log 1 leaves log 2 alone, and a range read returns one log, in order.
        let mut store = LogStore::new();
        for i in 1..=5u8 {
            store.append(LogId(1), &[i]);
            store.append(LogId(2), &[i]);
        }
        store.truncate_from(LogId(1), 3);
        assert_eq!(store.last_index(LogId(1)), 2);
        assert_eq!(store.last_index(LogId(2)), 5);
        let from_two: Vec<u64> = store
            .entries_from(LogId(2), 2)
            .iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(from_two, vec![2, 3, 4, 5]);
    }
}
