//! The reference's quorum scenarios (spec §3.2), each as a claim, on the simulator.
//! Histories are compared with the exact EDN fixtures of spec Appendix A.

use patterns::protocols::kv::{KvOp, KvReply};
use patterns::protocols::quorum_kv::{Config, QuorumKv, ReadRepair, ReplicaKind, WriteFailure};
use patterns::sim::{Builder, Outcome, Simulation};

const ABC: [&str; 3] = ["athens", "byzantium", "cyrene"];
const FIVE: [&str; 5] = ["athens", "byzantium", "cyrene", "delphi", "sparta"];

fn cluster(nodes: &[&str], clients: &[&str], config: Config) -> Simulation<QuorumKv> {
    Builder::new()
        .nodes(nodes.iter().copied())
        .clients(clients.iter().copied())
        .build(move |_| QuorumKv::new(config.clone()))
        .expect("valid cluster")
}

fn three(read_repair: ReadRepair) -> Simulation<QuorumKv> {
    cluster(
        &ABC,
        &["alice", "bob", "client-b"],
        Config::majority(3).read_repair(read_repair),
    )
}

/// Invokes and waits; panics with the simulator's explanation if the operation never ends.
fn call(sim: &mut Simulation<QuorumKv>, client: &str, node: &str, op: KvOp) -> KvReply {
    match sim
        .call(client, node, op, 500)
        .unwrap_or_else(|e| panic!("{e}"))
    {
        Outcome::Replied { reply, .. } => reply.clone(),
        Outcome::TimedOut { tick } => panic!("{client}'s operation timed out at tick {tick}"),
    }
}

fn set(
    sim: &mut Simulation<QuorumKv>,
    client: &str,
    node: &str,
    key: &str,
    value: &str,
) -> KvReply {
    call(sim, client, node, KvOp::write(key, value))
}

fn get(sim: &mut Simulation<QuorumKv>, client: &str, node: &str, key: &str) -> Option<String> {
    match call(sim, client, node, KvOp::read(key)) {
        KvReply::Value(v) => v,
        other => panic!("read of {key} failed: {other:?}"),
    }
}

fn stored(sim: &Simulation<QuorumKv>, node: &str, key: &str) -> Option<String> {
    sim.node(node).unwrap().value(key).map(str::to_string)
}

fn await_all_hold(sim: &mut Simulation<QuorumKv>, nodes: &[&str], key: &str, value: &str) {
    let nodes: Vec<String> = nodes.iter().map(|s| s.to_string()).collect();
    sim.run_until(500, |s| {
        nodes
            .iter()
            .all(|n| s.node(n).unwrap().value(key) == Some(value))
    })
    .unwrap_or_else(|e| panic!("{e}"));
}

// ----- QuorumBasicScenariosTest ----------------------------------------------------------------------

#[test]
fn quorum_write_reaches_every_replica() {
    // §3.2 #1: a write acknowledged by a majority ends up on every reachable replica.
    let mut sim = three(ReadRepair::Off);
    assert_eq!(
        set(&mut sim, "alice", "athens", "title", "Microservices"),
        KvReply::Written
    );
    await_all_hold(&mut sim, &ABC, "title", "Microservices");
}

#[test]
fn quorum_read_sees_a_write_made_by_another_majority() {
    // §3.2 #2: write with {A,B}, read with {A,C}: the quorums share athens.
    let mut sim = three(ReadRepair::Off);
    sim.partition(&["athens", "byzantium"], &["cyrene"])
        .unwrap();
    assert_eq!(
        set(&mut sim, "alice", "athens", "title", "Microservices"),
        KvReply::Written
    );
    sim.heal_all();
    sim.partition(&["athens", "cyrene"], &["byzantium"])
        .unwrap();
    assert_eq!(
        get(&mut sim, "alice", "athens", "title").as_deref(),
        Some("Microservices")
    );
}

#[test]
fn sequential_reads_follow_the_newest_timestamp() {
    // §3.2 #3: each read overlaps the previous write's quorum, and the newer timestamp wins.
    let mut sim = three(ReadRepair::Off);
    sim.partition(&["athens", "byzantium"], &["cyrene"])
        .unwrap();
    assert_eq!(
        set(&mut sim, "alice", "athens", "title", "Microservices"),
        KvReply::Written
    );
    sim.heal_all();
    sim.partition(&["athens", "cyrene"], &["byzantium"])
        .unwrap();
    assert_eq!(
        get(&mut sim, "alice", "athens", "title").as_deref(),
        Some("Microservices")
    );
    assert_eq!(
        set(&mut sim, "alice", "athens", "title", "Distributed Systems"),
        KvReply::Written
    );
    sim.heal_all();
    sim.partition(&["athens", "byzantium"], &["cyrene"])
        .unwrap();
    assert_eq!(
        get(&mut sim, "alice", "athens", "title").as_deref(),
        Some("Distributed Systems")
    );
}

#[test]
fn an_incomplete_write_leaves_the_cut_off_replica_stale() {
    // §3.2 #4: without read repair, the replica that missed a write keeps the old value.
    let mut sim = three(ReadRepair::Off);
    assert_eq!(
        set(&mut sim, "alice", "athens", "title", "Microservices"),
        KvReply::Written
    );
    await_all_hold(&mut sim, &ABC, "title", "Microservices");
    sim.partition(&["athens", "byzantium"], &["cyrene"])
        .unwrap();
    assert_eq!(
        set(&mut sim, "alice", "athens", "title", "Distributed Systems"),
        KvReply::Written
    );
    sim.run_for(10);
    assert_eq!(
        stored(&sim, "athens", "title").as_deref(),
        Some("Distributed Systems")
    );
    assert_eq!(
        stored(&sim, "byzantium", "title").as_deref(),
        Some("Distributed Systems")
    );
    assert_eq!(
        stored(&sim, "cyrene", "title").as_deref(),
        Some("Microservices")
    );
}

#[test]
fn a_write_without_a_quorum_fails_and_says_it_may_have_been_applied() {
    // §3.2 #5: a minority cannot write. The reference's client waited 10,000 ticks for a timeout;
    // ours hears "failed" at the round deadline, and "maybe applied", since athens stored it.
    let mut sim = three(ReadRepair::Off);
    sim.partition(&["athens"], &["byzantium", "cyrene"])
        .unwrap();
    let reply = set(&mut sim, "alice", "athens", "title", "Microservices");
    assert!(
        matches!(
            reply,
            KvReply::Failed {
                maybe_applied: true,
                ..
            }
        ),
        "{reply:?}"
    );
    assert_eq!(
        stored(&sim, "athens", "title").as_deref(),
        Some("Microservices")
    );
    let last = sim.history().events.last().unwrap();
    assert_eq!(last.kind, patterns::history::EventType::Info);
}

// ----- ReadRepairScenariosTest -----------------------------------------------------------------------

fn stale_cyrene(read_repair: ReadRepair, key: &str, old: &str, new: &str) -> Simulation<QuorumKv> {
    let mut sim = three(read_repair);
    assert_eq!(set(&mut sim, "alice", "athens", key, old), KvReply::Written);
    await_all_hold(&mut sim, &ABC, key, old);
    sim.partition(&["athens", "byzantium"], &["cyrene"])
        .unwrap();
    assert_eq!(set(&mut sim, "alice", "athens", key, new), KvReply::Written);
    sim.run_for(5);
    assert_eq!(stored(&sim, "athens", key).as_deref(), Some(new));
    assert_eq!(stored(&sim, "byzantium", key).as_deref(), Some(new));
    assert_eq!(stored(&sim, "cyrene", key).as_deref(), Some(old));
    sim.heal_all();
    sim
}

#[test]
fn sync_read_repair_answers_only_once_a_write_quorum_holds_the_value() {
    // §3.2 #6. The reference asserted that cyrene holds the new value the instant the read returns,
    // which depended on its tick order. What synchronous repair must guarantee is that a write
    // quorum holds the value read before the client hears it (so no later read can go back), and
    // that the stale replica is repaired without another read.
    let mut sim = stale_cyrene(
        ReadRepair::Sync,
        "title",
        "Microservices",
        "Distributed Systems",
    );
    sim.set_latency(
        "byzantium",
        "athens",
        Some(patterns::sim::Latency::Fixed(30)),
    )
    .unwrap();
    assert_eq!(
        get(&mut sim, "alice", "athens", "title").as_deref(),
        Some("Distributed Systems")
    );
    // byzantium's reply is slow, so the quorum of replies was {athens, cyrene}: the read waited
    // for cyrene's repair before answering.
    assert_eq!(
        stored(&sim, "cyrene", "title").as_deref(),
        Some("Distributed Systems")
    );
    await_all_hold(&mut sim, &ABC, "title", "Distributed Systems");
}

#[test]
fn async_read_repair_may_answer_before_a_write_quorum_holds_the_value() {
    // The contrast: the same slow link, asynchronous repair answers at once from {athens, cyrene},
    // so for a moment only athens is known to hold the value read.
    let mut sim = stale_cyrene(
        ReadRepair::Async,
        "title",
        "Microservices",
        "Distributed Systems",
    );
    sim.set_latency(
        "byzantium",
        "athens",
        Some(patterns::sim::Latency::Fixed(30)),
    )
    .unwrap();
    sim.set_latency("athens", "cyrene", Some(patterns::sim::Latency::Fixed(10)))
        .unwrap();
    assert_eq!(
        get(&mut sim, "alice", "athens", "title").as_deref(),
        Some("Distributed Systems")
    );
    assert_eq!(
        stored(&sim, "cyrene", "title").as_deref(),
        Some("Microservices")
    );
    await_all_hold(&mut sim, &ABC, "title", "Distributed Systems");
}

#[test]
fn async_read_repair_fixes_the_stale_replica_soon_after() {
    // §3.2 #7.
    let mut sim = stale_cyrene(ReadRepair::Async, "config:version", "1.0", "2.0");
    assert_eq!(
        get(&mut sim, "alice", "athens", "config:version").as_deref(),
        Some("2.0")
    );
    await_all_hold(&mut sim, &ABC, "config:version", "2.0");
}

#[test]
fn read_repair_picks_the_value_with_the_later_timestamp() {
    // §3.2 #8: the second write's timestamp is later, so repair spreads it, not the first.
    let mut sim = three(ReadRepair::Sync);
    assert_eq!(
        set(&mut sim, "alice", "athens", "stock:price", "100"),
        KvReply::Written
    );
    let ts1 = sim
        .node("athens")
        .unwrap()
        .versioned("stock:price")
        .unwrap()
        .version;
    sim.partition(&["athens", "byzantium"], &["cyrene"])
        .unwrap();
    sim.run_for(10);
    assert_eq!(
        set(&mut sim, "alice", "athens", "stock:price", "150"),
        KvReply::Written
    );
    let ts2 = sim
        .node("athens")
        .unwrap()
        .versioned("stock:price")
        .unwrap()
        .version;
    assert!(ts2 > ts1);
    sim.heal_all();
    assert_eq!(
        get(&mut sim, "alice", "athens", "stock:price").as_deref(),
        Some("150")
    );
    await_all_hold(&mut sim, &["cyrene"], "stock:price", "150");
}

#[test]
fn read_repair_overrides_a_failed_minority_write_with_a_later_majority_write() {
    // §3.2 #9: athens stores a write that fails (no quorum); a later write through byzantium wins
    // everywhere once a read repairs athens.
    let mut sim = three(ReadRepair::Sync);
    assert_eq!(
        set(&mut sim, "alice", "athens", "counter:visits", "0"),
        KvReply::Written
    );
    sim.partition(&["athens"], &["byzantium", "cyrene"])
        .unwrap();
    assert!(matches!(
        set(&mut sim, "alice", "athens", "counter:visits", "100"),
        KvReply::Failed { .. }
    ));
    assert_eq!(
        stored(&sim, "athens", "counter:visits").as_deref(),
        Some("100")
    );
    sim.heal_all();
    sim.partition(&["byzantium", "cyrene"], &["athens"])
        .unwrap();
    assert_eq!(
        set(&mut sim, "client-b", "byzantium", "counter:visits", "200"),
        KvReply::Written
    );
    sim.heal_all();
    assert_eq!(
        get(&mut sim, "client-b", "byzantium", "counter:visits").as_deref(),
        Some("200")
    );
    await_all_hold(&mut sim, &ABC, "counter:visits", "200");
}

#[test]
fn read_repair_works_key_by_key() {
    // §3.2 #10.
    let mut sim = three(ReadRepair::Sync);
    for (key, value) in [("key1", "value1"), ("key2", "value2")] {
        assert_eq!(
            set(&mut sim, "alice", "athens", key, value),
            KvReply::Written
        );
    }
    sim.partition(&["athens", "byzantium"], &["cyrene"])
        .unwrap();
    for (key, value) in [("key1", "new-value1"), ("key2", "new-value2")] {
        assert_eq!(
            set(&mut sim, "alice", "athens", key, value),
            KvReply::Written
        );
    }
    sim.heal_all();
    assert_eq!(
        get(&mut sim, "alice", "athens", "key1").as_deref(),
        Some("new-value1")
    );
    assert_eq!(
        get(&mut sim, "alice", "athens", "key2").as_deref(),
        Some("new-value2")
    );
    await_all_hold(&mut sim, &["cyrene"], "key1", "new-value1");
    await_all_hold(&mut sim, &["cyrene"], "key2", "new-value2");
}

#[test]
fn a_read_of_consistent_replicas_repairs_nothing() {
    // §3.2 #11, and our fix of §5.2 item 3: no repair write goes to a replica that is up to date.
    let mut sim = three(ReadRepair::Sync);
    assert_eq!(
        set(&mut sim, "alice", "athens", "consistent-key", "value"),
        KvReply::Written
    );
    await_all_hold(&mut sim, &ABC, "consistent-key", "value");
    let sets_before = count_sends(&sim, "Set");
    assert_eq!(
        get(&mut sim, "alice", "athens", "consistent-key").as_deref(),
        Some("value")
    );
    sim.run_for(10);
    assert_eq!(count_sends(&sim, "Set"), sets_before);
    await_all_hold(&mut sim, &ABC, "consistent-key", "value");
}

fn count_sends(sim: &Simulation<QuorumKv>, kind: &str) -> usize {
    sim.trace()
        .events
        .iter()
        .filter(|e| matches!(e, patterns::sim::TraceEvent::Send { kind: k, .. } if *k == kind))
        .count()
}

// ----- SimpleReadRepairTest --------------------------------------------------------------------------

#[test]
fn simple_read_repair_with_other_node_names() {
    // §3.2 #12.
    let nodes = ["node-a", "node-b", "node-c"];
    let mut sim = cluster(
        &nodes,
        &["client-1"],
        Config::majority(3).read_repair(ReadRepair::Sync),
    );
    assert_eq!(
        set(&mut sim, "client-1", "node-a", "test", "v1"),
        KvReply::Written
    );
    await_all_hold(&mut sim, &nodes, "test", "v1");
    sim.partition(&["node-a", "node-b"], &["node-c"]).unwrap();
    assert_eq!(
        set(&mut sim, "client-1", "node-a", "test", "v2"),
        KvReply::Written
    );
    assert_eq!(stored(&sim, "node-c", "test").as_deref(), Some("v1"));
    sim.heal_all();
    assert_eq!(
        get(&mut sim, "client-1", "node-a", "test").as_deref(),
        Some("v2")
    );
    sim.run_until(100, |s| {
        s.node("node-c").unwrap().value("test") == Some("v2")
    })
    .unwrap();
}

// ----- ReadRepairConsistencyTest (spec Appendix A.1) -------------------------------------------------

#[test]
fn sync_read_repair_history_matches_the_reference_fixture() {
    // §3.2 #13: the exact 8-event history of Appendix A.1.
    let mut sim = three(ReadRepair::Sync);
    assert_eq!(
        set(&mut sim, "alice", "athens", "title", "Microservices"),
        KvReply::Written
    );
    sim.partition(&["athens", "byzantium"], &["cyrene"])
        .unwrap();
    assert_eq!(
        set(&mut sim, "alice", "athens", "title", "Distributed Systems"),
        KvReply::Written
    );
    sim.heal_all();
    assert_eq!(
        get(&mut sim, "alice", "athens", "title").as_deref(),
        Some("Distributed Systems")
    );
    await_all_hold(&mut sim, &["cyrene"], "title", "Distributed Systems");
    assert_eq!(
        get(&mut sim, "alice", "athens", "title").as_deref(),
        Some("Distributed Systems")
    );
    assert_eq!(sim.history().for_key("title").to_edn(), A1);
}

pub const A1: &str = include_str!("fixtures/appendix-a/a1.edn");

// ----- NetworkPartitionTest (five nodes) -------------------------------------------------------------

fn five(config: Config, clients: &[&str]) -> Simulation<QuorumKv> {
    cluster(&FIVE, clients, config)
}

#[test]
fn a_minority_cannot_win_a_split_brain() {
    // §3.2 #14: the minority side's write fails; the majority side's write succeeds and is read.
    let mut sim = five(Config::majority(5), &["minority_client", "majority_client"]);
    let key = "distributed_ledger";
    assert_eq!(
        set(&mut sim, "majority_client", "cyrene", key, "genesis_block"),
        KvReply::Written
    );
    await_all_hold(&mut sim, &FIVE, key, "genesis_block");
    sim.partition(&["athens", "byzantium"], &["cyrene", "delphi", "sparta"])
        .unwrap();
    let minority = set(
        &mut sim,
        "minority_client",
        "athens",
        key,
        "minority_attempt",
    );
    assert!(matches!(minority, KvReply::Failed { .. }), "{minority:?}");
    await_all_hold(&mut sim, &["athens", "byzantium"], key, "minority_attempt");
    assert_eq!(
        set(
            &mut sim,
            "majority_client",
            "cyrene",
            key,
            "majority_success"
        ),
        KvReply::Written
    );
    await_all_hold(
        &mut sim,
        &["cyrene", "delphi", "sparta"],
        key,
        "majority_success",
    );
    sim.heal_all();
    assert_eq!(
        get(&mut sim, "majority_client", "cyrene", key).as_deref(),
        Some("majority_success")
    );
}

#[test]
fn a_read_of_one_replica_after_a_quorum_write_is_stale() {
    // §3.2 #15 (Appendix A.4): with R = 1 and W = 3 of 5, R + W ≤ N, so a read quorum can miss the
    // write quorum: the reference peeked at athens' storage; here client2 reads with R = 1.
    let config = Config::majority(5).quorums(1, 3).unwrap();
    let mut sim = five(config, &["client1", "client2"]);
    assert_eq!(
        set(&mut sim, "client1", "cyrene", "kv", "v0"),
        KvReply::Written
    );
    await_all_hold(&mut sim, &FIVE, "kv", "v0");
    sim.partition(&["cyrene", "delphi", "sparta"], &["athens", "byzantium"])
        .unwrap();
    assert_eq!(
        set(&mut sim, "client1", "cyrene", "kv", "v1"),
        KvReply::Written
    );
    assert_eq!(
        get(&mut sim, "client2", "athens", "kv").as_deref(),
        Some("v0")
    );
    assert_eq!(stored(&sim, "athens", "kv").as_deref(), Some("v0"));
    assert_eq!(
        sim.history().for_key("kv").to_edn(),
        "[{:process 0, :process-name \"client1\", :type :invoke, :f :write, :value \"v0\"} \
         {:process 0, :process-name \"client1\", :type :ok, :f :write, :value \"v0\"} \
         {:process 0, :process-name \"client1\", :type :invoke, :f :write, :value \"v1\"} \
         {:process 0, :process-name \"client1\", :type :ok, :f :write, :value \"v1\"} \
         {:process 1, :process-name \"client2\", :type :invoke, :f :read, :value nil} \
         {:process 1, :process-name \"client2\", :type :ok, :f :read, :value \"v0\"}]"
    );
}

/// The clock-skew run of §3.2 #16; returns the single-key history.
pub fn clock_skew_run(write_failure: WriteFailure) -> Simulation<QuorumKv> {
    let config = Config::majority(5).write_failure(write_failure);
    let mut sim = five(config, &["majority_client", "minority_client"]);
    let key = "distributed_ledger";
    assert_eq!(
        set(&mut sim, "majority_client", "cyrene", key, "genesis_block"),
        KvReply::Written
    );
    await_all_hold(&mut sim, &FIVE, key, "genesis_block");
    sim.partition(&["athens", "byzantium"], &["cyrene", "delphi", "sparta"])
        .unwrap();
    let minority = set(
        &mut sim,
        "minority_client",
        "athens",
        key,
        "minority_attempt",
    );
    assert!(matches!(minority, KvReply::Failed { .. }));
    await_all_hold(&mut sim, &["athens", "byzantium"], key, "minority_attempt");
    let ts = sim
        .node("athens")
        .unwrap()
        .versioned(key)
        .unwrap()
        .version
        .timestamp_millis;
    sim.set_clock("cyrene", ts - 10).unwrap();
    assert_eq!(
        set(
            &mut sim,
            "majority_client",
            "cyrene",
            key,
            "majority_success"
        ),
        KvReply::Written
    );
    assert!(
        sim.node("cyrene")
            .unwrap()
            .versioned(key)
            .unwrap()
            .version
            .timestamp_millis
            < ts
    );
    sim.heal_all();
    assert_eq!(
        get(&mut sim, "minority_client", "athens", key).as_deref(),
        Some("minority_attempt")
    );
    sim
}

#[test]
fn clock_skew_lets_a_failed_minority_write_overwrite_the_majority() {
    // §3.2 #16 (Appendix A.3): cyrene's clock runs 10 ms behind athens' last write, so the
    // acknowledged majority write loses to the "failed" minority write under last-write-wins.
    // With the reference's definite failures the history is exactly A.3.
    let sim = clock_skew_run(WriteFailure::Definite);
    assert_eq!(sim.history().for_key("distributed_ledger").to_edn(), A3);
}

pub const A3: &str = include_str!("fixtures/appendix-a/a3.edn");

#[test]
fn an_honest_failure_records_the_minority_write_as_info() {
    // The same run with indeterminate failures: the minority write is :info and its client goes
    // on as a new process (Knossos keeps the :info operation open).
    let sim = clock_skew_run(WriteFailure::Indeterminate);
    let history = sim.history().for_key("distributed_ledger");
    let kinds: Vec<(u64, &str)> = history
        .events
        .iter()
        .map(|e| (e.process, e.kind.keyword()))
        .collect();
    assert_eq!(
        kinds,
        [
            (0, "invoke"),
            (0, "ok"),
            (1, "invoke"),
            (1, "info"),
            (0, "invoke"),
            (0, "ok"),
            (2, "invoke"),
            (2, "ok")
        ]
    );
}

// ----- DDIA_Linearizability_And_Quorum_ScenarioTest (Appendix A.2) -----------------------------------

/// DDIA §10.6 (Kleppmann, *Designing Data-Intensive Applications*, fig. 9-6): a write's fan-out is
/// slow to byzantium and cyrene; alice reads the new value through a quorum that includes athens,
/// then bob reads the old value through a quorum that does not: new-then-old, not linearizable.
pub fn ddia_race() -> Simulation<QuorumKv> {
    let config = Config::majority(3).round_timeout_ticks(400);
    let mut sim = Builder::new()
        .clients(["writer", "alice", "bob"])
        .client_timeout_ticks(500)
        .build(move |_| QuorumKv::new(config.clone()))
        .unwrap();
    assert_eq!(
        set(&mut sim, "writer", "athens", "key", "x=0"),
        KvReply::Written
    );
    await_all_hold(&mut sim, &ABC, "key", "x=0");
    sim.delay_kind(ReplicaKind::Set, "athens", "byzantium", 100)
        .unwrap();
    sim.delay_kind(ReplicaKind::Set, "athens", "cyrene", 100)
        .unwrap();
    let write = sim
        .invoke("writer", "athens", KvOp::write("key", "x=1"))
        .unwrap();
    sim.run_until(50, |s| {
        s.node("athens").unwrap().value("key") == Some("x=1")
    })
    .unwrap();
    assert_eq!(stored(&sim, "byzantium", "key").as_deref(), Some("x=0"));
    assert_eq!(stored(&sim, "cyrene", "key").as_deref(), Some("x=0"));
    sim.partition(&["byzantium"], &["cyrene"]).unwrap();
    assert_eq!(
        get(&mut sim, "alice", "byzantium", "key").as_deref(),
        Some("x=1")
    );
    sim.reconnect("byzantium").unwrap();
    sim.partition(&["byzantium"], &["athens"]).unwrap();
    assert_eq!(
        get(&mut sim, "bob", "byzantium", "key").as_deref(),
        Some("x=0")
    );
    assert_eq!(stored(&sim, "byzantium", "key").as_deref(), Some("x=0"));
    sim.run_until_done(write, 500).unwrap();
    assert_eq!(sim.reply(write), Some(&KvReply::Written));
    await_all_hold(&mut sim, &ABC, "key", "x=1");
    sim
}

#[test]
fn ddia_link_delay_race_reads_new_then_old() {
    // §3.2 #17: the exact history of Appendix A.2.
    let sim = ddia_race();
    assert_eq!(sim.history().for_key("key").to_edn(), A2);
}

pub const A2: &str = include_str!("fixtures/appendix-a/a2.edn");

// ----- beyond the reference --------------------------------------------------------------------------

#[test]
fn a_replica_restarts_with_what_it_acknowledged() {
    // Acknowledgements are sent only once the value is synced, so a crash keeps every acked write.
    let mut sim = three(ReadRepair::Off);
    set(&mut sim, "alice", "athens", "title", "Microservices");
    await_all_hold(&mut sim, &ABC, "title", "Microservices");
    sim.crash("cyrene").unwrap();
    sim.restart("cyrene").unwrap();
    assert_eq!(
        stored(&sim, "cyrene", "title").as_deref(),
        Some("Microservices")
    );
}

#[test]
fn a_read_without_a_quorum_fails_definitely() {
    let mut sim = three(ReadRepair::Off);
    sim.isolate("athens").unwrap();
    sim.reconnect("athens").unwrap();
    sim.partition(&["athens"], &["byzantium", "cyrene"])
        .unwrap();
    let reply = call(&mut sim, "alice", "athens", KvOp::read("title"));
    assert!(
        matches!(
            reply,
            KvReply::Failed {
                maybe_applied: false,
                ..
            }
        ),
        "{reply:?}"
    );
    assert_eq!(
        sim.history().events.last().unwrap().kind,
        patterns::history::EventType::Fail
    );
}

// ----- randomized runs -------------------------------------------------------------------------------

fn random(config: Config, seed: u64) -> Simulation<QuorumKv> {
    let n = config.replicas;
    patterns::protocols::kv::random_kv_run(n, move |_| QuorumKv::new(config.clone()), seed, 300)
        .unwrap()
}

#[test]
fn random_runs_are_reproducible_and_every_client_finishes() {
    let a = random(Config::majority(3), 5);
    let b = random(Config::majority(3), 5);
    assert_eq!(a.history(), b.history());
    assert_eq!(a.trace().stable_hash(), b.trace().stable_hash());
    assert!(
        a.history().len() > 100,
        "the workload ran: {} events",
        a.history().len()
    );
    assert!(a.client_names().iter().all(|c| !a.is_busy(c).unwrap()));
}

#[test]
fn overlapping_quorums_never_read_a_value_overwritten_before_the_read_began() {
    // R + W > N and synchronised clocks: a read after a completed write meets its quorum.
    for seed in 0..20 {
        let sim = random(Config::majority(3), seed);
        let stale = patterns::protocols::kv::stale_reads(sim.history());
        assert_eq!(stale.stale, 0, "seed {seed}: {stale:?}");
        assert!(stale.reads > 10);
    }
}

#[test]
fn disjoint_quorums_do_read_overwritten_values() {
    // R = W = 1 of 3: a read can miss the only replica that has the newest write.
    let stale: usize = (0..20)
        .map(|seed| {
            patterns::protocols::kv::stale_reads(
                random(Config::majority(3).quorums(1, 1).unwrap(), seed).history(),
            )
            .stale
        })
        .sum();
    assert!(stale > 0, "some run reads stale");
}

// ----- verdicts of the checkers (spec Appendix A) ----------------------------------------------------

mod verdicts {
    use super::*;
    use patterns::check::{self, Independent, Register};
    use patterns::history::{History, Value};

    fn verdicts(h: &History) -> (bool, bool) {
        let register = Register::new(Value::Nil);
        let lin = check::linearizable(h, &register).unwrap();
        let seq = check::sequential(h, &register).unwrap();
        assert!(!lin.is_unknown() && !seq.is_unknown());
        (lin.is_ok(), seq.is_ok())
    }

    fn fixture(edn: &str) -> History {
        patterns::history::parse_edn(edn).unwrap()
    }

    #[test]
    fn a1_sync_read_repair_is_linearizable() {
        assert_eq!(verdicts(&fixture(A1)), (true, true));
    }

    #[test]
    fn a2_new_then_old_is_sequential_but_not_linearizable() {
        assert_eq!(verdicts(&fixture(A2)), (false, true));
        assert_eq!(
            verdicts(&ddia_race().history().for_key("key")),
            (false, true)
        );
    }

    #[test]
    fn a3_a_failed_write_that_wins_is_neither() {
        assert_eq!(verdicts(&fixture(A3)), (false, false));
    }

    #[test]
    fn a3_reported_honestly_the_lost_update_is_linearizable() {
        // The :info write may take effect after the majority's write: the history is explained,
        // and the acknowledged write is lost all the same. The checker holds a store to its word.
        let sim = clock_skew_run(WriteFailure::Indeterminate);
        assert_eq!(
            verdicts(&sim.history().for_key("distributed_ledger")),
            (true, true)
        );
    }

    #[test]
    fn a4_a_stale_read_after_a_quorum_write_is_sequential_but_not_linearizable() {
        let h = fixture(
            "[{:process 0, :type :invoke, :f :write, :value \"v0\"} {:process 0, :type :ok, :f :write, :value \"v0\"} \
              {:process 0, :type :invoke, :f :write, :value \"v1\"} {:process 0, :type :ok, :f :write, :value \"v1\"} \
              {:process 1, :type :invoke, :f :read, :value nil} {:process 1, :type :ok, :f :read, :value \"v0\"}]",
        );
        assert_eq!(verdicts(&h), (false, true));
        let report = check::linearizable(&h, &Register::new(Value::Nil)).unwrap();
        let culprit = report
            .culprit()
            .expect("an illegal history names its culprit");
        assert_eq!(
            (culprit.f.as_str(), culprit.invoke_index),
            ("read", 4),
            "the stale read"
        );
    }

    #[test]
    fn random_runs_with_majorities_and_sync_repair_are_mostly_linearizable_and_r1_w1_is_not() {
        let model = Independent::new(Register::new(Value::Nil));
        let linearizable = |config: Config| {
            (0..10)
                .filter(|&seed| {
                    let sim = random(config.clone(), seed);
                    check::linearizable(sim.history(), &model).unwrap().is_ok()
                })
                .count()
        };
        let strong = linearizable(Config::majority(3).read_repair(ReadRepair::Sync));
        let weak = linearizable(Config::majority(3).quorums(1, 1).unwrap());
        assert!(
            strong > weak,
            "majority+sync {strong}/10 vs R=W=1 {weak}/10"
        );
    }
}

// ----- defects found by testing from outside (issue 10), each with the run that showed it ---------

#[test]
fn a_reply_from_a_coordinators_past_life_never_answers_a_new_request() {
    // Correlation ids used to start again at 1 after a restart, so byzantium's held reply to
    // athens' old read of k1 was taken as the answer to its new read of k2: the read returned
    // k1's value, and read repair wrote it into k2 on a majority.
    let mut sim = three(ReadRepair::Sync);
    assert_eq!(
        set(&mut sim, "bob", "byzantium", "k2", "two"),
        KvReply::Written
    );
    assert_eq!(
        set(&mut sim, "bob", "byzantium", "k1", "one"),
        KvReply::Written
    );
    await_all_hold(&mut sim, &ABC, "k1", "one");
    sim.hold("byzantium", "athens").unwrap();
    assert_eq!(
        get(&mut sim, "alice", "athens", "k1").as_deref(),
        Some("one")
    );
    sim.crash("athens").unwrap();
    sim.restart("athens").unwrap();
    let read = sim.invoke("alice", "athens", KvOp::read("k2")).unwrap();
    sim.release("byzantium", "athens").unwrap();
    let outcome = sim.run_until_done(read, 500).unwrap().clone();
    assert_eq!(outcome.reply(), Some(&KvReply::Value(Some("two".into()))));
    sim.run_for(50);
    for node in ABC {
        assert_eq!(stored(&sim, node, "k2").as_deref(), Some("two"), "{node}");
    }
}

#[test]
fn a_sync_repair_that_misses_its_deadline_fails_the_read() {
    // Only cyrene holds x = 1, from a write that failed; its repair messages are lost. Answering
    // 1 at the round deadline made a later read through athens return 0: new, then old.
    let mut sim = three(ReadRepair::Sync);
    assert_eq!(set(&mut sim, "alice", "athens", "x", "0"), KvReply::Written);
    await_all_hold(&mut sim, &ABC, "x", "0");
    sim.partition(&["cyrene"], &["athens", "byzantium"])
        .unwrap();
    let failed = set(&mut sim, "bob", "cyrene", "x", "1");
    assert!(matches!(
        failed,
        KvReply::Failed {
            maybe_applied: true,
            ..
        }
    ));
    sim.heal_all();
    sim.drop_kind(ReplicaKind::Set, "cyrene", "athens").unwrap();
    sim.drop_kind(ReplicaKind::Set, "cyrene", "byzantium")
        .unwrap();
    let first = call(&mut sim, "bob", "cyrene", KvOp::read("x"));
    assert!(
        matches!(
            first,
            KvReply::Failed {
                maybe_applied: false,
                ..
            }
        ),
        "the read must not answer 1 as if a write quorum held it: {first:?}"
    );
    assert_eq!(get(&mut sim, "alice", "athens", "x").as_deref(), Some("0"));
    let history = sim.history().for_key("x");
    let register = patterns::check::Register::new(patterns::history::Value::Nil);
    assert!(
        patterns::check::linearizable(&history, &register)
            .unwrap()
            .is_ok()
    );
}

#[test]
fn two_writes_through_one_coordinator_in_one_millisecond_do_not_diverge() {
    // Both writes used to get the same version. Replicas kept whichever arrived first, repair
    // ignored equal versions, and one lost message left them different for good.
    let mut sim = three(ReadRepair::Sync);
    sim.drop_nth(ReplicaKind::Set, "athens", "byzantium", 1)
        .unwrap();
    let a = sim
        .invoke("alice", "athens", KvOp::write("k", "a"))
        .unwrap();
    let b = sim.invoke("bob", "athens", KvOp::write("k", "b")).unwrap();
    sim.run_until(500, |s| s.is_done(a) && s.is_done(b))
        .unwrap();
    assert_eq!(sim.reply(a), Some(&KvReply::Written));
    assert_eq!(sim.reply(b), Some(&KvReply::Written));
    sim.run_for(20);
    let held: Vec<Option<String>> = ABC.iter().map(|n| stored(&sim, n, "k")).collect();
    assert!(
        held.iter().all(|v| v == &held[0]),
        "replicas diverged: {held:?}"
    );
    let reads: Vec<Option<String>> = ABC.iter().map(|n| get(&mut sim, "alice", n, "k")).collect();
    assert!(
        reads.iter().all(|r| r == &reads[0]),
        "reads differ: {reads:?}"
    );
}

#[test]
fn a_replica_answers_a_read_only_with_what_it_has_synced() {
    // cyrene applied x = 2 from a failed write but had not synced it; it answered a read with 2,
    // crashed, lost 2, and a later read returned 1: new, then old.
    let mut sim = three(ReadRepair::Off);
    assert_eq!(set(&mut sim, "alice", "athens", "x", "1"), KvReply::Written);
    await_all_hold(&mut sim, &ABC, "x", "1");
    sim.run_for(5);
    sim.inject(patterns::sim::Fault::HoldSync {
        node: "cyrene".into(),
    })
    .unwrap();
    sim.partition(&["cyrene"], &["athens", "byzantium"])
        .unwrap();
    assert!(matches!(
        set(&mut sim, "bob", "cyrene", "x", "2"),
        KvReply::Failed { .. }
    ));
    assert_eq!(stored(&sim, "cyrene", "x").as_deref(), Some("2"));
    sim.heal_all();
    let first = get(&mut sim, "bob", "cyrene", "x");
    sim.crash("cyrene").unwrap();
    sim.restart("cyrene").unwrap();
    let second = get(&mut sim, "alice", "athens", "x");
    assert_eq!(
        first.as_deref(),
        Some("1"),
        "cyrene's unsynced 2 was reported"
    );
    assert_eq!(second.as_deref(), Some("1"));
    let history = sim.history().for_key("x");
    let register = patterns::check::Register::new(patterns::history::Value::Nil);
    assert!(
        patterns::check::linearizable(&history, &register)
            .unwrap()
            .is_ok()
    );
}

mod rules_as_values {
    //! `Config::rules`: a lesson's own `supersedes` and `latest` drive the store (the hook of the
    //! quorum lesson's exercise), for the state machine and the async coordinator alike.
    use super::*;
    use patterns::node::{Node, NodeInit};
    use patterns::protocols::quorum_kv::{AsyncQuorumKv, Rules, Versioned};

    /// Keeps the first value ever written: a rule that never lets a write supersede a stored one.
    fn first_write_wins() -> Rules {
        Rules {
            supersedes: |_, current| current.is_none(),
            ..Rules::crate_rules()
        }
    }

    /// Answers with the oldest value a quorum reported.
    fn oldest(replies: &[Option<Versioned>]) -> Option<&Versioned> {
        replies.iter().flatten().min_by_key(|v| v.version)
    }

    #[test]
    fn replicas_store_what_the_given_supersedes_rule_allows() {
        let config = Config::majority(3).rules(first_write_wins());
        let mut sim = cluster(&ABC, &["alice", "bob"], config);
        set(&mut sim, "alice", "athens", "k", "first");
        assert_eq!(
            set(&mut sim, "alice", "athens", "k", "second"),
            KvReply::Written
        );
        assert_eq!(
            get(&mut sim, "bob", "cyrene", "k").as_deref(),
            Some("first")
        );
        assert!(
            ABC.iter()
                .all(|n| stored(&sim, n, "k").as_deref() == Some("first"))
        );
    }

    /// Two writes, the second missing `cyrene`; then a read through `byzantium` while `athens` is
    /// cut off, so its quorum holds both versions.
    fn read_after_a_missed_write<N>(factory: impl Fn(&NodeInit) -> N + 'static) -> Option<KvReply>
    where
        N: Node<Operation = KvOp> + 'static,
    {
        let mut sim = Builder::new()
            .nodes(ABC)
            .clients(["alice", "bob"])
            .build(factory)
            .unwrap();
        sim.call("alice", "athens", KvOp::write("k", "first"), 500)
            .unwrap();
        sim.isolate("cyrene").unwrap();
        sim.call("alice", "athens", KvOp::write("k", "second"), 500)
            .unwrap();
        sim.heal_all();
        sim.isolate("athens").unwrap();
        let read = sim.call("bob", "byzantium", KvOp::read("k"), 500).unwrap();
        read.reply().cloned()
    }

    #[test]
    fn a_read_answers_what_the_given_latest_rule_picks() {
        // Under the "oldest" rule the quorum's older version is the answer; under the crate's,
        // the newer. The state machine and the async coordinator both follow the rule given.
        for (rules, expected) in [
            (Rules::crate_rules(), "second"),
            (
                Rules {
                    latest: oldest,
                    ..Rules::crate_rules()
                },
                "first",
            ),
        ] {
            let config = Config::majority(3).rules(rules);
            let expected = Some(KvReply::Value(Some(expected.to_string())));
            let c = config.clone();
            assert_eq!(
                read_after_a_missed_write(move |_| QuorumKv::new(c.clone())),
                expected
            );
            let c = config.clone();
            assert_eq!(
                read_after_a_missed_write(move |_| AsyncQuorumKv::new(c.clone())),
                expected
            );
        }
    }
}
