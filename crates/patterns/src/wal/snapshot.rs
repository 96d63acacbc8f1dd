//! Snapshots: the state up to an index, so that the log before it can be cleaned.
//!
//! A snapshot replaces the previous one atomically: write a temporary file, sync it, rename it
//! over `snapshot.bin`, sync the directory. A crash at any point leaves the old snapshot or the
//! new one, whole, which is why a snapshot that fails its CRC is an error and never "repaired".
//! The reference (spec §2.3.5) had a `SnapShot` class that nothing wrote or loaded.

use super::{FileSystem, WalError};
use std::path::Path;

/// The file a log directory's snapshot lives in.
pub const SNAPSHOT_FILE: &str = "snapshot.bin";
const SNAPSHOT_TEMP_FILE: &str = "snapshot.tmp";
const MAGIC: &[u8; 8] = b"PDSSNAP1";
const HEADER_BYTES: usize = 8 + 8 + 8 + 4;

/// State as of a log index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The last entry whose effect the state includes; replay resumes after it.
    pub last_included_index: u64,
    /// The serialised state (the key-value store's map as JSON).
    pub state: Vec<u8>,
}

fn checksum(index: u64, state: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&index.to_le_bytes());
    hasher.update(&(state.len() as u64).to_le_bytes());
    hasher.update(state);
    hasher.finalize()
}

/// Writes `snapshot` into `dir`, replacing the previous one atomically and durably.
pub fn save_snapshot(fs: &dyn FileSystem, dir: &Path, snapshot: &Snapshot) -> Result<(), WalError> {
    let temp = dir.join(SNAPSHOT_TEMP_FILE);
    let target = dir.join(SNAPSHOT_FILE);
    let mut bytes = Vec::with_capacity(HEADER_BYTES + snapshot.state.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&snapshot.last_included_index.to_le_bytes());
    bytes.extend_from_slice(&(snapshot.state.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&checksum(snapshot.last_included_index, &snapshot.state).to_le_bytes());
    bytes.extend_from_slice(&snapshot.state);
    let file = fs
        .open(&temp, true)
        .map_err(|e| WalError::io("create", &temp, e))?;
    file.set_len(0)
        .map_err(|e| WalError::io("truncate", &temp, e))?;
    file.write_at(0, &bytes)
        .map_err(|e| WalError::io("write", &temp, e))?;
    file.sync_data()
        .map_err(|e| WalError::io("sync", &temp, e))?;
    fs.rename(&temp, &target)
        .map_err(|e| WalError::io("rename", &temp, e))?;
    fs.sync_dir(dir)
        .map_err(|e| WalError::io("sync directory", dir, e))
}

/// Reads the snapshot in `dir`, if there is one.
pub fn load_snapshot(fs: &dyn FileSystem, dir: &Path) -> Result<Option<Snapshot>, WalError> {
    let path = dir.join(SNAPSHOT_FILE);
    if !fs.is_file(&path) {
        return Ok(None);
    }
    let corrupt = |reason: String| WalError::CorruptSnapshot {
        path: path.clone(),
        reason,
    };
    let file = fs
        .open(&path, false)
        .map_err(|e| WalError::io("open", &path, e))?;
    let len = file
        .len_bytes()
        .map_err(|e| WalError::io("read", &path, e))? as usize;
    if len < HEADER_BYTES {
        return Err(corrupt(format!(
            "{len} bytes, shorter than its {HEADER_BYTES}-byte header"
        )));
    }
    let bytes = file
        .read_at(0, len)
        .map_err(|e| WalError::io("read", &path, e))?;
    if &bytes[..8] != MAGIC {
        return Err(corrupt("not a snapshot file (bad magic)".into()));
    }
    let index = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let state_len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes")) as usize;
    let stored = u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes"));
    if HEADER_BYTES + state_len != len {
        return Err(corrupt(format!(
            "header promises {state_len} bytes of state but the file holds {}",
            len - HEADER_BYTES
        )));
    }
    let state = bytes[HEADER_BYTES..].to_vec();
    if checksum(index, &state) != stored {
        return Err(corrupt("crc mismatch".into()));
    }
    Ok(Some(Snapshot {
        last_included_index: index,
        state,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::{SimulatedFileSystem, Tear};

    #[test]
    fn a_crash_during_a_snapshot_leaves_the_old_or_the_new_one_whole() {
        // Claim: at every crash point of a snapshot replacement, loading gives one of the two.
        let dir = Path::new("/s");
        let old = Snapshot {
            last_included_index: 3,
            state: b"old state".to_vec(),
        };
        let new = Snapshot {
            last_included_index: 9,
            state: b"the new state".to_vec(),
        };
        for crash_at in 1..=6 {
            for tear in [Tear::None, Tear::LastWrite] {
                let fs = SimulatedFileSystem::new();
                fs.create_dir_all(dir).unwrap();
                fs.sync_dir(Path::new("/")).unwrap();
                save_snapshot(&fs, dir, &old).unwrap();
                fs.fail_power_at(crash_at);
                let result = save_snapshot(&fs, dir, &new);
                fs.restart(tear);
                let loaded = load_snapshot(&fs, dir).unwrap().unwrap();
                assert!(
                    loaded == old || loaded == new,
                    "crash at {crash_at}: {loaded:?}"
                );
                if result.is_ok() {
                    assert_eq!(loaded, new, "an acknowledged snapshot survives");
                }
            }
        }
    }

    #[test]
    fn a_damaged_snapshot_is_an_error_not_an_empty_state() {
        // Claim: a snapshot with a flipped byte is refused with a message naming the file.
        let fs = SimulatedFileSystem::new();
        let dir = Path::new("/s");
        fs.create_dir_all(dir).unwrap();
        let snap = Snapshot {
            last_included_index: 1,
            state: b"abc".to_vec(),
        };
        save_snapshot(&fs, dir, &snap).unwrap();
        fs.corrupt(&dir.join(SNAPSHOT_FILE), 29, b"X");
        let err = load_snapshot(&fs, dir).unwrap_err();
        assert!(matches!(err, WalError::CorruptSnapshot { .. }));
        assert!(err.to_string().contains("snapshot.bin"), "{err}");
    }
}
