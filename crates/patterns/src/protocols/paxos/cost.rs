//! What one decision costs when several proposers compete for it: *duelling proposers* (Paxos
//! Made Simple §2.4). Each proposer's prepare can pre-empt another's accept, so the more of them
//! start at once, the more ballots and messages a decision takes; random backoff is what lets one
//! of them finish.

use super::{Command, Config, Paxos, PaxosReply};
use crate::node::{Node, NodeInit, ReplyOf, Tick};
use crate::sim::{Builder, Latency, SimError, TraceEvent, TraceLevel, node_name};

/// What one contest cost.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Duel {
    pub proposers: usize,
    /// Messages between servers: client requests and replies, and a node's messages to itself,
    /// are left out.
    pub messages: u64,
    /// Ballots all proposers used together.
    pub ballots: u64,
    /// Ticks until the last client had its answer.
    pub ticks: Tick,
    /// Clients answered with a failure instead of the decision.
    pub failures: usize,
}

/// `operations.len()` clients each send their operation at tick 0 to a different node (round
/// robin over the builder's nodes), and the run goes on until every client has its answer.
/// `ballots` reads how many ballots a node used; `failed` says whether a reply is a failure.
pub fn duel_with<N: Node + 'static>(
    builder: Builder,
    factory: impl Fn(&NodeInit) -> N + 'static,
    operations: Vec<N::Operation>,
    ballots: fn(&N) -> u64,
    failed: fn(&ReplyOf<N>) -> bool,
) -> Result<Duel, SimError> {
    let clients: Vec<String> = (1..=operations.len())
        .map(|i| format!("client{i}"))
        .collect();
    let mut sim = builder
        .clients(clients.clone())
        .trace(TraceLevel::Kinds)
        .build(factory)?;
    let nodes = sim.node_names().to_vec();
    let mut handles = Vec::new();
    for (i, op) in operations.into_iter().enumerate() {
        handles.push(sim.invoke(&clients[i], &nodes[i % nodes.len()], op)?);
    }
    let ticks = sim.run_until(10_000, |s| !s.any_client_busy())?;
    let servers = nodes.len();
    let messages = sim
        .trace()
        .events
        .iter()
        .filter(|e| {
            matches!(e, TraceEvent::Send { from, to, .. }
                if from.index() < servers && to.index() < servers && from != to)
        })
        .count() as u64;
    let failures = handles
        .iter()
        .filter(|&&h| sim.reply(h).is_none_or(failed))
        .count();
    Ok(Duel {
        proposers: handles.len(),
        messages,
        ballots: sim.nodes().flatten().map(ballots).sum(),
        ticks,
        failures,
    })
}

/// `proposers` clients propose different commands at once, each through its own node of a
/// `nodes`-node Paxos cluster (latencies of 1–4 ticks drawn from `seed`).
pub fn duel(config: Config, nodes: usize, proposers: usize, seed: u64) -> Result<Duel, SimError> {
    let builder = Builder::new()
        .nodes((0..nodes).map(node_name))
        .latency(Latency::Uniform { min: 1, max: 4 })
        .client_timeout_ticks(2_000)
        .seed(seed);
    let commands = (1..=proposers)
        .map(|i| Command::set("x", &format!("v{i}")))
        .collect();
    duel_with(
        builder,
        move |_| Paxos::new(config.clone()),
        commands,
        Paxos::ballots_used,
        |reply| matches!(reply, PaxosReply::Failed { .. }),
    )
}
