//! Checker throughput and memory on generated histories (`check::Workload`): one register or
//! independent keys, 1–50 concurrent clients, 100–100,000 operations. Prints a markdown table:
//! operations checked per second and the peak heap the check allocated (counted by this binary's
//! global allocator), with the single-threaded run of the same key-value history side by side.
//! Every history is valid by construction, so any verdict but "valid" is a failure of the
//! checker ("unknown": over the step budget).
//!
//! Then, when `PORCUPINE_DIR` names a clone of Porcupine's public repository
//! (anishathalye/porcupine), the same checks as Porcupine's own tests on its own data — Jepsen's
//! etcd logs and the key-value histories — side by side with Porcupine itself: its Go test
//! binary is built from that clone and its benchmarks run in the same process tree, on the same
//! machine, right after ours. Without Go, ours are printed alone; without the directory, the
//! section says how to get it. (Third-party data is never committed: tests use samples we wrote.)
//!
//! `cargo bench -p patterns --bench checkers`; `BENCH_QUICK=1` runs the small rows only, and each
//! Porcupine data set 3 times instead of 10 (both checkers, mean per check).

use patterns::check::{
    self, AppendString, CasRegister, Consistency, Etcd, Independent, Model, Options, Report,
    Workload,
};
use patterns::history::{History, parse_history};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting live bytes and their high-water mark.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Off for the side-by-side rows: Porcupine's times carry no such accounting.
static COUNTING: AtomicBool = AtomicBool::new(true);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            let live = LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
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
    generated(quick);
    porcupine_data(quick);
}

fn generated(quick: bool) {
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

// ---- Porcupine's data, side by side with Porcupine ----------------------------------------------

/// One of Porcupine's histories: the file, the verdict Porcupine's tests expect, and the name of
/// Porcupine's benchmark for it.
struct DataFile {
    path: PathBuf,
    valid: bool,
    benchmark: String,
}

/// The etcd logs and kv files Porcupine's tests check, with their expected verdicts, read from
/// its test source (`checkJepsen(t, 7, false)`, `checkKv(t, "c10-ok", true, true)`).
fn data_files(dir: &Path) -> Result<(Vec<DataFile>, Vec<DataFile>), String> {
    let source = std::fs::read_to_string(dir.join("porcupine_test.go"))
        .map_err(|e| format!("cannot read porcupine_test.go: {e}"))?;
    let mut etcd = Vec::new();
    let mut kv = Vec::new();
    for line in source.lines().map(str::trim) {
        if let Some(args) = line.strip_prefix("checkJepsen(t, ") {
            let mut parts = args.trim_end_matches(')').split(", ");
            let (Some(n), Some(valid)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u32>() else { continue };
            etcd.push(DataFile {
                path: dir.join(format!("test_data/jepsen/etcd_{n:03}.log")),
                valid: valid == "true",
                benchmark: format!("BenchmarkEtcdJepsen{n:03}"),
            });
        }
        if let Some(args) = line.strip_prefix("checkKv(t, \"") {
            let mut parts = args.trim_end_matches(')').split(", ");
            let (Some(name), Some(valid), Some("true")) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let name = name.trim_end_matches('"');
            let clients = match &name[..3] {
                "c01" => "1Client",
                "c10" => "10Clients",
                _ => "50Clients",
            };
            let outcome = if name.ends_with("ok") { "Ok" } else { "Bad" };
            kv.push(DataFile {
                path: dir.join(format!("test_data/kv/{name}.txt")),
                valid: valid == "true",
                benchmark: format!("BenchmarkKv{clients}{outcome}"),
            });
        }
    }
    Ok((etcd, kv))
}

/// Our mean wall time for checking `history` (parsing excluded, as Porcupine's benchmarks
/// exclude theirs), and the verdict.
fn time_ours<M: Model>(history: &History, model: &M, runs: u32) -> (Duration, Option<bool>) {
    let options = Options {
        time_limit: Some(Duration::from_secs(120)),
        ..Options::default()
    };
    // One run first, untimed: Go's benchmark runs once before it measures, too.
    let mut verdict = check::check(history, model, Consistency::Linearizable, &options)
        .expect("Porcupine's histories fit the model")
        .valid();
    let start = Instant::now();
    for _ in 0..runs {
        let report = check::check(history, model, Consistency::Linearizable, &options)
            .expect("Porcupine's histories fit the model");
        verdict = report.valid();
    }
    (start.elapsed() / runs, verdict)
}

/// Builds Porcupine's test binary and runs its benchmarks for `names`: mean ns per check, by
/// benchmark name. `Err` says why Porcupine cannot be run here.
fn time_porcupine(dir: &Path, names: &[&str], runs: u32) -> Result<BTreeMap<String, f64>, String> {
    let binary = std::env::temp_dir().join(format!("porcupine-{}.test", std::process::id()));
    let build = Command::new("go")
        .args(["test", "-c", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(dir)
        .output()
        .map_err(|e| format!("Go is not available ({e}); `apt-get install golang-go` adds it"))?;
    if !build.status.success() {
        return Err(format!(
            "go test -c failed: {}",
            String::from_utf8_lossy(&build.stderr).trim()
        ));
    }
    let pattern = format!("^({})$", names.join("|"));
    let out = Command::new(&binary)
        .args(["-test.run", "^$", "-test.bench", &pattern])
        .arg(format!("-test.benchtime={runs}x"))
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run Porcupine's benchmarks: {e}"));
    let _ = std::fs::remove_file(&binary);
    let out = out?;
    let mut times = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [name, _, ns, "ns/op", ..] = fields[..] {
            let name = name.rsplit_once('-').map_or(name, |(n, _)| n);
            if let Ok(ns) = ns.parse::<f64>() {
                times.insert(name.to_string(), ns);
            }
        }
    }
    if times.is_empty() {
        return Err(format!(
            "Porcupine's benchmarks printed no times: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ));
    }
    Ok(times)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn porcupine_data(quick: bool) {
    println!();
    println!("Porcupine's own data, checked by both (mean wall time per check, parsing excluded)");
    println!();
    let Some(dir) = std::env::var_os("PORCUPINE_DIR").map(PathBuf::from) else {
        println!(
            "skipped: set PORCUPINE_DIR to a clone of Porcupine's public repository \
             (anishathalye/porcupine) to compare on its etcd and kv data"
        );
        return;
    };
    let (etcd, kv) = match data_files(&dir) {
        Ok(files) => files,
        Err(e) => {
            println!("skipped: {} is not a Porcupine clone: {e}", dir.display());
            return;
        }
    };
    let runs = if quick { 3 } else { 10 };
    // Memory is not measured here; the live count stays off from now on (blocks freed later
    // were counted when allocated, so it would drift).
    COUNTING.store(false, Ordering::Relaxed);
    println!("machine load before: {}", load_average());
    // Ours first, every file; then Porcupine's, in one run of its benchmarks.
    let read = |f: &DataFile| {
        let text = std::fs::read_to_string(&f.path)
            .unwrap_or_else(|e| panic!("{}: {e}", f.path.display()));
        parse_history(&text).unwrap_or_else(|e| panic!("{}: {e}", f.path.display()))
    };
    let etcd_ours: Vec<(Duration, Option<bool>)> = etcd
        .iter()
        .map(|f| time_ours(&read(f), &Etcd, runs))
        .collect();
    let kv_model = Independent::new(AppendString);
    let kv_ours: Vec<(Duration, Option<bool>)> = kv
        .iter()
        .map(|f| time_ours(&read(f), &kv_model, runs))
        .collect();
    let names: Vec<&str> = etcd
        .iter()
        .chain(&kv)
        .map(|f| f.benchmark.as_str())
        .collect();
    let theirs = match time_porcupine(&dir, &names, runs) {
        Ok(times) => Some(times),
        Err(e) => {
            println!("Porcupine not run: {e}. Ours alone:");
            None
        }
    };
    println!("machine load after: {}", load_average());
    println!();
    println!(
        "| data set | files | verdicts as Porcupine's tests | ours (ms) | Porcupine (ms) | speed-up |"
    );
    println!("|---|---:|---|---:|---:|---:|");
    let porcupine_ms = |f: &DataFile| {
        theirs
            .as_ref()
            .and_then(|t| t.get(&f.benchmark))
            .map(|ns| ns / 1e6)
    };
    let row = |name: &str, files: &[&DataFile], ours: &[(Duration, Option<bool>)]| {
        let agree = files
            .iter()
            .zip(ours)
            .filter(|(f, (_, v))| *v == Some(f.valid))
            .count();
        let ours_ms: f64 = ours.iter().map(|(d, _)| d.as_secs_f64() * 1e3).sum();
        let theirs_ms: Option<f64> = files.iter().map(|f| porcupine_ms(f)).sum();
        let (theirs_cell, speedup) = match theirs_ms {
            Some(t) => (format!("{t:.2}"), format!("{:.1}×", t / ours_ms)),
            None => ("—".into(), "—".into()),
        };
        println!(
            "| {name} | {} | {agree}/{} | {ours_ms:.2} | {theirs_cell} | {speedup} |",
            files.len(),
            files.len()
        );
    };
    let all: Vec<&DataFile> = etcd.iter().collect();
    row("etcd logs, total", &all, &etcd_ours);
    // The worst file: the one Porcupine takes longest on (ours, when Porcupine did not run).
    let worst = (0..etcd.len()).max_by(|&a, &b| {
        let key = |i: usize| porcupine_ms(&etcd[i]).unwrap_or(etcd_ours[i].0.as_secs_f64());
        key(a).total_cmp(&key(b))
    });
    if let Some(w) = worst {
        let name = format!("etcd worst: {}", file_name(&etcd[w].path));
        row(&name, &[&etcd[w]], &etcd_ours[w..=w]);
    }
    let our_worst = (0..etcd.len()).max_by_key(|&i| etcd_ours[i].0);
    if let Some(w) = our_worst.filter(|&w| Some(w) != worst) {
        let name = format!("etcd, our worst: {}", file_name(&etcd[w].path));
        row(&name, &[&etcd[w]], &etcd_ours[w..=w]);
    }
    for (i, f) in kv.iter().enumerate() {
        let name = format!(
            "kv {}",
            f.path.file_stem().unwrap_or_default().to_string_lossy()
        );
        row(&name, &[f], &kv_ours[i..=i]);
    }
}
