//! What a simulation refuses to do, and why.

use super::Tick;
use std::fmt;

/// A request the simulator cannot carry out. Every fault and client call checks its arguments
/// and says what was wrong instead of panicking or silently doing nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum SimError {
    /// No node or client has this name.
    UnknownProcess { name: String, known: Vec<String> },
    /// The name is a client where a node is needed, or the other way round.
    WrongRole {
        name: String,
        expected: &'static str,
    },
    /// Two processes were declared with the same name.
    DuplicateName(String),
    /// A cluster needs at least one node.
    NoNodes,
    /// Process ids are 16 bits wide.
    TooManyProcesses(usize),
    /// A message type this protocol does not have (a typo in a hand-written fault).
    UnknownKind {
        kind: String,
        known: Vec<&'static str>,
    },
    /// Crashing a crashed node, restarting a running one, pausing a paused one...
    InvalidState {
        name: String,
        state: &'static str,
        action: &'static str,
    },
    /// A delay range whose minimum exceeds its maximum.
    InvalidDelay { min: Tick, max: Tick },
    /// A wall clock must start after the epoch (tickloom's rule).
    InvalidClock(i64),
    /// A probability outside [0, 1].
    InvalidProbability { knob: &'static str, value: f64 },
    /// A partition with an empty side, or a process on both sides.
    InvalidPartition(String),
    /// A drop rule for the n-th message with n = 0 (the first message is n = 1).
    InvalidNth,
    /// The client already has an operation in flight (a Jepsen process runs one at a time).
    ClientBusy { client: String },
    /// An operation handle this simulation never issued.
    UnknownOperation,
    /// `run_until` spent its budget before the condition held.
    BudgetExhausted {
        waited_ticks: Tick,
        now: Tick,
        /// The run's seed: replaying it reproduces the failure.
        seed: u64,
        waiting_for: String,
        recent: Vec<String>,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::UnknownProcess { name, known } => {
                write!(
                    f,
                    "no process is named {name:?}; known: {}",
                    known.join(", ")
                )
            }
            SimError::WrongRole { name, expected } => write!(f, "{name:?} is not a {expected}"),
            SimError::DuplicateName(name) => write!(f, "the name {name:?} is used twice"),
            SimError::NoNodes => write!(f, "a cluster needs at least one node"),
            SimError::TooManyProcesses(n) => {
                write!(f, "{n} processes: a simulation holds at most 65535")
            }
            SimError::UnknownKind { kind, known } => write!(
                f,
                "this protocol has no message type {kind:?}; its types: {}",
                known.join(", ")
            ),
            SimError::InvalidState {
                name,
                state,
                action,
            } => {
                write!(f, "cannot {action} {name:?}: it is {state}")
            }
            SimError::InvalidDelay { min, max } => {
                write!(f, "a delay range needs min <= max, got {min}..={max} ticks")
            }
            SimError::InvalidClock(millis) => {
                write!(f, "initial clock time must be positive, got: {millis}")
            }
            SimError::InvalidProbability { knob, value } => {
                write!(
                    f,
                    "{knob} must be a probability between 0 and 1, got {value}"
                )
            }
            SimError::InvalidPartition(why) => write!(f, "invalid partition: {why}"),
            SimError::InvalidNth => write!(f, "the n-th message counts from 1"),
            SimError::ClientBusy { client } => write!(
                f,
                "client {client:?} already has an operation in flight; \
                 wait for it (a history process runs one operation at a time) or use another client"
            ),
            SimError::UnknownOperation => write!(f, "this simulation issued no such operation"),
            SimError::BudgetExhausted {
                waited_ticks,
                now,
                seed,
                waiting_for,
                recent,
            } => {
                write!(
                    f,
                    "waited {waited_ticks} ticks (now tick {now}) for {waiting_for} \
                     (replay: seed {seed})"
                )?;
                if !recent.is_empty() {
                    write!(f, "; last events:")?;
                    for line in recent {
                        write!(f, "\n  {line}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SimError {}
