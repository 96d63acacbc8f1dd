//! The cost of durability, measured: a log in each write mode next to the disk's own limit.
//!
//! The benchmark (`benches/wal.rs`) and the notebook both call these, so the numbers in the
//! lesson and in the table come from one piece of code. The disk's limit is plain sequential
//! writes of the same payloads with a sync at the same cadence and no framing: what any log
//! could at best do. [`compare_with_disk`] alternates chunks of the two runs, so that a
//! neighbour's burst on a shared disk slows both rather than one.

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
    let mut log = LogRun::start(mode, dir)?;
    log.run(appends, payload)?;
    log.finish()
}

/// Measures the log in `mode` and the disk alone at the same sync cadence, alternating chunks
/// of `chunk` appends (a multiple of the batch), so that both see the same neighbours on a
/// shared disk. Returns (log, disk).
pub fn compare_with_disk(
    mode: WriteMode,
    dir: &Path,
    appends: usize,
    payload: &[u8],
    chunk: usize,
) -> Result<(Measurement, Measurement), WalError> {
    let mut log = LogRun::start(mode, &dir.join("log"))?;
    let disk_path = dir.join("plain-writes.dat");
    let mut disk = DiskRun::start(&disk_path, mode.syncs_every())
        .map_err(|e| WalError::io("create", &disk_path, e))?;
    let mut done = 0;
    while done < appends {
        let n = chunk.max(1).min(appends - done);
        let syncs_before = log.syncs();
        log.run(n, payload)?;
        // The log also syncs when a segment rolls over (even with no sync for appends: only the
        // newest segment may be torn); the disk alone makes as many syncs in its chunk.
        let extra_syncs = (log.syncs() - syncs_before).saturating_sub(disk.cadence_syncs(n));
        disk.run(n, payload, extra_syncs)
            .map_err(|e| WalError::io("write", &disk_path, e))?;
        done += n;
    }
    let disk = disk
        .finish()
        .map_err(|e| WalError::io("sync", &disk_path, e))?;
    let _ = std::fs::remove_file(&disk_path);
    Ok((log.finish()?, disk))
}

impl WriteMode {
    /// Appends per sync (None: never).
    pub fn syncs_every(self) -> Option<usize> {
        match self {
            WriteMode::FsyncPerAppend | WriteMode::FsyncPerAppendPreallocated => Some(1),
            WriteMode::GroupCommit { batch } => Some(batch),
            WriteMode::NoSync => None,
        }
    }
}

enum Writer {
    Plain(Box<Log>),
    Group(GroupCommitLog),
}

/// A log being measured, chunk by chunk.
struct LogRun {
    mode: WriteMode,
    writer: Writer,
    elapsed: Duration,
    appends: usize,
    appended_at: Vec<Instant>,
    latencies: Vec<Duration>,
}

impl LogRun {
    fn start(mode: WriteMode, dir: &Path) -> Result<LogRun, WalError> {
        let config = LogConfig {
            preallocate_bytes: if mode == WriteMode::FsyncPerAppendPreallocated {
                16 << 20
            } else {
                0
            },
            ..LogConfig::default()
        };
        let writer = match mode {
            WriteMode::GroupCommit { batch } => {
                let group = GroupCommitConfig {
                    batch_entries_max: batch,
                    wait_max: Duration::from_millis(10),
                };
                Writer::Group(GroupCommitLog::open(dir, config, group)?)
            }
            _ => Writer::Plain(Box::new(Log::open(dir, config)?)),
        };
        Ok(LogRun {
            mode,
            writer,
            elapsed: Duration::ZERO,
            appends: 0,
            appended_at: Vec::new(),
            latencies: Vec::new(),
        })
    }

    /// Syncs made so far.
    fn syncs(&self) -> u64 {
        match &self.writer {
            Writer::Plain(log) => log.stats().syncs,
            Writer::Group(log) => log.stats().syncs,
        }
    }

    /// Appends `n` entries and, unless the mode never syncs, returns once they are durable.
    fn run(&mut self, n: usize, payload: &[u8]) -> Result<(), WalError> {
        let start = Instant::now();
        match &mut self.writer {
            Writer::Plain(log) => {
                for _ in 0..n {
                    let t = Instant::now();
                    log.append(payload)?;
                    if self.mode != WriteMode::NoSync {
                        log.sync()?;
                        self.latencies.push(t.elapsed());
                    }
                }
            }
            Writer::Group(log) => {
                for _ in 0..n {
                    self.appended_at.push(Instant::now());
                    log.append(payload)?;
                }
                // A full last batch is already being synced; a partial one is synced now.
                log.sync()?;
            }
        }
        self.elapsed += start.elapsed();
        self.appends += n;
        Ok(())
    }

    fn finish(self) -> Result<Measurement, WalError> {
        let mut latencies = self.latencies;
        let mut elapsed = self.elapsed;
        let syncs = match self.writer {
            Writer::Plain(mut log) => {
                let start = Instant::now();
                log.flush()?;
                elapsed += start.elapsed();
                log.stats().syncs
            }
            Writer::Group(log) => {
                let completions = log.sync_completions();
                let mut c = 0;
                for (i, t) in self.appended_at.iter().enumerate() {
                    while completions[c].0 < i as u64 + 1 {
                        c += 1;
                    }
                    latencies.push(completions[c].1 - *t);
                }
                log.stats().syncs
            }
        };
        latencies.sort_unstable();
        Ok(Measurement {
            appends: self.appends,
            elapsed,
            syncs,
            latencies,
        })
    }
}

/// Plain writes to one file with a sync every `syncs_every` writes: the disk's own limit.
struct DiskRun {
    file: File,
    syncs_every: Option<usize>,
    elapsed: Duration,
    appends: usize,
    syncs: u64,
    waiting: Vec<Instant>,
    latencies: Vec<Duration>,
}

impl DiskRun {
    fn start(path: &Path, syncs_every: Option<usize>) -> std::io::Result<DiskRun> {
        Ok(DiskRun {
            file: File::create(path)?,
            syncs_every,
            elapsed: Duration::ZERO,
            appends: 0,
            syncs: 0,
            waiting: Vec::new(),
            latencies: Vec::new(),
        })
    }

    /// Syncs the next `n` writes will make at the cadence.
    fn cadence_syncs(&self, n: usize) -> u64 {
        self.syncs_every.map_or(0, |every| {
            ((self.appends + n) / every - self.appends / every) as u64
        })
    }

    /// Writes `n` payloads at the cadence, then makes `extra_syncs` more syncs.
    fn run(&mut self, n: usize, payload: &[u8], extra_syncs: u64) -> std::io::Result<()> {
        let start = Instant::now();
        for _ in 0..n {
            self.waiting.push(Instant::now());
            self.file.write_all(payload)?;
            self.appends += 1;
            if self
                .syncs_every
                .is_some_and(|every| self.appends % every == 0)
            {
                self.sync()?;
            }
        }
        for _ in 0..extra_syncs {
            self.sync()?;
        }
        self.elapsed += start.elapsed();
        Ok(())
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()?;
        self.syncs += 1;
        let now = Instant::now();
        self.latencies
            .extend(self.waiting.drain(..).map(|t| now - t));
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<Measurement> {
        if self.syncs_every.is_some() && !self.waiting.is_empty() {
            let start = Instant::now();
            self.sync()?;
            self.elapsed += start.elapsed();
        }
        self.latencies.sort_unstable();
        Ok(Measurement {
            appends: self.appends,
            elapsed: self.elapsed,
            syncs: self.syncs,
            latencies: self.latencies,
        })
    }
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
        let (log, disk) = compare_with_disk(
            WriteMode::GroupCommit { batch: 10 },
            &dir.path().join("side-by-side"),
            40,
            &data,
            20,
        )
        .unwrap();
        assert_eq!(
            (log.syncs, disk.syncs),
            (4, 4),
            "the same cadence, chunk by chunk"
        );
        assert_eq!((log.appends, disk.appends), (40, 40));
        // A segment roll in the log's chunk is mirrored by as many extra syncs of the disk alone.
        let mut plain = DiskRun::start(&dir.path().join("plain"), None).unwrap();
        assert_eq!(plain.cadence_syncs(1_000), 0);
        plain.run(10, &data, 2).unwrap();
        assert_eq!(plain.finish().unwrap().syncs, 2);
    }
}
