//! Coroutines in the simulator: a coordinator written as `async` code runs on the host's
//! deterministic executor, with the node's own correlation ids, deadlines and quorums.

use patterns::message_kinds;
use patterns::node::{
    AsyncContext, Context, Correlation, Node, ProcessId, Quorum, QuorumState, RequestId, Shared,
};
use patterns::protocols::echo::Echo;
use patterns::sim::{Builder, Latency, Outcome, Simulation, TraceEvent};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Poll {
    Ask { correlation: Correlation },
    Answer { correlation: Correlation, yes: bool },
}

message_kinds!(Poll => PollKind { Ask, Answer });

/// What the coordinator does after the quorum: nothing more, sync a write, or sleep.
#[derive(Copy, Clone, Debug)]
enum Then {
    Reply,
    SyncThenReply,
    SleepThenReply(u64),
}

/// Asks every node (itself included) and answers the client with the quorum's outcome.
struct Poller {
    then: Then,
    /// How many coordinations this life finished: state shared with the coroutines.
    finished: Shared<u64>,
}

impl Poller {
    fn new(then: Then) -> Poller {
        Poller {
            then,
            finished: Shared::new(0),
        }
    }
}

const ROUND_TICKS: u64 = 20;

async fn coordinate(
    io: AsyncContext<Poller>,
    then: Then,
    finished: Shared<u64>,
    request: RequestId,
) {
    let quorum = io
        .request(io.cluster(), ROUND_TICKS, |correlation| Poll::Ask {
            correlation,
        })
        .quorum(Quorum::majority(io.cluster_size()), |reply| {
            matches!(reply, Poll::Answer { yes: true, .. })
        })
        .await;
    let outcome = match quorum.state() {
        QuorumState::Reached => format!("yes from {}", quorum.accepted().len()),
        QuorumState::Impossible => "no".to_string(),
        QuorumState::Waiting => "expired".to_string(),
    };
    match then {
        Then::Reply => {}
        Then::SyncThenReply => {
            io.write(|storage| storage.put("decision", b"yes".to_vec()));
            io.sync().await;
        }
        Then::SleepThenReply(ticks) => io.sleep(ticks).await,
    }
    finished.with_mut(|n| *n += 1);
    io.reply(request, format!("{outcome} at {}", io.now()));
}

impl Node for Poller {
    type Message = Poll;
    type Timer = ();
    type Operation = Echo;

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: ProcessId, message: Poll) {
        match message {
            Poll::Ask { correlation } => ctx.send(
                from,
                Poll::Answer {
                    correlation,
                    yes: true,
                },
            ),
            Poll::Answer { correlation, .. } => {
                if !ctx.resume(correlation, from, message) {
                    ctx.annotate(format!("late answer {correlation}"));
                }
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, _: Echo) {
        let (then, finished) = (self.then, self.finished.handle());
        ctx.spawn(move |io| coordinate(io, then, finished, request));
    }
}

fn cluster(then: Then, seed: u64) -> Simulation<Poller> {
    Builder::new()
        .seed(seed)
        .latency(Latency::Uniform { min: 1, max: 4 })
        .sync_latency_ticks(3)
        .build(move |_| Poller::new(then))
        .unwrap()
}

fn ask(sim: &mut Simulation<Poller>, client: &str, node: &str) -> Outcome<String> {
    sim.call(client, node, Echo::new("poll"), 200)
        .unwrap()
        .clone()
}

#[test]
fn coroutine_quorum_reached_answers_after_the_majority_th_reply() {
    // A coordinator written as straight-line code waits for a majority of "yes", then answers.
    let mut sim = cluster(Then::Reply, 1);
    let Outcome::Replied { reply, .. } = ask(&mut sim, "alice", "athens") else {
        panic!("no reply")
    };
    assert!(reply.starts_with("yes from 2"), "{reply}");
    assert_eq!(sim.node("athens").unwrap().finished.with(|n| *n), 1);
}

#[test]
fn coroutine_round_expires_at_its_pending_deadline_when_peers_are_cut_off() {
    // Isolated, the coordinator hears only itself: the round's deadline (a Pending entry, a
    // runtime timer) closes it and the coroutine goes on.
    let mut sim = cluster(Then::Reply, 2);
    sim.partition(&["athens"], &["byzantium", "cyrene"])
        .unwrap();
    let Outcome::Replied { reply, tick } = ask(&mut sim, "alice", "athens") else {
        panic!("the client's own deadline is later than the round's")
    };
    assert!(reply.starts_with("expired"), "{reply}");
    assert!(tick >= ROUND_TICKS, "answered at {tick}");
}

#[test]
fn coroutine_sync_waits_for_the_durable_write_and_sleep_for_its_ticks() {
    let mut sim = cluster(Then::SyncThenReply, 3);
    let Outcome::Replied { reply, .. } = ask(&mut sim, "alice", "athens") else {
        panic!("no reply")
    };
    assert_eq!(
        sim.storage("athens").unwrap().durable_values().count(),
        1,
        "replied only once the decision was on disk: {reply}"
    );
    let mut sim = cluster(Then::SleepThenReply(50), 3);
    let Outcome::Replied { tick, .. } = ask(&mut sim, "alice", "athens") else {
        panic!("no reply")
    };
    assert!(tick >= 50, "slept 50 ticks, answered at {tick}");
}

#[test]
fn coroutine_finished_round_cancels_its_deadline_and_late_replies_find_nothing() {
    // The third answer arrives after the quorum was reached and the round was dropped.
    let mut sim = cluster(Then::Reply, 4);
    ask(&mut sim, "alice", "athens");
    sim.run_until_quiet(500).unwrap();
    let events = &sim.trace().events;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, TraceEvent::Timer { timer, .. } if timer.starts_with("deadline"))),
        "no deadline fired"
    );
    assert!(
        events.iter().any(
            |e| matches!(e, TraceEvent::Annotate { text, .. } if text.starts_with("late answer"))
        ),
        "the third answer was late"
    );
}

#[test]
fn coroutine_dies_with_a_crash_and_the_restarted_node_serves_again() {
    let mut sim = cluster(Then::SleepThenReply(30), 5);
    let op = sim.invoke("alice", "athens", Echo::new("poll")).unwrap();
    sim.run_for(10);
    sim.crash("athens").unwrap();
    sim.restart("athens").unwrap();
    assert!(matches!(
        sim.run_until_done(op, 300).unwrap(),
        Outcome::TimedOut { .. }
    ));
    assert_eq!(sim.node("athens").unwrap().finished.with(|n| *n), 0);
    assert!(matches!(
        ask(&mut sim, "bob", "athens"),
        Outcome::Replied { .. }
    ));
}

#[test]
fn coroutine_runs_are_deterministic() {
    let run = |seed| {
        let mut sim = cluster(Then::SyncThenReply, seed);
        for i in 0..20 {
            let (client, node) = (["alice", "bob"][i % 2], ["athens", "cyrene"][i % 2]);
            sim.invoke(client, node, Echo::new("poll")).unwrap();
            sim.run_for(3);
            if i == 7 {
                sim.crash("byzantium").unwrap();
            }
            if i == 12 {
                sim.restart("byzantium").unwrap();
            }
            let _ = sim.run_until(200, |s| !s.any_client_busy());
        }
        (sim.history().clone(), sim.trace().stable_hash())
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9).1, run(10).1, "the seed matters");
}
