//! Ballots and the clock that numbers them: the *Generation Clock* pattern.
//!
//! Every attempt to lead (a Paxos proposal, a generation vote, a Multi-Paxos leadership) carries a
//! ballot, and acceptors order attempts by it. Two rules make ballots work (Lamport, "Paxos Made
//! Simple", §2.2, "different proposals have different numbers"):
//! - no two proposers ever use the same ballot: a ballot is a round *and* the proposer's id, so
//!   two proposers of the same round are still ordered;
//! - a proposer that learns of a higher ballot (a promise it was refused, its own acceptor's
//!   promise) jumps past it at its next attempt, instead of burning attempts one round at a time.
//!
//! The reference numbered attempts with a per-server counter 1, 2, 3... that carried no server id
//! and ignored what it saw (spec §5.2 item 7). Strict promises kept it safe, but a server whose
//! counter lags behind can burn every attempt: [`BallotRule::PerServerCounter`] keeps it as a
//! variant to measure that cost.

use crate::history::Value;
use crate::node::{ProcessId, Tick};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A proposal number: compared by round first, then by the proposer's id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    pub round: u64,
    /// Who proposes with this ballot; [`Ballot::UNSIGNED`] for the reference's numbers, which
    /// carry no server id.
    pub node: ProcessId,
}

impl Ballot {
    /// The signature of a ballot that names no server: every proposer of the same round uses the
    /// very same ballot.
    pub const UNSIGNED: ProcessId = ProcessId(u16::MAX);

    pub const fn new(round: u64, node: ProcessId) -> Ballot {
        Ballot { round, node }
    }

    /// A ballot without a server id (the reference's per-server counters).
    pub const fn unsigned(round: u64) -> Ballot {
        Ballot {
            round,
            node: Ballot::UNSIGNED,
        }
    }

    /// The ballot of `me`'s next attempt once it has seen round `highest_round_seen`: one round
    /// higher, signed with its own id, so it is above everything seen and no other proposer can
    /// ever use it.
    pub fn next(highest_round_seen: u64, me: ProcessId) -> Ballot {
        Ballot::new(highest_round_seen + 1, me)
    }

    /// Whether the ballot names its proposer.
    pub fn is_signed(self) -> bool {
        self.node != Ballot::UNSIGNED
    }

    /// As a history records it: `[round node]`, or just the round when unsigned. Histories
    /// compare these values, and their order is the ballots' order.
    pub fn to_value(self) -> Value {
        if self.is_signed() {
            Value::Vector(vec![
                Value::Int(self.round as i64),
                Value::Int(i64::from(self.node.0)),
            ])
        } else {
            Value::Int(self.round as i64)
        }
    }
}

impl fmt::Display for Ballot {
    /// `3.1` is round 3 of node 1; an unsigned ballot is its round alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_signed() {
            write!(f, "{}.{}", self.round, self.node.0)
        } else {
            write!(f, "{}", self.round)
        }
    }
}

/// How a proposer numbers its attempts.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BallotRule {
    /// One round above the highest seen, signed with the proposer's id ([`Ballot::next`]).
    #[default]
    Unique,
    /// The reference's: a counter of this server's attempts, 1, 2, 3..., unsigned, never raised by
    /// what the server sees, and forgotten by a restart.
    PerServerCounter,
}

/// A proposer's clock: the highest round it has seen, and the ballot of its next attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerationClock {
    rule: BallotRule,
    highest_round_seen: u64,
    attempts: u64,
}

impl GenerationClock {
    pub fn new(rule: BallotRule) -> GenerationClock {
        GenerationClock {
            rule,
            highest_round_seen: 0,
            attempts: 0,
        }
    }

    pub fn rule(&self) -> BallotRule {
        self.rule
    }

    /// A ballot seen in a refusal, a promise, or this node's own acceptor state: the next attempt
    /// goes above it (the per-server counter ignores it, as the reference did).
    pub fn observe(&mut self, ballot: Ballot) {
        self.highest_round_seen = self.highest_round_seen.max(ballot.round);
    }

    /// The ballot of the next attempt.
    pub fn next(&mut self, me: ProcessId) -> Ballot {
        self.attempts += 1;
        match self.rule {
            BallotRule::Unique => {
                let ballot = Ballot::next(self.highest_round_seen, me);
                self.highest_round_seen = ballot.round;
                ballot
            }
            BallotRule::PerServerCounter => Ballot::unsigned(self.attempts),
        }
    }

    /// The highest round seen or used so far.
    pub fn highest_round_seen(&self) -> u64 {
        self.highest_round_seen
    }

    /// How many ballots this clock has handed out.
    pub fn attempts(&self) -> u64 {
        self.attempts
    }
}

/// How long a proposer whose attempt failed waits before its next one: a random 1..=
/// `backoff_ticks_max` × `attempt` ticks. Without it, duelling proposers can pre-empt each other
/// forever (Paxos Made Simple §2.4: progress needs one distinguished proposer, or luck).
pub fn backoff_ticks(rng: &mut impl Rng, backoff_ticks_max: Tick, attempt: u32) -> Tick {
    let most = backoff_ticks_max.max(1) * Tick::from(attempt.max(1));
    rng.random_range(1..=most)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(round: u64, node: u16) -> Ballot {
        Ballot::new(round, ProcessId(node))
    }

    #[test]
    fn ballots_order_by_round_then_by_proposer() {
        // (lower, higher)
        let table = [
            (b(1, 2), b(2, 0)), // a higher round wins whoever proposes it
            (b(3, 0), b(3, 1)), // same round: the proposer id breaks the tie
            (b(0, 9), b(1, 0)),
        ];
        for (lower, higher) in table {
            assert!(lower < higher, "{lower} < {higher}");
        }
        assert_eq!(b(3, 1).to_string(), "3.1");
        assert_eq!(Ballot::unsigned(4).to_string(), "4");
        assert!(
            b(2, 0).to_value() < b(2, 1).to_value(),
            "history values keep the order"
        );
    }

    #[test]
    fn a_unique_clock_jumps_past_what_it_saw_and_never_repeats_another_proposers_ballot() {
        let (me, other) = (ProcessId(1), ProcessId(2));
        let mut clock = GenerationClock::new(BallotRule::Unique);
        assert_eq!(clock.next(me), b(1, 1));
        clock.observe(b(7, 2)); // refused: someone promised 7.2
        assert_eq!(clock.next(me), b(8, 1));
        clock.observe(b(3, 0)); // an older ballot changes nothing
        assert_eq!(clock.next(me), b(9, 1));
        // Two clocks that saw the same things still hand out different ballots.
        let mut theirs = GenerationClock::new(BallotRule::Unique);
        theirs.observe(b(8, 1));
        assert_eq!(theirs.next(other), b(9, 2));
        assert_ne!(theirs.next(other), clock.next(me));
    }

    #[test]
    fn a_per_server_counter_ignores_what_it_saw_and_collides_with_other_servers() {
        let mut mine = GenerationClock::new(BallotRule::PerServerCounter);
        let mut theirs = GenerationClock::new(BallotRule::PerServerCounter);
        mine.observe(b(7, 2));
        assert_eq!(
            mine.next(ProcessId(0)),
            Ballot::unsigned(1),
            "7 seen, 1 proposed"
        );
        assert_eq!(
            theirs.next(ProcessId(1)),
            Ballot::unsigned(1),
            "the same ballot"
        );
        assert_eq!(mine.next(ProcessId(0)), Ballot::unsigned(2));
        assert_eq!(mine.attempts(), 2);
    }

    #[test]
    fn a_backoff_is_at_least_one_tick_and_grows_with_the_attempt() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // (most ticks per attempt, attempt, longest wait allowed)
        let table = [(6, 1, 6), (6, 3, 18), (0, 0, 1), (1, 5, 5)];
        for (most, attempt, longest) in table {
            let waits: Vec<Tick> = (0..200)
                .map(|_| backoff_ticks(&mut rng, most, attempt))
                .collect();
            assert!(
                waits.iter().all(|w| (1..=longest).contains(w)),
                "{most} {attempt}"
            );
            assert_eq!(
                waits.iter().max(),
                Some(&longest),
                "the whole range is drawn"
            );
        }
    }
}
