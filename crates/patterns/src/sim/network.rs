//! The simulated network: one directed link per ordered pair of processes, each with its own
//! knobs. A message's fate is decided once, when it is sent (see [`Network::route`]).

use super::SimError;
use super::trace::DropReason;
use crate::node::Tick;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// How many ticks a message spends on a link.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Latency {
    /// Always this many ticks (at least 1).
    Fixed(Tick),
    /// Drawn uniformly from `min..=max` for every message, from the network's seeded stream.
    /// Two messages on one link can overtake each other: the network does not promise FIFO.
    Uniform { min: Tick, max: Tick },
}

impl Latency {
    /// A range of latencies; `min > max` is an error, not a silently swapped range.
    pub fn between(min: Tick, max: Tick) -> Result<Latency, SimError> {
        if min > max {
            return Err(SimError::InvalidDelay { min, max });
        }
        Ok(if min == max {
            Latency::Fixed(min)
        } else {
            Latency::Uniform { min, max }
        })
    }

    pub(crate) fn draw(self, rng: &mut ChaCha8Rng) -> Tick {
        match self {
            Latency::Fixed(t) => t,
            Latency::Uniform { min, max } => rng.random_range(min..=max),
        }
        .max(1)
    }
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Latency::Fixed(t) => write!(f, "{t} ticks"),
            Latency::Uniform { min, max } => write!(f, "{min}..={max} ticks"),
        }
    }
}

/// Checks a probability knob.
pub(crate) fn probability(knob: &'static str, value: f64) -> Result<f64, SimError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(SimError::InvalidProbability { knob, value })
    }
}

/// Drop messages of one type on a link: all of them, or only the n-th.
#[derive(Clone, Debug)]
struct DropRule {
    kind: String,
    /// `None`: every matching message; `Some(n)`: only the n-th (counting from 1).
    nth: Option<u64>,
    seen: u64,
}

impl DropRule {
    fn matches(&mut self, kind: &str) -> bool {
        if self.kind != kind {
            return false;
        }
        self.seen += 1;
        self.nth.is_none_or(|n| n == self.seen)
    }
}

/// The knobs of one directed link. `None` means "the network's default".
#[derive(Clone, Debug, Default)]
struct Link {
    blocked: bool,
    held: bool,
    latency: Option<Latency>,
    loss: Option<f64>,
    duplication: Option<f64>,
    /// Extra ticks for messages of one type (the DDIA §10.6 race delays only the write's fan-out).
    kind_delays: Vec<(String, Tick)>,
    drops: Vec<DropRule>,
}

/// What happens to a message that is sent now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Drop(DropReason),
    /// The link is held: the message waits until the link is released.
    Hold,
    /// Delivered after this many ticks; a duplicate, if any, after the second.
    Deliver {
        after: Tick,
        duplicate_after: Option<Tick>,
    },
}

/// Every link of a run, and the network-wide defaults.
#[derive(Clone, Debug)]
pub(crate) struct Network {
    processes: usize,
    links: Vec<Link>,
    pub latency: Latency,
    pub loss: f64,
    pub duplication: f64,
}

impl Network {
    pub fn new(processes: usize, latency: Latency, loss: f64, duplication: f64) -> Network {
        Network {
            processes,
            links: vec![Link::default(); processes * processes],
            latency,
            loss,
            duplication,
        }
    }

    fn link(&mut self, from: usize, to: usize) -> &mut Link {
        &mut self.links[from * self.processes + to]
    }

    /// Decides, at send time, what becomes of a message of `kind` on `from -> to`. The order is the
    /// order a packet meets obstacles: a cut link, a drop rule, random loss, a held link, latency.
    /// Messages already in flight are not affected by later changes (they are on the wire).
    pub fn route(&mut self, from: usize, to: usize, kind: &str, rng: &mut ChaCha8Rng) -> Route {
        let (default_latency, default_loss, default_duplication) =
            (self.latency, self.loss, self.duplication);
        let link = self.link(from, to);
        if link.blocked {
            return Route::Drop(DropReason::Partition);
        }
        if link.drops.iter_mut().any(|rule| rule.matches(kind)) {
            return Route::Drop(DropReason::Rule);
        }
        let loss = link.loss.unwrap_or(default_loss);
        if loss > 0.0 && rng.random_bool(loss) {
            return Route::Drop(DropReason::Loss);
        }
        if link.held {
            return Route::Hold;
        }
        let latency = link.latency.unwrap_or(default_latency);
        let extra: Tick = link
            .kind_delays
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, t)| *t)
            .sum();
        let duplication = link.duplication.unwrap_or(default_duplication);
        let after = latency.draw(rng) + extra;
        let duplicate_after =
            (duplication > 0.0 && rng.random_bool(duplication)).then(|| latency.draw(rng) + extra);
        Route::Deliver {
            after,
            duplicate_after,
        }
    }

    /// The latency of a message released from a held link.
    pub fn release_latency(&mut self, from: usize, to: usize, rng: &mut ChaCha8Rng) -> Tick {
        let default_latency = self.latency;
        self.link(from, to)
            .latency
            .unwrap_or(default_latency)
            .draw(rng)
    }

    pub fn set_blocked(&mut self, from: usize, to: usize, blocked: bool) {
        self.link(from, to).blocked = blocked;
    }

    pub fn is_blocked(&self, from: usize, to: usize) -> bool {
        self.links[from * self.processes + to].blocked
    }

    pub fn set_held(&mut self, from: usize, to: usize, held: bool) {
        self.link(from, to).held = held;
    }

    pub fn is_held(&self, from: usize, to: usize) -> bool {
        self.links[from * self.processes + to].held
    }

    pub fn set_latency(&mut self, from: usize, to: usize, latency: Option<Latency>) {
        self.link(from, to).latency = latency;
    }

    pub fn set_loss(&mut self, from: usize, to: usize, loss: Option<f64>) {
        self.link(from, to).loss = loss;
    }

    pub fn set_duplication(&mut self, from: usize, to: usize, duplication: Option<f64>) {
        self.link(from, to).duplication = duplication;
    }

    pub fn delay_kind(&mut self, from: usize, to: usize, kind: &str, extra: Tick) {
        let link = self.link(from, to);
        link.kind_delays.retain(|(k, _)| k != kind);
        if extra > 0 {
            link.kind_delays.push((kind.to_string(), extra));
        }
    }

    pub fn drop_kind(&mut self, from: usize, to: usize, kind: &str, nth: Option<u64>) {
        self.link(from, to).drops.push(DropRule {
            kind: kind.to_string(),
            nth,
            seen: 0,
        });
    }

    pub fn clear_drops(&mut self, from: usize, to: usize) {
        self.link(from, to).drops.clear();
    }

    /// Every link back to the defaults: no cuts, holds, drop rules or per-link knobs.
    pub fn reset(&mut self) {
        for link in &mut self.links {
            *link = Link::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(1)
    }

    #[test]
    fn a_latency_range_must_be_ordered() {
        assert_eq!(
            Latency::between(5, 3),
            Err(SimError::InvalidDelay { min: 5, max: 3 })
        );
        assert_eq!(Latency::between(3, 3), Ok(Latency::Fixed(3)));
    }

    #[test]
    fn the_nth_rule_drops_only_the_nth_matching_message() {
        let mut net = Network::new(2, Latency::Fixed(1), 0.0, 0.0);
        net.drop_kind(0, 1, "Accept", Some(2));
        let mut r = rng();
        let fates: Vec<Route> = ["Accept", "Prepare", "Accept", "Accept"]
            .iter()
            .map(|k| net.route(0, 1, k, &mut r))
            .collect();
        assert_eq!(
            fates[1],
            Route::Deliver {
                after: 1,
                duplicate_after: None
            }
        );
        assert_eq!(fates[2], Route::Drop(DropReason::Rule));
        assert!(
            matches!(fates[0], Route::Deliver { .. }) && matches!(fates[3], Route::Deliver { .. })
        );
    }

    #[test]
    fn obstacles_apply_in_wire_order() {
        // A cut link drops before a hold can keep the message.
        let mut net = Network::new(2, Latency::Fixed(1), 0.0, 0.0);
        net.set_held(0, 1, true);
        assert_eq!(net.route(0, 1, "x", &mut rng()), Route::Hold);
        net.set_blocked(0, 1, true);
        assert_eq!(
            net.route(0, 1, "x", &mut rng()),
            Route::Drop(DropReason::Partition)
        );
        assert_eq!(
            net.route(1, 0, "x", &mut rng()),
            Route::Deliver {
                after: 1,
                duplicate_after: None
            }
        );
    }

    #[test]
    fn type_delays_add_to_the_link_latency_only_for_that_type() {
        let mut net = Network::new(2, Latency::Fixed(2), 0.0, 0.0);
        net.delay_kind(0, 1, "Set", 100);
        assert_eq!(
            net.route(0, 1, "Set", &mut rng()),
            Route::Deliver {
                after: 102,
                duplicate_after: None
            }
        );
        assert_eq!(
            net.route(0, 1, "Get", &mut rng()),
            Route::Deliver {
                after: 2,
                duplicate_after: None
            }
        );
    }
}
