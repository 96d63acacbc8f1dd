//! [`LogStore`] on a real embedded LSM engine: fjall, pure Rust, in the spirit of RocksDB.
//!
//! Every entry is one key of the keyspace `log_entries` (`[log id][index]`, both big-endian, as
//! [`super::entry_key`] writes them), so one forward range scan reads a log in order and one
//! reverse seek finds its last index, as TiKV's and CockroachDB's Raft logs do in RocksDB and
//! Pebble. Durability is the engine's own: every append and truncation goes to fjall's journal
//! (its write-ahead log) and reaches the operating system at once, so it survives the death of
//! the process; [`LogStore::sync`] `fdatasync`s the journal, after which it survives a power
//! failure too. Truncation is one atomic write batch of deletions (tombstones, which compaction
//! later drops).
//!
//! Why fjall and not the `rocksdb` crate: both are LSM trees with a write-ahead log, but
//! `rocksdb` compiles RocksDB's C++ sources and needs libclang for its bindings, which every
//! learner and every CI run would pay for; fjall builds from Rust sources in seconds (figures in
//! the benchmark's header, `benches/wal.rs`). It sits behind the `lsm` feature all the same, so
//! that notebooks that do not use it do not build it.

use super::log_store::{LogId, LogStore, index_after, index_of, key_range};
use super::{KeyOrder, WalError, entry_key};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

/// The keyspace (column family) holding every log's entries.
const ENTRIES_KEYSPACE: &str = "log_entries";

/// Many logs in one fjall database.
///
/// ```
/// use patterns::wal::{LogId, LogStore, LsmLogStore, ScratchDir};
/// let dir = ScratchDir::new("doc-lsm").unwrap();
/// let mut logs = LsmLogStore::open(dir.path()).unwrap();
/// logs.append(LogId(7), b"set x=1").unwrap();
/// logs.sync().unwrap();
/// drop(logs);
/// let logs = LsmLogStore::open(dir.path()).unwrap();
/// assert_eq!(logs.last_index(LogId(7)).unwrap(), 1);
/// ```
pub struct LsmLogStore {
    dir: PathBuf,
    db: Database,
    entries: Keyspace,
    /// Each log's last index once found: one reverse seek per log, not one per append.
    last_indexes: HashMap<LogId, u64>,
}

impl fmt::Debug for LsmLogStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LsmLogStore")
            .field("dir", &self.dir)
            .field("last_indexes", &self.last_indexes)
            .finish_non_exhaustive()
    }
}

impl LsmLogStore {
    /// Opens (or creates) the database in `dir`; the engine replays its journal, so everything
    /// written before a crash and not lost with the page cache is there.
    pub fn open(dir: impl AsRef<Path>) -> Result<LsmLogStore, WalError> {
        let dir = dir.as_ref().to_path_buf();
        let db = Database::builder(&dir)
            .open()
            .map_err(|e| engine_error("open", &dir, e))?;
        let entries = db
            .keyspace(ENTRIES_KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(|e| engine_error("open the keyspace of", &dir, e))?;
        Ok(LsmLogStore {
            dir,
            db,
            entries,
            last_indexes: HashMap::new(),
        })
    }

    /// The database's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every key and value of the entries keyspace, as the engine stores them (a map in byte
    /// order is the engine's order).
    pub fn stored_entries(&self) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, WalError> {
        self.entries
            .iter()
            .map(|guard| {
                let (key, value) = guard
                    .into_inner()
                    .map_err(|e| engine_error("read", &self.dir, e))?;
                Ok((key.to_vec(), value.to_vec()))
            })
            .collect()
    }

    /// The last index of `log` as the keys say: the first entry key of a reverse scan.
    fn seek_last_index(&self, log: LogId) -> Result<u64, WalError> {
        for guard in self.entries.range(key_range(log, 0..=u64::MAX)).rev() {
            let key = guard
                .key()
                .map_err(|e| engine_error("seek in", &self.dir, e))?;
            if let Some(index) = index_of(&key) {
                return Ok(index);
            }
        }
        Ok(0)
    }
}

fn engine_error(operation: &'static str, dir: &Path, error: fjall::Error) -> WalError {
    WalError::Engine {
        operation,
        path: dir.to_path_buf(),
        reason: error.to_string(),
    }
}

impl LogStore for LsmLogStore {
    fn append(&mut self, log: LogId, payload: &[u8]) -> Result<u64, WalError> {
        let last = match self.last_indexes.get(&log) {
            Some(&last) => last,
            None => self.seek_last_index(log)?,
        };
        let index = index_after(last)?;
        self.entries
            .insert(entry_key(log, index, KeyOrder::BigEndian), payload)
            .map_err(|e| engine_error("append to", &self.dir, e))?;
        self.last_indexes.insert(log, index);
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
        let mut entries = Vec::new();
        for guard in self.entries.range(key_range(log, indexes)) {
            let (key, value) = guard
                .into_inner()
                .map_err(|e| engine_error("read", &self.dir, e))?;
            if let Some(index) = index_of(&key) {
                entries.push((index, value.to_vec()));
            }
        }
        Ok(entries)
    }

    fn truncate_from(&mut self, log: LogId, from: u64) -> Result<(), WalError> {
        let mut batch = self.db.batch();
        for guard in self.entries.range(key_range(log, from..=u64::MAX)) {
            let key = guard
                .key()
                .map_err(|e| engine_error("read", &self.dir, e))?;
            if index_of(&key).is_some() {
                batch.remove(&self.entries, key);
            }
        }
        batch
            .commit()
            .map_err(|e| engine_error("truncate a log in", &self.dir, e))?;
        let last = self.seek_last_index(log)?;
        self.last_indexes.insert(log, last);
        Ok(())
    }

    fn last_index(&self, log: LogId) -> Result<u64, WalError> {
        match self.last_indexes.get(&log) {
            Some(&last) => Ok(last),
            None => self.seek_last_index(log),
        }
    }

    fn sync(&mut self) -> Result<(), WalError> {
        self.db
            .persist(PersistMode::SyncData)
            .map_err(|e| engine_error("sync the journal of", &self.dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::ScratchDir;
    use crate::wal::log_store::conformance;

    /// A store in a scratch directory; "reopen" drops it and opens the directory again.
    struct Lsm(ScratchDir);

    impl Lsm {
        fn new() -> Lsm {
            Lsm(ScratchDir::new("lsm-log-store").unwrap())
        }
    }

    impl conformance::Subject for Lsm {
        type Store = LsmLogStore;
        fn open(&self) -> LsmLogStore {
            LsmLogStore::open(self.0.path()).unwrap()
        }
        fn reopen(&self, store: LsmLogStore) -> LsmLogStore {
            drop(store);
            LsmLogStore::open(self.0.path()).unwrap()
        }
    }

    conformance::log_store_conformance_tests!(Lsm::new());

    #[test]
    fn the_engine_stores_one_big_endian_key_per_entry_in_log_then_index_order() {
        // Claim: what the engine holds is exactly [log id][index] big-endian → payload, sorted
        // by log and then numerically by index (256 after 2, which little-endian would break).
        let lsm = Lsm::new();
        let mut store = conformance::Subject::open(&lsm);
        for i in 1..=257u64 {
            store.append(LogId(2), &i.to_be_bytes()).unwrap();
        }
        store.append(LogId(1), b"one").unwrap();
        let stored: Vec<Vec<u8>> = store.stored_entries().unwrap().into_keys().collect();
        let engine_order: Vec<Vec<u8>> = store
            .entries
            .iter()
            .map(|guard| guard.key().unwrap().to_vec())
            .collect();
        assert_eq!(stored, engine_order);
        assert_eq!(stored.len(), 258);
        assert_eq!(stored[0], entry_key(LogId(1), 1, KeyOrder::BigEndian));
        let indexes: Vec<u64> = stored[1..].iter().map(|k| index_of(k).unwrap()).collect();
        assert_eq!(indexes, (1..=257).collect::<Vec<_>>());
        assert!(stored.iter().all(|k| k.len() == 16));
    }

    #[test]
    fn a_foreign_key_among_a_logs_keys_is_skipped_not_a_panic() {
        // Claim: as for the in-memory store (issue 10, item 12): a key of another length with a
        // log's prefix is not an entry, and truncation leaves it alone.
        let lsm = Lsm::new();
        let mut store = conformance::Subject::open(&lsm);
        store.append(LogId(1), b"a").unwrap();
        let mut stray = 1u64.to_be_bytes().to_vec();
        stray.push(0xff);
        store
            .entries
            .insert(stray.clone(), b"not an entry")
            .unwrap();
        let store = conformance::Subject::reopen(&lsm, store);
        assert_eq!(store.last_index(LogId(1)).unwrap(), 1);
        let mut store = store;
        store.truncate_from(LogId(1), 1).unwrap();
        assert_eq!(store.last_index(LogId(1)).unwrap(), 0);
        assert!(store.entries.get(&stray).unwrap().is_some());
    }
}
