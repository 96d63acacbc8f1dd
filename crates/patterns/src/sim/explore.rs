//! Randomized runs: a nemesis that injects faults on a seeded schedule, a random client workload,
//! and an explorer that runs many seeds and keeps the first counterexample.
//!
//! A run has two phases, as TigerBeetle's VOPR does: first faults, during which only safety may
//! be judged; then everything heals (links, crashed nodes, clocks) and every client must finish
//! within a budget (liveness). Both the nemesis and the workload draw from the run's own seed
//! ([`super::Stream`]), so a failing seed replays exactly, and a run can be stopped at any tick
//! ([`RandomRun::run_to`]) to look at the cluster or fork it.

use super::{Fault, Latency, SimError, Simulation, Stream};
use crate::node::{Node, NodeStatus, Tick};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Which faults a nemesis injects, and how often. A protocol's correct form faces only the faults
/// it claims to tolerate; a broken variant names the claim it breaks.
#[derive(Clone, Debug, PartialEq)]
pub struct NemesisConfig {
    /// The chance, each tick, of one new fault.
    pub fault_probability: f64,
    /// Every this many ticks the network heals completely (0: never).
    pub heal_every_ticks: Tick,
    /// Isolate a node, or cut a pair of nodes apart.
    pub partitions: bool,
    /// Slow a link down to at most `delay_ticks_max` ticks.
    pub delays: bool,
    pub delay_ticks_max: Tick,
    /// Make a link lose everything.
    pub losses: bool,
    /// Make a link deliver everything twice.
    pub duplication: bool,
    /// Crash a node, losing its unsynced writes (the oldest one torn half the time), and restart
    /// it after `restart_after_ticks` (a range).
    pub crashes: bool,
    pub restart_after_ticks: (Tick, Tick),
    /// Skew a node's clock by up to this many milliseconds either way (0: never).
    pub clock_skew_millis_max: i64,
}

impl Default for NemesisConfig {
    /// The reference runner's nemesis (spec §1.17): isolate, partition a pair, delay a link by
    /// 1–8 ticks, or drop a link, with probability 0.08 a tick; heal everything every 40 ticks.
    fn default() -> Self {
        NemesisConfig {
            fault_probability: 0.08,
            heal_every_ticks: 40,
            partitions: true,
            delays: true,
            delay_ticks_max: 8,
            losses: true,
            duplication: false,
            crashes: false,
            restart_after_ticks: (5, 40),
            clock_skew_millis_max: 0,
        }
    }
}

impl NemesisConfig {
    /// Every fault the bench knows: the reference's, plus duplication, crashes and restarts that
    /// lose unsynced writes, and clock skew of up to 200 ms.
    pub fn everything() -> NemesisConfig {
        NemesisConfig {
            duplication: true,
            crashes: true,
            clock_skew_millis_max: 200,
            ..NemesisConfig::default()
        }
    }

    /// No faults at all.
    pub fn none() -> NemesisConfig {
        NemesisConfig {
            fault_probability: 0.0,
            heal_every_ticks: 0,
            partitions: false,
            delays: false,
            losses: false,
            duplication: false,
            crashes: false,
            clock_skew_millis_max: 0,
            ..NemesisConfig::default()
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Choice {
    Isolate,
    Partition,
    Delay,
    Drop,
    Duplicate,
    Crash,
    Skew,
}

/// Random faults, one decision per tick, in the spirit of tickloom's fault-injecting runner
/// (spec §1.17), with a delay that really delays (§5.1 item 1), and crashes and clock skew.
#[derive(Clone, Debug)]
pub struct Nemesis {
    pub config: NemesisConfig,
    rng: ChaCha8Rng,
    /// Crashed nodes and the tick they restart at.
    restarts: Vec<(Tick, String)>,
    schedule: Vec<(Tick, Fault)>,
}

impl Nemesis {
    /// A nemesis drawing from `sim`'s seed.
    pub fn new<N: Node>(sim: &Simulation<N>, config: NemesisConfig) -> Nemesis {
        Nemesis {
            config,
            rng: Stream::Nemesis.rng(sim.seed()),
            restarts: Vec::new(),
            schedule: Vec::new(),
        }
    }

    /// What the nemesis did, tick by tick.
    pub fn schedule(&self) -> &[(Tick, Fault)] {
        &self.schedule
    }

    fn choices(&self) -> Vec<Choice> {
        let c = &self.config;
        let mut choices = Vec::new();
        if c.partitions {
            choices.extend([Choice::Isolate, Choice::Partition]);
        }
        if c.delays {
            choices.push(Choice::Delay);
        }
        if c.losses {
            choices.push(Choice::Drop);
        }
        if c.duplication {
            choices.push(Choice::Duplicate);
        }
        if c.crashes {
            choices.push(Choice::Crash);
        }
        if c.clock_skew_millis_max > 0 {
            choices.push(Choice::Skew);
        }
        choices
    }

    fn inject<N: Node>(&mut self, sim: &mut Simulation<N>, fault: Fault) -> Result<(), SimError> {
        sim.inject(fault.clone())?;
        self.schedule.push((sim.now(), fault));
        Ok(())
    }

    /// Maybe injects one fault among the nodes; restarts crashed nodes whose time has come.
    pub fn step<N: Node>(&mut self, sim: &mut Simulation<N>) -> Result<(), SimError> {
        let now = sim.now();
        let due: Vec<String> = self
            .restarts
            .iter()
            .filter(|(at, _)| *at <= now)
            .map(|(_, n)| n.clone())
            .collect();
        self.restarts.retain(|(at, _)| *at > now);
        for node in due {
            let torn = self.rng.random_bool(0.5);
            self.inject(sim, Fault::Restart { node, torn })?;
        }
        let heal = self.config.heal_every_ticks;
        if heal > 0 && now > 0 && now % heal == 0 {
            return self.inject(sim, Fault::HealAll);
        }
        if self.config.fault_probability <= 0.0
            || !self.rng.random_bool(self.config.fault_probability)
        {
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
        let choices = self.choices();
        if choices.is_empty() {
            return Ok(());
        }
        let fault = match choices[self.rng.random_range(0..choices.len())] {
            Choice::Isolate => Fault::isolate(&a),
            Choice::Partition => Fault::partition(&[&a], &[&b]),
            Choice::Delay => {
                let ticks = self
                    .rng
                    .random_range(1..=self.config.delay_ticks_max.max(1));
                Fault::latency(&a, &b, Some(Latency::Fixed(ticks)))
            }
            Choice::Drop => Fault::loss(&a, &b, Some(1.0)),
            Choice::Duplicate => Fault::Duplication {
                from: a,
                to: b,
                probability: Some(1.0),
            },
            Choice::Crash => {
                if sim.status(&a)? == NodeStatus::Crashed {
                    return Ok(());
                }
                let (lo, hi) = self.config.restart_after_ticks;
                let after = self.rng.random_range(lo.max(1)..=hi.max(lo.max(1)));
                self.restarts.push((now + after, a.clone()));
                Fault::crash(&a)
            }
            Choice::Skew => {
                let max = self.config.clock_skew_millis_max;
                Fault::skew_clock(&a, self.rng.random_range(-max..=max))
            }
        };
        self.inject(sim, fault)
    }

    /// The start of the liveness phase: see [`heal_everything`].
    pub fn heal_everything<N: Node>(&mut self, sim: &mut Simulation<N>) -> Result<(), SimError> {
        self.restarts.clear();
        let healed = heal_everything(sim)?;
        self.schedule.extend(healed);
        Ok(())
    }
}

/// The start of the liveness phase: every link healed, every crashed node restarted, every
/// paused node resumed, every held sync completed, every clock put right. Returns what it did.
pub fn heal_everything<N: Node>(sim: &mut Simulation<N>) -> Result<Vec<(Tick, Fault)>, SimError> {
    let mut done = vec![(sim.now(), Fault::HealAll)];
    sim.inject(Fault::HealAll)?;
    let nodes: Vec<String> = sim.node_names().to_vec();
    for node in nodes {
        let mut repairs = Vec::new();
        match sim.status(&node)? {
            NodeStatus::Crashed => repairs.push(Fault::restart(&node)),
            NodeStatus::Paused => repairs.push(Fault::Resume { node: node.clone() }),
            NodeStatus::Up => {}
        }
        if sim.syncs_held(&node)? {
            repairs.push(Fault::CompleteSync { node: node.clone() });
        }
        if sim.clock_is_skewed(&node)? {
            repairs.push(Fault::ResetClock { node });
        }
        for fault in repairs {
            sim.inject(fault.clone())?;
            done.push((sim.now(), fault));
        }
    }
    Ok(done)
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
    invocations: Vec<Invocation<N::Operation>>,
}

/// One operation a client started: enough to start it again in a scripted replay.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation<Op> {
    pub tick: Tick,
    pub client: String,
    pub node: String,
    pub operation: Op,
}

impl<N: Node> Workload<N> {
    /// A workload drawing from `sim`'s seed.
    pub fn new(
        sim: &Simulation<N>,
        generate: impl FnMut(&mut ChaCha8Rng) -> N::Operation + 'static,
    ) -> Workload<N> {
        Workload {
            invoke_probability: 0.4,
            generate: Box::new(generate),
            rng: Stream::Workload.rng(sim.seed()),
            invocations: Vec::new(),
        }
    }

    /// What the workload started, in order.
    pub fn invocations(&self) -> &[Invocation<N::Operation>] {
        &self.invocations
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
            sim.invoke(&client, node, op.clone())?;
            self.invocations.push(Invocation {
                tick: sim.now(),
                client,
                node: node.clone(),
                operation: op,
            });
        }
        Ok(())
    }
}

/// Where a run's operations and faults come from: drawn at random from the seed, or replayed
/// from a script (a recorded run, perhaps with some operations or faults taken out).
enum Source<N: Node> {
    Random {
        workload: Box<Workload<N>>,
        nemesis: Option<Box<Nemesis>>,
    },
    Script {
        invocations: Vec<Invocation<N::Operation>>,
        faults: Vec<(Tick, Fault)>,
        next_invocation: usize,
        next_fault: usize,
        /// What the replay actually did (an invocation whose client is still busy is skipped).
        done_invocations: Vec<Invocation<N::Operation>>,
        done_faults: Vec<(Tick, Fault)>,
    },
}

/// The shape of a random run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunPlan {
    /// Ticks of workload under the nemesis (the safety phase).
    pub ticks: Tick,
    /// After the heal, every client must finish within this many ticks (the liveness phase).
    pub settle_ticks: Tick,
    /// The faults of the safety phase; `None` runs without faults.
    pub nemesis: Option<NemesisConfig>,
}

impl Default for RunPlan {
    fn default() -> Self {
        RunPlan {
            ticks: 300,
            settle_ticks: 1_000,
            nemesis: Some(NemesisConfig::default()),
        }
    }
}

/// What an invariant observer says when the cluster's state breaks a rule.
pub type Violation = String;

/// Looks at the cluster after every event; keeps whatever ghost state it needs across events
/// (for example every value ever chosen, to check that none changes).
pub type Observer<N> = Box<dyn FnMut(&Simulation<N>) -> Result<(), Violation>>;

/// A random run in progress: the simulation, its workload and its nemesis, advanced tick by tick.
pub struct RandomRun<N: Node> {
    pub sim: Simulation<N>,
    source: Source<N>,
    pub plan: RunPlan,
    observer: Option<Observer<N>>,
    violation: Option<(Tick, Violation)>,
    healed: Vec<(Tick, Fault)>,
}

impl<N: Node> RandomRun<N> {
    /// A run whose operations and faults are drawn from `sim`'s seed.
    pub fn new(
        sim: Simulation<N>,
        generate: impl FnMut(&mut ChaCha8Rng) -> N::Operation + 'static,
        plan: RunPlan,
    ) -> RandomRun<N> {
        let workload = Box::new(Workload::new(&sim, generate));
        let nemesis = plan
            .nemesis
            .clone()
            .map(|c| Box::new(Nemesis::new(&sim, c)));
        RandomRun {
            sim,
            source: Source::Random { workload, nemesis },
            plan,
            observer: None,
            violation: None,
            healed: Vec::new(),
        }
    }

    /// A run that replays these operations and faults at their ticks instead of drawing them.
    /// Replaying what a random run did, on the same seed, repeats it event for event: the
    /// network and the nodes draw from their own streams.
    pub fn scripted(
        sim: Simulation<N>,
        invocations: Vec<Invocation<N::Operation>>,
        faults: Vec<(Tick, Fault)>,
        plan: RunPlan,
    ) -> RandomRun<N> {
        RandomRun {
            sim,
            source: Source::Script {
                invocations,
                faults,
                next_invocation: 0,
                next_fault: 0,
                done_invocations: Vec::new(),
                done_faults: Vec::new(),
            },
            plan,
            observer: None,
            violation: None,
            healed: Vec::new(),
        }
    }

    /// A copy of a scripted run at this instant (a replayed counterexample, say), to try another
    /// fault from here: the copy and the original then go their own ways. The copy has no
    /// invariant observer. A run drawing at random cannot be copied (its workload is a closure);
    /// fork its simulation instead ([`Simulation::fork`]).
    pub fn fork(&self) -> Option<RandomRun<N>>
    where
        N: Clone,
    {
        let Source::Script {
            invocations,
            faults,
            next_invocation,
            next_fault,
            done_invocations,
            done_faults,
        } = &self.source
        else {
            return None;
        };
        Some(RandomRun {
            sim: self.sim.fork(),
            source: Source::Script {
                invocations: invocations.clone(),
                faults: faults.clone(),
                next_invocation: *next_invocation,
                next_fault: *next_fault,
                done_invocations: done_invocations.clone(),
                done_faults: done_faults.clone(),
            },
            plan: self.plan.clone(),
            observer: None,
            violation: self.violation.clone(),
            healed: self.healed.clone(),
        })
    }

    /// Takes out the faults of a scripted run that have not happened yet and match `unwanted`;
    /// returns how many it took out. (A random run draws its faults as it goes: nothing to take.)
    pub fn skip_faults(&mut self, unwanted: impl Fn(&Fault) -> bool) -> usize {
        let Source::Script {
            faults, next_fault, ..
        } = &mut self.source
        else {
            return 0;
        };
        let before = faults.len();
        let mut index = 0;
        faults.retain(|(_, fault)| {
            let keep = index < *next_fault || !unwanted(fault);
            index += 1;
            keep
        });
        before - faults.len()
    }

    /// Checks the cluster after every event; the run stops at the first violation.
    pub fn observe(
        mut self,
        observer: impl FnMut(&Simulation<N>) -> Result<(), Violation> + 'static,
    ) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// The first invariant violation, with its tick.
    pub fn violation(&self) -> Option<&(Tick, Violation)> {
        self.violation.as_ref()
    }

    /// The operations the run started, in order (what a scripted replay needs).
    pub fn invocations(&self) -> &[Invocation<N::Operation>] {
        match &self.source {
            Source::Random { workload, .. } => workload.invocations(),
            Source::Script {
                done_invocations, ..
            } => done_invocations,
        }
    }

    /// The faults of the safety phase, in order (what a scripted replay needs).
    pub fn faults(&self) -> Vec<(Tick, Fault)> {
        let all: &[(Tick, Fault)] = match &self.source {
            Source::Random { nemesis, .. } => nemesis.as_ref().map_or(&[], |n| n.schedule()),
            Source::Script { done_faults, .. } => done_faults,
        };
        all.iter()
            .filter(|(t, _)| *t < self.plan.ticks)
            .cloned()
            .collect()
    }

    /// Every fault of the run, the heal that starts the liveness phase included.
    pub fn schedule(&self) -> Vec<(Tick, Fault)> {
        let mut all = self.faults();
        all.extend(self.healed.iter().cloned());
        all
    }

    /// Runs the events up to and including `end`, checking the observer after each.
    fn run_events_until(&mut self, end: Tick) {
        while self.violation.is_none() && self.sim.next_event_tick().is_some_and(|t| t <= end) {
            self.sim.step();
            if let Some(observer) = self.observer.as_mut() {
                if let Err(why) = observer(&self.sim) {
                    self.violation = Some((self.sim.now(), why));
                }
            }
        }
        if self.violation.is_none() {
            self.sim.run_for(end.saturating_sub(self.sim.now()));
        }
    }

    /// This tick's faults and operations.
    fn inject_tick(&mut self) -> Result<(), SimError> {
        let now = self.sim.now();
        match &mut self.source {
            Source::Random { workload, nemesis } => {
                if let Some(n) = nemesis.as_mut() {
                    n.step(&mut self.sim)?;
                }
                workload.step(&mut self.sim)
            }
            Source::Script {
                invocations,
                faults,
                next_invocation,
                next_fault,
                done_invocations,
                done_faults,
            } => {
                while let Some((tick, fault)) = faults.get(*next_fault).filter(|(t, _)| *t <= now) {
                    // A fault that no longer applies (restarting a node that a shrunk script
                    // never crashed) is skipped, as the nemesis would not have drawn it.
                    if self.sim.inject(fault.clone()).is_ok() {
                        done_faults.push((*tick, fault.clone()));
                    }
                    *next_fault += 1;
                }
                while let Some(inv) = invocations.get(*next_invocation).filter(|i| i.tick <= now) {
                    if !self.sim.is_busy(&inv.client)? {
                        self.sim
                            .invoke(&inv.client, &inv.node, inv.operation.clone())?;
                        done_invocations.push(Invocation {
                            tick: now,
                            ..inv.clone()
                        });
                    }
                    *next_invocation += 1;
                }
                Ok(())
            }
        }
    }

    /// Advances the safety phase to tick `tick` (or to its end, if sooner): time travel for a
    /// replayed seed, to look at the cluster just before it went wrong.
    pub fn run_to(&mut self, tick: Tick) -> Result<(), SimError> {
        let end = tick.min(self.plan.ticks);
        while self.sim.now() < end && self.violation.is_none() {
            self.inject_tick()?;
            let next = self.sim.now() + 1;
            self.run_events_until(next);
        }
        Ok(())
    }

    /// Runs what is left of the safety phase, heals everything, stops starting operations and
    /// lets every client finish within the settle budget (the liveness phase). A budget spent
    /// with a client still waiting is a [`SimError::BudgetExhausted`].
    pub fn finish(&mut self) -> Result<(), SimError> {
        self.run_to(self.plan.ticks)?;
        if self.violation.is_some() {
            return Ok(());
        }
        self.healed = match &mut self.source {
            Source::Random {
                nemesis: Some(n), ..
            } => {
                let before = n.schedule().len();
                n.heal_everything(&mut self.sim)?;
                n.schedule()[before..].to_vec()
            }
            _ => heal_everything(&mut self.sim)?,
        };
        let start = self.sim.now();
        let deadline = start + self.plan.settle_ticks;
        loop {
            if self.violation.is_some() || !self.sim.any_client_busy() {
                return Ok(());
            }
            match self.sim.next_event_tick() {
                Some(t) if t <= deadline => self.run_events_until(t),
                // Nothing left that could finish the clients in time: report what they wait for.
                _ => {
                    let left = deadline.saturating_sub(self.sim.now());
                    return self
                        .sim
                        .run_until(left, |s| !s.any_client_busy())
                        .map(|_| ());
                }
            }
        }
    }
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
