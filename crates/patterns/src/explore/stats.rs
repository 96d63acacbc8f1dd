//! What a search measures over its runs: the cost and the availability of a protocol under the
//! nemesis, for `patterns explore --stats` and the lessons' tables.

use crate::history::EventType;
use crate::node::{Node, Tick};
use crate::sim::{Fault, RandomRun};
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts over every run of a search.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub runs: u64,
    /// Operations that completed `:ok`.
    pub completed: u64,
    /// Messages sent, client requests and replies included.
    pub messages: u64,
    /// Ticks from invocation to `:ok`, one entry per completed operation.
    latencies: Vec<Tick>,
    /// The longest stretch after a crash or a partition during which an operation was waiting and
    /// none completed.
    pub longest_unavailability_ticks: Tick,
}

/// [`Stats`] in a few numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub runs: u64,
    pub completed_operations: u64,
    pub messages_per_operation: f64,
    pub latency_p50_ticks: Option<Tick>,
    pub latency_p99_ticks: Option<Tick>,
    pub longest_unavailability_ticks: Tick,
}

impl Stats {
    /// Adds one finished run.
    pub fn add<N: Node>(&mut self, run: &RandomRun<N>) {
        self.runs += 1;
        self.messages += run.sim.stats().sent;
        let history = run.sim.history();
        let mut invoked: BTreeMap<u64, Tick> = BTreeMap::new();
        let mut ok_ticks = Vec::new();
        let mut open_since: Vec<(Tick, Option<Tick>)> = Vec::new();
        for event in &history.events {
            let Some(time) = event.time else { continue };
            match event.kind {
                EventType::Invoke => {
                    invoked.insert(event.process, time);
                }
                EventType::Ok => {
                    if let Some(start) = invoked.remove(&event.process) {
                        self.completed += 1;
                        self.latencies.push(time - start);
                        ok_ticks.push(time);
                        open_since.push((start, Some(time)));
                    }
                }
                EventType::Fail | EventType::Info => {
                    if let Some(start) = invoked.remove(&event.process) {
                        open_since.push((start, None));
                    }
                }
            }
        }
        let end = run.sim.now();
        for (tick, fault) in run.schedule() {
            let outage = matches!(
                fault,
                Fault::Crash { .. } | Fault::Partition { .. } | Fault::Isolate { .. }
            );
            if !outage {
                continue;
            }
            let waiting = open_since
                .iter()
                .any(|(start, done)| *start <= tick && done.is_none_or(|d| d > tick))
                || invoked.values().any(|start| *start <= tick);
            if !waiting {
                continue;
            }
            let next_ok = ok_ticks.iter().copied().filter(|t| *t > tick).min();
            let window = next_ok.unwrap_or(end) - tick;
            self.longest_unavailability_ticks = self.longest_unavailability_ticks.max(window);
        }
    }

    fn percentile(sorted: &[Tick], p: f64) -> Option<Tick> {
        if sorted.is_empty() {
            return None;
        }
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        Some(sorted[rank - 1])
    }

    pub fn summary(&self) -> Summary {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        Summary {
            runs: self.runs,
            completed_operations: self.completed,
            messages_per_operation: if self.completed == 0 {
                0.0
            } else {
                self.messages as f64 / self.completed as f64
            },
            latency_p50_ticks: Self::percentile(&sorted, 0.50),
            latency_p99_ticks: Self::percentile(&sorted, 0.99),
            longest_unavailability_ticks: self.longest_unavailability_ticks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<Tick> = (1..=100).collect();
        assert_eq!(Stats::percentile(&sorted, 0.50), Some(50));
        assert_eq!(Stats::percentile(&sorted, 0.99), Some(99));
        assert_eq!(Stats::percentile(&[7], 0.99), Some(7));
        assert_eq!(Stats::percentile(&[], 0.5), None);
    }
}
