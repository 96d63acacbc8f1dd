//! The quorum store's coordinator as straight-line `async` code (spec §2.6: the same coordinator
//! written as a coroutine), beside the state machine in the parent module.
//!
//! The replica side, the rules ([`super::latest`], [`super::needs_repair`],
//! [`super::version_after`]) and the configuration are the state machine's own; only the
//! coordinator differs. Where the state machine keeps a round in a [`Pending`](crate::node::Pending)
//! entry and continues it from whichever handler the next reply reaches, a coroutine keeps it in
//! local variables and reads top to bottom: ask, await a quorum, answer. The round's correlation
//! id, deadline and quorum counting are the same node interface's, so both coordinators give the
//! same runs and the same checker verdicts (the tests compare them seed by seed).

use super::{
    Config, QuorumKv, ReadRepair, ReplicaMessage, Versioned, Versioning, cas_refused, needs_repair,
};
use crate::node::{AsyncContext, Context, Node, ProcessId, Quorum, QuorumState, RequestId, Shared};
use crate::protocols::kv::{KvOp, KvReply};
use std::collections::{BTreeMap, BTreeSet};

/// A quorum store whose coordinator runs as coroutines. Its replica state is a [`QuorumKv`] held
/// in a [`Shared`] handle, so that the coroutines can reach it between two `.await`s.
pub struct AsyncQuorumKv {
    kv: Shared<QuorumKv>,
}

impl AsyncQuorumKv {
    pub fn new(config: Config) -> AsyncQuorumKv {
        AsyncQuorumKv {
            kv: Shared::new(QuorumKv::new(config)),
        }
    }

    pub fn config(&self) -> Config {
        self.kv.with(|kv| kv.config().clone())
    }

    /// The value and version this replica holds for `key`.
    pub fn versioned(&self, key: &str) -> Option<Versioned> {
        self.kv.with(|kv| kv.versioned(key).cloned())
    }

    /// The value this replica holds for `key`.
    pub fn value(&self, key: &str) -> Option<String> {
        self.kv.with(|kv| kv.value(key).map(str::to_string))
    }
}

/// Every node, peers first and this one last: the order the state machine asks them in.
fn everyone(io: &AsyncContext<AsyncQuorumKv>) -> Vec<ProcessId> {
    let mut nodes = io.peers();
    nodes.push(io.id());
    nodes
}

/// A write: choose its version, then store it on a write quorum.
async fn write(
    io: AsyncContext<AsyncQuorumKv>,
    kv: Shared<QuorumKv>,
    request: RequestId,
    key: String,
    value: String,
) {
    let config = kv.with(|kv| kv.config().clone());
    let n = io.cluster_size();
    let version = match config.versioning {
        Versioning::WallClock => {
            kv.with_mut(|kv| kv.wall_clock_version(io.id(), io.clock_millis()))
        }
        Versioning::ReadBeforeWrite => {
            let query_key = key.clone();
            let mut query = io.request(everyone(&io), config.round_timeout_ticks, move |c| {
                ReplicaMessage::Get {
                    correlation: c,
                    key: query_key.clone(),
                }
            });
            let versions = query
                .quorum(Quorum::of(config.read_quorum, n), |reply| {
                    matches!(reply, ReplicaMessage::GetOk { .. })
                })
                .await;
            if versions.state() != QuorumState::Reached {
                io.annotate("version query timed out");
                let reason = "no read quorum for the version before the deadline".to_string();
                let reply = KvReply::Failed {
                    reason,
                    maybe_applied: false,
                };
                return io.reply(request, reply);
            }
            let highest = versions
                .accepted()
                .values()
                .filter_map(|reply| match reply {
                    ReplicaMessage::GetOk { stored, .. } => stored.as_ref().map(|v| v.version),
                    _ => None,
                })
                .max();
            kv.with_mut(|kv| kv.version_after_query(highest.as_ref(), io.id()))
        }
    };
    let value = Versioned { value, version };
    let acks = io
        .request(everyone(&io), config.round_timeout_ticks, move |c| {
            ReplicaMessage::Set {
                correlation: c,
                key: key.clone(),
                value: value.clone(),
            }
        })
        .quorum(Quorum::of(config.write_quorum, n), |reply| {
            matches!(reply, ReplicaMessage::SetOk { .. })
        })
        .await;
    let reply = if acks.state() == QuorumState::Reached {
        KvReply::Written
    } else {
        io.annotate("write quorum timed out");
        kv.with(|kv| kv.write_failed("no write quorum before the deadline"))
    };
    io.reply(request, reply);
}

/// A read: the newest of R replies; with read repair, bring stale replicas up to date, and with
/// synchronous repair answer only once W replicas hold the value read.
async fn read(
    io: AsyncContext<AsyncQuorumKv>,
    kv: Shared<QuorumKv>,
    request: RequestId,
    key: String,
) {
    let config = kv.with(|kv| kv.config().clone());
    let n = io.cluster_size();
    let asked_key = key.clone();
    let mut round = io.request(everyone(&io), config.round_timeout_ticks, move |c| {
        ReplicaMessage::Get {
            correlation: c,
            key: asked_key.clone(),
        }
    });
    let mut replies: BTreeMap<ProcessId, Option<Versioned>> = BTreeMap::new();
    let mut decided: Option<Option<Versioned>> = None;
    let mut holders = BTreeSet::new();
    let mut repairing = BTreeSet::new();
    let mut request = Some(request);
    while let Some((from, reply)) = round.next_reply().await {
        match reply {
            ReplicaMessage::GetOk { stored, .. } => {
                replies.entry(from).or_insert(stored);
            }
            ReplicaMessage::SetOk { .. } => {
                repairing.remove(&from);
                holders.insert(from);
            }
            _ => continue,
        }
        if decided.is_none() && replies.len() >= config.read_quorum {
            decided = Some(config.latest(replies.values()));
        }
        let Some(value) = &decided else {
            continue;
        };
        let mut answer = true;
        if let (Some(newest), true) = (value, config.read_repair != ReadRepair::Off) {
            for (node, stored) in &replies {
                if holders.contains(node) || repairing.contains(node) {
                    continue;
                }
                if needs_repair(stored.as_ref(), &newest.version) {
                    io.annotate(format!("read repair of {key} → #{}", node.0));
                    let (key, newest) = (key.clone(), newest.clone());
                    round.send(*node, move |c| ReplicaMessage::Set {
                        correlation: c,
                        key,
                        value: newest,
                    });
                    repairing.insert(*node);
                } else {
                    holders.insert(*node);
                }
            }
            answer =
                config.read_repair == ReadRepair::Async || holders.len() >= config.write_quorum;
        }
        if answer {
            if let Some(request) = request.take() {
                let value = value.as_ref().map(|v| v.value.clone());
                io.reply(request, KvReply::Value(value));
            }
        }
        let everyone_answered = replies.len() == n;
        if request.is_none()
            && (config.read_repair == ReadRepair::Off
                || (everyone_answered && repairing.is_empty()))
        {
            return;
        }
    }
    // The deadline passed.
    let Some(request) = request else {
        return;
    };
    let reason = if decided.is_none() {
        io.annotate("read quorum timed out");
        "no read quorum before the deadline"
    } else {
        // Only synchronous repair can still be unanswered here: answering now would let a later
        // read return something older.
        io.annotate("read repair incomplete");
        "read repair did not reach a write quorum before the deadline"
    };
    let reply = KvReply::Failed {
        reason: reason.to_string(),
        maybe_applied: false,
    };
    io.reply(request, reply);
}

impl Node for AsyncQuorumKv {
    type Message = ReplicaMessage;
    type Timer = ();
    type Operation = KvOp;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.kv.with_mut(|kv| kv.recover(ctx));
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: KvOp) {
        let kv = self.kv.handle();
        match op {
            KvOp::Write { key, value } => ctx.spawn(|io| write(io, kv, request, key, value)),
            KvOp::Read { key } => ctx.spawn(|io| read(io, kv, request, key)),
            KvOp::Cas { .. } => ctx.reply(request, cas_refused()),
        }
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        message: ReplicaMessage,
    ) {
        match message {
            ReplicaMessage::Get { correlation, key } => {
                self.kv.with(|kv| kv.serve_get(ctx, from, correlation, key));
            }
            ReplicaMessage::Set {
                correlation,
                key,
                value,
            } => self
                .kv
                .with_mut(|kv| kv.serve_set(ctx, from, correlation, key, value)),
            // Coordinator side: the coroutine waiting on the round takes the reply; a reply to a
            // finished round finds nothing and is ignored.
            ReplicaMessage::GetOk { correlation, .. }
            | ReplicaMessage::SetOk { correlation, .. } => {
                ctx.resume(correlation, from, message);
            }
        }
    }
}
