//! # Raft: leader election, log replication, and the commit rule of Figure 8
//!
//! Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm" (USENIX ATC 2014);
//! section numbers below are the paper's. *Patterns of Distributed Systems*: **Leader and
//! Followers**, **Generation Clock** (the term), **Replicated Log**, **High-Water Mark** (the
//! commit index), **Idempotent Receiver**, **Heartbeat**. Reference: spec §2.12.
//!
//! A cluster agrees on one log of commands. Time is cut into *terms*; each term starts with an
//! election (§5.2): a server whose *election timeout* passes without word from a leader becomes a
//! *candidate*, votes for itself and asks for votes; a majority makes it the term's only leader,
//! since each server votes at most once per term. The leader appends client commands to its log
//! and replicates them with AppendEntries (§5.3): a follower accepts entries only after the entry
//! just before them, with its term, is already in its log, so two logs that share an entry share
//! everything before it (*log matching*). An entry is *committed* once a majority stores it;
//! committed entries are applied, in order, to the state machine: here a key-value store.
//!
//! Two rules keep committed entries from being lost when leaders change:
//! - the **election restriction** (§5.4.1, [`rules::may_grant_vote`]): a server votes only for a
//!   candidate whose log is at least as up-to-date as its own, so a winner holds every committed
//!   entry;
//! - the **commit rule** (§5.4.2, [`rules::is_committed`]): a leader commits by counting replicas
//!   only entries of its own term; earlier entries become committed with them. Counting replicas
//!   of an older entry loses it in the schedule of the paper's Figure 8 ([`mod@figure8`]). A new
//!   leader appends a no-op at the start of its term (§8) so that it commits something of its own
//!   term, and with it everything before, without waiting for a client.
//!
//! Everything a vote or an acknowledgement depends on is on disk before it is sent (Figure 2,
//! "updated on stable storage before responding to RPCs"): the current term and vote on the
//! storage's key-value side, the log on its log. A leader counts itself towards a majority only
//! for entries already synced: it sends itself an acknowledgement once they are durable, while the
//! followers write theirs in parallel (the dissertation's §10.2.1).
//!
//! Clients talk to the leader; any other server answers [`KvReply::NotLeader`] with the leader it
//! knows (while an election runs, once it knows one). Writes and compare-and-sets go through the log; a retried request (same request id) is
//! recognised when its entry is applied and answered with the first reply, so it runs once
//! (§8, the *Idempotent Receiver*). Reads take one of two paths ([`ReadPath`]): through the log
//! like writes, or by the *read index* of §8: the leader notes its commit index, confirms with a
//! round of heartbeats that a majority still follows it, waits until it has applied that far, and
//! answers from its state machine: one round trip, no log entry.
//!
//! Fixed from the reference (spec §5.2 item 10): election timeouts are drawn per server from its
//! seeded stream instead of being equal; a server that learns of a leader in its own term keeps
//! its vote (the reference cleared it, so a candidate could vote again in the same term); a
//! follower reports and commits only up to the last entry the leader vouched for, not to the end
//! of its log; a new leader appends a no-op; term, vote and log are persisted; reads go through
//! the leader; a client's pending reply is keyed by index *and* term, so a truncated entry can
//! never answer another request. Broken variants ([`Config::variant`]) bring back the classic
//! mistakes one at a time.

pub mod exercise;
pub mod explore;
pub mod figure8;
pub mod figures;
pub mod measure;
pub mod replay;
pub mod rules;

pub use explore::{Explorer, check_history, invariants};
pub use figure8::{Ending, Figure8, figure8};
pub use figures::{current_leader, leader_chart, log_grid, log_grid_now, server_logs};

use super::kv::{KvOp, KvReply};
use crate::message_kinds;
use crate::node::{
    Context, Correlation, IdempotentReceiver, Node, Pending, ProcessId, Quorum, QuorumState,
    RequestId, Seen, Tick,
};
use rules::{
    Candidacy, CommitRule, LogPosition, Voter, commit_by_counting, conflict_hint, election_timeout,
    follower_commit_index, leader_commit_index, log_matches, may_grant_vote,
    may_grant_vote_ignoring_logs, next_index_after_mismatch, quorum_index, reconcile, term_at,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

// ----- configuration -------------------------------------------------------------------------------

/// How reads are served.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadPath {
    /// The leader confirms with one round of heartbeats that it still leads, then answers from its
    /// state machine once it has applied its commit index as it stood when the read arrived (§8).
    ReadIndex,
    /// A read is a log entry like a write, answered when it is applied: simple, one entry per read.
    Log,
    /// Any server answers from its own state machine at once: the reference's behaviour, and
    /// stale reads (the `reads-anywhere` variant).
    Anywhere,
}

/// The knobs of a Raft cluster: timing, the read path, and the switches of the broken variants.
#[derive(Clone, Debug)]
pub struct Config {
    /// A follower that hears nothing from a leader for a timeout drawn from
    /// `election_timeout_ticks_min..=election_timeout_ticks_max` starts an election.
    pub election_timeout_ticks_min: Tick,
    pub election_timeout_ticks_max: Tick,
    /// How often a leader sends AppendEntries to every follower when it has nothing new (and a
    /// candidate asks again the servers that have not answered its RequestVote).
    pub heartbeat_interval_ticks: Tick,
    /// At most this many entries go in one AppendEntries.
    pub entries_per_message_max: usize,
    pub reads: ReadPath,
    /// How a leader advances its commit index ([`rules::leader_commit_index`]; a notebook
    /// exercise can put its own rule here).
    pub commit_rule: CommitRule,
    /// Whether a new leader appends a no-op at the start of its term (§8).
    pub start_of_term_noop: bool,
    /// Whether a vote needs the candidate's log to be at least as up-to-date (§5.4.1).
    pub election_restriction: bool,
    /// Whether the current term and vote are kept on disk (Figure 2's persistent state).
    pub durable_term_and_vote: bool,
}

impl Default for Config {
    /// Raft as the paper states it: timeouts of 20–40 ticks (the paper's 150–300 ms, in a
    /// simulator whose messages take 1–4 ticks), heartbeats every 8 ticks, read index.
    fn default() -> Config {
        Config {
            election_timeout_ticks_min: 20,
            election_timeout_ticks_max: 40,
            heartbeat_interval_ticks: 8,
            entries_per_message_max: 32,
            reads: ReadPath::ReadIndex,
            commit_rule: leader_commit_index,
            start_of_term_noop: true,
            election_restriction: true,
            durable_term_and_vote: true,
        }
    }
}

/// The names `Config::variant` knows, the correct form first.
pub const VARIANTS: [&str; 7] = [
    "correct",
    "log-reads",
    "commit-old-term",
    "no-election-restriction",
    "volatile-vote",
    "reads-anywhere",
    "equal-timeouts",
];

impl Config {
    /// A named form of Raft: `correct`, `log-reads` (correct, reads through the log), or a broken
    /// variant:
    /// - `commit-old-term`: a leader commits whatever a majority stores, whatever its term, and
    ///   appends no no-op (Figure 8);
    /// - `no-election-restriction`: votes ignore the candidate's log, so a leader can lack
    ///   committed entries and overwrite them;
    /// - `volatile-vote`: term and vote live in memory only, so a restarted server votes twice in
    ///   one term and two leaders share it;
    /// - `reads-anywhere`: every server answers reads from its own state (the reference);
    /// - `equal-timeouts`: every server waits exactly 20 ticks (the reference): elections split
    ///   again and again. A liveness flaw, not a safety one.
    pub fn variant(name: &str) -> Option<Config> {
        let correct = Config::default();
        Some(match name {
            "correct" => correct,
            "log-reads" => correct.reads(ReadPath::Log),
            "commit-old-term" => Config {
                commit_rule: commit_by_counting,
                start_of_term_noop: false,
                ..correct
            },
            "no-election-restriction" => Config {
                election_restriction: false,
                ..correct
            },
            "volatile-vote" => Config {
                durable_term_and_vote: false,
                ..correct
            },
            "reads-anywhere" => correct.reads(ReadPath::Anywhere),
            "equal-timeouts" => correct.election_timeout_ticks(20, 20),
            _ => return None,
        })
    }

    pub fn reads(mut self, reads: ReadPath) -> Config {
        self.reads = reads;
        self
    }

    /// The election timeout range; `min == max` gives every server the same timeout.
    pub fn election_timeout_ticks(mut self, min: Tick, max: Tick) -> Config {
        self.election_timeout_ticks_min = min;
        self.election_timeout_ticks_max = max.max(min);
        self
    }

    pub fn heartbeat_interval_ticks(mut self, ticks: Tick) -> Config {
        self.heartbeat_interval_ticks = ticks.max(1);
        self
    }

    pub fn commit_rule(mut self, rule: CommitRule) -> Config {
        self.commit_rule = rule;
        self
    }
}

// ----- the log and the messages --------------------------------------------------------------------

/// What an entry asks the state machine to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// The entry a new leader appends at the start of its term (§8).
    Noop,
    /// A client's operation, with its request id so that a retry is applied once.
    Client { request: RequestId, op: KvOp },
}

/// One log entry: the term of the leader that created it, and its command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub term: u64,
    pub command: Command,
}

impl fmt::Display for Entry {
    /// `x←v1`, `cas x v1→v2`, `read x`, `no-op`: what a log grid writes in a cell.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.command {
            Command::Noop => write!(f, "no-op"),
            Command::Client { op, .. } => match op {
                KvOp::Write { key, value } => write!(f, "{key}←{value}"),
                KvOp::Cas { key, expected, new } => write!(f, "cas {key} {expected}→{new}"),
                KvOp::Read { key } => write!(f, "read {key}"),
            },
        }
    }
}

/// What a follower answers to an AppendEntries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppendResult {
    /// The log now holds the leader's entries up to `match_index` (`prev_log_index` plus the
    /// entries sent): the paper's `success = true`.
    Success { match_index: u64 },
    /// The consistency check failed at `prev_log_index`; the hint lets the leader skip a term at a
    /// time (§5.3): the follower's term there (`None` if its log is shorter) and its first index
    /// of that term (or the index past its log).
    LogMismatch {
        conflict_term: Option<u64>,
        conflict_index: u64,
    },
    /// The sender's term is over (the response's term is the current one).
    StaleTerm,
}

/// Raft's two RPCs and their responses (Figure 2). The sender's id travels with every message,
/// so `candidateId` and `leaderId` are not repeated in them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RaftMessage {
    RequestVote {
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
    },
    RequestVoteResponse {
        term: u64,
        vote_granted: bool,
    },
    AppendEntries {
        term: u64,
        prev_log_index: u64,
        prev_log_term: u64,
        entries: Vec<Entry>,
        leader_commit: u64,
        /// Which broadcast of this leader this is; the response echoes it, so that a read index
        /// knows a majority still followed the leader after the read arrived (§8).
        round: u64,
    },
    AppendEntriesResponse {
        term: u64,
        round: u64,
        result: AppendResult,
    },
}

message_kinds!(RaftMessage => RaftKind {
    RequestVote,
    RequestVoteResponse,
    AppendEntries,
    AppendEntriesResponse,
});

/// A server's timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RaftTimer {
    /// No word from a leader: start an election.
    Election,
    /// A leader's heartbeat (or a candidate's reminder to the servers that have not voted).
    Heartbeat,
}

/// The server states of Figure 4.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServerState {
    Follower,
    Candidate,
    Leader,
}

impl ServerState {
    fn word(self) -> &'static str {
        match self {
            ServerState::Follower => "follower",
            ServerState::Candidate => "candidate",
            ServerState::Leader => "leader",
        }
    }
}

// ----- durable term and vote -----------------------------------------------------------------------

/// The current term and vote as stored. Two slots are written in turn, each with a version: a write
/// torn by a crash garbles only the slot being written, and the other slot still holds the last
/// synced value (the key-value side has no checksum of its own, so a torn value reads as corrupt).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct HardState {
    version: u64,
    current_term: u64,
    voted_for: Option<ProcessId>,
}

const HARD_STATE_SLOTS: [&str; 2] = ["raft/hard-state/0", "raft/hard-state/1"];

// ----- the server ----------------------------------------------------------------------------------

/// A read waiting at the leader (§8).
#[derive(Clone, Debug)]
struct PendingRead {
    request: RequestId,
    key: String,
    /// The commit index when the leader took up the read (once it knows its commit index).
    read_index: Option<u64>,
    /// The heartbeat round a majority must acknowledge.
    round: u64,
}

/// What only a leader keeps (Figure 2, "volatile state on leaders"), rebuilt at each election.
#[derive(Clone, Debug)]
struct Leadership {
    /// The next entry to send each follower.
    next_index: BTreeMap<ProcessId, u64>,
    /// The highest entry each server (the leader included) is known to store durably.
    match_index: BTreeMap<ProcessId, u64>,
    /// The highest entry sent to each follower in this term: an entry goes out once per trigger,
    /// and heartbeats resend what is unacknowledged.
    sent_up_to: BTreeMap<ProcessId, u64>,
    /// The newest heartbeat round each server acknowledged in this term.
    acked_round: BTreeMap<ProcessId, u64>,
    round: u64,
    /// The index of the first entry of this term: committed, it tells the leader its commit index
    /// is current (§8).
    term_start: u64,
    /// Client requests waiting for their entry: index to (entry term, request).
    waiters: BTreeMap<u64, (u64, RequestId)>,
    reads: Vec<PendingRead>,
}

/// A Raft server with a key-value store as its state machine.
#[derive(Clone, Debug)]
pub struct Raft {
    config: Config,
    id: ProcessId,
    incarnation: u64,
    // Persistent state (mirrored from storage).
    current_term: u64,
    voted_for: Option<ProcessId>,
    hard_state_version: u64,
    log: Vec<Entry>,
    /// The terms of `log`, kept beside it for the rules.
    terms: Vec<u64>,
    /// Counts appends and truncations: observers skip work while a log has not changed.
    log_changes: u64,
    // Volatile state.
    state: ServerState,
    leader: Option<ProcessId>,
    commit_index: u64,
    last_applied: u64,
    store: BTreeMap<String, String>,
    /// Part of the replicated state: updated when an entry is applied, on every server.
    sessions: IdempotentReceiver<KvReply>,
    votes: Option<Quorum<()>>,
    leadership: Option<Leadership>,
    /// Requests that reached this server while it knew no leader (an election is running): it
    /// redirects them as soon as it hears from a leader, serves them if it wins, and refuses them
    /// at the latest after an election timeout, instead of sending the client round the servers
    /// at once.
    parked: Pending<(RequestId, KvOp)>,
}

impl Raft {
    pub fn new(config: Config) -> Raft {
        Raft {
            config,
            id: ProcessId(0),
            incarnation: 0,
            current_term: 0,
            voted_for: None,
            hard_state_version: 0,
            log: Vec::new(),
            terms: Vec::new(),
            log_changes: 0,
            state: ServerState::Follower,
            leader: None,
            commit_index: 0,
            last_applied: 0,
            store: BTreeMap::new(),
            sessions: IdempotentReceiver::new(),
            votes: None,
            leadership: None,
            parked: Pending::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn state(&self) -> ServerState {
        self.state
    }

    pub fn is_leader(&self) -> bool {
        self.state == ServerState::Leader
    }

    pub fn current_term(&self) -> u64 {
        self.current_term
    }

    pub fn voted_for(&self) -> Option<ProcessId> {
        self.voted_for
    }

    /// The leader this server follows, if it knows one.
    pub fn leader(&self) -> Option<ProcessId> {
        self.leader
    }

    /// The log, entry `i` at position `i - 1`.
    pub fn log(&self) -> &[Entry] {
        &self.log
    }

    /// The terms of the log's entries.
    pub fn terms(&self) -> &[u64] {
        &self.terms
    }

    pub fn last_log(&self) -> LogPosition {
        LogPosition::of(&self.terms)
    }

    pub fn commit_index(&self) -> u64 {
        self.commit_index
    }

    pub fn last_applied(&self) -> u64 {
        self.last_applied
    }

    /// The value of `key` in this server's state machine.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.store.get(key).map(String::as_str)
    }

    /// Which life of the server this is (1 at the first start).
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// How many times the log was appended to or cut since this life began.
    pub fn log_changes(&self) -> u64 {
        self.log_changes
    }

    fn last_index(&self) -> u64 {
        self.log.len() as u64
    }

    // ----- storage -----------------------------------------------------------------------------

    /// Rebuilds the durable state after a (re)start: term and vote from the newer valid slot, the
    /// log entry by entry (a torn entry was already cut by the storage's checksum).
    fn recover(&mut self, ctx: &mut Context<'_, Self>) {
        if self.config.durable_term_and_vote {
            let mut newest: Option<HardState> = None;
            for slot in HARD_STATE_SLOTS {
                match ctx.storage().get_json::<HardState>(slot) {
                    Ok(Some(stored)) => {
                        if newest.as_ref().is_none_or(|n| stored.version > n.version) {
                            newest = Some(stored);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => ctx.annotate(format!("ignored {e}")),
                }
            }
            if let Some(stored) = newest {
                self.current_term = stored.current_term;
                self.voted_for = stored.voted_for;
                self.hard_state_version = stored.version;
            }
        }
        let last = ctx.storage().last_index();
        for index in 1..=last {
            match ctx.storage().entry_json::<Entry>(index) {
                Ok(Some(entry)) => {
                    self.terms.push(entry.term);
                    self.log.push(entry);
                }
                Ok(None) | Err(_) => {
                    ctx.annotate(format!("log cut at unreadable entry {index}"));
                    ctx.storage().truncate_from(index);
                    break;
                }
            }
        }
    }

    /// Writes the current term and vote to the slot after the last one written.
    fn persist_term_and_vote(&mut self, ctx: &mut Context<'_, Self>) {
        if !self.config.durable_term_and_vote {
            return;
        }
        self.hard_state_version += 1;
        let slot = HARD_STATE_SLOTS[(self.hard_state_version % 2) as usize];
        let stored = HardState {
            version: self.hard_state_version,
            current_term: self.current_term,
            voted_for: self.voted_for,
        };
        ctx.storage().put_json(slot, &stored);
    }

    fn append(&mut self, ctx: &mut Context<'_, Self>, entry: Entry) -> u64 {
        let index = ctx.storage().append_json(&entry);
        self.terms.push(entry.term);
        self.log.push(entry);
        self.log_changes += 1;
        debug_assert_eq!(index, self.last_index(), "storage and memory hold one log");
        index
    }

    fn truncate_from(&mut self, ctx: &mut Context<'_, Self>, index: u64) {
        debug_assert!(
            self.state != ServerState::Leader,
            "a leader never cuts its log"
        );
        ctx.storage().truncate_from(index);
        let keep = index.saturating_sub(1) as usize;
        self.log.truncate(keep);
        self.terms.truncate(keep);
        self.log_changes += 1;
    }

    // ----- state changes -----------------------------------------------------------------------

    fn reset_election_timer(&mut self, ctx: &mut Context<'_, Self>) {
        let (min, max) = (
            self.config.election_timeout_ticks_min,
            self.config.election_timeout_ticks_max,
        );
        let after = election_timeout(ctx.rng(), min, max);
        ctx.set_timer(RaftTimer::Election, after);
    }

    fn announce(&self, ctx: &mut Context<'_, Self>) {
        ctx.annotate(format!(
            "{} in term {}",
            self.state.word(),
            self.current_term
        ));
    }

    /// Moves to `term` if it is later (a new term has no vote yet), and becomes a follower if this
    /// server was not one.
    fn step_down(&mut self, ctx: &mut Context<'_, Self>, term: u64) {
        if term > self.current_term {
            self.current_term = term;
            self.voted_for = None;
            self.leader = None;
            self.persist_term_and_vote(ctx);
        }
        if self.state == ServerState::Follower {
            return;
        }
        if self.state == ServerState::Leader {
            self.abandon_leadership(ctx);
        }
        self.state = ServerState::Follower;
        self.votes = None;
        ctx.cancel_timer(RaftTimer::Heartbeat);
        self.reset_election_timer(ctx);
        self.announce(ctx);
    }

    /// A deposed leader's pending writes stay unanswered: their entries may still be committed by
    /// the next leader, so the clients retry and are answered once (§8). Pending reads did
    /// nothing and are redirected.
    fn abandon_leadership(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(leadership) = self.leadership.take() else {
            return;
        };
        if !leadership.waiters.is_empty() {
            ctx.annotate(format!(
                "{} writes left to their clients' retries",
                leadership.waiters.len()
            ));
        }
        for read in leadership.reads {
            ctx.reply(read.request, KvReply::NotLeader { leader: None });
        }
    }

    /// §5.2: a new term, a vote for itself (on disk before anyone hears of it), and a RequestVote
    /// to every server.
    fn start_election(&mut self, ctx: &mut Context<'_, Self>) {
        if self.state == ServerState::Leader {
            self.abandon_leadership(ctx);
        }
        self.current_term += 1;
        self.voted_for = Some(self.id);
        self.persist_term_and_vote(ctx);
        self.state = ServerState::Candidate;
        self.leader = None;
        self.votes = Some(Quorum::majority(ctx.cluster_size()));
        self.announce(ctx);
        self.reset_election_timer(ctx);
        let request = self.vote_request();
        for peer in ctx.peers().to_vec() {
            ctx.send_when_durable(peer, request.clone());
        }
        // The candidate's own vote counts once it is on disk, like every other vote.
        let own_vote = RaftMessage::RequestVoteResponse {
            term: self.current_term,
            vote_granted: true,
        };
        ctx.send_when_durable(self.id, own_vote);
        ctx.set_timer(RaftTimer::Heartbeat, self.config.heartbeat_interval_ticks);
    }

    fn vote_request(&self) -> RaftMessage {
        let last = self.last_log();
        RaftMessage::RequestVote {
            term: self.current_term,
            last_log_index: last.index,
            last_log_term: last.term,
        }
    }

    /// A candidate asks again the servers that have not answered (§5.1: servers retry RPCs).
    fn remind_voters(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(votes) = &self.votes else {
            return;
        };
        let silent: Vec<ProcessId> = ctx
            .peers()
            .iter()
            .copied()
            .filter(|p| !votes.accepted().contains_key(p) && !votes.rejected().contains_key(p))
            .collect();
        let request = self.vote_request();
        for peer in silent {
            ctx.send_when_durable(peer, request.clone());
        }
        ctx.set_timer(RaftTimer::Heartbeat, self.config.heartbeat_interval_ticks);
    }

    fn become_leader(&mut self, ctx: &mut Context<'_, Self>) {
        self.state = ServerState::Leader;
        self.leader = Some(self.id);
        self.votes = None;
        ctx.cancel_timer(RaftTimer::Election);
        self.announce(ctx);
        let last = self.last_index();
        let peers = ctx.peers().to_vec();
        let mut leadership = Leadership {
            next_index: peers.iter().map(|&p| (p, last + 1)).collect(),
            match_index: peers.iter().map(|&p| (p, 0)).collect(),
            sent_up_to: peers.iter().map(|&p| (p, 0)).collect(),
            acked_round: peers.iter().map(|&p| (p, 0)).collect(),
            round: 0,
            term_start: last + 1,
            waiters: BTreeMap::new(),
            reads: Vec::new(),
        };
        // Everything before the candidacy was durable before any RequestVote left.
        leadership.match_index.insert(self.id, last);
        leadership.acked_round.insert(self.id, u64::MAX);
        self.leadership = Some(leadership);
        if self.config.start_of_term_noop {
            self.append_as_leader(ctx, Command::Noop);
        }
        self.broadcast_append(ctx);
        ctx.set_timer(RaftTimer::Heartbeat, self.config.heartbeat_interval_ticks);
        self.release_parked(ctx);
    }

    /// Answers the requests parked while no leader was known: a leader serves them, anyone else
    /// names the leader it now knows.
    fn release_parked(&mut self, ctx: &mut Context<'_, Self>) {
        let waiting: Vec<Correlation> = self.parked.iter().map(|(c, _)| c).collect();
        for correlation in waiting {
            if let Some((request, op)) = self.parked.remove(ctx, correlation) {
                self.on_request(ctx, request, op);
            }
        }
    }

    /// Appends an entry of the current term; the leader acknowledges it to itself once synced.
    fn append_as_leader(&mut self, ctx: &mut Context<'_, Self>, command: Command) -> u64 {
        let entry = Entry {
            term: self.current_term,
            command,
        };
        let index = self.append(ctx, entry);
        let own_ack = RaftMessage::AppendEntriesResponse {
            term: self.current_term,
            round: 0,
            result: AppendResult::Success { match_index: index },
        };
        ctx.send_when_durable(self.id, own_ack);
        index
    }

    /// Sends `peer` the entries from its next index on (at most a batch), with the entry before
    /// them for the consistency check.
    fn send_append(&mut self, ctx: &mut Context<'_, Self>, peer: ProcessId) {
        let Some(leadership) = self.leadership.as_mut() else {
            return;
        };
        let next = leadership.next_index.get(&peer).copied().unwrap_or(1);
        let prev = next - 1;
        let end = self
            .log
            .len()
            .min(prev as usize + self.config.entries_per_message_max);
        let entries = self.log[(prev as usize).min(end)..end].to_vec();
        let sent = leadership.sent_up_to.entry(peer).or_default();
        *sent = (*sent).max(prev + entries.len() as u64);
        let message = RaftMessage::AppendEntries {
            term: self.current_term,
            prev_log_index: prev,
            prev_log_term: term_at(&self.terms, prev),
            entries,
            leader_commit: self.commit_index,
            round: leadership.round,
        };
        ctx.send(peer, message);
    }

    /// A new round of AppendEntries to every follower: a heartbeat, carrying whatever each one
    /// still lacks.
    fn broadcast_append(&mut self, ctx: &mut Context<'_, Self>) {
        if let Some(leadership) = self.leadership.as_mut() {
            leadership.round += 1;
        }
        for peer in ctx.peers().to_vec() {
            self.send_append(ctx, peer);
        }
    }

    /// Figure 2, rules for leaders, last bullet: advance the commit index by the configured rule,
    /// then apply.
    fn advance_commit_index(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(leadership) = &self.leadership else {
            return;
        };
        let matches: Vec<u64> = leadership.match_index.values().copied().collect();
        let proposed =
            (self.config.commit_rule)(self.commit_index, self.current_term, &matches, &self.terms);
        let new = proposed.min(self.last_index());
        if new > self.commit_index {
            self.commit_index = new;
            self.apply_committed(ctx);
        }
    }

    /// Applies committed entries in order; a leader answers the client waiting for each.
    fn apply_committed(&mut self, ctx: &mut Context<'_, Self>) {
        let end = self.commit_index.min(self.last_index());
        while self.last_applied < end {
            self.last_applied += 1;
            let index = self.last_applied;
            let entry = self.log[index as usize - 1].clone();
            let Command::Client { request, op } = entry.command else {
                continue;
            };
            let reply = self.execute(request, op);
            let waiter = self
                .leadership
                .as_mut()
                .and_then(|l| l.waiters.remove(&index));
            if let (Some(reply), Some(waiting)) = (reply, waiter) {
                if waiting == (entry.term, request) {
                    ctx.reply(request, reply);
                }
            }
        }
        self.serve_reads(ctx);
    }

    /// Runs a client command on the state machine, once per request id: an entry for a request
    /// already applied (a retry that reached the log twice) answers with the first reply.
    fn execute(&mut self, request: RequestId, op: KvOp) -> Option<KvReply> {
        match self.sessions.seen(request) {
            Seen::Answered(reply) => return Some(reply.clone()),
            Seen::Stale => return None,
            Seen::New | Seen::InProgress => {}
        }
        let reply = match op {
            KvOp::Read { key } => KvReply::Value(self.store.get(&key).cloned()),
            KvOp::Write { key, value } => {
                self.store.insert(key, value);
                KvReply::Written
            }
            KvOp::Cas { key, expected, new } => {
                let swapped = self.store.get(&key) == Some(&expected);
                if swapped {
                    self.store.insert(key, new);
                }
                KvReply::Swapped(swapped)
            }
        };
        self.sessions.answer(request, reply.clone());
        Some(reply)
    }

    /// A client's write, compare-and-set or log read at the leader.
    fn propose(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: KvOp) {
        match self.sessions.seen(request) {
            Seen::Answered(reply) => {
                ctx.reply(request, reply.clone());
                return;
            }
            Seen::Stale => return,
            Seen::New | Seen::InProgress => {}
        }
        // A retry whose entry is already in my log, not applied yet: wait for that entry.
        let pending = (self.last_applied + 1..=self.last_index()).find(|&i| {
            matches!(&self.log[i as usize - 1].command,
                     Command::Client { request: r, .. } if *r == request)
        });
        let (index, term) = match pending {
            Some(index) => (index, term_at(&self.terms, index)),
            None => {
                let index = self.append_as_leader(ctx, Command::Client { request, op });
                for peer in ctx.peers().to_vec() {
                    self.send_append(ctx, peer);
                }
                (index, self.current_term)
            }
        };
        if let Some(leadership) = self.leadership.as_mut() {
            leadership.waiters.insert(index, (term, request));
        }
    }

    /// Takes up waiting reads once the leader knows its commit index, starts a heartbeat round
    /// for them, and answers those a majority confirmed and the state machine has caught up with.
    fn serve_reads(&mut self, ctx: &mut Context<'_, Self>) {
        let commit_index = self.commit_index;
        let Some(leadership) = self.leadership.as_mut() else {
            return;
        };
        if leadership.reads.is_empty() || commit_index < leadership.term_start {
            return;
        }
        let next_round = leadership.round + 1;
        let mut new_round = false;
        for read in leadership
            .reads
            .iter_mut()
            .filter(|r| r.read_index.is_none())
        {
            read.read_index = Some(commit_index);
            read.round = next_round;
            new_round = true;
        }
        if new_round {
            self.broadcast_append(ctx);
        }
        let Some(leadership) = self.leadership.as_mut() else {
            return;
        };
        let acked: Vec<u64> = leadership.acked_round.values().copied().collect();
        let confirmed = quorum_index(&acked);
        let applied = self.last_applied;
        let (ready, waiting): (Vec<PendingRead>, Vec<PendingRead>) = leadership
            .reads
            .drain(..)
            .partition(|r| r.round <= confirmed && r.read_index.is_some_and(|i| i <= applied));
        leadership.reads = waiting;
        for read in ready {
            let value = self.store.get(&read.key).cloned();
            ctx.reply(read.request, KvReply::Value(value));
        }
    }

    // ----- handlers ----------------------------------------------------------------------------

    fn on_request_vote(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        term: u64,
        last_log: LogPosition,
    ) {
        let voter = Voter {
            current_term: self.current_term,
            voted_for: self.voted_for,
            last_log: self.last_log(),
        };
        let candidacy = Candidacy {
            term,
            candidate: from,
            last_log,
        };
        let granted = if self.config.election_restriction {
            may_grant_vote(&voter, &candidacy)
        } else {
            may_grant_vote_ignoring_logs(&voter, &candidacy)
        };
        if term > self.current_term {
            self.step_down(ctx, term);
        }
        if granted && self.voted_for != Some(from) {
            self.voted_for = Some(from);
            self.persist_term_and_vote(ctx);
        }
        if granted {
            self.reset_election_timer(ctx);
        }
        let reply = RaftMessage::RequestVoteResponse {
            term: self.current_term,
            vote_granted: granted,
        };
        ctx.send_when_durable(from, reply);
    }

    fn on_request_vote_response(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        term: u64,
        granted: bool,
    ) {
        if term > self.current_term {
            self.step_down(ctx, term);
            return;
        }
        if self.state != ServerState::Candidate || term != self.current_term {
            return; // a vote of an earlier election
        }
        let Some(votes) = self.votes.as_mut() else {
            return;
        };
        if votes.record(from, (), granted) == QuorumState::Reached {
            self.become_leader(ctx);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_append_entries(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        term: u64,
        prev: LogPosition,
        entries: Vec<Entry>,
        leader_commit: u64,
        round: u64,
    ) {
        if term < self.current_term {
            let reply = RaftMessage::AppendEntriesResponse {
                term: self.current_term,
                round,
                result: AppendResult::StaleTerm,
            };
            ctx.send_when_durable(from, reply);
            return;
        }
        // A leader of my term or a later one: follow it (a candidate of this term steps down but
        // keeps its vote).
        self.step_down(ctx, term);
        self.leader = Some(from);
        self.reset_election_timer(ctx);
        if !self.parked.is_empty() {
            self.release_parked(ctx);
        }
        let result = if log_matches(&self.terms, prev.index, prev.term) {
            let entry_terms: Vec<u64> = entries.iter().map(|e| e.term).collect();
            let plan = reconcile(&self.terms, prev.index, &entry_terms);
            if let Some(index) = plan.truncate_from {
                ctx.annotate(format!("conflicting entries from {index} removed"));
                self.truncate_from(ctx, index);
            }
            for entry in entries.into_iter().skip(plan.append_from) {
                self.append(ctx, entry);
            }
            let last_new = prev.index + entry_terms.len() as u64;
            self.commit_index = follower_commit_index(self.commit_index, leader_commit, last_new);
            self.apply_committed(ctx);
            AppendResult::Success {
                match_index: last_new,
            }
        } else {
            let (conflict_term, conflict_index) = conflict_hint(&self.terms, prev.index);
            AppendResult::LogMismatch {
                conflict_term,
                conflict_index,
            }
        };
        let reply = RaftMessage::AppendEntriesResponse {
            term: self.current_term,
            round,
            result,
        };
        ctx.send_when_durable(from, reply);
    }

    fn on_append_entries_response(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        term: u64,
        round: u64,
        result: AppendResult,
    ) {
        if term > self.current_term {
            self.step_down(ctx, term);
            return;
        }
        if self.state != ServerState::Leader || term != self.current_term {
            return; // an answer to an earlier term's message
        }
        let me = self.id;
        let last = self.last_index();
        let Some(leadership) = self.leadership.as_mut() else {
            return;
        };
        if from != me {
            let acked = leadership.acked_round.entry(from).or_default();
            *acked = (*acked).max(round);
        }
        match result {
            AppendResult::Success { match_index } => {
                let matched = leadership.match_index.entry(from).or_default();
                *matched = (*matched).max(match_index.min(last));
                let matched = *matched;
                let behind = from != me && {
                    let next = leadership.next_index.entry(from).or_insert(1);
                    *next = (*next).max(matched + 1);
                    leadership.sent_up_to.get(&from).copied().unwrap_or(0) < last
                };
                self.advance_commit_index(ctx);
                if behind {
                    self.send_append(ctx, from);
                }
            }
            AppendResult::LogMismatch {
                conflict_term,
                conflict_index,
            } => {
                let matched = leadership.match_index.get(&from).copied().unwrap_or(0);
                let next = leadership.next_index.get(&from).copied().unwrap_or(1);
                if next <= matched + 1 {
                    return; // stale: the follower has since matched up to next - 1
                }
                let hint = next_index_after_mismatch(&self.terms, conflict_term, conflict_index);
                leadership
                    .next_index
                    .insert(from, hint.clamp(matched + 1, next - 1));
                self.send_append(ctx, from);
            }
            AppendResult::StaleTerm => {}
        }
        self.serve_reads(ctx);
    }
}

impl Node for Raft {
    type Message = RaftMessage;
    type Timer = RaftTimer;
    type Operation = KvOp;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.id = ctx.id();
        self.incarnation = ctx.incarnation();
        self.recover(ctx);
        self.announce(ctx);
        self.reset_election_timer(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: ProcessId, message: RaftMessage) {
        match message {
            RaftMessage::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => self.on_request_vote(
                ctx,
                from,
                term,
                LogPosition::new(last_log_term, last_log_index),
            ),
            RaftMessage::RequestVoteResponse { term, vote_granted } => {
                self.on_request_vote_response(ctx, from, term, vote_granted)
            }
            RaftMessage::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                round,
            } => self.on_append_entries(
                ctx,
                from,
                term,
                LogPosition::new(prev_log_term, prev_log_index),
                entries,
                leader_commit,
                round,
            ),
            RaftMessage::AppendEntriesResponse {
                term,
                round,
                result,
            } => self.on_append_entries_response(ctx, from, term, round, result),
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: RaftTimer) {
        match (timer, self.state) {
            (RaftTimer::Election, ServerState::Leader) => {}
            (RaftTimer::Election, _) => self.start_election(ctx),
            (RaftTimer::Heartbeat, ServerState::Leader) => {
                self.broadcast_append(ctx);
                ctx.set_timer(RaftTimer::Heartbeat, self.config.heartbeat_interval_ticks);
            }
            (RaftTimer::Heartbeat, ServerState::Candidate) => self.remind_voters(ctx),
            (RaftTimer::Heartbeat, ServerState::Follower) => {}
        }
    }

    fn on_expired(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        if let Some((request, _)) = self.parked.take_expired(correlation) {
            let leader = self.leader;
            ctx.reply(request, KvReply::NotLeader { leader });
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: KvOp) {
        if let (ReadPath::Anywhere, KvOp::Read { key }) = (self.config.reads, &op) {
            ctx.reply(request, KvReply::Value(self.store.get(key).cloned()));
            return;
        }
        if self.state != ServerState::Leader {
            match self.leader {
                Some(leader) => ctx.reply(
                    request,
                    KvReply::NotLeader {
                        leader: Some(leader),
                    },
                ),
                None => {
                    let wait = self.config.election_timeout_ticks_max;
                    self.parked.insert(ctx, wait, (request, op));
                }
            }
            return;
        }
        match op {
            KvOp::Read { key } if self.config.reads == ReadPath::ReadIndex => {
                if let Some(leadership) = self.leadership.as_mut() {
                    leadership.reads.push(PendingRead {
                        request,
                        key,
                        read_index: None,
                        round: 0,
                    });
                }
                self.serve_reads(ctx);
            }
            op => self.propose(ctx, request, op),
        }
    }
}
