//! A check's memory is bounded by its budget (issue 10, item 14): a search that would grow past
//! it answers Unknown, as one out of time does. This test binary counts every allocation, so the
//! bound is measured, not taken on trust.

use patterns::check::{self, Consistency, Options, Register, Verdict};
use patterns::history::{EventType, History};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

const MIB: usize = 1 << 20;

#[test]
fn sequential_check_answers_unknown_at_its_memory_budget() {
    // Twenty processes write ten values each; one reads a value nobody wrote. No sequential
    // order exists, and the search, to be sure, would visit every interleaving of the writers
    // (11^20 configurations): memory would grow until the step budget, far past 32 MiB.
    let mut h = History::new();
    for writer in 0..20 {
        for i in 0..10 {
            let name = format!("w{writer}");
            let value = (writer * 10 + i) as i64;
            h.record(&name, EventType::Invoke, "write", value, None);
            h.record(&name, EventType::Ok, "write", value, None);
        }
    }
    h.record("reader", EventType::Invoke, "read", None::<i64>, None);
    h.record("reader", EventType::Ok, "read", 999, None);
    let options = Options {
        steps_max: 20_000_000,
        time_limit: Some(Duration::from_secs(600)),
        memory_max_bytes: 32 * MIB,
        ..Options::default()
    };
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    PEAK_BYTES.store(before, Ordering::Relaxed);
    let report = check::check(&h, &Register::new(0), Consistency::Sequential, &options).unwrap();
    let peak = PEAK_BYTES.load(Ordering::Relaxed) - before;
    let Verdict::Unknown { reason } = &report.verdict else {
        panic!("{}", report.explanation());
    };
    assert!(reason.contains("memory budget of 32 MiB"), "{reason}");
    // The estimate misses the hash table's spare capacity (up to half of it) and allocator
    // slack: the peak stays within a small multiple of the budget, not gigabytes.
    eprintln!("peak {} MiB under a 32 MiB budget", peak / MIB);
    assert!(peak < 3 * 32 * MIB, "peak {} MiB", peak / MIB);
}
