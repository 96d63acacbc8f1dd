//! The explorer's contract: correct forms pass, broken variants are caught from their recorded
//! seeds, counterexamples shrink and replay exactly, and a run can be rewound and forked.

use patterns::check::{HistoryError, Report};
use patterns::explore::{
    self, Explorable, ExploreError, Factory, Operations, Property, Settings, Variant,
};
use patterns::history::History;

use patterns::protocols::quorum_kv::{self, QuorumKv};
use patterns::sim::{Builder, Fault, Observer, RunPlan};

fn settings(first_seed: u64, seeds: u64) -> Settings {
    Settings {
        first_seed,
        seeds,
        shrink: true,
        stop_at_first: true,
    }
}

#[test]
fn the_correct_quorum_store_passes_every_seed() {
    let found = explore::search(&quorum_kv::Explorer, "correct", &settings(0, 60)).unwrap();
    assert_eq!(found.runs, 60);
    assert!(found.failures.is_empty(), "{:?}", found.failures);
    assert!(found.unknown.is_empty());
    let stats = found.stats.summary();
    assert!(stats.completed_operations > 1_000, "{stats:?}");
    assert!(
        stats.messages_per_operation > 3.0,
        "a quorum operation is several messages"
    );
}

#[test]
fn every_broken_quorum_variant_fails_from_its_recorded_seed_and_shrinks() {
    let mut short = 0;
    for variant in Explorable::variants(&quorum_kv::Explorer) {
        if !variant.broken {
            continue;
        }
        let seed = variant
            .failing_seed
            .expect("broken variants record a failing seed");
        let found =
            explore::search(&quorum_kv::Explorer, variant.name, &settings(seed, 1)).unwrap();
        let c = found
            .counterexample
            .unwrap_or_else(|| panic!("{} passed seed {seed}", variant.name));
        assert_eq!(c.seed, seed);
        assert!(
            matches!(c.property, Property::Linearizability(_)),
            "{}",
            c.property
        );
        assert!(
            c.report.as_ref().is_some_and(|r| r.is_illegal()),
            "the replay still fails"
        );
        let s = &c.shrink;
        assert!(
            s.operations.1 < s.operations.0 && s.faults.1 < s.faults.0,
            "{s:?}"
        );
        short += usize::from(s.operations.1 <= 10);
        assert!(c.replay().contains(&format!("seed {seed}")));
    }
    // A race that depends on timing shrinks less: taking an operation out moves every later
    // latency. Most counterexamples come down to a handful of operations.
    assert!(
        short >= 3,
        "only {short} variants shrank to 10 operations or fewer"
    );
}

#[test]
fn a_search_is_the_same_every_time() {
    let run = || {
        let found =
            explore::search(&quorum_kv::Explorer, "no-read-repair", &settings(0, 40)).unwrap();
        let c = found.counterexample.expect("found within 40 seeds");
        (
            found.failures,
            c.shrink.clone(),
            c.run.sim.history().to_edn(),
            c.run.sim.trace().stable_hash(),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn an_unknown_variant_is_refused_with_the_known_ones() {
    let Err(err) = explore::search(&quorum_kv::Explorer, "r2-w2", &settings(0, 1)) else {
        panic!("accepted an unknown variant");
    };
    assert!(matches!(err, ExploreError::UnknownVariant { .. }));
    assert!(err.to_string().contains("no-read-repair"), "{err}");
}

#[test]
fn a_replayed_run_can_be_stopped_at_a_tick_and_forked() {
    let mut run = explore::replay_to(&quorum_kv::Explorer, "correct", 3, 80).unwrap();
    assert_eq!(run.sim.now(), 80);
    let events_before = run.sim.trace().events.len();
    let mut fork = run.sim.fork();
    fork.inject(Fault::isolate("athens")).unwrap();
    fork.run_for(50);
    assert_eq!(
        run.sim.trace().events.len(),
        events_before,
        "the original did not move"
    );
    assert!(fork.is_cut("athens", "cyrene").unwrap());
    assert!(!run.sim.is_cut("athens", "cyrene").unwrap());
    // The original goes on as if nothing happened: the same as a fresh replay to the end.
    run.finish().unwrap();
    let mut again = explore::replay_to(&quorum_kv::Explorer, "correct", 3, 80).unwrap();
    again.finish().unwrap();
    assert_eq!(
        run.sim.trace().stable_hash(),
        again.sim.trace().stable_hash()
    );
}

/// The quorum store with a made-up invariant ("no replica ever holds v3"), to see invariant
/// failures found at their tick and cut short there.
struct NoV3;

impl Explorable for NoV3 {
    type Node = QuorumKv;

    fn name(&self) -> &'static str {
        "no-v3"
    }
    fn summary(&self) -> &'static str {
        "a test"
    }
    fn variants(&self) -> Vec<Variant> {
        vec![Variant {
            name: "correct",
            summary: "",
            broken: true,
            failing_seed: None,
        }]
    }
    fn builder(&self, v: &Variant) -> Builder {
        Explorable::builder(&quorum_kv::Explorer, v)
    }
    fn node(&self, v: &Variant) -> Factory<QuorumKv> {
        Explorable::node(&quorum_kv::Explorer, v)
    }
    fn operations(&self, v: &Variant) -> Operations<QuorumKv> {
        Explorable::operations(&quorum_kv::Explorer, v)
    }
    fn plan(&self, v: &Variant) -> RunPlan {
        Explorable::plan(&quorum_kv::Explorer, v)
    }
    fn invariants(&self, _: &Variant) -> Option<Observer<QuorumKv>> {
        Some(Box::new(|sim| {
            for (name, node) in sim.running_nodes() {
                for key in ["k0", "k1"] {
                    if node.value(key) == Some("v3") {
                        return Err(format!("{name} holds v3 at {key}"));
                    }
                }
            }
            Ok(())
        }))
    }
    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        Explorable::check(&quorum_kv::Explorer, history)
    }
}

#[test]
fn an_invariant_failure_stops_the_run_at_its_tick_and_shrinks_around_it() {
    let found = explore::search(&NoV3, "correct", &settings(0, 5)).unwrap();
    let c = found.counterexample.expect("someone writes v3 early");
    let tick = c.tick.expect("invariant failures have a tick");
    assert!(matches!(c.property, Property::Invariant(ref why) if why.contains("holds v3")));
    assert!(c.shrink.ticks.1 <= tick + 1, "{:?} tick {tick}", c.shrink);
    assert!(
        c.run.sim.now() <= tick + 1,
        "the replay stopped at the violation"
    );
    assert!(
        c.shrink.operations.1 <= 2,
        "one write of v3 is enough: {:?}",
        c.shrink
    );
}

#[test]
fn a_counterexample_rewound_before_its_fault_and_forked_without_it_passes() {
    // Time travel on the clock-skew counterexample: the cluster just before the first skew, then
    // a fork that never skews a clock. The same operations are then linearizable: the skew was
    // the cause.
    let protocol = quorum_kv::Explorer;
    let found = explore::search(&protocol, "clock-skew", &settings(1, 1)).unwrap();
    let c = found.counterexample.expect("seed 1 fails");
    let (skew_at, _) = c
        .faults()
        .iter()
        .find(|(_, f)| matches!(f, Fault::SkewClock { .. }))
        .cloned()
        .expect("the shrunk run keeps a skew");
    let before = c.rewind(&protocol, skew_at).unwrap();
    assert_eq!(before.sim.now(), skew_at);
    let mut fork = before
        .fork()
        .expect("a replayed counterexample can be forked");
    assert!(fork.skip_faults(|f| matches!(f, Fault::SkewClock { .. })) >= 1);
    fork.finish().unwrap();
    assert!(
        Explorable::check(&protocol, fork.sim.history())
            .unwrap()
            .is_ok()
    );
    // The original, finished as it was, still fails.
    let mut again = c.rewind(&protocol, skew_at).unwrap();
    again.finish().unwrap();
    assert!(
        Explorable::check(&protocol, again.sim.history())
            .unwrap()
            .is_illegal()
    );
}
