//! Wall clocks. Every node reads its own clock in milliseconds; logical ticks stay the same for
//! everyone. A clock starts at the run's initial time, advances a fixed number of milliseconds per
//! tick, and can be set, skewed or made to drift (spec §1.10; TigerBeetle's `testing/time.zig`
//! models drift the same way, outside the handlers).

use crate::node::Tick;

#[derive(Clone, Debug)]
pub(crate) struct Clocks {
    initial_millis: i64,
    millis_per_tick: i64,
    offsets_millis: Vec<i64>,
    drifts: Vec<f64>,
}

impl Clocks {
    pub fn new(nodes: usize, initial_millis: i64, millis_per_tick: i64) -> Clocks {
        Clocks {
            initial_millis,
            millis_per_tick,
            offsets_millis: vec![0; nodes],
            drifts: vec![0.0; nodes],
        }
    }

    /// Node `node`'s clock at tick `now`.
    pub fn millis(&self, node: usize, now: Tick) -> i64 {
        let elapsed = (now as i64).saturating_mul(self.millis_per_tick);
        let drifted = if self.drifts[node] == 0.0 {
            elapsed
        } else {
            (elapsed as f64 * (1.0 + self.drifts[node])).round() as i64
        };
        self.initial_millis + drifted + self.offsets_millis[node]
    }

    /// Moves the clock by `millis` (negative: back).
    pub fn skew(&mut self, node: usize, millis: i64) {
        self.offsets_millis[node] += millis;
    }

    /// Changes the drift without making the reading jump.
    pub fn set_drift(&mut self, node: usize, drift: f64, now: Tick) {
        let before = self.millis(node, now);
        self.drifts[node] = drift;
        let after = self.millis(node, now);
        self.offsets_millis[node] += before - after;
    }

    /// True time again: no offset, no drift.
    pub fn reset(&mut self, node: usize) {
        self.offsets_millis[node] = 0;
        self.drifts[node] = 0.0;
    }

    /// Whether the node's clock is off true time (skewed or drifting).
    pub fn is_skewed(&self, node: usize) -> bool {
        self.offsets_millis[node] != 0 || self.drifts[node] != 0.0
    }
}
