//! A node's storage, with the difference between written and durable made explicit.
//!
//! Writes land in a volatile view at once (the page cache). A sync makes every write up to a
//! point durable. A crash throws the volatile view away: the node restarts with what was synced,
//! and, if the runtime says so, with the last unsynced write torn (half its bytes, as a sector
//! that was only partly written). Protocols that cannot tell a torn value from a good one are
//! exactly the ones the write-ahead-log lesson warns about.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// Why a stored value could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// The bytes under `key` do not decode: a torn or corrupt write.
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

#[derive(Clone, Debug)]
struct Write {
    sequence: u64,
    key: String,
    value: Option<Vec<u8>>,
}

/// An ordered key-value store with a volatile view and a durable image.
#[derive(Clone, Debug, Default)]
pub struct Storage {
    durable: BTreeMap<String, Vec<u8>>,
    volatile: BTreeMap<String, Vec<u8>>,
    unsynced: VecDeque<Write>,
    written: u64,
}

impl Storage {
    pub fn new() -> Storage {
        Storage::default()
    }

    /// The current (volatile) value under `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.volatile.get(key).map(Vec::as_slice)
    }

    /// Decodes the JSON value under `key`.
    pub fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        match self.get(key) {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(bytes)
                    .map(Some)
                    .map_err(|e| StorageError::Corrupt {
                        key: key.to_string(),
                        reason: e.to_string(),
                    })
            }
        }
    }

    pub fn put(&mut self, key: &str, value: Vec<u8>) {
        self.volatile.insert(key.to_string(), value.clone());
        self.log(key, Some(value));
    }

    /// Stores `value` as JSON.
    pub fn put_json<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        let bytes = serde_json::to_vec(value).expect("protocol state serialises to JSON");
        self.put(key, bytes);
    }

    pub fn delete(&mut self, key: &str) {
        self.volatile.remove(key);
        self.log(key, None);
    }

    /// Keys in order, with their current values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.volatile
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    fn log(&mut self, key: &str, value: Option<Vec<u8>>) {
        self.written += 1;
        self.unsynced.push_back(Write {
            sequence: self.written,
            key: key.to_string(),
            value,
        });
    }

    /// The sequence number of the latest write; a sync started now covers writes up to it.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Number of writes not yet durable.
    pub fn unsynced_writes(&self) -> usize {
        self.unsynced.len()
    }

    /// Whether every write up to `sequence` is durable.
    pub fn is_durable(&self, sequence: u64) -> bool {
        self.unsynced.front().is_none_or(|w| w.sequence > sequence)
    }

    /// A sync that covered writes up to `sequence` completed.
    pub fn make_durable(&mut self, sequence: u64) {
        while self
            .unsynced
            .front()
            .is_some_and(|w| w.sequence <= sequence)
        {
            let w = self.unsynced.pop_front().expect("front exists");
            match w.value {
                Some(v) => self.durable.insert(w.key, v),
                None => self.durable.remove(&w.key),
            };
        }
    }

    /// The node crashed: unsynced writes are lost. With `torn`, the oldest unsynced write reached
    /// the disk half-written (a put keeps the first half of its bytes; a delete is lost whole).
    pub fn crash(&mut self, torn: bool) {
        if torn {
            if let Some(Write {
                key,
                value: Some(v),
                ..
            }) = self.unsynced.front().cloned()
            {
                self.durable.insert(key, v[..v.len() / 2].to_vec());
            }
        }
        self.unsynced.clear();
        self.volatile = self.durable.clone();
    }

    /// The durable image: what a crash now would leave.
    pub fn durable(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.durable.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_keeps_synced_writes_and_loses_the_rest() {
        let mut s = Storage::new();
        s.put_json("promised", &3u64);
        s.make_durable(s.written());
        s.put_json("promised", &4u64);
        s.put_json("accepted", &"x");
        s.crash(false);
        assert_eq!(s.get_json::<u64>("promised"), Ok(Some(3)));
        assert_eq!(s.get_json::<String>("accepted"), Ok(None));
    }

    #[test]
    fn a_torn_write_reads_back_as_corrupt() {
        let mut s = Storage::new();
        s.put_json("ballot", &"round-12-node-3");
        s.crash(true);
        assert!(matches!(
            s.get_json::<String>("ballot"),
            Err(StorageError::Corrupt { .. })
        ));
    }

    #[test]
    fn durability_is_per_sequence_number() {
        let mut s = Storage::new();
        s.put("a", vec![1]);
        let first = s.written();
        s.put("b", vec![2]);
        s.make_durable(first);
        assert!(s.is_durable(first));
        assert!(!s.is_durable(s.written()));
        assert_eq!(s.unsynced_writes(), 1);
    }
}
