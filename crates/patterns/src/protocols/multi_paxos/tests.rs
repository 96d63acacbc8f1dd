use super::*;
use rand::SeedableRng;

fn b(round: u64, node: u16) -> Ballot {
    Ballot::new(round, ProcessId(node))
}

fn op(client: u16, value: &str) -> Command {
    Command::Op {
        request: RequestId {
            client: ProcessId(client),
            sequence: 1,
        },
        op: KvOp::write("x", value),
    }
}

fn accepted(index: u64, ballot: Ballot, command: Command) -> Report {
    Report {
        index,
        accepted: Some(Accepted {
            ballot,
            value: command,
        }),
        chosen: None,
    }
}

fn chosen(index: u64, command: Command) -> Report {
    Report {
        index,
        accepted: None,
        chosen: Some(command),
    }
}

/// What a new leader proposes: (index, command, known chosen).
type Plan = Vec<(u64, Command, bool)>;

#[test]
fn a_new_leader_recovers_the_highest_accepted_value_per_index_and_fills_holes() {
    let (a, c) = (op(7, "a"), op(8, "c"));
    let promises = vec![
        vec![
            accepted(3, b(1, 0), a.clone()),
            accepted(5, b(1, 0), op(7, "e")),
        ],
        vec![accepted(3, b(2, 1), c.clone()), chosen(2, op(9, "old"))],
        vec![],
    ];
    // (from, gaps, recovery rule, what is proposed at each index)
    let table: [(u64, Gaps, Proposing<Command>, Plan); 4] = [
        (
            3,
            Gaps::FillWithNoOp,
            Proposing::HighestAccepted,
            vec![
                (3, c.clone(), false),
                (4, Command::NoOp, false),
                (5, op(7, "e"), false),
            ],
        ),
        (
            2, // a promise knows index 2 chosen: the leader learns it
            Gaps::FillWithNoOp,
            Proposing::HighestAccepted,
            vec![
                (2, op(9, "old"), true),
                (3, c.clone(), false),
                (4, Command::NoOp, false),
                (5, op(7, "e"), false),
            ],
        ),
        (
            3, // no-gap-fill: index 4 stays a hole
            Gaps::Leave,
            Proposing::HighestAccepted,
            vec![(3, c.clone(), false), (5, op(7, "e"), false)],
        ),
        (
            3, // no-recovery: what was accepted becomes a no-op
            Gaps::FillWithNoOp,
            Proposing::OwnValue,
            vec![
                (3, Command::NoOp, false),
                (4, Command::NoOp, false),
                (5, Command::NoOp, false),
            ],
        ),
    ];
    for (from, gaps, proposing, expected) in table {
        let got: Plan = recover(from, &promises, proposing, gaps)
            .into_iter()
            .map(|r| (r.index, r.command, r.known_chosen))
            .collect();
        assert_eq!(got, expected, "from {from}, {gaps:?}, {proposing:?}");
    }
    assert!(recover(6, &promises, Proposing::HighestAccepted, Gaps::FillWithNoOp).is_empty());
}

#[test]
fn a_new_leader_proposes_past_everything_it_recovered() {
    let r = |index| Recovered {
        index,
        command: Command::NoOp,
        known_chosen: false,
    };
    // (advance, from, recovered indexes, next index)
    let table = [
        (IndexAdvance::PastRecovered, 4, vec![], 4),
        (IndexAdvance::PastRecovered, 4, vec![4, 5, 6], 7),
        (IndexAdvance::PastRecovered, 4, vec![4, 9], 10),
        (IndexAdvance::FromStart, 4, vec![4, 5], 1), // the reference: over chosen entries
    ];
    for (advance, from, indexes, expected) in table {
        let recovered: Vec<Recovered> = indexes.into_iter().map(r).collect();
        assert_eq!(
            next_index(advance, from, &recovered),
            expected,
            "{advance:?}"
        );
    }
}

#[test]
fn a_commit_chooses_only_the_value_accepted_in_its_ballot() {
    let held = Accepted {
        ballot: b(1, 0),
        value: op(7, "old"),
    };
    // (rule, what the follower accepted, commit ballot, value committed)
    let table = [
        (
            Committing::SameBallot,
            Some(&held),
            b(1, 0),
            Some(op(7, "old")),
        ),
        (Committing::SameBallot, Some(&held), b(2, 1), None), // another leader's value
        (Committing::SameBallot, None, b(2, 1), None),
        (
            Committing::Unconditional,
            Some(&held),
            b(2, 1),
            Some(op(7, "old")),
        ), // the bug
        (Committing::Unconditional, None, b(2, 1), None),
    ];
    for (rule, accepted, ballot, expected) in table {
        assert_eq!(
            value_to_commit(rule, accepted, ballot),
            expected,
            "{rule:?} {ballot}"
        );
    }
}

#[test]
fn election_timeouts_are_drawn_in_range_or_staggered_by_rank() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let random = Timeouts::Random { min: 60, max: 120 };
    let draws: Vec<Tick> = (0..100)
        .map(|_| election_timeout(random, &mut rng, 0))
        .collect();
    assert!(draws.iter().all(|t| (60..=120).contains(t)));
    assert!(draws.iter().any(|t| *t != draws[0]), "not one value");
    let sorted = Timeouts::NameSorted {
        base: 100,
        step: 25,
    };
    let stagger: Vec<Tick> = (0..5)
        .map(|rank| election_timeout(sorted, &mut rng, rank))
        .collect();
    assert_eq!(stagger, [100, 125, 150, 175, 200]);
}

#[test]
fn every_variant_name_has_a_form() {
    for name in VARIANTS {
        assert!(Config::heartbeats().variant(name).is_some(), "{name}");
    }
    assert!(Config::default().variant("no-such-form").is_none());
}
