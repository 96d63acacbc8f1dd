//! What Raft costs, measured on the simulator: how long an election takes for a given timeout range
//! (the paper's Figure 16), and messages, latency and unavailability on a steady workload.

use super::explore::{Explorer, WORKLOAD};
use super::figures::current_leader;
use super::{Config, Raft};
use crate::explore::{Explorable, Operations, Stats};
use crate::history::EventType;
use crate::node::{Node, NodeInit, Tick};
use crate::protocols::kv::KvOp;
use crate::sim::{
    Builder, Fault, Latency, RandomRun, RunPlan, SimError, Simulation, TraceLevel, node_name,
};

/// How an election went.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Election {
    /// Ticks from the leader's crash until a new leader was elected; `None` if none was within
    /// the budget.
    pub ticks: Option<Tick>,
    /// Terms it took: 1 when the first candidate won, more after split votes.
    pub terms: u64,
}

/// Ticks a cluster gets to elect its first leader, and then a new one.
pub const ELECTION_BUDGET_TICKS: Tick = 1_000;

/// Five servers with messages of 1–3 ticks elect a leader; the leader crashes; how long until
/// the next one? (The paper's Figure 16 measures the same on real servers.) `Err` only if the
/// cluster cannot be built; a first election that never ends gives `ticks: None`.
pub fn election_after_leader_crash(config: &Config, seed: u64) -> Result<Election, SimError> {
    let config = config.clone();
    let mut sim = Builder::new()
        .nodes((0..5).map(node_name))
        .clients(Vec::<String>::new())
        .seed(seed)
        .latency(Latency::Uniform { min: 1, max: 3 })
        .trace(TraceLevel::Off)
        .build(move |_| Raft::new(config.clone()))?;
    let failed = Election {
        ticks: None,
        terms: 0,
    };
    if sim
        .run_until(ELECTION_BUDGET_TICKS, |s| current_leader(s).is_some())
        .is_err()
    {
        return Ok(failed);
    }
    // Let the followers settle into the leader's heartbeats.
    sim.run_for(50);
    let Some(leader) = current_leader(&sim) else {
        return Ok(failed);
    };
    let term = sim.node(&leader)?.current_term();
    sim.inject(Fault::crash(&leader))?;
    let crashed_at = sim.now();
    let elected = sim.run_until(ELECTION_BUDGET_TICKS, |s| {
        current_leader(s).is_some_and(|l| l != leader)
    });
    let terms = highest_term(&sim).saturating_sub(term);
    Ok(Election {
        ticks: elected.ok().map(|at| at - crashed_at),
        terms,
    })
}

fn highest_term(sim: &Simulation<Raft>) -> u64 {
    sim.running_nodes()
        .map(|(_, n)| n.current_term())
        .max()
        .unwrap_or(0)
}

/// The cost of a protocol on the explorer's workload without faults, and its unavailability when
/// the leader crashes.
#[derive(Clone, Debug, PartialEq)]
pub struct Efficiency {
    /// Operations completed `:ok` over the fault-free runs (clients send their next operation
    /// when the last one ends, so more is faster; a request refused at once is not counted).
    pub operations_completed: u64,
    /// Messages sent (client requests and replies, heartbeats and a leader's acknowledgements to
    /// itself included) per operation completed `:ok`.
    pub messages_per_operation: f64,
    pub latency_p50_ticks: Option<Tick>,
    pub latency_p99_ticks: Option<Tick>,
    /// Mean ticks from the leader's crash until the first operation invoked after it completes.
    pub unavailability_after_leader_crash_ticks: f64,
}

/// Measures Raft configured as `config` over `seeds` runs of the explorer's workload (four clients
/// at random servers, 300 ticks), without faults; then again with the leader crashed at tick 150.
pub fn efficiency(config: &Config, seeds: u64) -> Result<Efficiency, SimError> {
    let config = config.clone();
    efficiency_of(move |_| Raft::new(config.clone()), Raft::is_leader, seeds)
}

/// [`efficiency`] for any leader-based key-value protocol, on the same workload and network as
/// Raft's (so that a lesson can set Raft and Multi-Paxos side by side): `leads` says whether a
/// server believes it leads; the crash at tick 150 takes the one that does, if exactly one does.
pub fn efficiency_of<N: Node<Operation = KvOp> + 'static>(
    factory: impl Fn(&NodeInit) -> N + Clone + 'static,
    leads: fn(&N) -> bool,
    seeds: u64,
) -> Result<Efficiency, SimError> {
    let explorer = Explorer;
    let variant = explorer.variants().remove(0);
    let plan = RunPlan {
        ticks: 300,
        settle_ticks: 1_000,
        nemesis: None,
    };
    let mut stats = Stats::default();
    let mut outages = Vec::new();
    for seed in 0..seeds {
        let build = || {
            explorer
                .builder(&variant)
                .seed(seed)
                .trace(TraceLevel::Off)
                .build(factory.clone())
        };
        let operations = || -> Operations<N> { Box::new(WORKLOAD.generator()) };
        let mut run = RandomRun::new(build()?, operations(), plan.clone());
        run.finish()?;
        stats.add(&run);

        let mut run = RandomRun::new(build()?, operations(), plan.clone());
        run.run_to(150)?;
        let leaders: Vec<String> = run
            .sim
            .running_nodes()
            .filter(|(_, n)| leads(n))
            .map(|(name, _)| name.to_string())
            .collect();
        if let [leader] = leaders.as_slice() {
            run.sim.inject(Fault::crash(leader))?;
            let crashed_at = run.sim.now();
            run.finish()?;
            let events = &run.sim.history().events;
            let recovered = events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.kind == EventType::Ok)
                .filter_map(|(k, e)| {
                    let invoked = events[..k]
                        .iter()
                        .rev()
                        .find(|i| i.kind == EventType::Invoke && i.process == e.process)?;
                    (invoked.time? >= crashed_at).then_some(e.time?)
                })
                .min();
            if let Some(at) = recovered {
                outages.push((at - crashed_at) as f64);
            }
        }
    }
    let summary = stats.summary();
    Ok(Efficiency {
        operations_completed: summary.completed_operations,
        messages_per_operation: summary.messages_per_operation,
        latency_p50_ticks: summary.latency_p50_ticks,
        latency_p99_ticks: summary.latency_p99_ticks,
        unavailability_after_leader_crash_ticks: if outages.is_empty() {
            f64::NAN
        } else {
            outages.iter().sum::<f64>() / outages.len() as f64
        },
    })
}
