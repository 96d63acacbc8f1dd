//! The lesson's stories as scenarios: each runs against any [`Config`](super::Config), so the correct form and a
//! broken variant can be told the same story and compared (`.play` keeps the run to draw it).

use super::{Ballot, Command, Paxos, PaxosKind, PaxosReply};
use crate::node::ProcessId;
use crate::sim::{Fault, Scenario, ScenarioRun};

/// What the client's latest operation was told was chosen, if it was told anything.
pub fn told(run: &ScenarioRun<Paxos>, client: &str) -> Option<Command> {
    match run.last_reply(client)? {
        PaxosReply::Decided { chosen, .. } => Some(chosen.clone()),
        PaxosReply::Failed { .. } => None,
    }
}

/// Duelling proposers: `alice` asks athens and `bob` asks cyrene at the same tick. Each prepare
/// pre-empts the other's accept request until one proposer's backoff lets the other finish. Both
/// clients are told the same command.
pub fn duelling_proposers() -> Scenario<Paxos> {
    Scenario::new("duelling proposers")
        .start("alice", "athens", Command::set("title", "Microservices"))
        .start(
            "bob",
            "cyrene",
            Command::set("title", "Distributed Systems"),
        )
        .await_op("alice")
        .await_op("bob")
}

/// A new proposer recovers a chosen value: athens gets `v1` accepted by itself and cyrene
/// (chosen), but byzantium hears neither the accept request nor the commit, and athens crashes.
/// `bob` then asks byzantium to set `v2`: cyrene's promise reports `v1`, so byzantium must propose
/// `v1`, and bob is told `v1` was chosen.
pub fn recovery() -> Scenario<Paxos> {
    Scenario::new("a new proposer recovers the chosen value")
        .drop_kind(PaxosKind::Accept, "athens", "byzantium")
        .drop_kind(PaxosKind::Commit, "athens", "byzantium")
        .invoke("alice", "athens", Command::set("x", "v1"))
        .crash("athens")
        .invoke("bob", "byzantium", Command::set("x", "v2"))
}

/// The crash that loses an unsynced promise. athens (ballot 1.0) has byzantium's promise and is
/// about to send its accept request, which the network holds. Meanwhile cyrene asks byzantium to
/// promise 1.2; byzantium's syncs are held, so the promise is written but not synced. Then
/// byzantium crashes and restarts, and athens's accept request for 1.0 arrives.
///
/// An acceptor that answers only after its sync never told cyrene anything: cyrene retries with a
/// higher ballot, finds `v1`, and both clients are told `v1`. One that answers before its sync
/// (`reply-before-persist`) told cyrene it promised 1.2, let cyrene get `v2` chosen, then forgot
/// both and accepts `v1` in 1.0: two values chosen.
pub fn lost_promise() -> Scenario<Paxos> {
    let first = Ballot::new(1, ProcessId(0));
    Scenario::new("a crash loses an unsynced promise")
        .partition(&["athens"], &["cyrene"])
        .start("alice", "athens", Command::set("x", "v1"))
        .await_until(
            "byzantium's promise of 1.0 is on its disk",
            move |run: &ScenarioRun<Paxos>| {
                let promised = run.sim.node("byzantium").map(|b| b.acceptor().promised);
                let synced = run
                    .sim
                    .storage("byzantium")
                    .map(|s| s.unsynced_writes() == 0);
                promised == Ok(Some(first)) && synced == Ok(true)
            },
        )
        .inject(Fault::Hold {
            from: "athens".into(),
            to: "byzantium".into(),
        })
        .inject(Fault::HoldSync {
            node: "byzantium".into(),
        })
        .start("bob", "cyrene", Command::set("x", "v2"))
        .run_for(12)
        .crash("byzantium")
        .restart("byzantium")
        .inject(Fault::Release {
            from: "athens".into(),
            to: "byzantium".into(),
        })
        .await_op("alice")
        .heal_all()
        .await_op("bob")
}

/// A late proposer. athens's accept requests are all dropped, so it burns every ballot it has
/// and gives up, having raised every acceptor's promise to its last round. Then `bob` asks
/// cyrene. With unique ballots cyrene is refused once, jumps past the round it was told of, and
/// wins; with the reference's per-server counters it counts up from 1, is refused every time,
/// and gives up too: a cost with no safety bug behind it.
pub fn late_proposer() -> Scenario<Paxos> {
    let cleared = |to: &str| Fault::ClearDrops {
        from: "athens".into(),
        to: to.into(),
    };
    Scenario::new("a late proposer")
        .drop_kind(PaxosKind::Accept, "athens", "byzantium")
        .drop_kind(PaxosKind::Accept, "athens", "cyrene")
        .start("alice", "athens", Command::set("x", "v1"))
        .await_until("athens gave up", |run: &ScenarioRun<Paxos>| {
            run.sim
                .node("athens")
                .is_ok_and(|a| a.ballots_used() > 0 && a.requests_in_flight() == 0)
        })
        .inject(cleared("byzantium"))
        .inject(cleared("cyrene"))
        .invoke("bob", "cyrene", Command::set("x", "v2"))
}
