//! The Paxos log (spec §3.7 and the lesson's stories), on the simulator: one Paxos instance per
//! index, a key-value store applied in index order, durable acceptors, and what its broken forms
//! cost or break.

use patterns::explore::{self, Explorable, Property, Settings};
use patterns::protocols::kv::{KvOp, KvReply};
use patterns::protocols::paxos_log::{
    Command, Config, Explorer, Identity, PaxosLog, PaxosLogKind, Start, cost,
};
use patterns::sim::{Builder, Simulation};

const ABC: [&str; 3] = ["athens", "byzantium", "cyrene"];

fn cluster(config: Config) -> Simulation<PaxosLog> {
    Builder::new()
        .clients(["alice", "bob", "carol"])
        .build(move |_| PaxosLog::new(config.clone()))
        .expect("valid cluster")
}

fn call(sim: &mut Simulation<PaxosLog>, client: &str, node: &str, op: KvOp) -> KvReply {
    let outcome = sim.call(client, node, op, 500).expect("the call completes");
    outcome.reply().cloned().expect("a reply, not a timeout")
}

/// Runs until every replica satisfies `claim` (a learner hears of the last commit a little after
/// the proposer's client does).
fn await_all(sim: &mut Simulation<PaxosLog>, claim: impl Fn(&PaxosLog) -> bool) {
    sim.run_until(500, |s| ABC.iter().all(|n| s.node(n).is_ok_and(&claim)))
        .unwrap_or_else(|e| panic!("{e}"));
}

fn chosen_everywhere(sim: &Simulation<PaxosLog>, index: u64) -> Command {
    let first = sim.node("athens").unwrap().log().chosen(index).cloned();
    for name in ABC {
        assert_eq!(
            sim.node(name).unwrap().log().chosen(index),
            first.as_ref(),
            "[{index}] at {name}"
        );
    }
    first.unwrap_or_else(|| panic!("[{index}] is chosen"))
}

// ----- PaxosLogTest (spec §3.7) ------------------------------------------------------------------

#[test]
fn paxos_log_basic_set_value_reaches_every_replica_hwm_1() {
    // §3.7 #1: one write is chosen at index 1 and applied everywhere (Paxos Made Simple §3).
    let mut sim = cluster(Config::default());
    let reply = call(
        &mut sim,
        "alice",
        "athens",
        KvOp::write("title", "Microservices"),
    );
    assert_eq!(reply, KvReply::Written);
    await_all(&mut sim, |n| {
        n.value("title") == Some("Microservices") && n.high_water_mark() == 1
    });
}

#[test]
fn paxos_log_multiple_commands_through_two_proposers_fill_indexes_1_to_3() {
    // §3.7 #2: commands through two proposers take consecutive indexes; every replica applies
    // them in index order, so the compare-and-set sees the write before it.
    let mut sim = cluster(Config::default());
    let title = KvOp::write("title", "Microservices");
    assert_eq!(call(&mut sim, "alice", "athens", title), KvReply::Written);
    let author = KvOp::write("author", "Martin");
    assert_eq!(call(&mut sim, "bob", "byzantium", author), KvReply::Written);
    let swap = KvOp::cas("author", "Martin", "Martin Fowler");
    assert_eq!(
        call(&mut sim, "bob", "byzantium", swap),
        KvReply::Swapped(true)
    );
    await_all(&mut sim, |n| n.high_water_mark() == 3);
    let athens = sim.node("athens").unwrap();
    assert_eq!(athens.value("title"), Some("Microservices"));
    assert_eq!(athens.value("author"), Some("Martin Fowler"));
}

#[test]
fn paxos_log_compare_and_set_swaps_only_the_expected_value() {
    // §3.7 #3: a compare-and-set that expects another value does nothing; one that expects the
    // value it finds swaps it, wherever it is proposed.
    let mut sim = cluster(Config::default());
    let title = KvOp::write("title", "Microservices");
    assert_eq!(call(&mut sim, "alice", "athens", title), KvReply::Written);
    let wrong = KvOp::cas("title", "Wrong Value", "Updated");
    assert_eq!(
        call(&mut sim, "bob", "byzantium", wrong),
        KvReply::Swapped(false)
    );
    let right = KvOp::cas("title", "Microservices", "Event Driven Microservices");
    assert_eq!(
        call(&mut sim, "carol", "cyrene", right),
        KvReply::Swapped(true)
    );
    await_all(&mut sim, |n| {
        n.value("title") == Some("Event Driven Microservices")
    });
}

#[test]
fn paxos_log_read_goes_through_the_log_and_sees_the_write() {
    // §3.7 #4: a read is a command of the log too, so a replica that did not take part in the
    // write still answers it with the value written before.
    let mut sim = cluster(Config::default());
    let author = KvOp::write("author", "Martin");
    assert_eq!(call(&mut sim, "alice", "athens", author), KvReply::Written);
    let read = call(&mut sim, "bob", "byzantium", KvOp::read("author"));
    assert_eq!(read, KvReply::Value(Some("Martin".to_string())));
    assert_eq!(sim.node("byzantium").unwrap().high_water_mark(), 2);
}

#[test]
fn paxos_log_committed_entries_from_two_proposers_are_chosen_on_every_replica() {
    // §3.7 #5: two writes through two proposers: indexes 1 and 2 chosen and applied everywhere.
    let mut sim = cluster(Config::default());
    let one = KvOp::write("key1", "value1");
    assert_eq!(call(&mut sim, "alice", "athens", one), KvReply::Written);
    let two = KvOp::write("key2", "value2");
    assert_eq!(call(&mut sim, "bob", "byzantium", two), KvReply::Written);
    await_all(&mut sim, |n| n.high_water_mark() == 2);
    for index in 1..=2 {
        chosen_everywhere(&sim, index);
    }
}

#[test]
fn paxos_log_consistency_three_writes_same_log_on_every_replica() {
    // §3.7 #6: three writes through one proposer: every replica holds the same three entries in
    // the same order.
    let mut sim = cluster(Config::default());
    for i in 0..3 {
        let op = KvOp::write(&format!("key{i}"), &format!("value{i}"));
        assert_eq!(call(&mut sim, "alice", "athens", op), KvReply::Written);
    }
    await_all(&mut sim, |n| n.high_water_mark() == 3);
    for (index, key) in (1..=3).zip(["key0", "key1", "key2"]) {
        let command = chosen_everywhere(&sim, index);
        assert_eq!(command.op().map(KvOp::key), Some(key), "[{index}]");
    }
}

// ----- the lesson's stories ----------------------------------------------------------------------

#[test]
fn paxos_log_concurrent_writes_n3_two_proposers_each_get_an_index() {
    // Two proposers at once meet at index 1: one command is chosen there, the other carries it
    // forward and takes index 2. Both clients are told their own command ran.
    let mut sim = cluster(Config::default());
    let a = sim
        .invoke("alice", "athens", KvOp::write("x", "a"))
        .unwrap();
    let b = sim
        .invoke("bob", "byzantium", KvOp::write("x", "b"))
        .unwrap();
    sim.run_until(1_000, |s| s.is_done(a) && s.is_done(b))
        .unwrap();
    assert_eq!(sim.reply(a), Some(&KvReply::Written));
    assert_eq!(sim.reply(b), Some(&KvReply::Written));
    await_all(&mut sim, |n| n.high_water_mark() == 2);
    let last = chosen_everywhere(&sim, 2);
    let KvOp::Write { value, .. } = last.op().unwrap() else {
        panic!("{last}")
    };
    await_all(&mut sim, |n| n.value("x") == Some(value.as_str()));
}

#[test]
fn paxos_log_two_equal_writes_are_two_entries() {
    // Identity by request id: two clients' equal writes are two commands at two indexes (the
    // reference's structural equality merged them into one).
    let mut sim = cluster(Config::default());
    let op = KvOp::write("x", "v1");
    let a = sim.invoke("alice", "athens", op.clone()).unwrap();
    let b = sim.invoke("bob", "byzantium", op).unwrap();
    sim.run_until(1_000, |s| s.is_done(a) && s.is_done(b))
        .unwrap();
    await_all(&mut sim, |n| n.high_water_mark() == 2);
    let one = chosen_everywhere(&sim, 1);
    let two = chosen_everywhere(&sim, 2);
    assert_eq!(one.op(), two.op());
    assert_ne!(one.request(), two.request());
}

#[test]
fn paxos_log_structural_identity_answers_a_compare_and_set_that_never_ran() {
    // Two clients send the same compare-and-set. With structural identity the second proposer,
    // finding the first one's command chosen, takes it for its own: both clients are told they
    // swapped, though the log holds one swap.
    let run = |identity: Identity| {
        let mut sim = cluster(Config::default().identity(identity));
        let set = KvOp::write("x", "v0");
        assert_eq!(call(&mut sim, "carol", "athens", set), KvReply::Written);
        let swap = KvOp::cas("x", "v0", "v1");
        let a = sim.invoke("alice", "athens", swap.clone()).unwrap();
        let b = sim.invoke("bob", "byzantium", swap).unwrap();
        sim.run_until(1_000, |s| s.is_done(a) && s.is_done(b))
            .unwrap();
        let swapped = [a, b]
            .iter()
            .filter(|op| sim.reply(**op) == Some(&KvReply::Swapped(true)))
            .count();
        let check = patterns::protocols::paxos_log::check_kv_history(sim.history()).unwrap();
        (swapped, check.is_ok())
    };
    assert_eq!(run(Identity::RequestId), (1, true), "one swap, one refusal");
    assert_eq!(
        run(Identity::Structural),
        (2, false),
        "two swaps told, one ran"
    );
}

#[test]
fn paxos_log_replica_restarts_with_its_synced_log_and_applies_it_again() {
    // A crashed replica replays its durable records. What it accepted was synced before it
    // answered, so it survives; what it learned was chosen is a cache, synced with its next
    // answer, and may be lost: a request through it learns it again.
    let mut sim = cluster(Config::default());
    for i in 0..3 {
        let op = KvOp::write("x", &format!("v{i}"));
        assert_eq!(call(&mut sim, "alice", "athens", op), KvReply::Written);
    }
    await_all(&mut sim, |n| n.high_water_mark() == 3);
    sim.crash("cyrene").unwrap();
    sim.restart("cyrene").unwrap();
    let cyrene = sim.node("cyrene").unwrap();
    for index in 1..=3 {
        let accepted = cyrene.log().entry(index).and_then(|e| e.accepted.as_ref());
        assert!(accepted.is_some(), "[{index}] accepted before the crash");
    }
    assert!(
        cyrene.high_water_mark() >= 2,
        "the chosen records synced with later accepts"
    );
    let op = KvOp::write("x", "v3");
    assert_eq!(call(&mut sim, "carol", "cyrene", op), KvReply::Written);
    await_all(&mut sim, |n| {
        n.high_water_mark() == 4 && n.value("x") == Some("v3")
    });
}

#[test]
fn paxos_log_lost_commit_is_recovered_by_the_next_proposer() {
    // athens' commit of index 1 never reaches cyrene; a request through cyrene starts at index
    // 1, finds the chosen command in its promises, carries it forward, and goes on to index 2.
    let mut sim = cluster(Config::default());
    for peer in ["byzantium", "cyrene"] {
        sim.drop_kind(PaxosLogKind::Commit, "athens", peer).unwrap();
    }
    let one = KvOp::write("x", "v1");
    assert_eq!(call(&mut sim, "alice", "athens", one), KvReply::Written);
    assert_eq!(sim.node("cyrene").unwrap().log().chosen(1), None);
    let read = call(&mut sim, "bob", "cyrene", KvOp::read("x"));
    assert_eq!(read, KvReply::Value(Some("v1".to_string())));
    assert_eq!(sim.node("cyrene").unwrap().high_water_mark(), 2);
}

#[test]
fn paxos_log_walking_from_the_start_costs_a_round_per_entry() {
    // The reference's teaching flaw: every request walks from index 1 and runs both phases at
    // every chosen index; starting at the first index not known chosen costs one round.
    let walk = cost::paxos_log_costs(Config::default().start(Start::Beginning), 5).unwrap();
    let fixed = cost::paxos_log_costs(Config::default(), 5).unwrap();
    assert!(walk[4] >= 5 * fixed[4], "{walk:?} vs {fixed:?}");
    assert!(fixed.iter().all(|&m| m == fixed[0]));
}

// ----- exploration -------------------------------------------------------------------------------

fn search(
    explorer: &Explorer,
    variant: &str,
    first_seed: u64,
    seeds: u64,
) -> explore::Search<PaxosLog> {
    let settings = Settings::first_failure(first_seed, seeds);
    explore::search(explorer, variant, &settings).unwrap()
}

#[test]
fn paxos_log_explorer_correct_forms_pass_and_broken_variants_fail_from_their_seeds() {
    let explorer = Explorer::default();
    for variant in Explorable::variants(&explorer) {
        match variant.failing_seed {
            None => {
                let found = search(&explorer, variant.name, 0, 10);
                assert!(
                    found.failures.is_empty(),
                    "{}: {:?}",
                    variant.name,
                    found.failures
                );
                assert!(found.unknown.is_empty(), "{}", variant.name);
            }
            Some(seed) => {
                let found = search(&explorer, variant.name, seed, 1);
                let c = found
                    .counterexample
                    .unwrap_or_else(|| panic!("{} passed seed {seed}", variant.name));
                assert_eq!(c.seed, seed);
                assert!(
                    !matches!(c.property, Property::Liveness(_)),
                    "{}: {}",
                    variant.name,
                    c.property
                );
            }
        }
    }
}

#[test]
fn paxos_log_exercise_hook_uses_the_identity_rule_it_is_given() {
    // A lesson's "was the chosen value mine?" replaces the crate's: the structural rule fails the
    // seed that catches structural-identity, the request-id rule passes it.
    let seed = Explorer::default()
        .variants()
        .iter()
        .find(|v| v.name == "structural-identity")
        .and_then(|v| v.failing_seed)
        .unwrap();
    let by_structure = Explorer::with_identity(Identity::Rule(|chosen, own| {
        chosen.op().is_some() && chosen.op() == own.op()
    }));
    assert!(
        search(&by_structure, "correct", seed, 1)
            .counterexample
            .is_some()
    );
    let by_request = Explorer::with_identity(Identity::Rule(|chosen, own| {
        chosen.request().is_some() && chosen.request() == own.request()
    }));
    assert!(
        search(&by_request, "correct", seed, 1)
            .counterexample
            .is_none()
    );
}
