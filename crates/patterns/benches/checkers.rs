//! Checker throughput and memory on generated histories (`check::Workload`): one register or
//! independent keys, 1–50 concurrent clients, 100–100,000 operations. Prints a markdown table:
//! operations checked per second and the peak heap the check allocated (counted by this binary's
//! global allocator), with the single-threaded run of the same key-value history side by side.
//! Every history is valid by construction, so any verdict but "valid" is a failure of the
//! checker ("unknown": over the step budget).
//!
//! `cargo bench -p patterns --bench checkers`; `BENCH_QUICK=1` runs the small rows only.

use patterns::check::{self, CasRegister, Consistency, Independent, Options, Report, Workload};
use patterns::history::History;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting live bytes and their high-water mark.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Budget per key, and 5 s per check: rows beyond what the search can do print "unknown".
const STEPS_MAX: u64 = 10_000_000;

struct Row {
    name: &'static str,
    workload: Workload,
    consistency: Consistency,
    parallel: bool,
}

/// Runs one check; returns the report, the wall time and the peak heap above what was live before.
fn measure(history: &History, row: &Row) -> (Report, Duration, usize) {
    let options = Options {
        parallel: row.parallel,
        steps_max: STEPS_MAX,
        time_limit: Some(Duration::from_secs(5)),
        ..Options::default()
    };
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    PEAK_BYTES.store(before, Ordering::Relaxed);
    let start = Instant::now();
    let report = if row.workload.keys == 0 {
        check::check(history, &CasRegister::new(0), row.consistency, &options)
    } else {
        let kv = Independent::new(CasRegister::new(0));
        check::check(history, &kv, row.consistency, &options)
    }
    .expect("generated histories are well formed");
    let elapsed = start.elapsed();
    let peak = PEAK_BYTES.load(Ordering::Relaxed).saturating_sub(before);
    (report, elapsed, peak)
}

fn row(
    name: &'static str,
    processes: usize,
    operations: usize,
    keys: usize,
    info_percent: u32,
) -> Row {
    Row {
        name,
        workload: Workload {
            processes,
            operations,
            keys,
            info_percent,
        },
        consistency: Consistency::Linearizable,
        parallel: true,
    }
}

fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v != "0");
    let sequential = |mut r: Row| {
        r.consistency = Consistency::Sequential;
        r
    };
    let serial = |mut r: Row| {
        r.parallel = false;
        r
    };
    let mut rows = vec![
        row("register", 1, 100, 0, 0),
        row("register", 10, 100, 0, 0),
        row("register", 10, 1_000, 0, 0),
        row("register, 5% info", 10, 1_000, 0, 5),
        row("kv", 10, 1_000, 10, 0),
        sequential(row("register", 5, 100, 0, 0)),
    ];
    if !quick {
        rows.extend([
            row("register", 20, 1_000, 0, 0),
            row("register", 50, 100, 0, 0),
            row("register", 50, 1_000, 0, 0),
            row("register", 10, 10_000, 0, 0),
            row("register", 10, 100_000, 0, 0),
            row("register, 1% info", 10, 10_000, 0, 1),
            row("kv", 50, 10_000, 100, 0),
            row("kv", 10, 100_000, 1_000, 0),
            serial(row("kv, one thread", 10, 100_000, 1_000, 0)),
            row("kv", 50, 100_000, 1_000, 0),
            row("kv, 5% info", 50, 100_000, 1_000, 5),
            sequential(row("register", 10, 1_000, 0, 0)),
            sequential(row("kv", 10, 10_000, 100, 0)),
        ]);
    }
    println!(
        "| history | clients | operations | keys | property | verdict | time (ms) | operations/s | peak heap (MiB) |"
    );
    println!("|---|---:|---:|---:|---|---|---:|---:|---:|");
    for r in &rows {
        let history = r.workload.record(42);
        let (report, elapsed, peak) = measure(&history, r);
        let verdict = match report.valid() {
            Some(true) => "valid",
            Some(false) => "INVALID",
            None => "unknown",
        };
        let w = &r.workload;
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1} | {:.0} | {:.2} |",
            r.name,
            w.processes,
            w.operations,
            if w.keys == 0 { 1 } else { w.keys },
            r.consistency,
            verdict,
            elapsed.as_secs_f64() * 1e3,
            w.operations as f64 / elapsed.as_secs_f64(),
            peak as f64 / (1024.0 * 1024.0),
        );
    }
}
