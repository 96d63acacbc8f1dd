//! The write-ahead log (day 1, lesson 3): durability and crash recovery by appending every change
//! to a log, and syncing it, before acting on it.
//!
//! *Patterns of Distributed Systems*: Write-Ahead Log, Segmented Log, Low-Water Mark; spec §2.3.
//!
//! | item | what it is |
//! |---|---|
//! | [`entry`] | the frame: length, CRC over every other byte, index, kind, timestamp, payload |
//! | [`Log`] | segments, sync, read at/from an index, truncate, recovery that cuts a torn tail, cleaning |
//! | [`scan`] | how recovery reads a segment: a torn tail is cut, corruption refused |
//! | [`save_snapshot`] / [`load_snapshot`] | state as of an index, replaced atomically |
//! | [`DurableKvStore`] | a durable key-value store: log first, then apply; rebuilt from snapshot + log |
//! | [`GroupCommitLog`] | one sync for many appenders: the optimized log (BookKeeper journal) |
//! | [`LogStore`] | many logs in one ordered key-value store, big-endian keys (TiKV, CockroachDB): [`MemoryLogStore`], and `LsmLogStore` on the fjall LSM engine (feature `lsm`) |
//! | [`FileSystem`] | the file layer: [`OsFileSystem`] or [`SimulatedFileSystem`], which loses power |
//! | [`crash`] | every crash point of a workload, recovered and checked |
//! | [`kill`] | a writer process killed with SIGKILL mid-append, and what survives it |
//! | [`cost`] | the cost of durability: each write mode next to the disk's own limit |
//! | [`segment_layout`] | a segment's bytes as recovery reads them (drawn by `viz::ByteBars`) |
//!
//! The write-ahead rule: a change is acknowledged only when the log entry describing it is
//! durable. Everything else here makes that rule cheap (group commit) or bounded (segments,
//! snapshots, cleaning).

#![warn(missing_docs)]

pub mod cost;
pub mod crash;
pub mod entry;
mod error;
mod file_system;
mod group_commit;
pub mod kill;
mod kv;
mod log;
mod log_store;
#[cfg(feature = "lsm")]
mod lsm_log_store;
pub mod scan;
mod segment_map;
mod snapshot;

pub use entry::{Entry, EntryKind};
pub use error::WalError;
pub use file_system::{
    FileHandle, FileSystem, OsFileSystem, SECTOR_BYTES, SimulatedFileSystem, Tear,
};
pub use group_commit::{GroupCommitConfig, GroupCommitLog};
pub use kv::{Command, DurableKvStore};
pub use log::{
    Log, LogConfig, LogStats, Recovery, SEGMENT_HEADER_BYTES, SegmentInfo, TailCut,
    parse_segment_file_name, segment_file_name,
};
pub use log_store::{KeyOrder, LogId, LogStore, MemoryLogStore, entry_key, sorted_by_key};
#[cfg(feature = "lsm")]
pub use lsm_log_store::LsmLogStore;
pub use scan::INDEX_MAX;
pub use segment_map::{SegmentPart, SegmentSpan, segment_layout};
pub use snapshot::{SNAPSHOT_FILE, Snapshot, load_snapshot, save_snapshot};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh directory on the real disk, removed when dropped: a place for a notebook's or a
/// benchmark's log. It lives under the system temporary directory.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `<temp>/patterns-<label>-<pid>-<n>`.
    pub fn new(label: &str) -> std::io::Result<ScratchDir> {
        ScratchDir::new_in(std::env::temp_dir(), label)
    }

    /// Creates a scratch directory under `parent` (a disk-backed place when /tmp is tmpfs).
    pub fn new_in(parent: impl AsRef<Path>, label: &str) -> std::io::Result<ScratchDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = parent
            .as_ref()
            .join(format!("patterns-{label}-{}-{n}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir_all(&path)?;
        Ok(ScratchDir { path })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
