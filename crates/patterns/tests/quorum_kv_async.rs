//! The quorum store's two coordinators, the state machine and the coroutine, side by side; and
//! read-before-write versioning (ABD), the fix for last-write-wins under clock skew.

use patterns::check::{self, Independent, Register};
use patterns::history::Value;
use patterns::node::{Node, NodeInit};
use patterns::protocols::kv::{KvOp, KvReply, random_kv_run};
use patterns::protocols::quorum_kv::{
    AsyncQuorumKv, Config, QuorumKv, ReadRepair, Versioning, version_after,
};
use patterns::sim::{Builder, Outcome, Simulation};

fn configs() -> Vec<(&'static str, Config)> {
    vec![
        ("majority, no repair", Config::majority(3)),
        (
            "majority, sync repair",
            Config::majority(3).read_repair(ReadRepair::Sync),
        ),
        (
            "majority, async repair",
            Config::majority(3).read_repair(ReadRepair::Async),
        ),
        (
            "ABD",
            Config::majority(3)
                .read_repair(ReadRepair::Sync)
                .versioning(Versioning::ReadBeforeWrite),
        ),
        ("R = W = 1", Config::majority(3).quorums(1, 1).unwrap()),
    ]
}

fn run<N: Node<Operation = KvOp>>(
    factory: impl Fn(&NodeInit) -> N + 'static,
    seed: u64,
) -> Simulation<N> {
    random_kv_run(3, factory, seed, 300).unwrap()
}

fn linearizable(sim_history: &patterns::history::History) -> bool {
    let model = Independent::new(Register::new(Value::Nil));
    let report = check::linearizable(sim_history, &model).unwrap();
    assert!(!report.is_unknown());
    report.is_ok()
}

#[test]
fn quorum_kv_async_coordinator_gives_the_state_machines_runs_and_verdicts() {
    // Same seed, same faults: the coroutine asks the same nodes in the same order under the same
    // correlation ids and deadlines, so the two coordinators produce the same history, and the
    // checker the same verdict, for every configuration (broken ones included).
    let mut verdicts = Vec::new();
    for (name, config) in configs() {
        for seed in 0..6 {
            let state_machine = {
                let config = config.clone();
                run(move |_| QuorumKv::new(config.clone()), seed)
            };
            let coroutine = {
                let config = config.clone();
                run(move |_| AsyncQuorumKv::new(config.clone()), seed)
            };
            assert_eq!(
                state_machine.history(),
                coroutine.history(),
                "{name}, seed {seed}: the histories differ"
            );
            let (a, b) = (
                linearizable(state_machine.history()),
                linearizable(coroutine.history()),
            );
            assert_eq!(a, b, "{name}, seed {seed}");
            verdicts.push((name, a));
        }
    }
    assert!(verdicts.iter().any(|(_, ok)| *ok));
    assert!(
        verdicts.iter().any(|(_, ok)| !*ok),
        "the broken configurations fail somewhere, in both"
    );
}

#[test]
fn quorum_kv_abd_random_runs_are_linearizable_with_either_coordinator() {
    // Majority quorums + synchronous read repair + read-before-write versions: linearizable under
    // the nemesis, seed after seed (wall-clock versions alone are not: see tests/quorum_kv.rs).
    let config = configs().remove(3).1;
    for seed in 0..12 {
        let config_a = config.clone();
        let sim = run(move |_| QuorumKv::new(config_a.clone()), seed);
        assert!(linearizable(sim.history()), "state machine, seed {seed}");
        let config_b = config.clone();
        let sim = run(move |_| AsyncQuorumKv::new(config_b.clone()), seed);
        assert!(linearizable(sim.history()), "coroutine, seed {seed}");
    }
}

#[test]
fn quorum_kv_abd_version_is_above_the_highest_a_quorum_reported() {
    use patterns::node::ProcessId;
    use patterns::protocols::quorum_kv::Version;
    let v = |ts, node| Version {
        timestamp_millis: ts,
        coordinator: ProcessId(node),
        counter: 1,
    };
    // (highest reported, coordinator, expected timestamp)
    let table = [
        (None, 0, 1),            // an empty store: the first version
        (Some(v(41, 2)), 0, 42), // above the highest, whoever wrote it
        (Some(v(i64::from(u16::MAX), 1)), 1, 65_536),
    ];
    for (highest, node, expected) in table {
        let next = version_after(highest.as_ref(), ProcessId(node), 7);
        assert_eq!(next.timestamp_millis, expected, "{highest:?}");
        assert!(highest.is_none_or(|h| next > h));
    }
    // Two coordinators that read the same highest version tie on the timestamp: ids decide.
    let (a, b) = (
        version_after(Some(&v(5, 0)), ProcessId(0), 9),
        version_after(Some(&v(5, 0)), ProcessId(1), 1),
    );
    assert!(b > a);
}

/// byzantium's clock is 10 s slow; alice's write through athens completes, then bob's later write
/// through byzantium: which value do reads return?
fn skewed_later_write<N: Node<Operation = KvOp>>(
    factory: impl Fn(&NodeInit) -> N + 'static,
) -> Option<String> {
    let mut sim = Builder::new()
        .clients(["alice", "bob", "carol"])
        .build(factory)
        .unwrap();
    sim.skew_clock("byzantium", -10_000).unwrap();
    let mut call = |client: &str, node: &str, op: KvOp| match sim.call(client, node, op, 500) {
        Ok(Outcome::Replied { reply, .. }) => reply.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        call("alice", "athens", KvOp::write("title", "first")),
        KvReply::Written
    );
    assert_eq!(
        call("bob", "byzantium", KvOp::write("title", "second")),
        KvReply::Written
    );
    match call("carol", "cyrene", KvOp::read("title")) {
        KvReply::Value(v) => v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn quorum_kv_abd_keeps_a_later_write_from_a_slow_clock_that_wall_clock_versions_lose() {
    let lww = Config::majority(3).read_repair(ReadRepair::Sync);
    let abd = lww.clone().versioning(Versioning::ReadBeforeWrite);
    let (a, b) = (lww.clone(), lww);
    assert_eq!(
        skewed_later_write(move |_| QuorumKv::new(a.clone())).as_deref(),
        Some("first"),
        "last write wins by clock: the later write is silently lost"
    );
    assert_eq!(
        skewed_later_write(move |_| AsyncQuorumKv::new(b.clone())).as_deref(),
        Some("first")
    );
    let (a, b) = (abd.clone(), abd);
    assert_eq!(
        skewed_later_write(move |_| QuorumKv::new(a.clone())).as_deref(),
        Some("second")
    );
    assert_eq!(
        skewed_later_write(move |_| AsyncQuorumKv::new(b.clone())).as_deref(),
        Some("second")
    );
}
