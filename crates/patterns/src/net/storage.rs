//! A node's storage on real files: [`Storage`] and [`Durability`] over the write-ahead log.
//!
//! Every write (a put, a delete, a log append, a truncation) is one entry of a [`Log`],
//! appended at once and made durable by the next sync; the key-value map and the node's log are
//! kept in memory and rebuilt at start by replaying the entries. A write's sequence number is its
//! entry's index, so "durable up to `n`" means exactly what the log says. A sync is a real fsync;
//! with `fsync` off it only hands the bytes to the operating system, which survives the process
//! being killed but not the machine losing power (what the benchmark's "fsync off" row measures).
//!
//! Killing the process loses what the log still buffered; recovery cuts a torn tail by its
//! checksums ([`crate::wal`]), so a restarted node sees every synced write and possibly some unsynced
//! ones, never a corrupt value.
//!
//! The node's incarnation is kept beside, in a file of its own ([`bump_incarnation`]).

use crate::node::storage::{Image, Write};
use crate::node::{Durability, Storage};
use crate::wal::{Log, LogConfig, WalError};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Storage of one node in a directory of its own.
#[derive(Debug)]
pub struct FileStorage {
    log: Log,
    /// What the writes so far add up to (the simulator's image of a disk, replayed from the log).
    image: Image,
    fsync: bool,
    /// Writes up to here are durable (or, with `fsync` off, handed to the operating system).
    durable: u64,
    /// The first write that failed: nothing after it can be promised, so the node must stop.
    failure: Option<String>,
}

impl FileStorage {
    /// Opens (creating it if needed) the storage in `dir` and replays it.
    pub fn open(dir: impl AsRef<Path>, fsync: bool) -> Result<FileStorage, WalError> {
        let config = LogConfig {
            segment_bytes_max: 8 << 20,
            ..LogConfig::default()
        };
        let log = Log::open(dir.as_ref(), config)?;
        let mut storage = FileStorage {
            image: Image::default(),
            fsync,
            durable: log.last_index(),
            failure: None,
            log,
        };
        for entry in storage.log.read_all()? {
            let write: Write =
                postcard::from_bytes(&entry.payload).map_err(|e| WalError::CorruptSegment {
                    path: dir.as_ref().to_path_buf(),
                    offset_bytes: 0,
                    reason: format!("log entry {} is not a storage write: {e}", entry.index),
                })?;
            storage.image.apply(write);
        }
        Ok(storage)
    }

    /// Appends the write to the log (volatile until the next sync) and applies it.
    fn record(&mut self, write: Write) {
        if self.failure.is_none() {
            let appended = postcard::to_allocvec(&write)
                .map_err(|e| e.to_string())
                .and_then(|bytes| self.log.append(&bytes).map_err(|e| e.to_string()));
            if let Err(e) = appended {
                self.failure = Some(e);
            }
        }
        self.image.apply(write);
    }

    /// Makes every write so far durable: an fsync, or with `fsync` off a write to the operating
    /// system. The runtime calls it; a handler asks for it through its context.
    pub fn sync(&mut self) -> Result<u64, WalError> {
        if let Some(failure) = &self.failure {
            return Err(WalError::Stopped {
                cause: failure.clone(),
            });
        }
        let result = if self.fsync {
            self.log.sync()
        } else {
            self.log.flush().map(|()| self.log.last_index())
        };
        match result {
            Ok(upto) => {
                self.durable = upto;
                Ok(upto)
            }
            Err(e) => {
                self.failure = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Why the storage stopped accepting writes, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Whether a sync is an fsync.
    pub fn fsyncs(&self) -> bool {
        self.fsync
    }
}

impl Durability for FileStorage {
    fn written(&self) -> u64 {
        self.log.last_index()
    }

    fn is_durable(&self, sequence: u64) -> bool {
        sequence <= self.durable
    }
}

impl Storage for FileStorage {
    fn get(&self, key: &str) -> Option<&[u8]> {
        self.image.get(key)
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
        self.image.keys(prefix)
    }

    fn append(&mut self, entry: Vec<u8>) -> u64 {
        self.record(Write::Append { entry });
        self.image.last_index()
    }

    fn entry(&self, index: u64) -> Option<&[u8]> {
        self.image.entry(index)
    }

    fn last_index(&self) -> u64 {
        self.image.last_index()
    }

    fn truncate_from(&mut self, index: u64) {
        if index <= self.last_index() {
            self.record(Write::Truncate { from: index.max(1) });
        }
    }
}

/// The file that keeps a node's incarnation.
pub const INCARNATION_FILE: &str = "incarnation";

/// Reads how many times the node in `dir` has started, and durably records one more start
/// before returning the old count: write a temporary file, fsync it, rename it over the old one,
/// fsync the directory. A node that serves after this can never reuse an earlier life's number,
/// however it is killed.
pub fn bump_incarnation(dir: &Path) -> std::io::Result<u64> {
    fs::create_dir_all(dir)?;
    let path = dir.join(INCARNATION_FILE);
    let previous = match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse::<u64>().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} holds {text:?}, not a number: {e}", path.display()),
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    let temporary: PathBuf = dir.join(format!("{INCARNATION_FILE}.tmp"));
    let mut file = fs::File::create(&temporary)?;
    writeln!(file, "{}", previous + 1)?;
    file.sync_all()?;
    fs::rename(&temporary, &path)?;
    fs::File::open(dir)?.sync_all()?;
    Ok(previous)
}

/// The directory of a node's storage under its data directory.
pub fn storage_dir(node_dir: &Path) -> PathBuf {
    node_dir.join("storage")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal;

    #[test]
    fn synced_writes_survive_a_reopen_and_replay_in_order() {
        let dir = wal::ScratchDir::new("file-storage").unwrap();
        let mut s = FileStorage::open(dir.path(), true).unwrap();
        s.put("kv/a", b"1".to_vec());
        s.put("kv/b", b"2".to_vec());
        s.delete("kv/a");
        for e in [b"x", b"y", b"z"] {
            s.append(e.to_vec());
        }
        s.truncate_from(2);
        assert_eq!(s.append(b"w".to_vec()), 2);
        assert!(!s.is_durable(s.written()));
        let upto = s.sync().unwrap();
        assert!(s.is_durable(upto));
        drop(s);
        let s = FileStorage::open(dir.path(), true).unwrap();
        assert_eq!(s.keys("kv/"), vec!["kv/b"]);
        assert_eq!(s.get("kv/b"), Some(&b"2"[..]));
        assert_eq!((s.last_index(), s.entry(2)), (2, Some(&b"w"[..])));
        assert!(s.is_durable(s.written()), "what was replayed is durable");
    }

    #[test]
    fn unsynced_writes_die_with_the_process_that_buffered_them() {
        let dir = wal::ScratchDir::new("file-storage-unsynced").unwrap();
        let mut s = FileStorage::open(dir.path(), true).unwrap();
        s.put("promised", b"3".to_vec());
        s.sync().unwrap();
        s.put("promised", b"4".to_vec());
        drop(s); // killed: the log's buffer never reached the file
        let s = FileStorage::open(dir.path(), true).unwrap();
        assert_eq!(s.get("promised"), Some(&b"3"[..]));
    }

    #[test]
    fn the_incarnation_counts_every_start_and_rejects_garbage() {
        let dir = wal::ScratchDir::new("incarnation").unwrap();
        assert_eq!(bump_incarnation(dir.path()).unwrap(), 0);
        assert_eq!(bump_incarnation(dir.path()).unwrap(), 1);
        assert_eq!(bump_incarnation(dir.path()).unwrap(), 2);
        fs::write(dir.path().join(INCARNATION_FILE), "three").unwrap();
        let error = bump_incarnation(dir.path()).unwrap_err();
        assert!(error.to_string().contains("not a number"), "{error}");
    }
}
