//! The cost of durability, side by side: fsync per append, group commit at several batch sizes,
//! and no sync, each next to the disk's own limit measured in the same run at the same sync
//! cadence (plain sequential writes of the same payloads, no framing, no log).
//!
//! `cargo bench -p patterns --bench wal` (full: 1,000 and 100,000 appends of 40 and 4,096 bytes)
//! `BENCH_QUICK=1 cargo bench -p patterns --bench wal` (300 appends, one repetition: a smoke run)
//!
//! Columns: entries/s and payload MB/s; fsyncs (`fdatasync`s the log made, segment creation
//! included); p50/p99 append-to-durable latency; the disk's entries/s with the same number of
//! syncs; `vs disk` = log ÷ disk at that cadence (target ≥ 0.8); `gain` = this mode ÷ fsync per
//! append; `disk gain` = the same ratio for the disk itself; `gain ratio` = gain ÷ disk gain
//! (target ≥ 0.8). Files go under Cargo's target tmp dir, on the real disk even where /tmp is
//! tmpfs.

use patterns::wal::{GroupCommitConfig, GroupCommitLog, Log, LogConfig, ScratchDir};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    FsyncPerAppend,
    /// The same, on a segment grown ahead by zeros, so no sync has to persist a new file size.
    FsyncPerAppendPreallocated,
    GroupCommit {
        batch: usize,
    },
    NoSync,
}

impl Mode {
    fn name(self) -> String {
        match self {
            Mode::FsyncPerAppend => "fsync per append".into(),
            Mode::FsyncPerAppendPreallocated => "fsync per append, preallocated".into(),
            Mode::GroupCommit { batch } => format!("group commit, batch {batch}"),
            Mode::NoSync => "no sync".into(),
        }
    }
}

struct Run {
    elapsed: Duration,
    syncs: u64,
    /// Append-to-durable latency of every entry (empty when nothing is synced).
    latencies: Vec<Duration>,
}

fn payload(bytes: usize) -> Vec<u8> {
    (0..bytes).map(|i| (i * 31 + 7) as u8).collect()
}

fn run_log(mode: Mode, dir: &Path, appends: usize, payload: &[u8]) -> Run {
    let config = LogConfig {
        preallocate_bytes: if mode == Mode::FsyncPerAppendPreallocated {
            16 << 20
        } else {
            0
        },
        ..LogConfig::default()
    };
    match mode {
        Mode::FsyncPerAppend | Mode::FsyncPerAppendPreallocated | Mode::NoSync => {
            let mut log = Log::open(dir, config).expect("open the log");
            let mut latencies = Vec::with_capacity(appends);
            let start = Instant::now();
            for _ in 0..appends {
                let t = Instant::now();
                log.append(payload).expect("append");
                if mode != Mode::NoSync {
                    log.sync().expect("sync");
                    latencies.push(t.elapsed());
                }
            }
            log.flush().expect("flush");
            let elapsed = start.elapsed();
            Run {
                elapsed,
                syncs: log.stats().syncs,
                latencies,
            }
        }
        Mode::GroupCommit { batch } => {
            let group = GroupCommitConfig {
                batch_entries_max: batch,
                wait_max: Duration::from_millis(10),
            };
            let log = GroupCommitLog::open(dir, config, group).expect("open the log");
            let mut appended_at = Vec::with_capacity(appends);
            let start = Instant::now();
            for _ in 0..appends {
                let t = Instant::now();
                log.append(payload).expect("append");
                appended_at.push(t);
            }
            log.sync().expect("sync");
            let elapsed = start.elapsed();
            let completions = log.sync_completions();
            let mut latencies = Vec::with_capacity(appends);
            let mut c = 0;
            for (i, t) in appended_at.iter().enumerate() {
                while completions[c].0 < i as u64 + 1 {
                    c += 1;
                }
                latencies.push(completions[c].1 - *t);
            }
            Run {
                elapsed,
                syncs: log.stats().syncs,
                latencies,
            }
        }
    }
}

/// The disk's own limit: `appends` plain writes of `payload` to one file, with `syncs`
/// fdatasyncs spread evenly (the last at the end).
fn run_disk(dir: &Path, appends: usize, payload: &[u8], syncs: u64) -> Run {
    let mut file = File::create(dir.join("plain.dat")).expect("create");
    let every = if syncs == 0 {
        usize::MAX
    } else {
        appends.div_ceil(syncs as usize).max(1)
    };
    let mut latencies = Vec::with_capacity(if syncs == 0 { 0 } else { appends });
    let mut waiting = Vec::with_capacity(every.min(appends));
    let mut done_syncs = 0;
    let start = Instant::now();
    for i in 0..appends {
        waiting.push(Instant::now());
        file.write_all(payload).expect("write");
        if (i + 1) % every == 0 || (syncs > 0 && i + 1 == appends) {
            file.sync_data().expect("sync");
            done_syncs += 1;
            let now = Instant::now();
            latencies.extend(waiting.drain(..).map(|t| now - t));
        }
    }
    let elapsed = start.elapsed();
    Run {
        elapsed,
        syncs: done_syncs,
        latencies,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> String {
    if sorted.is_empty() {
        return "–".into();
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    format!("{:.0}", sorted[i].as_secs_f64() * 1e6)
}

fn per_second(appends: usize, run: &Run) -> f64 {
    appends as f64 / run.elapsed.as_secs_f64()
}

fn file_system_of(path: &Path) -> String {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return "unknown".into();
    };
    let path = path.canonicalize().unwrap_or(path.to_path_buf());
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && path.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} on {}", f[2], f[0])))
        })
        .max()
        .map_or("unknown".into(), |(_, fs)| fs)
}

fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v != "0")
        || std::env::args().any(|a| a == "--quick");
    let parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(parent).expect("target tmp dir");
    let counts: &[usize] = if quick { &[300] } else { &[1_000, 100_000] };
    let sizes = [40usize, 4096];
    let modes = [
        Mode::FsyncPerAppend,
        Mode::FsyncPerAppendPreallocated,
        Mode::GroupCommit { batch: 10 },
        Mode::GroupCommit { batch: 100 },
        Mode::GroupCommit { batch: 1000 },
        Mode::NoSync,
    ];
    println!(
        "WAL write modes vs the disk's own limit ({}; files in {}, {})\n",
        if quick { "quick" } else { "full" },
        parent.display(),
        file_system_of(parent)
    );
    println!(
        "| appends | payload B | mode | entries/s | MB/s | fsyncs | p50 µs | p99 µs | disk entries/s | vs disk | gain | disk gain | gain ratio |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &appends in counts {
        for &size in &sizes {
            let data = payload(size);
            let mut fsync_base: Option<(f64, f64)> = None;
            for &mode in &modes {
                // Best of a few interleaved repetitions: the disk is shared, and a neighbour's
                // burst should not decide a row.
                let repetitions = if quick || appends > 1_000 { 1 } else { 3 };
                let mut best: Option<Run> = None;
                let mut disk: Option<Run> = None;
                for _ in 0..repetitions {
                    let log_dir = ScratchDir::new_in(parent, "bench-wal").expect("scratch dir");
                    let run = run_log(mode, log_dir.path(), appends, &data);
                    drop(log_dir);
                    let disk_dir = ScratchDir::new_in(parent, "bench-disk").expect("scratch dir");
                    let plain = run_disk(disk_dir.path(), appends, &data, run.syncs);
                    drop(disk_dir);
                    if best.as_ref().is_none_or(|b| run.elapsed < b.elapsed) {
                        best = Some(run);
                    }
                    if disk.as_ref().is_none_or(|d| plain.elapsed < d.elapsed) {
                        disk = Some(plain);
                    }
                }
                let (mut run, disk) =
                    (best.expect("one repetition"), disk.expect("one repetition"));
                run.latencies.sort_unstable();
                let rate = per_second(appends, &run);
                let disk_rate = per_second(appends, &disk);
                let mb = rate * size as f64 / 1e6;
                let (gain, disk_gain, ratio) = match fsync_base {
                    None => {
                        fsync_base = Some((rate, disk_rate));
                        ("1.00".into(), "1.00".into(), "–".to_string())
                    }
                    Some((base, disk_base)) => {
                        let gain = rate / base;
                        let disk_gain = disk_rate / disk_base;
                        (
                            format!("{gain:.2}"),
                            format!("{disk_gain:.2}"),
                            format!("{:.2}", gain / disk_gain),
                        )
                    }
                };
                println!(
                    "| {appends} | {size} | {} | {rate:.0} | {mb:.1} | {} | {} | {} | {disk_rate:.0} | {:.2} | {gain} | {disk_gain} | {ratio} |",
                    mode.name(),
                    run.syncs,
                    percentile(&run.latencies, 0.5),
                    percentile(&run.latencies, 0.99),
                    rate / disk_rate,
                );
            }
        }
    }
}
