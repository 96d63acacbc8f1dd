//! The lab bench: a deterministic simulator for clusters of sans-IO nodes.
//!
//! One thread, logical ticks, one seed. Every event (a delivery, a timer, a storage sync, a client
//! deadline) sits in one queue ordered by `(tick, sequence)`, where the sequence number counts up
//! as events are scheduled: events of the same tick run in the order they were scheduled (FIFO),
//! never in a heap's arbitrary order (the reference's §5.1 item 2). The same seed and the same
//! calls give the same run, byte for byte ([`Trace::stable_hash`]).
//!
//! ## Faults and their contracts
//! | fault | what it does |
//! |---|---|
//! | [`Simulation::set_latency`] | per-link latency, fixed or a uniform range; stays until cleared |
//! | [`Simulation::delay_kind`] | extra ticks for one message type on a link; stays until cleared |
//! | [`Simulation::set_loss`] | each message on the link is lost with this probability |
//! | [`Simulation::set_duplication`] | each message on the link is delivered twice with this probability |
//! | [`Simulation::drop_kind`], [`Simulation::drop_nth`] | drop every, or only the n-th, message of a type |
//! | [`Simulation::partition`], [`Simulation::partition_one_way`] | cut links between two groups |
//! | [`Simulation::isolate`], [`Simulation::reconnect`] | cut or restore every link of one process |
//! | [`Simulation::hold`], [`Simulation::release`] | keep a link's messages, deliver them later |
//! | [`Simulation::heal_all`] | every link back to the network's defaults, held messages released |
//! | [`Simulation::crash`], [`Simulation::restart`] | lose volatile state and unsynced writes; recover |
//! | [`Simulation::pause`], [`Simulation::resume`] | a stop-the-world pause: events wait, clocks run |
//! | [`Simulation::set_clock`], [`Simulation::set_clock_drift`] | skew a node's wall clock |
//!
//! A message's fate is decided when it is sent: a partition made later does not catch messages
//! already on the wire, as packets already past the switch still arrive. A crashed receiver loses
//! whatever arrives while it is down. Messages a node sends to itself are delivered in the same
//! tick and are never faulted.

mod error;
mod explore;
mod faults;
mod network;
mod scenario;
mod trace;

pub use error::SimError;
pub use explore::{Exploration, Nemesis, Workload, explore, node_name, random_kv_run, run_random};
pub use network::Latency;
pub use scenario::{Scenario, ScenarioError, ScenarioRun};
pub use trace::{DropReason, Fault, MessageId, Trace, TraceEvent, TraceLevel};

use crate::history::{EventType, History};
use crate::node::{
    Context, Effect, Message, Node, Operation, Outbox, ProcessId, ReplyOf, RequestId, Storage, Tick,
};
use network::{Network, Route, probability};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

/// The names the reference workshop gives its three servers.
pub const DEFAULT_NODES: [&str; 3] = ["athens", "byzantium", "cyrene"];
/// The names of the default clients.
pub const DEFAULT_CLIENTS: [&str; 2] = ["alice", "bob"];

/// What a node is told when it is built, at the start and again at every restart.
#[derive(Clone, Debug)]
pub struct NodeInit {
    pub id: ProcessId,
    pub name: String,
    /// The other nodes, in declaration order.
    pub peers: Vec<ProcessId>,
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
    client_timeout_ticks: Tick,
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
            client_timeout_ticks: 100,
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

    /// How long a client waits for a reply before it records the outcome as unknown (default 100
    /// ticks). Keep it shorter than the run's budget so that failure paths end by themselves
    /// (the reference coupled both at 10 000 and passed by one tick; §5.1 item 5).
    pub fn client_timeout_ticks(mut self, ticks: Tick) -> Builder {
        self.client_timeout_ticks = ticks;
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

    /// How much the trace records (default [`TraceLevel::Full`]).
    pub fn trace(mut self, level: TraceLevel) -> Builder {
        self.trace_level = level;
        self
    }

    /// Builds the cluster; `factory` makes a node, at the start and again at every restart.
    pub fn build<N, F>(self, factory: F) -> Result<Simulation<N>, SimError>
    where
        N: Node,
        F: FnMut(&NodeInit) -> N + 'static,
    {
        Simulation::new(self, Box::new(factory))
    }
}

/// A node's lifecycle.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    Up,
    Paused,
    Crashed,
}

impl NodeStatus {
    fn word(self) -> &'static str {
        match self {
            NodeStatus::Up => "up",
            NodeStatus::Paused => "paused",
            NodeStatus::Crashed => "crashed",
        }
    }
}

/// What travels on the network.
enum Payload<N: Node> {
    Message(N::Message),
    Request(RequestId, N::Operation),
    Reply(RequestId, ReplyOf<N>),
}

impl<N: Node> Clone for Payload<N> {
    fn clone(&self) -> Self {
        match self {
            Payload::Message(m) => Payload::Message(m.clone()),
            Payload::Request(r, op) => Payload::Request(*r, op.clone()),
            Payload::Reply(r, reply) => Payload::Reply(*r, reply.clone()),
        }
    }
}

enum Event<N: Node> {
    Deliver {
        id: MessageId,
        from: ProcessId,
        to: ProcessId,
        payload: Payload<N>,
    },
    Timer {
        node: ProcessId,
        incarnation: u64,
        generation: u64,
        timer: N::Timer,
    },
    SyncDone {
        node: ProcessId,
        incarnation: u64,
        upto: u64,
    },
    ClientDeadline {
        client: ProcessId,
        sequence: u64,
    },
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

struct Scheduled<N: Node> {
    tick: Tick,
    sequence: u64,
    event: Event<N>,
}

impl<N: Node> PartialEq for Scheduled<N> {
    fn eq(&self, other: &Self) -> bool {
        (self.tick, self.sequence) == (other.tick, other.sequence)
    }
}
impl<N: Node> Eq for Scheduled<N> {}
impl<N: Node> PartialOrd for Scheduled<N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<N: Node> Ord for Scheduled<N> {
    /// Reversed, so that std's max-heap pops the earliest `(tick, sequence)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.tick, other.sequence).cmp(&(self.tick, self.sequence))
    }
}

/// A message or reply waiting for a storage sync before it may leave.
struct AwaitingSync<N: Node> {
    after_write: u64,
    to: ProcessId,
    payload: Payload<N>,
}

struct NodeSlot<N: Node> {
    state: Option<N>,
    status: NodeStatus,
    peers: Vec<ProcessId>,
    rng: ChaCha8Rng,
    storage: Storage,
    timers: Vec<(N::Timer, u64)>,
    incarnation: u64,
    sync_requested: u64,
    awaiting_sync: Vec<AwaitingSync<N>>,
    /// Events that arrived while paused, in arrival order.
    deferred: Vec<Event<N>>,
    clock_offset_millis: i64,
    clock_drift: f64,
}

struct InFlight<N: Node> {
    sequence: u64,
    operation: N::Operation,
}

struct ClientSlot<N: Node> {
    process: Option<u64>,
    next_sequence: u64,
    in_flight: Option<InFlight<N>>,
}

/// Messages kept on a held link, in send order.
type HeldMessages<N> = Vec<(MessageId, Payload<N>)>;

/// A client operation issued by [`Simulation::invoke`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpHandle {
    pub client: ProcessId,
    pub sequence: u64,
}

/// How a client operation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome<R> {
    /// The node replied at this tick.
    Replied { reply: R, tick: Tick },
    /// The client gave up at this tick; the history says `:info` (or `:fail` for a read).
    TimedOut { tick: Tick },
}

impl<R> Outcome<R> {
    /// The reply, if one arrived.
    pub fn reply(&self) -> Option<&R> {
        match self {
            Outcome::Replied { reply, .. } => Some(reply),
            Outcome::TimedOut { .. } => None,
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

/// A simulated cluster of `N` nodes and its clients.
pub struct Simulation<N: Node> {
    now: Tick,
    next_sequence: u64,
    next_message: MessageId,
    next_timer_generation: u64,
    queue: BinaryHeap<Scheduled<N>>,
    names: Vec<String>,
    node_count: usize,
    nodes: Vec<NodeSlot<N>>,
    clients: Vec<ClientSlot<N>>,
    held: BTreeMap<(ProcessId, ProcessId), HeldMessages<N>>,
    outcomes: BTreeMap<OpHandle, Outcome<ReplyOf<N>>>,
    network: Network,
    network_rng: ChaCha8Rng,
    history: History,
    trace: Trace,
    trace_level: TraceLevel,
    factory: Box<dyn FnMut(&NodeInit) -> N>,
    outbox: Outbox<N>,
    client_timeout_ticks: Tick,
    sync_latency_ticks: Tick,
    initial_clock_millis: i64,
    millis_per_tick: i64,
    stats: Stats,
}

impl<N: Node> Simulation<N> {
    fn new(
        config: Builder,
        mut factory: Box<dyn FnMut(&NodeInit) -> N>,
    ) -> Result<Simulation<N>, SimError> {
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
        probability("loss", config.loss)?;
        probability("duplication", config.duplication)?;
        if config.initial_clock_millis <= 0 {
            return Err(SimError::InvalidClock(config.initial_clock_millis));
        }
        let node_count = config.nodes.len();
        let nodes = (0..node_count)
            .map(|i| {
                let peers = (0..node_count)
                    .filter(|&p| p != i)
                    .map(|p| ProcessId(p as u16))
                    .collect();
                let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
                rng.set_stream(i as u64 + 1);
                NodeSlot {
                    state: None,
                    status: NodeStatus::Up,
                    peers,
                    rng,
                    storage: Storage::new(),
                    timers: Vec::new(),
                    incarnation: 0,
                    sync_requested: 0,
                    awaiting_sync: Vec::new(),
                    deferred: Vec::new(),
                    clock_offset_millis: 0,
                    clock_drift: 0.0,
                }
            })
            .collect();
        let clients = config
            .clients
            .iter()
            .map(|_| ClientSlot {
                process: None,
                next_sequence: 1,
                in_flight: None,
            })
            .collect();
        let mut network_rng = ChaCha8Rng::seed_from_u64(config.seed);
        network_rng.set_stream(0);
        let mut sim = Simulation {
            now: 0,
            next_sequence: 0,
            next_message: 0,
            next_timer_generation: 0,
            queue: BinaryHeap::new(),
            trace: Trace {
                names: names.clone(),
                node_count,
                events: Vec::new(),
            },
            network: Network::new(names.len(), config.latency, config.loss, config.duplication),
            names,
            node_count,
            nodes,
            clients,
            held: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            network_rng,
            history: History::new(),
            trace_level: config.trace_level,
            factory: Box::new(|_| unreachable!("replaced below")),
            outbox: Vec::new(),
            client_timeout_ticks: config.client_timeout_ticks,
            sync_latency_ticks: config.sync_latency_ticks,
            initial_clock_millis: config.initial_clock_millis,
            millis_per_tick: config.millis_per_tick,
            stats: Stats::default(),
        };
        for i in 0..node_count {
            let id = ProcessId(i as u16);
            let init = NodeInit {
                id,
                name: sim.names[i].clone(),
                peers: sim.nodes[i].peers.clone(),
            };
            sim.nodes[i].state = Some(factory(&init));
            sim.dispatch(id, |node, ctx| node.on_start(ctx));
        }
        sim.factory = factory;
        Ok(sim)
    }

    // ----- names and inspection -------------------------------------------------------------

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
        let slot = &self.nodes[id.index()];
        slot.state.as_ref().ok_or(SimError::InvalidState {
            name: name.to_string(),
            state: "crashed",
            action: "inspect",
        })
    }

    /// Every node that is not crashed, with its name.
    pub fn running_nodes(&self) -> impl Iterator<Item = (&str, &N)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.state.as_ref().map(|n| (self.names[i].as_str(), n)))
    }

    pub fn status(&self, name: &str) -> Result<NodeStatus, SimError> {
        Ok(self.nodes[self.node_id(name)?.index()].status)
    }

    /// A node's storage, volatile view and durable image.
    pub fn storage(&self, name: &str) -> Result<&Storage, SimError> {
        Ok(&self.nodes[self.node_id(name)?.index()].storage)
    }

    /// A node's wall clock now.
    pub fn clock_millis(&self, name: &str) -> Result<i64, SimError> {
        Ok(self.clock_of(self.node_id(name)?))
    }

    fn clock_of(&self, node: ProcessId) -> i64 {
        let slot = &self.nodes[node.index()];
        let elapsed = (self.now as i64).saturating_mul(self.millis_per_tick);
        let drifted = (elapsed as f64 * (1.0 + slot.clock_drift)).round() as i64;
        self.initial_clock_millis + drifted + slot.clock_offset_millis
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// How an operation ended, once it has.
    pub fn outcome(&self, op: OpHandle) -> Option<&Outcome<ReplyOf<N>>> {
        self.outcomes.get(&op)
    }

    /// The reply to an operation, if one arrived.
    pub fn reply(&self, op: OpHandle) -> Option<&ReplyOf<N>> {
        self.outcome(op).and_then(Outcome::reply)
    }

    /// Whether the client has an operation in flight.
    pub fn is_busy(&self, client: &str) -> Result<bool, SimError> {
        let id = self.client_id(client)?;
        Ok(self.clients[id.index() - self.node_count]
            .in_flight
            .is_some())
    }

    /// Whether the operation has ended (replied or timed out).
    pub fn is_done(&self, op: OpHandle) -> bool {
        self.outcomes.contains_key(&op)
    }

    // ----- clients ---------------------------------------------------------------------------

    /// `client` sends `operation` to `node`. The invocation is recorded at once; the completion
    /// when the reply arrives, or as `:info` (`:fail` for reads) when the client's timeout passes.
    pub fn invoke(
        &mut self,
        client: &str,
        node: &str,
        operation: N::Operation,
    ) -> Result<OpHandle, SimError> {
        let client_id = self.client_id(client)?;
        let node_id = self.node_id(node)?;
        let slot = &mut self.clients[client_id.index() - self.node_count];
        if slot.in_flight.is_some() {
            return Err(SimError::ClientBusy {
                client: client.to_string(),
            });
        }
        let sequence = slot.next_sequence;
        slot.next_sequence += 1;
        let process = match slot.process {
            Some(p) => p,
            None => {
                let p = self.history.next_process_number();
                self.clients[client_id.index() - self.node_count].process = Some(p);
                p
            }
        };
        let (f, value) = operation.invocation();
        if self.trace_level != TraceLevel::Off {
            let value = value.to_string();
            self.trace.events.push(TraceEvent::Invoke {
                tick: self.now,
                client: client_id,
                node: node_id,
                f,
                value,
            });
        }
        self.history
            .record_as(process, client, EventType::Invoke, f, value, Some(self.now));
        self.clients[client_id.index() - self.node_count].in_flight = Some(InFlight {
            sequence,
            operation: operation.clone(),
        });
        let request = RequestId {
            client: client_id,
            sequence,
        };
        self.transmit(client_id, node_id, Payload::Request(request, operation));
        let deadline = self.now + self.client_timeout_ticks;
        self.schedule(
            deadline,
            Event::ClientDeadline {
                client: client_id,
                sequence,
            },
        );
        Ok(OpHandle {
            client: client_id,
            sequence,
        })
    }

    fn complete(&mut self, client: ProcessId, sequence: u64, reply: Option<ReplyOf<N>>) {
        let index = client.index() - self.node_count;
        let Some(in_flight) = self.clients[index]
            .in_flight
            .take_if(|f| f.sequence == sequence)
        else {
            return;
        };
        let name = self.names[client.index()].clone();
        let process = self.clients[index]
            .process
            .expect("an invoked client has a process number");
        let (kind, value) = match &reply {
            Some(reply) => in_flight.operation.completion(reply),
            None if in_flight.operation.is_read_only() => {
                (EventType::Fail, in_flight.operation.invocation().1)
            }
            None => (EventType::Info, in_flight.operation.invocation().1),
        };
        if self.trace_level != TraceLevel::Off {
            let value = value.to_string();
            self.trace.events.push(TraceEvent::Complete {
                tick: self.now,
                client,
                kind,
                value,
            });
        }
        self.history.record_as(
            process,
            &name,
            kind,
            in_flight.operation.invocation().0,
            value,
            Some(self.now),
        );
        if kind == EventType::Info {
            // The open operation may still happen: this process can never invoke again (Knossos).
            self.clients[index].process = None;
        }
        let outcome = match reply {
            Some(reply) => Outcome::Replied {
                reply,
                tick: self.now,
            },
            None => Outcome::TimedOut { tick: self.now },
        };
        self.outcomes.insert(OpHandle { client, sequence }, outcome);
    }

    // ----- running ---------------------------------------------------------------------------

    /// Runs the next event; `false` when nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let Some(Scheduled { tick, event, .. }) = self.queue.pop() else {
            return false;
        };
        debug_assert!(tick >= self.now, "time never runs backwards");
        self.now = tick;
        self.stats.events += 1;
        self.handle(event);
        true
    }

    /// Runs every event of the next `ticks` ticks and leaves the clock at the end of them.
    pub fn run_for(&mut self, ticks: Tick) {
        let end = self.now + ticks;
        while self.queue.peek().is_some_and(|s| s.tick <= end) {
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
            if self.queue.peek().is_none_or(|s| s.tick > end) {
                self.now = end;
                let recent = self
                    .trace
                    .events
                    .iter()
                    .rev()
                    .take(8)
                    .rev()
                    .map(|e| self.trace.describe(e))
                    .collect();
                return Err(SimError::BudgetExhausted {
                    waited_ticks: budget_ticks,
                    now: self.now,
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
        Ok(&self.outcomes[&op])
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

    fn schedule(&mut self, tick: Tick, event: Event<N>) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.queue.push(Scheduled {
            tick,
            sequence,
            event,
        });
    }

    fn handle(&mut self, event: Event<N>) {
        if let Some(node) = event.node().filter(|n| n.index() < self.node_count) {
            match self.nodes[node.index()].status {
                NodeStatus::Paused => {
                    self.nodes[node.index()].deferred.push(event);
                    return;
                }
                NodeStatus::Crashed => {
                    if let Event::Deliver { id, .. } = event {
                        self.record_drop(id, DropReason::Crashed);
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
            } => {
                if let Payload::Reply(request, _) = &payload {
                    let live = self.clients[to.index() - self.node_count]
                        .in_flight
                        .as_ref()
                        .is_some_and(|f| f.sequence == request.sequence);
                    if !live {
                        self.record_drop(id, DropReason::Stale);
                        return;
                    }
                }
                self.stats.delivered += 1;
                if self.trace_level != TraceLevel::Off {
                    self.trace.events.push(TraceEvent::Deliver {
                        tick: self.now,
                        message: id,
                    });
                }
                match payload {
                    Payload::Message(message) => {
                        self.dispatch(to, |node, ctx| node.on_message(ctx, from, message))
                    }
                    Payload::Request(request, operation) => {
                        self.dispatch(to, |node, ctx| node.on_request(ctx, request, operation))
                    }
                    Payload::Reply(request, reply) => {
                        self.complete(to, request.sequence, Some(reply))
                    }
                }
            }
            Event::Timer {
                node,
                incarnation,
                generation,
                timer,
            } => {
                let slot = &mut self.nodes[node.index()];
                let Some(position) = slot.timers.iter().position(|(_, g)| *g == generation) else {
                    return; // cancelled or restarted since
                };
                if slot.incarnation != incarnation {
                    return;
                }
                slot.timers.swap_remove(position);
                self.stats.timers_fired += 1;
                if self.trace_level != TraceLevel::Off {
                    let text = format!("{timer:?}");
                    self.trace.events.push(TraceEvent::Timer {
                        tick: self.now,
                        node,
                        timer: text,
                    });
                }
                self.dispatch(node, |n, ctx| n.on_timer(ctx, timer));
            }
            Event::SyncDone {
                node,
                incarnation,
                upto,
            } => {
                if self.nodes[node.index()].incarnation == incarnation {
                    self.nodes[node.index()].storage.make_durable(upto);
                    self.release_synced(node);
                }
            }
            Event::ClientDeadline { client, sequence } => self.complete(client, sequence, None),
        }
    }

    /// Calls a handler of a running node with a fresh context, then carries out its effects.
    fn dispatch(&mut self, id: ProcessId, handler: impl FnOnce(&mut N, &mut Context<'_, N>)) {
        let clock = self.clock_of(id);
        let mut outbox = std::mem::take(&mut self.outbox);
        let slot = &mut self.nodes[id.index()];
        let Some(state) = slot.state.as_mut() else {
            return;
        };
        let mut ctx = Context::new(
            id,
            &slot.peers,
            self.now,
            clock,
            &mut slot.rng,
            &mut slot.storage,
            &mut outbox,
        );
        handler(state, &mut ctx);
        for effect in outbox.drain(..) {
            self.apply(id, effect);
        }
        self.outbox = outbox;
    }

    fn apply(&mut self, node: ProcessId, effect: Effect<N>) {
        match effect {
            Effect::Send {
                to,
                message,
                when_durable,
            } => self.send_or_hold(node, to, Payload::Message(message), when_durable),
            Effect::Reply {
                request,
                reply,
                when_durable,
            } => self.send_or_hold(
                node,
                request.client,
                Payload::Reply(request, reply),
                when_durable,
            ),
            Effect::SetTimer { timer, after } => {
                let generation = self.next_timer_generation;
                self.next_timer_generation += 1;
                let slot = &mut self.nodes[node.index()];
                match slot.timers.iter_mut().find(|(t, _)| *t == timer) {
                    Some(entry) => entry.1 = generation,
                    None => slot.timers.push((timer.clone(), generation)),
                }
                let incarnation = slot.incarnation;
                self.schedule(
                    self.now + after,
                    Event::Timer {
                        node,
                        incarnation,
                        generation,
                        timer,
                    },
                );
            }
            Effect::CancelTimer { timer } => {
                self.nodes[node.index()].timers.retain(|(t, _)| *t != timer)
            }
            Effect::Sync => {
                let slot = &mut self.nodes[node.index()];
                let upto = slot.storage.written();
                if upto <= slot.sync_requested || slot.storage.is_durable(upto) {
                    return;
                }
                slot.sync_requested = upto;
                let incarnation = slot.incarnation;
                if self.sync_latency_ticks == 0 {
                    slot.storage.make_durable(upto);
                } else {
                    self.schedule(
                        self.now + self.sync_latency_ticks,
                        Event::SyncDone {
                            node,
                            incarnation,
                            upto,
                        },
                    );
                }
            }
            Effect::Annotate(text) => {
                if self.trace_level != TraceLevel::Off {
                    self.trace.events.push(TraceEvent::Annotate {
                        tick: self.now,
                        node,
                        text,
                    });
                }
            }
        }
    }

    fn send_or_hold(
        &mut self,
        from: ProcessId,
        to: ProcessId,
        payload: Payload<N>,
        when_durable: bool,
    ) {
        let slot = &mut self.nodes[from.index()];
        let after_write = slot.storage.written();
        if when_durable && !slot.storage.is_durable(after_write) {
            slot.awaiting_sync.push(AwaitingSync {
                after_write,
                to,
                payload,
            });
        } else {
            self.transmit(from, to, payload);
        }
    }

    /// Sends what a completed sync made safe to send.
    fn release_synced(&mut self, node: ProcessId) {
        let slot = &mut self.nodes[node.index()];
        let storage = &slot.storage;
        let (ready, waiting): (Vec<_>, Vec<_>) = slot
            .awaiting_sync
            .drain(..)
            .partition(|a| storage.is_durable(a.after_write));
        slot.awaiting_sync = waiting;
        for a in ready {
            self.transmit(node, a.to, a.payload);
        }
    }

    fn payload_text(payload: &Payload<N>) -> String {
        match payload {
            Payload::Message(m) => format!("{m:?}"),
            Payload::Request(_, op) => format!("{op:?}"),
            Payload::Reply(_, reply) => format!("{reply:?}"),
        }
    }

    fn kind_of(payload: &Payload<N>) -> &'static str {
        match payload {
            Payload::Message(m) => m.kind(),
            Payload::Request(_, op) => op.invocation().0,
            Payload::Reply(..) => "reply",
        }
    }

    /// Puts a payload on the wire: decides its fate and schedules its delivery.
    fn transmit(&mut self, from: ProcessId, to: ProcessId, payload: Payload<N>) {
        let id = self.next_message;
        self.next_message += 1;
        self.stats.sent += 1;
        let kind = Self::kind_of(&payload);
        if self.trace_level != TraceLevel::Off {
            let text = (self.trace_level == TraceLevel::Full).then(|| Self::payload_text(&payload));
            self.trace.events.push(TraceEvent::Send {
                tick: self.now,
                message: id,
                from,
                to,
                kind,
                payload: text,
            });
        }
        if from == to {
            self.schedule(
                self.now,
                Event::Deliver {
                    id,
                    from,
                    to,
                    payload,
                },
            );
            return;
        }
        match self
            .network
            .route(from.index(), to.index(), kind, &mut self.network_rng)
        {
            Route::Drop(reason) => self.record_drop(id, reason),
            Route::Hold => self.held.entry((from, to)).or_default().push((id, payload)),
            Route::Deliver {
                after,
                duplicate_after,
            } => {
                if let Some(again) = duplicate_after {
                    self.deliver_at(self.now + again, id, from, to, payload.clone());
                }
                self.deliver_at(self.now + after, id, from, to, payload);
            }
        }
    }

    /// Schedules the delivery of a message already on the wire.
    fn deliver_at(
        &mut self,
        tick: Tick,
        id: MessageId,
        from: ProcessId,
        to: ProcessId,
        payload: Payload<N>,
    ) {
        self.schedule(
            tick,
            Event::Deliver {
                id,
                from,
                to,
                payload,
            },
        );
    }

    fn record_drop(&mut self, message: MessageId, reason: DropReason) {
        self.stats.dropped += 1;
        if self.trace_level != TraceLevel::Off {
            self.trace.events.push(TraceEvent::Drop {
                tick: self.now,
                message,
                reason,
            });
        }
    }

    fn record_fault(&mut self, fault: Fault) {
        if self.trace_level != TraceLevel::Off {
            self.trace.events.push(TraceEvent::Fault {
                tick: self.now,
                fault,
            });
        }
    }
}
