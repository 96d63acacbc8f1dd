//! What can go wrong with a log, said so that an operator knows what to do next.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Every way opening, writing or reading a log can fail.
///
/// No variant is returned after an entry was acknowledged durable and then lost: a log that meets
/// an I/O error while writing stops accepting writes ([`WalError::Stopped`]) instead of guessing
/// what reached the disk (PostgreSQL's "fsyncgate" lesson: after a failed fsync the page cache
/// may already have dropped the dirty pages).
#[derive(Debug)]
pub enum WalError {
    /// The log directory's path names a file.
    DirectoryIsAFile {
        /// The path given as the log directory.
        path: PathBuf,
    },
    /// No log where one was expected ([`super::Log::open_existing`]); nothing was created.
    NoLog {
        /// The path given as the log directory.
        path: PathBuf,
        /// What is there instead.
        reason: String,
    },
    /// A file named like a segment whose name no log writes.
    InvalidSegmentName {
        /// The file.
        path: PathBuf,
        /// Why no segment has that name.
        reason: String,
    },
    /// The newest entry has the largest index there is: no index is left for another.
    IndexSpaceExhausted {
        /// The newest index.
        last_index: u64,
    },
    /// The operating system (or the simulated disk) refused an operation.
    Io {
        /// What the log was doing ("sync", "create", ...).
        operation: &'static str,
        /// The file or directory it was doing it to.
        path: PathBuf,
        /// The operating system's (or simulated disk's) error.
        source: io::Error,
    },
    /// Bytes that should hold synced entries do not decode. Only the tail of the newest segment
    /// can be torn by a crash, and only if nothing valid follows the bad bytes; anything else is
    /// damage the log refuses to paper over, changing nothing on disk.
    CorruptSegment {
        /// The segment file.
        path: PathBuf,
        /// Where in it the bad bytes start.
        offset_bytes: u64,
        /// Why they do not decode.
        reason: String,
    },
    /// A snapshot file does not decode (snapshots are replaced atomically, so never torn).
    CorruptSnapshot {
        /// The snapshot file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// A stored entry decodes but its payload is not what the reader expects.
    CorruptEntry {
        /// The entry's index.
        index: u64,
        /// Why its payload is unreadable.
        reason: String,
    },
    /// An index outside the entries the log holds.
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The oldest index held.
        first: u64,
        /// The newest index held (first − 1 when empty).
        last: u64,
    },
    /// A payload that cannot fit in one segment.
    EntryTooLarge {
        /// The payload's size.
        payload_bytes: u64,
        /// The largest payload a segment can hold.
        max_bytes: u64,
    },
    /// A configuration value that cannot work.
    InvalidConfig {
        /// What is wrong with it.
        reason: String,
    },
    /// The embedded storage engine under the LSM log store (feature `lsm`) refused an operation.
    Engine {
        /// What the store was doing ("append", "sync", ...).
        operation: &'static str,
        /// The engine's directory.
        path: PathBuf,
        /// The engine's error.
        reason: String,
    },
    /// An earlier write or sync failed, so nothing more is accepted.
    Stopped {
        /// The failure that stopped it.
        cause: String,
    },
}

impl WalError {
    pub(crate) fn io(operation: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        WalError::Io {
            operation,
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for WalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalError::DirectoryIsAFile { path } => write!(
                f,
                "{} is a file, but a log needs a directory there (pick another path or move the file)",
                path.display()
            ),
            WalError::Io {
                operation,
                path,
                source,
            } => write!(f, "could not {operation} {}: {source}", path.display()),
            WalError::NoLog { path, reason } => write!(
                f,
                "no log at {}: {reason} (nothing was created)",
                path.display()
            ),
            WalError::InvalidSegmentName { path, reason } => write!(
                f,
                "{} is named like a segment but no log writes that name: {reason}; move it \
                 away if it is not part of the log",
                path.display()
            ),
            WalError::IndexSpaceExhausted { last_index } => write!(
                f,
                "the newest entry has index {last_index}, the largest there is: no index left \
                 for another entry (truncate the log or start a new one)"
            ),
            WalError::CorruptSegment {
                path,
                offset_bytes,
                reason,
            } => write!(
                f,
                "segment {} is corrupt at byte {offset_bytes}: {reason}. The log refuses to open \
                 rather than drop entries that may have been synced, and has changed nothing on \
                 disk",
                path.display()
            ),
            WalError::CorruptSnapshot { path, reason } => {
                write!(f, "snapshot {} is corrupt: {reason}", path.display())
            }
            WalError::CorruptEntry { index, reason } => {
                write!(f, "entry {index} holds an unreadable command: {reason}")
            }
            WalError::IndexOutOfRange { index, first, last } => {
                if last < first {
                    write!(
                        f,
                        "index {index} is out of range: the log is empty (next index {first})"
                    )
                } else {
                    write!(
                        f,
                        "index {index} is out of range: the log holds entries {first}..={last}"
                    )
                }
            }
            WalError::EntryTooLarge {
                payload_bytes,
                max_bytes,
            } => write!(
                f,
                "a payload of {payload_bytes} bytes does not fit in a segment; at most {max_bytes} \
                 bytes fit (raise segment_bytes_max or split the payload)"
            ),
            WalError::InvalidConfig { reason } => write!(f, "invalid log configuration: {reason}"),
            WalError::Engine {
                operation,
                path,
                reason,
            } => write!(
                f,
                "the storage engine in {} could not {operation}: {reason}",
                path.display()
            ),
            WalError::Stopped { cause } => write!(
                f,
                "the log stopped accepting writes after an earlier failure ({cause}); reopen it to \
                 recover what is durable"
            ),
        }
    }
}

impl std::error::Error for WalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WalError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
