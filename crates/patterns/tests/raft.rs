//! Raft's scenarios (spec §3.10 and our own), each a claim about the paper's rules, on the
//! simulator with the invariants of Figure 3 checked after every event where a run is long.

use patterns::node::{Kind, NodeInit};
use patterns::protocols::kv::{KvOp, KvReply};
use patterns::protocols::raft::{
    Config, Ending, Raft, RaftKind, ServerState, check_history, current_leader, figure8, invariants,
};
use patterns::sim::{Builder, ClientPolicy, DropReason, Fault, Outcome, Simulation, TraceEvent};

const ABC: [&str; 3] = ["athens", "byzantium", "cyrene"];

fn cluster(config: Config, seed: u64) -> Simulation<Raft> {
    Builder::new()
        .seed(seed)
        .clients(["alice", "bob", "carol"])
        .client_policy(ClientPolicy {
            attempt_timeout_ticks: 60,
            attempts: 3,
            follow_redirects: true,
        })
        .build(move |_| Raft::new(config.clone()))
        .expect("a valid cluster")
}

/// Runs until exactly one running server leads in the highest term; its name.
fn await_leader(sim: &mut Simulation<Raft>) -> String {
    sim.run_until(1_000, |s| current_leader(s).is_some())
        .unwrap_or_else(|e| panic!("{e}"));
    current_leader(sim).expect("a leader")
}

fn call(sim: &mut Simulation<Raft>, client: &str, node: &str, op: KvOp) -> KvReply {
    match sim
        .call(client, node, op, 1_000)
        .unwrap_or_else(|e| panic!("{e}"))
    {
        Outcome::Replied { reply, .. } => reply.clone(),
        Outcome::TimedOut { tick } => panic!("{client}'s operation timed out at tick {tick}"),
    }
}

/// Whether the run's history is linearizable, key by key.
fn linearizable(sim: &Simulation<Raft>) -> bool {
    check_history(sim.history()).unwrap().is_ok()
}

/// A cluster whose servers each wait a fixed election timeout, by name: who stands first is
/// part of the story.
fn timed(config: Config, timeouts: &[(&'static str, u64)]) -> Simulation<Raft> {
    let timeouts = timeouts.to_vec();
    Builder::new()
        .nodes(timeouts.iter().map(|(n, _)| *n))
        .clients(["alice", "bob", "carol"])
        .client_policy(ClientPolicy {
            attempt_timeout_ticks: 60,
            attempts: 1,
            follow_redirects: true,
        })
        .build(move |init: &NodeInit| {
            let t = timeouts.iter().find(|(n, _)| *n == init.name).unwrap().1;
            Raft::new(config.clone().election_timeout_ticks(t, t))
        })
        .unwrap()
}

/// A simulation whose invariants (Figure 3) are checked after every event.
struct Watched {
    sim: Simulation<Raft>,
    observe: patterns::sim::Observer<Raft>,
    violation: Option<String>,
}

impl Watched {
    fn new(sim: Simulation<Raft>) -> Watched {
        Watched {
            sim,
            observe: invariants(),
            violation: None,
        }
    }

    /// Runs until `done` holds or `budget` ticks pass; whether it held.
    fn run_until(&mut self, budget: u64, done: impl Fn(&Simulation<Raft>) -> bool) -> bool {
        let end = self.sim.now() + budget;
        while !done(&self.sim) {
            if self.sim.next_event_tick().is_none_or(|t| t > end) {
                return false;
            }
            self.sim.step();
            if self.violation.is_none() {
                self.violation = (self.observe)(&self.sim).err();
            }
        }
        true
    }

    fn leads(&self, name: &str) -> bool {
        self.sim.node(name).is_ok_and(|n| n.is_leader())
    }
}

fn followers(sim: &Simulation<Raft>, leader: &str) -> Vec<String> {
    sim.node_names()
        .iter()
        .filter(|n| *n != leader)
        .cloned()
        .collect()
}

// ----- the reference's RaftTest (spec §3.10) ---------------------------------------------------

#[test]
fn raft_election_safety_n3_one_leader_all_in_its_term() {
    // §3.10 #1, §5.2: an election ends with one leader, and every server in the leader's term.
    let mut sim = cluster(Config::default(), 0);
    let leader = await_leader(&mut sim);
    let term = sim.node(&leader).unwrap().current_term();
    let leaders = sim.running_nodes().filter(|(_, n)| n.is_leader()).count();
    assert_eq!(leaders, 1);
    sim.run_until(100, |s| {
        s.running_nodes().all(|(_, n)| n.current_term() == term)
    })
    .unwrap();
    assert_eq!(
        term, 1,
        "with randomized timeouts the first election succeeds"
    );
}

#[test]
fn raft_election_equal_timeouts_split_the_vote_in_every_term() {
    // §3.10 #1 as the reference ran it: every server times out at tick 20; our network delivers
    // no message within its tick, so all three stand at once and split the vote, again and
    // again: the reference's symmetry was broken only by its tick order.
    let mut sim = cluster(Config::variant("equal-timeouts").unwrap(), 0);
    let elected = sim.run_until(1_000, |s| current_leader(s).is_some());
    assert!(elected.is_err(), "no leader with identical timeouts");
    let terms: Vec<u64> = sim.running_nodes().map(|(_, n)| n.current_term()).collect();
    assert!(terms.iter().all(|&t| t == terms[0] && t >= 40), "{terms:?}");
}

#[test]
fn raft_basic_replication_n3_followers_apply_after_the_next_append() {
    // §3.10 #2, §5.3: a write acknowledged by the leader reaches every server's state machine.
    let mut sim = cluster(Config::default(), 1);
    let leader = await_leader(&mut sim);
    let others = followers(&sim, &leader);
    assert!(others.iter().all(|n| !sim.node(n).unwrap().is_leader()));
    assert_eq!(
        call(
            &mut sim,
            "alice",
            &leader,
            KvOp::write("title", "Raft Consensus")
        ),
        KvReply::Written
    );
    sim.run_until(100, |s| {
        ABC.iter()
            .all(|n| s.node(n).unwrap().value("title") == Some("Raft Consensus"))
    })
    .unwrap();
}

// ----- clients ----------------------------------------------------------------------------------

#[test]
fn raft_follower_redirects_to_the_leader_it_knows() {
    // §8: a server that is not the leader refuses and names the leader; the client follows.
    let mut sim = cluster(Config::default(), 2);
    let leader = await_leader(&mut sim);
    sim.run_for(20);
    let follower = followers(&sim, &leader)[0].clone();
    let leader_id = sim.node_names().iter().position(|n| *n == leader).unwrap();
    sim.client_policy_mut().attempts = 1;
    let reply = call(&mut sim, "alice", &follower, KvOp::write("k", "v"));
    assert_eq!(
        reply,
        KvReply::NotLeader {
            leader: Some(patterns::node::ProcessId(leader_id as u16))
        }
    );
    sim.client_policy_mut().attempts = 2;
    assert_eq!(
        call(&mut sim, "alice", &follower, KvOp::write("k", "v")),
        KvReply::Written
    );
}

#[test]
fn raft_compare_and_set_swaps_only_from_the_expected_value() {
    // The state machine: compare-and-set through the log, applied in log order everywhere.
    let mut sim = cluster(Config::default(), 3);
    let leader = await_leader(&mut sim);
    call(&mut sim, "alice", &leader, KvOp::write("k", "a"));
    assert_eq!(
        call(&mut sim, "alice", &leader, KvOp::cas("k", "b", "c")),
        KvReply::Swapped(false)
    );
    assert_eq!(
        call(&mut sim, "bob", &leader, KvOp::cas("k", "a", "c")),
        KvReply::Swapped(true)
    );
    assert_eq!(
        call(&mut sim, "alice", &leader, KvOp::read("k")),
        KvReply::Value(Some("c".into()))
    );
}

#[test]
fn raft_figure8_commit_old_term_loses_a_committed_entry() {
    // §5.4.2, Figure 8 (a)–(d): counting replicas commits x←2 of term 2 in term 4; s5 then wins
    // term 5 and overwrites it. Leader completeness breaks, and bob's acknowledged write is lost.
    let story = figure8(
        Config::variant("commit-old-term").unwrap(),
        Ending::Overwrite,
    )
    .unwrap();
    assert_eq!(story.stopped, None);
    assert!(
        !linearizable(&story.sim),
        "dave reads x = 1 after bob's x←2 was acknowledged"
    );
    let names: Vec<&str> = story.steps.iter().map(|s| s.name).collect();
    assert_eq!(names, ["start", "(a)", "(b)", "(c)", "(d)"]);
    let (_, why) = story.violation.as_ref().expect("an invariant breaks");
    assert!(
        why.starts_with("leader completeness: s5, leader of term 5"),
        "{why}"
    );
    assert_eq!(story.bob_acknowledged(), Some(true));
    let terms = |step: usize, server: usize| -> Vec<u64> {
        story.steps[step].logs[server]
            .log
            .iter()
            .map(|e| e.term)
            .collect()
    };
    assert_eq!(terms(3, 0), [1, 2], "(c): s1 holds x←2 of term 2");
    assert_eq!(terms(3, 2), [1, 2], "(c): and so does s3");
    assert_eq!(
        story.steps[3].logs[0].commit_index, 2,
        "(c): s1 committed it"
    );
    assert_eq!(
        terms(4, 2),
        [1, 3, 5],
        "(d): s3 holds s5's y←3 and dave's read"
    );
}

#[test]
fn raft_figure8_current_term_rule_never_commits_the_old_entry() {
    // §5.4.2: with the paper's rule (and no no-op, to keep the figure's logs), s1 does not
    // commit x←2 in term 4; s5's overwrite in (d) loses nothing that was committed.
    let config = Config {
        start_of_term_noop: false,
        ..Config::default()
    };
    let story = figure8(config, Ending::Overwrite).unwrap();
    assert_eq!(story.stopped, None);
    assert_eq!(story.violation, None);
    assert!(
        story.steps[3].logs[0].commit_index < 2,
        "(c): x←2 not committed"
    );
    assert_ne!(story.bob_acknowledged(), Some(true));
    assert!(linearizable(&story.sim));
}

#[test]
fn raft_figure8_an_entry_of_the_current_term_commits_the_old_one() {
    // Figure 8 (e): once s1's entry of term 4 is on a majority, it and x←2 are committed, and s5
    // can no longer win.
    let config = Config {
        start_of_term_noop: false,
        ..Config::default()
    };
    let story = figure8(config, Ending::CurrentTermEntry).unwrap();
    assert_eq!(story.violation, None);
    let c = &story.steps[3];
    assert_eq!(c.logs[0].commit_index, 3, "(c): z←4 commits x←2 with it");
    let e = story.steps.last().unwrap();
    assert_eq!(e.name, "(e)");
    assert!(e.logs[4].state != Some(ServerState::Leader));
    assert_eq!(story.bob_acknowledged(), Some(true));
}

#[test]
fn raft_figure8_with_the_noop_s5_cannot_even_win_term_3() {
    // §8: the no-op of s1's term 2 reached s3 and s4 before (a), so s5 is refused in (b).
    let story = figure8(Config::default(), Ending::Overwrite).unwrap();
    assert_eq!(story.violation, None);
    assert!(
        story
            .stopped
            .as_deref()
            .unwrap()
            .starts_with("s5 was not elected")
    );
    assert_eq!(story.steps.last().unwrap().name, "(b)");
}

// ----- leaders come and go ----------------------------------------------------------------------

#[test]
fn raft_partitioned_leader_is_replaced_and_its_uncommitted_entry_overwritten() {
    // §5.2, §5.3, §8: a leader cut off from the other servers cannot commit, cannot serve a read,
    // and is replaced in a later term; when the partition heals it steps down and its
    // uncommitted entry is overwritten by the new leader's log.
    let mut sim = cluster(Config::default(), 5);
    let old = await_leader(&mut sim);
    let old_term = sim.node(&old).unwrap().current_term();
    assert_eq!(
        call(&mut sim, "alice", &old, KvOp::write("k", "v1")),
        KvReply::Written
    );
    let others = followers(&sim, &old);
    let others_ref: Vec<&str> = others.iter().map(String::as_str).collect();
    sim.inject(Fault::partition(&[&old], &others_ref)).unwrap();
    sim.client_policy_mut().attempts = 1;
    let lost = sim.invoke("bob", &old, KvOp::write("k", "v2")).unwrap();
    let stale = sim.invoke("carol", &old, KvOp::read("k")).unwrap();
    sim.run_until(1_000, |s| {
        others_ref.iter().any(|n| s.node(n).unwrap().is_leader())
    })
    .unwrap();
    let new = others
        .iter()
        .find(|n| sim.node(n).unwrap().is_leader())
        .unwrap()
        .clone();
    let new_term = sim.node(&new).unwrap().current_term();
    assert!(new_term > old_term);
    assert!(
        sim.node(&old).unwrap().is_leader(),
        "the old leader does not know yet"
    );
    assert_eq!(
        call(&mut sim, "alice", &new, KvOp::write("k", "v3")),
        KvReply::Written
    );
    sim.run_until(200, |s| s.is_done(lost) && s.is_done(stale))
        .unwrap();
    assert_eq!(
        sim.reply(stale),
        None,
        "a cut-off leader cannot confirm a read"
    );
    assert_eq!(sim.reply(lost), None, "nor commit a write");
    let uncommitted = sim.node(&old).unwrap().log().len() as u64;
    assert!(sim.node(&old).unwrap().commit_index() < uncommitted);
    sim.inject(Fault::HealAll).unwrap();
    sim.run_until(200, |s| {
        let logs: Vec<_> = s.running_nodes().map(|(_, n)| n.log().to_vec()).collect();
        logs.iter().all(|l| *l == logs[0]) && !s.node(&old).unwrap().is_leader()
    })
    .unwrap();
    let server = sim.node(&old).unwrap();
    assert_eq!(server.current_term(), new_term);
    assert_eq!(server.state(), ServerState::Follower);
    assert!(
        !server.log().iter().any(|e| e.to_string() == "k←v2"),
        "v2 was overwritten"
    );
    assert_eq!(
        call(&mut sim, "alice", &new, KvOp::read("k")),
        KvReply::Value(Some("v3".into()))
    );
    assert!(linearizable(&sim));
}

#[test]
fn raft_restarted_follower_keeps_term_vote_and_log_and_relearns_its_commit_index() {
    // Figure 2: current term, vote and log are persistent; commit index and state machine are
    // volatile and come back from the leader.
    let mut sim = cluster(Config::default(), 6);
    let leader = await_leader(&mut sim);
    for v in ["a", "b", "c"] {
        call(&mut sim, "alice", &leader, KvOp::write("k", v));
    }
    sim.run_for(20);
    let follower = followers(&sim, &leader)[0].clone();
    let before = sim.node(&follower).unwrap().clone();
    assert_eq!(before.value("k"), Some("c"));
    sim.inject(Fault::crash(&follower)).unwrap();
    sim.inject(Fault::restart(&follower)).unwrap();
    let after = sim.node(&follower).unwrap();
    assert_eq!(after.current_term(), before.current_term());
    assert_eq!(after.voted_for(), before.voted_for());
    assert_eq!(after.log(), before.log());
    assert_eq!((after.commit_index(), after.value("k")), (0, None));
    sim.run_until(100, |s| s.node(&follower).unwrap().value("k") == Some("c"))
        .unwrap();
    assert_eq!(
        sim.node(&follower).unwrap().commit_index(),
        before.commit_index()
    );
}

#[test]
fn raft_restarted_leader_comes_back_as_a_follower_with_its_log() {
    // §5.2: a restarted server starts as a follower; its durable log is intact and the cluster
    // elects a leader that holds every committed entry.
    let mut sim = cluster(Config::default(), 7);
    let leader = await_leader(&mut sim);
    call(&mut sim, "alice", &leader, KvOp::write("k", "kept"));
    let log = sim.node(&leader).unwrap().log().to_vec();
    sim.inject(Fault::crash(&leader)).unwrap();
    let next = await_leader(&mut sim);
    assert_ne!(next, leader);
    sim.inject(Fault::restart(&leader)).unwrap();
    assert_eq!(sim.node(&leader).unwrap().state(), ServerState::Follower);
    assert_eq!(sim.node(&leader).unwrap().log(), &log[..]);
    assert_eq!(
        call(&mut sim, "bob", &next, KvOp::read("k")),
        KvReply::Value(Some("kept".into()))
    );
}

#[test]
fn raft_follower_crashed_before_its_sync_never_acknowledged_the_entry() {
    // Figure 2 ("updated on stable storage before responding"): a follower whose write is not yet
    // durable holds its acknowledgement back; crashed there, it loses the entry and nobody counted
    // it. The leader commits with the other follower and later repairs the restarted one.
    let mut sim = cluster(Config::default(), 8);
    let leader = await_leader(&mut sim);
    sim.run_for(20);
    let follower = followers(&sim, &leader)[0].clone();
    let length = sim.node(&follower).unwrap().log().len();
    sim.inject(Fault::HoldSync {
        node: follower.clone(),
    })
    .unwrap();
    assert_eq!(
        call(&mut sim, "alice", &leader, KvOp::write("k", "v")),
        KvReply::Written
    );
    assert_eq!(
        sim.node(&follower).unwrap().log().len(),
        length + 1,
        "appended, not synced"
    );
    sim.inject(Fault::crash(&follower)).unwrap();
    let held_back = sim.trace().events.iter().filter(|e| {
        matches!(
            e,
            TraceEvent::Drop {
                reason: DropReason::SenderCrashed,
                ..
            }
        )
    });
    assert!(
        held_back.count() >= 1,
        "the acknowledgement died with the crash"
    );
    sim.inject(Fault::CompleteSync {
        node: follower.clone(),
    })
    .unwrap();
    sim.inject(Fault::restart(&follower)).unwrap();
    assert_eq!(
        sim.node(&follower).unwrap().log().len(),
        length,
        "the entry was not durable"
    );
    sim.run_until(100, |s| s.node(&follower).unwrap().value("k") == Some("v"))
        .unwrap();
}

#[test]
fn raft_retried_write_is_applied_once() {
    // §8: a client whose reply was lost retries with the same request id; the leader answers
    // from its table instead of applying the write again after bob's.
    let mut sim = cluster(Config::default(), 9);
    let leader = await_leader(&mut sim);
    call(&mut sim, "alice", &leader, KvOp::write("k", "a"));
    sim.inject(Fault::partition_one_way(&[&leader], &["alice"]))
        .unwrap();
    let retried = sim.invoke("alice", &leader, KvOp::write("k", "b")).unwrap();
    sim.run_until(100, |s| {
        s.running_nodes().all(|(_, n)| n.value("k") == Some("b"))
    })
    .unwrap();
    assert_eq!(
        call(&mut sim, "bob", &leader, KvOp::write("k", "c")),
        KvReply::Written
    );
    sim.inject(Fault::HealAll).unwrap();
    let outcome = sim.run_until_done(retried, 500).unwrap().clone();
    assert_eq!(outcome.reply(), Some(&KvReply::Written));
    sim.run_for(20);
    for (name, server) in sim.running_nodes() {
        assert_eq!(
            server.value("k"),
            Some("c"),
            "{name}: b is not applied a second time"
        );
        let copies = server
            .log()
            .iter()
            .filter(|e| e.to_string() == "k←b")
            .count();
        assert_eq!(
            copies, 1,
            "{name}: the retry found the entry, not a new one"
        );
    }
    assert!(linearizable(&sim));
}

#[test]
fn raft_fast_back_off_catches_up_a_short_log_in_one_round_trip() {
    // §5.3: a follower rejecting AppendEntries says where its log ends (or where its conflicting
    // term starts), so a new leader catches it up in one round trip, not one per missing entry.
    let mut sim = cluster(Config::default(), 10);
    let old = await_leader(&mut sim);
    let (behind, ahead) = {
        let f = followers(&sim, &old);
        (f[0].clone(), f[1].clone())
    };
    sim.inject(Fault::partition(&[&behind], &[&old, &ahead]))
        .unwrap();
    for i in 0..10 {
        call(&mut sim, "alice", &old, KvOp::write("k", &i.to_string()));
    }
    sim.inject(Fault::crash(&old)).unwrap();
    let from = sim.trace().events.len();
    sim.inject(Fault::HealAll).unwrap();
    assert_eq!(
        await_leader(&mut sim),
        ahead,
        "only the up-to-date follower can win"
    );
    sim.run_until(100, |s| {
        s.node(&behind).unwrap().log() == s.node(&ahead).unwrap().log()
    })
    .unwrap();
    let behind_id = sim.node_names().iter().position(|n| *n == behind).unwrap() as u16;
    let rejections = sim.trace().events[from..].iter().filter(|e| {
        matches!(e, TraceEvent::Send { from, payload: Some(p), .. }
            if from.0 == behind_id && p.contains("LogMismatch"))
    });
    assert_eq!(
        rejections.count(),
        1,
        "one round trip instead of one per missing entry"
    );
}

// ----- the broken variants, one schedule each -----------------------------------------------------

#[test]
fn raft_volatile_vote_two_leaders_in_one_term_after_a_restart() {
    // §5.2, Figure 2: a vote is persistent state. athens and byzantium both stand in term 1,
    // byzantium cut off from both others; cyrene votes for athens (whose appends never reach it),
    // then crashes and restarts. Without its vote on disk it votes again, for byzantium: two
    // leaders of term 1.
    let schedule = |config: Config| {
        let sim = timed(
            config,
            &[("athens", 10), ("byzantium", 12), ("cyrene", 1_000)],
        );
        let mut run = Watched::new(sim);
        run.sim
            .inject(Fault::partition(&["byzantium"], &["athens", "cyrene"]))
            .unwrap();
        let appends = Fault::DropKind {
            kind: RaftKind::AppendEntries.name(),
            from: "athens".into(),
            to: "cyrene".into(),
            nth: None,
        };
        run.sim.inject(appends).unwrap();
        assert!(run.run_until(100, |s| s.node("athens").unwrap().is_leader()));
        run.sim
            .inject(Fault::heal(&["byzantium"], &["cyrene"]))
            .unwrap();
        run.sim.inject(Fault::crash("cyrene")).unwrap();
        run.sim.inject(Fault::restart("cyrene")).unwrap();
        let cyrene = run.sim.node("cyrene").unwrap();
        let restarted = (cyrene.current_term(), cyrene.voted_for());
        run.run_until(15, |s| s.node("byzantium").unwrap().is_leader());
        (run, restarted)
    };
    let (run, restarted) = schedule(Config::variant("volatile-vote").unwrap());
    assert_eq!(restarted, (0, None), "nothing survived the crash");
    assert!(run.leads("byzantium") && run.leads("athens"));
    assert_eq!(run.sim.node("byzantium").unwrap().current_term(), 1);
    assert_eq!(
        run.violation.as_deref(),
        Some("election safety: athens and byzantium are both leaders of term 1")
    );
    let (run, restarted) = schedule(Config::default());
    assert_eq!(
        restarted,
        (1, Some(patterns::node::ProcessId(0))),
        "term and vote survived"
    );
    assert_eq!(run.violation, None);
    let byzantium = run.sim.node("byzantium").unwrap();
    assert!(
        !byzantium.is_leader() || byzantium.current_term() > 1,
        "not in term 1"
    );
}

#[test]
fn raft_no_election_restriction_a_stale_server_overwrites_a_committed_entry() {
    // §5.4.1: cyrene, cut off while x←1 was committed, comes back with a higher term and an empty
    // log. Without the election restriction byzantium votes for it, and it overwrites x←1.
    let schedule = |config: Config| {
        let sim = timed(config, &[("athens", 10), ("byzantium", 30), ("cyrene", 20)]);
        let mut run = Watched::new(sim);
        assert!(run.run_until(100, |s| s.node("athens").unwrap().is_leader()));
        run.sim
            .inject(Fault::partition(&["cyrene"], &["athens", "byzantium"]))
            .unwrap();
        let write = run
            .sim
            .invoke("alice", "athens", KvOp::write("x", "1"))
            .unwrap();
        assert!(run.run_until(100, |s| s.is_done(write)));
        assert_eq!(run.sim.reply(write), Some(&KvReply::Written));
        run.sim.inject(Fault::crash("athens")).unwrap();
        run.sim.inject(Fault::HealAll).unwrap();
        run.run_until(200, |s| s.running_nodes().any(|(_, n)| n.is_leader()));
        run.run_until(20, |_| false);
        run
    };
    let run = schedule(Config::variant("no-election-restriction").unwrap());
    assert!(run.leads("cyrene"));
    let why = run.violation.unwrap();
    assert!(why.starts_with("leader completeness: cyrene"), "{why}");
    let byzantium = run.sim.node("byzantium").unwrap();
    assert!(
        !byzantium.log().iter().any(|e| e.to_string() == "x←1"),
        "x←1 was overwritten"
    );
    let mut sim = run.sim;
    assert_eq!(
        call(&mut sim, "bob", "cyrene", KvOp::read("x")),
        KvReply::Value(None)
    );
    assert!(!linearizable(&sim), "an acknowledged write is lost");
    let run = schedule(Config::default());
    assert_eq!(run.violation, None);
    assert!(run.leads("byzantium"), "only the up-to-date server can win");
    let mut sim = run.sim;
    assert_eq!(
        call(&mut sim, "bob", "byzantium", KvOp::read("x")),
        KvReply::Value(Some("1".into()))
    );
}

#[test]
fn raft_reads_anywhere_a_cut_off_follower_returns_a_stale_value() {
    // §8: reads served by any server from its own state are not linearizable; through the
    // leader's read index the same read is redirected and sees the latest write.
    for (variant, stale) in [("reads-anywhere", true), ("correct", false)] {
        let mut sim = cluster(Config::variant(variant).unwrap(), 11);
        let leader = await_leader(&mut sim);
        call(&mut sim, "alice", &leader, KvOp::write("x", "1"));
        sim.run_for(20);
        let cut = followers(&sim, &leader)[0].clone();
        let other = followers(&sim, &leader)[1].clone();
        sim.inject(Fault::partition(&[&cut], &[&leader, &other]))
            .unwrap();
        call(&mut sim, "alice", &leader, KvOp::write("x", "2"));
        let read = call(&mut sim, "bob", &cut, KvOp::read("x"));
        let expected = if stale { "1" } else { "2" };
        assert_eq!(read, KvReply::Value(Some(expected.into())), "{variant}");
        assert_eq!(linearizable(&sim), !stale, "{variant}");
    }
}

#[test]
fn raft_torn_term_and_vote_write_falls_back_to_the_last_synced_one() {
    // Figure 2's persistent state, on a disk that tears writes: term and vote are written to two
    // slots in turn, so a write torn by a crash garbles only itself and the server restarts with
    // the last synced term and vote (never with garbage, and never with a vote it did not sync).
    let mut sim = cluster(Config::default(), 12);
    let leader = await_leader(&mut sim);
    sim.run_for(20);
    let follower = followers(&sim, &leader)[0].clone();
    let synced = {
        let f = sim.node(&follower).unwrap();
        (f.current_term(), f.voted_for())
    };
    sim.inject(Fault::HoldSync {
        node: follower.clone(),
    })
    .unwrap();
    sim.inject(Fault::crash(&leader)).unwrap();
    sim.run_until(200, |s| {
        s.node(&follower).unwrap().current_term() > synced.0
    })
    .unwrap();
    assert!(sim.storage(&follower).unwrap().unsynced_writes() > 0);
    sim.inject(Fault::crash(&follower)).unwrap();
    sim.inject(Fault::Restart {
        node: follower.clone(),
        torn: true,
    })
    .unwrap();
    let f = sim.node(&follower).unwrap();
    assert_eq!((f.current_term(), f.voted_for()), synced);
    let notes = sim
        .trace()
        .events
        .iter()
        .filter(|e| matches!(e, TraceEvent::Annotate { text, .. } if text.contains("corrupt")));
    assert_eq!(notes.count(), 1, "the torn slot was noticed and skipped");
}

#[test]
fn raft_runs_draw_as_a_log_grid_and_a_leader_chart() {
    // The lesson's pictures: every server's log at an instant, and who led when.
    let mut sim = cluster(Config::default(), 13);
    let leader = await_leader(&mut sim);
    call(&mut sim, "alice", &leader, KvOp::write("x", "1"));
    sim.inject(Fault::crash(&leader)).unwrap();
    let next = await_leader(&mut sim);
    call(&mut sim, "alice", &next, KvOp::write("x", "2"));
    let grid = patterns::protocols::raft::log_grid_now(&sim, "after one crash");
    let scene = grid.scene().unwrap();
    assert!(scene.problems().is_empty(), "{:?}", scene.problems());
    let svg = grid.figure().unwrap().svg().to_string();
    assert!(svg.contains("x←2") && svg.contains("down"));
    let names = sim.node_names().to_vec();
    let chart = patterns::protocols::raft::leader_chart("leaders", sim.trace(), &names, sim.now());
    let spans = chart.spans().unwrap();
    let mut led: Vec<(u64, &str)> = spans
        .iter()
        .filter(|s| s.role == patterns::viz::Role::Leader)
        .map(|s| (s.from, names[s.node].as_str()))
        .collect();
    led.sort();
    let led: Vec<&str> = led.into_iter().map(|(_, n)| n).collect();
    assert_eq!(led, [leader.as_str(), next.as_str()]);
    assert!(spans.iter().any(|s| s.role == patterns::viz::Role::Down));
}

#[test]
fn raft_on_loopback_stays_linearizable_while_nodes_are_killed_and_restarted() {
    // The same servers over TCP with their storage on the write-ahead log: a node is killed and
    // restarted from its files every 250 ms, and the history is still linearizable.
    use patterns::net::{Cluster, Settings, Workload};
    use patterns::protocols::kv::KvMix;
    let settings = Settings {
        client_policy: ClientPolicy {
            attempt_timeout_ticks: 100,
            attempts: 5,
            follow_redirects: true,
        },
        ..Settings::default()
    };
    let config = Config::default();
    let cluster = Cluster::start_with(3, settings, move |_| Raft::new(config.clone())).unwrap();
    let mix = KvMix {
        cas: 1,
        ..KvMix::default()
    };
    let report = cluster
        .run(Workload::new(400, mix.generator()).kill_every(std::time::Duration::from_millis(250)))
        .unwrap();
    assert!(report.kills >= 1, "{report:?}");
    // Progress, loosely: a tick is 10 ms of wall clock here, so on a loaded machine an election
    // after a kill can take long enough for a quarter of the operations to give up (:fail); the
    // claim is that what completes is linearizable.
    assert!(report.ok >= 100, "{report:?}");
    let history = cluster.history();
    cluster.stop();
    let verdict = check_history(&history).unwrap();
    assert!(verdict.is_ok(), "{}", verdict.explanation());
}

#[test]
fn raft_equal_timeouts_never_elect_and_randomized_ones_do_quickly() {
    // §5.2 and the paper's Figure 16: with identical timeouts every server stands at once and the
    // votes split forever; a range of 20 ticks elects a new leader within a few timeouts.
    use patterns::protocols::raft::measure::election_after_leader_crash;
    let equal = Config::variant("equal-timeouts").unwrap();
    let randomized = Config::default();
    for seed in 0..10 {
        assert_eq!(
            election_after_leader_crash(&equal, seed).unwrap().ticks,
            None
        );
        let election = election_after_leader_crash(&randomized, seed).unwrap();
        let ticks = election.ticks.expect("elected");
        assert!((20..=150).contains(&ticks), "seed {seed}: {ticks} ticks");
        assert!(election.terms >= 1);
    }
}

#[test]
fn raft_efficiency_counts_messages_latency_and_the_outage_of_a_leader_crash() {
    // The lesson's table: a fault-free run costs a bounded number of messages per operation, and
    // after the leader crashes no new operation completes before an election timeout has passed.
    use patterns::protocols::raft::measure::efficiency;
    let config = Config::default();
    let e = efficiency(&config, 5).unwrap();
    assert!((3.0..40.0).contains(&e.messages_per_operation), "{e:?}");
    assert!(e.latency_p50_ticks.is_some_and(|t| t >= 2), "{e:?}");
    assert!(
        e.unavailability_after_leader_crash_ticks >= config.election_timeout_ticks_min as f64,
        "{e:?}"
    );
}

// ----- the explorer ------------------------------------------------------------------------------

#[test]
fn raft_explorer_correct_forms_pass_and_broken_variants_fail_from_their_seeds() {
    // The proof that the variants are what they claim: the correct forms pass a handful of seeds
    // under the whole nemesis, and each broken variant fails on the seed it records (CI searches
    // further in release builds).
    use patterns::explore::{self, Explorable, Settings};
    use patterns::protocols::raft::Explorer;
    let settings = |first_seed, seeds| Settings::first_failure(first_seed, seeds);
    for variant in Explorer.variants() {
        match variant.failing_seed {
            None => {
                let found = explore::search(&Explorer, variant.name, &settings(0, 5)).unwrap();
                assert!(
                    found.failures.is_empty(),
                    "{}: {:?}",
                    variant.name,
                    found.failures
                );
                assert!(found.unknown.is_empty(), "{}", variant.name);
            }
            Some(seed) => {
                let found = explore::search(&Explorer, variant.name, &settings(seed, 1)).unwrap();
                let c = found
                    .counterexample
                    .unwrap_or_else(|| panic!("{} passed seed {seed}", variant.name));
                assert_eq!(c.seed, seed);
            }
        }
    }
}

// ----- the TLA+ counterexample, replayed ----------------------------------------------------------

fn volatile_vote_trace() -> patterns::tla::Trace {
    let path = format!(
        "{}/tests/fixtures/tla/broken-raft-volatile-vote.out",
        env!("CARGO_MANIFEST_DIR")
    );
    let report = patterns::tla::Report::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    report.trace().unwrap().clone()
}

const SERVERS: [(&str, &str); 3] = [("s1", "athens"), ("s2", "byzantium"), ("s3", "cyrene")];

#[test]
fn tla_volatile_vote_counterexample_replays_on_volatile_vote() {
    // BrokenRaftVolatileVote (§5.2, Figure 2's persistent state): s1 wins term 1 with s3's vote,
    // restarts having forgotten its term and vote, votes for s2 in term 1, and s2 wins term 1
    // too. The Rust `volatile-vote` servers follow every step and elect two leaders in term 1 at
    // the model's state 10, ending in its final state.
    let trace = volatile_vote_trace();
    let config = Config::variant("volatile-vote").unwrap();
    let replay = patterns::protocols::raft::replay::replay(&trace, &SERVERS, config).unwrap();
    assert!(replay.steps.iter().all(|s| s.followed), "{replay}");
    assert_eq!(replay.differences(&trace), Vec::<String>::new(), "{replay}");
    let (state, why) = replay.violation().expect("election safety broken");
    assert!(why.starts_with("election safety"), "{why}");
    assert!(*state == 9 || *state == 10, "{replay}");
}

#[test]
fn tla_volatile_vote_counterexample_stays_safe_on_the_correct_raft() {
    // A restarted server that kept its term and vote refuses s2 in term 1: one leader.
    let trace = volatile_vote_trace();
    let replay =
        patterns::protocols::raft::replay::replay(&trace, &SERVERS, Config::default()).unwrap();
    assert!(replay.violations.is_empty(), "{replay}");
    let refused = replay
        .steps
        .iter()
        .find(|s| !s.followed)
        .expect("the correct server does not follow");
    assert_eq!(refused.action, "HandleRequestVote(s1, s2, 1)", "{replay}");
    let unfollowed: Vec<&str> = replay
        .steps
        .iter()
        .filter(|s| !s.followed)
        .map(|s| s.action.as_str())
        .collect();
    assert_eq!(
        unfollowed,
        [
            "HandleRequestVote(s1, s2, 1)",
            "HandleVote(s2, s1)",
            "BecomeLeader(s2)"
        ]
    );
}

#[test]
fn raft_and_multi_paxos_measured_on_one_workload_both_stall_about_an_election_after_a_leader_crash()
{
    // The lesson's comparison: the same clients, network and timing (heartbeats every 8 ticks,
    // election timeouts of 20 to 40) for Raft and Multi-Paxos with heartbeats. Neither serves a
    // new operation before a follower's election timeout has passed.
    use patterns::protocols::multi_paxos::{self, Election, MultiPaxos, Timeouts};
    use patterns::protocols::raft::measure::{efficiency, efficiency_of};
    let raft = efficiency(&Config::default(), 4).unwrap();
    let config = multi_paxos::Config::default().election(Election::Heartbeats {
        interval_ticks: 8,
        timeouts: Timeouts::Random { min: 20, max: 40 },
    });
    let paxos = efficiency_of(
        move |_| MultiPaxos::new(config.clone()),
        MultiPaxos::is_leader,
        4,
    )
    .unwrap();
    eprintln!("raft {raft:?}\nmulti-paxos {paxos:?}");
    for e in [&raft, &paxos] {
        assert!((3.0..60.0).contains(&e.messages_per_operation), "{e:?}");
        assert!(e.unavailability_after_leader_crash_ticks >= 20.0, "{e:?}");
        assert!(e.latency_p50_ticks.is_some(), "{e:?}");
    }
}
