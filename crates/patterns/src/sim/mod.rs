//! The lab bench: a deterministic simulator for clusters of sans-IO nodes.
//!
//! One thread, logical ticks, one seed. A run is a few rooms, each with one job, and a client
//! request walks through them in order:
//!
//! 1. [`Simulation::invoke`]: the **clients** ([`ClientPolicy`]) record the invocation in the
//!    **recorder** (trace and history) and put the request on the **wire**;
//! 2. the wire decides the request's fate at once (cut, dropped, lost, held, or delivered after a
//!    latency; [`Fault`] lists every knob) and schedules its delivery in the **event queue**,
//!    ordered by `(tick, sequence)` so that events of one tick run in the order they were
//!    scheduled;
//! 3. when its tick comes, the node's **host** ([`crate::node::Host`]) calls the handler and carries
//!    out its effects: messages go back to the wire, timers and syncs to the queue, and replies
//!    that must wait for a sync wait in the host;
//! 4. the reply travels back over the wire to the client, which records the completion, or
//!    retries or follows a redirect as its policy says.
//!
//! Faults are values ([`Fault`]) given to [`Simulation::inject`]; the named verbs
//! ([`Simulation::partition`], [`Simulation::crash`], ...) build them. The same seed and the same
//! calls give the same run, byte for byte ([`Trace::stable_hash`]); every random stream derives
//! from the one seed ([`Stream`]), and a failure names the seed that replays it. A run can be
//! stopped at any tick, inspected, and forked ([`Simulation::fork`]) to try another fault from
//! there.

pub(crate) mod clients;
mod clock;
mod error;
mod explore;
mod faults;
mod network;
mod queue;
mod recorder;
mod scenario;
mod trace;
mod wire;

pub use clients::{ClientPolicy, OpHandle, Outcome};
pub use error::SimError;
pub use explore::{
    Exploration, Invocation, Nemesis, NemesisConfig, Observer, RandomRun, RunPlan, Violation,
    Workload, explore, heal_everything, node_name,
};
pub use faults::Fault;
pub use network::Latency;
pub use scenario::{Scenario, ScenarioError, ScenarioRun};
pub use trace::{DropReason, MessageId, Trace, TraceEvent, TraceLevel};

use crate::history::History;
use crate::node::{
    Action, Host, Kind, KindOf, MemoryStorage, Node, NodeInit, NodeStatus, ProcessId, ReplyOf,
    Runtime, Tick,
};
use clients::{Clients, Next};
use clock::Clocks;
use network::{Network, probability};
use queue::EventQueue;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use recorder::Recorder;
use std::rc::Rc;
use wire::{Outlets, Payload, Wire};

/// The names the reference workshop gives its three servers.
pub const DEFAULT_NODES: [&str; 3] = ["athens", "byzantium", "cyrene"];
/// The names of the default clients.
pub const DEFAULT_CLIENTS: [&str; 2] = ["alice", "bob"];

/// The random streams of a run. Each is ChaCha8 seeded with the run's seed on its own stream
/// number, so drawing from one never changes what another draws: a node's election jitter does
/// not move the network's losses, and a new fault in the nemesis does not change the workload.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Latencies, losses, duplications.
    Network,
    /// Node `i`'s own stream ([`crate::node::Context::rng`]).
    Node(usize),
    /// The random client workload.
    Workload,
    /// The nemesis' faults.
    Nemesis,
}

impl Stream {
    /// The stream number within the seed.
    pub fn number(self) -> u64 {
        match self {
            Stream::Network => 0,
            Stream::Node(i) => i as u64 + 1,
            Stream::Workload => u64::MAX - 1,
            Stream::Nemesis => u64::MAX,
        }
    }

    /// The generator of this stream for `seed`.
    pub fn rng(self, seed: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(self.number());
        rng
    }
}

/// Settings of a simulation, each with its default.
#[derive(Clone, Debug)]
pub struct Builder {
    nodes: Vec<String>,
    clients: Vec<String>,
    seed: u64,
    latency: Latency,
    loss: f64,
    duplication: f64,
    policy: ClientPolicy,
    sync_latency_ticks: Tick,
    initial_clock_millis: i64,
    millis_per_tick: i64,
    trace_level: TraceLevel,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            nodes: DEFAULT_NODES.iter().map(|s| s.to_string()).collect(),
            clients: DEFAULT_CLIENTS.iter().map(|s| s.to_string()).collect(),
            seed: 0,
            latency: Latency::Fixed(1),
            loss: 0.0,
            duplication: 0.0,
            policy: ClientPolicy::default(),
            sync_latency_ticks: 1,
            initial_clock_millis: 1000,
            millis_per_tick: 1,
            trace_level: TraceLevel::Full,
        }
    }
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The server nodes, in declaration order (default athens, byzantium, cyrene).
    pub fn nodes<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Builder {
        self.nodes = names.into_iter().map(Into::into).collect();
        self
    }

    /// The clients (default alice, bob).
    pub fn clients<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Builder {
        self.clients = names.into_iter().map(Into::into).collect();
        self
    }

    /// The seed of every random choice in the run (default 0).
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = seed;
        self
    }

    /// The latency of every link unless set per link (default 1 tick).
    pub fn latency(mut self, latency: Latency) -> Builder {
        self.latency = latency;
        self
    }

    /// The loss probability of every link unless set per link (default 0).
    pub fn loss(mut self, loss: f64) -> Builder {
        self.loss = loss;
        self
    }

    /// The duplication probability of every link unless set per link (default 0).
    pub fn duplication(mut self, duplication: f64) -> Builder {
        self.duplication = duplication;
        self
    }

    /// How long a client waits for each attempt's reply (default 100 ticks).
    pub fn client_timeout_ticks(mut self, ticks: Tick) -> Builder {
        self.policy.attempt_timeout_ticks = ticks;
        self
    }

    /// How clients retry and follow redirects (default: one attempt).
    pub fn client_policy(mut self, policy: ClientPolicy) -> Builder {
        self.policy = policy;
        self
    }

    /// How long a storage sync takes (default 1 tick; 0 makes syncs complete within the handler).
    pub fn sync_latency_ticks(mut self, ticks: Tick) -> Builder {
        self.sync_latency_ticks = ticks;
        self
    }

    /// Every node's wall clock at tick 0 (default 1000 ms, as the reference).
    pub fn initial_clock_millis(mut self, millis: i64) -> Builder {
        self.initial_clock_millis = millis;
        self
    }

    /// How far an unskewed wall clock advances per tick (default 1 ms).
    pub fn millis_per_tick(mut self, millis: i64) -> Builder {
        self.millis_per_tick = millis;
        self
    }

    /// The seed this builder will run with.
    pub fn seed_value(&self) -> u64 {
        self.seed
    }

    /// How much the trace records (default [`TraceLevel::Full`]).
    pub fn trace(mut self, level: TraceLevel) -> Builder {
        self.trace_level = level;
        self
    }

    /// Builds the cluster; `factory` makes a node, at the start and again at every restart.
    pub fn build<N, F>(self, factory: F) -> Result<Simulation<N>, SimError>
    where
        N: Node,
        F: Fn(&NodeInit) -> N + 'static,
    {
        Simulation::new(self, Rc::new(factory))
    }
}

/// Something due at a tick.
pub(crate) enum Event<N: Node> {
    Deliver {
        id: MessageId,
        from: ProcessId,
        to: ProcessId,
        payload: Payload<N>,
    },
    Timer {
        node: ProcessId,
        generation: u64,
    },
    SyncDone {
        node: ProcessId,
        incarnation: u64,
        upto: u64,
    },
    ClientDeadline {
        client: ProcessId,
        sequence: u64,
        attempt: u32,
    },
}

impl<N: Node> Clone for Event<N> {
    fn clone(&self) -> Self {
        match self {
            Event::Deliver {
                id,
                from,
                to,
                payload,
            } => Event::Deliver {
                id: *id,
                from: *from,
                to: *to,
                payload: payload.clone(),
            },
            Event::Timer { node, generation } => Event::Timer {
                node: *node,
                generation: *generation,
            },
            Event::SyncDone {
                node,
                incarnation,
                upto,
            } => Event::SyncDone {
                node: *node,
                incarnation: *incarnation,
                upto: *upto,
            },
            Event::ClientDeadline {
                client,
                sequence,
                attempt,
            } => Event::ClientDeadline {
                client: *client,
                sequence: *sequence,
                attempt: *attempt,
            },
        }
    }
}

impl<N: Node> Event<N> {
    /// The node whose turn the event is, if any.
    fn node(&self) -> Option<ProcessId> {
        match self {
            Event::Deliver { to, .. } => Some(*to),
            Event::Timer { node, .. } | Event::SyncDone { node, .. } => Some(*node),
            Event::ClientDeadline { .. } => None,
        }
    }
}

/// Counters of a run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub timers_fired: u64,
    pub events: u64,
}

/// What a node has beyond its host while the simulation runs it.
struct Lane<N: Node> {
    /// Events that arrived while paused, in arrival order.
    deferred: Vec<Event<N>>,
    /// While set, the node's syncs do not complete ([`Fault::HoldSync`]).
    syncs_held: bool,
}

impl<N: Node> Clone for Lane<N> {
    fn clone(&self) -> Self {
        Lane {
            deferred: self.deferred.clone(),
            syncs_held: self.syncs_held,
        }
    }
}

/// Says which run to replay if a handler panics while it is alive: dropped during the unwind, it
/// prints the seed and the tick. (Costs nothing unless a panic unwinds through it.)
struct ReplayNote {
    seed: u64,
    tick: Tick,
}

impl Drop for ReplayNote {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "replay: seed {} (the run panicked at tick {})",
                self.seed, self.tick
            );
        }
    }
}

/// The factory that makes a node, at the start and at every restart.
type Factory<N> = Rc<dyn Fn(&NodeInit) -> N>;

/// A simulated cluster of `N` nodes and its clients.
pub struct Simulation<N: Node> {
    seed: u64,
    now: Tick,
    queue: EventQueue<Event<N>>,
    wire: Wire<N>,
    hosts: Vec<Host<N, MemoryStorage>>,
    lanes: Vec<Lane<N>>,
    clocks: Clocks,
    clients: Clients<N>,
    recorder: Recorder,
    names: Vec<String>,
    node_count: usize,
    factory: Factory<N>,
    sync_latency_ticks: Tick,
    stats: Stats,
}

/// The simulation's side of a host's effects: sends go on the wire, timers and syncs into the
/// queue, notes into the trace.
struct SimRuntime<'a, N: Node> {
    out: Outlets<'a, N>,
    wire: &'a mut Wire<N>,
    sync_latency_ticks: Tick,
    syncs_held: bool,
    incarnation: u64,
}

impl<N: Node> Runtime<N> for SimRuntime<'_, N> {
    fn transmit(&mut self, from: ProcessId, action: Action<N>) {
        let (to, payload) = match action {
            Action::Send { to, message } => (to, Payload::Message(message)),
            Action::Reply { request, reply } => (request.client, Payload::Reply(request, reply)),
        };
        self.wire.transmit(&mut self.out, from, to, payload);
    }

    fn schedule(&mut self, node: ProcessId, generation: u64, after: Tick) {
        self.out
            .queue
            .push(self.out.now + after, Event::Timer { node, generation });
    }

    fn start_sync(&mut self, node: ProcessId, upto: u64) -> bool {
        if self.sync_latency_ticks == 0 && !self.syncs_held {
            return true;
        }
        let event = Event::SyncDone {
            node,
            incarnation: self.incarnation,
            upto,
        };
        self.out
            .queue
            .push(self.out.now + self.sync_latency_ticks, event);
        false
    }

    fn annotate(&mut self, node: ProcessId, text: String) {
        self.out.recorder.annotate(self.out.now, node, text);
    }
}

impl<N: Node> Simulation<N> {
    fn new(config: Builder, factory: Factory<N>) -> Result<Simulation<N>, SimError> {
        if config.nodes.is_empty() {
            return Err(SimError::NoNodes);
        }
        let names: Vec<String> = config
            .nodes
            .iter()
            .chain(&config.clients)
            .cloned()
            .collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(SimError::DuplicateName(name.clone()));
            }
        }
        if names.len() > usize::from(u16::MAX) {
            return Err(SimError::TooManyProcesses(names.len()));
        }
        probability("loss", config.loss)?;
        probability("duplication", config.duplication)?;
        if config.initial_clock_millis <= 0 {
            return Err(SimError::InvalidClock(config.initial_clock_millis));
        }
        let node_count = config.nodes.len();
        let hosts = (0..node_count)
            .map(|i| {
                let init = NodeInit {
                    id: ProcessId(i as u16),
                    name: names[i].clone(),
                    peers: (0..node_count)
                        .filter(|&p| p != i)
                        .map(|p| ProcessId(p as u16))
                        .collect(),
                };
                Host::new(init, MemoryStorage::new(), Stream::Node(i).rng(config.seed))
            })
            .collect();
        let network = Network::new(names.len(), config.latency, config.loss, config.duplication);
        let mut sim = Simulation {
            seed: config.seed,
            now: 0,
            queue: EventQueue::new(),
            wire: Wire::new(network, Stream::Network.rng(config.seed)),
            hosts,
            lanes: (0..node_count)
                .map(|_| Lane {
                    deferred: Vec::new(),
                    syncs_held: false,
                })
                .collect(),
            clocks: Clocks::new(
                node_count,
                config.initial_clock_millis,
                config.millis_per_tick,
            ),
            clients: Clients::new(node_count, config.clients.len(), config.policy),
            recorder: Recorder::new(names.clone(), node_count, config.trace_level),
            names,
            node_count,
            factory,
            sync_latency_ticks: config.sync_latency_ticks,
            stats: Stats::default(),
        };
        for i in 0..node_count {
            sim.start_node(i);
        }
        Ok(sim)
    }

    /// Builds a fresh node and starts it on its host.
    fn start_node(&mut self, index: usize) {
        let node = (self.factory)(self.hosts[index].init());
        let clock = self.clocks.millis(index, self.now);
        self.with_host(index, |host, rt, now| host.start(node, rt, now, clock));
    }

    /// Runs `f` on a host with the runtime it carries its effects out through.
    fn with_host(
        &mut self,
        index: usize,
        f: impl FnOnce(&mut Host<N, MemoryStorage>, &mut SimRuntime<'_, N>, Tick),
    ) {
        let now = self.now;
        let host = &mut self.hosts[index];
        let mut rt = SimRuntime {
            out: Outlets {
                now,
                queue: &mut self.queue,
                recorder: &mut self.recorder,
                stats: &mut self.stats,
            },
            wire: &mut self.wire,
            sync_latency_ticks: self.sync_latency_ticks,
            syncs_held: self.lanes[index].syncs_held,
            incarnation: host.incarnation(),
        };
        f(host, &mut rt, now);
    }

    fn outlets(&mut self) -> (Outlets<'_, N>, &mut Wire<N>) {
        (
            Outlets {
                now: self.now,
                queue: &mut self.queue,
                recorder: &mut self.recorder,
                stats: &mut self.stats,
            },
            &mut self.wire,
        )
    }

    /// A copy of the run at this instant: the same nodes, messages in flight, clocks, random
    /// streams and records. The copy and the original then go their own ways, so a notebook can
    /// rewind a counterexample to the tick before it went wrong and try another fault there.
    pub fn fork(&self) -> Simulation<N>
    where
        N: Clone,
    {
        Simulation {
            seed: self.seed,
            now: self.now,
            queue: self.queue.clone(),
            wire: self.wire.clone(),
            hosts: self.hosts.clone(),
            lanes: self.lanes.clone(),
            clocks: self.clocks.clone(),
            clients: self.clients.clone(),
            recorder: self.recorder.clone(),
            names: self.names.clone(),
            node_count: self.node_count,
            factory: Rc::clone(&self.factory),
            sync_latency_ticks: self.sync_latency_ticks,
            stats: self.stats,
        }
    }

    // ----- names and inspection -------------------------------------------------------------

    /// The seed every random stream of this run derives from: the one number that replays it.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The current tick.
    pub fn now(&self) -> Tick {
        self.now
    }

    /// The id of a node or client.
    pub fn id(&self, name: &str) -> Result<ProcessId, SimError> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| ProcessId(i as u16))
            .ok_or_else(|| SimError::UnknownProcess {
                name: name.to_string(),
                known: self.names.clone(),
            })
    }

    fn node_id(&self, name: &str) -> Result<ProcessId, SimError> {
        let id = self.id(name)?;
        if id.index() < self.node_count {
            Ok(id)
        } else {
            Err(SimError::WrongRole {
                name: name.to_string(),
                expected: "node",
            })
        }
    }

    fn client_id(&self, name: &str) -> Result<ProcessId, SimError> {
        let id = self.id(name)?;
        if id.index() >= self.node_count {
            Ok(id)
        } else {
            Err(SimError::WrongRole {
                name: name.to_string(),
                expected: "client",
            })
        }
    }

    /// The name of a process.
    pub fn name(&self, id: ProcessId) -> &str {
        &self.names[id.index()]
    }

    /// The node names, in declaration order.
    pub fn node_names(&self) -> &[String] {
        &self.names[..self.node_count]
    }

    /// The client names.
    pub fn client_names(&self) -> &[String] {
        &self.names[self.node_count..]
    }

    /// A running (or paused) node's state, for assertions and notebooks.
    pub fn node(&self, name: &str) -> Result<&N, SimError> {
        let id = self.node_id(name)?;
        self.hosts[id.index()].node().ok_or(SimError::InvalidState {
            name: name.to_string(),
            state: "crashed",
            action: "inspect",
        })
    }

    /// Every node that is not crashed, with its name.
    pub fn running_nodes(&self) -> impl Iterator<Item = (&str, &N)> {
        self.hosts
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.node().map(|n| (self.names[i].as_str(), n)))
    }

    /// Every node's state by declaration order, `None` while crashed: what invariants look at.
    pub fn nodes(&self) -> impl Iterator<Item = Option<&N>> {
        self.hosts.iter().map(Host::node)
    }

    pub fn status(&self, name: &str) -> Result<NodeStatus, SimError> {
        Ok(self.hosts[self.node_id(name)?.index()].status())
    }

    /// A node's storage: its volatile view and its durable image.
    pub fn storage(&self, name: &str) -> Result<&MemoryStorage, SimError> {
        Ok(self.hosts[self.node_id(name)?.index()].storage())
    }

    /// Whether a node's syncs are held back ([`Fault::HoldSync`]).
    pub fn syncs_held(&self, name: &str) -> Result<bool, SimError> {
        Ok(self.lanes[self.node_id(name)?.index()].syncs_held)
    }

    /// Whether a node's clock is off true time (skewed or drifting).
    pub fn clock_is_skewed(&self, name: &str) -> Result<bool, SimError> {
        Ok(self.clocks.is_skewed(self.node_id(name)?.index()))
    }

    /// A node's wall clock now.
    pub fn clock_millis(&self, name: &str) -> Result<i64, SimError> {
        Ok(self.clocks.millis(self.node_id(name)?.index(), self.now))
    }

    pub fn history(&self) -> &History {
        &self.recorder.history
    }

    pub fn trace(&self) -> &Trace {
        &self.recorder.trace
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// How an operation ended, once it has.
    pub fn outcome(&self, op: OpHandle) -> Option<&Outcome<ReplyOf<N>>> {
        self.clients.outcome(op)
    }

    /// Every operation that has ended, with how.
    pub fn outcomes(&self) -> impl Iterator<Item = (&OpHandle, &Outcome<ReplyOf<N>>)> {
        self.clients.outcomes().iter()
    }

    /// The reply to an operation, if one arrived.
    pub fn reply(&self, op: OpHandle) -> Option<&ReplyOf<N>> {
        self.outcome(op).and_then(Outcome::reply)
    }

    /// Whether the client has an operation in flight.
    pub fn is_busy(&self, client: &str) -> Result<bool, SimError> {
        Ok(self.clients.is_busy(self.client_id(client)?))
    }

    /// Whether any client has an operation in flight.
    pub fn any_client_busy(&self) -> bool {
        (self.node_count..self.names.len()).any(|i| self.clients.is_busy(ProcessId(i as u16)))
    }

    /// Whether the operation has ended (replied or timed out).
    pub fn is_done(&self, op: OpHandle) -> bool {
        self.clients.outcome(op).is_some()
    }

    /// The clients' retry and redirect policy, to change between operations.
    pub fn client_policy_mut(&mut self) -> &mut ClientPolicy {
        &mut self.clients.policy
    }

    // ----- clients ---------------------------------------------------------------------------

    /// `client` sends `operation` to `node`. The invocation is recorded at once; the completion
    /// when a reply arrives, or as `:info` (`:fail` for reads) when the client gives up.
    pub fn invoke(
        &mut self,
        client: &str,
        node: &str,
        operation: N::Operation,
    ) -> Result<OpHandle, SimError> {
        let client_id = self.client_id(client)?;
        let node_id = self.node_id(node)?;
        let history = &mut self.recorder.history;
        let (op, process, request) = self.clients.invoke(
            client_id,
            node_id,
            operation.clone(),
            || history.next_process_number(),
            client,
        )?;
        self.recorder.invoke(
            self.now,
            (process, client_id, client),
            node_id,
            crate::node::Operation::invocation(&operation),
        );
        self.send_request(request, operation, node_id, 1);
        Ok(op)
    }

    fn send_request(
        &mut self,
        request: crate::node::RequestId,
        operation: N::Operation,
        node: ProcessId,
        attempt: u32,
    ) {
        let deadline = self.now + self.clients.policy.attempt_timeout_ticks;
        let (mut out, wire) = self.outlets();
        wire.transmit(
            &mut out,
            request.client,
            node,
            Payload::Request(request, operation),
        );
        self.queue.push(
            deadline,
            Event::ClientDeadline {
                client: request.client,
                sequence: request.sequence,
                attempt,
            },
        );
    }

    fn follow(&mut self, client: ProcessId, next: Next<N>) {
        match next {
            Next::Nothing => {}
            Next::Send {
                request,
                operation,
                node,
                attempt,
                note,
            } => {
                if let Some(text) = note {
                    self.recorder.annotate(self.now, client, text);
                }
                self.send_request(request, operation, node, attempt);
            }
            Next::Complete {
                process,
                f,
                completion,
            } => {
                let name = self.names[client.index()].clone();
                self.recorder
                    .complete(self.now, (process, client, &name), f, completion);
            }
        }
    }

    /// `timer` fires on `node` now, whether or not the node set it: a test's hand on the clock, as
    /// the reference's tests call `startElection()` on a server. Only a running node's timer can
    /// fire.
    pub fn fire_timer(&mut self, node: &str, timer: N::Timer) -> Result<(), SimError> {
        let index = self.node_id(node)?.index();
        let state = match self.hosts[index].status() {
            NodeStatus::Up => None,
            NodeStatus::Paused => Some("paused"),
            NodeStatus::Crashed => Some("crashed"),
        };
        if let Some(state) = state {
            return Err(SimError::InvalidState {
                name: node.to_string(),
                state,
                action: "fire a timer on",
            });
        }
        self.stats.timers_fired += 1;
        let id = ProcessId(index as u16);
        self.recorder
            .timer(self.now, id, || format!("{timer:?} (fired by hand)"));
        let clock = self.clocks.millis(index, self.now);
        let key = crate::node::TimerKey::Timer(timer);
        self.with_host(index, |host, rt, now| host.fire(rt, now, clock, key));
        Ok(())
    }

    // ----- running ---------------------------------------------------------------------------

    /// The tick of the next event, if any.
    pub fn next_event_tick(&self) -> Option<Tick> {
        self.queue.next_tick()
    }

    /// Runs the next event; `false` when nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let Some((tick, event)) = self.queue.pop() else {
            return false;
        };
        debug_assert!(tick >= self.now, "time never runs backwards");
        self.now = tick;
        self.stats.events += 1;
        let _note = ReplayNote {
            seed: self.seed,
            tick,
        };
        self.handle(event);
        true
    }

    /// Runs every event of the next `ticks` ticks and leaves the clock at the end of them.
    pub fn run_for(&mut self, ticks: Tick) {
        let end = self.now + ticks;
        while self.queue.next_tick().is_some_and(|t| t <= end) {
            self.step();
        }
        self.now = end;
    }

    /// Runs until `condition` holds (checked before the first event and after each one), or fails
    /// after `budget_ticks` with the last events of the run.
    pub fn run_until(
        &mut self,
        budget_ticks: Tick,
        mut condition: impl FnMut(&Simulation<N>) -> bool,
    ) -> Result<Tick, SimError> {
        self.run_until_described(budget_ticks, "the condition", |s| condition(s))
    }

    fn run_until_described(
        &mut self,
        budget_ticks: Tick,
        waiting_for: &str,
        mut condition: impl FnMut(&Simulation<N>) -> bool,
    ) -> Result<Tick, SimError> {
        let start = self.now;
        let end = start + budget_ticks;
        loop {
            if condition(self) {
                return Ok(self.now);
            }
            if self.queue.next_tick().is_none_or(|t| t > end) {
                self.now = end;
                let trace = &self.recorder.trace;
                let recent = trace
                    .events
                    .iter()
                    .rev()
                    .take(8)
                    .rev()
                    .map(|e| trace.describe(e))
                    .collect();
                return Err(SimError::BudgetExhausted {
                    waited_ticks: budget_ticks,
                    now: self.now,
                    seed: self.seed,
                    waiting_for: waiting_for.to_string(),
                    recent,
                });
            }
            self.step();
        }
    }

    /// Runs until `op` has ended, at most `budget_ticks`.
    pub fn run_until_done(
        &mut self,
        op: OpHandle,
        budget_ticks: Tick,
    ) -> Result<&Outcome<ReplyOf<N>>, SimError> {
        if op.client.index() < self.node_count || op.client.index() >= self.names.len() {
            return Err(SimError::UnknownOperation);
        }
        let what = format!(
            "{}'s operation #{}",
            self.names[op.client.index()],
            op.sequence
        );
        self.run_until_described(budget_ticks, &what, |s| s.is_done(op))?;
        Ok(self.clients.outcome(op).expect("done"))
    }

    /// Invokes and waits: the shortest way to say "alice writes x at athens" in a test.
    pub fn call(
        &mut self,
        client: &str,
        node: &str,
        operation: N::Operation,
        budget_ticks: Tick,
    ) -> Result<&Outcome<ReplyOf<N>>, SimError> {
        let op = self.invoke(client, node, operation)?;
        self.run_until_done(op, budget_ticks)
    }

    /// Runs until no event is left, at most `budget_ticks`. Protocols with periodic timers never
    /// go quiet; use [`Simulation::run_for`] for them.
    pub fn run_until_quiet(&mut self, budget_ticks: Tick) -> Result<Tick, SimError> {
        self.run_until_described(
            budget_ticks,
            "the network and every timer to go quiet",
            |s| s.queue.is_empty(),
        )
    }

    fn handle(&mut self, event: Event<N>) {
        if let Some(node) = event.node().filter(|n| n.index() < self.node_count) {
            match self.hosts[node.index()].status() {
                NodeStatus::Paused => {
                    self.lanes[node.index()].deferred.push(event);
                    return;
                }
                NodeStatus::Crashed => {
                    if let Event::Deliver { id, .. } = event {
                        let (mut out, _) = self.outlets();
                        Wire::lost(&mut out, id, DropReason::Crashed);
                    }
                    return;
                }
                NodeStatus::Up => {}
            }
        }
        match event {
            Event::Deliver {
                id,
                from,
                to,
                payload,
            } => self.deliver(id, from, to, payload),
            Event::Timer { node, generation } => {
                let index = node.index();
                let Some(key) = self.hosts[index].take_timer(generation) else {
                    return; // cancelled, set again or lost in a crash since
                };
                self.stats.timers_fired += 1;
                self.recorder.timer(self.now, node, || match &key {
                    crate::node::TimerKey::Timer(t) => format!("{t:?}"),
                    crate::node::TimerKey::Deadline(c) => format!("deadline {c}"),
                });
                let clock = self.clocks.millis(index, self.now);
                self.with_host(index, |host, rt, now| host.fire(rt, now, clock, key));
            }
            Event::SyncDone {
                node,
                incarnation,
                upto,
            } => {
                let index = node.index();
                if self.hosts[index].incarnation() != incarnation {
                    return;
                }
                if self.lanes[index].syncs_held {
                    self.lanes[index].deferred.push(Event::SyncDone {
                        node,
                        incarnation,
                        upto,
                    });
                    return;
                }
                self.hosts[index].storage_mut().make_durable(upto);
                let clock = self.clocks.millis(index, self.now);
                self.with_host(index, |host, rt, now| host.synced_at(rt, now, clock));
            }
            Event::ClientDeadline {
                client,
                sequence,
                attempt,
            } => {
                let next = self
                    .clients
                    .on_deadline(client, sequence, attempt, self.now);
                self.follow(client, next);
            }
        }
    }

    fn deliver(&mut self, id: MessageId, from: ProcessId, to: ProcessId, payload: Payload<N>) {
        if let Payload::Reply(request, reply) = payload {
            if !self.clients.is_live(request) {
                let (mut out, _) = self.outlets();
                Wire::lost(&mut out, id, DropReason::Stale);
                return;
            }
            self.stats.delivered += 1;
            self.recorder.deliver(self.now, id);
            let next = self.clients.on_reply(request, reply, self.now);
            self.follow(to, next);
            return;
        }
        self.stats.delivered += 1;
        self.recorder.deliver(self.now, id);
        let index = to.index();
        let clock = self.clocks.millis(index, self.now);
        match payload {
            Payload::Message(message) => self.with_host(index, |host, rt, now| {
                host.call(rt, now, clock, |node, ctx| {
                    node.on_message(ctx, from, message)
                })
            }),
            Payload::Request(request, operation) => self.with_host(index, |host, rt, now| {
                host.call(rt, now, clock, |node, ctx| {
                    node.on_request(ctx, request, operation)
                })
            }),
            Payload::Reply(..) => unreachable!("replies are handled above"),
        }
    }

    /// Checks that a kind given by name is one of the protocol's (a misspelt kind in a
    /// hand-written [`Fault`] would otherwise match nothing, silently).
    fn check_kind(kind: &str) -> Result<(), SimError> {
        let known: Vec<&'static str> = KindOf::<N>::ALL.iter().map(|k| k.name()).collect();
        if known.contains(&kind) {
            Ok(())
        } else {
            Err(SimError::UnknownKind {
                kind: kind.to_string(),
                known,
            })
        }
    }
}
