//! What one operation costs as the log grows: the messages servers send each other while it runs.
//!
//! A Paxos log that walks every request from index 1 runs both phases again at every index it
//! passes (spec §5.2 item 8): its cost grows with the log. Starting at the first index not known
//! chosen makes it constant, and Multi-Paxos' stable leader halves it again (no prepare per
//! entry): [`crate::protocols::multi_paxos::cost`] puts the three side by side.

use super::{Config, PaxosLog};
use crate::node::{Node, NodeInit};
use crate::protocols::kv::KvOp;
use crate::sim::{Builder, SimError, Simulation, TraceEvent, TraceLevel};

/// Messages between servers in `sim`'s trace from event `from` on (client requests and replies,
/// and a node's messages to itself, left out), and where the trace ends now.
pub fn server_messages<N: Node>(sim: &Simulation<N>, from: usize) -> (u64, usize) {
    let servers = sim.node_names().len();
    let events = &sim.trace().events;
    let count = events[from.min(events.len())..]
        .iter()
        .filter(|e| {
            matches!(e, TraceEvent::Send { from, to, .. }
                if from.index() < servers && to.index() < servers && from != to)
        })
        .count() as u64;
    (count, events.len())
}

/// `operations` writes in a row by one client (`alice`) through node `node` of `sim`, each waited
/// for; the server messages each one cost. `sim` must trace at least message kinds.
pub fn messages_per_operation<N: Node<Operation = KvOp>>(
    sim: &mut Simulation<N>,
    node: &str,
    operations: usize,
) -> Result<Vec<u64>, SimError> {
    let (_, mut mark) = server_messages(sim, 0);
    let mut costs = Vec::with_capacity(operations);
    for i in 0..operations {
        let op = KvOp::write(&format!("k{}", i % 3), &format!("v{i}"));
        sim.call("alice", node, op, 1_000)?;
        let (count, end) = server_messages(sim, mark);
        costs.push(count);
        mark = end;
    }
    Ok(costs)
}

/// A three-node cluster of `factory`'s nodes, tracing message kinds, latency 1.
pub fn quiet_cluster<N: Node + 'static>(
    factory: impl Fn(&NodeInit) -> N + 'static,
) -> Result<Simulation<N>, SimError> {
    Builder::new()
        .clients(["alice"])
        .trace(TraceLevel::Kinds)
        .client_timeout_ticks(1_000)
        .build(factory)
}

/// The messages each of `operations` writes in a row costs a Paxos log of `config`, the log
/// growing by one entry per write.
pub fn paxos_log_costs(config: Config, operations: usize) -> Result<Vec<u64>, SimError> {
    let mut sim = quiet_cluster(move |_| PaxosLog::new(config.clone()))?;
    messages_per_operation(&mut sim, "athens", operations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::paxos_log::Start;

    #[test]
    fn walking_from_the_start_costs_more_with_every_entry_and_the_fix_costs_the_same() {
        let walk = paxos_log_costs(Config::default().start(Start::Beginning), 6).unwrap();
        let fixed = paxos_log_costs(Config::default(), 6).unwrap();
        // One round: prepare, promise, accept, accepted to and from 2 peers, and 2 commits.
        assert!(fixed.iter().all(|&m| m == fixed[0]), "{fixed:?}");
        assert_eq!(fixed[0], 10);
        assert_eq!(walk[0], fixed[0], "an empty log: the same single round");
        for pair in walk.windows(2) {
            assert_eq!(
                pair[1] - pair[0],
                10,
                "one more round per entry passed: {walk:?}"
            );
        }
    }
}
