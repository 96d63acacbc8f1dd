//! # Two-phase execution, and three-phase with recovery
//!
//! *Patterns of Distributed Systems*: **Two-Phase Commit**, with **Idempotent Receiver**,
//! **Write-Ahead Log** and, in its smallest form, **Generation Clock** (the epoch that fences an
//! older coordinator). Gray, "Notes on Data Base Operating Systems" (1978) for the two phases;
//! Skeen, "Nonblocking Commit Protocols" (SIGMOD 1981) for the third; Mohan, Lindsay and
//! Obermarck, "Transaction Management in the R* Distributed Database Management System" (TODS
//! 1986) for presumed abort. Reference: spec §2.5 and §2.6.
//!
//! The counter of [`super::counter`] is kept on every server. Naive replication
//! ([`super::naive_replication`]) let the copies drift apart; here every increment is a
//! *transaction* that the server a client asks (its *coordinator*) runs in two phases:
//!
//! 1. **Accept** (phase one, "prepare"): every server stores the operation durably, without
//!    applying it, and says so. Participants never vote no: a server that already holds another
//!    transaction of the same counter makes the newcomer wait (a prepared operation is a lock, as
//!    in two-phase locking).
//! 2. **Commit** (phase two): once a majority accepted (the reference's rule; the textbook's
//!    atomic commit waits for every participant, [`Votes::All`]), the coordinator decides, makes
//!    the decision durable, tells everyone, and answers the client with the new value.
//!
//! The lock is what makes the new value right. A transaction holds the lock on a majority when it
//! is decided, and any two majorities share a server, so decisions on one counter follow one
//! another and each sees the last: the coordinator takes the newest committed state among the
//! majority that accepted ([`latest`]) and applies its increment to it ([`decide`]). The
//! committed state carries its version and the table of requests already applied, so a retried
//! increment is answered, not applied twice.
//!
//! **The blocking problem.** A participant that accepted cannot decide alone: the coordinator may
//! have committed (and told someone), or not. If the coordinator crashes after its participants
//! prepared, they hold the lock until it comes back; gets and increments of that counter wait.
//! When it restarts, a participant asks again ([`CommitMessage::Inquiry`]) and hears the durable
//! decision, or "abort" if none was made (*presumed abort*). A participant that gives up and
//! aborts alone breaks atomicity (the `abort-alone` variant; `tla/BrokenTwoPhaseAbortAlone.tla`).
//!
//! **Three phases.** The reference adds a phase zero ([`CommitMessage::Query`]): before its own
//! transaction, a coordinator asks a majority for pending ones and completes them, so that an
//! operation orphaned by a dead coordinator is finished by the next one. Which pending operation,
//! and how? The reference picks the largest request id and runs it again as a new operation
//! (kept as the `largest-id-recovery` variant): it applies an operation that already committed a
//! second time, and two recoverers complete two different operations at the same place. The
//! correct recovery is Paxos' rule in its smallest form: a recovering coordinator first takes a
//! higher *epoch* from a majority, and participants refuse messages of older epochs (fencing,
//! [`may_promise`], [`may_accept`]); each accepted proposal carries the exact state it leads to,
//! and the recoverer completes the one accepted at the highest epoch, unchanged ([`recovery`]).
//! Without fencing (`no-fencing`) two recoverers still choose different operations: that is the
//! lesson that leads to generation voting. A get asks a majority what they hold and answers the
//! newest committed value, fencing nobody, unless one of them reports an undecided proposal that
//! the rule would complete: it may have been decided and acknowledged, so the get completes it
//! first, with an epoch of its own ([`needs_recovery`]). A refused coordinator waits a random
//! while before its next try ([`backoff`]); retrying at once, two coordinators can fence each
//! other in turn for ever (the duelling proposers of "Paxos Made Simple", §2.4).
//!
//! **Durability** (the *durable decision* pattern, `tla/DurableDecision.tla`): every record goes
//! to the server's log before anything that depends on it leaves the server: an acceptance before
//! its reply, a promise before the reply, a decision before the commits and the client's answer.
//! A restarted server replays its log.
//!
//! Fixed from the reference (spec §5.2 items 4 and 5): a failed round answers the client
//! ("failed", or "may have been applied" when it may still happen); transaction ids come from the
//! server's seeded random stream, so a run replays from its seed; commits carry the state they
//! decide, so a server that missed the accept still applies them; a retried increment is applied
//! once; a recovery completes every pending operation a majority reports and then the client's
//! own request, which is no longer dropped.
//!
//! The coordinators exist twice: as the state machine of [`Server`], and as straight-line
//! `async` code in [`async_coordinator`] ([`AsyncServer`]), with a hand-written future beside it
//! ([`hand_written`]) that shows what the compiler makes of the two-phase coordinator's one
//! `.await`. All of them share the participant side and every rule in this module.

pub mod async_coordinator;
pub mod exercise;
mod explore;
pub mod hand_written;
mod server;

pub use async_coordinator::{AsyncServer, GetCoordinator};
pub use explore::{
    AsyncExplorer, GetExplorer, RecoveryRuleExplorer, ThreePhaseExplorer, TwoPhaseExplorer,
    invariants,
};
pub use server::Server;

use super::counter::{CounterOp, CounterReply};
use crate::message_kinds;
use crate::node::{Context, Correlation, IdempotentReceiver, Node, ProcessId, RequestId, Seen};
use crate::node::{Storage, Tick};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

// ----- identities ------------------------------------------------------------------------------------

/// A transaction's id, drawn from its coordinator's seeded random stream (the reference draws a
/// random UUID, so its runs never repeat).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TxId(pub u64);

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{:04x}", self.0 >> 48)
    }
}

/// A three-phase coordinator's epoch (a *Generation Clock*): a round, then the coordinator's id,
/// then its incarnation, so that no two coordinators, and no two lives of one, ever share one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Epoch {
    pub round: u64,
    pub node: ProcessId,
    pub incarnation: u64,
}

impl Epoch {
    /// Lower than every epoch a coordinator takes: what a server has promised before any query.
    pub const ZERO: Epoch = Epoch {
        round: 0,
        node: ProcessId(0),
        incarnation: 0,
    };
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e{}.{}", self.round, self.node.0)
    }
}

/// One increment, run as a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub id: TxId,
    pub coordinator: ProcessId,
    /// The client's request: a retry carries the same, so it is recognised.
    pub request: RequestId,
    pub key: String,
    pub delta: i64,
}

/// Which transaction produced a committed state.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub tx: TxId,
    pub request: RequestId,
}

/// A counter's committed state on one server: its value, its version (how many transactions
/// committed on it), the requests applied (the *Idempotent Receiver*'s table, replicated with the
/// value, so any server recognises a retry), and the transaction that made this version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterState {
    pub version: u64,
    pub value: i64,
    pub applied: IdempotentReceiver<i64>,
    pub by: Option<Origin>,
}

impl CounterState {
    /// The state one version on, with `tx` applied. `None` if the counter would overflow.
    pub fn apply(&self, tx: &Transaction) -> Option<CounterState> {
        let value = self.value.checked_add(tx.delta)?;
        let mut applied = self.applied.clone();
        applied.answer(tx.request, value);
        Some(CounterState {
            version: self.version + 1,
            value,
            applied,
            by: Some(Origin {
                tx: tx.id,
                request: tx.request,
            }),
        })
    }
}

// ----- configuration ---------------------------------------------------------------------------------

/// Two-phase, or three-phase with a phase zero that completes what a dead coordinator left.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phases {
    Two,
    Three,
}

/// How many participants must accept before a two-phase coordinator commits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Votes {
    /// A majority: the reference's two-phase execution.
    Majority,
    /// Every participant: the textbook's atomic commit (one server down, nothing commits).
    All,
}

/// "Which pending operation must a recovering coordinator complete first?" as a function a lesson
/// can replace: given the newest committed state a majority reported and the proposals it holds
/// undecided, the one to complete (unchanged), or `None`.
pub type RecoveryRule = fn(&CounterState, &[Prepared]) -> Option<Prepared>;

/// Which pending operation a three-phase coordinator completes first.
#[derive(Copy, Clone, Debug, Serialize, Deserialize)]
pub enum Recovery {
    /// The proposal accepted at the highest epoch, completed unchanged (Paxos' rule).
    HighestEpoch,
    /// The reference's stop-gap: the largest transaction id, run again as a new operation; the
    /// client's own request is dropped.
    LargestId,
    /// Any rule with the same signature, its choice completed unchanged (a learner's answer to
    /// the lesson's exercise).
    #[serde(skip)]
    Rule(RecoveryRule),
}

/// The knobs of the counter service's commit protocol.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    pub phases: Phases,
    pub votes: Votes,
    /// Two-phase: a prepared operation locks its counter (off: participants accept everything at
    /// once, and two transactions can both be decided on the same state).
    pub locks: bool,
    pub recovery: Recovery,
    /// Three-phase: participants refuse messages of an older epoch than they promised.
    pub fencing: bool,
    /// A broken two-phase participant: after this many unanswered inquiries it aborts alone.
    pub abort_alone_after: Option<u32>,
    /// How long a coordinator waits for a round's majority.
    pub round_timeout_ticks: Tick,
    /// How often a participant holding an undecided operation asks its coordinator.
    pub inquiry_ticks: Tick,
    /// Three-phase: how many times a refused coordinator tries again with a higher epoch.
    pub tries: u32,
    /// Three-phase: a refused coordinator waits up to this long before it tries again, so that
    /// two coordinators stop fencing each other in turn (a random wait, as Raft's elections do).
    pub backoff_ticks_max: Tick,
}

impl Config {
    /// Two-phase execution as the reference means it, with its silences fixed.
    pub fn two_phase() -> Config {
        Config {
            phases: Phases::Two,
            votes: Votes::Majority,
            locks: true,
            recovery: Recovery::HighestEpoch,
            fencing: true,
            abort_alone_after: None,
            round_timeout_ticks: 30,
            inquiry_ticks: 10,
            tries: 3,
            backoff_ticks_max: 10,
        }
    }

    /// Three-phase with the correct recovery: fencing by epoch, highest epoch completed.
    pub fn three_phase() -> Config {
        Config {
            phases: Phases::Three,
            ..Config::two_phase()
        }
    }

    /// The form a variant name stands for (`patterns explore --variant`), if there is one.
    pub fn variant(name: &str) -> Option<Config> {
        let two = Config::two_phase();
        let three = Config::three_phase();
        Some(match name {
            "two-phase" => two,
            "all-participants" => Config {
                votes: Votes::All,
                ..two
            },
            "abort-alone" => Config {
                abort_alone_after: Some(2),
                ..two
            },
            "no-locks" => Config {
                locks: false,
                ..two
            },
            "three-phase" => three,
            "largest-id-recovery" => Config {
                recovery: Recovery::LargestId,
                fencing: false,
                ..three
            },
            "no-fencing" => Config {
                fencing: false,
                ..three
            },
            _ => return None,
        })
    }
}

// ----- messages --------------------------------------------------------------------------------------

/// An operation a participant holds, undecided: the lock of two-phase, the accepted proposal of
/// three-phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepared {
    pub tx: Transaction,
    /// Three-phase only: the epoch it was accepted in and the state it leads to.
    pub accepted: Option<Accepted>,
}

/// A three-phase proposal: at `epoch`, the counter goes from `base` to `next` (one version on).
/// It carries the whole state, so that a recoverer completes exactly what was accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub epoch: Epoch,
    pub base: CounterState,
    pub next: CounterState,
}

impl Prepared {
    /// Two-phase: lock the counter for `tx`.
    pub fn lock(tx: Transaction) -> Prepared {
        Prepared { tx, accepted: None }
    }

    /// The version this proposal would create (three-phase).
    pub fn slot(&self) -> Option<u64> {
        self.accepted.as_ref().map(|a| a.next.version)
    }
}

/// A participant's answer to an accept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Vote {
    /// Stored (durably), and this is the newest state committed here.
    Accepted { committed: CounterState },
    /// Three-phase: this server promised a newer epoch.
    Refused { promised: Epoch },
    /// Three-phase: this version is already committed here; the coordinator is behind.
    Stale { committed: CounterState },
}

/// A participant's answer to a phase-zero query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Promise {
    /// Promised (durably) to refuse older epochs; here is what this server holds for the counter.
    Promised {
        committed: CounterState,
        pending: Option<Box<Prepared>>,
    },
    Refused {
        promised: Epoch,
    },
}

/// Coordinator ↔ participant messages: the reference's ACCEPT, COMMIT and (three-phase) QUERY
/// requests and responses, plus the abort, the inquiry of presumed abort, and a two-phase read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommitMessage {
    /// Phase one: hold this operation.
    Accept {
        correlation: Correlation,
        prepared: Prepared,
    },
    AcceptResponse {
        correlation: Correlation,
        vote: Vote,
    },
    /// Phase two: the transaction committed, and this is the state it made.
    Commit {
        key: String,
        tx: TxId,
        state: CounterState,
    },
    /// The transaction will never commit: release its lock.
    Abort { key: String, tx: TxId },
    /// A participant still holding `tx` asks its coordinator what was decided.
    Inquiry { key: String, tx: TxId },
    /// Three-phase, phase zero: promise `epoch`, and say what you hold.
    Query {
        correlation: Correlation,
        key: String,
        epoch: Epoch,
    },
    QueryResponse {
        correlation: Correlation,
        promise: Promise,
    },
    /// A get: the committed state (two-phase: once no operation holds the counter).
    Read {
        correlation: Correlation,
        key: String,
    },
    /// The committed state, and (three-phase) the proposal held undecided, if any.
    ReadResponse {
        correlation: Correlation,
        committed: CounterState,
        pending: Option<Box<Prepared>>,
    },
}

message_kinds!(CommitMessage => CommitKind {
    Accept, AcceptResponse, Commit, Abort, Inquiry, Query, QueryResponse, Read, ReadResponse
});

/// A server's timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitTimer {
    /// Ask the coordinator of the operation held on this counter what it decided.
    Inquire { key: String },
}

// ----- rules -----------------------------------------------------------------------------------------

/// The newest committed state among replies (the initial state if none has one).
pub fn latest<'a>(states: impl IntoIterator<Item = &'a CounterState>) -> CounterState {
    states
        .into_iter()
        .max_by_key(|s| s.version)
        .cloned()
        .unwrap_or_default()
}

/// What a coordinator does with a transaction once its counter's newest state is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Commit: the counter goes to this state.
    Commit(CounterState),
    /// The request was already applied (a retry): answer with the value it got then.
    Duplicate(i64),
    /// The client has moved on to a newer request: nobody waits for this one.
    Stale,
    /// The counter would overflow.
    Overflow,
}

/// The *Idempotent Receiver*'s rule, then the increment: a request the state has applied is
/// answered again, a new one is applied.
pub fn decide(base: &CounterState, tx: &Transaction) -> Decision {
    match base.applied.seen(tx.request) {
        Seen::Answered(value) => Decision::Duplicate(*value),
        Seen::Stale | Seen::InProgress => Decision::Stale,
        Seen::New => base.apply(tx).map_or(Decision::Overflow, Decision::Commit),
    }
}

/// Whether a two-phase participant may lock its counter for `tx`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Lock {
    /// Nobody holds it: take it.
    Free,
    /// `tx` holds it already (a duplicate accept): say so again.
    Ours,
    /// Another transaction holds it: wait until it is decided.
    Held,
}

pub fn lock(pending: Option<&Prepared>, tx: TxId) -> Lock {
    match pending {
        None => Lock::Free,
        Some(p) if p.tx.id == tx => Lock::Ours,
        Some(_) => Lock::Held,
    }
}

/// May a three-phase participant that promised `promised` promise `epoch`? Only a strictly newer
/// one: every coordinator's epoch is its own, so an equal one is a duplicate.
pub fn may_promise(promised: Epoch, epoch: Epoch, fencing: bool) -> bool {
    !fencing || epoch > promised
}

/// A three-phase participant's answer to a proposal, before it stores anything.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AcceptRule {
    Accept,
    /// Fenced: the proposal's epoch is older than the one promised.
    Refuse,
    /// The version it would create is already committed here.
    Stale,
}

pub fn may_accept(
    promised: Epoch,
    committed_version: u64,
    proposal: &Accepted,
    fencing: bool,
) -> AcceptRule {
    if fencing && proposal.epoch < promised {
        AcceptRule::Refuse
    } else if proposal.next.version <= committed_version {
        AcceptRule::Stale
    } else {
        AcceptRule::Accept
    }
}

/// Which pending operation, among those a majority reported, a three-phase coordinator completes
/// before its own, given the newest committed state `base`; `None` if none.
///
/// The correct rule: among proposals for a version not yet committed, the one at the highest
/// version and, there, the highest epoch. If some proposal was accepted by a majority (it may
/// have been decided), one of this majority reports it, and no newer epoch can have accepted
/// anything else for that version, so this rule finds it (Lamport, "Paxos Made Simple", §2.2).
/// The reference's rule: the largest transaction id, whatever it is.
pub fn recovery(base: &CounterState, pending: &[Prepared], rule: Recovery) -> Option<Prepared> {
    match rule {
        Recovery::HighestEpoch => complete_first(base, pending),
        Recovery::LargestId => pending.iter().max_by_key(|p| p.tx.id).cloned(),
        Recovery::Rule(rule) => rule(base, pending),
    }
}

/// The correct rule of [`recovery`], as a [`RecoveryRule`].
pub fn complete_first(base: &CounterState, pending: &[Prepared]) -> Option<Prepared> {
    pending
        .iter()
        .filter_map(|p| p.accepted.as_ref().map(|a| (p, a)))
        .filter(|(_, a)| a.next.version > base.version)
        .max_by_key(|(_, a)| (a.next.version, a.epoch))
        .map(|(p, _)| p.clone())
}

/// A row of [`RECOVERY_CASES`]: the newest committed version a majority reported, the proposals
/// it holds undecided as (transaction, epoch round, version it would create), the one a
/// recovering coordinator must complete first, and why.
pub type RecoveryCase = (
    u64,
    &'static [(&'static str, u64, u64)],
    Option<&'static str>,
    &'static str,
);

/// "Which pending operation must a recovering coordinator complete first?", case by case: the
/// table [`recovery`]'s correct rule is tested against, and a learner's rule too.
pub const RECOVERY_CASES: &[RecoveryCase] = &[
    (
        1,
        &[],
        None,
        "nothing undecided: only the client's own operation",
    ),
    (
        1,
        &[("a", 1, 2)],
        Some("a"),
        "a proposal for the next version may have been decided: complete it",
    ),
    (
        1,
        &[("a", 1, 2), ("b", 3, 2)],
        Some("b"),
        "two proposals for one version: the later epoch's, whose coordinator saw whatever was \
         decided before it",
    ),
    (
        1,
        &[("z", 1, 2), ("b", 3, 2)],
        Some("b"),
        "the epoch decides, not the larger transaction id the reference picks",
    ),
    (
        2,
        &[("a", 5, 2)],
        None,
        "version 2 is committed already: a stale proposal, whatever its epoch",
    ),
    (
        1,
        &[("a", 4, 2), ("b", 2, 3)],
        Some("b"),
        "b was built on a decided version 2: the highest version first",
    ),
    (
        1,
        &[("a", 2, 2), ("a", 2, 2), ("c", 1, 2)],
        Some("a"),
        "the same proposal reported twice",
    ),
];

/// A row of [`RECOVERY_CASES`] as a committed state and proposals (on the counter `c`; each
/// transaction adds 1, the transaction named `a` has id 97).
pub fn recovery_case(version: u64, pending: &[(&str, u64, u64)]) -> (CounterState, Vec<Prepared>) {
    let tx = |name: &str, sequence| Transaction {
        id: TxId(name.bytes().fold(0, |id, b| id * 256 + u64::from(b))),
        coordinator: ProcessId(0),
        request: RequestId {
            client: ProcessId(100 + sequence as u16),
            sequence,
        },
        key: "c".to_string(),
        delta: 1,
    };
    let at = |version: u64| {
        (1..=version).fold(CounterState::default(), |state, v| {
            state.apply(&tx(&format!("v{v}"), v)).unwrap_or(state)
        })
    };
    let proposals = pending
        .iter()
        .map(|&(name, round, version)| {
            let tx = tx(name, 0);
            let base = at(version.saturating_sub(1));
            let next = base.apply(&tx).unwrap_or_default();
            let epoch = Epoch {
                round,
                node: ProcessId((round % 3) as u16),
                incarnation: 1,
            };
            Prepared {
                tx,
                accepted: Some(Accepted { epoch, base, next }),
            }
        })
        .collect();
    (at(version), proposals)
}

/// The name of a [`recovery_case`] transaction (`a` for id 97).
pub fn case_name(tx: TxId) -> String {
    let bytes: Vec<u8> =
        tx.0.to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What a three-phase coordinator is asked to do for its client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Work {
    Get,
    Increment(Transaction),
    /// Nothing any more: the reference's recovery drops the client's request.
    Dropped,
}

/// A three-phase coordinator's next step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Phase one (and then two) for this proposal, at the coordinator's epoch.
    Propose(Prepared),
    /// Done: answer the client (or not, if nobody waits).
    Answer(Option<CounterReply>),
}

/// The three-phase coordinator's rule, once a majority promised its `epoch`, or once it committed
/// a proposal: `base` is the newest committed state, `pending` what the majority holds
/// undecided. First complete the pending operation [`recovery`] names; then the client's own.
/// After each commit the coordinator asks again with the committed state and nothing pending, so
/// a client's own transaction completed as a recovered one is answered as a retry
/// ([`decide`]'s duplicate).
pub fn plan(
    rule: Recovery,
    epoch: Epoch,
    base: &CounterState,
    pending: &[Prepared],
    work: &mut Work,
) -> Step {
    if let Some(recovered) = recovery(base, pending, rule) {
        let accepted = match (rule, &recovered.accepted) {
            (Recovery::HighestEpoch | Recovery::Rule(_), Some(a)) => Accepted {
                epoch,
                base: a.base.clone(),
                next: a.next.clone(),
            },
            // The reference runs the pending operation again on the newest state, as if new, and
            // drops the request of the client that is waiting.
            _ => {
                *work = Work::Dropped;
                match base.apply(&recovered.tx) {
                    Some(next) => Accepted {
                        epoch,
                        base: base.clone(),
                        next,
                    },
                    None => return Step::Answer(None),
                }
            }
        };
        return Step::Propose(Prepared {
            tx: recovered.tx.clone(),
            accepted: Some(accepted),
        });
    }
    let tx = match work {
        Work::Get => return Step::Answer(Some(CounterReply::Value { value: base.value })),
        Work::Dropped => return Step::Answer(None),
        Work::Increment(tx) => tx,
    };
    match decide(base, tx) {
        Decision::Commit(next) => Step::Propose(Prepared {
            tx: tx.clone(),
            accepted: Some(Accepted {
                epoch,
                base: base.clone(),
                next,
            }),
        }),
        Decision::Duplicate(value) => Step::Answer(Some(CounterReply::Incremented { value })),
        Decision::Stale => Step::Answer(None),
        Decision::Overflow => {
            Step::Answer(Some(CounterReply::failed("the counter would overflow")))
        }
    }
}

/// Whether a get can answer from what a majority reported: nothing undecided that the recovery
/// rule would complete first. If something is (it may have been decided), the get must complete
/// it, with an epoch of its own, before it answers.
pub fn needs_recovery(base: &CounterState, pending: &[Prepared], rule: Recovery) -> bool {
    recovery(base, pending, rule).is_some()
}

/// How long a refused coordinator waits before its `tries`-th try: from 1 to `max` ticks, drawn
/// uniformly from a stream seeded by the `jitter` its request got from the server's seeded
/// stream and the try's number. (Drawn once per request, so the state machine and the coroutines
/// take the server's random numbers in the same order.)
pub fn backoff(jitter: u64, tries: u32, max: Tick) -> Tick {
    let mut rng = ChaCha8Rng::seed_from_u64(jitter ^ u64::from(tries));
    rng.random_range(1..=max.max(1))
}

/// The next epoch of a coordinator that has seen rounds up to `highest_round`.
pub fn next_epoch(highest_round: u64, node: ProcessId, incarnation: u64) -> Epoch {
    Epoch {
        round: highest_round + 1,
        node,
        incarnation,
    }
}

// ----- the log ---------------------------------------------------------------------------------------

/// What a server writes to its log. Its state is these records, replayed in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    Promised {
        key: String,
        epoch: Epoch,
    },
    Prepared {
        prepared: Prepared,
    },
    /// Learnt that `tx` committed, making `state` (applied if newer than the state held).
    Committed {
        key: String,
        tx: TxId,
        state: CounterState,
    },
    Aborted {
        key: String,
        tx: TxId,
    },
    /// This server, coordinating `tx`, decided to commit it.
    Decided {
        key: String,
        tx: TxId,
        state: CounterState,
    },
}

/// What a server learnt of a transaction's fate.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Committed,
    Aborted,
}

// ----- the replica: participant state and the coordinator's durable memory ---------------------------

/// The nodes that run this protocol: the state machine [`Server`] and the coroutine
/// [`AsyncServer`].
pub trait CommitNode:
    Node<Message = CommitMessage, Timer = CommitTimer, Operation = CounterOp>
{
}

impl<N: Node<Message = CommitMessage, Timer = CommitTimer, Operation = CounterOp>> CommitNode
    for N
{
}

/// A server's copy of every counter, what it holds undecided, what it promised, and, as a
/// coordinator, what it decided and what it is running.
#[derive(Clone, Debug)]
pub struct Replica {
    config: Config,
    committed: BTreeMap<String, CounterState>,
    pending: BTreeMap<String, Prepared>,
    promised: BTreeMap<String, Epoch>,
    /// Two-phase: accepts and reads waiting for a counter's lock, in arrival order (volatile).
    waiting: BTreeMap<String, VecDeque<(ProcessId, CommitMessage)>>,
    outcomes: BTreeMap<TxId, Outcome>,
    decisions: BTreeMap<TxId, (String, CounterState)>,
    /// Transactions this server coordinates and has not decided yet, with their requests
    /// (volatile).
    running: BTreeMap<TxId, RequestId>,
    highest_round: u64,
    /// Inquiries sent about the operation held on each counter, unanswered so far.
    inquiries: BTreeMap<String, u32>,
}

impl Replica {
    pub fn new(config: Config) -> Replica {
        Replica {
            config,
            committed: BTreeMap::new(),
            pending: BTreeMap::new(),
            promised: BTreeMap::new(),
            waiting: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            decisions: BTreeMap::new(),
            running: BTreeMap::new(),
            highest_round: 0,
            inquiries: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The counter `key` on this server (`None`: no increment committed here, the reference's
    /// `getCounterValue`).
    pub fn value(&self, key: &str) -> Option<i64> {
        self.committed.get(key).map(|s| s.value)
    }

    /// The committed state of every counter this server holds.
    pub fn committed(&self) -> &BTreeMap<String, CounterState> {
        &self.committed
    }

    /// The committed state of `key` (the initial state if none).
    pub fn state(&self, key: &str) -> CounterState {
        self.committed.get(key).cloned().unwrap_or_default()
    }

    /// The undecided operation this server holds for `key`, if any.
    pub fn pending(&self, key: &str) -> Option<&Prepared> {
        self.pending.get(key)
    }

    /// What this server learnt of each transaction it heard of.
    pub fn outcomes(&self) -> &BTreeMap<TxId, Outcome> {
        &self.outcomes
    }

    /// The transactions this server decided to commit, as a coordinator.
    pub fn decisions(&self) -> &BTreeMap<TxId, (String, CounterState)> {
        &self.decisions
    }

    /// The epoch this server promised for `key`.
    pub fn promised(&self, key: &str) -> Epoch {
        self.promised.get(key).copied().unwrap_or(Epoch::ZERO)
    }

    /// Requests waiting for `key`'s lock.
    pub fn waiting(&self, key: &str) -> usize {
        self.waiting.get(key).map_or(0, VecDeque::len)
    }

    /// Applies a record to the state in memory (at once, or when replaying the log).
    pub(crate) fn remember(&mut self, record: &Record) {
        match record {
            Record::Promised { key, epoch } => {
                self.highest_round = self.highest_round.max(epoch.round);
                let promised = self.promised.entry(key.clone()).or_insert(Epoch::ZERO);
                *promised = (*promised).max(*epoch);
            }
            Record::Prepared { prepared } => {
                if let Some(a) = &prepared.accepted {
                    self.highest_round = self.highest_round.max(a.epoch.round);
                }
                self.pending
                    .insert(prepared.tx.key.clone(), prepared.clone());
            }
            Record::Committed { key, tx, state } => {
                self.outcomes.insert(*tx, Outcome::Committed);
                let held = self.committed.entry(key.clone()).or_default();
                if state.version > held.version {
                    *held = state.clone();
                }
                let version = held.version;
                if self
                    .pending
                    .get(key)
                    .is_some_and(|p| p.tx.id == *tx || p.slot().is_some_and(|s| s <= version))
                {
                    self.pending.remove(key);
                }
            }
            Record::Aborted { key, tx } => {
                self.outcomes.insert(*tx, Outcome::Aborted);
                if self.pending.get(key).is_some_and(|p| p.tx.id == *tx) {
                    self.pending.remove(key);
                }
            }
            Record::Decided { key, tx, state } => {
                self.decisions.insert(*tx, (key.clone(), state.clone()));
            }
        }
    }

    /// Appends a record to the log (durable once synced) and applies it.
    fn write(&mut self, storage: &mut dyn Storage, record: Record) {
        storage.append_json(&record);
        self.remember(&record);
    }

    /// A (re)started server: its state is what its log holds; a held operation is asked about.
    pub(crate) fn recover<N: CommitNode>(&mut self, ctx: &mut Context<'_, N>) {
        *self = Replica::new(self.config.clone());
        for index in 1..=ctx.storage().last_index() {
            match ctx.storage().entry_json::<Record>(index) {
                Ok(Some(record)) => self.remember(&record),
                Ok(None) => {}
                Err(e) => ctx.annotate(format!("skipped {e}")),
            }
        }
        let held: Vec<String> = self.pending.keys().cloned().collect();
        for key in held {
            ctx.set_timer(CommitTimer::Inquire { key }, self.config.inquiry_ticks);
        }
    }

    // ----- participant side ----------------------------------------------------------------------

    /// A message for the participant side; gives back what only a coordinator handles.
    pub(crate) fn on_participant_message<N: CommitNode>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: ProcessId,
        message: CommitMessage,
    ) -> Option<CommitMessage> {
        match message {
            CommitMessage::Accept {
                correlation,
                prepared,
            } => match prepared.accepted {
                None => self.accept_lock(ctx, from, correlation, prepared),
                Some(_) => self.accept_proposal(ctx, from, correlation, prepared),
            },
            CommitMessage::Read { correlation, key } => self.read(ctx, from, correlation, key),
            CommitMessage::Query {
                correlation,
                key,
                epoch,
            } => self.query(ctx, from, correlation, key, epoch),
            CommitMessage::Commit { key, tx, state } => self.learn_commit(ctx, key, tx, state),
            CommitMessage::Abort { key, tx } => self.learn_abort(ctx, key, tx),
            CommitMessage::Inquiry { key, tx } => self.answer_inquiry(ctx, from, key, tx),
            other => return Some(other),
        }
        None
    }

    /// Two-phase accept: lock the counter, durably, and say so with the newest committed state.
    fn accept_lock<N: CommitNode>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: ProcessId,
        correlation: Correlation,
        prepared: Prepared,
    ) {
        let key = prepared.tx.key.clone();
        if self.outcomes.contains_key(&prepared.tx.id) {
            return; // decided already: a late or duplicated accept
        }
        let rule = match self.config.locks {
            true => lock(self.pending.get(&key), prepared.tx.id),
            false => Lock::Free,
        };
        match rule {
            Lock::Held => {
                let message = CommitMessage::Accept {
                    correlation,
                    prepared,
                };
                self.waiting
                    .entry(key)
                    .or_default()
                    .push_back((from, message));
                return;
            }
            Lock::Free => {
                self.write(ctx.storage(), Record::Prepared { prepared });
                self.inquiries.insert(key.clone(), 0);
                ctx.set_timer(
                    CommitTimer::Inquire { key: key.clone() },
                    self.config.inquiry_ticks,
                );
            }
            Lock::Ours => {}
        }
        let vote = Vote::Accepted {
            committed: self.state(&key),
        };
        ctx.send_when_durable(from, CommitMessage::AcceptResponse { correlation, vote });
    }

    /// Three-phase accept: fenced by the epoch promised; catches up to the proposal's base.
    fn accept_proposal<N: CommitNode>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: ProcessId,
        correlation: Correlation,
        prepared: Prepared,
    ) {
        let key = prepared.tx.key.clone();
        let Some(proposal) = prepared.accepted.clone() else {
            return;
        };
        let promised = self.promised(&key);
        let committed = self.state(&key);
        let vote = match may_accept(promised, committed.version, &proposal, self.config.fencing) {
            AcceptRule::Refuse => Vote::Refused { promised },
            AcceptRule::Stale => Vote::Stale { committed },
            AcceptRule::Accept => {
                if proposal.base.version > committed.version {
                    if let Some(origin) = proposal.base.by {
                        let record = Record::Committed {
                            key: key.clone(),
                            tx: origin.tx,
                            state: proposal.base.clone(),
                        };
                        self.write(ctx.storage(), record);
                    }
                }
                if proposal.epoch > promised {
                    let epoch = proposal.epoch;
                    self.write(
                        ctx.storage(),
                        Record::Promised {
                            key: key.clone(),
                            epoch,
                        },
                    );
                }
                self.write(ctx.storage(), Record::Prepared { prepared });
                self.inquiries.insert(key.clone(), 0);
                ctx.set_timer(
                    CommitTimer::Inquire { key: key.clone() },
                    self.config.inquiry_ticks,
                );
                Vote::Accepted {
                    committed: self.state(&key),
                }
            }
        };
        ctx.send_when_durable(from, CommitMessage::AcceptResponse { correlation, vote });
    }

    /// A get: the newest committed state. Two-phase answers once no undecided operation holds
    /// the counter (until then it could be decided either way, and a value read now could go
    /// back); three-phase answers at once, with the proposal it holds, and lets the reader decide
    /// what to do about it.
    fn read<N: CommitNode>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: ProcessId,
        correlation: Correlation,
        key: String,
    ) {
        let locked = self.config.phases == Phases::Two && self.config.locks;
        if locked && self.pending.contains_key(&key) {
            let message = CommitMessage::Read {
                correlation,
                key: key.clone(),
            };
            self.waiting
                .entry(key)
                .or_default()
                .push_back((from, message));
            return;
        }
        let message = CommitMessage::ReadResponse {
            correlation,
            committed: self.state(&key),
            pending: self.pending.get(&key).cloned().map(Box::new),
        };
        ctx.send_when_durable(from, message);
    }

    /// Three-phase phase zero: promise the epoch (durably) and report what is held.
    fn query<N: CommitNode>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: ProcessId,
        correlation: Correlation,
        key: String,
        epoch: Epoch,
    ) {
        let promised = self.promised(&key);
        if !may_promise(promised, epoch, self.config.fencing) {
            let promise = Promise::Refused { promised };
            ctx.send(
                from,
                CommitMessage::QueryResponse {
                    correlation,
                    promise,
                },
            );
            return;
        }
        if epoch > promised {
            self.write(
                ctx.storage(),
                Record::Promised {
                    key: key.clone(),
                    epoch,
                },
            );
        }
        let promise = Promise::Promised {
            committed: self.state(&key),
            pending: self.pending.get(&key).cloned().map(Box::new),
        };
        ctx.send_when_durable(
            from,
            CommitMessage::QueryResponse {
                correlation,
                promise,
            },
        );
    }

    /// A commit: apply its state if newer, release the operation it decides, serve who waited.
    fn learn_commit<N: CommitNode>(
        &mut self,
        ctx: &mut Context<'_, N>,
        key: String,
        tx: TxId,
        state: CounterState,
    ) {
        match self.outcomes.get(&tx) {
            // Only a participant that aborted alone gets here: it stays aborted (the TLA+
            // spec's LearnCommit needs "none" or "prepared").
            Some(Outcome::Aborted) => return,
            Some(Outcome::Committed)
                if state.version <= self.state(&key).version
                    && self.pending.get(&key).is_none_or(|p| p.tx.id != tx) =>
            {
                return; // a duplicate: nothing to learn
            }
            _ => {}
        }
        self.write(
            ctx.storage(),
            Record::Committed {
                key: key.clone(),
                tx,
                state,
            },
        );
        ctx.sync();
        self.serve_waiting(ctx, &key);
    }

    /// An abort: release the operation, or forget it before it is accepted.
    fn learn_abort<N: CommitNode>(&mut self, ctx: &mut Context<'_, N>, key: String, tx: TxId) {
        if self.outcomes.contains_key(&tx) {
            return;
        }
        if let Some(queue) = self.waiting.get_mut(&key) {
            queue.retain(|(_, m)| !matches!(m, CommitMessage::Accept { prepared, .. } if prepared.tx.id == tx));
        }
        if self.pending.get(&key).is_some_and(|p| p.tx.id == tx) {
            self.write(
                ctx.storage(),
                Record::Aborted {
                    key: key.clone(),
                    tx,
                },
            );
            ctx.sync();
            self.serve_waiting(ctx, &key);
        } else {
            // Never accepted here: remember it only in memory, so a late accept is ignored.
            self.outcomes.insert(tx, Outcome::Aborted);
        }
    }

    /// The lock on `key` may be free: hand it to the requests that waited, in order.
    fn serve_waiting<N: CommitNode>(&mut self, ctx: &mut Context<'_, N>, key: &str) {
        while !self.pending.contains_key(key) {
            let Some((from, message)) = self.waiting.get_mut(key).and_then(VecDeque::pop_front)
            else {
                return;
            };
            self.on_participant_message(ctx, from, message);
        }
    }

    /// The inquiry timer of `key`: still holding an operation? Ask its coordinator again, or, as
    /// the broken `abort-alone` participant, give up and abort alone.
    pub(crate) fn on_inquire<N: CommitNode>(&mut self, ctx: &mut Context<'_, N>, key: String) {
        let Some(prepared) = self.pending.get(&key) else {
            return;
        };
        let tx = prepared.tx.id;
        let coordinator = prepared.tx.coordinator;
        let asked = self.inquiries.entry(key.clone()).or_default();
        if self
            .config
            .abort_alone_after
            .is_some_and(|limit| *asked >= limit)
        {
            ctx.annotate(format!("gives up waiting and aborts {tx} alone"));
            self.write(
                ctx.storage(),
                Record::Aborted {
                    key: key.clone(),
                    tx,
                },
            );
            ctx.sync();
            self.serve_waiting(ctx, &key);
            return;
        }
        *asked += 1;
        ctx.send(
            coordinator,
            CommitMessage::Inquiry {
                key: key.clone(),
                tx,
            },
        );
        ctx.set_timer(CommitTimer::Inquire { key }, self.config.inquiry_ticks);
    }

    /// A coordinator asked about `tx`: the durable decision, or "abort" if there is none and it
    /// is not running (presumed abort; two-phase only: in three-phase another coordinator may
    /// still complete it).
    fn answer_inquiry<N: CommitNode>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: ProcessId,
        key: String,
        tx: TxId,
    ) {
        if self.running.contains_key(&tx) {
            return; // still collecting votes: the participant asks again later
        }
        if let Some((key, state)) = self.decisions.get(&tx) {
            let message = CommitMessage::Commit {
                key: key.clone(),
                tx,
                state: state.clone(),
            };
            // The decision may still be on its way to the disk.
            ctx.send_when_durable(from, message);
        } else if self.config.phases == Phases::Two {
            ctx.send(from, CommitMessage::Abort { key, tx });
        }
    }

    // ----- coordinator side: what the state machine and the coroutines share ----------------------

    /// What a coordinator does with a new client request before any message: answer a retry of
    /// a request this server knows applied, ignore one it is already running, or start.
    pub(crate) fn admit(&self, request: RequestId, op: &CounterOp) -> Admission {
        let CounterOp::Increment { key, .. } = op else {
            return Admission::Start;
        };
        if self.running.values().any(|r| *r == request) {
            return Admission::Ignore;
        }
        match self.state(key).applied.seen(request) {
            Seen::Answered(value) => Admission::Answer(CounterReply::Incremented { value: *value }),
            Seen::Stale | Seen::InProgress => Admission::Ignore,
            Seen::New => Admission::Start,
        }
    }

    /// A new transaction for a client's increment; `id` comes from the server's seeded stream.
    pub(crate) fn begin(
        &mut self,
        id: TxId,
        coordinator: ProcessId,
        request: RequestId,
        key: String,
        delta: i64,
    ) -> Transaction {
        self.running.insert(id, request);
        Transaction {
            id,
            coordinator,
            request,
            key,
            delta,
        }
    }

    /// The transaction is abandoned: inquiries no longer find it running, and (two-phase) hear
    /// "abort".
    pub(crate) fn finish(&mut self, tx: TxId) {
        self.running.remove(&tx);
    }

    /// The record of a commit decision. The coordinator applies it now and writes it before the
    /// commits and the client's answer leave (decide, make it durable, then answer).
    pub(crate) fn decided(&mut self, tx: &Transaction, state: &CounterState) -> Record {
        self.running.remove(&tx.id);
        let record = Record::Decided {
            key: tx.key.clone(),
            tx: tx.id,
            state: state.clone(),
        };
        self.remember(&record);
        record
    }

    /// The epoch of a new phase zero, above every round this server has seen.
    pub(crate) fn take_epoch(&mut self, node: ProcessId, incarnation: u64) -> Epoch {
        let epoch = next_epoch(self.highest_round, node, incarnation);
        self.highest_round = epoch.round;
        epoch
    }

    /// A refusal showed a newer epoch: the next one goes above it.
    pub(crate) fn saw_epoch(&mut self, epoch: Epoch) {
        self.highest_round = self.highest_round.max(epoch.round);
    }
}

/// What a coordinator does with a new client request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    Start,
    Answer(CounterReply),
    Ignore,
}

/// The message that carries a commit decision to every server, the coordinator included (it
/// learns its own decision as a participant does, and so releases its own lock).
pub(crate) fn commit_message(tx: &Transaction, state: &CounterState) -> CommitMessage {
    CommitMessage::Commit {
        key: tx.key.clone(),
        tx: tx.id,
        state: state.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(id: u64, client: u16, sequence: u64, delta: i64) -> Transaction {
        Transaction {
            id: TxId(id),
            coordinator: ProcessId(0),
            request: RequestId {
                client: ProcessId(client),
                sequence,
            },
            key: "c".into(),
            delta,
        }
    }

    fn epoch(round: u64, node: u16) -> Epoch {
        Epoch {
            round,
            node: ProcessId(node),
            incarnation: 1,
        }
    }

    fn state_after(txs: &[Transaction]) -> CounterState {
        txs.iter()
            .fold(CounterState::default(), |s, t| s.apply(t).unwrap())
    }

    #[test]
    fn a_decision_applies_a_new_request_and_answers_a_retry() {
        let first = tx(1, 9, 1, 2);
        let base = state_after(std::slice::from_ref(&first));
        // (transaction, decision)
        let table = [
            (
                tx(2, 9, 2, 3),
                Decision::Commit(base.apply(&tx(2, 9, 2, 3)).unwrap()),
            ),
            (tx(3, 9, 1, 2), Decision::Duplicate(2)), // the same request, another transaction
            (tx(4, 9, 0, 2), Decision::Stale),        // older than the client's newest
            (tx(5, 8, 1, i64::MAX), Decision::Overflow),
        ];
        for (t, expected) in table {
            assert_eq!(decide(&base, &t), expected, "{t:?}");
        }
        assert_eq!(base.apply(&tx(2, 9, 2, 3)).unwrap().version, 2);
    }

    #[test]
    fn the_newest_state_wins_and_nothing_means_zero() {
        let a = state_after(&[tx(1, 9, 1, 2)]);
        let b = state_after(&[tx(1, 9, 1, 2), tx(2, 8, 1, 5)]);
        assert_eq!(latest([&a, &b, &CounterState::default()]).value, 7);
        assert_eq!(latest([]), CounterState::default());
    }

    #[test]
    fn a_lock_is_free_ours_or_held() {
        let held = Prepared::lock(tx(1, 9, 1, 1));
        assert_eq!(lock(None, TxId(1)), Lock::Free);
        assert_eq!(lock(Some(&held), TxId(1)), Lock::Ours);
        assert_eq!(lock(Some(&held), TxId(2)), Lock::Held);
    }

    #[test]
    fn fencing_refuses_older_epochs() {
        let proposal = |round, version| Accepted {
            epoch: epoch(round, 1),
            base: CounterState::default(),
            next: CounterState {
                version,
                ..CounterState::default()
            },
        };
        // (promised, committed version, proposal, fencing, rule)
        let table = [
            (epoch(2, 0), 0, proposal(2, 1), true, AcceptRule::Accept), // equal epochs: its own
            (epoch(3, 0), 0, proposal(2, 1), true, AcceptRule::Refuse),
            (epoch(3, 0), 0, proposal(2, 1), false, AcceptRule::Accept), // no-fencing
            (epoch(1, 0), 4, proposal(2, 4), true, AcceptRule::Stale),   // version 4 committed
        ];
        for (promised, committed, p, fencing, expected) in table {
            assert_eq!(
                may_accept(promised, committed, &p, fencing),
                expected,
                "{p:?}"
            );
        }
        assert!(may_promise(epoch(1, 2), epoch(2, 0), true));
        assert!(
            !may_promise(epoch(2, 0), epoch(2, 0), true),
            "a duplicate query"
        );
        assert!(
            !may_promise(epoch(2, 1), epoch(2, 0), true),
            "ties go to the node id"
        );
        assert!(may_promise(epoch(5, 1), epoch(2, 0), false));
        assert!(next_epoch(7, ProcessId(2), 3) > epoch(7, 9));
    }

    #[test]
    fn recovery_completes_the_highest_epoch_not_the_largest_id() {
        let base = state_after(&[tx(1, 9, 1, 1)]); // version 1
        let pending = |id: u64, round, version| Prepared {
            tx: tx(id, 8, id, 1),
            accepted: Some(Accepted {
                epoch: epoch(round, 0),
                base: base.clone(),
                next: CounterState {
                    version,
                    ..CounterState::default()
                },
            }),
        };
        let reported = [
            pending(50, 1, 2), // the largest id, at an older epoch
            pending(20, 3, 2), // accepted at the highest epoch for version 2
            pending(90, 9, 1), // version 1 is committed: stale, whatever its epoch or id
        ];
        let correct = recovery(&base, &reported, Recovery::HighestEpoch).unwrap();
        assert_eq!(correct.tx.id, TxId(20));
        let reference = recovery(&base, &reported, Recovery::LargestId).unwrap();
        assert_eq!(
            reference.tx.id,
            TxId(90),
            "the reference re-runs even a committed one"
        );
        assert!(recovery(&base, &reported[2..], Recovery::HighestEpoch).is_none());
    }

    #[test]
    fn the_recovery_rule_holds_every_case_of_the_table() {
        for &(version, pending, expected, why) in RECOVERY_CASES {
            let (base, pending) = recovery_case(version, pending);
            assert_eq!(base.version, version, "{why}");
            let chosen = recovery(&base, &pending, Recovery::HighestEpoch);
            assert_eq!(
                chosen.map(|p| case_name(p.tx.id)).as_deref(),
                expected,
                "{why}"
            );
        }
        let (_, pending) = recovery_case(1, &[("z", 1, 2), ("b", 3, 2)]);
        assert_eq!(case_name(pending[0].tx.id), "z");
        assert!(pending[0].tx.id > pending[1].tx.id, "z has the larger id");
        assert_eq!(pending[1].slot(), Some(2));
    }

    #[test]
    fn a_backoff_stays_within_its_bounds_and_varies_from_try_to_try() {
        for jitter in [0, 1, 0xdead_beef, u64::MAX] {
            for tries in 2..20 {
                let wait = backoff(jitter, tries, 10);
                assert!((1..=10).contains(&wait), "{jitter:x} {tries}: {wait}");
                assert_eq!(backoff(jitter, tries, 0), 1, "no room: the shortest wait");
            }
        }
        let waits: std::collections::BTreeSet<Tick> = (2..10)
            .map(|t| backoff(0x0123_4567_89ab_cdef, t, 10))
            .collect();
        assert!(
            waits.len() > 2,
            "one request's tries wait different whiles: {waits:?}"
        );
        let requests: std::collections::BTreeSet<Tick> = (0..50u64)
            .map(|j| backoff(j.wrapping_mul(0x9e37_79b9_7f4a_7c15), 2, 10))
            .collect();
        assert_eq!(requests.len(), 10, "requests spread over every wait");
    }

    #[test]
    fn a_get_completes_first_only_what_recovery_would() {
        let base = state_after(&[tx(1, 9, 1, 1)]); // version 1
        let proposal = |version| Prepared {
            tx: tx(7, 8, 1, 1),
            accepted: Some(Accepted {
                epoch: epoch(2, 0),
                base: base.clone(),
                next: CounterState {
                    version,
                    ..CounterState::default()
                },
            }),
        };
        assert!(!needs_recovery(&base, &[], Recovery::HighestEpoch));
        assert!(needs_recovery(
            &base,
            &[proposal(2)],
            Recovery::HighestEpoch
        ));
        assert!(
            !needs_recovery(&base, &[proposal(1)], Recovery::HighestEpoch),
            "already committed"
        );
        assert!(
            !needs_recovery(
                &base,
                &[Prepared::lock(tx(7, 8, 1, 1))],
                Recovery::HighestEpoch
            ),
            "a two-phase lock is no proposal"
        );
    }

    #[test]
    fn replaying_the_log_rebuilds_the_state() {
        let mut replica = Replica::new(Config::two_phase());
        let t = tx(1, 9, 1, 4);
        let next = CounterState::default().apply(&t).unwrap();
        let records = [
            Record::Prepared {
                prepared: Prepared::lock(t.clone()),
            },
            Record::Committed {
                key: "c".into(),
                tx: t.id,
                state: next.clone(),
            },
            Record::Prepared {
                prepared: Prepared::lock(tx(2, 9, 2, 1)),
            },
            Record::Aborted {
                key: "c".into(),
                tx: TxId(2),
            },
        ];
        for r in &records {
            replica.remember(r);
        }
        assert_eq!(replica.value("c"), Some(4));
        assert!(
            replica.pending("c").is_none(),
            "the abort released the lock"
        );
        assert_eq!(replica.outcomes()[&TxId(1)], Outcome::Committed);
        assert_eq!(replica.outcomes()[&TxId(2)], Outcome::Aborted);
        // An older state never replaces a newer one.
        replica.remember(&Record::Committed {
            key: "c".into(),
            tx: TxId(0),
            state: CounterState::default(),
        });
        assert_eq!(replica.value("c"), Some(4));
    }

    #[test]
    fn every_variant_name_has_a_form() {
        for name in [
            "two-phase",
            "all-participants",
            "abort-alone",
            "no-locks",
            "three-phase",
            "largest-id-recovery",
            "no-fencing",
        ] {
            assert!(Config::variant(name).is_some(), "{name}");
        }
        assert!(Config::variant("nope").is_none());
    }
}
