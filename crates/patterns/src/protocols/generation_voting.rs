//! # Generation voting: unique, increasing generations by majority vote
//!
//! *Patterns of Distributed Systems*: **Generation Clock**, **Quorum**; Paxos's first phase
//! without values (Lamport, "Paxos Made Simple", 2001, §2.2). Reference: spec §2.7.
//!
//! A cluster needs numbers that only go up and are never handed out twice: generations (or
//! epochs, or terms) that fence off a deposed leader, as the three-phase commit lesson found. One
//! server cannot hand them out (it may crash), so a *coordinator* asks for a majority's vote: it
//! proposes a generation ([`Ballot`]), and every server promises it only if it is higher than any
//! generation it promised before ([`may_promise`](super::paxos::may_promise)). With promises from a majority the generation
//! is the coordinator's. Any two majorities share a server, and that server promises each
//! generation at most once and only in increasing order, so no two coordinators win the same
//! generation, and a generation won after another was won is higher.
//!
//! The rule in one sentence: promise only a generation higher than every one you promised, and
//! keep the promise on disk before you say so.
//!
//! Switches ([`Config`]) give the correct form and the broken variants: promises kept in memory
//! only ([`Persistence::MemoryOnly`], `no-persist`: a restarted server promises again what it
//! promised before its crash), promises answered before they are synced (`reply-before-persist`),
//! and a promise to an *equal* generation ([`Promising::NonStrict`], `non-strict`), which with the
//! reference's unsigned per-server counters lets two coordinators win the same generation.
//!
//! Fixed from the reference (spec §5.2 item 6): generations are ballots (round, server id), unique
//! across servers; a refused coordinator jumps past the highest generation it saw and retries
//! after a random backoff; an attempt that won after a newer one started answers its client (the
//! reference left it to time out); a coordinator out of attempts says so; and promises are
//! persisted (the reference kept them in memory, though its TLA+ comments assume they are not).

use super::paxos::{
    Ballot, BallotRule, Duel, GenerationClock, PROMISE_CASES, Persistence, PromiseRule, Promising,
    backoff_ticks, duel_with, last_record, save_record,
};
use crate::check::{self, HistoryError, Report, TicketDispenser};
use crate::explore::{Explorable, Factory, Operations, Variant};
use crate::history::{EventType, History, Value};
use crate::message_kinds;
use crate::node::{
    Context, Correlation, Node, Operation, Pending, ProcessId, Quorum, QuorumState, RequestId, Tick,
};
use crate::sim::{
    Builder, Latency, NemesisConfig, Observer, RunPlan, SimError, Simulation, node_name,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ----- what clients ask ----------------------------------------------------------------------------

/// A client asks a server for a new generation (the reference's `NEXT_GENERATION_REQUEST`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextGeneration;

/// What the coordinator answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GenerationReply {
    /// A majority promised this generation to this coordinator.
    Generation(Ballot),
    /// No majority promised any of the coordinator's attempts.
    Failed { reason: String },
}

impl Operation for NextGeneration {
    type Reply = GenerationReply;

    /// `:next`, as a ticket dispenser records it ([`TicketDispenser`]).
    fn invocation(&self) -> (&'static str, Value) {
        ("next", Value::Nil)
    }

    fn completion(&self, reply: &GenerationReply) -> (EventType, Value) {
        match reply {
            GenerationReply::Generation(ballot) => (EventType::Ok, ballot.to_value()),
            // Nobody was handed the generations it tried: as if it never happened.
            GenerationReply::Failed { .. } => (EventType::Fail, Value::Nil),
        }
    }

    fn is_read_only(&self) -> bool {
        false
    }
}

// ----- configuration -------------------------------------------------------------------------------

/// The knobs of generation voting: the correct form by default, a broken variant by switch.
#[derive(Copy, Clone, Debug)]
pub struct Config {
    pub promising: Promising,
    pub persistence: Persistence,
    pub ballots: BallotRule,
    /// Generations a coordinator tries for one request before it gives up.
    pub attempts_max: u32,
    /// How long a coordinator waits for a majority's answers to one attempt.
    pub round_timeout_ticks: Tick,
    /// A refused coordinator waits a random 1..=this × attempt ticks before its next attempt.
    pub backoff_ticks_max: Tick,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            promising: Promising::Strict,
            persistence: Persistence::SyncThenReply,
            ballots: BallotRule::Unique,
            attempts_max: 6,
            round_timeout_ticks: 20,
            backoff_ticks_max: 6,
        }
    }
}

impl Config {
    pub fn promising(mut self, promising: Promising) -> Config {
        self.promising = promising;
        self
    }

    pub fn persistence(mut self, persistence: Persistence) -> Config {
        self.persistence = persistence;
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

/// Coordinator ↔ voter messages, named as Paxos's first phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GenerationMessage {
    /// Promise me `ballot`.
    Prepare {
        correlation: Correlation,
        ballot: Ballot,
    },
    /// Promised.
    Promise {
        correlation: Correlation,
        ballot: Ballot,
    },
    /// Refused, because `promised` was promised: the coordinator jumps past it.
    Nack {
        correlation: Correlation,
        ballot: Ballot,
        promised: Option<Ballot>,
    },
}

message_kinds!(GenerationMessage => GenerationKind { Prepare, Promise, Nack });

/// A coordinator's timer: the next attempt for a request, after its backoff.
#[derive(Clone, PartialEq, Eq)]
pub enum GenerationTimer {
    Retry(RequestId),
}

/// Short, because diagrams label a timer with it.
impl std::fmt::Debug for GenerationTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let GenerationTimer::Retry(request) = self;
        write!(f, "retry #{}", request.sequence)
    }
}

// ----- the node ------------------------------------------------------------------------------------

/// One client request this node coordinates, across its attempts.
#[derive(Clone, Debug)]
struct Attempt {
    request: RequestId,
    attempt: u32,
    ballot: Ballot,
    promises: Quorum<()>,
}

/// A server: a voter that promises generations, and a coordinator for its clients' requests.
#[derive(Clone, Debug)]
pub struct GenerationVoting {
    config: Config,
    /// Voter: the highest generation promised (durable unless `no-persist`).
    promised: Option<Ballot>,
    /// Coordinator.
    clock: GenerationClock,
    attempts: Pending<Attempt>,
    backing_off: BTreeMap<RequestId, Attempt>,
    /// The latest generation this node won (it leads that generation).
    elected: Option<Ballot>,
    /// Why this node cannot vote (its storage is unreadable).
    unavailable: Option<String>,
}

impl GenerationVoting {
    pub fn new(config: Config) -> GenerationVoting {
        GenerationVoting {
            clock: GenerationClock::new(config.ballots),
            config,
            promised: None,
            attempts: Pending::new(),
            backing_off: BTreeMap::new(),
            elected: None,
            unavailable: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The highest generation this node promised (in memory: its disk may lag behind).
    pub fn promised(&self) -> Option<Ballot> {
        self.promised
    }

    /// The round of the highest generation promised, 0 before any: the reference's `generation`.
    pub fn generation(&self) -> u64 {
        self.promised.map_or(0, |b| b.round)
    }

    /// The latest generation this node won as coordinator.
    pub fn elected(&self) -> Option<Ballot> {
        self.elected
    }

    /// Generations this node's coordinator tried since it (re)started.
    pub fn ballots_used(&self) -> u64 {
        self.clock.attempts()
    }

    /// Requests this node coordinates that are not answered yet.
    pub fn requests_in_flight(&self) -> usize {
        self.attempts.len() + self.backing_off.len()
    }

    fn start_attempt(&mut self, ctx: &mut Context<'_, Self>, mut attempt: Attempt) {
        if let Some(promised) = self.promised {
            self.clock.observe(promised);
        }
        attempt.ballot = self.clock.next(ctx.id());
        attempt.promises = Quorum::majority(ctx.cluster_size());
        let ballot = attempt.ballot;
        ctx.annotate(format!("prepare {ballot}"));
        let correlation = self
            .attempts
            .insert(ctx, self.config.round_timeout_ticks, attempt);
        let prepare = GenerationMessage::Prepare {
            correlation,
            ballot,
        };
        ctx.broadcast(prepare.clone());
        ctx.send(ctx.id(), prepare);
    }

    /// The attempt failed: wait and try a higher generation, or give up after the last attempt.
    fn retry(&mut self, ctx: &mut Context<'_, Self>, mut attempt: Attempt, why: &str) {
        if attempt.attempt >= self.config.attempts_max {
            ctx.annotate(format!("give up: {why}"));
            let reason = format!("no majority after {} attempts ({why})", attempt.attempt);
            ctx.reply(attempt.request, GenerationReply::Failed { reason });
            return;
        }
        attempt.attempt += 1;
        let wait = backoff_ticks(ctx.rng(), self.config.backoff_ticks_max, attempt.attempt);
        ctx.set_timer(GenerationTimer::Retry(attempt.request), wait);
        self.backing_off.insert(attempt.request, attempt);
    }

    /// The voter's side: promise if the rule allows, keep it on disk, and say so.
    fn on_prepare(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        correlation: Correlation,
        ballot: Ballot,
    ) {
        if !self.config.promising.allows(self.promised, ballot) {
            let promised = self.promised;
            let nack = GenerationMessage::Nack {
                correlation,
                ballot,
                promised,
            };
            ctx.send(from, nack);
            return;
        }
        self.promised = Some(ballot);
        ctx.annotate(format!("promise {ballot}"));
        let promise = GenerationMessage::Promise {
            correlation,
            ballot,
        };
        match self.config.persistence {
            Persistence::SyncThenReply => {
                save_record(ctx.storage(), &self.promised);
                ctx.send_when_durable(from, promise);
            }
            Persistence::ReplyThenSync => {
                save_record(ctx.storage(), &self.promised);
                ctx.sync();
                ctx.send(from, promise);
            }
            Persistence::MemoryOnly => ctx.send(from, promise),
        }
    }

    fn on_answer(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        correlation: Correlation,
        refused_for: Option<Option<Ballot>>,
    ) {
        if let Some(Some(promised)) = refused_for {
            self.clock.observe(promised);
        }
        let Some(attempt) = self.attempts.get_mut(correlation) else {
            return; // an answer to an attempt that is over
        };
        match attempt.promises.record(from, (), refused_for.is_none()) {
            QuorumState::Waiting => {}
            QuorumState::Reached => {
                let attempt = self.attempts.remove(ctx, correlation).expect("present");
                let ballot = attempt.ballot;
                ctx.annotate(format!("won {ballot}"));
                self.elected = self.elected.max(Some(ballot));
                ctx.reply(attempt.request, GenerationReply::Generation(ballot));
            }
            QuorumState::Impossible => {
                let attempt = self.attempts.remove(ctx, correlation).expect("present");
                let why = match refused_for.flatten() {
                    Some(p) => format!("refused: {p} was promised"),
                    None => "refused".to_string(),
                };
                ctx.annotate(format!("{} {why}", attempt.ballot));
                self.retry(ctx, attempt, &why);
            }
        }
    }
}

impl Node for GenerationVoting {
    type Message = GenerationMessage;
    type Timer = GenerationTimer;
    type Operation = NextGeneration;

    /// A (re)started voter promises nothing below what its disk holds.
    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match last_record::<Option<Ballot>>(ctx.storage()) {
            Ok(promised) => self.promised = promised.flatten(),
            Err(e) => {
                // Without its promise a voter cannot know what it may promise: it must not vote.
                ctx.annotate(format!("unavailable: {e}"));
                self.unavailable = Some(e.to_string());
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, _: NextGeneration) {
        if let Some(reason) = &self.unavailable {
            let reason = reason.clone();
            ctx.reply(request, GenerationReply::Failed { reason });
            return;
        }
        let in_flight = self.backing_off.contains_key(&request)
            || self.attempts.iter().any(|(_, a)| a.request == request);
        if in_flight {
            return; // a duplicate of a request this node is already serving
        }
        let attempt = Attempt {
            request,
            attempt: 1,
            ballot: Ballot::unsigned(0),
            promises: Quorum::majority(ctx.cluster_size()),
        };
        self.start_attempt(ctx, attempt);
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        message: GenerationMessage,
    ) {
        if self.unavailable.is_some() {
            return;
        }
        match message {
            GenerationMessage::Prepare {
                correlation,
                ballot,
            } => self.on_prepare(ctx, from, correlation, ballot),
            GenerationMessage::Promise { correlation, .. } => {
                self.on_answer(ctx, from, correlation, None)
            }
            GenerationMessage::Nack {
                correlation,
                promised,
                ..
            } => self.on_answer(ctx, from, correlation, Some(promised)),
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: GenerationTimer) {
        let GenerationTimer::Retry(request) = timer;
        if let Some(attempt) = self.backing_off.remove(&request) {
            self.start_attempt(ctx, attempt);
        }
    }

    fn on_expired(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        if let Some(attempt) = self.attempts.take_expired(correlation) {
            ctx.annotate(format!("{} timed out", attempt.ballot));
            self.retry(ctx, attempt, "no majority answered in time");
        }
    }
}

// ----- exploration ---------------------------------------------------------------------------------

/// Generation voting for `patterns explore generation-voting`: every fault but clock skew, syncs
/// of 5 ticks, every history judged against a ticket dispenser. [`Explorer::with_promise_rule`]
/// runs the `non-strict` set-up with another "may I promise?" rule: a lesson's exercise plugs the
/// learner's function in and replays a seed that catches `non-strict`.
#[derive(Copy, Clone, Debug, Default)]
pub struct Explorer {
    promise_rule: Option<PromiseRule>,
}

/// A slow disk, so that crashes land between a voter's write and its sync.
const SYNC_TICKS: Tick = 5;

impl Explorer {
    /// The reference's unsigned per-server counters, with `rule` deciding what to promise (the
    /// `non-strict` set-up, where only the rule stands between two coordinators and one
    /// generation).
    pub fn with_promise_rule(rule: PromiseRule) -> Explorer {
        Explorer {
            promise_rule: Some(rule),
        }
    }

    /// The configuration of a variant.
    pub fn config(&self, variant: &str) -> Config {
        let correct = Config::default();
        let reference_counters = correct.ballots(BallotRule::PerServerCounter);
        match (variant, self.promise_rule) {
            (_, Some(rule)) => reference_counters.promising(Promising::Rule(rule)),
            ("no-persist", None) => correct.persistence(Persistence::MemoryOnly),
            ("reply-before-persist", None) => correct.persistence(Persistence::ReplyThenSync),
            ("non-strict", None) => reference_counters.promising(Promising::NonStrict),
            _ => correct,
        }
    }
}

impl Explorable for Explorer {
    type Node = GenerationVoting;

    fn name(&self) -> &'static str {
        "generation-voting"
    }

    fn summary(&self) -> &'static str {
        "generations by majority vote (Paxos phase 1): unique, increasing, durable promises"
    }

    fn variants(&self) -> Vec<Variant> {
        let variant = Variant::new;
        vec![
            variant(
                "correct",
                "promise strictly higher generations, (round, server id) ballots, sync before promising",
                false,
                None,
            ),
            variant(
                "no-persist",
                "promises in memory only: a restarted voter promises a lower generation again",
                true,
                Some(NO_PERSIST_SEED),
            ),
            variant(
                "reply-before-persist",
                "promises answered before they are synced: a crash takes one back",
                true,
                Some(REPLY_BEFORE_PERSIST_SEED),
            ),
            variant(
                "non-strict",
                "promise an equal generation too, with the reference's unsigned per-server counters: two coordinators win one generation",
                true,
                Some(NON_STRICT_SEED),
            ),
        ]
    }

    fn builder(&self, _variant: &Variant) -> Builder {
        Builder::new()
            .clients(["alice", "bob", "carol", "dave"])
            .latency(Latency::Uniform { min: 1, max: 4 })
            .sync_latency_ticks(SYNC_TICKS)
            .client_timeout_ticks(400)
    }

    fn node(&self, variant: &Variant) -> Factory<GenerationVoting> {
        let config = self.config(variant.name);
        Box::new(move |_| GenerationVoting::new(config))
    }

    fn operations(&self, _variant: &Variant) -> Operations<GenerationVoting> {
        Box::new(|_| NextGeneration)
    }

    fn plan(&self, _variant: &Variant) -> RunPlan {
        RunPlan {
            ticks: 150,
            settle_ticks: 1_000,
            // Every fault but clock skew (no rule here reads a clock); crashed voters are back
            // within 2–20 ticks, while the votes they took part in are still running.
            nemesis: Some(NemesisConfig {
                restart_after_ticks: (2, 20),
                clock_skew_millis_max: 0,
                ..NemesisConfig::everything()
            }),
        }
    }

    fn invariants(&self, _variant: &Variant) -> Option<Observer<GenerationVoting>> {
        let mut promises = super::paxos::PromiseWatch::default();
        let mut winners: BTreeMap<Ballot, usize> = BTreeMap::new();
        Some(Box::new(move |sim: &Simulation<GenerationVoting>| {
            let names = sim.node_names();
            for (i, node) in sim.nodes().enumerate() {
                let name = names[i].as_str();
                let storage = sim.storage(name).map_err(|e| e.to_string())?;
                let durable = storage
                    .durable_log()
                    .last()
                    .and_then(|bytes| serde_json::from_slice::<Option<Ballot>>(bytes).ok())
                    .flatten();
                let at_once =
                    node.is_some_and(|n| n.config.persistence != Persistence::SyncThenReply);
                promises.observe((i, name), durable, node.map(|n| n.promised), at_once)?;
                let Some(won) = node.and_then(|n| n.elected) else {
                    continue;
                };
                match winners.get(&won) {
                    Some(&other) if other != i => {
                        return Err(format!(
                            "at most one coordinator wins a generation: {} and {name} both won {won}",
                            names[other]
                        ));
                    }
                    Some(_) => {}
                    None => {
                        winners.insert(won, i);
                    }
                }
            }
            Ok(())
        }))
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check::linearizable(history, &TicketDispenser)
    }
}

// ----- cost ----------------------------------------------------------------------------------------

/// `coordinators` clients ask for a generation at once, each through its own node of a
/// `nodes`-node cluster (latencies of 1–4 ticks drawn from `seed`): how many rounds and messages
/// the contest costs.
pub fn duel(
    config: Config,
    nodes: usize,
    coordinators: usize,
    seed: u64,
) -> Result<Duel, SimError> {
    let builder = Builder::new()
        .nodes((0..nodes).map(node_name))
        .latency(Latency::Uniform { min: 1, max: 4 })
        .client_timeout_ticks(2_000)
        .seed(seed);
    duel_with(
        builder,
        move |_| GenerationVoting::new(config),
        vec![NextGeneration; coordinators],
        GenerationVoting::ballots_used,
        |reply| matches!(reply, GenerationReply::Failed { .. }),
    )
}

// ----- exercise ------------------------------------------------------------------------------------

/// The seed on which `non-strict` first fails.
pub fn non_strict_seed() -> u64 {
    NON_STRICT_SEED
}

/// Judges a "may I promise?" rule written in the lesson: every row of the crate's table
/// ([`PROMISE_CASES`]), then a replay of the explorer's seed that catches `non-strict`, with the
/// rule in every voter. Never panics (the rule runs through [`crate::exercise::attempt`]): the
/// answer is `right: …`, or `not yet: …` and why.
pub fn check_promise_rule(rule: PromiseRule) -> Result<String, String> {
    for &(promised, ballot, expected, why) in PROMISE_CASES {
        let said = crate::exercise::attempt(|| rule(promised, ballot))
            .map_err(|why| format!("not yet: your rule panics ({why}): write its body"))?;
        if said != expected {
            let promised = promised.map_or("nothing".to_string(), |p| p.to_string());
            let verb = if expected { "promise" } else { "refuse" };
            return Err(format!(
                "not yet: a voter that promised {promised} must {verb} {ballot} ({why}), and your \
                 rule says {}",
                !expected
            ));
        }
    }
    let settings = crate::explore::Settings::first_failure(NON_STRICT_SEED, 1);
    let explorer = Explorer::with_promise_rule(rule);
    let found =
        crate::exercise::attempt(|| crate::explore::search(&explorer, "correct", &settings))
            .map_err(|why| format!("not yet: your rule panics in the explorer's run ({why})"))?
            .map_err(|e| format!("not yet: the explorer could not run: {e}"))?;
    if let Some((_, property)) = found.failures.first() {
        return Err(format!(
            "not yet: every row of the table passes, but explorer seed {NON_STRICT_SEED} still \
             fails: {property}"
        ));
    }
    Ok(format!(
        "right: the {} rows of the table, and explorer seed {NON_STRICT_SEED}, where promising an \
         equal generation lets two coordinators win it",
        PROMISE_CASES.len()
    ))
}

// ----- stories -------------------------------------------------------------------------------------

/// The lesson's stories as scenarios, to tell the correct form and a broken variant alike.
pub mod stories {
    use super::{GenerationReply, GenerationVoting, NextGeneration};
    use crate::protocols::paxos::Ballot;
    use crate::sim::{Scenario, ScenarioRun};

    /// The generation the client's latest request won, if it won one.
    pub fn won(run: &ScenarioRun<GenerationVoting>, client: &str) -> Option<Ballot> {
        match run.last_reply(client)? {
            GenerationReply::Generation(ballot) => Some(*ballot),
            GenerationReply::Failed { .. } => None,
        }
    }

    /// A promise forgotten in a crash. cyrene wins a generation with athens's vote while
    /// byzantium is cut off; athens crashes and restarts; then byzantium, which never heard of
    /// that generation, asks athens while cyrene is cut off. A voter that kept its promise on disk
    /// refuses byzantium's lower generation, and byzantium comes back with a higher one. One that
    /// kept it in memory (`no-persist`) promises the lower one: byzantium wins a generation lower
    /// than one already won, and a deposed leader can no longer be fenced off.
    pub fn forgotten_promise() -> Scenario<GenerationVoting> {
        Scenario::new("a promise forgotten in a crash")
            .isolate("byzantium")
            .invoke("alice", "cyrene", NextGeneration)
            .crash("athens")
            .restart("athens")
            .heal_all()
            .isolate("cyrene")
            .invoke("bob", "byzantium", NextGeneration)
    }

    /// Two coordinators at once: `alice` asks athens and `bob` asks cyrene in the same tick. With
    /// the reference's unsigned counters both propose generation 1; only strict promises keep
    /// byzantium from promising it to both.
    pub fn two_coordinators() -> Scenario<GenerationVoting> {
        Scenario::new("two coordinators at once")
            .start("alice", "athens", NextGeneration)
            .start("bob", "cyrene", NextGeneration)
            .await_op("alice")
            .await_op("bob")
    }
}

/// The first failing seed of each broken variant, searching from seed 0.
const NO_PERSIST_SEED: u64 = 4;
const REPLY_BEFORE_PERSIST_SEED: u64 = 0;
const NON_STRICT_SEED: u64 = 0;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::paxos::may_promise;

    #[test]
    fn the_exercise_passes_the_strict_rule_only() {
        assert!(
            check_promise_rule(may_promise)
                .unwrap()
                .starts_with("right:")
        );
        let unanswered: PromiseRule = |_, _| todo!();
        assert!(
            check_promise_rule(unanswered)
                .unwrap_err()
                .contains("panics")
        );
        let answer = check_promise_rule(crate::protocols::paxos::may_promise_or_equal).unwrap_err();
        assert!(answer.contains("at most once"), "{answer}");
        let anything = |_: Option<Ballot>, _: Ballot| true;
        assert!(
            check_promise_rule(anything)
                .unwrap_err()
                .starts_with("not yet:")
        );
    }

    #[test]
    fn the_rules_a_voter_and_a_coordinator_follow() {
        let b = |round, node| Ballot::new(round, ProcessId(node));
        // (promised before, generation asked, promised now?)
        let table = [
            (None, b(1, 0), true),
            (Some(b(1, 0)), b(1, 0), false), // a generation is promised at most once
            (Some(b(1, 0)), b(1, 2), true),  // same round, another coordinator: a new generation
            (Some(b(4, 2)), b(3, 1), false), // never back down
        ];
        for (promised, asked, expected) in table {
            assert_eq!(
                may_promise(promised, asked),
                expected,
                "{promised:?} then {asked}"
            );
        }
        // The reference's worked example (spec §3.5 #1): 3 proposed, 4 seen, 5 retried.
        let mut clock = GenerationClock::new(BallotRule::Unique);
        clock.observe(b(2, 1));
        assert_eq!(clock.next(ProcessId(1)), b(3, 1));
        clock.observe(b(4, 2));
        assert_eq!(clock.next(ProcessId(1)), b(5, 1));
    }
}
