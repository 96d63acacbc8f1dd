//! The cost of durability, measured: a log in each write mode next to the disk's own limit.
//!
//! The benchmark (`benches/wal.rs`) and the notebook both call these, so the numbers in the
//! lesson and in the table come from one piece of code. The disk's limit is plain sequential
//! writes of the same payloads with a sync at the same cadence and no framing: what any log
//! could at best do. [`compare_with_disk`] alternates chunks of the two runs, so that a
//! neighbour's burst on a shared disk slows both rather than one; `compare_with_lsm` (feature
//! `lsm`) puts our log next to a real LSM engine the same way. [`measure_log_reads`] times
//! reading back across many small segments.

use super::{GroupCommitConfig, GroupCommitLog, Log, LogConfig, WalError};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
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
    let mut disk = CadenceRun::start(PlainFile::create(&disk_path)?, mode.syncs_every());
    let mut done = 0;
    while done < appends {
        let n = chunk.max(1).min(appends - done);
        let syncs_before = log.syncs();
        log.run(n, payload)?;
        // The log also syncs when a segment rolls over (even with no sync for appends: only the
        // newest segment may be torn); the disk alone makes as many syncs in its chunk.
        let extra_syncs = (log.syncs() - syncs_before).saturating_sub(disk.cadence_syncs(n));
        disk.run(n, payload, extra_syncs)?;
        done += n;
    }
    let disk = disk.finish()?;
    let _ = std::fs::remove_file(&disk_path);
    Ok((log.finish()?, disk))
}

/// Our log and the LSM store (fjall) appending the same payloads with a sync every
/// `sync_every` appends, alternating chunks of `chunk` appends; returns (log, LSM store). Both
/// run in this thread through the same code, so the difference is the storage alone. The log
/// preallocates its segment as fjall preallocates its journal, so that neither sync also has to
/// make a new file size durable.
#[cfg(feature = "lsm")]
pub fn compare_with_lsm(
    dir: &Path,
    appends: usize,
    payload: &[u8],
    sync_every: usize,
    chunk: usize,
) -> Result<(Measurement, Measurement), WalError> {
    let sync_every = Some(sync_every.max(1));
    let config = LogConfig {
        preallocate_bytes: 16 << 20,
        ..LogConfig::default()
    };
    let mut log = CadenceRun::start(Log::open(dir.join("log"), config)?, sync_every);
    let mut lsm = CadenceRun::start(super::LsmLogStore::open(dir.join("lsm"))?, sync_every);
    let mut done = 0;
    while done < appends {
        let n = chunk.max(1).min(appends - done);
        log.run(n, payload, 0)?;
        lsm.run(n, payload, 0)?;
        done += n;
    }
    Ok((log.finish()?, lsm.finish()?))
}

/// Reading a log back: everything, and from the middle on.
#[derive(Clone, Debug)]
pub struct ReadMeasurement {
    /// Entries the log holds.
    pub entries: usize,
    /// Segment files they are spread over (1 for the LSM store).
    pub segments: usize,
    /// Reading every entry, in order (the best of the repetitions).
    pub read_all: Duration,
    /// Reading from the middle entry to the end (the best of the repetitions).
    pub read_from_middle: Duration,
}

impl ReadMeasurement {
    /// Entries per second reading everything.
    pub fn read_all_per_second(&self) -> f64 {
        self.entries as f64 / self.read_all.as_secs_f64()
    }

    /// Entries per second reading the second half.
    pub fn read_from_middle_per_second(&self) -> f64 {
        (self.entries - self.entries / 2) as f64 / self.read_from_middle.as_secs_f64()
    }
}

/// Writes `entries` copies of `payload` to a log of segments of at most `segment_bytes_max`
/// bytes, reopens it, and times `read_all` and `read_from` the middle index (spec §3.1 #11,
/// whose time bound became this row). The best of `repetitions` reads is kept.
pub fn measure_log_reads(
    dir: &Path,
    entries: usize,
    payload: &[u8],
    segment_bytes_max: u64,
    repetitions: usize,
) -> Result<ReadMeasurement, WalError> {
    let config = || LogConfig {
        segment_bytes_max,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir, config())?;
    for _ in 0..entries {
        log.append(payload)?;
    }
    log.close()?;
    let log = Log::open(dir, config())?;
    let middle = log.first_index() + entries as u64 / 2;
    let read_all = best_of(repetitions, || Ok(log.read_all()?.len()), entries)?;
    let read_from_middle = best_of(
        repetitions,
        || Ok(log.read_from(middle)?.len()),
        entries - entries / 2,
    )?;
    Ok(ReadMeasurement {
        entries,
        segments: log.segments().len(),
        read_all,
        read_from_middle,
    })
}

/// The same reads from one log of the LSM store: a range scan from the first index, and one
/// from the middle.
#[cfg(feature = "lsm")]
pub fn measure_lsm_reads(
    dir: &Path,
    entries: usize,
    payload: &[u8],
    repetitions: usize,
) -> Result<ReadMeasurement, WalError> {
    use super::{LogId, LogStore, LsmLogStore};
    let log = LogId(1);
    let mut store = LsmLogStore::open(dir)?;
    for _ in 0..entries {
        store.append(log, payload)?;
    }
    LogStore::sync(&mut store)?;
    drop(store);
    let store = LsmLogStore::open(dir)?;
    let middle = 1 + entries as u64 / 2;
    let read_all = best_of(
        repetitions,
        || Ok(store.read_range(log, 1..=u64::MAX)?.len()),
        entries,
    )?;
    let read_from_middle = best_of(
        repetitions,
        || Ok(store.read_range(log, middle..=u64::MAX)?.len()),
        entries - entries / 2,
    )?;
    Ok(ReadMeasurement {
        entries,
        segments: 1,
        read_all,
        read_from_middle,
    })
}

/// The shortest of `repetitions` runs of `read`, each checked to return `expected` entries.
fn best_of(
    repetitions: usize,
    read: impl Fn() -> Result<usize, WalError>,
    expected: usize,
) -> Result<Duration, WalError> {
    let mut best = Duration::MAX;
    for _ in 0..repetitions.max(1) {
        let start = Instant::now();
        let got = read()?;
        best = best.min(start.elapsed());
        assert_eq!(
            got, expected,
            "a timed read returned the wrong number of entries"
        );
    }
    Ok(best)
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

/// Where a run at a fixed sync cadence appends.
trait Sink {
    fn write(&mut self, payload: &[u8]) -> Result<(), WalError>;
    fn sync(&mut self) -> Result<(), WalError>;
}

/// Plain writes to one file: the disk's own limit.
struct PlainFile {
    file: File,
    path: PathBuf,
}

impl PlainFile {
    fn create(path: &Path) -> Result<PlainFile, WalError> {
        Ok(PlainFile {
            file: File::create(path).map_err(|e| WalError::io("create", path, e))?,
            path: path.to_path_buf(),
        })
    }
}

impl Sink for PlainFile {
    fn write(&mut self, payload: &[u8]) -> Result<(), WalError> {
        self.file
            .write_all(payload)
            .map_err(|e| WalError::io("write", &self.path, e))
    }

    fn sync(&mut self) -> Result<(), WalError> {
        self.file
            .sync_data()
            .map_err(|e| WalError::io("sync", &self.path, e))
    }
}

impl Sink for Log {
    fn write(&mut self, payload: &[u8]) -> Result<(), WalError> {
        self.append(payload).map(drop)
    }

    fn sync(&mut self) -> Result<(), WalError> {
        Log::sync(self).map(drop)
    }
}

#[cfg(feature = "lsm")]
impl Sink for super::LsmLogStore {
    fn write(&mut self, payload: &[u8]) -> Result<(), WalError> {
        super::LogStore::append(self, super::LogId(1), payload).map(drop)
    }

    fn sync(&mut self) -> Result<(), WalError> {
        super::LogStore::sync(self)
    }
}

/// Appends to a sink with a sync every `syncs_every` appends, timing each entry until durable.
struct CadenceRun<S> {
    sink: S,
    syncs_every: Option<usize>,
    elapsed: Duration,
    appends: usize,
    syncs: u64,
    waiting: Vec<Instant>,
    latencies: Vec<Duration>,
}

impl<S: Sink> CadenceRun<S> {
    fn start(sink: S, syncs_every: Option<usize>) -> CadenceRun<S> {
        CadenceRun {
            sink,
            syncs_every,
            elapsed: Duration::ZERO,
            appends: 0,
            syncs: 0,
            waiting: Vec::new(),
            latencies: Vec::new(),
        }
    }

    /// Syncs the next `n` writes will make at the cadence.
    fn cadence_syncs(&self, n: usize) -> u64 {
        self.syncs_every.map_or(0, |every| {
            ((self.appends + n) / every - self.appends / every) as u64
        })
    }

    /// Writes `n` payloads at the cadence, then makes `extra_syncs` more syncs.
    fn run(&mut self, n: usize, payload: &[u8], extra_syncs: u64) -> Result<(), WalError> {
        let start = Instant::now();
        for _ in 0..n {
            self.waiting.push(Instant::now());
            self.sink.write(payload)?;
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

    fn sync(&mut self) -> Result<(), WalError> {
        self.sink.sync()?;
        self.syncs += 1;
        let now = Instant::now();
        self.latencies
            .extend(self.waiting.drain(..).map(|t| now - t));
        Ok(())
    }

    fn finish(mut self) -> Result<Measurement, WalError> {
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
        let plain_file = PlainFile::create(&dir.path().join("plain")).unwrap();
        let mut plain = CadenceRun::start(plain_file, None);
        assert_eq!(plain.cadence_syncs(1_000), 0);
        plain.run(10, &data, 2).unwrap();
        assert_eq!(plain.finish().unwrap().syncs, 2);
    }

    #[cfg(feature = "lsm")]
    #[test]
    fn the_log_and_the_lsm_store_sync_at_the_same_cadence_and_read_back_everything() {
        // Claim: side by side, both make one sync per 10 appends over the same 40 appends, and
        // the read rows read every entry (best_of checks the count), from the middle half.
        let dir = ScratchDir::new("cost-lsm").unwrap();
        let data = payload(40);
        let (log, lsm) = compare_with_lsm(dir.path(), 40, &data, 10, 20).unwrap();
        assert_eq!((log.syncs, lsm.syncs), (4, 4));
        assert_eq!((log.appends, lsm.appends), (40, 40));
        assert_eq!((log.latencies.len(), lsm.latencies.len()), (40, 40));
        let reads = measure_log_reads(&dir.path().join("reads"), 101, &data, 300, 2).unwrap();
        assert!(reads.segments > 20, "small segments: {}", reads.segments);
        let lsm_reads = measure_lsm_reads(&dir.path().join("lsm-reads"), 101, &data, 2).unwrap();
        assert_eq!((reads.entries, lsm_reads.entries), (101, 101));
    }
}
