//! Many logs in one ordered key-value store, the way TiKV and CockroachDB keep Raft logs in
//! RocksDB/Pebble (spec §2.3.7).
//!
//! Key = `[log id: u64 big-endian][index: u64 big-endian]`. An ordered store compares keys as
//! unsigned bytes, left to right; big-endian puts the most significant byte first, so byte order
//! is numeric order and a log's entries sit together, in index order, with the newest last: one
//! forward range scan reads a log in order, and one reverse seek finds its last index.
//! Little-endian would put the least significant byte first: index 256 (`00 01 ...`) would sort
//! before index 2 (`02 00 ...`). See [`KeyOrder`] and [`sorted_by_key`].
//!
//! The fixed-width log id matters too: the reference's `lowerKey(key(log, MAX))` returned the
//! greatest key below the bound with no prefix check, so an empty log picked up another log's
//! last index (spec §5.2 item 2). Here the last index is searched only within the log's own key
//! range.
//!
//! A store may hold other keys besides entries (CockroachDB keeps range-local state next to its
//! Raft log). A key that is not [`KEY_BYTES`] long is not an entry, even when it starts with a
//! log's id and sorts among its entries: every read skips it and truncation leaves it alone.
//!
//! [`LogStore`] has two implementations that pass the same tests: [`MemoryLogStore`], an ordered
//! map with a durable image and a crash, for the simulator and for tests; and, with the `lsm`
//! feature, `LsmLogStore` on fjall, an embedded LSM engine, whose own write-ahead log makes an
//! append durable at [`LogStore::sync`].

use super::{INDEX_MAX, WalError};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

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

/// The keys of entries `indexes` of `log`, as a range a store can scan.
pub(crate) fn key_range(log: LogId, indexes: RangeInclusive<u64>) -> RangeInclusive<Vec<u8>> {
    let key = |index| entry_key(log, index, KeyOrder::BigEndian).to_vec();
    key(*indexes.start())..=key(*indexes.end())
}

/// The index an entry key holds; `None` for a key of another length (not an entry).
pub(crate) fn index_of(key: &[u8]) -> Option<u64> {
    let key: &[u8; KEY_BYTES] = key.try_into().ok()?;
    Some(u64::from_be_bytes(key[8..].try_into().expect("8 bytes")))
}

/// The index an append after `last` gets, unless `last` is the largest there is.
pub(crate) fn index_after(last: u64) -> Result<u64, WalError> {
    if last >= INDEX_MAX {
        return Err(WalError::IndexSpaceExhausted { last_index: last });
    }
    Ok(last + 1)
}

/// Many logs in one ordered key-value store, each numbered from 1.
///
/// Appends and truncations are durable once [`LogStore::sync`] returns (a Raft follower
/// truncates a conflicting suffix, appends the leader's entries, and syncs once before it
/// answers).
pub trait LogStore {
    /// Appends `payload` to `log`; returns its index (1 for a log's first entry).
    fn append(&mut self, log: LogId, payload: &[u8]) -> Result<u64, WalError>;

    /// The entries of `log` whose indexes are in `indexes`, in index order: one range scan.
    fn read_range(
        &self,
        log: LogId,
        indexes: RangeInclusive<u64>,
    ) -> Result<Vec<(u64, Vec<u8>)>, WalError>;

    /// Deletes the entries of `log` from `from` on.
    fn truncate_from(&mut self, log: LogId, from: u64) -> Result<(), WalError>;

    /// The newest index of `log`, 0 when it has none: a reverse seek within the log's keys.
    fn last_index(&self, log: LogId) -> Result<u64, WalError>;

    /// Makes every append and truncation so far durable.
    fn sync(&mut self) -> Result<(), WalError>;

    /// Entry `index` of `log`, if present.
    fn read(&self, log: LogId, index: u64) -> Result<Option<Vec<u8>>, WalError> {
        Ok(self.read_range(log, index..=index)?.pop().map(|(_, v)| v))
    }
}

/// Logs in an ordered map with a durable image, for the simulator and for tests.
///
/// Writes change the map at once and reach the durable image at [`LogStore::sync`];
/// [`MemoryLogStore::crash`] throws away what was not synced, as a process that dies before
/// its sync loses it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryLogStore {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    durable: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Writes since the last sync, oldest first: a put, or a delete (`None`).
    unsynced: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl MemoryLogStore {
    /// No logs.
    pub fn new() -> MemoryLogStore {
        MemoryLogStore::default()
    }

    /// Reopens logs from a map written earlier (durable as it is): every last index is found
    /// again from the keys.
    pub fn from_map(map: BTreeMap<Vec<u8>, Vec<u8>>) -> MemoryLogStore {
        MemoryLogStore {
            durable: map.clone(),
            map,
            unsynced: Vec::new(),
        }
    }

    /// The keys and values as the store holds them now, synced or not.
    pub fn map(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.map
    }

    /// The process dies: every write since the last sync is lost.
    pub fn crash(&mut self) {
        self.unsynced.clear();
        self.map = self.durable.clone();
    }

    fn write(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        match &value {
            Some(v) => self.map.insert(key.clone(), v.clone()),
            None => self.map.remove(&key),
        };
        self.unsynced.push((key, value));
    }
}

impl LogStore for MemoryLogStore {
    fn append(&mut self, log: LogId, payload: &[u8]) -> Result<u64, WalError> {
        let index = index_after(self.last_index(log)?)?;
        self.write(
            entry_key(log, index, KeyOrder::BigEndian).to_vec(),
            Some(payload.to_vec()),
        );
        Ok(index)
    }

    fn read_range(
        &self,
        log: LogId,
        indexes: RangeInclusive<u64>,
    ) -> Result<Vec<(u64, Vec<u8>)>, WalError> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .map
            .range(key_range(log, indexes))
            .filter_map(|(k, v)| Some((index_of(k)?, v.clone())))
            .collect())
    }

    fn truncate_from(&mut self, log: LogId, from: u64) -> Result<(), WalError> {
        let doomed: Vec<Vec<u8>> = self
            .map
            .range(key_range(log, from..=u64::MAX))
            .filter(|(k, _)| index_of(k).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        for key in doomed {
            self.write(key, None);
        }
        Ok(())
    }

    fn last_index(&self, log: LogId) -> Result<u64, WalError> {
        Ok(self
            .map
            .range(key_range(log, 0..=u64::MAX))
            .rev()
            .find_map(|(k, _)| index_of(k))
            .unwrap_or(0))
    }

    fn sync(&mut self) -> Result<(), WalError> {
        for (key, value) in self.unsynced.drain(..) {
            match value {
                Some(v) => self.durable.insert(key, v),
                None => self.durable.remove(&key),
            };
        }
        Ok(())
    }
}

/// The claims every [`LogStore`] must meet, written once and run on each implementation.
#[cfg(test)]
pub(crate) mod conformance {
    use super::*;

    /// A store under test, and what a restart of its process does to it.
    pub(crate) trait Subject {
        type Store: LogStore;
        /// A fresh, empty store.
        fn open(&self) -> Self::Store;
        /// The store as a new process finds it after this one synced and exited.
        fn reopen(&self, store: Self::Store) -> Self::Store;
    }

    fn fill<S: LogStore>(store: &mut S, logs: &[(LogId, u64)]) {
        for &(log, n) in logs {
            for i in 1..=n {
                store
                    .append(log, format!("{} #{i}", log.0).as_bytes())
                    .unwrap();
            }
        }
    }

    fn indexes(entries: &[(u64, Vec<u8>)]) -> Vec<u64> {
        entries.iter().map(|e| e.0).collect()
    }

    pub(crate) fn appends_number_each_log_from_one(subject: &impl Subject) {
        // Claim: each log numbers its own entries (spec §3.1 #16, testLogAppendWithLogId).
        let mut store = subject.open();
        let (a, b, c) = (LogId(1), LogId(2), LogId(3));
        assert_eq!(store.append(a, b"a1").unwrap(), 1);
        assert_eq!(store.append(a, b"a2").unwrap(), 2);
        assert_eq!(store.append(b, b"b1").unwrap(), 1);
        assert_eq!(store.append(c, b"c1").unwrap(), 1);
        assert_eq!(store.read(a, 2).unwrap(), Some(b"a2".to_vec()));
        assert_eq!(store.read(b, 2).unwrap(), None);
    }

    pub(crate) fn last_indexes_are_found_again_after_a_reopen(subject: &impl Subject) {
        // Claim: last indexes 4, 2, 6 come back from the keys alone after a reopen (spec §3.1
        // #17, which only read in-memory counters and so never tested recovery), and appends go
        // on from them.
        let mut store = subject.open();
        let logs = [(LogId(10), 4), (LogId(11), 2), (LogId(12), 6)];
        fill(&mut store, &logs);
        store.sync().unwrap();
        let mut store = subject.reopen(store);
        for (log, n) in logs {
            assert_eq!(store.last_index(log).unwrap(), n, "{log:?}");
        }
        assert_eq!(store.append(LogId(11), b"three").unwrap(), 3);
        assert_eq!(store.read(LogId(12), 6).unwrap(), Some(b"12 #6".to_vec()));
    }

    pub(crate) fn an_empty_log_never_picks_up_another_logs_last_index(subject: &impl Subject) {
        // Claim: the reference's lowerKey bug (spec §5.2 item 2) cannot happen: log 2 is empty
        // although log 1, whose keys sort just below, has entries; log 3 sorts after both; the
        // logs at the edges of the id space are empty too.
        let mut store = subject.open();
        fill(&mut store, &[(LogId(1), 5), (LogId(3), 1)]);
        assert_eq!(store.last_index(LogId(2)).unwrap(), 0);
        assert_eq!(store.append(LogId(2), b"first").unwrap(), 1);
        assert_eq!(store.last_index(LogId(0)).unwrap(), 0);
        assert_eq!(store.last_index(LogId(u64::MAX)).unwrap(), 0);
    }

    pub(crate) fn truncation_and_range_reads_stay_within_one_log(subject: &impl Subject) {
        // Claim: truncating log 1 leaves log 2 alone, a range read returns one log in order and
        // only the indexes asked for, and numbering resumes after the truncation, also after a
        // reopen.
        let mut store = subject.open();
        for i in 1..=5u8 {
            store.append(LogId(1), &[i]).unwrap();
            store.append(LogId(2), &[i]).unwrap();
        }
        store.truncate_from(LogId(1), 3).unwrap();
        assert_eq!(store.last_index(LogId(1)).unwrap(), 2);
        assert_eq!(store.last_index(LogId(2)).unwrap(), 5);
        assert_eq!(
            indexes(&store.read_range(LogId(2), 2..=4).unwrap()),
            [2, 3, 4]
        );
        assert_eq!(
            indexes(&store.read_range(LogId(2), 4..=u64::MAX).unwrap()),
            [4, 5]
        );
        assert_eq!(
            indexes(&store.read_range(LogId(1), 1..=u64::MAX).unwrap()),
            [1, 2]
        );
        assert_eq!(store.append(LogId(1), b"new 3").unwrap(), 3);
        store.sync().unwrap();
        let store = subject.reopen(store);
        let log1 = store.read_range(LogId(1), 0..=u64::MAX).unwrap();
        assert_eq!(
            log1,
            vec![(1, vec![1]), (2, vec![2]), (3, b"new 3".to_vec())]
        );
        assert_eq!(store.last_index(LogId(2)).unwrap(), 5);
    }

    pub(crate) fn truncating_everything_empties_the_log(subject: &impl Subject) {
        // Claim: truncate_from(1) leaves an empty log numbered from 1 again; truncating past
        // the end changes nothing.
        let mut store = subject.open();
        fill(&mut store, &[(LogId(4), 3)]);
        store.truncate_from(LogId(4), 9).unwrap();
        assert_eq!(store.last_index(LogId(4)).unwrap(), 3);
        store.truncate_from(LogId(4), 1).unwrap();
        assert_eq!(store.last_index(LogId(4)).unwrap(), 0);
        assert!(store.read_range(LogId(4), 0..=u64::MAX).unwrap().is_empty());
        assert_eq!(store.append(LogId(4), b"again").unwrap(), 1);
    }

    /// Every claim above, as tests of one implementation.
    macro_rules! log_store_conformance_tests {
        ($subject:expr) => {
            #[test]
            fn appends_number_each_log_from_one() {
                $crate::wal::log_store::conformance::appends_number_each_log_from_one(&$subject);
            }
            #[test]
            fn last_indexes_are_found_again_after_a_reopen() {
                $crate::wal::log_store::conformance::last_indexes_are_found_again_after_a_reopen(
                    &$subject,
                );
            }
            #[test]
            fn an_empty_log_never_picks_up_another_logs_last_index() {
                $crate::wal::log_store::conformance::an_empty_log_never_picks_up_another_logs_last_index(&$subject);
            }
            #[test]
            fn truncation_and_range_reads_stay_within_one_log() {
                $crate::wal::log_store::conformance::truncation_and_range_reads_stay_within_one_log(
                    &$subject,
                );
            }
            #[test]
            fn truncating_everything_empties_the_log() {
                $crate::wal::log_store::conformance::truncating_everything_empties_the_log(
                    &$subject,
                );
            }
        };
    }
    pub(crate) use log_store_conformance_tests;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Memory;

    impl conformance::Subject for Memory {
        type Store = MemoryLogStore;
        fn open(&self) -> MemoryLogStore {
            MemoryLogStore::new()
        }
        fn reopen(&self, mut store: MemoryLogStore) -> MemoryLogStore {
            store.crash();
            store
        }
    }

    conformance::log_store_conformance_tests!(Memory);

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
    fn the_last_key_of_a_single_log_carries_the_last_index() {
        // Claim: after appending 1, 2, 3 the greatest key ends in 3 big-endian (spec §3.1 #18,
        // RocksWAL's writesIndexedEntriesToRocksDb).
        let mut store = MemoryLogStore::new();
        let wal = LogId(1);
        assert_eq!(store.last_index(wal).unwrap(), 0, "empty store");
        for _ in 0..3 {
            store.append(wal, b"").unwrap();
        }
        let (last_key, _) = store.map().iter().next_back().unwrap();
        assert_eq!(&last_key[..8], &1u64.to_be_bytes());
        assert_eq!(&last_key[8..], &3u64.to_be_bytes());
    }

    #[test]
    fn appends_complete_only_at_the_sync_and_the_store_is_usable_once_built() {
        // Claim: the reference's asynchronous flow (spec §3.1 #16) ported to what it stood for.
        // There, every storage operation completed on a later storage tick, and the store
        // refused appends until an asynchronous last-index lookup had finished. Here a store is
        // usable as soon as it exists, because its last indexes are read from the keys when
        // asked (no half-initialised state to guard against); what the tick stood for, that a
        // write issued is not yet done, is the gap between written and durable, which is what
        // the simulator's crashes exercise. So: 2 + 1 + 1 appends to three shards are all
        // lost by a crash before the sync, and all kept by a crash after it.
        let shards = [LogId(1), LogId(2), LogId(3)];
        let append_all = |store: &mut MemoryLogStore| {
            for log in [shards[0], shards[0], shards[1], shards[2]] {
                store.append(log, b"entry").unwrap();
            }
        };
        let mut store = MemoryLogStore::new();
        append_all(&mut store);
        store.crash();
        for log in shards {
            assert_eq!(
                store.last_index(log).unwrap(),
                0,
                "{log:?} lost unsynced appends"
            );
        }
        append_all(&mut store);
        store.sync().unwrap();
        store.crash();
        let last: Vec<u64> = shards
            .iter()
            .map(|&l| store.last_index(l).unwrap())
            .collect();
        assert_eq!(last, [2, 1, 1], "synced appends survive");
    }

    #[test]
    fn an_unsynced_truncation_is_undone_by_a_crash() {
        // Claim: truncation is durable at the sync, like appends: a crash before it brings the
        // entries back.
        let mut store = MemoryLogStore::new();
        for _ in 0..3 {
            store.append(LogId(5), b"x").unwrap();
        }
        store.sync().unwrap();
        store.truncate_from(LogId(5), 2).unwrap();
        assert_eq!(store.last_index(LogId(5)).unwrap(), 1);
        store.crash();
        assert_eq!(store.last_index(LogId(5)).unwrap(), 3);
    }

    #[test]
    fn a_foreign_key_among_a_logs_keys_is_skipped_not_a_panic() {
        // Claim: a key that is not 16 bytes, even one with a log's prefix that sorts among its
        // entries, is not an entry: last_index, reads, appends and truncation skip it and leave
        // it alone (issue 10, item 12).
        let key = |log, index| entry_key(LogId(log), index, KeyOrder::BigEndian).to_vec();
        let mut map = BTreeMap::new();
        for i in 1..=2 {
            map.insert(key(1, i), vec![i as u8]);
        }
        let mut stray = 1u64.to_be_bytes().to_vec();
        stray.push(0xff);
        map.insert(stray.clone(), b"not an entry".to_vec());
        let mut longer = key(1, 1);
        longer.push(0);
        map.insert(longer.clone(), b"nor this".to_vec());
        let mut store = MemoryLogStore::from_map(map);
        assert_eq!(store.last_index(LogId(1)).unwrap(), 2);
        let found: Vec<u64> = store
            .read_range(LogId(1), 1..=u64::MAX)
            .unwrap()
            .iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(found, vec![1, 2]);
        assert_eq!(store.append(LogId(1), b"three").unwrap(), 3);
        store.truncate_from(LogId(1), 1).unwrap();
        assert_eq!(store.last_index(LogId(1)).unwrap(), 0);
        assert!(store.map().contains_key(&stray) && store.map().contains_key(&longer));
    }

    #[test]
    fn a_log_at_the_largest_index_refuses_appends() {
        // Claim: an append after index INDEX_MAX is an error, not an overflow.
        let key = entry_key(LogId(9), INDEX_MAX, KeyOrder::BigEndian).to_vec();
        let mut store = MemoryLogStore::from_map(BTreeMap::from([(key, b"last".to_vec())]));
        assert!(matches!(
            store.append(LogId(9), b"one too many"),
            Err(WalError::IndexSpaceExhausted { .. })
        ));
    }
}
