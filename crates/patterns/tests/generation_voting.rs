//! Generation voting (spec §3.5 and the lesson's stories), on the simulator: generations that are
//! unique and only go up, won by majority vote, and what each broken variant loses.

use patterns::check::{self, TicketDispenser};
use patterns::explore::{self, Explorable, Settings};
use patterns::node::ProcessId;
use patterns::protocols::generation_voting::{
    Config, Explorer, GenerationKind, GenerationReply, GenerationVoting, NextGeneration, stories,
};
use patterns::protocols::paxos::{self, Ballot, BallotRule, Persistence, Promising};
use patterns::sim::{Builder, Fault, ScenarioRun, Simulation};

const ABC: [&str; 3] = ["athens", "byzantium", "cyrene"];

fn b(round: u64, node: u16) -> Ballot {
    Ballot::new(round, ProcessId(node))
}

fn cluster(config: Config) -> Simulation<GenerationVoting> {
    Builder::new()
        .clients(["client", "client2", "client3"])
        .build(move |_| GenerationVoting::new(config))
        .expect("valid cluster")
}

/// Asks `node` for a generation and waits for it.
fn next(sim: &mut Simulation<GenerationVoting>, client: &str, node: &str) -> Ballot {
    match sim
        .call(client, node, NextGeneration, 1_000)
        .unwrap()
        .reply()
    {
        Some(GenerationReply::Generation(ballot)) => *ballot,
        other => panic!("{node} won no generation: {other:?}"),
    }
}

fn generations(sim: &Simulation<GenerationVoting>) -> Vec<u64> {
    ABC.iter()
        .map(|n| sim.node(n).unwrap().generation())
        .collect()
}

fn play(
    story: patterns::sim::Scenario<GenerationVoting>,
    config: Config,
) -> ScenarioRun<GenerationVoting> {
    story
        .play(Builder::new(), move |_| GenerationVoting::new(config))
        .expect("the cluster builds")
}

fn linearizable(run: &ScenarioRun<GenerationVoting>) -> bool {
    check::linearizable(run.sim.history(), &TicketDispenser)
        .unwrap()
        .is_ok()
}

// ----- GenerationVotingTest (spec §3.5) ----------------------------------------------------------

#[test]
fn generations_increase_through_changing_majorities_n3_one_cut_off_each_time() {
    // §3.5 #1: each majority promises a higher generation; a coordinator that is refused jumps
    // past the highest generation it was told of (3 proposed, 4 seen, 5 won).
    let mut sim = cluster(Config::default());
    sim.partition(&["athens", "byzantium"], &["cyrene"])
        .unwrap();
    assert_eq!(next(&mut sim, "client", "athens"), b(1, 0));
    assert_eq!(generations(&sim)[..2], [1, 1]);
    sim.heal_all();
    sim.partition(&["cyrene", "byzantium"], &["athens"])
        .unwrap();
    assert_eq!(next(&mut sim, "client", "byzantium"), b(2, 1));
    assert_eq!(generations(&sim)[1..], [2, 2]);
    sim.heal_all();
    sim.partition(&["athens", "cyrene"], &["byzantium"])
        .unwrap();
    assert_eq!(next(&mut sim, "client2", "cyrene"), b(3, 2));
    assert_eq!(next(&mut sim, "client2", "cyrene"), b(4, 2));
    assert_eq!(generations(&sim), [4, 2, 4]);
    sim.heal_all();
    let won = next(&mut sim, "client", "byzantium");
    assert_eq!(
        won,
        b(5, 1),
        "byzantium proposed 3.1, was refused for 4.2, won 5.1"
    );
    assert!(linearizable_sim(&sim));
}

fn linearizable_sim(sim: &Simulation<GenerationVoting>) -> bool {
    check::linearizable(sim.history(), &TicketDispenser)
        .unwrap()
        .is_ok()
}

#[test]
fn generations_from_every_coordinator_in_turn_n3() {
    // §3.5 #2 (on the simulator, not the real network): asking each server in turn gives 1, 2, 3,
    // and every server ends up promised 3 (waited for, not assumed after the reply).
    let mut sim = cluster(Config::default());
    let won: Vec<u64> = ABC
        .iter()
        .map(|n| next(&mut sim, "client", n).round)
        .collect();
    assert_eq!(won, [1, 2, 3]);
    sim.run_until(100, |s| generations(s) == [3, 3, 3])
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn generations_overlapping_requests_n3_all_answered_unique_increasing() {
    // §3.5 #3: three requests at athens before any tick. The reference left two "obsolete"
    // attempts unanswered; here every attempt that won says so, and the generations are unique
    // and increasing.
    let mut sim = cluster(Config::default());
    let ops: Vec<_> = ["client", "client2", "client3"]
        .iter()
        .map(|c| sim.invoke(c, "athens", NextGeneration).unwrap())
        .collect();
    sim.run_until(1_000, |s| ops.iter().all(|op| s.is_done(*op)))
        .unwrap();
    let won: Vec<Ballot> = ops
        .iter()
        .filter_map(|op| match sim.reply(*op) {
            Some(GenerationReply::Generation(g)) => Some(*g),
            _ => None,
        })
        .collect();
    assert_eq!(won.len(), 3, "every request is answered with a generation");
    assert!(won.windows(2).all(|w| w[0] < w[1]), "{won:?}");
    let highest = won.last().unwrap().round;
    sim.run_until(100, |s| generations(s).iter().all(|&g| g == highest))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(linearizable_sim(&sim));
}

// ----- the lesson's stories ----------------------------------------------------------------------

#[test]
fn generations_promise_survives_a_restart_n3_voter_crashed() {
    // A voter keeps its promise on disk before it says so: after a restart it refuses the lower
    // generation, and the next winner is above the last one.
    let run = play(stories::forgotten_promise(), Config::default());
    assert!(run.passed(), "{:?}", run.failure());
    let (first, second) = (stories::won(&run, "alice"), stories::won(&run, "bob"));
    assert_eq!(first, Some(b(1, 2)));
    assert!(second > first, "{second:?} after {first:?}");
    assert!(linearizable(&run));
}

#[test]
fn generations_no_persist_wins_a_lower_generation_after_a_restart_n3() {
    // Kept in memory only, the promise dies with the voter: byzantium wins 1.1 after cyrene won
    // 1.2, and the history of generations is not increasing.
    let run = play(
        stories::forgotten_promise(),
        Config::default().persistence(Persistence::MemoryOnly),
    );
    assert_eq!(stories::won(&run, "alice"), Some(b(1, 2)));
    assert_eq!(stories::won(&run, "bob"), Some(b(1, 1)));
    let report = check::linearizable(run.sim.history(), &TicketDispenser).unwrap();
    assert!(report.is_illegal(), "{}", report.explanation());
}

#[test]
fn generations_non_strict_two_coordinators_win_the_same_generation_n3() {
    // With the reference's unsigned counters both coordinators propose 1; promising an equal
    // generation lets byzantium promise it to both.
    let counters = Config::default().ballots(BallotRule::PerServerCounter);
    let broken = play(
        stories::two_coordinators(),
        counters.promising(Promising::NonStrict),
    );
    assert_eq!(stories::won(&broken, "alice"), Some(Ballot::unsigned(1)));
    assert_eq!(stories::won(&broken, "bob"), Some(Ballot::unsigned(1)));
    assert!(!linearizable(&broken));
    // Strict promises keep even unsigned counters apart.
    let strict = play(stories::two_coordinators(), counters);
    assert!(strict.passed(), "{:?}", strict.failure());
    assert_ne!(stories::won(&strict, "alice"), stories::won(&strict, "bob"));
    assert!(linearizable(&strict));
}

#[test]
fn generations_unsynced_promise_is_lost_but_was_never_told_n3() {
    // A crash between a voter's write and its sync: the promise is gone after the restart, and
    // the coordinator never counted it.
    let mut sim = cluster(Config::default());
    sim.inject(Fault::HoldSync {
        node: "byzantium".into(),
    })
    .unwrap();
    sim.isolate("cyrene").unwrap();
    let op = sim.invoke("client", "athens", NextGeneration).unwrap();
    sim.run_until(10, |s| {
        s.node("byzantium").is_ok_and(|n| n.promised().is_some())
    })
    .unwrap();
    sim.run_for(5);
    assert!(
        !sim.is_done(op),
        "no majority: byzantium's promise is not on its disk"
    );
    sim.crash("byzantium").unwrap();
    sim.restart("byzantium").unwrap();
    assert_eq!(sim.node("byzantium").unwrap().promised(), None);
    sim.reconnect("cyrene").unwrap();
    sim.run_until(1_000, |s| s.is_done(op)).unwrap();
    assert!(matches!(
        sim.reply(op),
        Some(GenerationReply::Generation(_))
    ));
}

#[test]
fn generations_drop_rules_name_the_phase_one_messages() {
    // With every promise to athens dropped, athens exhausts its attempts and says so.
    let mut sim = Builder::new()
        .client_timeout_ticks(1_000)
        .build(|_| GenerationVoting::new(Config::default()))
        .unwrap();
    for voter in ["byzantium", "cyrene"] {
        sim.drop_kind(GenerationKind::Promise, voter, "athens")
            .unwrap();
    }
    let reply = sim
        .call("alice", "athens", NextGeneration, 1_000)
        .unwrap()
        .reply()
        .cloned();
    assert!(
        matches!(reply, Some(GenerationReply::Failed { .. })),
        "{reply:?}"
    );
}

// ----- exploration -------------------------------------------------------------------------------

fn search(
    explorer: &Explorer,
    variant: &str,
    first_seed: u64,
    seeds: u64,
) -> explore::Search<GenerationVoting> {
    let settings = Settings::first_failure(first_seed, seeds);
    explore::search(explorer, variant, &settings).unwrap()
}

#[test]
fn generations_explorer_correct_form_passes_and_broken_variants_fail_from_their_seeds() {
    let explorer = Explorer::default();
    for variant in Explorable::variants(&explorer) {
        match variant.failing_seed {
            None => {
                let found = search(&explorer, variant.name, 0, 40);
                assert!(
                    found.failures.is_empty(),
                    "{}: {:?}",
                    variant.name,
                    found.failures
                );
                assert!(found.unknown.is_empty());
            }
            Some(seed) => {
                let found = search(&explorer, variant.name, seed, 1);
                assert!(
                    found.counterexample.is_some(),
                    "{} passed seed {seed}",
                    variant.name
                );
            }
        }
    }
}

#[test]
fn generations_exercise_hook_uses_the_rule_it_is_given() {
    // A lesson's "may I promise?" replaces the crate's in the non-strict set-up: the strict rule
    // passes the seed that catches non-strict, the broken one fails it.
    let seed = Explorer::default()
        .variants()
        .iter()
        .find(|v| v.name == "non-strict")
        .and_then(|v| v.failing_seed)
        .unwrap();
    let right = Explorer::with_promise_rule(paxos::may_promise);
    assert!(search(&right, "correct", seed, 1).failures.is_empty());
    let wrong = Explorer::with_promise_rule(paxos::may_promise_or_equal);
    assert!(!search(&wrong, "correct", seed, 1).failures.is_empty());
}

#[test]
fn generations_cost_more_rounds_with_more_coordinators() {
    // Averaged over seeds, every added coordinator costs ballots: each refusal is a round.
    let mean = |coordinators: usize| {
        let total: u64 = (0..12)
            .map(|seed| {
                patterns::protocols::generation_voting::duel(
                    Config::default(),
                    5,
                    coordinators,
                    seed,
                )
                .unwrap()
                .ballots
            })
            .sum();
        total as f64 / 12.0
    };
    assert_eq!(mean(1), 1.0);
    assert!(mean(4) > mean(2));
}
