//! Shrinking a failing run, so that its diagram is short enough to read: replay it as a script
//! (the same seed, the operations and faults it had, at their ticks) and take things out while it
//! still fails the same way. First an earlier stop, then fewer faults, then fewer operations, as
//! delta debugging does (Zeller, "Yesterday, my program worked", 1999), within a budget of
//! replays.

use super::{Explorable, ExploreError, OperationOf, Outcome, Property, Script, Variant, run_once};
use crate::node::Tick;
use crate::sim::{Fault, TraceLevel};
use serde::Serialize;

/// How much shrinking kept of the original run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shrunk {
    pub ticks: (Tick, Tick),
    pub operations: (usize, usize),
    pub faults: (usize, usize),
    /// Replays tried.
    pub replays: usize,
}

impl Shrunk {
    pub(crate) fn unchanged<Op>(script: &Script<Op>) -> Shrunk {
        Shrunk {
            ticks: (script.ticks, script.ticks),
            operations: (script.invocations.len(), script.invocations.len()),
            faults: (script.faults.len(), script.faults.len()),
            replays: 0,
        }
    }
}

/// At most this many replays go into shrinking one counterexample.
const REPLAYS_MAX: usize = 400;

struct Shrinker<'a, E: Explorable + ?Sized> {
    protocol: &'a E,
    variant: &'a Variant,
    seed: u64,
    property: &'a Property,
    replays: usize,
}

impl<E: Explorable + ?Sized> Shrinker<'_, E> {
    /// Whether the script still fails the way the original run did.
    fn fails(&mut self, script: &Script<OperationOf<E>>) -> Result<bool, ExploreError> {
        if self.replays >= REPLAYS_MAX {
            return Ok(false);
        }
        self.replays += 1;
        let (_, outcome, _) = run_once(
            self.protocol,
            self.variant,
            self.seed,
            Some(script),
            TraceLevel::Off,
        )?;
        Ok(matches!(outcome, Outcome::Failed { property, .. } if property.same_kind(self.property)))
    }
}

/// Keeps the part of a script before `ticks`.
fn cut<Op: Clone>(script: &Script<Op>, ticks: Tick) -> Script<Op> {
    Script {
        invocations: script
            .invocations
            .iter()
            .filter(|i| i.tick < ticks)
            .cloned()
            .collect(),
        faults: script
            .faults
            .iter()
            .filter(|(t, _)| *t < ticks)
            .cloned()
            .collect(),
        ticks,
    }
}

/// Removes fault `i`; a crash takes its node's next restart with it.
fn without_fault(faults: &[(Tick, Fault)], i: usize) -> Vec<(Tick, Fault)> {
    let mut kept: Vec<(Tick, Fault)> = faults.to_vec();
    let (_, removed) = kept.remove(i);
    if let Fault::Crash { node } = removed {
        if let Some(j) = kept[i..]
            .iter()
            .position(|(_, f)| matches!(f, Fault::Restart { node: n, .. } if *n == node))
        {
            kept.remove(i + j);
        }
    }
    kept
}

pub(crate) fn shrink<E: Explorable + ?Sized>(
    protocol: &E,
    variant: &Variant,
    seed: u64,
    original: Script<OperationOf<E>>,
    property: &Property,
    tick: Option<Tick>,
) -> Result<(Script<OperationOf<E>>, Shrunk), ExploreError> {
    let mut shrinker = Shrinker {
        protocol,
        variant,
        seed,
        property,
        replays: 0,
    };
    let mut best = original.clone();
    // An earlier stop: an invariant broke at a known tick; otherwise search for the shortest
    // safety phase that still fails.
    if let Some(t) = tick.filter(|t| *t < best.ticks) {
        let candidate = cut(&best, t + 1);
        if shrinker.fails(&candidate)? {
            best = candidate;
        }
    }
    let (mut low, mut high) = (1, best.ticks);
    while low < high {
        let middle = low + (high - low) / 2;
        let candidate = cut(&best, middle);
        if shrinker.fails(&candidate)? {
            high = middle;
            best = candidate;
        } else {
            low = middle + 1;
        }
    }
    // Fewer faults, one at a time, latest first.
    let mut i = best.faults.len();
    while i > 0 {
        i -= 1;
        if i >= best.faults.len() {
            continue;
        }
        let candidate = Script {
            faults: without_fault(&best.faults, i),
            ..best.clone()
        };
        if shrinker.fails(&candidate)? {
            best = candidate;
        }
    }
    // Fewer operations: chunks first, then single operations.
    let mut chunk = best.invocations.len().div_ceil(2).max(1);
    loop {
        let mut start = 0;
        while start < best.invocations.len() {
            let end = (start + chunk).min(best.invocations.len());
            let mut invocations = best.invocations.clone();
            invocations.drain(start..end);
            let candidate = Script {
                invocations,
                ..best.clone()
            };
            if shrinker.fails(&candidate)? {
                best = candidate;
            } else {
                start = end;
            }
        }
        if chunk == 1 {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    let shrunk = Shrunk {
        ticks: (original.ticks, best.ticks),
        operations: (original.invocations.len(), best.invocations.len()),
        faults: (original.faults.len(), best.faults.len()),
        replays: shrinker.replays,
    };
    Ok((best, shrunk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_crash_removes_its_restart_and_nothing_else() {
        let faults = vec![
            (1, Fault::crash("athens")),
            (2, Fault::crash("cyrene")),
            (5, Fault::restart("cyrene")),
            (9, Fault::restart("athens")),
        ];
        assert_eq!(
            without_fault(&faults, 0),
            vec![(2, Fault::crash("cyrene")), (5, Fault::restart("cyrene"))]
        );
        assert_eq!(without_fault(&faults, 2).len(), 3);
    }
}
