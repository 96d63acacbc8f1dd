//! # Multi-Paxos, and Multi-Paxos with heartbeats
//!
//! Lamport, "Paxos Made Simple" (2001), §3; *Patterns of Distributed Systems*: **Paxos**,
//! **Replicated Log**, **Leader and Followers**, **HeartBeat**, **Generation Clock**, **High-Water
//! Mark**. Reference: spec §2.10 and §2.11.
//!
//! The Paxos log ([`super::paxos_log`]) runs both phases for every index: four message delays and
//! two disk syncs per command, and proposers that collide at every index. Multi-Paxos makes one
//! proposer the *leader*: it runs phase 1 once, for every index from the first it does not know
//! chosen (a *full-log prepare*), and then only phase 2 for each new command. One prepare, many
//! accepts.
//!
//! What the leader learns from the promises is the whole difficulty. Some indexes were accepted
//! by earlier leaders and may be chosen; some are holes. So, before proposing anything new, the
//! leader, for every index from where it asked ([`recover`]):
//! - **re-proposes** the value accepted in the highest ballot there (the single-value rule,
//!   [`crate::protocols::paxos::value_to_propose`], index by index), because it may be chosen;
//! - **fills a hole with a no-op**, so that the entries after it can be applied;
//! - then proposes new commands **after the highest index it knows** ([`next_index`]), never over
//!   an entry that may be chosen.
//!
//! A commit names the index and the ballot, not the value ([`value_to_commit`]): a follower
//! commits the value *it accepted in that ballot*, and only that one. A value it accepted from an
//! older leader at the same index may be one that was never chosen.
//!
//! Reads are commands of the log too: a leader that answered reads from its own store would answer
//! from a state that a newer leader may already have overwritten, without knowing it was deposed.
//!
//! Who leads ([`Election`]): elected by hand ([`Election::Manual`], the reference's section 05,
//! where a test calls `startLeaderElection()`), by any node a client asks ([`Election::OnRequest`],
//! the explorer's form of section 05: the leader is whoever was asked last, until pre-empted), or
//! automatically ([`Election::Heartbeats`], section 06): the leader sends heartbeats at an
//! interval; a follower that hears nothing for its election timeout, drawn at random from the
//! node's seeded stream ([`election_timeout`]), campaigns; a higher ballot in any message makes a
//! leader step down.
//!
//! Everything an acceptor promises or accepts is synced before it answers (the records of
//! [`crate::protocols::paxos_log::Record`]); a restarted node replays them.
//!
//! Fixed from the reference (spec §5.2 item 9): a new leader proposes after the highest index it
//! knows (`no-index-advance` keeps the bug); a commit is applied only to the value accepted in its
//! ballot, and never over a chosen entry (`unconditional-commit`); recovery fills holes with
//! no-ops (`no-gap-fill`); heartbeats go out at an interval, not every tick; election timeouts are
//! random, not a stagger by name (`name-sorted-timeouts`); promises and logs are durable.

pub mod cost;
pub mod exercise;
mod explore;
pub mod figures;

pub use explore::Explorer;

use crate::message_kinds;
use crate::node::{
    Context, Correlation, Node, Pending, ProcessId, Quorum, QuorumState, RequestId, Tick,
};
use crate::protocols::kv::{KvOp, KvReply};
use crate::protocols::paxos::{
    Accepted, Ballot, GenerationClock, Proposing, backoff_ticks, may_accept, may_promise,
};
use crate::protocols::paxos_log::{Command, Log, Record, replay, write};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

// ----- the rules -----------------------------------------------------------------------------------

/// What one acceptor reported about one index with its promise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub index: u64,
    /// What it accepted there last, and in which ballot.
    pub accepted: Option<Accepted<Command>>,
    /// The value it knows chosen there.
    pub chosen: Option<Command>,
}

/// What a new leader proposes at one index before anything new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    pub index: u64,
    pub command: Command,
    /// A promise reported it chosen: nothing can change it.
    pub known_chosen: bool,
}

/// Whether a new leader carries accepted values forward.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Recovery {
    /// Re-propose, at each index, the value accepted in the highest ballot.
    #[default]
    HighestAccepted,
    /// Treat an index that was only accepted as empty (`no-recovery`): a value a majority
    /// accepted, chosen without anyone knowing, is overwritten by a no-op.
    Ignore,
}

/// What a new leader does with an index no promise reported.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Gaps {
    /// Propose a no-op there.
    #[default]
    FillWithNoOp,
    /// Leave it (`no-gap-fill`): nothing after the hole can ever be applied.
    Leave,
}

/// Which value must a new leader propose at each index from `from` on, given the promises of a
/// majority? The chosen value where a promise knows it; else the value accepted in the highest
/// ballot ([`Proposing`]: the single-value rule, per index); else a no-op for a hole below the
/// highest index reported (or nothing, with [`Gaps::Leave`]).
pub fn recover(
    from: u64,
    promises: &[Vec<Report>],
    proposing: Proposing<Command>,
    gaps: Gaps,
) -> Vec<Recovered> {
    let mut by_index: BTreeMap<u64, Vec<&Report>> = BTreeMap::new();
    for report in promises.iter().flatten().filter(|r| r.index >= from) {
        by_index.entry(report.index).or_default().push(report);
    }
    let Some(&last) = by_index.keys().next_back() else {
        return Vec::new();
    };
    let mut recovered = Vec::new();
    for index in from..=last {
        let reports = by_index.get(&index).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(chosen) = reports.iter().find_map(|r| r.chosen.clone()) {
            recovered.push(Recovered {
                index,
                command: chosen,
                known_chosen: true,
            });
            continue;
        }
        let accepted: Vec<Option<Accepted<Command>>> =
            reports.iter().map(|r| r.accepted.clone()).collect();
        let command = proposing.choose(&accepted, Command::NoOp);
        let empty = command == Command::NoOp && accepted.iter().all(Option::is_none);
        if empty && gaps == Gaps::Leave {
            continue;
        }
        recovered.push(Recovered {
            index,
            command,
            known_chosen: false,
        });
    }
    recovered
}

/// Where a new leader's log continues.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum IndexAdvance {
    /// After the highest index it knows or recovered.
    #[default]
    PastRecovered,
    /// At index 1, whatever the log holds (`no-index-advance`, the reference's `logIndex`
    /// counter): a new leader proposes over chosen entries.
    FromStart,
}

/// The first index a new leader gives a new command: past everything it asked about (`from` is
/// its first index not known chosen) and everything it recovered.
pub fn next_index(advance: IndexAdvance, from: u64, recovered: &[Recovered]) -> u64 {
    match advance {
        IndexAdvance::PastRecovered => recovered
            .iter()
            .map(|r| r.index + 1)
            .max()
            .unwrap_or(from)
            .max(from),
        IndexAdvance::FromStart => 1,
    }
}

/// "Which value does this commit choose?" as a function a lesson can replace.
pub type CommitRule = fn(accepted: Option<&Accepted<Command>>, ballot: Ballot) -> Option<Command>;

/// How a follower treats a commit.
#[derive(Copy, Clone, Debug, Default)]
pub enum Committing {
    /// Commit the value accepted in the commit's ballot, if that is the one held.
    #[default]
    SameBallot,
    /// Commit whatever was accepted at the index (`unconditional-commit`).
    Unconditional,
    /// Any rule with the same signature (a learner's answer to an exercise).
    Rule(CommitRule),
}

/// Which value does a commit of `index` in `ballot` choose, given what this follower accepted
/// there? The value accepted in that very ballot: a leader proposes one value per index in its
/// ballot, so that is the one a majority accepted. A value from another ballot is not known to be
/// chosen; `None` waits for the matching accept.
pub fn value_to_commit(
    committing: Committing,
    accepted: Option<&Accepted<Command>>,
    ballot: Ballot,
) -> Option<Command> {
    match (committing, accepted) {
        (Committing::SameBallot, Some(a)) if a.ballot == ballot => Some(a.value.clone()),
        (Committing::Unconditional, Some(a)) => Some(a.value.clone()),
        (Committing::Rule(rule), accepted) => rule(accepted, ballot),
        _ => None,
    }
}

/// Who starts an election.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Election {
    /// Only a hand on the node ([`MultiPaxosTimer::Elect`] fired by a test or a lesson).
    Manual,
    /// Any node a client asks while it does not lead; it queues the request and campaigns.
    OnRequest,
    /// A follower whose election timeout passes without a heartbeat from a leader.
    Heartbeats {
        /// A leader sends heartbeats every this many ticks.
        interval_ticks: Tick,
        timeouts: Timeouts,
    },
}

/// How long a follower waits for a leader before it campaigns.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Timeouts {
    /// A fresh random draw in `min..=max` every time the timer is set: two followers rarely time
    /// out together, and if they do (a split vote) they draw again (Raft §5.2).
    Random { min: Tick, max: Tick },
    /// The reference's: `base + step × rank`, rank the node's place in the cluster (alphabetical
    /// with the workshop's names). Deterministic: the same node always wins, and if it is slow,
    /// the next waits a whole step more.
    NameSorted { base: Tick, step: Tick },
}

/// The election timeout of the node of rank `rank`, drawn from its seeded stream.
pub fn election_timeout(timeouts: Timeouts, rng: &mut ChaCha8Rng, rank: usize) -> Tick {
    match timeouts {
        Timeouts::Random { min, max } => rng.random_range(min..=max.max(min)),
        Timeouts::NameSorted { base, step } => base + step * rank as Tick,
    }
}

// ----- configuration -------------------------------------------------------------------------------

/// The knobs of Multi-Paxos: the correct form by default, a broken variant by switch.
#[derive(Clone, Debug)]
pub struct Config {
    pub election: Election,
    pub proposing: Proposing<Command>,
    pub recovery: Recovery,
    pub gaps: Gaps,
    pub advance: IndexAdvance,
    pub committing: Committing,
    /// A leader answers reads from its own store (`stale-leader-reads`).
    pub local_reads: bool,
    /// How long a prepare or an accept waits for its majority before it is sent again.
    pub round_timeout_ticks: Tick,
    /// A campaign that failed waits a random 1..=this × attempt ticks before the next
    /// ([`Election::OnRequest`]).
    pub backoff_ticks_max: Tick,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            election: Election::Manual,
            proposing: Proposing::HighestAccepted,
            recovery: Recovery::HighestAccepted,
            gaps: Gaps::FillWithNoOp,
            advance: IndexAdvance::PastRecovered,
            committing: Committing::SameBallot,
            local_reads: false,
            round_timeout_ticks: 20,
            backoff_ticks_max: 8,
        }
    }
}

/// The forms of Multi-Paxos by name, the correct one first.
pub const VARIANTS: [&str; 7] = [
    "correct",
    "no-index-advance",
    "unconditional-commit",
    "no-gap-fill",
    "no-recovery",
    "stale-leader-reads",
    "name-sorted-timeouts",
];

impl Config {
    /// Section 06: heartbeats every 10 ticks, a random election timeout of 60 to 120.
    pub fn heartbeats() -> Config {
        Config::default().election(Election::Heartbeats {
            interval_ticks: 10,
            timeouts: Timeouts::Random { min: 60, max: 120 },
        })
    }

    /// The form named `name` ([`VARIANTS`]) of `self`.
    pub fn variant(self, name: &str) -> Option<Config> {
        let mut config = self;
        match name {
            "correct" => {}
            "no-index-advance" => config.advance = IndexAdvance::FromStart,
            "unconditional-commit" => config.committing = Committing::Unconditional,
            "no-gap-fill" => config.gaps = Gaps::Leave,
            "no-recovery" => config.recovery = Recovery::Ignore,
            "stale-leader-reads" => config.local_reads = true,
            "name-sorted-timeouts" => {
                if let Election::Heartbeats { timeouts, .. } = &mut config.election {
                    *timeouts = Timeouts::NameSorted {
                        base: 100,
                        step: 25,
                    };
                }
            }
            _ => return None,
        }
        Some(config)
    }

    pub fn election(mut self, election: Election) -> Config {
        self.election = election;
        self
    }

    pub fn proposing(mut self, proposing: Proposing<Command>) -> Config {
        self.proposing = proposing;
        self
    }
}

// ----- messages ------------------------------------------------------------------------------------

/// Leader ↔ acceptor ↔ learner messages, named as in the paper and the pattern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MultiPaxosMessage {
    /// Phase 1a, once for every index from `from` on: promise me `ballot`.
    Prepare {
        correlation: Correlation,
        ballot: Ballot,
        from: u64,
    },
    /// Phase 1b: promised, with what I accepted or know chosen at every index from `from` on.
    Promise {
        correlation: Correlation,
        ballot: Ballot,
        reports: Vec<Report>,
    },
    /// Phase 2a: accept `command` at `index` in `ballot`.
    Accept {
        correlation: Correlation,
        ballot: Ballot,
        index: u64,
        command: Command,
    },
    /// Phase 2b: accepted.
    Accepted {
        correlation: Correlation,
        ballot: Ballot,
    },
    /// Refused: `promised` was promised.
    Nack {
        correlation: Correlation,
        ballot: Ballot,
        promised: Option<Ballot>,
    },
    /// The value accepted at `index` in `ballot` is chosen.
    Commit { ballot: Ballot, index: u64 },
    /// I still lead in `ballot`, and every index up to `chosen` is chosen.
    Heartbeat { ballot: Ballot, chosen: u64 },
    /// Your heartbeat's ballot is behind `promised`: step down.
    HeartbeatRefused { ballot: Ballot, promised: Ballot },
    /// A follower that missed entries: send me what is chosen from `from` on.
    CatchUp { from: u64 },
    /// Chosen entries, in index order, for a follower that fell behind.
    Chosen { entries: Vec<(u64, Command)> },
}

message_kinds!(MultiPaxosMessage => MultiPaxosKind {
    Prepare, Promise, Accept, Accepted, Nack, Commit, Heartbeat, HeartbeatRefused, CatchUp, Chosen
});

/// The most chosen entries one [`MultiPaxosMessage::Chosen`] carries.
pub const CATCH_UP_ENTRIES_MAX: usize = 64;

/// A node's timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultiPaxosTimer {
    /// Campaign now: the election timeout passed, a campaign's backoff ended, or a hand fired it.
    Elect,
    /// A leader's next heartbeat.
    Heartbeat,
}

// ----- the node ------------------------------------------------------------------------------------

/// A node's part in the leadership.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Follower,
    /// Campaigning in a ballot: phase 1 is running.
    Candidate,
    Leader,
}

impl Role {
    /// As the trace announces it: `leader in round 3` ([`figures::leader_chart`] reads it back).
    pub fn word(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// A campaign: the ballot, where the prepare starts, and the promises so far.
#[derive(Clone, Debug)]
struct Campaign {
    ballot: Ballot,
    from: u64,
    promises: Quorum<Vec<Report>>,
}

/// One index a leader is getting accepted.
#[derive(Clone, Debug)]
struct Slot {
    index: u64,
    command: Command,
    quorum: Quorum<()>,
}

/// A Multi-Paxos server: acceptor and learner at every index, and leader when elected.
#[derive(Clone, Debug)]
pub struct MultiPaxos {
    config: Config,
    // Acceptor and learner state (durable).
    promised: Option<Ballot>,
    log: Log,
    /// Commits heard before the accept they name.
    commits_early: BTreeMap<u64, Ballot>,
    // Leadership (volatile).
    role: Role,
    /// The ballot this node leads or campaigns in.
    ballot: Option<Ballot>,
    /// Who this node believes leads: the hint a redirect gives.
    leader: Option<ProcessId>,
    clock: GenerationClock,
    campaign: Pending<Campaign>,
    campaigns_failed: u32,
    accepts: Pending<Slot>,
    /// What this leader proposes at each index not yet chosen.
    proposing: BTreeMap<u64, Command>,
    next_index: u64,
    /// Requests proposed here, answered once applied.
    waiting: BTreeSet<RequestId>,
    /// Requests that arrived while campaigning.
    queued: Vec<(RequestId, KvOp)>,
    /// Leadership changes of this node since it started: (tick, role, ballot round).
    roles: Vec<(Tick, Role, u64)>,
    unavailable: Option<String>,
}

impl MultiPaxos {
    pub fn new(config: Config) -> MultiPaxos {
        MultiPaxos {
            config,
            promised: None,
            log: Log::new(),
            commits_early: BTreeMap::new(),
            role: Role::Follower,
            ballot: None,
            leader: None,
            clock: GenerationClock::new(Default::default()),
            campaign: Pending::new(),
            campaigns_failed: 0,
            accepts: Pending::new(),
            proposing: BTreeMap::new(),
            next_index: 1,
            waiting: BTreeSet::new(),
            queued: Vec::new(),
            roles: Vec::new(),
            unavailable: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    /// The ballot this node leads in, when it leads.
    pub fn leading(&self) -> Option<Ballot> {
        self.ballot.filter(|_| self.is_leader())
    }

    /// The highest ballot this acceptor promised (its generation).
    pub fn promised(&self) -> Option<Ballot> {
        self.promised
    }

    /// Who this node believes leads.
    pub fn leader_hint(&self) -> Option<ProcessId> {
        self.leader
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    pub fn value(&self, key: &str) -> Option<&str> {
        self.log.value(key)
    }

    /// The high-water mark: the last index applied (0: none).
    pub fn high_water_mark(&self) -> u64 {
        self.log.applied()
    }

    /// What this node, as leader, is getting accepted at `index`.
    pub fn proposing(&self, index: u64) -> Option<&Command> {
        self.proposing.get(&index)
    }

    /// The index this leader gives its next new command.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Every change of role since the node (re)started: tick, role, ballot round.
    pub fn roles(&self) -> &[(Tick, Role, u64)] {
        &self.roles
    }

    fn to_all(ctx: &mut Context<'_, Self>, message: MultiPaxosMessage) {
        ctx.broadcast(message.clone());
        ctx.send(ctx.id(), message);
    }

    fn become_role(&mut self, ctx: &mut Context<'_, Self>, role: Role) {
        if self.role != role {
            self.role = role;
            let round = match role {
                Role::Follower => self.promised.map_or(0, |b| b.round),
                _ => self.ballot.map_or(0, |b| b.round),
            };
            self.roles.push((ctx.now(), role, round));
            ctx.annotate(format!("{} in round {round}", role.word()));
        }
    }

    /// Arms the election timeout (heartbeat mode only).
    fn reset_election_timer(&mut self, ctx: &mut Context<'_, Self>) {
        if let Election::Heartbeats { timeouts, .. } = self.config.election {
            let rank = ctx.id().index();
            let after = election_timeout(timeouts, ctx.rng(), rank);
            ctx.set_timer(MultiPaxosTimer::Elect, after);
        }
    }

    /// Raises this acceptor's promise to `ballot` (durably, before any answer leaves), and steps
    /// down if it led or campaigned in a lower ballot.
    fn promise(&mut self, ctx: &mut Context<'_, Self>, ballot: Ballot, from: ProcessId) {
        if self.promised.is_none_or(|p| ballot > p) {
            self.promised = Some(ballot);
            write(
                ctx.storage(),
                &Record::Promise {
                    index: None,
                    ballot,
                },
            );
        }
        self.clock.observe(ballot);
        if self.ballot.is_some_and(|mine| mine < ballot) && self.role != Role::Follower {
            self.step_down(ctx, &format!("{ballot} is higher"));
        }
        if from != ctx.id() {
            self.leader = Some(from);
        }
    }

    /// Leads no more: drops the rounds in flight, turns queued requests away, waits for a
    /// leader. Requests already proposed stay waiting: a newer leader may still choose them.
    fn step_down(&mut self, ctx: &mut Context<'_, Self>, why: &str) {
        ctx.annotate(format!("step down: {why}"));
        self.become_role(ctx, Role::Follower);
        let campaigns: Vec<Correlation> = self.campaign.iter().map(|(c, _)| c).collect();
        for c in campaigns {
            self.campaign.remove(ctx, c);
        }
        let slots: Vec<Correlation> = self.accepts.iter().map(|(c, _)| c).collect();
        for c in slots {
            self.accepts.remove(ctx, c);
        }
        self.proposing.clear();
        if self.leader == Some(ctx.id()) {
            self.leader = None;
        }
        ctx.cancel_timer(MultiPaxosTimer::Heartbeat);
        self.reset_election_timer(ctx);
        let leader = self.leader;
        for (request, _) in std::mem::take(&mut self.queued) {
            ctx.reply(request, KvReply::NotLeader { leader });
        }
    }

    // ----- leader --------------------------------------------------------------------------------

    /// Phase 1 for every index from the first this node does not know chosen.
    fn campaign(&mut self, ctx: &mut Context<'_, Self>) {
        let stale: Vec<Correlation> = self.campaign.iter().map(|(c, _)| c).collect();
        for c in stale {
            self.campaign.remove(ctx, c);
        }
        if let Some(promised) = self.promised {
            self.clock.observe(promised);
        }
        let ballot = self.clock.next(ctx.id());
        self.ballot = Some(ballot);
        self.become_role(ctx, Role::Candidate);
        let from = self.log.first_unchosen();
        ctx.annotate(format!("campaign {ballot} from [{from}]"));
        let campaign = Campaign {
            ballot,
            from,
            promises: Quorum::majority(ctx.cluster_size()),
        };
        let correlation = self
            .campaign
            .insert(ctx, self.config.round_timeout_ticks, campaign);
        self.reset_election_timer(ctx);
        Self::to_all(
            ctx,
            MultiPaxosMessage::Prepare {
                correlation,
                ballot,
                from,
            },
        );
    }

    /// The campaign failed: back to following, and (on request) try again after a backoff.
    fn lose(&mut self, ctx: &mut Context<'_, Self>, why: &str) {
        ctx.annotate(format!("campaign lost: {why}"));
        self.become_role(ctx, Role::Follower);
        if self.config.election == Election::OnRequest && !self.queued.is_empty() {
            self.campaigns_failed += 1;
            let wait = backoff_ticks(
                ctx.rng(),
                self.config.backoff_ticks_max,
                self.campaigns_failed.min(4),
            );
            ctx.set_timer(MultiPaxosTimer::Elect, wait);
        } else {
            let leader = self.leader.filter(|l| *l != ctx.id());
            for (request, _) in std::mem::take(&mut self.queued) {
                ctx.reply(request, KvReply::NotLeader { leader });
            }
        }
    }

    /// A majority promised: learn what they know chosen, re-propose what may be chosen, fill the
    /// holes, and serve.
    fn win(&mut self, ctx: &mut Context<'_, Self>, campaign: Campaign) {
        let Campaign {
            ballot,
            from,
            promises,
        } = campaign;
        let reports: Vec<Vec<Report>> = promises.accepted().values().cloned().collect();
        let proposing = match self.config.recovery {
            Recovery::HighestAccepted => self.config.proposing,
            Recovery::Ignore => Proposing::OwnValue,
        };
        let recovered = recover(from, &reports, proposing, self.config.gaps);
        self.become_role(ctx, Role::Leader);
        self.campaigns_failed = 0;
        self.leader = Some(ctx.id());
        self.next_index = next_index(self.config.advance, from, &recovered);
        ctx.annotate(format!(
            "lead {ballot}: recover [{from}..{}), new from [{}]",
            from + recovered.len() as u64,
            self.next_index
        ));
        for r in &recovered {
            if r.known_chosen {
                self.learn(ctx, r.index, r.command.clone());
            }
        }
        for r in recovered {
            // Chosen ones too: a follower commits only what it accepted in this ballot.
            self.send_accept(ctx, r.index, r.command);
        }
        if let Election::Heartbeats { .. } = self.config.election {
            ctx.cancel_timer(MultiPaxosTimer::Elect);
            self.heartbeat(ctx);
        }
        for (request, op) in std::mem::take(&mut self.queued) {
            self.serve(ctx, request, op);
        }
    }

    /// A request at the leader: a command at the next index (or, with local reads, an answer
    /// from this node's own store).
    fn serve(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: KvOp) {
        if self.config.local_reads {
            if let KvOp::Read { key } = &op {
                let value = self.log.value(key).map(str::to_string);
                ctx.reply(request, KvReply::Value(value));
                return;
            }
        }
        if !self.waiting.insert(request) {
            return; // a retry of a request proposed here
        }
        let index = self.next_index;
        self.next_index += 1;
        self.send_accept(ctx, index, Command::Op { request, op });
    }

    fn send_accept(&mut self, ctx: &mut Context<'_, Self>, index: u64, command: Command) {
        let Some(ballot) = self.leading() else {
            return;
        };
        self.proposing.insert(index, command.clone());
        let slot = Slot {
            index,
            command: command.clone(),
            quorum: Quorum::majority(ctx.cluster_size()),
        };
        let correlation = self
            .accepts
            .insert(ctx, self.config.round_timeout_ticks, slot);
        Self::to_all(
            ctx,
            MultiPaxosMessage::Accept {
                correlation,
                ballot,
                index,
                command,
            },
        );
    }

    fn heartbeat(&mut self, ctx: &mut Context<'_, Self>) {
        let (Some(ballot), Election::Heartbeats { interval_ticks, .. }) =
            (self.leading(), self.config.election)
        else {
            return;
        };
        let chosen = self.log.chosen_prefix();
        ctx.broadcast(MultiPaxosMessage::Heartbeat { ballot, chosen });
        ctx.set_timer(MultiPaxosTimer::Heartbeat, interval_ticks);
    }

    /// `command` is chosen at `index`: keep it, apply what can be applied, answer who waits here.
    fn learn(&mut self, ctx: &mut Context<'_, Self>, index: u64, command: Command) {
        self.commits_early.remove(&index);
        self.proposing.remove(&index);
        match self.log.choose(index, command.clone()) {
            Ok(true) => write(ctx.storage(), &Record::Chosen { index, command }),
            Ok(false) => return,
            Err(known) => {
                ctx.annotate(format!(
                    "told [{index}] chose {command}, but {known} was chosen there"
                ));
                return;
            }
        }
        for (_, answer) in self.log.apply_chosen() {
            if let Some((request, reply)) = answer {
                if self.waiting.remove(&request) {
                    ctx.reply(request, reply);
                }
            }
        }
    }

    fn on_promise(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        correlation: Correlation,
        reports: Vec<Report>,
    ) {
        let Some(campaign) = self.campaign.get_mut(correlation) else {
            return;
        };
        if campaign.promises.record(from, reports, true) == QuorumState::Reached {
            let campaign = self.campaign.remove(ctx, correlation).expect("present");
            if self.ballot == Some(campaign.ballot) && self.role == Role::Candidate {
                self.win(ctx, campaign);
            }
        }
    }

    fn on_accepted(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        correlation: Correlation,
    ) {
        let Some(slot) = self.accepts.get_mut(correlation) else {
            return;
        };
        if slot.quorum.record(from, (), true) != QuorumState::Reached {
            return;
        }
        let slot = self.accepts.remove(ctx, correlation).expect("present");
        let Some(ballot) = self.leading() else {
            return;
        };
        ctx.broadcast(MultiPaxosMessage::Commit {
            ballot,
            index: slot.index,
        });
        self.learn(ctx, slot.index, slot.command);
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
        if let Some(campaign) = self.campaign.get_mut(correlation) {
            if campaign.promises.record(from, Vec::new(), false) == QuorumState::Impossible {
                self.campaign.remove(ctx, correlation);
                let why = promised.map_or("refused".to_string(), |p| format!("{p} was promised"));
                self.lose(ctx, &why);
            }
            return;
        }
        if self.accepts.get(correlation).is_some() {
            if let (Some(p), Some(mine)) = (promised, self.ballot) {
                if p > mine {
                    self.step_down(ctx, &format!("{p} was promised"));
                }
            }
        }
    }

    // ----- acceptor and learner ------------------------------------------------------------------

    fn on_prepare(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from_node: ProcessId,
        (correlation, ballot): (Correlation, Ballot),
        from: u64,
    ) {
        if !may_promise(self.promised, ballot) {
            let nack = MultiPaxosMessage::Nack {
                correlation,
                ballot,
                promised: self.promised,
            };
            ctx.send(from_node, nack);
            return;
        }
        self.promise(ctx, ballot, from_node);
        self.reset_election_timer(ctx);
        let reports = self
            .log
            .entries()
            .filter(|(index, _)| *index >= from)
            .map(|(index, entry)| Report {
                index,
                accepted: entry.accepted.clone(),
                chosen: entry.chosen.clone(),
            })
            .collect();
        let promise = MultiPaxosMessage::Promise {
            correlation,
            ballot,
            reports,
        };
        ctx.send_when_durable(from_node, promise);
    }

    fn on_accept(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from_node: ProcessId,
        (correlation, ballot): (Correlation, Ballot),
        index: u64,
        command: Command,
    ) {
        if !may_accept(self.promised, ballot) {
            let nack = MultiPaxosMessage::Nack {
                correlation,
                ballot,
                promised: self.promised,
            };
            ctx.send(from_node, nack);
            return;
        }
        self.promise(ctx, ballot, from_node);
        if from_node != ctx.id() {
            self.reset_election_timer(ctx);
        }
        self.log.accept(index, ballot, command.clone());
        write(
            ctx.storage(),
            &Record::Accept {
                index,
                ballot,
                command,
            },
        );
        ctx.send_when_durable(
            from_node,
            MultiPaxosMessage::Accepted {
                correlation,
                ballot,
            },
        );
        if let Some(committed) = self.commits_early.get(&index).copied() {
            self.on_commit(ctx, committed, index);
        }
    }

    fn on_commit(&mut self, ctx: &mut Context<'_, Self>, ballot: Ballot, index: u64) {
        let accepted = self.log.entry(index).and_then(|e| e.accepted.as_ref());
        match value_to_commit(self.config.committing, accepted, ballot) {
            Some(command) => self.learn(ctx, index, command),
            None => {
                if self.log.chosen(index).is_none() {
                    // The accept may still come (messages reorder), or it was lost: ask too.
                    self.commits_early.insert(index, ballot);
                    if let Some(leader) = self.leader.filter(|l| *l != ctx.id()) {
                        let from = self.log.first_unchosen();
                        ctx.send(leader, MultiPaxosMessage::CatchUp { from });
                    }
                }
            }
        }
    }

    /// What this node knows chosen from `from` on, for a follower that fell behind.
    fn on_catch_up(&mut self, ctx: &mut Context<'_, Self>, follower: ProcessId, from: u64) {
        let entries: Vec<(u64, Command)> = (from.max(1)..=self.log.chosen_prefix())
            .take(CATCH_UP_ENTRIES_MAX)
            .filter_map(|i| self.log.chosen(i).map(|c| (i, c.clone())))
            .collect();
        if !entries.is_empty() {
            ctx.send(follower, MultiPaxosMessage::Chosen { entries });
        }
    }

    fn on_heartbeat(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        (ballot, chosen): (Ballot, u64),
    ) {
        match self.promised {
            Some(promised) if promised > ballot => {
                let refused = MultiPaxosMessage::HeartbeatRefused { ballot, promised };
                ctx.send(from, refused);
            }
            _ => {
                // A majority promised this ballot: promising it too refuses only older leaders
                // (the reference's becomeFollower(generation)).
                self.promise(ctx, ballot, from);
                self.reset_election_timer(ctx);
                if chosen > self.log.chosen_prefix() {
                    let from_index = self.log.first_unchosen();
                    ctx.send(from, MultiPaxosMessage::CatchUp { from: from_index });
                }
            }
        }
    }
}

impl Node for MultiPaxos {
    type Message = MultiPaxosMessage;
    type Timer = MultiPaxosTimer;
    type Operation = KvOp;

    /// A (re)started node is what its disk holds: its promise, its log, its chosen prefix applied
    /// again. It follows until it hears from a leader or campaigns.
    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match replay(ctx.storage()) {
            Ok((log, promises)) => {
                let accepted = log
                    .entries()
                    .filter_map(|(_, e)| e.accepted.as_ref().map(|a| a.ballot))
                    .max();
                self.promised = promises.get(&None).copied().max(accepted);
                if let Some(p) = self.promised {
                    self.clock.observe(p);
                }
                self.log = log;
            }
            Err(e) => {
                ctx.annotate(format!("unavailable: {e}"));
                self.unavailable = Some(e.to_string());
                return;
            }
        }
        let round = self.promised.map_or(0, |b| b.round);
        ctx.annotate(format!("{} in round {round}", Role::Follower.word()));
        self.reset_election_timer(ctx);
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
            ctx.reply(request, reply.clone());
            return;
        }
        match self.role {
            Role::Leader => self.serve(ctx, request, op),
            Role::Candidate => {
                if !self.queued.iter().any(|(r, _)| *r == request) {
                    self.queued.push((request, op));
                }
            }
            Role::Follower if self.config.election == Election::OnRequest => {
                if !self.queued.iter().any(|(r, _)| *r == request) {
                    self.queued.push((request, op));
                }
                self.campaign(ctx);
            }
            Role::Follower => {
                let leader = self.leader.filter(|l| *l != ctx.id());
                ctx.reply(request, KvReply::NotLeader { leader });
            }
        }
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        message: MultiPaxosMessage,
    ) {
        if self.unavailable.is_some() {
            return;
        }
        match message {
            MultiPaxosMessage::Prepare {
                correlation,
                ballot,
                from: index,
            } => self.on_prepare(ctx, from, (correlation, ballot), index),
            MultiPaxosMessage::Promise {
                correlation,
                reports,
                ..
            } => self.on_promise(ctx, from, correlation, reports),
            MultiPaxosMessage::Accept {
                correlation,
                ballot,
                index,
                command,
            } => self.on_accept(ctx, from, (correlation, ballot), index, command),
            MultiPaxosMessage::Accepted { correlation, .. } => {
                self.on_accepted(ctx, from, correlation)
            }
            MultiPaxosMessage::Nack {
                correlation,
                promised,
                ..
            } => self.on_nack(ctx, from, correlation, promised),
            MultiPaxosMessage::Commit { ballot, index } => {
                if from != ctx.id() {
                    self.leader = Some(from);
                }
                self.on_commit(ctx, ballot, index)
            }
            MultiPaxosMessage::Heartbeat { ballot, chosen } => {
                self.on_heartbeat(ctx, from, (ballot, chosen))
            }
            MultiPaxosMessage::CatchUp { from: index } => self.on_catch_up(ctx, from, index),
            MultiPaxosMessage::Chosen { entries } => {
                for (index, command) in entries {
                    self.learn(ctx, index, command);
                }
            }
            MultiPaxosMessage::HeartbeatRefused { ballot, promised } => {
                self.clock.observe(promised);
                if self.leading() == Some(ballot) {
                    self.step_down(ctx, &format!("{promised} was promised"));
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: MultiPaxosTimer) {
        if self.unavailable.is_some() {
            return;
        }
        match timer {
            MultiPaxosTimer::Elect => {
                if self.role != Role::Leader {
                    self.campaign(ctx);
                }
            }
            MultiPaxosTimer::Heartbeat => self.heartbeat(ctx),
        }
    }

    fn on_expired(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        if self.campaign.take_expired(correlation).is_some() {
            self.lose(ctx, "no majority answered in time");
            return;
        }
        if let Some(slot) = self.accepts.take_expired(correlation) {
            // Still leading: ask again, until a majority answers or a higher ballot appears.
            if self.log.chosen(slot.index).is_none() {
                self.send_accept(ctx, slot.index, slot.command);
            }
        }
    }
}

#[cfg(test)]
mod tests;
