//! Multi-Paxos and Multi-Paxos with heartbeats (spec §3.8 and §3.9, and the lesson's stories) on
//! the simulator. The reference's section-06 tests mostly injected no fault (spec §5.2 item 11):
//! here each one does what its name says (partition the leader, restart a node, split a vote,
//! raise a generation) and asserts the outcome.

use patterns::explore::{self, Explorable, Property, Settings};
use patterns::protocols::kv::{KvOp, KvReply};
use patterns::protocols::multi_paxos::{
    Config, Explorer, MultiPaxos, MultiPaxosKind, MultiPaxosTimer, Role, cost,
};
use patterns::protocols::paxos::Ballot;
use patterns::protocols::paxos_log::{LogWatch, check_kv_history};
use patterns::sim::{Builder, OpHandle, Simulation};

const ABC: [&str; 3] = ["athens", "byzantium", "cyrene"];
const FIVE: [&str; 5] = ["athens", "byzantium", "cyrene", "delphi", "ephesus"];
const CLIENTS: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

fn cluster(config: Config, nodes: &[&str]) -> Simulation<MultiPaxos> {
    Builder::new()
        .nodes(nodes.iter().copied())
        .clients(CLIENTS)
        .build(move |_| MultiPaxos::new(config.clone()))
        .expect("valid cluster")
}

/// Section 05: a cluster whose leader, athens, was elected by hand.
fn manual() -> Simulation<MultiPaxos> {
    let mut sim = cluster(Config::default(), &ABC);
    elect(&mut sim, "athens");
    sim
}

/// Fires `node`'s election by hand (the reference's `startElection()`) and waits until it leads.
fn elect(sim: &mut Simulation<MultiPaxos>, node: &str) {
    sim.fire_timer(node, MultiPaxosTimer::Elect).unwrap();
    sim.run_until(300, |s| s.node(node).is_ok_and(MultiPaxos::is_leader))
        .unwrap_or_else(|e| panic!("{node} leads: {e}"));
}

fn leaders(sim: &Simulation<MultiPaxos>) -> Vec<(String, Ballot)> {
    sim.running_nodes()
        .filter_map(|(name, n)| n.leading().map(|b| (name.to_string(), b)))
        .collect()
}

/// Section 06: runs until exactly one node leads and every running node promised its ballot.
fn await_one_leader(sim: &mut Simulation<MultiPaxos>) -> (String, Ballot) {
    sim.run_until(2_000, |s| {
        let l = leaders(s);
        l.len() == 1 && s.running_nodes().all(|(_, n)| n.promised() == Some(l[0].1))
    })
    .unwrap_or_else(|e| panic!("one leader: {e}"));
    leaders(sim).remove(0)
}

fn heartbeats(nodes: &[&str]) -> (Simulation<MultiPaxos>, String, Ballot) {
    let mut sim = cluster(Config::heartbeats(), nodes);
    let (leader, ballot) = await_one_leader(&mut sim);
    (sim, leader, ballot)
}

fn call(sim: &mut Simulation<MultiPaxos>, client: &str, node: &str, op: KvOp) -> KvReply {
    let outcome = sim
        .call(client, node, op, 1_000)
        .expect("the call completes");
    outcome.reply().cloned().expect("a reply, not a timeout")
}

fn write(sim: &mut Simulation<MultiPaxos>, node: &str, key: &str, value: &str) {
    let reply = call(sim, "alice", node, KvOp::write(key, value));
    assert_eq!(reply, KvReply::Written, "{key}={value} via {node}");
}

/// Starts one write per client at `node`, all at once, and waits for them.
fn concurrent_writes(sim: &mut Simulation<MultiPaxos>, node: &str, writes: &[(&str, &str)]) {
    let ops: Vec<OpHandle> = writes
        .iter()
        .zip(CLIENTS)
        .map(|((k, v), client)| sim.invoke(client, node, KvOp::write(k, v)).unwrap())
        .collect();
    sim.run_until(2_000, |s| ops.iter().all(|op| s.is_done(*op)))
        .unwrap();
    for op in ops {
        assert_eq!(sim.reply(op), Some(&KvReply::Written));
    }
}

fn await_value(sim: &mut Simulation<MultiPaxos>, nodes: &[&str], key: &str, value: &str) {
    sim.run_until(2_000, |s| {
        nodes
            .iter()
            .all(|n| s.node(n).is_ok_and(|n| n.value(key) == Some(value)))
    })
    .unwrap_or_else(|e| panic!("{key}={value} on {nodes:?}: {e}"));
}

/// Every replica holds the same chosen prefix, as long as `length`.
fn await_same_log(sim: &mut Simulation<MultiPaxos>, nodes: &[&str], length: u64) {
    sim.run_until(2_000, |s| {
        nodes
            .iter()
            .all(|n| s.node(n).is_ok_and(|n| n.log().chosen_prefix() == length))
    })
    .unwrap_or_else(|e| panic!("logs of {length}: {e}"));
    for index in 1..=length {
        let first = sim.node(nodes[0]).unwrap().log().chosen(index).cloned();
        for n in nodes {
            assert_eq!(sim.node(n).unwrap().log().chosen(index), first.as_ref());
        }
    }
}

/// Runs event by event with the log invariants checked after each; the first broken one.
fn watched(sim: &mut Simulation<MultiPaxos>, ticks: u64) -> Result<(), String> {
    let mut watch = LogWatch::new();
    let end = sim.now() + ticks;
    while sim.next_event_tick().is_some_and(|t| t <= end) {
        sim.step();
        watch.check(sim)?;
    }
    Ok(())
}

// ----- MultiPaxosTest (spec §3.8) ----------------------------------------------------------------

#[test]
fn multi_paxos_leader_election_by_hand() {
    // §3.8 #1: a node that runs phase 1 with a majority leads.
    let sim = manual();
    assert_eq!(sim.node("athens").unwrap().role(), Role::Leader);
    for n in ["byzantium", "cyrene"] {
        assert_eq!(sim.node(n).unwrap().role(), Role::Follower);
    }
}

#[test]
fn multi_paxos_leader_replicates_a_write_to_every_replica() {
    // §3.8 #2.
    let mut sim = manual();
    write(&mut sim, "athens", "title", "Microservices");
    await_value(&mut sim, &ABC, "title", "Microservices");
}

#[test]
fn multi_paxos_two_writes_take_two_indexes_everywhere() {
    // §3.8 #3.
    let mut sim = manual();
    write(&mut sim, "athens", "title", "Microservices");
    write(&mut sim, "athens", "author", "Martin Fowler");
    await_same_log(&mut sim, &ABC, 2);
    await_value(&mut sim, &ABC, "author", "Martin Fowler");
}

#[test]
fn multi_paxos_non_leader_redirects_to_the_leader() {
    // §3.8 #4: a follower does nothing but name the leader; the client follows the hint.
    let mut sim = manual();
    write(&mut sim, "athens", "title", "Microservices"); // byzantium hears of athens
    sim.client_policy_mut().attempts = 2;
    let op = sim
        .invoke("bob", "byzantium", KvOp::write("x", "1"))
        .unwrap();
    sim.run_until(200, |s| s.is_done(op)).unwrap();
    assert_eq!(
        sim.reply(op),
        Some(&KvReply::Written),
        "followed the redirect"
    );
    let mut strict = manual();
    strict.client_policy_mut().attempts = 1;
    let reply = call(&mut strict, "bob", "byzantium", KvOp::write("x", "1"));
    assert!(matches!(reply, KvReply::NotLeader { .. }), "{reply:?}");
}

#[test]
fn multi_paxos_read_through_the_leader_sees_the_write() {
    // §3.8 #5.
    let mut sim = manual();
    write(&mut sim, "athens", "author", "Martin Fowler");
    let read = call(&mut sim, "alice", "athens", KvOp::read("author"));
    assert_eq!(read, KvReply::Value(Some("Martin Fowler".into())));
}

// ----- MultiPaxosWithHeartbeatsTest (spec §3.9 #1–5) -----------------------------------------------

#[test]
fn heartbeats_elect_one_leader_automatically() {
    // §3.9 #1: an election timeout passes, a follower campaigns and wins.
    let (sim, leader, ballot) = heartbeats(&ABC);
    assert_eq!(leaders(&sim), vec![(leader, ballot)]);
}

#[test]
fn heartbeats_keep_the_leader_for_50_ticks_with_no_new_campaign() {
    // §3.9 #2 (weak in the reference: no time passed): 50 ticks pass, heartbeats flow, and
    // nobody's promise moves.
    let (mut sim, leader, ballot) = heartbeats(&ABC);
    let sent = sim.stats().sent;
    sim.run_for(50);
    assert_eq!(leaders(&sim), vec![(leader, ballot)]);
    assert!(
        sim.running_nodes()
            .all(|(_, n)| n.promised() == Some(ballot))
    );
    assert!(sim.stats().sent > sent, "heartbeats went out");
}

#[test]
fn heartbeats_leader_replicates_a_write() {
    // §3.9 #3.
    let (mut sim, leader, _) = heartbeats(&ABC);
    write(&mut sim, &leader, "title", "Microservices");
    await_value(&mut sim, &ABC, "title", "Microservices");
}

#[test]
fn heartbeats_stable_leadership_200_ticks_same_leader_same_generation() {
    // §3.9 #4 (weak in the reference): 200 ticks pass.
    let (mut sim, leader, ballot) = heartbeats(&ABC);
    sim.run_for(200);
    assert_eq!(leaders(&sim), vec![(leader, ballot)]);
}

#[test]
fn heartbeats_every_node_converges_on_the_leaders_generation() {
    // §3.9 #5.
    let (sim, _, ballot) = heartbeats(&ABC);
    for n in ABC {
        assert_eq!(sim.node(n).unwrap().promised(), Some(ballot), "{n}");
    }
}

// ----- LeaderElectionTest (spec §3.9 #6–12) ------------------------------------------------------

#[test]
fn election_from_followers_to_one_leader_within_500_ticks() {
    // §3.9 #6.
    let mut sim = cluster(Config::heartbeats(), &ABC);
    assert!(sim.running_nodes().all(|(_, n)| n.role() == Role::Follower));
    sim.run_for(500);
    let l = leaders(&sim);
    assert_eq!(l.len(), 1);
    assert!(l[0].1.round > 0);
    assert!(
        sim.running_nodes()
            .all(|(_, n)| n.promised() == Some(l[0].1))
    );
}

#[test]
fn election_stability_over_500_more_ticks() {
    // §3.9 #7.
    let mut sim = cluster(Config::heartbeats(), &ABC);
    sim.run_for(300);
    let before = leaders(&sim);
    assert_eq!(before.len(), 1);
    sim.run_for(500);
    assert_eq!(leaders(&sim), before);
}

#[test]
fn election_split_vote_n5_two_candidates_at_once_resolves_to_one_leader() {
    // §3.9 #8 (weak in the reference: no split was caused): two nodes campaign in the same tick;
    // at most one wins that round, and random timeouts end the split.
    let mut sim = cluster(Config::heartbeats(), &FIVE);
    sim.fire_timer("athens", MultiPaxosTimer::Elect).unwrap();
    sim.fire_timer("ephesus", MultiPaxosTimer::Elect).unwrap();
    let (leader, _) = await_one_leader(&mut sim);
    sim.run_for(100);
    assert_eq!(leaders(&sim).len(), 1);
    assert_eq!(leaders(&sim)[0].0, leader);
}

#[test]
fn election_higher_generation_makes_the_leader_step_down() {
    // §3.9 #9 (weak in the reference: no node acted): a follower campaigns with a higher ballot;
    // the old leader steps down when it meets it.
    let (mut sim, old, ballot) = heartbeats(&ABC);
    let follower = ABC.iter().find(|n| **n != old).unwrap();
    elect(&mut sim, follower);
    let (new, higher) = await_one_leader(&mut sim);
    assert_eq!(new, *follower);
    assert!(higher > ballot);
    assert_eq!(sim.node(&old).unwrap().role(), Role::Follower);
}

#[test]
fn election_partitioned_leader_is_replaced_by_the_majority() {
    // §3.9 #10 (weak in the reference: no partition): the leader is cut off; the majority
    // elects another; once healed, the old one follows the higher ballot.
    let (mut sim, old, ballot) = heartbeats(&ABC);
    let rest: Vec<&str> = ABC.iter().copied().filter(|n| *n != old).collect();
    sim.partition(&[&old], &rest).unwrap();
    sim.run_until(1_000, |s| {
        rest.iter()
            .any(|n| s.node(n).unwrap().leading().is_some_and(|b| b > ballot))
    })
    .unwrap();
    sim.heal_all();
    let (new, higher) = await_one_leader(&mut sim);
    assert_ne!(new, old);
    assert!(higher > ballot);
}

#[test]
fn election_timeout_after_the_leader_crashes_elects_another_within_bounds() {
    // §3.9 #11: with the leader down, heartbeats stop; a follower campaigns once its timeout
    // (at most 120 ticks) passes, and wins within a few round trips.
    let (mut sim, old, _) = heartbeats(&ABC);
    let crashed_at = sim.now();
    sim.crash(&old).unwrap();
    let (new, _) = await_one_leader(&mut sim);
    assert_ne!(new, old);
    assert!(
        sim.now() - crashed_at <= 120 + 60,
        "{} ticks",
        sim.now() - crashed_at
    );
}

#[test]
fn election_five_leader_crashes_in_a_row_raise_the_generation_each_time() {
    // §3.9 #12: five cycles of crashing the leader and restarting it.
    let (mut sim, mut leader, mut ballot) = heartbeats(&ABC);
    for _ in 0..5 {
        sim.crash(&leader).unwrap();
        let (next, higher) = await_one_leader(&mut sim);
        assert!(higher > ballot);
        sim.restart(&leader).unwrap();
        (leader, ballot) = (next, higher);
    }
    let (_, last) = await_one_leader(&mut sim);
    assert!(
        ABC.iter()
            .all(|n| sim.node(n).unwrap().promised() == Some(last))
    );
}

// ----- LogConsistencyAndSafetyTest (spec §3.9 #13–19) --------------------------------------------

#[test]
fn log_matching_three_concurrent_writes_same_entries_everywhere() {
    // §3.9 #13.
    let (mut sim, leader, _) = heartbeats(&ABC);
    concurrent_writes(
        &mut sim,
        &leader,
        &[("key1", "value1"), ("key2", "value2"), ("key3", "value3")],
    );
    await_same_log(&mut sim, &ABC, 3);
}

#[test]
fn leader_completeness_committed_writes_survive_a_new_leader() {
    // §3.9 #14 (weak in the reference: the leader never changed): two writes, then the leader is
    // partitioned away; the new leader holds both, at the same indexes.
    let (mut sim, old, ballot) = heartbeats(&ABC);
    concurrent_writes(
        &mut sim,
        &old,
        &[("persistent", "value1"), ("persistent2", "value2")],
    );
    let rest: Vec<&str> = ABC.iter().copied().filter(|n| *n != old).collect();
    sim.partition(&[&old], &rest).unwrap();
    sim.run_until(1_000, |s| {
        rest.iter()
            .any(|n| s.node(n).unwrap().leading().is_some_and(|b| b > ballot))
    })
    .unwrap();
    let (new, _) = leaders(&sim)
        .into_iter()
        .find(|(_, b)| *b > ballot)
        .unwrap();
    let node = sim.node(&new).unwrap();
    assert_eq!(node.value("persistent"), Some("value1"));
    assert_eq!(node.value("persistent2"), Some("value2"));
    let old_log = sim.node(&old).unwrap().log().clone();
    for index in 1..=2 {
        assert_eq!(node.log().chosen(index), old_log.chosen(index), "[{index}]");
    }
}

#[test]
fn state_machine_safety_two_concurrent_compare_and_sets_apply_in_one_order() {
    // §3.9 #15: the reference's first compare-and-set expected "no value"; ours start from a
    // written one. Whatever order the log gives them, every replica applies the same one.
    let (mut sim, leader, _) = heartbeats(&ABC);
    write(&mut sim, &leader, "conflict_key", "zero");
    let a = sim
        .invoke(
            "bob",
            &leader,
            KvOp::cas("conflict_key", "zero", "first_value"),
        )
        .unwrap();
    let b = sim
        .invoke(
            "carol",
            &leader,
            KvOp::cas("conflict_key", "first_value", "second_value"),
        )
        .unwrap();
    sim.run_until(1_000, |s| s.is_done(a) && s.is_done(b))
        .unwrap();
    assert_eq!(sim.reply(a), Some(&KvReply::Swapped(true)));
    let expected = match sim.reply(b) {
        Some(KvReply::Swapped(true)) => "second_value",
        Some(KvReply::Swapped(false)) => "first_value",
        other => panic!("{other:?}"),
    };
    await_same_log(&mut sim, &ABC, 3);
    await_value(&mut sim, &ABC, "conflict_key", expected);
    assert!(check_kv_history(sim.history()).unwrap().is_ok());
}

#[test]
fn election_safety_n5_one_leader_per_generation_at_every_step() {
    // §3.9 #16: five nodes, three campaigning at once; the invariants (one leader per ballot among
    // them) hold after every event, and one leader remains.
    let mut sim = cluster(Config::heartbeats(), &FIVE);
    for n in ["athens", "cyrene", "ephesus"] {
        sim.fire_timer(n, MultiPaxosTimer::Elect).unwrap();
    }
    watched(&mut sim, 500).unwrap();
    let l = leaders(&sim);
    assert_eq!(l.len(), 1);
    assert!(
        FIVE.iter()
            .all(|n| sim.node(n).unwrap().promised() == Some(l[0].1))
    );
    sim.run_for(100);
    assert_eq!(leaders(&sim), l);
}

#[test]
fn leader_append_only_two_writes_two_entries_same_length_everywhere() {
    // §3.9 #17.
    let (mut sim, leader, _) = heartbeats(&ABC);
    concurrent_writes(
        &mut sim,
        &leader,
        &[("append_test", "value1"), ("append_test2", "value2")],
    );
    await_same_log(&mut sim, &ABC, 2);
    let log = sim.node(&leader).unwrap().log();
    assert_ne!(log.chosen(1), log.chosen(2));
}

#[test]
fn five_concurrent_writes_same_log_on_every_replica() {
    // §3.9 #18.
    let (mut sim, leader, _) = heartbeats(&ABC);
    let writes: Vec<(String, String)> = (0..5)
        .map(|i| (format!("concurrent_key_{i}"), format!("value_{i}")))
        .collect();
    let pairs: Vec<(&str, &str)> = writes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    concurrent_writes(&mut sim, &leader, &pairs);
    await_same_log(&mut sim, &ABC, 5);
    for (k, v) in &pairs {
        await_value(&mut sim, &ABC, k, v);
    }
}

#[test]
fn a_read_is_an_entry_of_the_log() {
    // §3.9 #19: the reference appended a no-op for a read; ours appends the read itself.
    let (mut sim, leader, _) = heartbeats(&ABC);
    write(&mut sim, &leader, "read_test", "read_value");
    let read = call(&mut sim, "alice", &leader, KvOp::read("read_test"));
    assert_eq!(read, KvReply::Value(Some("read_value".into())));
    await_same_log(&mut sim, &ABC, 2);
    let entry = sim.node(&leader).unwrap().log().chosen(2).cloned().unwrap();
    assert_eq!(entry.op(), Some(&KvOp::read("read_test")));
}

// ----- RecoveryAndCatchUpScenariosTest (spec §3.9 #20–26) ----------------------------------------

#[test]
fn consistent_state_one_write_then_two_concurrent() {
    // §3.9 #20.
    let (mut sim, leader, _) = heartbeats(&ABC);
    write(&mut sim, &leader, "before_operations", "value1");
    await_value(&mut sim, &ABC, "before_operations", "value1");
    concurrent_writes(
        &mut sim,
        &leader,
        &[
            ("during_operations", "value2"),
            ("during_operations2", "value3"),
        ],
    );
    await_same_log(&mut sim, &ABC, 3);
}

#[test]
fn leader_recovery_of_an_uncommitted_entry_commits_dropped_new_leader_re_proposes_it() {
    // §3.9 #21, the key recovery scenario. The leader's commits never reach the followers: index
    // 2 is accepted by a majority (and answered) but known chosen only to the leader. The leader
    // is cut off; a follower campaigns, finds index 2 accepted in its promises, re-proposes it in
    // its own ballot and commits it.
    let (mut sim, old, ballot) = heartbeats(&ABC);
    let followers: Vec<&str> = ABC.iter().copied().filter(|n| *n != old).collect();
    write(&mut sim, &old, "committed", "value1");
    await_value(&mut sim, &ABC, "committed", "value1");
    for peer in &followers {
        sim.drop_kind(MultiPaxosKind::Commit, &old, peer).unwrap();
        sim.drop_kind(MultiPaxosKind::Chosen, &old, peer).unwrap();
        sim.drop_kind(MultiPaxosKind::Heartbeat, &old, peer)
            .unwrap();
    }
    let op = sim
        .invoke("alice", &old, KvOp::write("needs_recovery", "value2"))
        .unwrap();
    sim.run_until(150, |s| s.is_done(op)).unwrap();
    assert_eq!(
        sim.reply(op),
        Some(&KvReply::Written),
        "the old leader applied it"
    );
    let pending = |n: &MultiPaxos| {
        n.log().entry(2).is_some_and(|e| e.accepted.is_some()) && n.log().chosen(2).is_none()
    };
    assert!(followers.iter().any(|n| pending(sim.node(n).unwrap())));
    sim.isolate(&old).unwrap();
    elect(&mut sim, followers[0]);
    let new = sim.node(followers[0]).unwrap();
    assert!(new.leading().unwrap() > ballot);
    await_value(&mut sim, &followers, "needs_recovery", "value2");
    await_value(&mut sim, &ABC, "committed", "value1");
    sim.reconnect(&old).unwrap();
    for peer in &followers {
        sim.clear_drops(&old, peer).unwrap();
    }
    let (leader, _) = await_one_leader(&mut sim);
    assert_ne!(leader, old);
    await_value(&mut sim, &ABC, "needs_recovery", "value2");
    assert!(sim.node(&leader).unwrap().log().chosen_prefix() >= 2);
}

#[test]
fn partition_healing_n4_leader_cut_off_majority_serves_then_all_converge() {
    // §3.9 #22 (weak in the reference: no partition): four nodes, the leader cut off from the
    // other three, who elect a leader and take a write; after the heal all four hold both writes.
    let nodes = ["athens", "byzantium", "cyrene", "delphi"];
    let (mut sim, old, ballot) = heartbeats(&nodes);
    write(&mut sim, &old, "before_partition", "value1");
    let rest: Vec<&str> = nodes.iter().copied().filter(|n| *n != old).collect();
    sim.partition(&[&old], &rest).unwrap();
    sim.run_until(1_000, |s| {
        rest.iter()
            .any(|n| s.node(n).unwrap().leading().is_some_and(|b| b > ballot))
    })
    .unwrap();
    let (new, _) = leaders(&sim)
        .into_iter()
        .find(|(_, b)| *b > ballot)
        .unwrap();
    write(&mut sim, &new, "during_partition", "value2");
    sim.heal_all();
    await_one_leader(&mut sim);
    await_value(&mut sim, &nodes, "before_partition", "value1");
    await_value(&mut sim, &nodes, "during_partition", "value2");
}

#[test]
fn node_restart_a_follower_and_then_the_leader_lose_nothing() {
    // §3.9 #23 (weak in the reference: no restart): a follower crashes and restarts from its
    // disk; then the leader does; the write survives both, one leader remains.
    let (mut sim, leader, _) = heartbeats(&ABC);
    write(&mut sim, &leader, "restart_test", "value1");
    await_value(&mut sim, &ABC, "restart_test", "value1");
    let follower = *ABC.iter().find(|n| **n != leader).unwrap();
    sim.crash(follower).unwrap();
    sim.restart(follower).unwrap();
    sim.crash(&leader).unwrap();
    sim.restart(&leader).unwrap();
    await_one_leader(&mut sim);
    await_value(&mut sim, &ABC, "restart_test", "value1");
}

#[test]
fn log_synchronisation_a_follower_cut_off_during_writes_catches_up() {
    // §3.9 #24: a follower misses three writes behind a partition; once healed, the leader's
    // heartbeats tell it how far the log is chosen and it fetches what it missed.
    let (mut sim, leader, _) = heartbeats(&ABC);
    let follower = *ABC.iter().find(|n| **n != leader).unwrap();
    let rest: Vec<&str> = ABC.iter().copied().filter(|n| *n != follower).collect();
    sim.partition(&[follower], &rest).unwrap();
    concurrent_writes(
        &mut sim,
        &leader,
        &[
            ("sync_test_0", "value_0"),
            ("sync_test_1", "value_1"),
            ("sync_test_2", "value_2"),
        ],
    );
    assert_eq!(sim.node(follower).unwrap().log().chosen_prefix(), 0);
    sim.heal_all();
    await_same_log(&mut sim, &ABC, 3);
    await_value(&mut sim, &ABC, "sync_test_2", "value_2");
}

#[test]
fn state_machine_recovery_a_restarted_replica_rebuilds_its_store() {
    // §3.9 #25: two writes and a compare-and-set at once; every replica applies them in the log's
    // order; a replica restarted from its disk rebuilds the same store.
    let (mut sim, leader, _) = heartbeats(&ABC);
    let ops = [
        ("alice", KvOp::write("recovery_key1", "recovery_value1")),
        ("bob", KvOp::write("recovery_key2", "recovery_value2")),
        (
            "carol",
            KvOp::cas(
                "recovery_key1",
                "recovery_value1",
                "recovery_value1_updated",
            ),
        ),
    ];
    let handles: Vec<OpHandle> = ops
        .iter()
        .map(|(c, op)| sim.invoke(c, &leader, op.clone()).unwrap())
        .collect();
    sim.run_until(1_000, |s| handles.iter().all(|h| s.is_done(*h)))
        .unwrap();
    await_same_log(&mut sim, &ABC, 3);
    let expected = sim.node(&leader).unwrap().log().store().values().clone();
    let follower = *ABC.iter().find(|n| **n != leader).unwrap();
    sim.run_for(20); // the chosen records sync with the next writes or heartbeats
    sim.crash(follower).unwrap();
    sim.restart(follower).unwrap();
    sim.run_for(200);
    for n in ABC {
        let node = sim.node(n).unwrap();
        assert_eq!(node.log().store().values(), &expected, "{n}");
        assert_eq!(node.high_water_mark(), 3, "{n}");
    }
}

#[test]
fn three_failure_and_recovery_cycles_lose_no_write() {
    // §3.9 #26: three cycles of a write, then the leader crashing and restarting.
    let (mut sim, mut leader, _) = heartbeats(&ABC);
    for i in 0..3 {
        write(
            &mut sim,
            &leader,
            &format!("cycle_{i}"),
            &format!("value_{i}"),
        );
        sim.crash(&leader).unwrap();
        let (next, _) = await_one_leader(&mut sim);
        sim.restart(&leader).unwrap();
        leader = next;
    }
    await_one_leader(&mut sim);
    for i in 0..3 {
        await_value(&mut sim, &ABC, &format!("cycle_{i}"), &format!("value_{i}"));
    }
}

// ----- the broken variants, told as stories ------------------------------------------------------

fn variant(name: &str, config: Config) -> Config {
    config.variant(name).unwrap()
}

#[test]
fn no_index_advance_new_leader_proposes_over_a_chosen_entry() {
    // The reference's logIndex starts at 0 for a new leader: byzantium, elected after two
    // writes, proposes its first write at index 1, over athens' chosen one.
    let run = |config: Config| {
        let mut sim = cluster(config, &ABC);
        elect(&mut sim, "athens");
        write(&mut sim, "athens", "x", "1");
        write(&mut sim, "athens", "x", "2");
        sim.run_for(20);
        elect(&mut sim, "byzantium");
        sim.invoke("bob", "byzantium", KvOp::write("x", "3"))
            .unwrap();
        watched(&mut sim, 200)
    };
    assert_eq!(run(Config::default()), Ok(()));
    let why = run(variant("no-index-advance", Config::default())).unwrap_err();
    assert!(
        why.contains("at most one value is chosen per index"),
        "{why}"
    );
}

#[test]
fn unconditional_commit_follower_commits_a_value_that_was_never_chosen() {
    // Five nodes. athens (leader, ballot 1) gets x=old accepted by cyrene only, and crashes.
    // byzantium campaigns without cyrene and puts x=new at index 1: its commit names index 1 and
    // byzantium's ballot. cyrene holds x=old from ballot 1 there: only the ballot tells them apart.
    let run = |config: Config| {
        let mut sim = cluster(config, &FIVE);
        elect(&mut sim, "athens");
        for peer in ["byzantium", "delphi", "ephesus"] {
            sim.drop_kind(MultiPaxosKind::Accept, "athens", peer)
                .unwrap();
        }
        sim.invoke("alice", "athens", KvOp::write("x", "old"))
            .unwrap();
        sim.run_for(10);
        sim.crash("athens").unwrap();
        sim.drop_kind(MultiPaxosKind::Prepare, "byzantium", "cyrene")
            .unwrap();
        sim.drop_kind(MultiPaxosKind::Accept, "byzantium", "cyrene")
            .unwrap();
        sim.fire_timer("byzantium", MultiPaxosTimer::Elect).unwrap();
        watched(&mut sim, 50)?;
        sim.invoke("bob", "byzantium", KvOp::write("x", "new"))
            .unwrap();
        watched(&mut sim, 200)?;
        Ok::<_, String>(sim.node("cyrene").unwrap().value("x").map(str::to_string))
    };
    assert_eq!(
        run(Config::default()),
        Ok(Some("new".to_string())),
        "learned by catching up"
    );
    let why = run(variant("unconditional-commit", Config::default())).unwrap_err();
    assert!(
        why.contains("x=old at cyrene") || why.contains("a replica learns only the chosen value"),
        "{why}"
    );
}

#[test]
fn no_recovery_new_leader_overwrites_a_value_chosen_without_its_knowledge() {
    // athens' write is accepted by athens and cyrene, chosen, but its commit is lost. byzantium
    // campaigns; cyrene's promise reports the value. Ignoring it, byzantium fills index 1 with a
    // no-op: a second value chosen there.
    let run = |config: Config| {
        let mut sim = cluster(config, &ABC);
        elect(&mut sim, "athens");
        sim.drop_kind(MultiPaxosKind::Accept, "athens", "byzantium")
            .unwrap();
        sim.drop_kind(MultiPaxosKind::Commit, "athens", "cyrene")
            .unwrap();
        write(&mut sim, "athens", "x", "1");
        sim.crash("athens").unwrap();
        sim.fire_timer("byzantium", MultiPaxosTimer::Elect).unwrap();
        watched(&mut sim, 200)?;
        Ok::<_, String>(
            sim.node("byzantium")
                .unwrap()
                .value("x")
                .map(str::to_string),
        )
    };
    assert_eq!(run(Config::default()), Ok(Some("1".to_string())));
    let why = run(variant("no-recovery", Config::default())).unwrap_err();
    assert!(
        why.contains("survives every later leader") || why.contains("at most one value"),
        "{why}"
    );
}

#[test]
fn no_gap_fill_a_hole_blocks_every_later_entry() {
    // athens proposes two writes; the first reaches nobody before athens crashes. byzantium's
    // promises report index 2 only: without a no-op at index 1, index 2 and every later write
    // wait forever (a liveness flaw; nothing wrong is ever applied).
    let run = |config: Config| {
        let mut sim = cluster(config, &ABC);
        elect(&mut sim, "athens");
        for peer in ["byzantium", "cyrene"] {
            sim.drop_kind(MultiPaxosKind::Accept, "athens", peer)
                .unwrap();
        }
        sim.invoke("alice", "athens", KvOp::write("x", "lost"))
            .unwrap();
        sim.run_for(1);
        for peer in ["byzantium", "cyrene"] {
            sim.clear_drops("athens", peer).unwrap();
        }
        sim.invoke("bob", "athens", KvOp::write("y", "kept"))
            .unwrap();
        sim.run_for(8);
        sim.crash("athens").unwrap();
        elect(&mut sim, "byzantium");
        sim.client_policy_mut().attempts = 1;
        let op = sim
            .invoke("carol", "byzantium", KvOp::write("z", "new"))
            .unwrap();
        sim.run_until(300, |s| s.is_done(op)).unwrap();
        sim.reply(op).cloned()
    };
    assert_eq!(run(Config::default()), Some(KvReply::Written));
    assert_eq!(
        run(variant("no-gap-fill", Config::default())),
        None,
        "timed out"
    );
}

#[test]
fn stale_leader_reads_a_deposed_leader_answers_an_overwritten_value() {
    // athens leads, x=1. athens is cut off from the other nodes (not from clients); byzantium is
    // elected and x=2 is written. athens still believes it leads: with local reads it answers
    // x=1, after x=2 completed. Through the log, its read cannot be chosen and times out.
    let run = |config: Config| {
        let mut sim = cluster(config, &ABC);
        elect(&mut sim, "athens");
        write(&mut sim, "athens", "x", "1");
        sim.partition(&["athens"], &["byzantium", "cyrene"])
            .unwrap();
        elect(&mut sim, "byzantium");
        write(&mut sim, "byzantium", "x", "2");
        sim.client_policy_mut().attempts = 1;
        let op = sim.invoke("bob", "athens", KvOp::read("x")).unwrap();
        sim.run_until(300, |s| s.is_done(op)).unwrap();
        (
            sim.reply(op).cloned(),
            check_kv_history(sim.history()).unwrap().is_ok(),
        )
    };
    assert_eq!(run(Config::default()), (None, true));
    let (reply, linearizable) = run(variant("stale-leader-reads", Config::default()));
    assert_eq!(reply, Some(KvReply::Value(Some("1".into()))));
    assert!(!linearizable);
}

#[test]
fn name_sorted_timeouts_always_elect_the_first_name_and_a_crash_costs_a_full_stagger() {
    // The reference's deterministic stagger: athens (100 ticks) always wins the first election;
    // random timeouts elect whoever draws lowest.
    let sorted = variant("name-sorted-timeouts", Config::heartbeats());
    let (mut sim, leader, _) = {
        let mut sim = cluster(sorted, &ABC);
        let (l, b) = await_one_leader(&mut sim);
        (sim, l, b)
    };
    assert_eq!(leader, "athens");
    sim.crash("athens").unwrap();
    let (next, _) = await_one_leader(&mut sim);
    assert_eq!(next, "byzantium");
}

#[test]
fn a_stable_leader_costs_six_messages_per_write_the_paxos_log_ten() {
    let rows = cost::compare(4).unwrap();
    assert_eq!(rows[2].messages, vec![6; 4]);
    assert_eq!(rows[1].messages, vec![10; 4]);
    assert!(rows[0].messages[3] > rows[0].messages[0]);
}

// ----- exploration -------------------------------------------------------------------------------

fn search<E: Explorable<Node = MultiPaxos>>(
    explorer: &E,
    variant: &str,
    first_seed: u64,
    seeds: u64,
) -> explore::Search<MultiPaxos> {
    let settings = Settings::first_failure(first_seed, seeds);
    explore::search(explorer, variant, &settings).unwrap()
}

fn correct_passes_and_broken_variants_fail_from_their_seeds<E: Explorable<Node = MultiPaxos>>(
    explorer: &E,
) {
    for variant in explorer.variants() {
        match variant.failing_seed {
            None => {
                let found = search(explorer, variant.name, 0, 10);
                assert!(
                    found.failures.is_empty(),
                    "{}: {:?}",
                    variant.name,
                    found.failures
                );
                assert!(found.unknown.is_empty(), "{}", variant.name);
            }
            Some(seed) => {
                let found = search(explorer, variant.name, seed, 1);
                let c = found
                    .counterexample
                    .unwrap_or_else(|| panic!("{} passed seed {seed}", variant.name));
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
fn multi_paxos_explorer_correct_form_passes_and_broken_variants_fail_from_their_seeds() {
    correct_passes_and_broken_variants_fail_from_their_seeds(&Explorer::default());
}

#[test]
fn heartbeats_explorer_correct_form_passes_and_broken_variants_fail_from_their_seeds() {
    correct_passes_and_broken_variants_fail_from_their_seeds(&Explorer::heartbeats());
}
