//! Day 2's first lesson under the explorer: naive replication has no correct form; two- and
//! three-phase commit pass every seed, each broken variant fails from its recorded seed, and the
//! coroutine coordinators give the state machine's runs seed for seed.

use patterns::explore::{self, Explorable, Property, Settings};
use patterns::protocols::naive_replication;
use patterns::protocols::two_phase_commit::{AsyncExplorer, ThreePhaseExplorer, TwoPhaseExplorer};

fn settings(first_seed: u64, seeds: u64) -> Settings {
    Settings::first_failure(first_seed, seeds)
}

fn passes<E: Explorable>(protocol: &E, variant: &str, seeds: u64) {
    let found = explore::search(protocol, variant, &settings(0, seeds)).unwrap();
    assert_eq!(found.runs, seeds);
    assert!(found.failures.is_empty(), "{variant}: {:?}", found.failures);
    assert!(found.unknown.is_empty(), "{variant}: {:?}", found.unknown);
    let stats = found.stats.summary();
    assert!(stats.completed_operations > 20 * seeds, "{stats:?}");
}

/// Every broken variant fails from its recorded seed; returns the properties they broke.
fn broken_fail_from_their_seeds<E: Explorable>(protocol: &E) -> Vec<(&'static str, Property)> {
    let mut broke = Vec::new();
    for variant in protocol.variants().into_iter().filter(|v| v.broken) {
        let seed = variant
            .failing_seed
            .expect("broken variants record a failing seed");
        let found = explore::search(protocol, variant.name, &settings(seed, 1)).unwrap();
        let c = found
            .counterexample
            .unwrap_or_else(|| panic!("{} passed seed {seed}", variant.name));
        broke.push((variant.name, c.property));
    }
    broke
}

#[test]
fn two_phase_commit_correct_forms_pass() {
    passes(&TwoPhaseExplorer, "correct", 12);
    passes(&TwoPhaseExplorer, "all-participants", 6);
}

#[test]
fn three_phase_commit_correct_form_passes() {
    passes(&ThreePhaseExplorer, "correct", 12);
}

#[test]
fn every_broken_commit_variant_fails_from_its_recorded_seed() {
    let mut broke = broken_fail_from_their_seeds(&TwoPhaseExplorer);
    broke.extend(broken_fail_from_their_seeds(&ThreePhaseExplorer));
    let names: Vec<&str> = broke.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "abort-alone",
            "no-locks",
            "largest-id-recovery",
            "no-fencing"
        ]
    );
    for (name, property) in &broke {
        let expected = match *name {
            "abort-alone" => "atomicity",
            "no-locks" => "agreement",
            _ => "",
        };
        match property {
            Property::Invariant(why) => assert!(why.starts_with(expected), "{name}: {why}"),
            other => assert!(expected.is_empty(), "{name}: {other}"),
        }
    }
}

#[test]
fn naive_replication_has_no_correct_form() {
    let variants = Explorable::variants(&naive_replication::Explorer);
    assert!(variants.iter().all(|v| v.broken));
    let broke = broken_fail_from_their_seeds(&naive_replication::Explorer);
    assert_eq!(broke.len(), variants.len());
}

#[test]
fn coroutine_coordinators_give_the_state_machines_runs() {
    // The same seed, the same history, byte for byte, for both protocols and a broken variant.
    for (name, variant, seeds) in [
        ("two-phase-commit", "correct", 0..4),
        ("three-phase-commit", "correct", 0..4),
        ("three-phase-commit", "no-fencing", 0..2),
    ] {
        for seed in seeds {
            let machine = match name {
                "two-phase-commit" => {
                    explore::replay_to(&TwoPhaseExplorer, variant, seed, u64::MAX)
                }
                _ => explore::replay_to(&ThreePhaseExplorer, variant, seed, u64::MAX),
            }
            .unwrap();
            let coroutine =
                explore::replay_to(&AsyncExplorer(name), variant, seed, u64::MAX).unwrap();
            assert_eq!(
                machine.sim.history().to_edn(),
                coroutine.sim.history().to_edn(),
                "{name} {variant} seed {seed}"
            );
            assert_eq!(
                machine.sim.trace().stable_hash(),
                coroutine.sim.trace().stable_hash(),
                "{name} {variant} seed {seed}"
            );
        }
    }
}
