//! # The Paxos log: one Paxos instance per index
//!
//! Lamport, "Paxos Made Simple" (2001), §3 ("Implementing a State Machine"); *Patterns of
//! Distributed Systems*: **Paxos**, **Replicated Log**, **High-Water Mark**, **Idempotent
//! Receiver**. Reference: spec §2.9.
//!
//! Single-value Paxos ([`super::paxos`]) decides one command. A key-value store needs a sequence
//! of them, the same on every replica: a *log*. The smallest step from one decision to many is
//! one independent Paxos instance per log index. A server that a client asks runs Paxos at an
//! index; if the value chosen there is the client's command, it is done; if another command was
//! chosen there (another client's, or one a crashed proposer left half-accepted), it carries that
//! one forward, as Paxos demands, and tries the next index. Every replica applies the chosen
//! commands in index order ([`Log::apply_chosen`]): writes, compare-and-sets, and reads too, so
//! that a read sees every write chosen before it.
//!
//! The rule in one sentence: run Paxos at the first index you do not know to be chosen, and
//! move on until the value chosen is your own, *by request id*.
//!
//! Two questions every proposer asks, as small functions:
//! - **where do I start?** ([`start_index`]) at the first index not known chosen. The reference
//!   starts every request at index 0 and re-runs both phases over every chosen index on its way
//!   (the [`Start::Beginning`] form, kept for the lesson): a request costs messages in proportion
//!   to the length of the log ([`cost`]).
//! - **was the chosen value mine?** ([`is_own`]) only if it carries my request id. The reference
//!   compared commands structurally ([`Identity::Structural`], the `structural-identity`
//!   variant): two clients' equal compare-and-sets are one entry to it, the second client is told
//!   it swapped, and its swap never happened.
//!
//! Every acceptor keeps its promises and accepted values per index, on disk, synced before it
//! answers ([`Record`]); a restarted replica replays them and applies its chosen prefix again.
//! The high-water mark is the last index applied.
//!
//! Fixed from the reference (spec §5.2 item 8): a request starts at the first index not known
//! chosen, not at 0; value identity is the request id; a learner accepts a commit whatever it
//! promised (a chosen value is chosen; the reference refused commits from lower generations);
//! ballots are unique across servers; promises, accepts and chosen values are persisted; a
//! proposer that runs out of attempts answers its client. Multi-Paxos
//! ([`super::multi_paxos`]) then removes the per-index prepare altogether.

pub mod cost;
pub mod exercise;
mod explore;
mod figures;
mod log;

pub use explore::{Explorer, LogWatch, ReplicatedLog, check_kv_history, kv_operations};
pub use figures::log_grid;
pub use log::{Command, Entry, KvStore, Log, Record, execute, records, replay, write};

use crate::message_kinds;
use crate::node::{
    Context, Correlation, Node, Pending, ProcessId, Quorum, QuorumState, RequestId, Tick,
};
use crate::protocols::kv::{KvOp, KvReply};
use crate::protocols::paxos::{
    Accepted, Ballot, GenerationClock, Proposing, backoff_ticks, may_accept, may_promise,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ----- the rules -----------------------------------------------------------------------------------

/// Where a proposer starts a new request.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Start {
    /// At the first index it does not know to be chosen.
    #[default]
    FirstUnchosen,
    /// At index 1, every time, running both phases again over every chosen index (the
    /// reference's teaching flaw: a request's cost grows with the log).
    Beginning,
}

/// Where does a proposer start? `first_unchosen` is the first index it does not know chosen.
pub fn start_index(start: Start, first_unchosen: u64) -> u64 {
    match start {
        Start::FirstUnchosen => first_unchosen.max(1),
        Start::Beginning => 1,
    }
}

/// "Was the chosen value mine?" as a function a lesson can replace.
pub type IdentityRule = fn(chosen: &Command, own: &Command) -> bool;

/// Was the value `chosen` at an index the proposer's `own` command? Only if it carries the same
/// request: two equal operations from two clients are two commands.
pub fn is_own(chosen: &Command, own: &Command) -> bool {
    chosen.request().is_some() && chosen.request() == own.request()
}

/// The reference's broken form of [`is_own`]: equal operations are the same command, whoever
/// sent them.
pub fn is_own_structurally(chosen: &Command, own: &Command) -> bool {
    chosen.op().is_some() && chosen.op() == own.op()
}

/// How a proposer recognises its own value.
#[derive(Copy, Clone, Debug, Default)]
pub enum Identity {
    /// [`is_own`]: by request id.
    #[default]
    RequestId,
    /// [`is_own_structurally`]: by equality of the operations.
    Structural,
    /// Any rule with the same signature (a learner's answer to an exercise).
    Rule(IdentityRule),
}

impl Identity {
    pub fn is_own(self, chosen: &Command, own: &Command) -> bool {
        match self {
            Identity::RequestId => is_own(chosen, own),
            Identity::Structural => is_own_structurally(chosen, own),
            Identity::Rule(rule) => rule(chosen, own),
        }
    }
}

// ----- configuration -------------------------------------------------------------------------------

/// The knobs of a Paxos log: the correct form by default, a variant by switch.
#[derive(Clone, Debug)]
pub struct Config {
    pub start: Start,
    pub identity: Identity,
    pub proposing: Proposing<Command>,
    /// Ballots a proposer tries at one index before it gives its client up.
    pub attempts_per_index_max: u32,
    /// How long one attempt (both phases) may take.
    pub round_timeout_ticks: Tick,
    /// A failed attempt waits a random 1..=this × attempt ticks before the next.
    pub backoff_ticks_max: Tick,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            start: Start::FirstUnchosen,
            identity: Identity::RequestId,
            proposing: Proposing::HighestAccepted,
            attempts_per_index_max: 5,
            round_timeout_ticks: 20,
            backoff_ticks_max: 6,
        }
    }
}

/// The forms of the Paxos log by name, the correct one first.
pub const VARIANTS: [&str; 3] = ["correct", "walk-from-start", "structural-identity"];

impl Config {
    /// The form named `name` ([`VARIANTS`]).
    pub fn variant(name: &str) -> Option<Config> {
        let correct = Config::default();
        match name {
            "correct" => Some(correct),
            "walk-from-start" => Some(correct.start(Start::Beginning)),
            "structural-identity" => Some(correct.identity(Identity::Structural)),
            _ => None,
        }
    }

    pub fn start(mut self, start: Start) -> Config {
        self.start = start;
        self
    }

    pub fn identity(mut self, identity: Identity) -> Config {
        self.identity = identity;
        self
    }
}

// ----- messages ------------------------------------------------------------------------------------

/// Proposer ↔ acceptor ↔ learner messages of the Paxos instance at `index`, named as in the paper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaxosLogMessage {
    /// Phase 1a: promise me `ballot` at `index`.
    Prepare {
        correlation: Correlation,
        index: u64,
        ballot: Ballot,
    },
    /// Phase 1b: promised, and what I accepted at `index` before.
    Promise {
        correlation: Correlation,
        index: u64,
        ballot: Ballot,
        accepted: Option<Accepted<Command>>,
    },
    /// Phase 2a: accept `command` at `index` in `ballot`.
    Accept {
        correlation: Correlation,
        index: u64,
        ballot: Ballot,
        command: Command,
    },
    /// Phase 2b: accepted.
    Accepted {
        correlation: Correlation,
        index: u64,
        ballot: Ballot,
    },
    /// Refused: `promised` was promised at `index`.
    Nack {
        correlation: Correlation,
        index: u64,
        ballot: Ballot,
        promised: Option<Ballot>,
    },
    /// `command` was chosen at `index` (by a majority in `ballot`): learn it.
    Commit {
        index: u64,
        ballot: Ballot,
        command: Command,
    },
}

message_kinds!(PaxosLogMessage => PaxosLogKind { Prepare, Promise, Accept, Accepted, Nack, Commit });

/// A proposer's timer: the next attempt of a request, after its backoff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaxosLogTimer {
    Retry(RequestId),
}

// ----- the node ------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Phase {
    Prepare(Quorum<Option<Accepted<Command>>>),
    Accept {
        command: Command,
        quorum: Quorum<()>,
    },
}

/// One client request this node proposes, index after index.
#[derive(Clone, Debug)]
struct Proposal {
    request: RequestId,
    own: Command,
    index: u64,
    attempt: u32,
    ballot: Ballot,
    phase: Phase,
    /// An accept request with the client's own command went out: it may be chosen somewhere.
    sent_own: bool,
}

/// A Paxos log server: acceptor and learner at every index, proposer for its clients.
#[derive(Clone, Debug)]
pub struct PaxosLog {
    config: Config,
    // Acceptor and learner state (durable).
    promises: BTreeMap<u64, Ballot>,
    log: Log,
    // Proposer state.
    clock: GenerationClock,
    rounds: Pending<Proposal>,
    backing_off: BTreeMap<RequestId, Proposal>,
    /// Requests whose own command is known chosen at an index not applied yet.
    own_at: BTreeMap<u64, RequestId>,
    /// Why this node cannot take part (its storage is unreadable).
    unavailable: Option<String>,
    /// Rounds of Paxos this node started, for the cost figures.
    rounds_started: u64,
}

impl PaxosLog {
    pub fn new(config: Config) -> PaxosLog {
        PaxosLog {
            config,
            promises: BTreeMap::new(),
            log: Log::new(),
            clock: GenerationClock::new(Default::default()),
            rounds: Pending::new(),
            backing_off: BTreeMap::new(),
            own_at: BTreeMap::new(),
            unavailable: None,
            rounds_started: 0,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The replica's log and state machine.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The value of `key` in this replica's store.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.log.value(key)
    }

    /// The high-water mark: the last index applied (0: none).
    pub fn high_water_mark(&self) -> u64 {
        self.log.applied()
    }

    /// The highest ballot this acceptor promised at `index`.
    pub fn promised(&self, index: u64) -> Option<Ballot> {
        self.promises.get(&index).copied()
    }

    /// Rounds of Paxos (prepare and accept) this node started since it (re)started.
    pub fn rounds_started(&self) -> u64 {
        self.rounds_started
    }

    /// Requests this node is still proposing.
    pub fn requests_in_flight(&self) -> usize {
        self.rounds.len() + self.backing_off.len()
    }

    fn persist(ctx: &mut Context<'_, Self>, record: &Record) {
        write(ctx.storage(), record);
    }

    /// Sends to every acceptor, this node included.
    fn to_all(ctx: &mut Context<'_, Self>, message: PaxosLogMessage) {
        ctx.broadcast(message.clone());
        ctx.send(ctx.id(), message);
    }

    // ----- proposer ------------------------------------------------------------------------------

    /// Runs Paxos for `proposal` at its index, skipping indexes known chosen when the proposer
    /// starts at the first unchosen one.
    fn start_attempt(&mut self, ctx: &mut Context<'_, Self>, mut proposal: Proposal) {
        if self.config.start == Start::FirstUnchosen {
            while self.log.chosen(proposal.index).is_some() {
                proposal.index += 1;
                proposal.attempt = 1;
            }
        }
        if let Some(promised) = self.promises.get(&proposal.index) {
            self.clock.observe(*promised);
        }
        proposal.ballot = self.clock.next(ctx.id());
        proposal.phase = Phase::Prepare(Quorum::majority(ctx.cluster_size()));
        self.rounds_started += 1;
        let (index, ballot) = (proposal.index, proposal.ballot);
        ctx.annotate(format!("prepare [{index}] {ballot}"));
        let correlation = self
            .rounds
            .insert(ctx, self.config.round_timeout_ticks, proposal);
        Self::to_all(
            ctx,
            PaxosLogMessage::Prepare {
                correlation,
                index,
                ballot,
            },
        );
    }

    /// A majority promised: propose the value the rule says, to every acceptor.
    fn propose(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        let proposing = self.config.proposing;
        let Some(proposal) = self.rounds.get_mut(correlation) else {
            return;
        };
        let Phase::Prepare(promises) = &proposal.phase else {
            return;
        };
        let reports: Vec<Option<Accepted<Command>>> =
            promises.accepted().values().cloned().collect();
        let command = proposing.choose(&reports, proposal.own.clone());
        let own = command == proposal.own;
        proposal.sent_own |= own;
        let (index, ballot) = (proposal.index, proposal.ballot);
        proposal.phase = Phase::Accept {
            command: command.clone(),
            quorum: Quorum::majority(ctx.cluster_size()),
        };
        let verb = if own { "propose" } else { "carry forward" };
        ctx.annotate(format!("{verb} [{index}] {command} in {ballot}"));
        Self::to_all(
            ctx,
            PaxosLogMessage::Accept {
                correlation,
                index,
                ballot,
                command,
            },
        );
    }

    /// The attempt failed: back off and try a higher ballot at the same index, or give up.
    fn retry(&mut self, ctx: &mut Context<'_, Self>, mut proposal: Proposal, why: &str) {
        if proposal.attempt >= self.config.attempts_per_index_max {
            ctx.annotate(format!("give up at [{}]: {why}", proposal.index));
            let reply = KvReply::Failed {
                reason: format!(
                    "no decision at index {} after {} ballots ({why})",
                    proposal.index, proposal.attempt
                ),
                maybe_applied: proposal.sent_own,
            };
            ctx.reply(proposal.request, reply);
            return;
        }
        proposal.attempt += 1;
        let wait = backoff_ticks(ctx.rng(), self.config.backoff_ticks_max, proposal.attempt);
        ctx.set_timer(PaxosLogTimer::Retry(proposal.request), wait);
        self.backing_off.insert(proposal.request, proposal);
    }

    /// `command` is chosen at `index`: keep it, apply what can be applied, and answer the
    /// clients whose requests were applied.
    fn learn(&mut self, ctx: &mut Context<'_, Self>, index: u64, command: Command) {
        match self.log.choose(index, command.clone()) {
            Ok(true) => Self::persist(ctx, &Record::Chosen { index, command }),
            Ok(false) => return,
            Err(known) => {
                ctx.annotate(format!(
                    "told [{index}] chose {command}, but {known} was chosen there"
                ));
                return;
            }
        }
        for (index, answer) in self.log.apply_chosen() {
            let mine = self.own_at.remove(&index);
            let Some((request, reply)) = answer else {
                continue; // a no-op, or a request its client gave up on
            };
            if let Some(mine) = mine.filter(|m| *m != request) {
                // The proposer took another request's command for its own (structural identity):
                // it answers its client with what that command did.
                self.finish_proposal(ctx, mine);
                ctx.reply(mine, reply.clone());
            }
            // The request applied here, if this node proposes it: chosen through its own round or
            // through another proposer's recovery.
            if self.finish_proposal(ctx, request) || mine == Some(request) {
                ctx.reply(request, reply);
            }
        }
    }

    /// Stops proposing `request`: `true` if this node was proposing it.
    fn finish_proposal(&mut self, ctx: &mut Context<'_, Self>, request: RequestId) -> bool {
        if self.backing_off.remove(&request).is_some() {
            ctx.cancel_timer(PaxosLogTimer::Retry(request));
            return true;
        }
        let live: Vec<Correlation> = self
            .rounds
            .iter()
            .filter(|(_, p)| p.request == request)
            .map(|(c, _)| c)
            .collect();
        let mut found = self.own_at.values().any(|r| *r == request);
        for correlation in live {
            self.rounds.remove(ctx, correlation);
            found = true;
        }
        self.own_at.retain(|_, r| *r != request);
        found
    }

    fn on_promise(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        correlation: Correlation,
        accepted: Option<Accepted<Command>>,
    ) {
        if let Some(a) = &accepted {
            self.clock.observe(a.ballot);
        }
        let Some(proposal) = self.rounds.get_mut(correlation) else {
            return; // an answer to an attempt that is over
        };
        let Phase::Prepare(promises) = &mut proposal.phase else {
            return; // a late promise
        };
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
        let Some(proposal) = self.rounds.get_mut(correlation) else {
            return;
        };
        let Phase::Accept { quorum, .. } = &mut proposal.phase else {
            return;
        };
        if quorum.record(from, (), true) != QuorumState::Reached {
            return;
        }
        let Phase::Accept { command, .. } = &proposal.phase else {
            unreachable!("matched above")
        };
        let command = command.clone();
        let (index, ballot, request) = (proposal.index, proposal.ballot, proposal.request);
        let own = self.config.identity.is_own(&command, &proposal.own);
        ctx.annotate(format!("chosen [{index}] {command} in {ballot}"));
        ctx.broadcast(PaxosLogMessage::Commit {
            index,
            ballot,
            command: command.clone(),
        });
        if own && index <= self.log.applied() {
            // Chosen and applied here long ago (a walk from the start found its own request):
            // the store kept the answer.
            self.rounds.remove(ctx, correlation);
            let reply = command
                .request()
                .and_then(|r| self.log.store().answered(r).cloned());
            if let Some(reply) = reply {
                ctx.reply(request, reply);
            }
            return;
        }
        if own {
            self.own_at.insert(index, request);
        }
        // Applying may answer the request (and end its proposal) if it was chosen somewhere.
        self.learn(ctx, index, command);
        let Some(mut proposal) = self.rounds.remove(ctx, correlation) else {
            return; // answered while applying
        };
        if own {
            return; // answered once the index is applied
        }
        // Another command holds this index: try the next one, with fresh attempts.
        proposal.index += 1;
        proposal.attempt = 1;
        self.start_attempt(ctx, proposal);
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
        let Some(proposal) = self.rounds.get_mut(correlation) else {
            return;
        };
        let state = match &mut proposal.phase {
            Phase::Prepare(q) => q.record(from, None, false),
            Phase::Accept { quorum, .. } => quorum.record(from, (), false),
        };
        if state == QuorumState::Impossible {
            let proposal = self.rounds.remove(ctx, correlation).expect("present above");
            let why = match promised {
                Some(p) => format!("refused: {p} was promised"),
                None => "refused".to_string(),
            };
            self.retry(ctx, proposal, &why);
        }
    }

    // ----- acceptor ------------------------------------------------------------------------------

    fn on_prepare(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        (correlation, index, ballot): (Correlation, u64, Ballot),
    ) {
        let promised = self.promises.get(&index).copied();
        if !may_promise(promised, ballot) {
            let nack = PaxosLogMessage::Nack {
                correlation,
                index,
                ballot,
                promised,
            };
            ctx.send(from, nack);
            return;
        }
        self.promises.insert(index, ballot);
        Self::persist(
            ctx,
            &Record::Promise {
                index: Some(index),
                ballot,
            },
        );
        let accepted = self.log.entry(index).and_then(|e| e.accepted.clone());
        let promise = PaxosLogMessage::Promise {
            correlation,
            index,
            ballot,
            accepted,
        };
        ctx.send_when_durable(from, promise);
    }

    fn on_accept(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        (correlation, index, ballot): (Correlation, u64, Ballot),
        command: Command,
    ) {
        let promised = self.promises.get(&index).copied();
        if !may_accept(promised, ballot) {
            let nack = PaxosLogMessage::Nack {
                correlation,
                index,
                ballot,
                promised,
            };
            ctx.send(from, nack);
            return;
        }
        self.promises.insert(index, ballot);
        self.log.accept(index, ballot, command.clone());
        Self::persist(
            ctx,
            &Record::Accept {
                index,
                ballot,
                command,
            },
        );
        let accepted = PaxosLogMessage::Accepted {
            correlation,
            index,
            ballot,
        };
        ctx.send_when_durable(from, accepted);
    }
}

impl Node for PaxosLog {
    type Message = PaxosLogMessage;
    type Timer = PaxosLogTimer;
    type Operation = KvOp;

    /// A (re)started replica is what its disk holds: promises, accepted values, chosen values,
    /// and the chosen prefix applied again.
    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match replay(ctx.storage()) {
            Ok((log, promises)) => {
                self.log = log;
                self.promises = promises
                    .into_iter()
                    .filter_map(|(index, ballot)| Some((index?, ballot)))
                    .collect();
                for ballot in self.promises.values() {
                    self.clock.observe(*ballot);
                }
            }
            Err(e) => {
                // Without its promises an acceptor must not vote.
                ctx.annotate(format!("unavailable: {e}"));
                self.unavailable = Some(e.to_string());
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: KvOp) {
        if let Some(why) = &self.unavailable {
            let reply = KvReply::Failed {
                reason: why.clone(),
                maybe_applied: false,
            };
            ctx.reply(request, reply);
            return;
        }
        if let Some(reply) = self.log.store().answered(request) {
            ctx.reply(request, reply.clone()); // a retry of a request already applied
            return;
        }
        let in_flight = self.backing_off.contains_key(&request)
            || self.own_at.values().any(|r| *r == request)
            || self.rounds.iter().any(|(_, p)| p.request == request);
        if in_flight {
            return; // a duplicate of a request this node is already proposing
        }
        let own = Command::Op { request, op };
        let proposal = Proposal {
            request,
            own,
            index: start_index(self.config.start, self.log.first_unchosen()),
            attempt: 1,
            ballot: Ballot::unsigned(0),
            phase: Phase::Prepare(Quorum::majority(ctx.cluster_size())),
            sent_own: false,
        };
        self.start_attempt(ctx, proposal);
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        message: PaxosLogMessage,
    ) {
        if self.unavailable.is_some() {
            return;
        }
        match message {
            PaxosLogMessage::Prepare {
                correlation,
                index,
                ballot,
            } => self.on_prepare(ctx, from, (correlation, index, ballot)),
            PaxosLogMessage::Accept {
                correlation,
                index,
                ballot,
                command,
            } => self.on_accept(ctx, from, (correlation, index, ballot), command),
            PaxosLogMessage::Promise {
                correlation,
                accepted,
                ..
            } => self.on_promise(ctx, from, correlation, accepted),
            PaxosLogMessage::Accepted { correlation, .. } => {
                self.on_accepted(ctx, from, correlation)
            }
            PaxosLogMessage::Nack {
                correlation,
                promised,
                ..
            } => self.on_nack(ctx, from, correlation, promised),
            PaxosLogMessage::Commit { index, command, .. } => self.learn(ctx, index, command),
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: PaxosLogTimer) {
        let PaxosLogTimer::Retry(request) = timer;
        if let Some(proposal) = self.backing_off.remove(&request) {
            self.start_attempt(ctx, proposal);
        }
    }

    fn on_expired(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        if let Some(proposal) = self.rounds.take_expired(correlation) {
            self.retry(ctx, proposal, "no majority answered in time");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::kv::KvOp;

    fn command(client: u16, sequence: u64, op: KvOp) -> Command {
        Command::Op {
            request: RequestId {
                client: ProcessId(client),
                sequence,
            },
            op,
        }
    }

    #[test]
    fn a_proposer_starts_at_the_first_index_not_known_chosen() {
        // (start rule, first index not known chosen, where the proposer starts)
        let table = [
            (Start::FirstUnchosen, 1, 1),
            (Start::FirstUnchosen, 7, 7),
            (Start::Beginning, 7, 1), // the reference: every request walks from the start
            (Start::FirstUnchosen, 0, 1),
        ];
        for (start, first, expected) in table {
            assert_eq!(start_index(start, first), expected, "{start:?} {first}");
        }
    }

    #[test]
    fn a_chosen_value_is_mine_only_if_it_carries_my_request() {
        let mine = command(7, 1, KvOp::write("x", "v1"));
        // (chosen, mine by request id?, mine by structure?)
        let table = [
            (mine.clone(), true, true),
            (command(8, 1, KvOp::write("x", "v1")), false, true), // another client's equal write
            (command(7, 1, KvOp::write("x", "v2")), true, false), // cannot happen: one request, one op
            (command(7, 2, KvOp::write("x", "v1")), false, true), // the same client's next request
            (Command::NoOp, false, false),
        ];
        for (chosen, by_id, by_structure) in table {
            assert_eq!(is_own(&chosen, &mine), by_id, "{chosen:?}");
            assert_eq!(
                is_own_structurally(&chosen, &mine),
                by_structure,
                "{chosen:?}"
            );
        }
        assert!(
            !is_own(&Command::NoOp, &Command::NoOp),
            "a no-op is nobody's"
        );
    }

    #[test]
    fn every_variant_name_has_a_form() {
        for name in VARIANTS {
            assert!(Config::variant(name).is_some(), "{name}");
        }
        assert!(Config::variant("no-such-form").is_none());
    }
}
