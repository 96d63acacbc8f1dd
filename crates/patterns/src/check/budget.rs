//! What a check may spend before it answers Unknown: search steps, wall time and memory. Deciding
//! linearizability is NP-complete (Gibbons & Korach 1997), so some histories cannot be decided in
//! any budget; the honest answer then is "unknown", never a pass, and never a machine brought
//! down by a memo that grew without bound.
//!
//! Memory is estimated, not measured: each search counts what it keeps (the memo's keys and
//! states, the search stack, and what [`Model::heap_bytes`](super::Model::heap_bytes) says the
//! states hold on the heap) and reports it to the check's shared account every few thousand steps,
//! so that searches running in parallel share one limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The limits of one check, shared by all its searches.
#[derive(Debug)]
pub(crate) struct Budget {
    /// Steps of one search.
    pub steps_max: u64,
    /// When every search must stop.
    pub deadline: Option<Instant>,
    /// Estimated bytes all searches of the check may hold at once.
    pub memory_max: usize,
    /// Estimated bytes the running searches reported holding.
    held: AtomicUsize,
}

impl Budget {
    pub(crate) fn new(steps_max: u64, deadline: Option<Instant>, memory_max: usize) -> Budget {
        Budget {
            steps_max,
            deadline,
            memory_max,
            held: AtomicUsize::new(0),
        }
    }
}

/// How often a search looks at the clock and reports its memory: cheap enough every step, but
/// the shared account is an atomic that parallel searches would fight over.
const CHECK_EVERY_STEPS: u64 = 1024;

const MIB: usize = 1 << 20;

/// One search's account against its check's [`Budget`]. What it reported is given back when it
/// is dropped, as the search's memory is.
pub(crate) struct Meter<'a> {
    budget: &'a Budget,
    steps: u64,
    reported: usize,
}

impl<'a> Meter<'a> {
    pub(crate) fn new(budget: &'a Budget) -> Meter<'a> {
        Meter {
            budget,
            steps: 0,
            reported: 0,
        }
    }

    /// Steps counted so far.
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// Counts one step of a search that now holds about `bytes()` bytes (asked only now and
    /// then). Says why the search must stop, if it must.
    pub(crate) fn step(&mut self, bytes: impl FnOnce() -> usize) -> Option<String> {
        self.steps += 1;
        let steps = self.steps;
        if steps > self.budget.steps_max {
            return Some(format!(
                "the search gave up after {} steps (the budget) without an answer",
                self.budget.steps_max
            ));
        }
        if steps % CHECK_EVERY_STEPS != 0 {
            return None;
        }
        if self.budget.deadline.is_some_and(|d| Instant::now() > d) {
            return Some(format!(
                "the search ran out of time after {steps} steps without an answer"
            ));
        }
        let now = bytes();
        let held = if now >= self.reported {
            let more = now - self.reported;
            self.budget.held.fetch_add(more, Ordering::Relaxed) + more
        } else {
            let less = self.reported - now;
            self.budget.held.fetch_sub(less, Ordering::Relaxed) - less
        };
        self.reported = now;
        if held > self.budget.memory_max {
            return Some(format!(
                "the search gave up after {steps} steps, holding about {} MiB of the memory \
                 budget of {} MiB, without an answer",
                held / MIB,
                self.budget.memory_max / MIB
            ));
        }
        None
    }
}

impl Drop for Meter<'_> {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.reported, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_share_one_memory_account_and_give_back_what_they_held() {
        // Two searches of one check under 10 MiB: each alone fits, together they do not.
        let budget = Budget::new(u64::MAX, None, 10 * MIB);
        let mut first = Meter::new(&budget);
        let mut second = Meter::new(&budget);
        for _ in 0..CHECK_EVERY_STEPS {
            assert_eq!(first.step(|| 6 * MIB), None);
        }
        for _ in 0..CHECK_EVERY_STEPS - 1 {
            assert_eq!(second.step(|| 6 * MIB), None);
        }
        let reason = second.step(|| 6 * MIB).expect("12 MiB is over 10");
        assert!(reason.contains("memory budget of 10 MiB"), "{reason}");
        drop(first);
        drop(second);
        let mut third = Meter::new(&budget);
        for _ in 0..CHECK_EVERY_STEPS {
            assert_eq!(
                third.step(|| 9 * MIB),
                None,
                "the others gave their share back"
            );
        }
        let steps = Budget::new(3, None, usize::MAX);
        let mut meter = Meter::new(&steps);
        assert!((0..3).all(|_| meter.step(|| 0).is_none()));
        assert!(meter.step(|| 0).unwrap().contains("after 3 steps"));
    }
}
