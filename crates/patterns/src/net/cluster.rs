//! A loopback cluster a notebook cell can start, drive, kill, restart and stop.
//!
//! [`Cluster::start`] binds one listener per node on an ephemeral port of 127.0.0.1, gives each
//! node a directory, and starts each on a thread of its own (see the `runtime` module). Clients are the
//! simulator's ([`crate::sim::ClientPolicy`]: one operation at a time, retry and redirect rules,
//! `:info` when the outcome is unknown), over TCP: each operation's invocation is recorded just
//! before its request is written and its completion just after its reply is read, under one lock,
//! so the history is in real-time order and the checkers judge a real run as they judge a
//! simulated one.

use super::block_on;
use super::frame::{Frame, encode, read_frame};
use super::journal::{Journal, JournalEntry};
use super::runtime::{Factory, FrameOf, NodeSpec, NodeThread, spawn_node};
use super::settings::Settings;
use crate::history::{EventType, History};
use crate::node::{Node, NodeInit, ProcessId, ReplyOf, Tick};
use crate::sim::clients::{Clients, Next};
use crate::sim::{OpHandle, Outcome, node_name};
use crate::wal::ScratchDir;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// What went wrong with a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    Settings(String),
    /// A node could not be started (its port, its directory, its storage).
    Boot {
        node: String,
        reason: String,
    },
    UnknownProcess {
        name: String,
        known: Vec<String>,
    },
    /// Killing a node that is down, or restarting one that is up.
    State {
        node: String,
        state: &'static str,
    },
    Io(String),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Settings(reason) => write!(f, "invalid cluster settings: {reason}"),
            NetError::Boot { node, reason } => write!(f, "{node} did not start: {reason}"),
            NetError::UnknownProcess { name, known } => {
                write!(
                    f,
                    "no node or client named {name:?} (known: {})",
                    known.join(", ")
                )
            }
            NetError::State { node, state } => write!(f, "{node} is {state}"),
            NetError::Io(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for NetError {}

enum DataDir {
    Scratch(ScratchDir),
    Given(PathBuf),
}

impl DataDir {
    fn path(&self) -> &Path {
        match self {
            DataDir::Scratch(dir) => dir.path(),
            DataDir::Given(path) => path,
        }
    }
}

/// The clients' side: the simulator's client rules and the history they record.
struct Record<N: Node> {
    clients: Clients<N>,
    history: History,
}

/// A random workload for [`Cluster::run`].
pub struct Workload<O> {
    /// Operations to run in total.
    pub operations: usize,
    /// How many of the cluster's clients run them, concurrently (each one at a time).
    pub clients: usize,
    /// Draws the next operation.
    pub generator: Box<dyn FnMut(&mut ChaCha8Rng) -> O>,
    /// Kill a random node this often, and restart it after half as long (default: never). The
    /// first kill comes at the latest when half the operations have started, so a short run is
    /// not spared.
    pub kill_every: Option<Duration>,
}

impl<O> Workload<O> {
    /// `operations` operations drawn by `generator`, from every client of the cluster.
    pub fn new(operations: usize, generator: impl FnMut(&mut ChaCha8Rng) -> O + 'static) -> Self {
        Workload {
            operations,
            clients: usize::MAX,
            generator: Box::new(generator),
            kill_every: None,
        }
    }

    pub fn clients(mut self, clients: usize) -> Self {
        self.clients = clients;
        self
    }

    pub fn kill_every(mut self, every: Duration) -> Self {
        self.kill_every = Some(every);
        self
    }
}

/// What a workload did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunReport {
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
    /// Operations that found no node accepting connections, so never started.
    pub unavailable: usize,
    /// Nodes killed (and restarted) during the run.
    pub kills: usize,
    pub elapsed: Duration,
    /// Each completed operation's latency, in the order they completed.
    pub latencies: Vec<Duration>,
}

impl RunReport {
    pub fn operations_per_second(&self) -> f64 {
        let done = (self.ok + self.fail + self.info) as f64;
        done / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile (0..=1) of the latencies.
    pub fn latency_quantile(&self, q: f64) -> Duration {
        quantile(&self.latencies, q)
    }
}

/// The `q` quantile (0..=1) of `samples` (zero when there are none).
pub fn quantile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    sorted[rank]
}

/// A cluster of real nodes on loopback.
pub struct Cluster<N: Node> {
    settings: Settings,
    names: Vec<String>,
    addresses: Arc<Vec<SocketAddr>>,
    nodes: RefCell<Vec<Option<NodeThread>>>,
    factory: Factory<N>,
    journal: Journal,
    record: RefCell<Record<N>>,
    started: Instant,
    kills: Cell<usize>,
    dir: DataDir,
}

impl<N: Node + 'static> Cluster<N> {
    /// Starts `nodes` nodes with the default settings; `factory` builds a node at every start.
    pub fn start(
        nodes: usize,
        factory: impl Fn(&NodeInit) -> N + Send + Sync + 'static,
    ) -> Result<Cluster<N>, NetError> {
        Cluster::start_with(nodes, Settings::default(), factory)
    }

    /// Starts `nodes` nodes with `settings`.
    pub fn start_with(
        nodes: usize,
        settings: Settings,
        factory: impl Fn(&NodeInit) -> N + Send + Sync + 'static,
    ) -> Result<Cluster<N>, NetError> {
        if nodes == 0 || nodes + settings.clients.len() > usize::from(u16::MAX) {
            return Err(NetError::Settings(format!(
                "{nodes} nodes and {} clients",
                settings.clients.len()
            )));
        }
        if settings.tick.is_zero() {
            return Err(NetError::Settings("a tick must last longer than 0".into()));
        }
        let names: Vec<String> = (0..nodes).map(node_name).collect();
        for client in &settings.clients {
            if names.contains(client)
                || settings.clients.iter().filter(|c| *c == client).count() > 1
            {
                return Err(NetError::Settings(format!(
                    "the name {client:?} is used twice"
                )));
            }
        }
        let dir = match &settings.data_dir {
            Some(path) => {
                std::fs::create_dir_all(path)
                    .map_err(|e| NetError::Io(format!("{}: {e}", path.display())))?;
                DataDir::Given(path.clone())
            }
            None => DataDir::Scratch(
                ScratchDir::new("cluster").map_err(|e| NetError::Io(e.to_string()))?,
            ),
        };
        let mut listeners = Vec::new();
        for name in &names {
            let listener =
                std::net::TcpListener::bind(SocketAddr::new(settings.bind, 0)).map_err(|e| {
                    NetError::Boot {
                        node: name.clone(),
                        reason: format!("cannot listen on {}: {e}", settings.bind),
                    }
                })?;
            listeners.push(listener);
        }
        let addresses = listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| NetError::Io(e.to_string()))?;
        let journal = Journal::new(settings.log_to_stderr);
        let record = Record {
            clients: Clients::new(
                nodes,
                settings.clients.len(),
                settings.client_policy.clone(),
            ),
            history: History::new(),
        };
        let cluster = Cluster {
            names,
            addresses: Arc::new(addresses),
            nodes: RefCell::new((0..nodes).map(|_| None).collect()),
            factory: Arc::new(factory),
            journal,
            record: RefCell::new(record),
            started: Instant::now(),
            kills: Cell::new(0),
            dir,
            settings,
        };
        for (index, listener) in listeners.into_iter().enumerate() {
            cluster.launch(index, listener)?;
        }
        Ok(cluster)
    }

    fn launch(&self, index: usize, listener: std::net::TcpListener) -> Result<(), NetError> {
        let node_count = self.names.len();
        let init = NodeInit {
            id: ProcessId(index as u16),
            name: self.names[index].clone(),
            peers: (0..node_count)
                .filter(|&p| p != index)
                .map(|p| ProcessId(p as u16))
                .collect(),
        };
        let spec = NodeSpec {
            dir: self.dir.path().join(&self.names[index]),
            init,
            addresses: Arc::clone(&self.addresses),
            settings: self.settings.clone(),
            factory: Arc::clone(&self.factory),
            journal: self.journal.clone(),
        };
        let node = spawn_node(spec, listener).map_err(|reason| NetError::Boot {
            node: self.names[index].clone(),
            reason,
        })?;
        self.nodes.borrow_mut()[index] = Some(node);
        Ok(())
    }

    /// The node names, in declaration order.
    pub fn node_names(&self) -> &[String] {
        &self.names
    }

    /// The client names.
    pub fn client_names(&self) -> &[String] {
        &self.settings.clients
    }

    /// Where each node listens.
    pub fn addresses(&self) -> &[SocketAddr] {
        &self.addresses
    }

    /// Where the nodes keep their files.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// What the nodes reported: refused frames, failed disks, kills and restarts.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.journal.entries()
    }

    fn node_index(&self, name: &str) -> Result<usize, NetError> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| self.unknown(name))
    }

    fn unknown(&self, name: &str) -> NetError {
        NetError::UnknownProcess {
            name: name.to_string(),
            known: self
                .names
                .iter()
                .chain(&self.settings.clients)
                .cloned()
                .collect(),
        }
    }

    /// Whether the node serves.
    pub fn is_up(&self, name: &str) -> Result<bool, NetError> {
        let index = self.node_index(name)?;
        Ok(self.nodes.borrow()[index]
            .as_ref()
            .is_some_and(NodeThread::is_running))
    }

    /// Kills a node: its thread stops at once, its sockets close, what it had not synced is lost.
    pub fn kill(&self, name: &str) -> Result<(), NetError> {
        let index = self.node_index(name)?;
        let node = self.nodes.borrow_mut()[index].take();
        match node {
            Some(node) => {
                node.stop();
                self.kills.set(self.kills.get() + 1);
                self.journal.note(name, "killed".into());
                Ok(())
            }
            None => Err(NetError::State {
                node: name.to_string(),
                state: "down already",
            }),
        }
    }

    /// Restarts a killed node from its files, on the same address, as a new incarnation.
    pub fn restart(&self, name: &str) -> Result<(), NetError> {
        let index = self.node_index(name)?;
        if let Some(node) = &self.nodes.borrow()[index] {
            if node.is_running() {
                return Err(NetError::State {
                    node: name.to_string(),
                    state: "up",
                });
            }
        }
        if let Some(dead) = self.nodes.borrow_mut()[index].take() {
            dead.stop();
        }
        // The port was this node's a moment ago; on a busy machine someone may hold it briefly.
        let mut attempts = 0;
        let listener = loop {
            match std::net::TcpListener::bind(self.addresses[index]) {
                Ok(listener) => break listener,
                Err(e) if attempts < 50 => {
                    attempts += 1;
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(NetError::Boot {
                        node: name.to_string(),
                        reason: format!("cannot listen on {} again: {e}", self.addresses[index]),
                    });
                }
            }
        };
        self.launch(index, listener)?;
        self.journal.note(name, "restarted".into());
        Ok(())
    }

    /// Stops every node and waits for their threads: no task, socket or port is left behind.
    pub fn stop(self) {
        drop(self);
    }

    /// The history of every operation run so far, in real-time order.
    pub fn history(&self) -> History {
        self.record.borrow().history.clone()
    }

    /// Ticks since the cluster started (the clients' clock).
    fn now(&self) -> Tick {
        (self.started.elapsed().as_nanos() / self.settings.tick.as_nanos().max(1)) as Tick
    }

    fn client_id(&self, name: &str) -> Result<ProcessId, NetError> {
        self.settings
            .clients
            .iter()
            .position(|c| c == name)
            .map(|i| ProcessId((self.names.len() + i) as u16))
            .ok_or_else(|| self.unknown(name))
    }

    /// `client` runs one operation at `node` and waits for its outcome (recorded in the history).
    pub fn call(
        &self,
        client: &str,
        node: &str,
        operation: N::Operation,
    ) -> Result<Outcome<ReplyOf<N>>, NetError> {
        let client = self.client_id(client)?;
        let node = ProcessId(self.node_index(node)? as u16);
        block_on(async {
            let mut session = Session::new(client);
            let (handle, _) = self.operate(&mut session, node, operation).await?;
            Ok(self.record.borrow().clients.outcome(handle).cloned())
        })?
        .ok_or_else(|| NetError::Io("the operation ended without an outcome".into()))
    }

    /// Runs a workload: its clients each run one operation at a time at a random node until
    /// `operations` have run; with `kill_every`, a random node is killed and restarted meanwhile.
    pub fn run(&self, workload: Workload<N::Operation>) -> Result<RunReport, NetError> {
        let Workload {
            operations,
            clients,
            generator,
            kill_every,
        } = workload;
        let clients = clients.min(self.settings.clients.len()).max(1);
        let remaining = Cell::new(operations);
        let report = RefCell::new(RunReport::default());
        let generator = RefCell::new((generator, ChaCha8Rng::seed_from_u64(self.settings.seed)));
        let kills_before = self.kills.get();
        let begun = Instant::now();
        let result = block_on(async {
            let mut tasks: Vec<Task<'_, NetError>> = Vec::new();
            for c in 0..clients {
                let client = ProcessId((self.names.len() + c) as u16);
                let (remaining, generator, report) = (&remaining, &generator, &report);
                tasks.push(Box::pin(async move {
                    let mut session = Session::new(client);
                    let mut rng = ChaCha8Rng::seed_from_u64(self.settings.seed ^ (c as u64 + 1));
                    while remaining.get() > 0 {
                        remaining.set(remaining.get() - 1);
                        let operation = {
                            let (generate, rng) = &mut *generator.borrow_mut();
                            generate(rng)
                        };
                        let node = ProcessId(rng.random_range(0..self.names.len()) as u16);
                        let started = Instant::now();
                        match self.operate(&mut session, node, operation).await {
                            Ok((_, kind)) => {
                                let mut report = report.borrow_mut();
                                report.latencies.push(started.elapsed());
                                match kind {
                                    EventType::Ok => report.ok += 1,
                                    EventType::Fail => report.fail += 1,
                                    _ => report.info += 1,
                                }
                            }
                            Err(NetError::State { .. }) => {
                                report.borrow_mut().unavailable += 1;
                                tokio::time::sleep(self.settings.tick).await;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(())
                }));
            }
            if let Some(every) = kill_every {
                let remaining = &remaining;
                tasks.push(Box::pin(async move {
                    let mut rng = ChaCha8Rng::seed_from_u64(self.settings.seed ^ 0xdead);
                    let mut killed = false;
                    loop {
                        // Every `every`, and at the latest when half the operations have been
                        // handed out: a run asked to suffer kills suffers at least one.
                        let due = Instant::now() + every;
                        while Instant::now() < due && (killed || remaining.get() > operations / 2) {
                            if remaining.get() == 0 {
                                return Ok(());
                            }
                            tokio::time::sleep(self.settings.tick.min(every)).await;
                        }
                        if remaining.get() == 0 {
                            return Ok(());
                        }
                        killed = true;
                        let victim = self.names[rng.random_range(0..self.names.len())].clone();
                        self.kill(&victim)?;
                        tokio::time::sleep(every / 2).await;
                        self.restart(&victim)?;
                    }
                }));
            }
            join_all(tasks).await
        });
        let mut report = report.into_inner();
        report.elapsed = begun.elapsed();
        report.kills = self.kills.get() - kills_before;
        result.map(|()| report)
    }

    fn time_nanos(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// Runs one operation of `session`'s client, starting at `node`, to its end: the client
    /// rules decide on retries, redirects and the completion recorded, which is returned.
    async fn operate(
        &self,
        session: &mut Session,
        node: ProcessId,
        operation: N::Operation,
    ) -> Result<(OpHandle, EventType), NetError> {
        let client = session.client;
        let name = self.settings.clients[client.index() - self.names.len()].clone();
        // Find a node that takes connections before invoking: a request never sent is no
        // operation at all.
        let node = self.connect_any(session, node).await?;
        let (handle, request) = {
            let mut record = self.record.borrow_mut();
            let Record { clients, history } = &mut *record;
            let (handle, process, request) = clients
                .invoke(
                    client,
                    node,
                    operation.clone(),
                    || history.next_process_number(),
                    &name,
                )
                .map_err(|e| NetError::Io(e.to_string()))?;
            let (f, value) = crate::node::Operation::invocation(&operation);
            let time = Some(self.time_nanos());
            history.record_as(process, &name, EventType::Invoke, f, value, time);
            (handle, request)
        };
        let (mut target, mut attempt, mut operation) = (node, 1u32, operation);
        loop {
            let reply = self
                .attempt(session, target, request, operation.clone())
                .await;
            let now = self.now();
            let next = {
                let mut record = self.record.borrow_mut();
                match reply {
                    Some(reply) => record.clients.on_reply(request, reply, now),
                    None => record
                        .clients
                        .on_deadline(client, request.sequence, attempt, now),
                }
            };
            match next {
                // The client rules had no operation in flight: nothing is left to record.
                Next::Nothing => return Ok((handle, EventType::Info)),
                Next::Send {
                    operation: again,
                    node,
                    attempt: next_attempt,
                    ..
                } => {
                    (target, attempt, operation) = (node, next_attempt, again);
                }
                Next::Complete {
                    process,
                    f,
                    completion: (kind, value),
                } => {
                    let time = Some(self.time_nanos());
                    self.record
                        .borrow_mut()
                        .history
                        .record_as(process, &name, kind, f, value, time);
                    return Ok((handle, kind));
                }
            }
        }
    }

    /// Connects to `first`, or to the next node that accepts; `State` if none does.
    async fn connect_any(
        &self,
        session: &mut Session,
        first: ProcessId,
    ) -> Result<ProcessId, NetError> {
        let count = self.names.len();
        for step in 0..count {
            let node = ProcessId(((first.index() + step) % count) as u16);
            if session.connection(node, &self.addresses).await.is_some() {
                return Ok(node);
            }
        }
        Err(NetError::State {
            node: "every node".into(),
            state: "refusing connections",
        })
    }

    /// Sends one attempt and waits for its reply until the attempt's deadline; `None` when none
    /// came (timeout, or the connection broke: the request may or may not have been executed).
    async fn attempt(
        &self,
        session: &mut Session,
        node: ProcessId,
        request: crate::node::RequestId,
        operation: N::Operation,
    ) -> Option<ReplyOf<N>> {
        let timeout = self.settings.tick.saturating_mul(
            self.settings
                .client_policy
                .attempt_timeout_ticks
                .min(u64::from(u32::MAX)) as u32,
        );
        let deadline = Instant::now() + timeout;
        let frame = encode(&FrameOf::<N>::Request { request, operation }).ok()?;
        let limit = self.settings.frame_bytes_max;
        let connection = session.connection(node, &self.addresses).await?;
        if connection.stream.write_all(&frame).await.is_err() {
            session.connections.remove(&node);
            return None;
        }
        loop {
            let read =
                read_frame::<FrameOf<N>, _>(&mut connection.stream, limit, &mut connection.buffer);
            match tokio::time::timeout_at(deadline.into(), read).await {
                Ok(Ok(Some(Frame::Reply {
                    request: answered,
                    reply,
                }))) if answered == request => {
                    return Some(reply);
                }
                // A late reply to an earlier operation of this client: not this one's.
                Ok(Ok(Some(Frame::Reply { .. }))) => continue,
                // Timed out mid-frame, closed, or a frame a node must not send: this connection
                // cannot be trusted to be at a frame boundary any more.
                _ => {
                    session.connections.remove(&node);
                    return None;
                }
            }
        }
    }
}

impl<N: Node> Drop for Cluster<N> {
    fn drop(&mut self) {
        for node in self.nodes.get_mut().iter_mut() {
            if let Some(node) = node.take() {
                node.stop();
            }
        }
    }
}

/// A client's open connections, one per node it has talked to.
struct Session {
    client: ProcessId,
    connections: HashMap<ProcessId, ClientConnection>,
}

struct ClientConnection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Session {
    fn new(client: ProcessId) -> Session {
        Session {
            client,
            connections: HashMap::new(),
        }
    }

    async fn connection(
        &mut self,
        node: ProcessId,
        addresses: &[SocketAddr],
    ) -> Option<&mut ClientConnection> {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.connections.entry(node) {
            let stream = TcpStream::connect(addresses[node.index()]).await.ok()?;
            let _ = stream.set_nodelay(true);
            slot.insert(ClientConnection {
                stream,
                buffer: Vec::new(),
            });
        }
        self.connections.get_mut(&node)
    }
}

/// A client's (or the killer's) future in a workload.
type Task<'a, E> = Pin<Box<dyn Future<Output = Result<(), E>> + 'a>>;

/// Runs futures concurrently on this thread until all have finished, or one failed.
async fn join_all<'a, E>(mut tasks: Vec<Task<'a, E>>) -> Result<(), E> {
    poll_fn(move |cx| {
        let mut index = 0;
        while index < tasks.len() {
            match tasks[index].as_mut().poll(cx) {
                Poll::Ready(Ok(())) => drop(tasks.swap_remove(index)),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => index += 1,
            }
        }
        if tasks.is_empty() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await
}
