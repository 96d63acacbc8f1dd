//! Randomized runs: a nemesis that breaks the network on a seeded schedule, a random client
//! workload, and an explorer that runs many seeds and keeps the first counterexample.
//!
//! A run has two phases, as TigerBeetle's VOPR does: first faults, during which only safety may
//! be judged; then the network heals and every client must finish within a budget (liveness).
//! A failing seed is printed so the run can be replayed exactly.

use super::{Builder, Latency, NodeInit, SimError, Simulation, TraceLevel};
use crate::kv::KvOp;
use crate::node::{Node, Tick};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random faults, one decision per tick, in the spirit of tickloom's fault-injecting runner
/// (spec §1.17), with a delay that really delays (§5.1 item 1).
#[derive(Clone, Debug)]
pub struct Nemesis {
    /// Every this many ticks the network heals completely (0: never).
    pub heal_every_ticks: Tick,
    /// The chance, each tick, of one new fault.
    pub fault_probability: f64,
    /// The longest latency a delay fault sets on a link.
    pub delay_ticks_max: Tick,
    rng: ChaCha8Rng,
    schedule: Vec<(Tick, String)>,
}

impl Nemesis {
    /// The reference runner's defaults: heal every 40 ticks, a fault with probability 0.08 per
    /// tick, delays up to 8 ticks.
    pub fn new(seed: u64) -> Nemesis {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(u64::MAX); // not the simulator's streams
        Nemesis {
            heal_every_ticks: 40,
            fault_probability: 0.08,
            delay_ticks_max: 8,
            rng,
            schedule: Vec::new(),
        }
    }

    /// What the nemesis did, tick by tick.
    pub fn schedule(&self) -> &[(Tick, String)] {
        &self.schedule
    }

    /// Maybe injects one fault among the nodes: isolate one, cut a pair, slow a link, or make a link
    /// lose everything.
    pub fn step<N: Node>(&mut self, sim: &mut Simulation<N>) -> Result<(), SimError> {
        let now = sim.now();
        if self.heal_every_ticks > 0 && now > 0 && now % self.heal_every_ticks == 0 {
            sim.heal_all();
            self.schedule.push((now, "heal all".into()));
            return Ok(());
        }
        if !self.rng.random_bool(self.fault_probability) {
            return Ok(());
        }
        let nodes: Vec<String> = sim.node_names().to_vec();
        if nodes.len() < 2 {
            return Ok(());
        }
        let a = nodes[self.rng.random_range(0..nodes.len())].clone();
        let mut b = nodes[self.rng.random_range(0..nodes.len() - 1)].clone();
        if b == a {
            b = nodes[nodes.len() - 1].clone();
        }
        let fault = match self.rng.random_range(0..4) {
            0 => {
                sim.isolate(&a)?;
                format!("isolate {a}")
            }
            1 => {
                sim.partition(&[&a], &[&b])?;
                format!("partition {a} <-> {b}")
            }
            2 => {
                let ticks = self.rng.random_range(1..=self.delay_ticks_max.max(1));
                sim.set_latency(&a, &b, Some(Latency::Fixed(ticks)))?;
                format!("delay {a} -> {b} by {ticks}")
            }
            _ => {
                sim.set_loss(&a, &b, Some(1.0))?;
                format!("drop {a} -> {b}")
            }
        };
        self.schedule.push((now, fault));
        Ok(())
    }
}

/// Draws the next client operation.
type OperationSource<N> = Box<dyn FnMut(&mut ChaCha8Rng) -> <N as Node>::Operation>;

/// A random client workload: every tick, each idle client starts an operation with some
/// probability, at a random node.
pub struct Workload<N: Node> {
    /// The chance, per tick and idle client, of a new operation (the reference's 0.4).
    pub invoke_probability: f64,
    generate: OperationSource<N>,
    rng: ChaCha8Rng,
}

impl<N: Node> Workload<N> {
    pub fn new(
        seed: u64,
        generate: impl FnMut(&mut ChaCha8Rng) -> N::Operation + 'static,
    ) -> Workload<N> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(u64::MAX - 1);
        Workload {
            invoke_probability: 0.4,
            generate: Box::new(generate),
            rng,
        }
    }

    /// One tick's worth of invocations.
    pub fn step(&mut self, sim: &mut Simulation<N>) -> Result<(), SimError> {
        let clients: Vec<String> = sim.client_names().to_vec();
        let nodes: Vec<String> = sim.node_names().to_vec();
        for client in clients {
            if sim.is_busy(&client)? || !self.rng.random_bool(self.invoke_probability) {
                continue;
            }
            let node = &nodes[self.rng.random_range(0..nodes.len())];
            let op = (self.generate)(&mut self.rng);
            sim.invoke(&client, node, op)?;
        }
        Ok(())
    }
}

/// Runs `ticks` ticks of workload under the nemesis (the safety phase), then heals the network,
/// stops starting operations and lets every client finish within `settle_ticks` (the liveness
/// phase).
pub fn run_random<N: Node>(
    sim: &mut Simulation<N>,
    workload: &mut Workload<N>,
    mut nemesis: Option<&mut Nemesis>,
    ticks: Tick,
    settle_ticks: Tick,
) -> Result<(), SimError> {
    for _ in 0..ticks {
        if let Some(n) = nemesis.as_deref_mut() {
            n.step(sim)?;
        }
        workload.step(sim)?;
        sim.run_for(1);
    }
    sim.heal_all();
    let clients: Vec<String> = sim.client_names().to_vec();
    sim.run_until(settle_ticks, |s| {
        clients.iter().all(|c| !s.is_busy(c).unwrap_or(false))
    })?;
    Ok(())
}

/// What an exploration found.
pub struct Exploration<N: Node> {
    pub runs: u64,
    /// Seeds whose run the judge rejected.
    pub failing_seeds: Vec<u64>,
    /// The first failing run, kept whole so that its diagram and history can be drawn.
    pub counterexample: Option<(u64, Simulation<N>)>,
}

impl<N: Node> Exploration<N> {
    /// The share of runs the judge accepted.
    pub fn pass_rate(&self) -> f64 {
        if self.runs == 0 {
            return 1.0;
        }
        1.0 - self.failing_seeds.len() as f64 / self.runs as f64
    }
}

/// Runs `run(seed)` for every seed and asks `judge` about each run; keeps the first failure.
pub fn explore<N: Node>(
    seeds: impl IntoIterator<Item = u64>,
    mut run: impl FnMut(u64) -> Simulation<N>,
    mut judge: impl FnMut(&Simulation<N>) -> bool,
) -> Exploration<N> {
    let mut exploration = Exploration {
        runs: 0,
        failing_seeds: Vec::new(),
        counterexample: None,
    };
    for seed in seeds {
        let sim = run(seed);
        exploration.runs += 1;
        if !judge(&sim) {
            exploration.failing_seeds.push(seed);
            if exploration.counterexample.is_none() {
                exploration.counterexample = Some((seed, sim));
            }
        }
    }
    exploration
}

/// A seeded random run of any key-value store: three clients (alice, bob, carol) read and write
/// three keys at random nodes, values unique, while a [`Nemesis`] cuts and slows links; then the
/// network heals and the clients finish. The same seed gives the same run.
pub fn random_kv_run<N: Node<Operation = KvOp>>(
    nodes: usize,
    factory: impl FnMut(&NodeInit) -> N + 'static,
    seed: u64,
    ticks: Tick,
) -> Result<Simulation<N>, SimError> {
    let mut sim = Builder::new()
        .nodes((0..nodes).map(node_name))
        .clients(["alice", "bob", "carol"])
        .seed(seed)
        .trace(TraceLevel::Kinds)
        .build(factory)?;
    let mut written = 0u64;
    let mut workload = Workload::new(seed, move |rng| {
        let key = format!("k{}", rng.random_range(0..3));
        if rng.random_bool(0.5) {
            written += 1;
            KvOp::write(&key, &format!("v{written}"))
        } else {
            KvOp::read(&key)
        }
    });
    let mut nemesis = Nemesis::new(seed);
    run_random(&mut sim, &mut workload, Some(&mut nemesis), ticks, 1_000)?;
    Ok(sim)
}

/// Node names for clusters of any size: the reference's, then numbered.
pub fn node_name(index: usize) -> String {
    const NAMES: [&str; 7] = [
        "athens",
        "byzantium",
        "cyrene",
        "delphi",
        "ephesus",
        "sparta",
        "thebes",
    ];
    NAMES
        .get(index)
        .map_or_else(|| format!("node-{index}"), |n| n.to_string())
}
