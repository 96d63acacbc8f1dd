//! A durable key-value store: the write-ahead rule applied (spec §2.3.4).
//!
//! Every command is appended to the log and synced before it changes the map, so an
//! acknowledged command survives any crash; on open the map is rebuilt from the last snapshot
//! plus the log entries after it. A transaction is one entry, and an entry is whole or absent
//! after a crash (its CRC covers it all), so a transaction is applied all-or-nothing.
//!
//! Fixes to the reference: transactions encode consistently (its `TxnSetValueCommand` wrote a
//! type its own decoder did not expect), and snapshots are taken and loaded (its `SnapShot` was
//! never used).

use super::{
    EntryKind, Log, LogConfig, Snapshot, WalError, entry::now_ms, load_snapshot, save_snapshot,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A change to the store, as logged (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// `key` now holds `value`.
    Set {
        /// The key.
        key: String,
        /// Its new value.
        value: String,
    },
    /// `key` holds nothing.
    Delete {
        /// The key.
        key: String,
    },
    /// Several sets that take effect together or not at all.
    Transaction {
        /// (key, value) pairs, applied in order.
        sets: Vec<(String, String)>,
    },
}

impl Command {
    /// The rule every replica applies, in log order.
    pub fn apply(&self, values: &mut BTreeMap<String, String>) {
        match self {
            Command::Set { key, value } => {
                values.insert(key.clone(), value.clone());
            }
            Command::Delete { key } => {
                values.remove(key);
            }
            Command::Transaction { sets } => {
                for (key, value) in sets {
                    values.insert(key.clone(), value.clone());
                }
            }
        }
    }

    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a command of strings serialises to JSON")
    }
}

/// A key-value store whose every acknowledged change is in a write-ahead log.
///
/// ```
/// use patterns::wal::{DurableKvStore, LogConfig, ScratchDir};
/// let dir = ScratchDir::new("doc-kv").unwrap();
/// let mut store = DurableKvStore::open(dir.path(), LogConfig::default()).unwrap();
/// store.set("title", "Microservices").unwrap();
/// drop(store); // a crash: nothing but the log is left
/// let store = DurableKvStore::open(dir.path(), LogConfig::default()).unwrap();
/// assert_eq!(store.get("title"), Some("Microservices"));
/// ```
#[derive(Debug)]
pub struct DurableKvStore {
    log: Log,
    values: BTreeMap<String, String>,
    applied_index: u64,
}

impl DurableKvStore {
    /// Opens the store in `dir`: loads the snapshot, then replays the log after it.
    pub fn open(dir: impl AsRef<Path>, config: LogConfig) -> Result<DurableKvStore, WalError> {
        let dir = dir.as_ref();
        let fs = config.file_system.clone();
        let log = Log::open(dir, config)?;
        let snapshot = load_snapshot(&*fs, dir)?;
        let (mut values, mut applied_index) = match snapshot {
            None => (BTreeMap::new(), 0),
            Some(s) => {
                let values =
                    serde_json::from_slice(&s.state).map_err(|e| WalError::CorruptSnapshot {
                        path: dir.join(super::SNAPSHOT_FILE),
                        reason: format!("state is not a JSON map of strings: {e}"),
                    })?;
                (values, s.last_included_index)
            }
        };
        if applied_index + 1 < log.first_index() || applied_index > log.last_index() {
            return Err(WalError::CorruptSnapshot {
                path: dir.join(super::SNAPSHOT_FILE),
                reason: format!(
                    "it covers entries up to {applied_index} but the log holds {}..={}, so \
                     the two do not join",
                    log.first_index(),
                    log.last_index()
                ),
            });
        }
        for entry in log.read_from(applied_index + 1)? {
            if entry.kind == EntryKind::Data {
                let command: Command =
                    serde_json::from_slice(&entry.payload).map_err(|e| WalError::CorruptEntry {
                        index: entry.index,
                        reason: e.to_string(),
                    })?;
                command.apply(&mut values);
            }
            applied_index = entry.index;
        }
        Ok(DurableKvStore {
            log,
            values,
            applied_index,
        })
    }

    /// The value of `key`, as of the last acknowledged command.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Every key and value, in key order.
    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// The index of the last command applied.
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    /// The log underneath (segments, indexes, stats).
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Sets `key` to `value`; returns the command's log index once it is durable.
    pub fn set(&mut self, key: &str, value: &str) -> Result<u64, WalError> {
        self.execute(Command::Set {
            key: key.into(),
            value: value.into(),
        })
    }

    /// Deletes `key`; returns the command's log index once it is durable.
    pub fn delete(&mut self, key: &str) -> Result<u64, WalError> {
        self.execute(Command::Delete { key: key.into() })
    }

    /// Sets every pair, all or none, as one log entry.
    pub fn transaction(&mut self, sets: &[(&str, &str)]) -> Result<u64, WalError> {
        self.execute(Command::Transaction {
            sets: sets
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }

    /// Logs `command`, syncs it, and only then applies it: the write-ahead rule.
    pub fn execute(&mut self, command: Command) -> Result<u64, WalError> {
        let index = self
            .log
            .append_entry(EntryKind::Data, now_ms(), &command.encode())?;
        self.log.sync()?;
        command.apply(&mut self.values);
        self.applied_index = index;
        Ok(index)
    }

    /// Saves the state as of the last applied command and cleans the log segments it covers;
    /// returns the snapshot's index.
    pub fn snapshot(&mut self) -> Result<u64, WalError> {
        let snapshot = Snapshot {
            last_included_index: self.applied_index,
            state: serde_json::to_vec(&self.values).expect("a map of strings serialises"),
        };
        let fs = self.log.config().file_system.clone();
        save_snapshot(&*fs, self.log.dir(), &snapshot)?;
        self.log.clean_before(self.applied_index + 1)?;
        Ok(self.applied_index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::ScratchDir;

    #[test]
    fn the_store_recovers_its_state_from_the_log() {
        // Claim: values put before a crash are there after reopening (spec §3.1 #14).
        let dir = ScratchDir::new("kv-recover").unwrap();
        let mut store = DurableKvStore::open(dir.path(), LogConfig::default()).unwrap();
        store.set("title", "Microservices").unwrap();
        store.set("author", "Martin").unwrap();
        store.set("newTitle", "Distributed Systems").unwrap();
        drop(store);
        let store = DurableKvStore::open(dir.path(), LogConfig::default()).unwrap();
        assert_eq!(store.get("title"), Some("Microservices"));
        assert_eq!(store.get("author"), Some("Martin"));
        assert_eq!(store.get("newTitle"), Some("Distributed Systems"));
    }

    #[test]
    fn deletes_and_transactions_replay_in_log_order() {
        // Claim: replay applies sets, deletes and transactions in the order they were logged.
        let dir = ScratchDir::new("kv-order").unwrap();
        let mut store = DurableKvStore::open(dir.path(), LogConfig::default()).unwrap();
        store.set("a", "1").unwrap();
        store.transaction(&[("a", "2"), ("b", "2")]).unwrap();
        store.delete("b").unwrap();
        let before = store.values().clone();
        drop(store);
        let store = DurableKvStore::open(dir.path(), LogConfig::default()).unwrap();
        assert_eq!(store.values(), &before);
        assert_eq!(store.get("a"), Some("2"));
        assert_eq!(store.get("b"), None);
        assert_eq!(store.applied_index(), 3);
    }

    #[test]
    fn a_snapshot_lets_the_log_be_cleaned_and_the_state_still_rebuilds() {
        // Claim: after a snapshot, old segments are removed and reopening gives the same state.
        let dir = ScratchDir::new("kv-snapshot").unwrap();
        let config = || LogConfig {
            segment_bytes_max: 200,
            ..LogConfig::default()
        };
        let mut store = DurableKvStore::open(dir.path(), config()).unwrap();
        for i in 0..20 {
            store.set(&format!("k{}", i % 5), &format!("v{i}")).unwrap();
        }
        let segments_before = store.log().segments().len();
        assert_eq!(store.snapshot().unwrap(), 20);
        assert!(store.log().segments().len() < segments_before);
        assert!(store.log().first_index() > 1, "old entries cleaned");
        store.set("after", "snapshot").unwrap();
        let expected = store.values().clone();
        drop(store);
        let store = DurableKvStore::open(dir.path(), config()).unwrap();
        assert_eq!(store.values(), &expected);
        assert_eq!(store.applied_index(), 21);
    }
}
