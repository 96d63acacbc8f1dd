//! The load generator of the disk lab: writers that keep a device busy, like the reference's
//! `disk_load.sh` (`dd oflag=direct` in a loop, buffered `dd` + `sync` when direct I/O is refused),
//! without a shell and with the response time of every write measured.
//!
//! Two ways to load a device:
//! - closed loop (`rate_per_s: None`): each writer issues its next write as soon as the previous
//!   one completes, so the device always has `writers` requests in flight — the most it can do;
//! - open loop (`rate_per_s: Some(λ)`): writes fall due at Poisson arrival times of total rate λ
//!   and each response time counts from its due time, so a write that waits behind a slow one
//!   pays for it. That is the M/M/1 setting, and it draws the hockey stick on a real device.
//!
//! Direct I/O (`O_DIRECT`, an aligned buffer) skips the page cache so every write reaches the
//! device. Filesystems that refuse it (tmpfs, overlayfs on some kernels) get buffered writes each
//! followed by `fdatasync`, the discipline of a write-ahead log, so each write still reaches the
//! device before the next starts; the report says which was used and why.

use super::DiskLabError;
use crate::math::exponential;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How writes reach the device.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IoMode {
    /// `O_DIRECT`: from the buffer to the device, no page cache.
    Direct,
    /// Through the page cache, each write followed by `fdatasync`.
    BufferedSync,
}

/// What load to put on the device under `dir`.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadConfig {
    /// A directory on the device to measure; the writers' files are created and removed there.
    pub dir: PathBuf,
    /// Bytes per write: a multiple of 512 (the sector) from 512 to 16 MiB.
    pub block_size_bytes: usize,
    /// How long the writers run (each completes at least one write, however long it takes).
    pub duration_ms: u64,
    /// Concurrent writers, each on its own file.
    pub writers: usize,
    /// The requested mode; direct I/O falls back to [`IoMode::BufferedSync`] when refused.
    pub io_mode: IoMode,
    /// Open loop at this total rate, or closed loop when `None`.
    pub rate_per_s: Option<f64>,
    /// Each writer rewrites its file from the start once it reaches this size.
    pub file_size_bytes: u64,
    /// Seeds the arrival times of the open loop and the bytes written.
    pub seed: u64,
}

impl LoadConfig {
    /// The reference lab's load: 4 KiB direct writes by one writer, closed loop, 64 MiB files.
    pub fn new(dir: impl Into<PathBuf>, duration_ms: u64) -> LoadConfig {
        LoadConfig {
            dir: dir.into(),
            block_size_bytes: 4096,
            duration_ms,
            writers: 1,
            io_mode: IoMode::Direct,
            rate_per_s: None,
            file_size_bytes: 64 << 20,
            seed: 1,
        }
    }

    /// Refuses a configuration no run can honour, saying what is expected.
    pub fn validate(&self) -> Result<(), DiskLabError> {
        let invalid = |parameter: &'static str, value: String, expected: &'static str| {
            Err(DiskLabError::InvalidConfig {
                parameter,
                value,
                expected,
            })
        };
        let block = self.block_size_bytes;
        if block < 512 || block % 512 != 0 || block > 16 << 20 {
            return invalid(
                "block_size_bytes",
                block.to_string(),
                "a multiple of 512 from 512 to 16 MiB",
            );
        }
        if self.duration_ms == 0 || self.duration_ms > 3_600_000 {
            return invalid(
                "duration_ms",
                self.duration_ms.to_string(),
                "from 1 ms to one hour",
            );
        }
        if self.writers == 0 || self.writers > 256 {
            return invalid("writers", self.writers.to_string(), "from 1 to 256 writers");
        }
        if let Some(rate) = self.rate_per_s {
            if !(rate.is_finite() && rate > 0.0) {
                return invalid(
                    "rate_per_s",
                    rate.to_string(),
                    "a rate greater than 0 writes per second",
                );
            }
        }
        if self.file_size_bytes < block as u64 {
            return invalid(
                "file_size_bytes",
                self.file_size_bytes.to_string(),
                "at least one block",
            );
        }
        if !self.dir.is_dir() {
            return invalid(
                "dir",
                self.dir.display().to_string(),
                "an existing directory",
            );
        }
        Ok(())
    }
}

/// What the writers did, measured by the writers themselves.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadReport {
    /// The mode every writer ended up using.
    pub io_mode: IoMode,
    /// Why direct I/O was not used, when it was requested and refused.
    pub fallback_reason: Option<String>,
    pub writers: usize,
    pub block_size_bytes: usize,
    pub writes: u64,
    pub bytes: u64,
    pub elapsed_s: f64,
    /// Mean time per write: from issue (closed loop) or from due time (open loop) to completion.
    pub mean_response_time_s: f64,
}

impl LoadReport {
    /// Writes completed per second, as the application saw them.
    pub fn writes_per_s(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.writes as f64 / self.elapsed_s
        } else {
            0.0
        }
    }
}

/// A block-sized window of a buffer, aligned to 4096 bytes as `O_DIRECT` needs, without `unsafe`:
/// over-allocate, then start at the first aligned byte.
struct AlignedBlock {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBlock {
    const ALIGNMENT: usize = 4096;

    /// Random bytes, so that no layer below (a hypervisor's zero detection) skips the write.
    fn random(len: usize, rng: &mut ChaCha8Rng) -> AlignedBlock {
        let mut storage = vec![0u8; len + Self::ALIGNMENT];
        rng.fill(&mut storage[..]);
        let start = storage.as_ptr().align_offset(Self::ALIGNMENT);
        AlignedBlock {
            storage,
            start,
            len,
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }
}

/// A writer's file, removed when the writer is done, whatever happened.
struct ScratchFile {
    path: PathBuf,
    file: File,
    mode: IoMode,
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The `open` flag for direct I/O, where the platform has one (macOS has `F_NOCACHE` instead, a
/// different call; there the lab falls back to buffered writes with `fdatasync`).
#[cfg(target_os = "linux")]
const DIRECT_IO_FLAG: Option<i32> = Some(libc::O_DIRECT);
#[cfg(not(target_os = "linux"))]
const DIRECT_IO_FLAG: Option<i32> = None;

fn is_refusal(error: &std::io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
    )
}

/// Opens a writer's file in the requested mode, probing direct I/O with one write; returns the
/// file and, if direct I/O was refused, why.
fn open_scratch(
    path: &Path,
    block: &AlignedBlock,
    mode: IoMode,
) -> Result<(ScratchFile, Option<String>), DiskLabError> {
    let open = |flags: i32| {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(flags)
            .open(path)
    };
    let scratch = |file, mode| ScratchFile {
        path: path.to_path_buf(),
        file,
        mode,
    };
    let fallback_reason = match (mode, DIRECT_IO_FLAG) {
        (IoMode::BufferedSync, _) => None,
        (IoMode::Direct, None) => Some("this platform has no O_DIRECT".to_string()),
        (IoMode::Direct, Some(direct)) => {
            let probe =
                open(direct).and_then(|file| file.write_all_at(block.bytes(), 0).map(|()| file));
            match probe {
                Ok(file) => return Ok((scratch(file, IoMode::Direct), None)),
                Err(error) if is_refusal(&error) => {
                    Some(format!("the filesystem refused O_DIRECT ({error})"))
                }
                Err(source) => {
                    return Err(DiskLabError::Io {
                        what: format!("cannot write {}", path.display()),
                        source,
                    });
                }
            }
        }
    };
    let file = open(0).map_err(|source| DiskLabError::Io {
        what: format!("cannot create {}", path.display()),
        source,
    })?;
    let fallback_reason = fallback_reason.map(|why| {
        format!("{why}; writing through the page cache with fdatasync after each write")
    });
    Ok((scratch(file, IoMode::BufferedSync), fallback_reason))
}

/// Waits until `due`: sleeps while far, then spins the last fraction of a millisecond, because a
/// sleep overshoots by tens of microseconds — the order of a fast device's service time.
fn wait_until(due: Instant) {
    loop {
        let now = Instant::now();
        if now >= due {
            return;
        }
        let left = due - now;
        if left > Duration::from_micros(300) {
            std::thread::sleep(left - Duration::from_micros(200));
        } else {
            std::hint::spin_loop();
        }
    }
}

struct WriterOutcome {
    mode: IoMode,
    fallback_reason: Option<String>,
    writes: u64,
    response_sum_s: f64,
}

fn run_writer(
    config: &LoadConfig,
    index: usize,
    start: Instant,
) -> Result<WriterOutcome, DiskLabError> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed.wrapping_add(index as u64));
    let block = AlignedBlock::random(config.block_size_bytes, &mut rng);
    let path = config.dir.join(format!(
        "patterns-disk-lab-{}-{index}.bin",
        std::process::id()
    ));
    let (scratch, fallback_reason) = open_scratch(&path, &block, config.io_mode)?;
    let deadline = start + Duration::from_millis(config.duration_ms);
    let blocks_per_file = (config.file_size_bytes / config.block_size_bytes as u64).max(1);
    let mean_gap_s = config.rate_per_s.map(|rate| config.writers as f64 / rate);
    let mut due = start;
    let (mut writes, mut response_sum_s) = (0u64, 0.0);
    loop {
        // Every writer completes at least one write, so that even a run starved of CPU by a
        // busy machine measures something.
        let issued_from = match mean_gap_s {
            Some(gap) => {
                due += Duration::from_secs_f64(exponential(&mut rng, gap));
                if due >= deadline {
                    if writes > 0 {
                        break;
                    }
                    due = deadline;
                }
                wait_until(due);
                due
            }
            None => {
                let now = Instant::now();
                if now >= deadline && writes > 0 {
                    break;
                }
                now
            }
        };
        let offset = (writes % blocks_per_file) * config.block_size_bytes as u64;
        let written = scratch
            .file
            .write_all_at(block.bytes(), offset)
            .and_then(|()| match scratch.mode {
                IoMode::BufferedSync => scratch.file.sync_data(),
                IoMode::Direct => Ok(()),
            });
        written.map_err(|source| DiskLabError::Io {
            what: format!("cannot write {}", path.display()),
            source,
        })?;
        writes += 1;
        response_sum_s += issued_from.elapsed().as_secs_f64();
    }
    Ok(WriterOutcome {
        mode: scratch.mode,
        fallback_reason,
        writes,
        response_sum_s,
    })
}

/// Runs the writers for the configured duration and reports what they measured. Files are
/// removed afterwards, also on error.
pub fn generate_load(config: &LoadConfig) -> Result<LoadReport, DiskLabError> {
    config.validate()?;
    let start = Instant::now();
    let outcomes: Vec<Result<WriterOutcome, DiskLabError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..config.writers)
            .map(|index| scope.spawn(move || run_writer(config, index, start)))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let elapsed_s = start.elapsed().as_secs_f64();
    let outcomes = outcomes.into_iter().collect::<Result<Vec<_>, _>>()?;
    let writes: u64 = outcomes.iter().map(|o| o.writes).sum();
    let response_sum_s: f64 = outcomes.iter().map(|o| o.response_sum_s).sum();
    let fallen_back = outcomes.iter().find(|o| o.mode == IoMode::BufferedSync);
    Ok(LoadReport {
        io_mode: fallen_back.map_or(config.io_mode, |o| o.mode),
        fallback_reason: outcomes.iter().find_map(|o| o.fallback_reason.clone()),
        writers: config.writers,
        block_size_bytes: config.block_size_bytes,
        writes,
        bytes: writes * config.block_size_bytes as u64,
        elapsed_s,
        mean_response_time_s: if writes > 0 {
            response_sum_s / writes as f64
        } else {
            0.0
        },
    })
}

/// Parses a size as `iostat` and `dd` users write it: `4096`, `4k`, `64K`, `1m`, `1MiB`.
pub fn parse_byte_size(text: &str) -> Result<usize, DiskLabError> {
    let invalid = || DiskLabError::InvalidConfig {
        parameter: "block size",
        value: text.to_string(),
        expected: "a number of bytes with an optional unit k or m (powers of 1024), like 4k",
    };
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let multiplier = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        _ => return Err(invalid()),
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(dir: &Path) -> LoadConfig {
        LoadConfig {
            file_size_bytes: 64 << 10,
            ..LoadConfig::new(dir, 60)
        }
    }

    #[test]
    fn writers_write_whole_blocks_then_remove_their_files() {
        // Claim: a short run with two writers completes writes of the configured size, reports
        // which I/O mode it really used (and why, if it fell back), and leaves no file behind.
        let dir = tempfile::tempdir().unwrap();
        let config = LoadConfig {
            writers: 2,
            ..tiny(dir.path())
        };
        let report = generate_load(&config).unwrap();
        assert!(report.writes > 0);
        assert_eq!(report.bytes, report.writes * 4096);
        assert_eq!(
            report.fallback_reason.is_some(),
            report.io_mode == IoMode::BufferedSync
        );
        assert!(report.mean_response_time_s > 0.0);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "scratch files removed"
        );
    }

    #[test]
    fn buffered_mode_syncs_and_open_loop_paces_writes() {
        // Claim: buffered mode is honoured as asked, and an open loop at 200 writes/s for 60 ms
        // issues about a dozen writes, not as many as the device allows.
        let dir = tempfile::tempdir().unwrap();
        let config = LoadConfig {
            io_mode: IoMode::BufferedSync,
            rate_per_s: Some(200.0),
            ..tiny(dir.path())
        };
        let report = generate_load(&config).unwrap();
        assert_eq!(
            (report.io_mode, report.fallback_reason),
            (IoMode::BufferedSync, None)
        );
        assert!(report.writes <= 40, "paced: {} writes", report.writes);
    }

    #[test]
    fn a_configuration_no_run_can_honour_is_refused_with_what_is_expected() {
        // Claim: each bad parameter is named with the range it must be in.
        let dir = tempfile::tempdir().unwrap();
        let base = tiny(dir.path());
        let cases: [(LoadConfig, &str); 6] = [
            (
                LoadConfig {
                    block_size_bytes: 1000,
                    ..base.clone()
                },
                "multiple of 512",
            ),
            (
                LoadConfig {
                    writers: 0,
                    ..base.clone()
                },
                "from 1 to 256",
            ),
            (
                LoadConfig {
                    duration_ms: 0,
                    ..base.clone()
                },
                "from 1 ms",
            ),
            (
                LoadConfig {
                    rate_per_s: Some(-3.0),
                    ..base.clone()
                },
                "greater than 0",
            ),
            (
                LoadConfig {
                    file_size_bytes: 10,
                    ..base.clone()
                },
                "at least one block",
            ),
            (
                LoadConfig {
                    dir: dir.path().join("missing"),
                    ..base.clone()
                },
                "existing directory",
            ),
        ];
        for (config, expected) in cases {
            let message = generate_load(&config).unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn sizes_parse_with_dd_style_units() {
        // Claim: the units learners type for dd and fio are understood; anything else is refused.
        let cases: [(&str, Option<usize>); 7] = [
            ("4096", Some(4096)),
            ("4k", Some(4096)),
            ("64K", Some(65_536)),
            ("1m", Some(1 << 20)),
            ("1MiB", Some(1 << 20)),
            ("4 kb", Some(4096)),
            ("four", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_byte_size(text).ok(), expected, "{text}");
        }
        assert!(
            parse_byte_size("4g")
                .unwrap_err()
                .to_string()
                .contains("like 4k")
        );
    }
}
