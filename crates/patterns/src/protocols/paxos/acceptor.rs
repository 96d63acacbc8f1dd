//! The acceptor: what it keeps on disk, and the three rules every Paxos-family protocol shares.
//!
//! Lamport, "Paxos Made Simple" (2001), §2.2–2.3:
//! - **may I promise?** ([`may_promise`]) only a ballot strictly higher than any promised before
//!   (P1a). Strict, so each ballot is promised at most once by each acceptor: two proposers can
//!   never both gather a majority for the same ballot. [`may_promise_or_equal`] is the broken form.
//! - **may I accept?** ([`may_accept`]) a ballot at least as high as the promise: the proposer that
//!   was promised a ballot may then use it.
//! - **which value must I propose?** ([`value_to_propose`]) with promises from a majority, the
//!   value accepted in the highest ballot among them, if any; only when none accepted anything is
//!   the proposer free to propose its own (P2c). Any majority meets the majority that may have
//!   chosen a value, so a chosen value is always carried forward.
//!
//! The acceptor's state is the *durable decision* pattern: it changes in memory, is written, and
//! an answer that depends on it leaves only once the write is synced ([`Persistence`]). A
//! restarted acceptor reads its state back ([`last_record`]); what it never synced, it never
//! told anyone.

use super::ballot::Ballot;
use crate::node::{ProcessId, Storage, StorageError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A value an acceptor accepted, and the ballot it accepted it in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Accepted<V> {
    pub ballot: Ballot,
    pub value: V,
}

/// What an acceptor knows, kept on disk: the highest ballot it promised and the last value it
/// accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptorState<V> {
    pub promised: Option<Ballot>,
    pub accepted: Option<Accepted<V>>,
}

impl<V> Default for AcceptorState<V> {
    fn default() -> Self {
        AcceptorState {
            promised: None,
            accepted: None,
        }
    }
}

// ----- the rules -----------------------------------------------------------------------------------

/// May an acceptor that promised `promised` promise `ballot`? Only if it is strictly higher.
pub fn may_promise(promised: Option<Ballot>, ballot: Ballot) -> bool {
    promised.is_none_or(|p| ballot > p)
}

/// The broken form of [`may_promise`]: an equal ballot is promised again, so two proposers that
/// use the same ballot (unsigned, per-server counters) can both gather a majority.
pub fn may_promise_or_equal(promised: Option<Ballot>, ballot: Ballot) -> bool {
    promised.is_none_or(|p| ballot >= p)
}

/// May an acceptor that promised `promised` accept a value in `ballot`? Unless it promised a
/// higher ballot since.
pub fn may_accept(promised: Option<Ballot>, ballot: Ballot) -> bool {
    promised.is_none_or(|p| ballot >= p)
}

/// Which value must a proposer propose, given what a majority reported with their promises? The
/// value accepted in the highest ballot among the reports; `None` when none accepted anything,
/// and the proposer may propose its own.
pub fn value_to_propose<V: Clone>(reports: &[Option<Accepted<V>>]) -> Option<V> {
    reports
        .iter()
        .flatten()
        .max_by_key(|a| a.ballot)
        .map(|a| a.value.clone())
}

/// The broken form of [`value_to_propose`]: ignore what the acceptors accepted.
pub fn ignore_accepted<V: Clone>(_reports: &[Option<Accepted<V>>]) -> Option<V> {
    None
}

/// "May I promise?" as a function a lesson can replace.
pub type PromiseRule = fn(Option<Ballot>, Ballot) -> bool;

/// "Which value must I propose?" as a function a lesson can replace.
pub type ValueRule<V> = fn(&[Option<Accepted<V>>]) -> Option<V>;

/// Which promises an acceptor makes: the rule, or its broken form, or one written in a lesson.
#[derive(Copy, Clone, Debug)]
pub enum Promising {
    /// [`may_promise`]: strictly higher ballots only.
    Strict,
    /// [`may_promise_or_equal`]: an equal ballot too.
    NonStrict,
    /// Any rule with the same signature (a learner's answer to an exercise).
    Rule(PromiseRule),
}

impl Promising {
    pub fn allows(self, promised: Option<Ballot>, ballot: Ballot) -> bool {
        match self {
            Promising::Strict => may_promise(promised, ballot),
            Promising::NonStrict => may_promise_or_equal(promised, ballot),
            Promising::Rule(rule) => rule(promised, ballot),
        }
    }
}

/// Which value a proposer proposes once a majority promised.
#[derive(Debug)]
pub enum Proposing<V> {
    /// [`value_to_propose`]: the highest-ballot accepted value, else its own.
    HighestAccepted,
    /// [`ignore_accepted`]: always its own.
    OwnValue,
    /// Any rule with the same signature (a learner's answer to an exercise).
    Rule(ValueRule<V>),
}

// Function pointers copy whatever `V` is; a derive would ask for `V: Copy`.
impl<V> Clone for Proposing<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Proposing<V> {}

impl<V: Clone> Proposing<V> {
    /// The value to propose given the reports of a promise quorum, or `own` when free.
    pub fn choose(&self, reports: &[Option<Accepted<V>>], own: V) -> V {
        let forced = match self {
            Proposing::HighestAccepted => value_to_propose(reports),
            Proposing::OwnValue => ignore_accepted(reports),
            Proposing::Rule(rule) => rule(reports),
        };
        forced.unwrap_or(own)
    }
}

/// When an acceptor's answer leaves, relative to the write of the state it reports.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Persistence {
    /// Write, sync, then answer: a restarted acceptor remembers every promise it made.
    #[default]
    SyncThenReply,
    /// Write and start the sync, but answer at once: a crash before the sync completes takes back
    /// a promise someone already counted (`BrokenDurableDecision`).
    ReplyThenSync,
    /// Keep the state in memory only: every restart forgets every promise.
    MemoryOnly,
}

// ----- the rules as tables ------------------------------------------------------------------------
//
// The crate's table tests and the lessons' exercises read the same rows: a learner's rule is held
// to exactly what the crate's rule is tested against.

const fn ballot(round: u64, node: u16) -> Ballot {
    Ballot::new(round, ProcessId(node))
}

/// "May I promise?", case by case: (promised so far, ballot asked, answer, why).
pub const PROMISE_CASES: &[(Option<Ballot>, Ballot, bool, &str)] = &[
    (
        None,
        ballot(1, 0),
        true,
        "a fresh acceptor promises anything",
    ),
    (Some(ballot(2, 1)), ballot(3, 0), true, "a higher round"),
    (
        Some(ballot(2, 1)),
        ballot(2, 2),
        true,
        "the same round from a higher proposer id",
    ),
    (
        Some(ballot(2, 1)),
        ballot(2, 1),
        false,
        "the very ballot promised: each ballot is promised at most once",
    ),
    (
        Some(ballot(2, 1)),
        ballot(2, 0),
        false,
        "the same round from a lower proposer id",
    ),
    (Some(ballot(2, 1)), ballot(1, 9), false, "a lower round"),
    (
        Some(Ballot::unsigned(1)),
        Ballot::unsigned(1),
        false,
        "two proposers' unsigned ballot 1: only strictness keeps them apart",
    ),
];

/// "Which value must I propose?", case by case: (what a promise quorum reported, as
/// (round, node, value) of each accepted value, the value forced (`None`: free), why).
pub type ValueCase = (
    &'static [Option<(u64, u16, &'static str)>],
    Option<&'static str>,
    &'static str,
);

/// The rows of "which value must I propose?".
pub const VALUE_CASES: &[ValueCase] = &[
    (
        &[None, None],
        None,
        "nothing accepted: the proposer is free",
    ),
    (
        &[None, Some((1, 0, "x"))],
        Some("x"),
        "one acceptor accepted x: carry it forward",
    ),
    (
        &[Some((1, 0, "x")), Some((2, 1, "y"))],
        Some("y"),
        "the value of the highest ballot wins",
    ),
    (
        &[Some((2, 1, "y")), Some((1, 0, "x")), None],
        Some("y"),
        "wherever in the quorum it is reported",
    ),
    (
        &[Some((3, 0, "x")), Some((3, 2, "z"))],
        Some("z"),
        "same round: the ballot's proposer id decides",
    ),
    (
        &[Some((5, 1, "x")), Some((5, 1, "x")), Some((4, 2, "y"))],
        Some("x"),
        "the same value reported twice",
    ),
];

/// A row of [`VALUE_CASES`] as reports of any value type.
pub fn value_case<V>(
    reports: &[Option<(u64, u16, &'static str)>],
    value: impl Fn(&'static str) -> V,
) -> Vec<Option<Accepted<V>>> {
    reports
        .iter()
        .map(|r| {
            r.map(|(round, node, v)| Accepted {
                ballot: ballot(round, node),
                value: value(v),
            })
        })
        .collect()
}

// ----- transitions ---------------------------------------------------------------------------------

impl<V: Clone> AcceptorState<V> {
    /// A prepare for `ballot`: promise it if `promising` allows, and report what was accepted
    /// before (`Ok`), or refuse with the promise that stands in the way (`Err`).
    pub fn prepare(
        &mut self,
        ballot: Ballot,
        promising: Promising,
    ) -> Result<Option<Accepted<V>>, Option<Ballot>> {
        if !promising.allows(self.promised, ballot) {
            return Err(self.promised);
        }
        self.promised = Some(ballot);
        Ok(self.accepted.clone())
    }

    /// An accept request for `value` in `ballot`: accept unless a higher ballot was promised
    /// since (`Err` with that promise). Accepting a ballot also promises it.
    pub fn accept(&mut self, ballot: Ballot, value: V) -> Result<(), Option<Ballot>> {
        if !may_accept(self.promised, ballot) {
            return Err(self.promised);
        }
        self.promised = Some(ballot);
        self.accepted = Some(Accepted { ballot, value });
        Ok(())
    }
}

// ----- durable records -----------------------------------------------------------------------------

/// Writes `record` as the node's newest state: appended to the node's log, so that a write torn
/// by a crash is cut on restart (the log checksums its entries) and the record before it, synced,
/// stands. A key-value write, torn, would leave no readable state at all.
pub fn save_record<T: Serialize>(storage: &mut dyn Storage, record: &T) {
    storage.append_json(record);
}

/// The newest record [`save_record`] wrote that survived (`None` on a fresh node).
pub fn last_record<T: DeserializeOwned>(storage: &dyn Storage) -> Result<Option<T>, StorageError> {
    match storage.last_index() {
        0 => Ok(None),
        last => storage.entry_json(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::MemoryStorage;

    fn b(round: u64, node: u16) -> Ballot {
        Ballot::new(round, ProcessId(node))
    }

    #[test]
    fn promises_go_only_to_strictly_higher_ballots() {
        for &(promised, ballot, expected, why) in PROMISE_CASES {
            assert_eq!(may_promise(promised, ballot), expected, "{why}");
        }
    }

    #[test]
    fn equal_ballots_are_accepted_and_promised_only_by_the_broken_rule() {
        // (promised, ballot, may promise or equal?, may accept?)
        let table = [
            (None, b(1, 0), true, true),
            (Some(b(2, 1)), b(2, 1), true, true), // the ballot promised: its proposer may use it
            (Some(b(2, 1)), b(2, 2), true, true),
            (Some(b(2, 1)), b(2, 0), false, false), // a lower ballot: never
            (Some(Ballot::unsigned(1)), Ballot::unsigned(1), true, true),
        ];
        for (promised, ballot, or_equal, accept) in table {
            let case = format!("promised {promised:?}, ballot {ballot}");
            assert_eq!(may_promise_or_equal(promised, ballot), or_equal, "{case}");
            assert_eq!(may_accept(promised, ballot), accept, "{case}");
        }
    }

    #[test]
    fn the_value_to_propose_is_the_one_accepted_in_the_highest_ballot() {
        for &(reports, expected, why) in VALUE_CASES {
            let reports = value_case(reports, |v| v);
            assert_eq!(value_to_propose(&reports), expected, "{why}");
            assert_eq!(ignore_accepted(&reports), None);
            let chosen = Proposing::HighestAccepted.choose(&reports, "own");
            assert_eq!(chosen, expected.unwrap_or("own"), "{why}");
        }
    }

    #[test]
    fn an_acceptor_reports_its_accepted_value_with_a_promise_and_refuses_older_ballots() {
        let mut acceptor: AcceptorState<&str> = AcceptorState::default();
        assert_eq!(acceptor.prepare(b(1, 0), Promising::Strict), Ok(None));
        assert_eq!(acceptor.accept(b(1, 0), "x"), Ok(()));
        let reported = acceptor.prepare(b(2, 1), Promising::Strict);
        assert_eq!(reported.unwrap().unwrap().value, "x");
        assert_eq!(acceptor.accept(b(1, 0), "late"), Err(Some(b(2, 1))));
        assert_eq!(
            acceptor.prepare(b(2, 1), Promising::Strict),
            Err(Some(b(2, 1)))
        );
        assert!(acceptor.prepare(b(2, 1), Promising::NonStrict).is_ok());
        // Accepting a higher ballot than promised promises it too.
        assert_eq!(acceptor.accept(b(4, 2), "y"), Ok(()));
        assert_eq!(acceptor.promised, Some(b(4, 2)));
    }

    #[test]
    fn the_newest_synced_record_survives_a_crash_that_tears_the_next_one() {
        let mut disk = MemoryStorage::new();
        let first = AcceptorState {
            promised: Some(b(1, 0)),
            accepted: None::<Accepted<String>>,
        };
        save_record(&mut disk, &first);
        disk.make_durable(1);
        let mut second = first.clone();
        second.promised = Some(b(2, 1));
        save_record(&mut disk, &second);
        assert_eq!(
            last_record(&disk),
            Ok(Some(second)),
            "memory sees the newest"
        );
        disk.crash(true);
        assert_eq!(last_record(&disk), Ok(Some(first)), "the torn write is cut");
        assert_eq!(last_record::<u8>(&MemoryStorage::new()), Ok(None));
    }
}
