//! # Single-value Paxos, with durable acceptors
//!
//! Lamport, "Paxos Made Simple" (2001); *Patterns of Distributed Systems*: **Paxos**, **Generation
//! Clock**, **Quorum**, and the *durable decision* the write-ahead-log lesson prepared.
//! Reference: spec §2.8.
//!
//! Several clients ask several servers to decide one command; they must all end up with the same
//! one, though servers crash, messages are lost, and any server may be asked at any time. Each
//! server is an *acceptor* (it votes), a *proposer* (it coordinates its clients' requests) and a
//! *learner* (it applies what was decided). A proposer runs two phases with a ballot of its own
//! ([`Ballot`], [`GenerationClock`]):
//! 1. **Prepare / Promise.** It asks every acceptor to promise the ballot. An acceptor promises only
//!    a ballot higher than any it promised ([`may_promise`]), and reports the value it accepted
//!    last, if any.
//! 2. **Accept / Accepted.** With promises from a majority, the proposer must propose the value
//!    accepted in the highest ballot among them ([`value_to_propose`]), or its own if there is
//!    none. An acceptor accepts unless it promised a higher ballot since ([`may_accept`]).
//!
//! A value is *chosen* once a majority accepted it in one ballot. The proposer that sees the
//! majority learns it, answers its client, and tells the other learners (`Commit`). Any later
//! proposer's majority meets the one that chose, so it finds the value and carries it forward:
//! that is the whole trick, and the reason a new proposer *recovers* an accepted value instead of
//! proposing its own.
//!
//! The rule in one sentence: promise only higher ballots, and propose what the highest ballot
//! among a majority accepted.
//!
//! Acceptors keep their state on disk and answer only once it is synced (`send_when_durable`): a
//! promise forgotten in a crash lets a lower ballot through again, and two values get chosen. The
//! switches of [`Config`] give the correct form and the classic broken variants:
//! [`Persistence::ReplyThenSync`] (`reply-before-persist`), [`Proposing::OwnValue`]
//! (`ignore-accepted`) and [`BallotRule::PerServerCounter`] (`per-server-counter`).
//!
//! Fixed from the reference (spec §5.2 item 7): ballots are unique across servers and jump past
//! every ballot a proposer saw, instead of per-server counters 1, 2, 3; a node applies the chosen
//! command once, however many commits it receives; a proposer that exhausts its attempts answers
//! its client (and says whether its command may still be chosen) instead of leaving it to time
//! out; and a client's command travels with its request id, so "was the chosen value mine?" is
//! answered by identity, not by comparing two commands that may be equal.

pub mod acceptor;
pub mod ballot;
mod cost;
pub mod exercise;
mod explore;
pub mod replay;
pub mod stories;

pub use acceptor::{
    Accepted, AcceptorState, PROMISE_CASES, Persistence, PromiseRule, Promising, Proposing,
    VALUE_CASES, ValueCase, ValueRule, ignore_accepted, last_record, may_accept, may_promise,
    may_promise_or_equal, save_record, value_case, value_to_propose,
};
pub use ballot::{Ballot, BallotRule, GenerationClock, backoff_ticks};
pub use cost::{Duel, duel, duel_with};
pub use explore::Explorer;
pub(crate) use explore::PromiseWatch;

use crate::history::{EventType, Value};
use crate::message_kinds;
use crate::node::{
    Context, Correlation, Node, Operation, Pending, ProcessId, Quorum, QuorumState, RequestId, Tick,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

// ----- what clients ask ----------------------------------------------------------------------------

/// A command for the servers' state machine (the reference's `set` and `increment`). Paxos decides
/// one of them; every node then applies it once.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Command {
    Set { key: String, value: String },
    Increment { key: String },
}

impl Command {
    pub fn set(key: &str, value: &str) -> Command {
        Command::Set {
            key: key.to_string(),
            value: value.to_string(),
        }
    }

    pub fn increment(key: &str) -> Command {
        Command::Increment {
            key: key.to_string(),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Set { key, value } => write!(f, "set {key}={value}"),
            Command::Increment { key } => write!(f, "increment {key}"),
        }
    }
}

/// What a proposer answers its client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaxosReply {
    /// The command chosen, whether it is this client's own, and what applying it gave (the value
    /// set, or the counter after the increment).
    Decided {
        chosen: Command,
        own: bool,
        result: String,
    },
    /// No decision reached this proposer. `maybe_applied`: it proposed the client's command, which
    /// may yet be chosen (the history says `:info`, not `:fail`).
    Failed { reason: String, maybe_applied: bool },
}

impl Operation for Command {
    type Reply = PaxosReply;

    /// `:propose`, as a write-once register records it ([`crate::check::WriteOnce`]).
    fn invocation(&self) -> (&'static str, Value) {
        ("propose", Value::str(self.to_string()))
    }

    /// `:ok` with the chosen command, whoever proposed it: every client learns the one decision.
    fn completion(&self, reply: &PaxosReply) -> (EventType, Value) {
        match reply {
            PaxosReply::Decided { chosen, .. } => (EventType::Ok, Value::str(chosen.to_string())),
            PaxosReply::Failed {
                maybe_applied: true,
                ..
            } => (EventType::Info, self.invocation().1),
            PaxosReply::Failed { .. } => (EventType::Fail, self.invocation().1),
        }
    }

    fn is_read_only(&self) -> bool {
        false
    }
}

/// The value Paxos decides: a client's command, with the request it came in. The request id makes
/// two equal commands from two clients two different proposals, and a client's retry the same one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Proposal {
    pub command: Command,
    pub request: RequestId,
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.command.fmt(f)
    }
}

// ----- configuration -------------------------------------------------------------------------------

/// The knobs of a Paxos cluster: the correct form by default, a broken variant by switch.
#[derive(Clone, Debug)]
pub struct Config {
    pub promising: Promising,
    pub proposing: Proposing<Proposal>,
    pub persistence: Persistence,
    pub ballots: BallotRule,
    /// Ballots a proposer tries for one request before it gives up.
    pub attempts_max: u32,
    /// How long one attempt (both phases) may take before the proposer tries a higher ballot.
    pub round_timeout_ticks: Tick,
    /// A proposer whose attempt failed waits a random 1..=this × attempt ticks before the next, so
    /// that duelling proposers stop pre-empting each other (Paxos Made Simple §2.4).
    pub backoff_ticks_max: Tick,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            promising: Promising::Strict,
            proposing: Proposing::HighestAccepted,
            persistence: Persistence::SyncThenReply,
            ballots: BallotRule::Unique,
            attempts_max: 6,
            round_timeout_ticks: 20,
            backoff_ticks_max: 6,
        }
    }
}

impl Config {
    pub fn persistence(mut self, persistence: Persistence) -> Config {
        self.persistence = persistence;
        self
    }

    pub fn proposing(mut self, proposing: Proposing<Proposal>) -> Config {
        self.proposing = proposing;
        self
    }

    pub fn promising(mut self, promising: Promising) -> Config {
        self.promising = promising;
        self
    }

    pub fn ballots(mut self, rule: BallotRule) -> Config {
        self.ballots = rule;
        self
    }

    pub fn attempts_max(mut self, attempts: u32) -> Config {
        self.attempts_max = attempts.max(1);
        self
    }
}

// ----- messages ------------------------------------------------------------------------------------

/// Proposer ↔ acceptor ↔ learner messages, named as in the paper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaxosMessage {
    /// Phase 1a: promise me `ballot`.
    Prepare {
        correlation: Correlation,
        ballot: Ballot,
    },
    /// Phase 1b: promised, and what I accepted before.
    Promise {
        correlation: Correlation,
        ballot: Ballot,
        accepted: Option<Accepted<Proposal>>,
    },
    /// Phase 2a: accept `value` in `ballot`.
    Accept {
        correlation: Correlation,
        ballot: Ballot,
        value: Proposal,
    },
    /// Phase 2b: accepted.
    Accepted {
        correlation: Correlation,
        ballot: Ballot,
    },
    /// Refused, because `promised` was promised (the paper's optional "abandon" hint): the
    /// proposer jumps past it.
    Nack {
        correlation: Correlation,
        ballot: Ballot,
        promised: Option<Ballot>,
    },
    /// `value` was chosen in `ballot`: learn it.
    Commit { ballot: Ballot, value: Proposal },
}

message_kinds!(PaxosMessage => PaxosKind { Prepare, Promise, Accept, Accepted, Nack, Commit });

/// A proposer's timer: start the next attempt for a request after its backoff.
#[derive(Clone, PartialEq, Eq)]
pub enum PaxosTimer {
    Retry(RequestId),
}

/// Short, because diagrams label a timer with it.
impl fmt::Debug for PaxosTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let PaxosTimer::Retry(request) = self;
        write!(f, "retry #{}", request.sequence)
    }
}

// ----- the node ------------------------------------------------------------------------------------

/// What a node keeps on disk: its acceptor state and the decision it learned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub acceptor: AcceptorState<Proposal>,
    pub learned: Option<Proposal>,
}

#[derive(Clone, Debug)]
enum Phase {
    /// Waiting for promises, with what each promise reported.
    Prepare(Quorum<Option<Accepted<Proposal>>>),
    /// Waiting for acceptances of `value`.
    Accept { value: Proposal, quorum: Quorum<()> },
}

/// One client request this node coordinates, across its attempts.
#[derive(Clone, Debug)]
struct Round {
    request: RequestId,
    own: Proposal,
    attempt: u32,
    ballot: Ballot,
    phase: Phase,
    /// An accept request with the client's own command went out: it may be chosen.
    sent_own: bool,
}

/// A Paxos server: acceptor, proposer and learner of one decision.
#[derive(Clone, Debug)]
pub struct Paxos {
    config: Config,
    // Acceptor and learner state (durable).
    acceptor: AcceptorState<Proposal>,
    learned: Option<Proposal>,
    // Proposer state.
    clock: GenerationClock,
    rounds: Pending<Round>,
    backing_off: BTreeMap<RequestId, Round>,
    // The state machine the decision is applied to, and what applying it gave.
    values: BTreeMap<String, String>,
    counters: BTreeMap<String, i64>,
    result: Option<String>,
    /// Why this node cannot take part (its storage is unreadable).
    unavailable: Option<String>,
}

impl Paxos {
    pub fn new(config: Config) -> Paxos {
        Paxos {
            clock: GenerationClock::new(config.ballots),
            config,
            acceptor: AcceptorState::default(),
            learned: None,
            rounds: Pending::new(),
            backing_off: BTreeMap::new(),
            values: BTreeMap::new(),
            counters: BTreeMap::new(),
            result: None,
            unavailable: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// This node's acceptor state, as it decides with it (its disk may lag behind).
    pub fn acceptor(&self) -> &AcceptorState<Proposal> {
        &self.acceptor
    }

    /// The value this node learned was chosen.
    pub fn learned(&self) -> Option<&Proposal> {
        self.learned.as_ref()
    }

    /// A key of the state machine, once the decision set it.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// A counter of the state machine (0 unless the decision incremented it).
    pub fn counter(&self, key: &str) -> i64 {
        self.counters.get(key).copied().unwrap_or(0)
    }

    /// Ballots this node's proposer used since it (re)started.
    pub fn ballots_used(&self) -> u64 {
        self.clock.attempts()
    }

    /// Requests this node coordinates that are not answered yet.
    pub fn requests_in_flight(&self) -> usize {
        self.rounds.len() + self.backing_off.len()
    }

    /// The attempts this node's proposer has in flight: each ballot, with the value it proposed
    /// once a majority promised (a replay asks which ballot a proposer took and what it chose).
    pub fn attempts(&self) -> impl Iterator<Item = (Ballot, Option<&Proposal>)> {
        self.rounds.iter().map(|(_, round)| match &round.phase {
            Phase::Accept { value, .. } => (round.ballot, Some(value)),
            Phase::Prepare(_) => (round.ballot, None),
        })
    }

    fn record(&self) -> Record {
        Record {
            acceptor: self.acceptor.clone(),
            learned: self.learned.clone(),
        }
    }

    /// Writes the node's state, unless it lives in memory only.
    fn persist(&self, ctx: &mut Context<'_, Self>) {
        if self.config.persistence != Persistence::MemoryOnly {
            save_record(ctx.storage(), &self.record());
        }
    }

    /// An acceptor's answer, sent as the persistence rule says: after the sync (correct), or at
    /// once (the broken forms).
    fn answer(&self, ctx: &mut Context<'_, Self>, to: ProcessId, message: PaxosMessage) {
        match self.config.persistence {
            Persistence::SyncThenReply => ctx.send_when_durable(to, message),
            Persistence::ReplyThenSync => {
                ctx.sync();
                ctx.send(to, message);
            }
            Persistence::MemoryOnly => ctx.send(to, message),
        }
    }

    /// Sends to every acceptor, this node included.
    fn to_all(&self, ctx: &mut Context<'_, Self>, message: PaxosMessage) {
        ctx.broadcast(message.clone());
        ctx.send(ctx.id(), message);
    }

    fn apply(&mut self, command: &Command) {
        let result = match command {
            Command::Set { key, value } => {
                self.values.insert(key.clone(), value.clone());
                value.clone()
            }
            Command::Increment { key } => {
                let counter = self.counters.entry(key.clone()).or_insert(0);
                *counter += 1;
                counter.to_string()
            }
        };
        self.result = Some(result);
    }

    // ----- proposer ------------------------------------------------------------------------------

    fn start_attempt(&mut self, ctx: &mut Context<'_, Self>, mut round: Round) {
        if let Some(promised) = self.acceptor.promised {
            self.clock.observe(promised);
        }
        round.ballot = self.clock.next(ctx.id());
        round.phase = Phase::Prepare(Quorum::majority(ctx.cluster_size()));
        let ballot = round.ballot;
        ctx.annotate(format!("prepare {ballot}"));
        let correlation = self
            .rounds
            .insert(ctx, self.config.round_timeout_ticks, round);
        self.to_all(
            ctx,
            PaxosMessage::Prepare {
                correlation,
                ballot,
            },
        );
    }

    /// A majority promised: propose what the rule says, to every acceptor.
    fn propose(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        let proposing = self.config.proposing;
        let Some(round) = self.rounds.get_mut(correlation) else {
            return;
        };
        let Phase::Prepare(promises) = &round.phase else {
            return;
        };
        let reports: Vec<Option<Accepted<Proposal>>> =
            promises.accepted().values().cloned().collect();
        let value = proposing.choose(&reports, round.own.clone());
        round.sent_own |= value.request == round.own.request;
        let ballot = round.ballot;
        let note = if value.request == round.own.request {
            format!("propose {value} in {ballot}")
        } else {
            format!("recover {value} in {ballot}")
        };
        round.phase = Phase::Accept {
            value: value.clone(),
            quorum: Quorum::majority(ctx.cluster_size()),
        };
        ctx.annotate(note);
        self.to_all(
            ctx,
            PaxosMessage::Accept {
                correlation,
                ballot,
                value,
            },
        );
    }

    /// The attempt failed: wait and try a higher ballot, or give up after the last attempt.
    fn retry(&mut self, ctx: &mut Context<'_, Self>, mut round: Round, why: &str) {
        if round.attempt >= self.config.attempts_max {
            let reason = format!("no decision after {} ballots ({why})", round.attempt);
            ctx.annotate(format!("give up: {why}"));
            let reply = PaxosReply::Failed {
                reason,
                maybe_applied: round.sent_own,
            };
            ctx.reply(round.request, reply);
            return;
        }
        round.attempt += 1;
        let wait = backoff_ticks(ctx.rng(), self.config.backoff_ticks_max, round.attempt);
        ctx.set_timer(PaxosTimer::Retry(round.request), wait);
        self.backing_off.insert(round.request, round);
    }

    /// `value` is chosen: keep it, apply it, answer every client waiting here, and (when this
    /// node saw the majority itself) tell the other learners.
    fn learn(&mut self, ctx: &mut Context<'_, Self>, ballot: Ballot, value: Proposal, tell: bool) {
        if let Some(known) = &self.learned {
            if *known != value {
                ctx.annotate(format!("told {value} was chosen, but learned {known}"));
            }
            return;
        }
        ctx.annotate(format!("learned {value}"));
        self.apply(&value.command);
        self.learned = Some(value.clone());
        if self.config.persistence != Persistence::MemoryOnly {
            self.persist(ctx);
            ctx.sync();
        }
        if tell {
            ctx.broadcast(PaxosMessage::Commit {
                ballot,
                value: value.clone(),
            });
        }
        // Every request still waiting here has its answer now.
        let waiting: Vec<Correlation> = self.rounds.iter().map(|(c, _)| c).collect();
        let mut requests: Vec<RequestId> = waiting
            .into_iter()
            .filter_map(|c| self.rounds.remove(ctx, c).map(|r| r.request))
            .collect();
        requests.extend(std::mem::take(&mut self.backing_off).into_keys());
        for request in requests {
            let reply = self.decided(&value, request);
            ctx.reply(request, reply);
        }
    }

    /// The answer to `request` once `chosen` is known to be chosen.
    fn decided(&self, chosen: &Proposal, request: RequestId) -> PaxosReply {
        PaxosReply::Decided {
            chosen: chosen.command.clone(),
            own: chosen.request == request,
            result: self.result.clone().unwrap_or_default(),
        }
    }

    fn on_promise(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        (correlation, ballot): (Correlation, Ballot),
        accepted: Option<Accepted<Proposal>>,
    ) {
        if let Some(a) = &accepted {
            self.clock.observe(a.ballot);
        }
        let Some(round) = self.rounds.get_mut(correlation) else {
            return; // an answer to an attempt that is over
        };
        let Phase::Prepare(promises) = &mut round.phase else {
            return; // a late promise: the attempt is already past its prepare phase
        };
        debug_assert_eq!(round.ballot, ballot, "a correlation names one ballot");
        if promises.record(from, accepted, true) == QuorumState::Reached {
            self.propose(ctx, correlation);
        }
    }

    fn on_accepted(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        correlation: Correlation,
    ) {
        let Some(round) = self.rounds.get_mut(correlation) else {
            return;
        };
        let Phase::Accept { quorum, .. } = &mut round.phase else {
            return;
        };
        if quorum.record(from, (), true) != QuorumState::Reached {
            return;
        }
        let round = self.rounds.remove(ctx, correlation).expect("present above");
        let Phase::Accept { value, .. } = round.phase else {
            unreachable!("matched above")
        };
        self.learn(ctx, round.ballot, value.clone(), true);
        // This client hears what its round chose (in a correct run, what everyone learns).
        let reply = self.decided(&value, round.request);
        ctx.reply(round.request, reply);
    }

    fn on_nack(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        correlation: Correlation,
        promised: Option<Ballot>,
    ) {
        if let Some(p) = promised {
            self.clock.observe(p);
        }
        let Some(round) = self.rounds.get_mut(correlation) else {
            return;
        };
        let state = match &mut round.phase {
            Phase::Prepare(q) => q.record(from, None, false),
            Phase::Accept { quorum, .. } => quorum.record(from, (), false),
        };
        if state == QuorumState::Impossible {
            let round = self.rounds.remove(ctx, correlation).expect("present above");
            let why = match promised {
                Some(p) => format!("refused: {p} was promised"),
                None => "refused".to_string(),
            };
            ctx.annotate(format!("{} {why}", round.ballot));
            self.retry(ctx, round, &why);
        }
    }

    // ----- acceptor ------------------------------------------------------------------------------

    fn on_prepare(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        correlation: Correlation,
        ballot: Ballot,
    ) {
        match self.acceptor.prepare(ballot, self.config.promising) {
            Ok(accepted) => {
                self.persist(ctx);
                ctx.annotate(format!("promise {ballot}"));
                let promise = PaxosMessage::Promise {
                    correlation,
                    ballot,
                    accepted,
                };
                self.answer(ctx, from, promise);
            }
            Err(promised) => ctx.send(
                from,
                PaxosMessage::Nack {
                    correlation,
                    ballot,
                    promised,
                },
            ),
        }
    }

    fn on_accept(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        (correlation, ballot): (Correlation, Ballot),
        value: Proposal,
    ) {
        let note = format!("accept {ballot}: {value}");
        match self.acceptor.accept(ballot, value) {
            Ok(()) => {
                self.persist(ctx);
                ctx.annotate(note);
                let accepted = PaxosMessage::Accepted {
                    correlation,
                    ballot,
                };
                self.answer(ctx, from, accepted);
            }
            Err(promised) => ctx.send(
                from,
                PaxosMessage::Nack {
                    correlation,
                    ballot,
                    promised,
                },
            ),
        }
    }
}

impl Node for Paxos {
    type Message = PaxosMessage;
    type Timer = PaxosTimer;
    type Operation = Command;

    /// A (re)started node is what its disk holds: its promise, what it accepted, what it learned.
    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match last_record::<Record>(ctx.storage()) {
            Ok(record) => {
                let record = record.unwrap_or_default();
                self.acceptor = record.acceptor;
                if let Some(promised) = self.acceptor.promised {
                    self.clock.observe(promised);
                }
                if let Some(value) = record.learned {
                    self.apply(&value.command);
                    self.learned = Some(value);
                }
            }
            Err(e) => {
                // Without its state an acceptor cannot know what it promised: it must not vote.
                ctx.annotate(format!("unavailable: {e}"));
                self.unavailable = Some(e.to_string());
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, command: Command) {
        if let Some(why) = &self.unavailable {
            let reply = PaxosReply::Failed {
                reason: why.clone(),
                maybe_applied: false,
            };
            ctx.reply(request, reply);
            return;
        }
        if let Some(chosen) = &self.learned {
            // A learner knows the decision: no ballot can change it.
            let reply = self.decided(chosen, request);
            ctx.reply(request, reply);
            return;
        }
        let in_flight = self.backing_off.contains_key(&request)
            || self.rounds.iter().any(|(_, r)| r.request == request);
        if in_flight {
            return; // a duplicate of a request this node is already deciding
        }
        let own = Proposal { command, request };
        let round = Round {
            request,
            own,
            attempt: 1,
            ballot: Ballot::unsigned(0),
            phase: Phase::Prepare(Quorum::majority(ctx.cluster_size())),
            sent_own: false,
        };
        self.start_attempt(ctx, round);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: ProcessId, message: PaxosMessage) {
        if self.unavailable.is_some() {
            return;
        }
        match message {
            PaxosMessage::Prepare {
                correlation,
                ballot,
            } => self.on_prepare(ctx, from, correlation, ballot),
            PaxosMessage::Accept {
                correlation,
                ballot,
                value,
            } => self.on_accept(ctx, from, (correlation, ballot), value),
            PaxosMessage::Promise {
                correlation,
                ballot,
                accepted,
            } => self.on_promise(ctx, from, (correlation, ballot), accepted),
            PaxosMessage::Accepted { correlation, .. } => self.on_accepted(ctx, from, correlation),
            PaxosMessage::Nack {
                correlation,
                promised,
                ..
            } => self.on_nack(ctx, from, correlation, promised),
            PaxosMessage::Commit { ballot, value } => self.learn(ctx, ballot, value, false),
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: PaxosTimer) {
        let PaxosTimer::Retry(request) = timer;
        if let Some(round) = self.backing_off.remove(&request) {
            self.start_attempt(ctx, round);
        }
    }

    fn on_expired(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        if let Some(round) = self.rounds.take_expired(correlation) {
            ctx.annotate(format!("{} timed out", round.ballot));
            self.retry(ctx, round, "no majority answered in time");
        }
    }
}
