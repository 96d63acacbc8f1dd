//! The client vocabulary every key-value pattern shares (quorum KV, Paxos log, Multi-Paxos, Raft):
//! the same requests, the same replies, the same history. A history is recorded the way Jepsen's
//! `independent` checker expects it, one `[key value]` tuple per operation, so a run over many keys
//! is checked key by key; [`crate::history::History::for_key`] gives one key's plain history.

use crate::history::{EventType, History, Value};
use crate::node::Operation;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What a client asks a key-value store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvOp {
    Read { key: String },
    Write { key: String, value: String },
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

    pub fn key(&self) -> &str {
        match self {
            KvOp::Read { key } | KvOp::Write { key, .. } => key,
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
        }
    }

    fn completion(&self, reply: &KvReply) -> (EventType, Value) {
        match (self, reply) {
            (KvOp::Read { key }, KvReply::Value(v)) => (
                EventType::Ok,
                Value::tuple(Value::str(key), v.clone().into()),
            ),
            (KvOp::Write { .. }, KvReply::Written) => (EventType::Ok, self.invocation().1),
            (
                _,
                KvReply::Failed {
                    maybe_applied: true,
                    ..
                },
            ) => (EventType::Info, self.invocation().1),
            // A read that failed had no effect; so did a write the store promises it did not apply,
            // and a reply that does not answer the request (a protocol bug) proves nothing happened.
            _ => (EventType::Fail, self.invocation().1),
        }
    }

    fn is_read_only(&self) -> bool {
        matches!(self, KvOp::Read { .. })
    }
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
