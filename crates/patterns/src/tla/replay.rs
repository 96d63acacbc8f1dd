//! What every replay of a TLC counterexample on the Rust code shares: its steps, its errors, the
//! rules it saw broken, and its run drawn without the holds that paced it. The replays themselves
//! live with their protocols (`protocols::paxos::replay`, `protocols::raft::replay`): each knows
//! how its spec's actions become simulator events.

use crate::node::{Node, ProcessId, Tick};
use crate::sim::{DropReason, Fault, MessageId, SimError, Simulation, Trace, TraceEvent};
use std::collections::BTreeSet;
use std::fmt;

/// Why a trace cannot be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayError(pub String);

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot replay this trace: {}", self.0)
    }
}

impl std::error::Error for ReplayError {}

impl From<SimError> for ReplayError {
    fn from(e: SimError) -> Self {
        ReplayError(e.to_string())
    }
}

/// What one model step became in the Rust run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayStep {
    /// TLC's state number.
    pub number: usize,
    /// The action with its arguments, as the spec writes it: `Promise(a1, 2)`.
    pub action: String,
    /// The simulator's tick when the step was played.
    pub tick: Tick,
    /// What the Rust nodes did.
    pub outcome: String,
    /// Whether the Rust nodes did what the model did.
    pub followed: bool,
}

/// Adds a broken rule to `violations` unless that rule is already there: the rule is the text
/// before the first colon, without a parenthesised model name, so the explorer's "at most one
/// value is chosen" and the model's "at most one value is chosen (Agreement)" are one rule.
pub fn record_violation(violations: &mut Vec<(usize, String)>, number: usize, broken: String) {
    let rule = |why: &str| {
        let rule = why.split(':').next().unwrap_or_default();
        rule.split(" (").next().unwrap_or_default().to_string()
    };
    if !violations.iter().any(|(_, v)| rule(v) == rule(&broken)) {
        violations.push((number, broken));
    }
}

/// The steps as a table (TLC's state, the model's action, ✗ where the Rust nodes did not follow,
/// what they did), then the rules broken.
pub fn steps_table(steps: &[ReplayStep], violations: &[(usize, String)]) -> String {
    let width = steps.iter().map(|s| s.action.len()).max().unwrap_or(0);
    let mut out = String::new();
    for s in steps {
        let mark = if s.followed { " " } else { "✗" };
        out.push_str(&format!(
            "{:>3} {:<width$} {mark} {}\n",
            s.number, s.action, s.outcome
        ));
    }
    if violations.is_empty() {
        out.push_str("no rule broken\n");
    }
    for (number, why) in violations {
        out.push_str(&format!("broken at TLC state {number}: {why}\n"));
    }
    out
}

/// The run's trace without the holds and drop rules that paced it, and without the messages
/// those rules dropped (what the model never delivers), with each model step noted on the lane
/// of the first node its outcome names: what a diagram of a replay draws.
pub fn run_trace<N: Node>(sim: &Simulation<N>, steps: &[ReplayStep]) -> Trace {
    let full = sim.trace();
    let ruled_out: BTreeSet<MessageId> = full
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Drop {
                message,
                reason: DropReason::Rule,
                ..
            } => Some(*message),
            _ => None,
        })
        .collect();
    let note = |step: &ReplayStep| {
        let node = sim
            .node_names()
            .iter()
            .filter_map(|n| step.outcome.find(n.as_str()).map(|at| (at, n)))
            .min()
            .and_then(|(_, n)| sim.id(n).ok())
            .unwrap_or(ProcessId(0));
        TraceEvent::Annotate {
            tick: step.tick,
            node,
            text: format!("TLC {}: {}", step.number, step.action),
        }
    };
    let pacing = |e: &TraceEvent| match e {
        TraceEvent::Fault { fault, .. } => matches!(
            fault,
            Fault::Hold { .. }
                | Fault::Release { .. }
                | Fault::HoldSync { .. }
                | Fault::DropKind { .. }
        ),
        TraceEvent::Send { message, .. } | TraceEvent::Drop { message, .. } => {
            ruled_out.contains(message)
        }
        _ => false,
    };
    let mut notes = steps.iter().peekable();
    let mut events = Vec::with_capacity(full.events.len() + steps.len());
    for event in &full.events {
        while let Some(step) = notes.next_if(|s| s.tick <= event.tick()) {
            events.push(note(step));
        }
        if !pacing(event) {
            events.push(event.clone());
        }
    }
    events.extend(notes.map(note));
    Trace {
        names: full.names.clone(),
        node_count: full.node_count,
        events,
    }
}
