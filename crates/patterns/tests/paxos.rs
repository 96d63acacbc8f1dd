//! Single-value Paxos (spec §3.6 and the lesson's stories), on the simulator: one decision, kept by
//! durable acceptors through crashes, and what each broken variant loses.

use patterns::check::{self, WriteOnce};
use patterns::explore::{self, Explorable, Property, Settings};
use patterns::node::ProcessId;
use patterns::protocols::paxos::replay::{self, Cast, Replay};
use patterns::protocols::paxos::{
    self, Ballot, BallotRule, Command, Config, Explorer, Paxos, PaxosKind, PaxosReply, Persistence,
    Proposing, stories,
};
use patterns::sim::{Builder, Outcome, ScenarioRun, Simulation};

const ABC: [&str; 3] = ["athens", "byzantium", "cyrene"];

fn cluster(config: Config) -> Simulation<Paxos> {
    Builder::new()
        .build(move |_| Paxos::new(config.clone()))
        .expect("valid cluster")
}

fn decided(outcome: &Outcome<PaxosReply>) -> (Command, bool, String) {
    match outcome.reply() {
        Some(PaxosReply::Decided {
            chosen,
            own,
            result,
        }) => (chosen.clone(), *own, result.clone()),
        other => panic!("expected a decision, got {other:?}"),
    }
}

fn await_all(sim: &mut Simulation<Paxos>, claim: impl Fn(&Paxos) -> bool) {
    sim.run_until(500, |s| ABC.iter().all(|n| s.node(n).is_ok_and(&claim)))
        .unwrap_or_else(|e| panic!("{e}"));
}

fn play(story: patterns::sim::Scenario<Paxos>, config: Config) -> ScenarioRun<Paxos> {
    story
        .play(Builder::new(), move |_| Paxos::new(config.clone()))
        .expect("the cluster builds")
}

fn linearizable(run: &ScenarioRun<Paxos>) -> bool {
    check::linearizable(run.sim.history(), &WriteOnce)
        .unwrap()
        .is_ok()
}

// ----- PaxosTest (spec §3.6) ---------------------------------------------------------------------

#[test]
fn paxos_basic_consensus_increments_once_everywhere() {
    // §3.6 #1: one proposal is chosen, and every node applies it once (Paxos Made Simple §2.3).
    let mut sim = cluster(Config::default());
    let outcome = sim
        .call("alice", "athens", Command::increment("counter"), 200)
        .unwrap()
        .clone();
    assert_eq!(
        decided(&outcome),
        (Command::increment("counter"), true, "1".to_string())
    );
    await_all(&mut sim, |n| {
        n.counter("counter") == 1 && n.learned().is_some()
    });
    // A commit received twice is applied once.
    sim.run_for(50);
    assert!(
        ABC.iter()
            .all(|n| sim.node(n).unwrap().counter("counter") == 1)
    );
}

#[test]
fn paxos_concurrent_proposals_n3_one_wins_both_learn_it() {
    // §3.6 #2: two proposers at once; exactly one client's command is chosen, and both clients
    // are told the same command (Paxos Made Simple §2.2, P2).
    let mut sim = cluster(Config::default());
    let alice = sim
        .invoke("alice", "athens", Command::set("title", "Microservices"))
        .unwrap();
    let bob = sim
        .invoke(
            "bob",
            "byzantium",
            Command::set("title", "Distributed Systems"),
        )
        .unwrap();
    sim.run_until(1_000, |s| s.is_done(alice) && s.is_done(bob))
        .unwrap();
    let (a, a_own, a_result) = decided(sim.outcome(alice).unwrap());
    let (b, b_own, b_result) = decided(sim.outcome(bob).unwrap());
    assert_eq!(a, b, "one decision");
    assert_eq!(a_result, b_result);
    assert!(a_own ^ b_own, "exactly one client's own command was chosen");
    let Command::Set { value, .. } = a else {
        unreachable!()
    };
    await_all(&mut sim, |n| n.value("title") == Some(value.as_str()));
}

#[test]
fn paxos_set_value_reaches_every_replica() {
    // §3.6 #3: a set is chosen and applied on every node.
    let mut sim = cluster(Config::default());
    let outcome = sim
        .call("alice", "athens", Command::set("author", "Martin"), 200)
        .unwrap()
        .clone();
    assert_eq!(
        decided(&outcome),
        (Command::set("author", "Martin"), true, "Martin".to_string())
    );
    await_all(&mut sim, |n| n.value("author") == Some("Martin"));
}

// ----- the lesson's stories ----------------------------------------------------------------------

#[test]
fn paxos_later_proposal_recovers_the_chosen_value_n3_first_proposer_crashed() {
    // A proposer whose promise quorum reports an accepted value must propose it (P2c): bob, who
    // asked for v2 after v1 was chosen, is told v1.
    let run = play(stories::recovery(), Config::default());
    assert!(run.passed(), "{:?}", run.failure());
    assert_eq!(stories::told(&run, "alice"), Some(Command::set("x", "v1")));
    assert_eq!(stories::told(&run, "bob"), Some(Command::set("x", "v1")));
    assert!(matches!(
        run.last_reply("bob"),
        Some(PaxosReply::Decided { own: false, .. })
    ));
    assert!(linearizable(&run));
}

#[test]
fn paxos_ignore_accepted_chooses_a_second_value_n3_first_proposer_crashed() {
    // Without P2c the same story chooses v2 after v1: the history shows two decisions.
    let run = play(
        stories::recovery(),
        Config::default().proposing(Proposing::OwnValue),
    );
    assert_eq!(stories::told(&run, "alice"), Some(Command::set("x", "v1")));
    assert_eq!(stories::told(&run, "bob"), Some(Command::set("x", "v2")));
    assert!(!linearizable(&run));
}

#[test]
fn paxos_crash_before_sync_loses_nothing_told_n3_promise_unsynced() {
    // An acceptor answers only once its state is synced: a crash takes back only what it never
    // told, so both clients are told the same value (the durable-decision pattern, spec §4.1).
    let run = play(stories::lost_promise(), Config::default());
    assert!(run.passed(), "{:?}", run.failure());
    assert_eq!(stories::told(&run, "alice"), Some(Command::set("x", "v1")));
    assert_eq!(stories::told(&run, "bob"), Some(Command::set("x", "v1")));
    assert!(linearizable(&run));
}

#[test]
fn paxos_reply_before_persist_chooses_two_values_n3_promise_unsynced() {
    // Answering before the sync (BrokenDurableDecision, spec §4.2): the crash takes back a promise
    // cyrene counted, and athens's older ballot gets a second value chosen.
    let run = play(
        stories::lost_promise(),
        Config::default().persistence(Persistence::ReplyThenSync),
    );
    assert_eq!(stories::told(&run, "alice"), Some(Command::set("x", "v1")));
    assert_eq!(stories::told(&run, "bob"), Some(Command::set("x", "v2")));
    let report = check::linearizable(run.sim.history(), &WriteOnce).unwrap();
    assert!(report.is_illegal(), "{}", report.explanation());
}

#[test]
fn paxos_duelling_proposers_n3_end_with_one_decision() {
    // Two proposers pre-empt each other's accept requests; random backoff lets one finish
    // (Paxos Made Simple §2.4), and both clients learn the same value.
    let run = play(stories::duelling_proposers(), Config::default());
    assert!(run.passed(), "{:?}", run.failure());
    assert_eq!(stories::told(&run, "alice"), stories::told(&run, "bob"));
    let ballots: u64 = ABC
        .iter()
        .map(|n| run.sim.node(n).unwrap().ballots_used())
        .sum();
    assert!(ballots >= 2, "each proposer used a ballot");
}

#[test]
fn paxos_late_proposer_jumps_past_promises_but_per_server_counters_burn_every_ballot() {
    // athens burns its ballots with every accept request dropped, raising every promise to its
    // last round. cyrene, asked next, needs one ballot with unique ballots (it jumps past the
    // promise its own acceptor holds), and is refused six times with the reference's counters.
    let builder = || Builder::new().client_timeout_ticks(1_000);
    let unique = stories::late_proposer()
        .run(builder(), |_| Paxos::new(Config::default()))
        .unwrap();
    assert_eq!(unique.sim.node("cyrene").unwrap().ballots_used(), 1);
    // athens's own acceptor accepted v1 in its last ballot: cyrene must recover it.
    assert_eq!(stories::told(&unique, "bob"), Some(Command::set("x", "v1")));
    let counters = Config::default().ballots(BallotRule::PerServerCounter);
    let burnt = stories::late_proposer()
        .run(builder(), move |_| Paxos::new(counters.clone()))
        .unwrap();
    assert_eq!(burnt.sim.node("cyrene").unwrap().ballots_used(), 6);
    assert!(matches!(
        burnt.last_reply("bob"),
        Some(PaxosReply::Failed {
            maybe_applied: false,
            ..
        })
    ));
}

#[test]
fn paxos_restarted_proposer_ignores_promises_to_its_past_life() {
    // athens prepares and crashes in the same tick; the promises addressed to its first life
    // arrive in its second and count for nothing. Its next ballot (1.0 again: its own promise was
    // never synced) is refused, and it jumps past it.
    let mut sim = cluster(Config::default());
    sim.invoke("alice", "athens", Command::set("x", "v1"))
        .unwrap();
    sim.run_until(10, |s| {
        s.node("byzantium")
            .is_ok_and(|b| b.acceptor().promised.is_some())
    })
    .unwrap();
    sim.crash("athens").unwrap();
    sim.restart("athens").unwrap();
    sim.run_for(5);
    let restarted = sim.node("athens").unwrap();
    assert_eq!(
        restarted.learned(),
        None,
        "the old promises were not counted"
    );
    assert_eq!(restarted.requests_in_flight(), 0);
    let outcome = sim
        .call("bob", "athens", Command::set("x", "v2"), 500)
        .unwrap()
        .clone();
    assert_eq!(decided(&outcome).0, Command::set("x", "v2"));
    let promised = sim.node("byzantium").unwrap().acceptor().promised.unwrap();
    assert!(promised > Ballot::new(1, ProcessId(0)), "{promised}");
}

#[test]
fn paxos_acceptor_restarts_with_what_it_synced_n3_accept_unsynced() {
    // A crash between an acceptor's write and its sync: its accepted value is gone after the
    // restart, and so is the answer it had not sent.
    let mut sim = cluster(Config::default());
    sim.inject(patterns::sim::Fault::HoldSync {
        node: "cyrene".into(),
    })
    .unwrap();
    sim.call("alice", "athens", Command::set("x", "v1"), 200)
        .unwrap();
    sim.run_until(20, |s| {
        s.node("cyrene")
            .is_ok_and(|c| c.acceptor().accepted.is_some())
    })
    .unwrap();
    assert!(sim.storage("cyrene").unwrap().unsynced_writes() > 0);
    sim.crash("cyrene").unwrap();
    sim.restart("cyrene").unwrap();
    let cyrene = sim.node("cyrene").unwrap();
    assert_eq!(cyrene.acceptor().accepted, None);
    assert_eq!(cyrene.acceptor().promised, None);
}

// ----- exploration -------------------------------------------------------------------------------

fn search(
    explorer: &Explorer,
    variant: &str,
    first_seed: u64,
    seeds: u64,
) -> explore::Search<Paxos> {
    let settings = Settings::first_failure(first_seed, seeds);
    explore::search(explorer, variant, &settings).unwrap()
}

#[test]
fn paxos_explorer_correct_forms_pass_and_broken_variants_fail_from_their_seeds() {
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
                let c = found
                    .counterexample
                    .unwrap_or_else(|| panic!("{} passed seed {seed}", variant.name));
                assert_eq!(c.seed, seed);
            }
        }
    }
}

#[test]
fn paxos_explorer_crashes_acceptors_between_their_write_and_their_sync() {
    // reply-before-persist fails only through such a crash: its counterexample names the
    // acceptor that forgot, and the nemesis crashed it.
    let explorer = Explorer::default();
    let seed = explorer
        .variants()
        .iter()
        .find(|v| v.name == "reply-before-persist")
        .and_then(|v| v.failing_seed)
        .unwrap();
    let c = search(&explorer, "reply-before-persist", seed, 1)
        .counterexample
        .unwrap();
    let Property::Invariant(why) = &c.property else {
        panic!("{}", c.property)
    };
    let forgetful = ABC.iter().find(|n| why.contains(*n)).unwrap();
    assert!(
        c.run
            .faults()
            .iter()
            .any(|(_, f)| f.to_string() == format!("crash {forgetful}")),
        "{why}"
    );
}

#[test]
fn paxos_exercise_hook_uses_the_rule_it_is_given() {
    // A lesson's "which value must I propose?" replaces the crate's: the right rule passes the
    // seed that catches ignore-accepted, the wrong one fails it.
    let seed = Explorer::default()
        .variants()
        .iter()
        .find(|v| v.name == "ignore-accepted")
        .and_then(|v| v.failing_seed)
        .unwrap();
    let right = Explorer::with_value_rule(paxos::value_to_propose);
    assert!(search(&right, "correct", seed, 1).failures.is_empty());
    let wrong = Explorer::with_value_rule(paxos::ignore_accepted);
    assert!(!search(&wrong, "correct", seed, 1).failures.is_empty());
}

#[test]
fn paxos_duels_cost_more_with_more_proposers_and_more_with_per_server_counters() {
    // Averaged over seeds: every added proposer costs messages, and the reference's ballots,
    // which never jump past what they saw, burn more of them than unique ballots.
    let mean = |config: &Config, proposers: usize| {
        let seeds = 0..12;
        let total: u64 = seeds
            .clone()
            .map(|seed| {
                paxos::duel(config.clone(), 5, proposers, seed)
                    .unwrap()
                    .ballots
            })
            .sum();
        total as f64 / seeds.count() as f64
    };
    let unique = Config::default();
    let counters = Config::default().ballots(BallotRule::PerServerCounter);
    let one = paxos::duel(unique.clone(), 5, 1, 0).unwrap();
    assert_eq!((one.ballots, one.failures), (1, 0), "alone: one ballot");
    assert_eq!(
        one.messages,
        4 * 4 + 4,
        "prepare, promise, accept, accepted to 4 peers, 4 commits"
    );
    assert!(mean(&unique, 4) > mean(&unique, 1));
    assert!(mean(&counters, 4) > mean(&unique, 4));
}

#[test]
fn paxos_proposer_out_of_ballots_says_its_command_may_still_be_chosen() {
    // Every accept request is dropped, but athens accepted its own command: after its last
    // ballot it fails, and says the command may yet be chosen (the history records :info).
    let mut sim = Builder::new()
        .client_timeout_ticks(1_000)
        .build(|_| Paxos::new(Config::default()))
        .unwrap();
    sim.drop_kind(PaxosKind::Accept, "athens", "byzantium")
        .unwrap();
    sim.drop_kind(PaxosKind::Accept, "athens", "cyrene")
        .unwrap();
    let outcome = sim
        .call("alice", "athens", Command::set("x", "v1"), 1_000)
        .unwrap()
        .clone();
    assert!(
        matches!(
            outcome.reply(),
            Some(PaxosReply::Failed {
                maybe_applied: true,
                ..
            })
        ),
        "no accept request got through, but athens accepted its own: {outcome:?}"
    );
}

// ----- the TLA+ counterexamples, replayed ---------------------------------------------------------

fn tla_trace(fixture: &str) -> patterns::tla::Trace {
    let path = format!(
        "{}/tests/fixtures/tla/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    );
    let report = patterns::tla::Report::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    report.trace().unwrap().clone()
}

fn unfollowed(replay: &Replay) -> Vec<String> {
    replay
        .steps
        .iter()
        .filter(|s| !s.followed)
        .map(|s| s.action.clone())
        .collect()
}

/// BrokenPaxosReplyBeforePersist's acceptors, cast so that every move the trace makes can
/// happen on a node that is also a proposer: a3, whose acceptor promises ballot 1 and accepts it,
/// proposes ballot 1; a2, which promises and accepts ballot 2, proposes ballot 2.
fn reply_before_persist_cast() -> Cast {
    Cast::new()
        .acceptor("a3", "athens")
        .acceptor("a2", "byzantium")
        .acceptor("a1", "cyrene")
        .proposer(1, "athens")
        .proposer(2, "byzantium")
}

#[test]
fn tla_reply_before_persist_counterexample_replays_on_reply_before_persist() {
    // TLC's shortest Agreement violation: a1 promises both ballots, crashes before either
    // promise is durable, accepts ballot 1's value after the restart, and each ballot gets its
    // value chosen. The Rust variant follows every step (but one promise its proposer's own
    // acceptor already refused), ends in the model's final state, and breaks the same rules.
    let trace = tla_trace("broken-paxos-reply-before-persist.out");
    let config = Explorer::default().config("reply-before-persist");
    let replay = replay::replay(&trace, &reply_before_persist_cast(), config).unwrap();
    assert_eq!(unfollowed(&replay), ["Promise(a2, 1)"], "{replay}");
    assert_eq!(replay.differences(&trace), Vec::<String>::new(), "{replay}");
    assert!(replay.broke("at most one value is chosen"), "{replay}");
    // The crash took back the promises cyrene had told: the model's PromisesKept, at state 6.
    let kept = replay
        .violations
        .iter()
        .find(|(_, v)| v.contains("PromisesKept"));
    assert_eq!(kept.map(|(n, _)| *n), Some(6), "{replay}");
}

#[test]
fn tla_reply_before_persist_counterexample_stays_safe_on_the_correct_paxos() {
    // The correct acceptor answers only after its sync: the crash takes back promises nobody
    // heard, so neither proposer gathers a second promise and nothing is chosen twice.
    let trace = tla_trace("broken-paxos-reply-before-persist.out");
    let replay = replay::replay(&trace, &reply_before_persist_cast(), Config::default()).unwrap();
    assert!(replay.violations.is_empty(), "{replay}");
    let refused = unfollowed(&replay);
    assert!(refused.contains(&"Propose(1, v1)".to_string()), "{replay}");
    assert!(refused.contains(&"Propose(2, v2)".to_string()), "{replay}");
    assert!(!replay.differences(&trace).is_empty());
}

/// BrokenPaxosIgnoreAccepted's cast: a3 accepts ballot 1 and never promises, so it may propose
/// ballot 1 (its own acceptor promises and accepts at once); a1 promises ballot 2 and accepts it.
fn ignore_accepted_cast() -> Cast {
    Cast::new()
        .acceptor("a3", "athens")
        .acceptor("a1", "byzantium")
        .acceptor("a2", "cyrene")
        .proposer(1, "athens")
        .proposer(2, "byzantium")
}

#[test]
fn tla_ignore_accepted_counterexample_replays_on_ignore_accepted() {
    // Ballot 1 gets v1 accepted by a2 and a3; ballot 2's promise quorum includes a2, which
    // reports v1, and its proposer proposes v2 all the same. The Rust `ignore-accepted` does the
    // same, and two values are chosen at the model's last step (a3's sync).
    let trace = tla_trace("broken-paxos-ignore-accepted.out");
    let config = Explorer::default().config("ignore-accepted");
    let replay = replay::replay(&trace, &ignore_accepted_cast(), config).unwrap();
    assert_eq!(unfollowed(&replay), ["Promise(a1, 1)"], "{replay}");
    assert_eq!(replay.differences(&trace), Vec::<String>::new(), "{replay}");
    let (state, why) = replay.violation().expect("a rule broken");
    assert!(why.starts_with("at most one value is chosen"), "{why}");
    assert_eq!(
        *state,
        trace.steps.len(),
        "broken at the trace's last state"
    );
}

#[test]
fn tla_ignore_accepted_counterexample_stays_safe_on_the_correct_paxos() {
    // The correct proposer of ballot 2 hears v1 in a promise and proposes v1: one value chosen.
    let trace = tla_trace("broken-paxos-ignore-accepted.out");
    let replay = replay::replay(&trace, &ignore_accepted_cast(), Config::default()).unwrap();
    assert!(replay.violations.is_empty(), "{replay}");
    assert!(unfollowed(&replay).contains(&"Propose(2, v2)".to_string()));
    let proposed = replay
        .steps
        .iter()
        .find(|s| s.action == "Propose(2, v2)")
        .unwrap();
    assert!(
        proposed.outcome.contains("set x=v1"),
        "{}",
        proposed.outcome
    );
}

fn durable_decision_cast() -> Cast {
    Cast::new()
        .acceptor("n1", "athens")
        .acceptor("n2", "byzantium")
        .acceptor("n3", "cyrene")
        .proposer(1, "byzantium")
}

#[test]
fn tla_durable_decision_restart_counterexample_replays_on_reply_before_persist() {
    // BrokenDurableDecisionRestart: n1 answers a prepare, crashes before the write is durable,
    // restarts, and no longer holds the promise it told. Paxos's `reply-before-persist` acceptor
    // breaks PromisesKept at the same state.
    let trace = tla_trace("broken-durable-decision-restart.out");
    let config = Explorer::default().config("reply-before-persist");
    let replay = replay::replay(&trace, &durable_decision_cast(), config).unwrap();
    assert!(unfollowed(&replay).is_empty(), "{replay}");
    assert_eq!(replay.differences(&trace), Vec::<String>::new(), "{replay}");
    let (state, why) = replay.violation().expect("PromisesKept broken");
    assert!(
        why.contains("PromisesKept") && why.contains("athens"),
        "{why}"
    );
    assert_eq!(*state, 4, "broken at the restart, as in the model");
}

#[test]
fn tla_durable_decision_restart_counterexample_stays_safe_on_the_correct_paxos() {
    // The correct acceptor's promise waits for its sync; the crash loses it before anyone heard.
    let trace = tla_trace("broken-durable-decision-restart.out");
    let replay = replay::replay(&trace, &durable_decision_cast(), Config::default()).unwrap();
    assert!(replay.violations.is_empty(), "{replay}");
    let answered = &replay.steps[0].outcome;
    assert!(answered.contains("waits for its sync"), "{answered}");
}

#[test]
fn tla_replay_refuses_a_cast_that_misses_an_acceptor_or_doubles_a_proposer() {
    let trace = tla_trace("broken-paxos-ignore-accepted.out");
    let missing = Cast::new()
        .acceptor("a1", "athens")
        .acceptor("a2", "byzantium")
        .proposer(1, "athens")
        .proposer(2, "byzantium");
    let e = replay::replay(&trace, &missing, Config::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("acceptor a3"), "{e}");
    let doubled = ignore_accepted_cast().proposer(3, "athens");
    let e = replay::replay(&trace, &doubled, Config::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("two ballots"), "{e}");
    let blocking = tla_trace("broken-two-phase-blocking.out");
    let e = replay::replay(&blocking, &ignore_accepted_cast(), Config::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("not an action"), "{e}");
}
