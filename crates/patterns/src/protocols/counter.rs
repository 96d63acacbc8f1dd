//! The counter service of Day 2's first lesson (spec §2.5): a client increments a named counter by
//! a delta and reads it back. Naive replication, two-phase and three-phase commit all serve it, so
//! their runs compare operation for operation.
//!
//! An increment answers with the counter's new value, as the reference's
//! `IncrementCounterResponse(success, newValue)` does. A history records it as the counter model's
//! `:add-and-get` ([`crate::check::Counter`]), so the checker holds every increment to the value it
//! returned, not only reads to what they saw; both carry `[key value]` tuples, checked key by key
//! ([`crate::check::Independent`]).

use crate::history::{EventType, Value};
use crate::node::Operation;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What a client asks the counter service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterOp {
    /// Adds `delta` to the counter `key` (a missing counter stands at 0).
    Increment { key: String, delta: i64 },
    /// Reads the counter `key`.
    Get { key: String },
}

impl CounterOp {
    pub fn increment(key: &str, delta: i64) -> CounterOp {
        CounterOp::Increment {
            key: key.to_string(),
            delta,
        }
    }

    pub fn get(key: &str) -> CounterOp {
        CounterOp::Get {
            key: key.to_string(),
        }
    }

    pub fn key(&self) -> &str {
        match self {
            CounterOp::Increment { key, .. } | CounterOp::Get { key } => key,
        }
    }
}

/// What the counter service answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterReply {
    /// The increment took effect; the counter now stands at `value`.
    Incremented { value: i64 },
    /// The counter stands at `value` (0 if it was never incremented).
    Value { value: i64 },
    /// The operation did not succeed. `maybe_applied` says whether an increment may still take
    /// effect (a history must then say `:info`, since `:fail` promises that nothing happened).
    Failed { reason: String, maybe_applied: bool },
}

impl CounterReply {
    /// A failure that promises nothing happened.
    pub fn failed(reason: &str) -> CounterReply {
        CounterReply::Failed {
            reason: reason.to_string(),
            maybe_applied: false,
        }
    }

    /// A failure after which the increment may still take effect.
    pub fn uncertain(reason: &str) -> CounterReply {
        CounterReply::Failed {
            reason: reason.to_string(),
            maybe_applied: true,
        }
    }

    /// Whether the operation succeeded.
    pub fn is_success(&self) -> bool {
        !matches!(self, CounterReply::Failed { .. })
    }
}

/// As a lesson tells it: "incremented to 7", "7", "failed (why)".
impl std::fmt::Display for CounterReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CounterReply::Incremented { value } => write!(f, "incremented to {value}"),
            CounterReply::Value { value } => write!(f, "{value}"),
            CounterReply::Failed {
                reason,
                maybe_applied,
            } => {
                let maybe = if *maybe_applied {
                    ", may still apply"
                } else {
                    ""
                };
                write!(f, "failed ({reason}{maybe})")
            }
        }
    }
}

impl Operation for CounterOp {
    type Reply = CounterReply;

    fn invocation(&self) -> (&'static str, Value) {
        match self {
            CounterOp::Increment { key, delta } => (
                "add-and-get",
                Value::tuple(Value::str(key), Value::Int(*delta)),
            ),
            CounterOp::Get { key } => ("read", Value::tuple(Value::str(key), Value::Nil)),
        }
    }

    fn completion(&self, reply: &CounterReply) -> (EventType, Value) {
        let key = Value::str(self.key());
        match (self, reply) {
            (CounterOp::Increment { .. }, CounterReply::Incremented { value })
            | (CounterOp::Get { .. }, CounterReply::Value { value }) => {
                (EventType::Ok, Value::tuple(key, Value::Int(*value)))
            }
            (
                CounterOp::Increment { .. },
                CounterReply::Failed {
                    maybe_applied: true,
                    ..
                },
            ) => (EventType::Info, self.invocation().1),
            // A failed read had no effect; neither had an increment the service promises it did
            // not apply, nor a reply that does not answer the request (a protocol bug).
            _ => (EventType::Fail, self.invocation().1),
        }
    }

    fn is_read_only(&self) -> bool {
        matches!(self, CounterOp::Get { .. })
    }
}

/// A random counter workload over a few keys and small deltas, so that increments of equal size
/// meet and a lost or doubled one shows in the sums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterMix {
    pub keys: usize,
    /// Deltas are drawn from `1..=delta_max`.
    pub delta_max: i64,
    /// Relative weights of gets and increments.
    pub gets: u32,
    pub increments: u32,
}

impl Default for CounterMix {
    /// Two keys, deltas 1 to 3, as many gets as increments.
    fn default() -> Self {
        CounterMix {
            keys: 2,
            delta_max: 3,
            gets: 1,
            increments: 1,
        }
    }
}

impl CounterMix {
    /// Draws operations from `rng`.
    pub fn generator(self) -> impl FnMut(&mut ChaCha8Rng) -> CounterOp + Clone + 'static {
        move |rng: &mut ChaCha8Rng| {
            let key = format!("c{}", rng.random_range(0..self.keys.max(1)));
            let pick = rng.random_range(0..(self.gets + self.increments).max(1));
            if pick < self.gets {
                CounterOp::get(&key)
            } else {
                CounterOp::increment(&key, rng.random_range(1..=self.delta_max.max(1)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{self, Counter, Independent};
    use crate::history::History;
    use rand::SeedableRng;

    #[test]
    fn a_reply_reads_as_a_lesson_tells_it() {
        let table = [
            (CounterReply::Incremented { value: 7 }, "incremented to 7"),
            (CounterReply::Value { value: -2 }, "-2"),
            (CounterReply::failed("no majority"), "failed (no majority)"),
            (
                CounterReply::uncertain("out of time"),
                "failed (out of time, may still apply)",
            ),
        ];
        for (reply, text) in table {
            assert_eq!(reply.to_string(), text);
        }
    }

    #[test]
    fn histories_record_the_new_value_and_honest_failures() {
        // (operation, reply, completion kind)
        let inc = CounterOp::increment("c", 2);
        let get = CounterOp::get("c");
        let table = [
            (&inc, CounterReply::Incremented { value: 7 }, EventType::Ok),
            (&inc, CounterReply::uncertain("no quorum"), EventType::Info),
            (&inc, CounterReply::failed("aborted"), EventType::Fail),
            (&get, CounterReply::Value { value: 7 }, EventType::Ok),
            (&get, CounterReply::uncertain("timeout"), EventType::Fail), // reads change nothing
            (
                &get,
                CounterReply::Incremented { value: 7 },
                EventType::Fail,
            ), // a protocol bug
        ];
        for (op, reply, kind) in table {
            assert_eq!(op.completion(&reply).0, kind, "{op:?} {reply:?}");
        }
        assert_eq!(
            inc.completion(&CounterReply::Incremented { value: 7 }).1,
            Value::tuple(Value::str("c"), Value::Int(7))
        );
    }

    #[test]
    fn the_checker_holds_an_increment_to_the_value_it_returned() {
        let mut h = History::new();
        let inc = CounterOp::increment("c", 2);
        for (client, value) in [("alice", 2), ("bob", 2)] {
            let (f, invoked) = inc.invocation();
            h.record(client, EventType::Invoke, f, invoked, None);
            let (kind, completed) = inc.completion(&CounterReply::Incremented { value });
            h.record(client, kind, f, completed, None);
        }
        let model = Independent::new(Counter::default());
        assert!(
            check::linearizable(&h, &model).unwrap().is_illegal(),
            "two increments of 2 cannot both have returned 2"
        );
    }

    #[test]
    fn a_mix_draws_both_operations_over_its_keys() {
        let mut draw = CounterMix::default().generator();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let ops: Vec<CounterOp> = (0..200).map(|_| draw(&mut rng)).collect();
        assert!(ops.iter().any(|op| matches!(op, CounterOp::Get { .. })));
        assert!(ops.iter().all(|op| matches!(
            op,
            CounterOp::Get { .. } | CounterOp::Increment { delta: 1..=3, .. }
        )));
        assert!(ops.iter().all(|op| ["c0", "c1"].contains(&op.key())));
    }
}
