//! Raft's rules as small pure functions: each answers one question a server asks, on plain numbers,
//! so a notebook can show it and a table can test it. The handlers in [`super`] only gather the
//! numbers and act on the answer.
//!
//! Logs are given as the terms of their entries, `terms[i - 1]` being the term of entry `i`
//! (Raft's indexes start at 1; index 0 is the empty prefix every log shares).

use crate::node::{ProcessId, Tick, majority};
use rand::Rng;
use std::cmp::Ordering;

/// Where a log ends: the term and index of its last entry, `(0, 0)` when it is empty.
///
/// Ordering is the paper's "more up-to-date" (§5.4.1): the later last term wins; with equal last
/// terms, the longer log wins.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LogPosition {
    pub term: u64,
    pub index: u64,
}

impl LogPosition {
    pub fn new(term: u64, index: u64) -> LogPosition {
        LogPosition { term, index }
    }

    /// The end of a log given by its entries' terms.
    pub fn of(terms: &[u64]) -> LogPosition {
        LogPosition {
            term: terms.last().copied().unwrap_or(0),
            index: terms.len() as u64,
        }
    }
}

impl PartialOrd for LogPosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LogPosition {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.term, self.index).cmp(&(other.term, other.index))
    }
}

/// The term of entry `index` (0 for index 0, and for an index past the end).
pub fn term_at(terms: &[u64], index: u64) -> u64 {
    index
        .checked_sub(1)
        .and_then(|i| terms.get(usize::try_from(i).ok()?))
        .copied()
        .unwrap_or(0)
}

// ----- elections (§5.2, §5.4.1) ---------------------------------------------------------------

/// What a server knows when a RequestVote arrives: its durable term and vote, and where its log
/// ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Voter {
    pub current_term: u64,
    pub voted_for: Option<ProcessId>,
    pub last_log: LogPosition,
}

/// A RequestVote: the candidate's term, the candidate, and where its log ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Candidacy {
    pub term: u64,
    pub candidate: ProcessId,
    pub last_log: LogPosition,
}

/// Is the candidate's log at least as up-to-date as mine? (§5.4.1, the election restriction.)
/// A candidate that passes this with a majority holds every committed entry, because a committed
/// entry is on a majority and every two majorities share a server.
pub fn is_up_to_date(candidate: LogPosition, mine: LogPosition) -> bool {
    candidate >= mine
}

/// May I grant this vote, leaving logs aside? A vote for a stale term is refused; in the
/// candidate's term I vote at most once (a request from a later term clears my vote first, since
/// I have not voted in that term). Figure 2, RequestVote receiver, rules 1 and 2a.
pub fn may_grant_vote_ignoring_logs(voter: &Voter, candidacy: &Candidacy) -> bool {
    match candidacy.term.cmp(&voter.current_term) {
        Ordering::Less => false,
        Ordering::Greater => true,
        Ordering::Equal => voter
            .voted_for
            .is_none_or(|chosen| chosen == candidacy.candidate),
    }
}

/// May I grant this vote? One vote per term, and only to a candidate whose log is at least as
/// up-to-date as mine (Figure 2, RequestVote receiver; §5.2 and §5.4.1).
pub fn may_grant_vote(voter: &Voter, candidacy: &Candidacy) -> bool {
    may_grant_vote_ignoring_logs(voter, candidacy)
        && is_up_to_date(candidacy.last_log, voter.last_log)
}

/// A randomized election timeout in `min..=max` ticks, drawn from the server's own seeded stream
/// (§5.2: "election timeouts are chosen randomly from a fixed interval", so that one server
/// usually times out alone and wins before the others wake up). `min == max` gives every server
/// the same timeout, the reference's flaw.
pub fn election_timeout(rng: &mut impl Rng, min: Tick, max: Tick) -> Tick {
    if max <= min {
        min
    } else {
        rng.random_range(min..=max)
    }
}

// ----- replication (§5.3) ---------------------------------------------------------------------

/// Does my log hold an entry at `prev_index` with term `prev_term`? (The AppendEntries consistency
/// check: if it does, the log-matching property makes my log equal to the leader's up to there.)
pub fn log_matches(terms: &[u64], prev_index: u64, prev_term: u64) -> bool {
    prev_index == 0 || (prev_index <= terms.len() as u64 && term_at(terms, prev_index) == prev_term)
}

/// What a follower does with the entries of an AppendEntries that passed the consistency check.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Reconciliation {
    /// Delete the entries from this index on: an existing entry conflicts with a new one (same
    /// index, different term), so it and everything after it can never be committed.
    pub truncate_from: Option<u64>,
    /// Append the new entries from this position on (those before are already in the log).
    pub append_from: usize,
}

/// How a follower reconciles its log with entries that follow `prev_index`: truncate at the first
/// conflict, append what is missing, and touch nothing when every entry is already there. A
/// delayed AppendEntries with fewer entries must never cut entries a later one added (Figure 2,
/// AppendEntries receiver, rules 3 and 4).
pub fn reconcile(terms: &[u64], prev_index: u64, entry_terms: &[u64]) -> Reconciliation {
    for (offset, &term) in entry_terms.iter().enumerate() {
        let index = prev_index + 1 + offset as u64;
        if index > terms.len() as u64 {
            return Reconciliation {
                truncate_from: None,
                append_from: offset,
            };
        }
        if term_at(terms, index) != term {
            return Reconciliation {
                truncate_from: Some(index),
                append_from: offset,
            };
        }
    }
    Reconciliation {
        truncate_from: None,
        append_from: entry_terms.len(),
    }
}

/// What a follower tells a leader whose consistency check failed at `prev_index`: the term of its
/// entry there (`None` if its log is shorter) and the first index it holds for that term, or the
/// index just past its log. The leader can then skip a whole term per round trip instead of one
/// entry (§5.3, last paragraphs: the fast back-off).
pub fn conflict_hint(terms: &[u64], prev_index: u64) -> (Option<u64>, u64) {
    let len = terms.len() as u64;
    if prev_index > len {
        return (None, len + 1);
    }
    let term = term_at(terms, prev_index);
    let mut first = prev_index;
    while first > 1 && term_at(terms, first - 1) == term {
        first -= 1;
    }
    (Some(term), first)
}

/// Where the leader probes next after a rejection carrying `(conflict_term, conflict_index)`: just
/// past its own last entry of that term if it has any (the follower may share them), otherwise the
/// follower's first index of that term (or the end of the follower's log).
pub fn next_index_after_mismatch(
    leader_terms: &[u64],
    conflict_term: Option<u64>,
    conflict_index: u64,
) -> u64 {
    let from_term = conflict_term.and_then(|t| {
        leader_terms
            .iter()
            .rposition(|&term| term == t)
            .map(|position| position as u64 + 2)
    });
    from_term.unwrap_or(conflict_index).max(1)
}

/// The follower's new commit index: the leader's, but never past the last entry this
/// AppendEntries vouched for (`prev_index + entries`), and never backwards. Entries after that
/// may be a stale suffix from an old term that the leader has not overwritten yet (Figure 2,
/// AppendEntries receiver, rule 5: "index of last new entry"). The reference used the end of the
/// follower's whole log, which can commit that stale suffix.
pub fn follower_commit_index(commit_index: u64, leader_commit: u64, last_new_index: u64) -> u64 {
    commit_index.max(leader_commit.min(last_new_index))
}

// ----- commitment (§5.3, §5.4.2) --------------------------------------------------------------

/// The highest index stored on a majority, given every server's match index (the leader's own
/// included): the `majority`-th largest.
pub fn quorum_index(match_indexes: &[u64]) -> u64 {
    if match_indexes.is_empty() {
        return 0;
    }
    let mut sorted = match_indexes.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted[majority(sorted.len()) - 1]
}

/// Is this index committed? The leader may count replicas only for an entry of its own term: an
/// entry of an earlier term stored on a majority can still be overwritten (Figure 8), and becomes
/// committed only when an entry of the current term after it is (§5.4.2).
pub fn is_committed(index: u64, entry_term: u64, current_term: u64, match_indexes: &[u64]) -> bool {
    entry_term == current_term && quorum_index(match_indexes) >= index
}

/// How a leader advances its commit index: `(commit_index, current_term, match_indexes, terms)`
/// to the new commit index. [`leader_commit_index`] is Raft's rule; [`commit_by_counting`] is the
/// Figure 8 bug. A notebook exercise can stand in for either.
pub type CommitRule = fn(u64, u64, &[u64], &[u64]) -> u64;

/// What is my new commit index? The highest index past the current one that [`is_committed`]
/// says is committed (Figure 2, rules for leaders, last bullet). Logs' terms never decrease, so
/// that index, if any, is the quorum index itself.
pub fn leader_commit_index(
    commit_index: u64,
    current_term: u64,
    match_indexes: &[u64],
    terms: &[u64],
) -> u64 {
    let candidate = quorum_index(match_indexes).min(terms.len() as u64);
    if candidate > commit_index
        && is_committed(
            candidate,
            term_at(terms, candidate),
            current_term,
            match_indexes,
        )
    {
        candidate
    } else {
        commit_index
    }
}

/// The broken rule of the `commit-old-term` variant: whatever a majority stores is committed,
/// whatever its term. Figure 8 shows it losing a committed entry.
pub fn commit_by_counting(
    commit_index: u64,
    _current_term: u64,
    match_indexes: &[u64],
    terms: &[u64],
) -> u64 {
    commit_index.max(quorum_index(match_indexes).min(terms.len() as u64))
}

/// "What is my new commit index?", case by case: (commit index, current term, every server's match
/// index, the leader included, the terms of the leader's log, the new commit index, why). The
/// crate's tests and the lesson's exercise read the same rows.
pub type CommitCase = (u64, u64, &'static [u64], &'static [u64], u64, &'static str);

/// The rows of "what is my new commit index?".
pub const COMMIT_CASES: &[CommitCase] = &[
    (
        0,
        1,
        &[1, 1, 0],
        &[1],
        1,
        "entry 1, of my term, is on two servers of three: committed",
    ),
    (
        0,
        1,
        &[1, 0, 0],
        &[1],
        0,
        "entry 1 is on one server of three: no majority yet",
    ),
    (
        0,
        2,
        &[0, 3, 3],
        &[2, 2, 2],
        3,
        "my own copy is not yet on my disk, but two followers make a majority",
    ),
    (
        0,
        1,
        &[2, 2, 1, 1],
        &[1, 1],
        1,
        "four servers: a majority is three, so entry 2 (on two) waits",
    ),
    (
        0,
        2,
        &[4, 4, 4],
        &[1, 1, 2, 2],
        4,
        "entries 1 to 3 commit together with entry 4: the highest index, not the next one",
    ),
    (
        2,
        3,
        &[4, 4, 3, 1, 0],
        &[1, 3, 3, 3],
        3,
        "five servers: entry 3 is on three, entry 4 on two",
    ),
    (
        1,
        4,
        &[2, 2, 2, 1, 1],
        &[1, 2],
        1,
        "Figure 8 (c): entry 2 is on a majority, but it is of term 2, not my term 4: a later \
         leader may still overwrite it",
    ),
    (
        1,
        4,
        &[3, 3, 3, 1, 1],
        &[1, 2, 4],
        3,
        "Figure 8 (e): entry 3, of my term 4, is on a majority; entry 2 is committed with it",
    ),
    (
        0,
        2,
        &[5, 5, 5],
        &[1, 1],
        0,
        "every entry is of an earlier term: nothing is committed by counting",
    ),
    (
        3,
        3,
        &[2, 2, 2],
        &[1, 3, 3],
        3,
        "never backwards, even while the match indexes lag (a new leader starts them at 0)",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(n: u16) -> ProcessId {
        ProcessId(n)
    }

    fn at(term: u64, index: u64) -> LogPosition {
        LogPosition::new(term, index)
    }

    #[test]
    fn up_to_date_compares_last_terms_then_lengths() {
        // (candidate's last, mine, up to date?)
        let table = [
            (at(0, 0), at(0, 0), true),  // two empty logs
            (at(3, 2), at(2, 9), true),  // a later last term beats a longer log
            (at(2, 9), at(3, 2), false), // ... and a longer log of an older term loses
            (at(3, 5), at(3, 5), true),  // equal logs
            (at(3, 4), at(3, 5), false), // same last term, shorter
            (at(3, 6), at(3, 5), true),  // same last term, longer
        ];
        for (candidate, mine, expected) in table {
            assert_eq!(
                is_up_to_date(candidate, mine),
                expected,
                "{candidate:?} vs {mine:?}"
            );
        }
    }

    #[test]
    fn a_vote_is_granted_once_per_term_and_only_to_an_up_to_date_log() {
        let voter = |term, voted: Option<u16>, last| Voter {
            current_term: term,
            voted_for: voted.map(p),
            last_log: last,
        };
        let ask = |term, candidate, last| Candidacy {
            term,
            candidate: p(candidate),
            last_log: last,
        };
        // (voter, request, grant with the restriction?, grant without it?)
        let table = [
            (voter(2, None, at(1, 3)), ask(2, 1, at(1, 3)), true, true),
            // stale term: refused whatever the log
            (voter(3, None, at(1, 1)), ask(2, 1, at(5, 9)), false, false),
            // already voted for another candidate in this term
            (
                voter(2, Some(0), at(1, 1)),
                ask(2, 1, at(1, 1)),
                false,
                false,
            ),
            // a repeated request from the one I voted for (its reply was lost)
            (voter(2, Some(1), at(1, 1)), ask(2, 1, at(1, 1)), true, true),
            // a later term: my old vote does not count there
            (voter(2, Some(0), at(1, 1)), ask(3, 1, at(1, 1)), true, true),
            // the election restriction: a log missing my last entry loses my vote
            (voter(2, None, at(2, 4)), ask(3, 1, at(2, 3)), false, true),
            (voter(2, None, at(2, 4)), ask(3, 1, at(1, 9)), false, true),
        ];
        for (v, c, restricted, unrestricted) in table {
            assert_eq!(may_grant_vote(&v, &c), restricted, "{v:?} asked {c:?}");
            assert_eq!(
                may_grant_vote_ignoring_logs(&v, &c),
                unrestricted,
                "{v:?} asked {c:?}, logs ignored"
            );
        }
    }

    #[test]
    fn the_consistency_check_needs_the_entry_at_prev_with_its_term() {
        let log = [1, 1, 2, 3];
        // (prev index, prev term, matches?)
        let table = [
            (0, 0, true), // the empty prefix always matches
            (2, 1, true),
            (3, 2, true),
            (4, 3, true),
            (3, 3, false), // a different term there
            (5, 3, false), // past my end
        ];
        for (index, term, expected) in table {
            assert_eq!(
                log_matches(&log, index, term),
                expected,
                "prev {index}/{term}"
            );
        }
    }

    #[test]
    fn reconciling_truncates_at_the_first_conflict_and_never_otherwise() {
        let log = [1, 1, 2, 2];
        // (prev index, entry terms, truncate from, append from)
        let table: [(u64, &[u64], Option<u64>, usize); 6] = [
            (4, &[3, 3], None, 0),       // plain append at the end
            (2, &[2, 2], None, 2),       // all present: nothing to do
            (2, &[2], None, 1),          // a delayed, shorter message cuts nothing
            (2, &[2, 2, 3], None, 2),    // append past the end
            (2, &[3, 3], Some(3), 0),    // conflict at 3: truncate, append all
            (1, &[1, 2, 4], Some(4), 2), // conflict at 4 only
        ];
        for (prev, entries, truncate, append) in table {
            assert_eq!(
                reconcile(&log, prev, entries),
                Reconciliation {
                    truncate_from: truncate,
                    append_from: append
                },
                "prev {prev}, entries {entries:?}"
            );
        }
    }

    #[test]
    fn the_fast_back_off_skips_a_term_per_round_trip() {
        // The follower's side: (its log, rejected prev, hint)
        type Row = (&'static [u64], u64, (Option<u64>, u64));
        let table: [Row; 4] = [
            (&[1, 1], 5, (None, 3)),                // too short: start past my end
            (&[1, 2, 2, 2], 4, (Some(2), 2)),       // my term-2 run starts at 2
            (&[1, 1, 1], 2, (Some(1), 1)),          // run from the very start
            (&[1, 4, 4, 4, 4, 4], 6, (Some(4), 2)), // Figure 7 (f)-like stale run
        ];
        for (log, prev, hint) in table {
            assert_eq!(conflict_hint(log, prev), hint, "{log:?} at {prev}");
        }
        // The leader's side: (leader's log, hint, next index)
        let leader = [1, 1, 2, 3, 3];
        let table = [
            ((Some(2), 2), 4), // I have term 2 up to 3: probe at 4
            ((Some(4), 2), 2), // I have no term 4: start where the follower's run starts
            ((None, 3), 3),    // the follower's log ends at 2
            ((Some(1), 1), 3),
        ];
        for ((term, index), next) in table {
            assert_eq!(
                next_index_after_mismatch(&leader, term, index),
                next,
                "hint {term:?}/{index}"
            );
        }
    }

    #[test]
    fn a_follower_commits_no_further_than_the_last_new_entry() {
        // (commit, leader commit, last new index, new commit, the reference's min with log end 9)
        let table = [
            (0, 5, 5, 5, 5),
            (0, 5, 3, 3, 5), // a heartbeat vouching only for 3: the reference would commit 4..5
            (4, 2, 7, 4, 4), // never backwards
            (2, 8, 2, 2, 8), // an empty heartbeat with prev = 2
            (0, 0, 6, 0, 0),
        ];
        for (commit, leader_commit, last_new, expected, reference) in table {
            assert_eq!(
                follower_commit_index(commit, leader_commit, last_new),
                expected
            );
            let log_end = 9;
            assert_eq!(
                commit.max(leader_commit.min(log_end)),
                reference,
                "the reference's rule, for contrast"
            );
        }
    }

    #[test]
    fn only_entries_of_the_current_term_are_committed_by_counting() {
        for &(commit, term, matches, terms, expected, why) in COMMIT_CASES {
            assert_eq!(
                leader_commit_index(commit, term, matches, terms),
                expected,
                "{why}"
            );
            assert_eq!(
                commit_oracle(commit, term, matches, terms),
                expected,
                "the oracle: {why}"
            );
        }
        // Figure 8 (c): S1, leader of term 4, has [1, 2] and replicated index 2 (term 2) to S2 and
        // S3; the broken rule commits it.
        let (matches, terms) = ([2, 2, 2, 1, 1], [1, 2]);
        assert!(!is_committed(2, 2, 4, &matches), "term 2 is not term 4");
        assert_eq!(commit_by_counting(1, 4, &matches, &terms), 2);
        assert!(is_committed(3, 4, 4, &[3, 3, 3, 1, 1]));
    }

    #[test]
    fn election_timeouts_stay_in_their_range_and_equal_bounds_give_one_value() {
        let mut rng = crate::sim::Stream::Node(0).rng(7);
        for _ in 0..200 {
            let t = election_timeout(&mut rng, 15, 30);
            assert!((15..=30).contains(&t));
        }
        assert_eq!(election_timeout(&mut rng, 20, 20), 20);
    }

    /// The highest index `n` past `commit` whose entry is of the current term and is stored on a
    /// majority, by trying every index: the rule written as the paper states it.
    fn commit_oracle(commit: u64, term: u64, matches: &[u64], terms: &[u64]) -> u64 {
        (commit + 1..=terms.len() as u64)
            .filter(|&n| {
                let holders = matches.iter().filter(|&&m| m >= n).count();
                term_at(terms, n) == term && holders >= majority(matches.len())
            })
            .max()
            .unwrap_or(commit)
    }

    fn nondecreasing_terms() -> impl Strategy<Value = Vec<u64>> {
        prop::collection::vec(0u64..2, 0..8).prop_map(|steps| {
            let mut term = 1;
            steps
                .into_iter()
                .map(|s| {
                    term += s;
                    term
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn the_commit_rule_agrees_with_the_brute_force_oracle(
            terms in nondecreasing_terms(),
            matches in prop::collection::vec(0u64..9, 1..6),
            commit in 0u64..4,
            term_bump in 0u64..2,
        ) {
            let current = terms.last().copied().unwrap_or(1) + term_bump;
            let commit = commit.min(terms.len() as u64);
            prop_assert_eq!(
                leader_commit_index(commit, current, &matches, &terms),
                commit_oracle(commit, current, &matches, &terms)
            );
        }

        #[test]
        fn reconciling_then_applying_gives_the_leaders_prefix(
            mine in nondecreasing_terms(),
            leader in nondecreasing_terms(),
            prev in 0usize..8,
        ) {
            // Only a message whose prev entry matches is reconciled.
            let prev = prev.min(leader.len()).min(mine.len());
            prop_assume!(mine[..prev] == leader[..prev]);
            let entries = &leader[prev..];
            let r = reconcile(&mine, prev as u64, entries);
            let mut after = mine.clone();
            if let Some(from) = r.truncate_from {
                after.truncate(from as usize - 1);
            }
            after.extend_from_slice(&entries[r.append_from..]);
            prop_assert_eq!(&after[..leader.len()], &leader[..]);
            if r.truncate_from.is_none() {
                prop_assert!(after.len() >= mine.len(), "nothing was cut");
            }
        }
    }
}
