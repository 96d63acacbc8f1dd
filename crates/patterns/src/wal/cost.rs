//! The cost of durability, measured: a log in each write mode next to the disk's own limit.
//!
//! The benchmark (`benches/wal.rs`) and the notebook both call these, so the numbers in the
//! lesson and in the table come from one piece of code. The disk's limit is plain sequential
//! writes of the same payloads with the same number of `fdatasync`s and no framing: what any log
//! could at best do at that sync cadence.

use super::{GroupCommitConfig, GroupCommitLog, Log, LogConfig, WalError};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// How appends are made durable.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Sync after every append: durable at once, one sync per entry.
    FsyncPerAppend,
    /// The same on a segment grown ahead by zeros (`preallocate_bytes`).
    FsyncPerAppendPreallocated,
    /// A committer syncs once per `batch` appends ([`GroupCommitLog`]).
    GroupCommit {
        /// Appends per sync.
        batch: usize,
    },
    /// Never sync: fast, and nothing is durable.
    NoSync,
}

impl WriteMode {
    /// The row label in tables and charts.
    pub fn name(self) -> String {
        match self {
            WriteMode::FsyncPerAppend => "fsync per append".into(),
            WriteMode::FsyncPerAppendPreallocated => "fsync per append, preallocated".into(),
            WriteMode::GroupCommit { batch } => format!("group commit, batch {batch}"),
            WriteMode::NoSync => "no sync".into(),
        }
    }
}

/// One timed run.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// Entries appended.
    pub appends: usize,
    /// From the first append until the last entry was durable (or written, without syncs).
    pub elapsed: Duration,
    /// `fdatasync`s made (segment creation included for a log).
    pub syncs: u64,
    /// Append-to-durable latency of every entry, sorted (empty when nothing was synced).
    pub latencies: Vec<Duration>,
}

impl Measurement {
    /// Throughput.
    pub fn entries_per_second(&self) -> f64 {
        self.appends as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency below which a fraction `p` of entries became durable, in microseconds.
    pub fn latency_us(&self, p: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        Some(self.latencies[i].as_secs_f64() * 1e6)
    }
}

/// Deterministic payload bytes.
pub fn payload(bytes: usize) -> Vec<u8> {
    (0..bytes).map(|i| (i * 31 + 7) as u8).collect()
}

/// Appends `appends` copies of `payload` to a new log in `dir` in the given mode.
pub fn measure_log(
    mode: WriteMode,
    dir: &Path,
    appends: usize,
    payload: &[u8],
) -> Result<Measurement, WalError> {
    let config = LogConfig {
        preallocate_bytes: if mode == WriteMode::FsyncPerAppendPreallocated {
            16 << 20
        } else {
            0
        },
        ..LogConfig::default()
    };
    let mut latencies = Vec::with_capacity(appends);
    let (elapsed, syncs) = match mode {
        WriteMode::GroupCommit { batch } => {
            let group = GroupCommitConfig {
                batch_entries_max: batch,
                wait_max: Duration::from_millis(10),
            };
            let log = GroupCommitLog::open(dir, config, group)?;
            let mut appended_at = Vec::with_capacity(appends);
            let start = Instant::now();
            for _ in 0..appends {
                appended_at.push(Instant::now());
                log.append(payload)?;
            }
            log.sync()?;
            let elapsed = start.elapsed();
            let completions = log.sync_completions();
            let mut c = 0;
            for (i, t) in appended_at.iter().enumerate() {
                while completions[c].0 < i as u64 + 1 {
                    c += 1;
                }
                latencies.push(completions[c].1 - *t);
            }
            (elapsed, log.stats().syncs)
        }
        _ => {
            let mut log = Log::open(dir, config)?;
            let start = Instant::now();
            for _ in 0..appends {
                let t = Instant::now();
                log.append(payload)?;
                if mode != WriteMode::NoSync {
                    log.sync()?;
                    latencies.push(t.elapsed());
                }
            }
            log.flush()?;
            (start.elapsed(), log.stats().syncs)
        }
    };
    latencies.sort_unstable();
    Ok(Measurement {
        appends,
        elapsed,
        syncs,
        latencies,
    })
}

/// The disk's own limit: `appends` plain writes of `payload` to one new file in `dir`, with
/// `syncs` `fdatasync`s spread evenly (the last at the end).
pub fn measure_disk(
    dir: &Path,
    appends: usize,
    payload: &[u8],
    syncs: u64,
) -> std::io::Result<Measurement> {
    let path = dir.join("plain-writes.dat");
    let mut file = File::create(&path)?;
    let every = if syncs == 0 {
        usize::MAX
    } else {
        appends.div_ceil(syncs as usize).max(1)
    };
    let mut latencies = Vec::with_capacity(if syncs == 0 { 0 } else { appends });
    let mut waiting = Vec::new();
    let mut done_syncs = 0;
    let start = Instant::now();
    for i in 0..appends {
        waiting.push(Instant::now());
        file.write_all(payload)?;
        if (i + 1) % every == 0 || (syncs > 0 && i + 1 == appends) {
            file.sync_data()?;
            done_syncs += 1;
            let now = Instant::now();
            latencies.extend(waiting.drain(..).map(|t| now - t));
        }
    }
    let elapsed = start.elapsed();
    drop(file);
    std::fs::remove_file(&path)?;
    latencies.sort_unstable();
    Ok(Measurement {
        appends,
        elapsed,
        syncs: done_syncs,
        latencies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::ScratchDir;

    #[test]
    fn each_mode_makes_the_number_of_syncs_it_promises() {
        // Claim: fsync per append syncs every entry, group commit once per batch, no-sync never
        // (counts, not timings, so the test cannot flake).
        let dir = ScratchDir::new("cost").unwrap();
        let data = payload(100);
        let count = |mode| {
            let sub = dir
                .path()
                .join(WriteMode::name(mode).replace([' ', ','], "-"));
            measure_log(mode, &sub, 40, &data).unwrap()
        };
        assert_eq!(count(WriteMode::FsyncPerAppend).syncs, 40);
        assert_eq!(count(WriteMode::GroupCommit { batch: 10 }).syncs, 4);
        let none = count(WriteMode::NoSync);
        assert_eq!(none.syncs, 0);
        assert!(none.latency_us(0.5).is_none());
        assert_eq!(measure_disk(dir.path(), 40, &data, 4).unwrap().syncs, 4);
    }
}
