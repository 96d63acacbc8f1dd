//! The client vocabulary every key-value pattern shares (quorum KV, Paxos log, Multi-Paxos, Raft):
//! the same requests, the same replies, the same history. A history is recorded the way Jepsen's
//! `independent` checker expects it, one `[key value]` tuple per operation, so a run over many keys
//! is checked key by key; [`crate::history::History::for_key`] gives one key's plain history.
//! Compare-and-set is recorded as Knossos's cas-register records it: `[key [expected new]]`, `:ok`
//! when it swapped and `:fail` when the value was not the expected one.

use crate::history::{EventType, History, Value};
use crate::node::{Node, NodeInit, Operation, ProcessId, Redirect, Tick};
use crate::sim::{Builder, RandomRun, RunPlan, SimError, Simulation, TraceLevel, node_name};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What a client asks a key-value store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvOp {
    Read {
        key: String,
    },
    Write {
        key: String,
        value: String,
    },
    /// Sets `key` to `new` only if it holds `expected` now.
    Cas {
        key: String,
        expected: String,
        new: String,
    },
}

impl KvOp {
    pub fn read(key: &str) -> KvOp {
        KvOp::Read {
            key: key.to_string(),
        }
    }

    pub fn write(key: &str, value: &str) -> KvOp {
        KvOp::Write {
            key: key.to_string(),
            value: value.to_string(),
        }
    }

    pub fn cas(key: &str, expected: &str, new: &str) -> KvOp {
        KvOp::Cas {
            key: key.to_string(),
            expected: expected.to_string(),
            new: new.to_string(),
        }
    }

    pub fn key(&self) -> &str {
        match self {
            KvOp::Read { key } | KvOp::Write { key, .. } | KvOp::Cas { key, .. } => key,
        }
    }
}

/// What a key-value store answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvReply {
    /// The value read (`None`: the key has no value).
    Value(Option<String>),
    /// The write took effect.
    Written,
    /// A compare-and-set: whether the key held the expected value (and now holds the new one).
    Swapped(bool),
    /// This node does not serve requests: ask the leader, if it knows one. Nothing was done.
    NotLeader { leader: Option<ProcessId> },
    /// The operation did not succeed. `maybe_applied` says whether it may still take effect (a
    /// write that reached some replicas but not a quorum): a history must then say `:info`, not
    /// `:fail`, because `:fail` promises that nothing happened.
    Failed { reason: String, maybe_applied: bool },
}

impl Operation for KvOp {
    type Reply = KvReply;

    fn invocation(&self) -> (&'static str, Value) {
        match self {
            KvOp::Read { key } => ("read", Value::tuple(Value::str(key), Value::Nil)),
            KvOp::Write { key, value } => {
                ("write", Value::tuple(Value::str(key), Value::str(value)))
            }
            KvOp::Cas { key, expected, new } => (
                "cas",
                Value::tuple(
                    Value::str(key),
                    Value::Vector(vec![Value::str(expected), Value::str(new)]),
                ),
            ),
        }
    }

    fn completion(&self, reply: &KvReply) -> (EventType, Value) {
        match (self, reply) {
            (KvOp::Read { key }, KvReply::Value(v)) => (
                EventType::Ok,
                Value::tuple(Value::str(key), v.clone().into()),
            ),
            (KvOp::Write { .. }, KvReply::Written) => (EventType::Ok, self.invocation().1),
            (KvOp::Cas { .. }, KvReply::Swapped(true)) => (EventType::Ok, self.invocation().1),
            (
                _,
                KvReply::Failed {
                    maybe_applied: true,
                    ..
                },
            ) => (EventType::Info, self.invocation().1),
            // A read that failed had no effect; so did a write the store promises it did not apply,
            // a compare-and-set whose comparison failed, a redirect, and a reply that does not
            // answer the request (a protocol bug).
            _ => (EventType::Fail, self.invocation().1),
        }
    }

    fn is_read_only(&self) -> bool {
        matches!(self, KvOp::Read { .. })
    }

    fn redirect(&self, reply: &KvReply) -> Option<Redirect> {
        match reply {
            KvReply::NotLeader { leader } => Some(Redirect { leader: *leader }),
            _ => None,
        }
    }
}

/// A random key-value workload: which operations, over how many keys and values. Small domains
/// make writes repeat and compare-and-sets meet, which is what finds bugs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvMix {
    pub keys: usize,
    /// Values are drawn from `v0 .. v{values-1}`; 0 writes a fresh value every time (`v1`, `v2`,
    /// ...), as [`stale_reads`] needs.
    pub values: usize,
    /// Relative weights of reads, writes and compare-and-sets.
    pub reads: u32,
    pub writes: u32,
    pub cas: u32,
}

impl Default for KvMix {
    /// Three keys, five values, as many reads as writes, no compare-and-set.
    fn default() -> Self {
        KvMix {
            keys: 3,
            values: 5,
            reads: 1,
            writes: 1,
            cas: 0,
        }
    }
}

impl KvMix {
    /// Draws operations from `rng`.
    pub fn generator(self) -> impl FnMut(&mut ChaCha8Rng) -> KvOp + Clone + 'static {
        let mut fresh = 0u64;
        move |rng: &mut ChaCha8Rng| {
            let key = format!("k{}", rng.random_range(0..self.keys.max(1)));
            let mut value = |rng: &mut ChaCha8Rng| {
                if self.values == 0 {
                    fresh += 1;
                    format!("v{fresh}")
                } else {
                    format!("v{}", rng.random_range(0..self.values))
                }
            };
            let total = self.reads + self.writes + self.cas;
            let pick = rng.random_range(0..total.max(1));
            if pick < self.reads {
                KvOp::read(&key)
            } else if pick < self.reads + self.writes {
                let v = value(rng);
                KvOp::write(&key, &v)
            } else {
                let (expected, new) = (value(rng), value(rng));
                KvOp::cas(&key, &expected, &new)
            }
        }
    }
}

/// A seeded random run of any key-value store: three clients (alice, bob, carol) read and write
/// three keys at random nodes, values unique, while the reference's nemesis cuts and slows links;
/// then the network heals and the clients finish. The same seed gives the same run.
pub fn random_kv_run<N: Node<Operation = KvOp>>(
    nodes: usize,
    factory: impl Fn(&NodeInit) -> N + 'static,
    seed: u64,
    ticks: Tick,
) -> Result<Simulation<N>, SimError> {
    let sim = Builder::new()
        .nodes((0..nodes).map(node_name))
        .clients(["alice", "bob", "carol"])
        .seed(seed)
        .trace(TraceLevel::Kinds)
        .build(factory)?;
    let mut fresh = 0u64;
    let unique_writes = move |rng: &mut ChaCha8Rng| {
        let key = format!("k{}", rng.random_range(0..3));
        if rng.random_bool(0.5) {
            fresh += 1;
            KvOp::write(&key, &format!("v{fresh}"))
        } else {
            KvOp::read(&key)
        }
    };
    let plan = RunPlan {
        ticks,
        ..RunPlan::default()
    };
    let mut run = RandomRun::new(sim, unique_writes, plan);
    run.finish()?;
    Ok(run.sim)
}

/// Reads that returned a value already overwritten before they began, out of all reads.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct StaleReads {
    pub reads: usize,
    pub stale: usize,
}

impl StaleReads {
    pub fn rate(&self) -> f64 {
        if self.reads == 0 {
            0.0
        } else {
            self.stale as f64 / self.reads as f64
        }
    }
}

/// Counts stale reads in a history of `[key value]` operations with unique written values.
///
/// A read is stale when some write W2 completed before the read began, and W2 began after the
/// write of the value read had completed (or the read saw no value at all): the value was
/// overwritten, in real time, before the read started. Every stale read is a linearizability
/// violation, but not every violation is a stale read; the checkers find the rest.
pub fn stale_reads(history: &History) -> StaleReads {
    let mut count = StaleReads::default();
    let keys: BTreeSet<String> = history
        .events
        .iter()
        .filter_map(|e| match &e.value {
            Value::Vector(pair) if pair.len() == 2 => match &pair[0] {
                Value::Str(k) => Some(k.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    for key in keys {
        let h = history.for_key(&key);
        // (value, invoked at, completed at) of each acknowledged write; reads likewise.
        let mut open: BTreeMap<u64, (usize, &str, Value)> = BTreeMap::new();
        let mut writes: Vec<(Value, usize, usize)> = Vec::new();
        let mut reads: Vec<(Value, usize)> = Vec::new();
        for (i, e) in h.events.iter().enumerate() {
            match e.kind {
                EventType::Invoke => {
                    open.insert(e.process, (i, e.f.as_str(), e.value.clone()));
                }
                EventType::Ok => {
                    if let Some((start, f, value)) = open.remove(&e.process) {
                        match f {
                            "write" => writes.push((value, start, i)),
                            "read" => reads.push((e.value.clone(), start)),
                            _ => {}
                        }
                    }
                }
                EventType::Fail | EventType::Info => {
                    open.remove(&e.process);
                }
            }
        }
        for (value, began) in reads {
            count.reads += 1;
            let written_done = writes
                .iter()
                .find(|(v, _, _)| *v == value)
                .map(|(_, _, done)| *done);
            let overwritten = writes.iter().any(|(v, start, done)| {
                *done < began
                    && *v != value
                    && (value.is_nil() || written_done.is_some_and(|d| d < *start))
            });
            if overwritten {
                count.stale += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_follow_knossos_semantics() {
        let w = KvOp::write("k", "v");
        let r = KvOp::read("k");
        let maybe = KvReply::Failed {
            reason: "no quorum".into(),
            maybe_applied: true,
        };
        let never = KvReply::Failed {
            reason: "no quorum".into(),
            maybe_applied: false,
        };
        // (operation, reply, expected completion type)
        let table = [
            (&w, KvReply::Written, EventType::Ok),
            (&w, maybe.clone(), EventType::Info),
            (&w, never.clone(), EventType::Fail),
            (&r, KvReply::Value(None), EventType::Ok),
            (&r, maybe, EventType::Info),
            (&r, never, EventType::Fail),
        ];
        for (op, reply, expected) in table {
            assert_eq!(
                op.completion(&reply).0,
                expected,
                "{op:?} answered {reply:?}"
            );
        }
        assert_eq!(
            r.completion(&KvReply::Value(Some("v".into())))
                .1
                .to_string(),
            "[\"k\" \"v\"]"
        );
    }

    fn history(events: &[(&str, &str, &str, Option<&str>)]) -> History {
        let mut h = History::new();
        for (client, kind, f, value) in events {
            let kind = match *kind {
                "invoke" => EventType::Invoke,
                "ok" => EventType::Ok,
                "info" => EventType::Info,
                _ => EventType::Fail,
            };
            let v = Value::tuple(Value::str("k"), value.map(Value::str).unwrap_or(Value::Nil));
            h.record(client, kind, f, v, None);
        }
        h
    }

    #[test]
    fn a_read_of_an_overwritten_value_is_stale_and_a_concurrent_one_is_not() {
        let h = history(&[
            ("w", "invoke", "write", Some("v1")),
            ("w", "ok", "write", Some("v1")),
            ("w", "invoke", "write", Some("v2")),
            ("r1", "invoke", "read", None), // concurrent with the write of v2: v1 is fine
            ("r1", "ok", "read", Some("v1")),
            ("w", "ok", "write", Some("v2")),
            ("r2", "invoke", "read", None), // after v2 completed: v1 is stale
            ("r2", "ok", "read", Some("v1")),
            ("r3", "invoke", "read", None),
            ("r3", "ok", "read", Some("v2")),
        ]);
        assert_eq!(stale_reads(&h), StaleReads { reads: 3, stale: 1 });
    }

    #[test]
    fn reading_nothing_after_a_completed_write_is_stale() {
        let h = history(&[
            ("w", "invoke", "write", Some("v1")),
            ("w", "ok", "write", Some("v1")),
            ("r", "invoke", "read", None),
            ("r", "ok", "read", None),
        ]);
        assert_eq!(stale_reads(&h).stale, 1);
    }
}
