//! The client vocabulary every key-value pattern shares (quorum KV, Paxos log, Multi-Paxos, Raft):
//! the same requests, the same replies, the same history. A history is recorded the way Jepsen's
//! `independent` checker expects it, one `[key value]` tuple per operation, so a run over many keys
//! is checked key by key; [`crate::history::History::for_key`] gives one key's plain history.

use crate::history::{EventType, Value};
use crate::node::Operation;
use serde::{Deserialize, Serialize};

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
}
