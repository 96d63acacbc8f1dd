//! A node's storage: a key-value side for small durable state (a promise, a term and vote) and a
//! log for what grows (accepted entries, a replicated log), with the difference between written
//! and durable made explicit.
//!
//! A handler sees [`Storage`] only: it can read and write, and ask for a sync through its
//! [`super::Context`], but it cannot crash its own disk or declare writes durable. Those powers
//! belong to the runtime: [`MemoryStorage`] is the simulator's crash model; a runtime on real
//! files implements the same trait over the write-ahead log.
//!
//! Writes land in a volatile view at once (the page cache). A sync makes every write up to a
//! point durable. A crash throws the volatile view away: the node restarts with what was synced.
//! If the runtime says so, the oldest unsynced write is torn: a key-value write keeps half its
//! bytes (the key-value side has no checksum, so the protocol reads garbage, as the write-ahead-log
//! lesson warns), while a torn log entry is cut on restart, because the log checksums its entries
//! as [`crate::wal`] does.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// Why a stored value could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// The bytes under `key` (or log entry `key`) do not decode: a torn or corrupt write.
    Corrupt { key: String, reason: String },
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Corrupt { key, reason } => {
                write!(
                    f,
                    "stored value under {key:?} is corrupt (torn write?): {reason}"
                )
            }
        }
    }
}

impl std::error::Error for StorageError {}

/// What a handler can do with its node's storage.
///
/// The log counts entries from 1 (0 means "empty", as Raft's indexes do).
pub trait Storage {
    /// The current (possibly not yet durable) value under `key`.
    fn get(&self, key: &str) -> Option<&[u8]>;

    fn put(&mut self, key: &str, value: Vec<u8>);

    fn delete(&mut self, key: &str);

    /// The keys that start with `prefix`, in order.
    fn keys(&self, prefix: &str) -> Vec<String>;

    /// Appends an entry to the log and returns its index.
    fn append(&mut self, entry: Vec<u8>) -> u64;

    /// The log entry at `index`, if the log holds it.
    fn entry(&self, index: u64) -> Option<&[u8]>;

    /// The index of the last entry (0 when the log is empty).
    fn last_index(&self) -> u64;

    /// Removes the entries from `index` on (a follower's conflicting suffix, Raft §5.3).
    fn truncate_from(&mut self, index: u64);
}

/// What a runtime needs to know to hold messages back until their writes are durable.
pub trait Durability {
    /// The sequence number of the latest write; a sync started now covers writes up to it.
    fn written(&self) -> u64;

    /// Whether every write up to `sequence` is durable.
    fn is_durable(&self, sequence: u64) -> bool;
}

impl dyn Storage + '_ {
    /// Decodes the JSON value under `key`.
    pub fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        self.get(key).map(|bytes| decode(key, bytes)).transpose()
    }

    /// Stores `value` as JSON.
    pub fn put_json<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        self.put(key, encode(value));
    }

    /// Appends `value` as JSON and returns its index.
    pub fn append_json<T: Serialize + ?Sized>(&mut self, value: &T) -> u64 {
        self.append(encode(value))
    }

    /// Decodes the log entry at `index`.
    pub fn entry_json<T: DeserializeOwned>(&self, index: u64) -> Result<Option<T>, StorageError> {
        self.entry(index)
            .map(|bytes| decode(&format!("log entry {index}"), bytes))
            .transpose()
    }
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("protocol state serialises to JSON")
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StorageError> {
    serde_json::from_slice(bytes).map_err(|e| StorageError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

/// One storage write: what the simulator keeps until a sync, and what the network runtime's
/// storage appends to its write-ahead log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Write {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
    Append { entry: Vec<u8> },
    Truncate { from: u64 },
}

/// The contents of a disk: a key-value map and a log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Image {
    values: BTreeMap<String, Vec<u8>>,
    log: Vec<Vec<u8>>,
}

impl Image {
    pub(crate) fn get(&self, key: &str) -> Option<&[u8]> {
        self.values.get(key).map(Vec::as_slice)
    }

    pub(crate) fn keys(&self, prefix: &str) -> Vec<String> {
        self.values
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub(crate) fn entry(&self, index: u64) -> Option<&[u8]> {
        let position = index.checked_sub(1)?;
        self.log
            .get(usize::try_from(position).ok()?)
            .map(Vec::as_slice)
    }

    pub(crate) fn last_index(&self) -> u64 {
        self.log.len() as u64
    }

    pub(crate) fn apply(&mut self, write: Write) {
        match write {
            Write::Put { key, value } => {
                self.values.insert(key, value);
            }
            Write::Delete { key } => {
                self.values.remove(&key);
            }
            Write::Append { entry } => self.log.push(entry),
            Write::Truncate { from } => self.log.truncate(from.saturating_sub(1) as usize),
        }
    }
}

/// Storage in memory with a volatile view and a durable image: the simulator's crash model.
#[derive(Clone, Debug, Default)]
pub struct MemoryStorage {
    durable: Image,
    volatile: Image,
    /// Writes not yet durable, oldest first, with their sequence numbers.
    unsynced: VecDeque<(u64, Write)>,
    written: u64,
    torn_entries_cut: u64,
}

impl MemoryStorage {
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    fn record(&mut self, write: Write) {
        self.written += 1;
        self.volatile.apply(write.clone());
        self.unsynced.push_back((self.written, write));
    }

    /// Number of writes not yet durable.
    pub fn unsynced_writes(&self) -> usize {
        self.unsynced.len()
    }

    /// A sync that covered writes up to `sequence` completed.
    pub fn make_durable(&mut self, sequence: u64) {
        while self.unsynced.front().is_some_and(|(s, _)| *s <= sequence) {
            let (_, write) = self.unsynced.pop_front().expect("front exists");
            self.durable.apply(write);
        }
    }

    /// The node crashed: unsynced writes are lost. With `torn`, the oldest unsynced write reached
    /// the disk half-written: a put keeps the first half of its bytes, a log entry fails its
    /// checksum and is cut, a delete or truncation is lost whole.
    pub fn crash(&mut self, torn: bool) {
        if torn {
            match self.unsynced.front() {
                Some((_, Write::Put { key, value })) => {
                    let half = value[..value.len() / 2].to_vec();
                    self.durable.values.insert(key.clone(), half);
                }
                Some((_, Write::Append { .. })) => self.torn_entries_cut += 1,
                _ => {}
            }
        }
        self.unsynced.clear();
        self.volatile = self.durable.clone();
    }

    /// How many torn log entries restarts have cut so far.
    pub fn torn_entries_cut(&self) -> u64 {
        self.torn_entries_cut
    }

    /// The durable key-value image: what a crash now would leave.
    pub fn durable_values(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.durable
            .values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The durable log: what a crash now would leave.
    pub fn durable_log(&self) -> &[Vec<u8>] {
        &self.durable.log
    }
}

impl Durability for MemoryStorage {
    fn written(&self) -> u64 {
        self.written
    }

    fn is_durable(&self, sequence: u64) -> bool {
        self.unsynced.front().is_none_or(|(s, _)| *s > sequence)
    }
}

impl Storage for MemoryStorage {
    fn get(&self, key: &str) -> Option<&[u8]> {
        self.volatile.get(key)
    }

    fn put(&mut self, key: &str, value: Vec<u8>) {
        self.record(Write::Put {
            key: key.to_string(),
            value,
        });
    }

    fn delete(&mut self, key: &str) {
        self.record(Write::Delete {
            key: key.to_string(),
        });
    }

    fn keys(&self, prefix: &str) -> Vec<String> {
        self.volatile.keys(prefix)
    }

    fn append(&mut self, entry: Vec<u8>) -> u64 {
        self.record(Write::Append { entry });
        self.volatile.last_index()
    }

    fn entry(&self, index: u64) -> Option<&[u8]> {
        self.volatile.entry(index)
    }

    fn last_index(&self) -> u64 {
        self.volatile.last_index()
    }

    fn truncate_from(&mut self, index: u64) {
        if index <= self.last_index() {
            self.record(Write::Truncate { from: index.max(1) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage() -> MemoryStorage {
        MemoryStorage::new()
    }

    #[test]
    fn a_crash_keeps_synced_writes_and_loses_the_rest() {
        let mut s = storage();
        let handle: &mut dyn Storage = &mut s;
        handle.put_json("promised", &3u64);
        let first = s.written();
        s.make_durable(first);
        let handle: &mut dyn Storage = &mut s;
        handle.put_json("promised", &4u64);
        handle.put_json("accepted", &"x");
        s.crash(false);
        let handle: &dyn Storage = &s;
        assert_eq!(handle.get_json::<u64>("promised"), Ok(Some(3)));
        assert_eq!(handle.get_json::<String>("accepted"), Ok(None));
    }

    #[test]
    fn a_torn_put_reads_back_as_corrupt() {
        let mut s = storage();
        (&mut s as &mut dyn Storage).put_json("ballot", &"round-12-node-3");
        s.crash(true);
        assert!(matches!(
            (&s as &dyn Storage).get_json::<String>("ballot"),
            Err(StorageError::Corrupt { .. })
        ));
    }

    #[test]
    fn durability_is_per_sequence_number() {
        let mut s = storage();
        s.put("a", vec![1]);
        let first = s.written();
        s.put("b", vec![2]);
        s.make_durable(first);
        assert!(s.is_durable(first));
        assert!(!s.is_durable(s.written()));
        assert_eq!(s.unsynced_writes(), 1);
    }

    #[test]
    fn the_log_keeps_its_synced_prefix_and_cuts_a_torn_entry() {
        let mut s = storage();
        assert_eq!(s.append(b"one".to_vec()), 1);
        assert_eq!(s.append(b"two".to_vec()), 2);
        s.make_durable(s.written());
        assert_eq!(s.append(b"three".to_vec()), 3);
        assert_eq!(s.append(b"four".to_vec()), 4);
        s.crash(true);
        assert_eq!(s.last_index(), 2, "unsynced entries are lost");
        assert_eq!(s.entry(2), Some(&b"two"[..]));
        assert_eq!(s.entry(3), None);
        assert_eq!(s.torn_entries_cut(), 1, "the entry being written was cut");
        assert_eq!(s.append(b"three again".to_vec()), 3);
    }

    #[test]
    fn an_unsynced_truncation_is_undone_by_a_crash() {
        let mut s = storage();
        for e in [b"a", b"b", b"c"] {
            s.append(e.to_vec());
        }
        s.make_durable(s.written());
        s.truncate_from(2);
        assert_eq!(s.last_index(), 1);
        assert_eq!(s.append(b"x".to_vec()), 2, "appends go after the cut");
        s.crash(false);
        assert_eq!(s.last_index(), 3, "the conflicting suffix is back");
        assert_eq!(s.entry(2), Some(&b"b"[..]));
        s.truncate_from(2);
        s.make_durable(s.written());
        s.crash(false);
        assert_eq!(s.last_index(), 1, "a synced truncation stays");
        assert_eq!(s.entry(0), None, "index 0 is never an entry");
    }

    #[test]
    fn keys_by_prefix_come_in_order() {
        let mut s = storage();
        for k in ["kv/b", "kv/a", "other", "kv/c"] {
            s.put(k, vec![]);
        }
        assert_eq!(s.keys("kv/"), vec!["kv/a", "kv/b", "kv/c"]);
    }
}
