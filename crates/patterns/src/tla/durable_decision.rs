//! What TLC does, small enough to read: `tla/DurableDecision.tla`'s transition system for one
//! node, written in Rust and explored breadth-first.
//!
//! A model checker starts from the initial state, applies every enabled action to every state it
//! has reached, keeps each new state once, and checks the invariants on each: every reachable
//! state, not a sample of runs. Breadth-first, the first violation it meets is at the smallest
//! depth, so its counterexample is a shortest one. TLC does that with a fingerprint per state,
//! on disk when memory runs out, and with symmetry.
//!
//! The spec's nodes never interact (each answers prepares from outside on its own), so the
//! reachable states of n nodes are those of one node to the power n: [`explore`] on one node,
//! cubed, gives TLC's figures for three nodes (12,167 states correct, 195,112 broken). That is
//! also why models stay small: every node or generation added multiplies the states.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;

/// One node of the model: the spec's variables at index `n`, and the responses it sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeState {
    /// `memPromised[n]`: the highest generation promised, as memory holds it.
    pub promised: u8,
    /// `durPromised[n]`: the highest generation storage holds.
    pub durable: u8,
    /// `pendingWrite[n]`: the generation being written (0: none).
    pub pending: u8,
    /// `crashed[n]`.
    pub crashed: bool,
    /// The generations of the promises this node sent (`responses` from it).
    pub responses: BTreeSet<u8>,
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sent: Vec<String> = self.responses.iter().map(u8::to_string).collect();
        write!(
            f,
            "promised {} (disk {}), writing {}, {}, sent {{{}}}",
            self.promised,
            self.durable,
            self.pending,
            if self.crashed { "down" } else { "up" },
            sent.join(", ")
        )
    }
}

/// The spec's action that led to a state, with its argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    ReceivePrepare(u8),
    CompleteWrite,
    CrashAndRecover,
    Restart,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::ReceivePrepare(g) => write!(f, "ReceivePrepare({g})"),
            Step::CompleteWrite => f.write_str("CompleteWrite"),
            Step::CrashAndRecover => f.write_str("CrashAndRecover"),
            Step::Restart => f.write_str("Restart"),
        }
    }
}

/// Every state one action leads to from `s`, generations up to `max_generation`. `broken`:
/// `BrokenDurableDecision`, whose node answers when it decides instead of once its write is
/// durable.
pub fn next(s: &NodeState, max_generation: u8, broken: bool) -> Vec<(Step, NodeState)> {
    let mut out = Vec::new();
    if s.crashed {
        let up = NodeState {
            crashed: false,
            ..s.clone()
        };
        out.push((Step::Restart, up));
        return out;
    }
    for g in (s.promised + 1)..=max_generation {
        let mut t = NodeState {
            promised: g,
            pending: g,
            ..s.clone()
        };
        if broken {
            t.responses.insert(g);
        }
        out.push((Step::ReceivePrepare(g), t));
    }
    if s.pending > 0 {
        let mut t = NodeState {
            durable: s.pending,
            pending: 0,
            ..s.clone()
        };
        if !broken {
            t.responses.insert(s.pending);
        }
        out.push((Step::CompleteWrite, t));
    }
    let down = NodeState {
        promised: s.durable,
        pending: 0,
        crashed: true,
        ..s.clone()
    };
    out.push((Step::CrashAndRecover, down));
    out
}

/// The spec's `ResponseImpliesDurable`: every promise sent is on disk.
pub fn response_implies_durable(s: &NodeState) -> bool {
    s.responses.iter().all(|g| *g <= s.durable)
}

/// The spec's `PromisesKept`: a node that is up remembers every promise it sent.
pub fn promises_kept(s: &NodeState) -> bool {
    s.crashed || s.responses.iter().all(|g| *g <= s.promised)
}

/// What a breadth-first search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exploration {
    /// Distinct states reached (all of them when no invariant failed).
    pub states: usize,
    /// A shortest behaviour to a state that breaks the invariant: each step and the state after.
    pub counterexample: Option<Vec<(Step, NodeState)>>,
}

/// Explores every state one node can reach, checking `invariant` on each; stops at the first
/// state that breaks it and returns the steps that lead there (a shortest such behaviour).
pub fn explore(
    max_generation: u8,
    broken: bool,
    mut invariant: impl FnMut(&NodeState) -> bool,
) -> Exploration {
    let init = NodeState::default();
    // Each state, with the state and step it was first reached from.
    let mut parent: HashMap<NodeState, Option<(NodeState, Step)>> = HashMap::new();
    parent.insert(init.clone(), None);
    let mut queue = VecDeque::from([init]);
    while let Some(s) = queue.pop_front() {
        if !invariant(&s) {
            let mut path = Vec::new();
            let mut at = s;
            while let Some(Some((before, step))) = parent.get(&at) {
                path.push((step.clone(), at.clone()));
                at = before.clone();
            }
            path.reverse();
            return Exploration {
                states: parent.len(),
                counterexample: Some(path),
            };
        }
        for (step, t) in next(&s, max_generation, broken) {
            if !parent.contains_key(&t) {
                parent.insert(t.clone(), Some((s.clone(), step)));
                queue.push_back(t);
            }
        }
    }
    Exploration {
        states: parent.len(),
        counterexample: None,
    }
}

/// Distinct states of the whole model: `nodes` independent nodes, each in one of the states
/// [`explore`] reaches (the product; TLC reports the same count).
pub fn states(nodes: u32, max_generation: u8, broken: bool) -> u64 {
    (explore(max_generation, broken, |_| true).states as u64).pow(nodes)
}

/// What a simulator samples instead: `runs` random behaviours of `steps` steps each from the
/// initial state of `nodes` nodes, each step one enabled action chosen at random (seeded). Returns,
/// after each run, how many distinct states all runs so far visited.
pub fn sampled_states(
    nodes: usize,
    (max_generation, broken): (u8, bool),
    runs: usize,
    steps: usize,
    seed: u64,
) -> Vec<usize> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let init = vec![NodeState::default(); nodes];
    let mut seen: HashSet<Vec<NodeState>> = HashSet::from([init.clone()]);
    let mut covered = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut state = init.clone();
        for _ in 0..steps {
            let moves: Vec<(usize, NodeState)> = (0..nodes)
                .flat_map(|i| {
                    let after = next(&state[i], max_generation, broken);
                    after.into_iter().map(move |(_, t)| (i, t))
                })
                .collect();
            let (i, t) = moves[rng.random_range(0..moves.len())].clone();
            state[i] = t;
            seen.insert(state.clone());
        }
        covered.push(seen.len());
    }
    covered
}

/// The lesson's exercise: a learner's `PromisesKept`, held to the spec's on every state either
/// model reaches (generations up to 3), then used to find the broken model's shortest
/// counterexample. `Ok` with what it found, or `Err` with a hint; never a panic.
pub fn check_promises_kept(invariant: fn(&NodeState) -> bool) -> Result<String, String> {
    for broken in [false, true] {
        let everything = explore(3, broken, |_| true);
        let mut seen = 0;
        let mut wrong = None;
        explore(3, broken, |s| {
            seen += 1;
            let theirs = crate::exercise::attempt(|| invariant(s));
            match theirs {
                Ok(v) if v == promises_kept(s) => {}
                Ok(v) if wrong.is_none() => wrong = Some(format!("{s}: yours says {v}")),
                Ok(_) => {}
                Err(panic) => wrong = Some(format!("it stopped: {panic}")),
            }
            wrong.is_none()
        });
        if let Some(why) = wrong {
            let model = if broken { "broken" } else { "correct" };
            return Err(format!("not yet: in the {model} model, {why}"));
        }
        debug_assert_eq!(seen, everything.states);
    }
    let found = explore(3, true, invariant);
    let steps: Vec<String> = found
        .counterexample
        .unwrap_or_default()
        .iter()
        .map(|(step, _)| step.to_string())
        .collect();
    Ok(format!(
        "right: your PromisesKept holds on every state of the correct model and breaks in the \
         broken one after {}, as TLC found",
        steps.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_node_cubed_gives_tlc_figures_for_three_nodes() {
        // tla/README.md: 12,167 distinct states correct, 195,112 broken (3 nodes, generations ≤ 3).
        let correct = explore(3, false, |_| true).states;
        let broken = explore(3, true, |_| true).states;
        assert_eq!((correct, broken), (23, 58));
        assert_eq!(correct.pow(3), 12_167);
        assert_eq!(broken.pow(3), 195_112);
    }

    #[test]
    fn random_runs_cover_part_of_the_states_and_never_more() {
        let total = states(3, 3, true) as usize;
        let covered = sampled_states(3, (3, true), 200, 20, 7);
        assert!(covered.windows(2).all(|w| w[0] <= w[1]));
        let last = *covered.last().unwrap();
        assert!(last > 100 && last < total, "{last} of {total}");
        // One node, many runs: every one of its 58 states is reached.
        assert_eq!(
            *sampled_states(1, (3, true), 500, 20, 7).last().unwrap(),
            58
        );
        assert_eq!(states(1, 3, false), 23);
    }

    #[test]
    fn the_correct_model_keeps_both_invariants_and_the_broken_one_breaks_them_shortest_first() {
        for invariant in [response_implies_durable, promises_kept] {
            assert_eq!(explore(3, false, invariant).counterexample, None);
        }
        let shortest = |invariant: fn(&NodeState) -> bool| -> Vec<String> {
            let found = explore(3, true, invariant).counterexample.unwrap();
            found.iter().map(|(s, _)| s.to_string()).collect()
        };
        assert_eq!(shortest(response_implies_durable), ["ReceivePrepare(1)"]);
        assert_eq!(
            shortest(promises_kept),
            ["ReceivePrepare(1)", "CrashAndRecover", "Restart"]
        );
    }

    #[test]
    fn the_exercise_check_accepts_the_rule_and_refuses_near_misses() {
        assert!(
            check_promises_kept(promises_kept)
                .unwrap()
                .starts_with("right:")
        );
        let misses: [fn(&NodeState) -> bool; 3] = [
            response_implies_durable,
            |s| s.responses.iter().all(|g| *g <= s.promised),
            |_| todo!(),
        ];
        for miss in misses {
            assert!(
                check_promises_kept(miss)
                    .unwrap_err()
                    .starts_with("not yet:")
            );
        }
    }
}
