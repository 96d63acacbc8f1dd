//! # One server, then naive replication
//!
//! Day 2 opens with the counter service ([`super::counter`]) on a single server, then copies it to
//! more servers the naive way (spec §2.5, the reference's `SingleServer` and
//! `NaiveReplicationServer`).
//!
//! A [`SingleServer`] is linearizable: one copy, changed in one place, in the order requests
//! arrive. It writes each increment to its log and answers once the write is durable, so a crash
//! never takes back an answer, and it answers a retried request with the reply it already gave
//! (the *Idempotent Receiver* pattern). What it cannot do is survive: while it is down, nobody is
//! served, and if its disk dies the counter is gone.
//!
//! [`NaiveReplication`] keeps a copy on every server. The server a client asks applies the
//! increment, answers, and then tells the others (`REPLICATE_OP`, fire and forget). The client
//! hears "success" before any other copy changed, so a get at another server misses an increment
//! that has already been acknowledged; a lost or duplicated message, or a crash, leaves the copies
//! different for good. Waiting for every copy's acknowledgement before answering (the reference
//! declares `REPLICATE_ACK` and never sends it) does not fix it: copies still change one at a
//! time, so two gets can see the new value and then the old one, and a single slow server stalls
//! every increment. There is no correct form here: the explorer finds a counterexample for each
//! variant, and the next step is an agreement protocol, two-phase execution
//! ([`super::two_phase_commit`]).

use super::counter::{CounterMix, CounterOp, CounterReply};
use crate::check::{self, Counter, HistoryError, Independent, Report};
use crate::explore::{Explorable, Factory, Operations, Variant};
use crate::history::History;
use crate::message_kinds;
use crate::node::{Context, Correlation, Node, Pending, ProcessId, Quorum, QuorumState, RequestId};
use crate::node::{IdempotentReceiver, Seen, Tick};
use crate::sim::{Builder, Latency, NemesisConfig, Observer, RunPlan};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ----- the durable counter both servers keep ---------------------------------------------------------

/// One applied increment, as a server's log holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Applied {
    request: RequestId,
    key: String,
    delta: i64,
}

/// Counters kept in memory and in the node's log: every applied increment is appended, and a
/// restarted server adds them up again.
#[derive(Clone, Debug, Default)]
struct Counters {
    values: BTreeMap<String, i64>,
    /// How many times each request was applied here: more than once is the bug the explorer
    /// looks for.
    applications: BTreeMap<RequestId, u32>,
}

impl Counters {
    fn add(&mut self, applied: &Applied) -> i64 {
        *self.applications.entry(applied.request).or_default() += 1;
        let value = self.values.entry(applied.key.clone()).or_default();
        *value = value.saturating_add(applied.delta);
        *value
    }

    /// Applies an increment and appends it to the log (durable once synced).
    fn apply<N: Node>(&mut self, ctx: &mut Context<'_, N>, applied: Applied) -> i64 {
        ctx.storage().append_json(&applied);
        self.add(&applied)
    }

    /// Adds up what the log holds (a torn last entry was cut by the storage).
    fn recover<N: Node>(ctx: &mut Context<'_, N>) -> (Counters, Vec<Applied>) {
        let mut counters = Counters::default();
        let mut log = Vec::new();
        for index in 1..=ctx.storage().last_index() {
            match ctx.storage().entry_json::<Applied>(index) {
                Ok(Some(applied)) => {
                    counters.add(&applied);
                    log.push(applied);
                }
                Ok(None) => {}
                Err(e) => ctx.annotate(format!("skipped {e}")),
            }
        }
        (counters, log)
    }

    fn value(&self, key: &str) -> Option<i64> {
        self.values.get(key).copied()
    }
}

// ----- one server ------------------------------------------------------------------------------------

/// The counter on one server (the reference's `SingleServer`, made durable and idempotent).
#[derive(Clone, Debug, Default)]
pub struct SingleServer {
    counters: Counters,
    /// The reply each client's latest increment got, so a retry is answered, not applied again.
    answered: IdempotentReceiver<CounterReply>,
}

impl SingleServer {
    pub fn new() -> SingleServer {
        SingleServer::default()
    }

    /// The counter `key` on this server (`None`: never incremented).
    pub fn value(&self, key: &str) -> Option<i64> {
        self.counters.value(key)
    }
}

impl Node for SingleServer {
    type Message = NaiveMessage;
    type Timer = ();
    type Operation = CounterOp;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let (counters, log) = Counters::recover(ctx);
        self.counters = counters;
        self.answered = IdempotentReceiver::new();
        let mut running = Counters::default();
        for applied in log {
            let value = running.add(&applied);
            self.answered
                .answer(applied.request, CounterReply::Incremented { value });
        }
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: ProcessId, _: NaiveMessage) {}

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: CounterOp) {
        match op {
            CounterOp::Get { key } => {
                let value = self.counters.value(&key).unwrap_or(0);
                // Only what survives a crash may be reported.
                ctx.reply_when_durable(request, CounterReply::Value { value });
            }
            CounterOp::Increment { key, delta } => match self.answered.seen(request) {
                Seen::Answered(reply) => ctx.reply_when_durable(request, reply.clone()),
                Seen::InProgress | Seen::Stale => {}
                Seen::New => {
                    let value = self.counters.apply(
                        ctx,
                        Applied {
                            request,
                            key,
                            delta,
                        },
                    );
                    let reply = CounterReply::Incremented { value };
                    self.answered.answer(request, reply.clone());
                    ctx.reply_when_durable(request, reply);
                }
            },
        }
    }
}

// ----- naive replication -----------------------------------------------------------------------------

/// Server ↔ server messages (the reference's `REPLICATE_OP`, and the `REPLICATE_ACK` it declares
/// but never sends).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NaiveMessage {
    /// Apply this increment too.
    Replicate {
        correlation: Correlation,
        request: RequestId,
        key: String,
        delta: i64,
    },
    /// The increment is applied here, durably.
    ReplicateAck { correlation: Correlation },
}

message_kinds!(NaiveMessage => NaiveKind { Replicate, ReplicateAck });

/// When the server a client asked answers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// As the reference: apply, answer, then tell the others without waiting.
    ReplyFirst,
    /// Apply, tell the others, answer once every other server acknowledged.
    AfterEveryAck,
}

/// A copy of the counter on every server, kept in step naively.
#[derive(Clone, Debug)]
pub struct NaiveReplication {
    answer: Answer,
    /// How long an increment waits for acknowledgements (with [`Answer::AfterEveryAck`]).
    ack_timeout_ticks: Tick,
    counters: Counters,
    replications: Pending<(RequestId, i64, Quorum<()>)>,
}

impl NaiveReplication {
    pub fn new(answer: Answer) -> NaiveReplication {
        NaiveReplication {
            answer,
            ack_timeout_ticks: 30,
            counters: Counters::default(),
            replications: Pending::new(),
        }
    }

    /// The counter `key` on this server (`None`: never incremented here, the reference's
    /// `getContainerValue`).
    pub fn value(&self, key: &str) -> Option<i64> {
        self.counters.value(key)
    }

    /// How many times this server applied each request (more than once: the same increment
    /// counted twice).
    pub fn applications(&self) -> &BTreeMap<RequestId, u32> {
        &self.counters.applications
    }
}

impl Node for NaiveReplication {
    type Message = NaiveMessage;
    type Timer = ();
    type Operation = CounterOp;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.counters = Counters::recover(ctx).0;
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: CounterOp) {
        let (key, delta) = match op {
            CounterOp::Get { key } => {
                let value = self.counters.value(&key).unwrap_or(0);
                return ctx.reply_when_durable(request, CounterReply::Value { value });
            }
            CounterOp::Increment { key, delta } => (key, delta),
        };
        let applied = Applied {
            request,
            key: key.clone(),
            delta,
        };
        let value = self.counters.apply(ctx, applied);
        let peers = ctx.peers().to_vec();
        let correlation = match self.answer {
            Answer::ReplyFirst => {
                ctx.reply_when_durable(request, CounterReply::Incremented { value });
                // Nobody waits for this id: the reference mints one and forgets it.
                ctx.next_correlation()
            }
            Answer::AfterEveryAck if peers.is_empty() => {
                return ctx.reply_when_durable(request, CounterReply::Incremented { value });
            }
            Answer::AfterEveryAck => {
                let everyone = Quorum::of(peers.len(), peers.len());
                self.replications
                    .insert(ctx, self.ack_timeout_ticks, (request, value, everyone))
            }
        };
        for to in peers {
            let message = NaiveMessage::Replicate {
                correlation,
                request,
                key: key.clone(),
                delta,
            };
            ctx.send(to, message);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: ProcessId, message: NaiveMessage) {
        match message {
            NaiveMessage::Replicate {
                correlation,
                request,
                key,
                delta,
            } => {
                self.counters.apply(
                    ctx,
                    Applied {
                        request,
                        key,
                        delta,
                    },
                );
                if self.answer == Answer::AfterEveryAck {
                    ctx.send_when_durable(from, NaiveMessage::ReplicateAck { correlation });
                }
            }
            NaiveMessage::ReplicateAck { correlation } => {
                let Some((_, _, acks)) = self.replications.get_mut(correlation) else {
                    return;
                };
                if acks.record(from, (), true) == QuorumState::Reached {
                    if let Some((request, value, _)) = self.replications.remove(ctx, correlation) {
                        ctx.reply(request, CounterReply::Incremented { value });
                    }
                }
            }
        }
    }

    fn on_expired(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        if let Some((request, _, _)) = self.replications.take_expired(correlation) {
            // Applied here and maybe elsewhere: the increment may well have happened.
            ctx.reply(
                request,
                CounterReply::uncertain("not every server acknowledged"),
            );
        }
    }
}

// ----- exploration -----------------------------------------------------------------------------------

/// Naive replication for `patterns explore naive-replication`. It has no correct form: each variant
/// is caught, by the history (a get that misses an acknowledged increment, or sees one and then
/// not) or by the invariant that no server applies an increment twice (a duplicated message).
pub struct Explorer;

impl Explorable for Explorer {
    type Node = NaiveReplication;

    fn name(&self) -> &'static str {
        "naive-replication"
    }

    fn summary(&self) -> &'static str {
        "a counter copied to every server without agreement: the lesson before two-phase commit"
    }

    fn variants(&self) -> Vec<Variant> {
        vec![
            Variant {
                name: "reply-first",
                summary: "the reference: apply, answer, then tell the others (fire and forget)",
                broken: true,
                failing_seed: Some(0),
            },
            Variant {
                name: "wait-for-acks",
                summary: "answer once every other server acknowledged: copies still change one \
                          at a time",
                broken: true,
                failing_seed: Some(0),
            },
        ]
    }

    fn builder(&self, _: &Variant) -> Builder {
        Builder::new()
            .clients(["alice", "bob", "carol", "dave"])
            .latency(Latency::Uniform { min: 1, max: 4 })
    }

    fn node(&self, variant: &Variant) -> Factory<NaiveReplication> {
        let answer = match variant.name {
            "wait-for-acks" => Answer::AfterEveryAck,
            _ => Answer::ReplyFirst,
        };
        Box::new(move |_| NaiveReplication::new(answer))
    }

    fn operations(&self, _: &Variant) -> Operations<NaiveReplication> {
        Box::new(CounterMix::default().generator())
    }

    fn plan(&self, _: &Variant) -> RunPlan {
        RunPlan {
            ticks: 300,
            settle_ticks: 1_000,
            nemesis: Some(NemesisConfig::everything()),
        }
    }

    fn invariants(&self, _: &Variant) -> Option<Observer<NaiveReplication>> {
        Some(Box::new(|sim| {
            for (name, server) in sim.running_nodes() {
                if let Some((request, times)) = server.applications().iter().find(|(_, n)| **n > 1)
                {
                    return Err(format!(
                        "{name} applied the increment of request {}#{} {times} times",
                        sim.name(request.client),
                        request.sequence
                    ));
                }
            }
            Ok(())
        }))
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check::linearizable(history, &Independent::new(Counter::default()))
    }
}
