//! The cost of durability, side by side: fsync per append (plain and on a preallocated segment),
//! group commit at several batch sizes, and no sync, each next to the disk's own limit measured
//! in the same run at the same sync cadence (plain sequential writes of the same payloads, same
//! number of `fdatasync`s, no framing, no log).
//!
//! `cargo bench -p patterns --bench wal` (full: 1,000 and 100,000 appends of 40 and 4,096 bytes)
//! `BENCH_QUICK=1 cargo bench -p patterns --bench wal` (300 appends, one repetition: a smoke run)
//! `BENCH_APPENDS=1000,10000 BENCH_PAYLOADS=512 cargo bench -p patterns --bench wal` (other
//! append counts and payload sizes)
//!
//! Columns: entries/s and payload MB/s; fsyncs the log made (segment creation included); p50/p99
//! append-to-durable latency; the disk's entries/s with a sync at the same cadence; `vs disk` =
//! log ÷ disk at that cadence (target ≥ 0.8); `gain` = this mode ÷ fsync per append; `disk gain`
//! = the same ratio for the plain writes; `gain ratio` = gain ÷ disk gain (target ≥ 0.8). The log and the
//! plain writes alternate in chunks of 1,000 appends, so that a neighbour's burst on a shared disk
//! slows both; a row is the best of several such runs when one run holds few syncs. Files go
//! under Cargo's target tmp dir, on the real disk even where /tmp is tmpfs.
//!
//! Two more tables follow. Our log next to the multi-log store on fjall, a real LSM engine
//! (`LsmLogStore`, issue 22), appending the same payloads in one thread with a sync every 1, 10
//! or 100 appends, alternating chunks of 1,000; the log preallocates its segment as fjall
//! preallocates its journal. And reads (spec §3.1 #11): a log spread over
//! about 250 small segments, read whole with `read_all` and from its middle index with
//! `read_from`, next to the same reads as range scans of the LSM store; the best of 5 reads,
//! from the page cache after a reopen.
//!
//! Build cost of the engine, for learners and CI (cold `cargo build`, dev profile, on the 2-core
//! workshop machine): fjall 3.1.13 without lz4, 23 s of CPU (53 s wall at load 8) for 47 crates
//! and no system library; RocksDB through the `rocksdb` crate 0.25 without its compression
//! libraries needs libclang installed for its bindings and then compiles 343 C++ files of
//! RocksDB 11.8 at about 6 s of CPU each: about 35 minutes of CPU, some 90 times fjall's
//! (extrapolated from the first 51 files, built at low priority beside other builds). So the
//! store is on fjall, behind the `lsm` feature.

use patterns::wal::ScratchDir;
use patterns::wal::cost::{
    Measurement, ReadMeasurement, WriteMode, compare_with_disk, compare_with_lsm,
    measure_log_reads, measure_lsm_reads, payload,
};
use std::path::Path;

fn file_system_of(path: &Path) -> String {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return "file system unknown".into();
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
        .map_or("file system unknown".into(), |(_, fs)| fs)
}

fn microseconds(m: &Measurement, p: f64) -> String {
    m.latency_us(p).map_or("–".into(), |us| format!("{us:.0}"))
}

/// Appends per chunk when the log and the plain writes alternate: a multiple of every batch.
const CHUNK_APPENDS: usize = 1_000;

/// The best of `repetitions` runs of the log and of the plain writes, each run alternating
/// chunks of the two.
fn measure(
    mode: WriteMode,
    parent: &Path,
    appends: usize,
    data: &[u8],
    repetitions: usize,
) -> (Measurement, Measurement) {
    let mut best: Option<(Measurement, Measurement)> = None;
    for _ in 0..repetitions {
        let dir = ScratchDir::new_in(parent, "bench-wal").expect("scratch dir");
        let (log, disk) =
            compare_with_disk(mode, dir.path(), appends, data, CHUNK_APPENDS).expect("run");
        best = Some(match best {
            None => (log, disk),
            Some((l, d)) => (
                if log.elapsed < l.elapsed { log } else { l },
                if disk.elapsed < d.elapsed { disk } else { d },
            ),
        });
    }
    best.expect("at least one repetition")
}

/// Runs of a row: one in quick mode; otherwise at least three, and enough for about 30 syncs,
/// so that a row of one sync per run is not decided by one lucky or unlucky fsync.
fn repetitions(quick: bool, appends: usize, mode: WriteMode) -> usize {
    if quick {
        return 1;
    }
    let syncs_per_run = mode
        .syncs_every()
        .map_or(1, |every| appends.div_ceil(every));
    if syncs_per_run >= 30 && appends > 1_000 {
        1
    } else {
        30usize.div_ceil(syncs_per_run).max(3)
    }
}

/// Our log and the LSM store at the same sync cadences, side by side.
fn log_against_lsm(quick: bool, parent: &Path, sizes: &[usize]) {
    println!(
        "\nOur log (preallocated) vs the LSM store (fjall) at the same sync cadence (one thread, chunks of 1,000 alternating)\n"
    );
    println!(
        "| appends | payload B | sync every | log entries/s | LSM entries/s | LSM ÷ log | log p50 µs | LSM p50 µs | log p99 µs | LSM p99 µs |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let cadences: &[(usize, usize)] = if quick {
        &[(1, 100), (100, 300)]
    } else {
        &[(1, 1_000), (10, 10_000), (100, 100_000)]
    };
    for &size in sizes {
        let data = payload(size);
        for &(every, appends) in cadences {
            let dir = ScratchDir::new_in(parent, "bench-lsm").expect("scratch dir");
            let (log, lsm) =
                compare_with_lsm(dir.path(), appends, &data, every, CHUNK_APPENDS).expect("run");
            let (log_rate, lsm_rate) = (log.entries_per_second(), lsm.entries_per_second());
            println!(
                "| {appends} | {size} | {every} | {log_rate:.0} | {lsm_rate:.0} | {:.2} | {} | {} | {} | {} |",
                lsm_rate / log_rate,
                microseconds(&log, 0.5),
                microseconds(&lsm, 0.5),
                microseconds(&log, 0.99),
                microseconds(&lsm, 0.99),
            );
        }
    }
}

/// Reading back across many small segments, and the LSM store's range scans.
fn reads(quick: bool, parent: &Path) {
    let entries = if quick { 2_000 } else { 100_000 };
    let size = 40;
    let data = payload(size);
    // About 250 segments: many, but few enough open files for any default limit.
    let segment_bytes = ((entries * (size + 25)) as u64 / 250).max(256);
    println!("\nReading back {entries} entries of {size} B (best of 5, page cache warm)\n");
    println!("| store | segments | read all: entries/s | read_from(middle): entries/s |");
    println!("|---|---:|---:|---:|");
    let row = |name: &str, m: &ReadMeasurement| {
        println!(
            "| {name} | {} | {:.0} | {:.0} |",
            m.segments,
            m.read_all_per_second(),
            m.read_from_middle_per_second()
        );
    };
    let dir = ScratchDir::new_in(parent, "bench-reads").expect("scratch dir");
    let log = measure_log_reads(&dir.path().join("log"), entries, &data, segment_bytes, 5)
        .expect("log reads");
    row(&format!("log, {segment_bytes}-byte segments"), &log);
    let lsm = measure_lsm_reads(&dir.path().join("lsm"), entries, &data, 5).expect("LSM reads");
    row("LSM store (fjall), range scan", &lsm);
}

fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v != "0")
        || std::env::args().any(|a| a == "--quick");
    let parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(parent).expect("target tmp dir");
    let counts: Vec<usize> = match std::env::var("BENCH_APPENDS") {
        Ok(list) => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("BENCH_APPENDS is a comma-separated list of counts")
            })
            .collect(),
        Err(_) if quick => vec![300],
        Err(_) => vec![1_000, 100_000],
    };
    let sizes: Vec<usize> = match std::env::var("BENCH_PAYLOADS") {
        Ok(list) => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("BENCH_PAYLOADS is a comma-separated list of byte counts")
            })
            .collect(),
        Err(_) => vec![40, 4096],
    };
    let modes = [
        WriteMode::FsyncPerAppend,
        WriteMode::FsyncPerAppendPreallocated,
        WriteMode::GroupCommit { batch: 10 },
        WriteMode::GroupCommit { batch: 100 },
        WriteMode::GroupCommit { batch: 1000 },
        WriteMode::NoSync,
    ];
    println!(
        "WAL write modes vs the disk's own limit ({} run; files in {}, {})\n",
        if quick { "quick" } else { "full" },
        parent.display(),
        file_system_of(parent)
    );
    println!(
        "| appends | payload B | mode | entries/s | MB/s | fsyncs | p50 µs | p99 µs | disk entries/s | vs disk | gain | disk gain | gain ratio |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &appends in &counts {
        for &size in &sizes {
            let data = payload(size);
            let mut fsync_per_append: Option<(f64, f64)> = None;
            for mode in modes {
                let repetitions = repetitions(quick, appends, mode);
                let (log, disk) = measure(mode, parent, appends, &data, repetitions);
                let (rate, disk_rate) = (log.entries_per_second(), disk.entries_per_second());
                let (base, disk_base) = *fsync_per_append.get_or_insert((rate, disk_rate));
                let (gain, disk_gain) = (rate / base, disk_rate / disk_base);
                let ratio = if mode == WriteMode::FsyncPerAppend {
                    "–".to_string()
                } else {
                    format!("{:.2}", gain / disk_gain)
                };
                println!(
                    "| {appends} | {size} | {} | {rate:.0} | {:.1} | {} | {} | {} | {disk_rate:.0} | {:.2} | {gain:.2} | {disk_gain:.2} | {ratio} |",
                    mode.name(),
                    rate * size as f64 / 1e6,
                    log.syncs,
                    microseconds(&log, 0.5),
                    microseconds(&log, 0.99),
                    rate / disk_rate,
                );
            }
        }
    }
    log_against_lsm(quick, parent, &sizes);
    reads(quick, parent);
}
