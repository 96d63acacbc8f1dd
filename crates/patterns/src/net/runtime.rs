//! One node on tokio: the network runtime's side of [`Host`], as the simulator's `SimRuntime` is
//! the simulator's.
//!
//! A node is one thread running a single-threaded tokio runtime with a `LocalSet`: its state and
//! its coroutines are single-threaded ([`crate::node::Shared`] is an `Rc`), so every task of the
//! node (the node loop, the listener, one reader per connection, one writer per peer and per
//! client) stays on that thread. The node loop takes one event at a time, calls the handler through
//! the host, and carries out the effects: messages are encoded and queued for a peer's writer,
//! replies for the client's connection, timers go into a heap read by the loop, and a sync is done
//! after the batch of events that asked for it (one fsync for many writes: group commit).
//!
//! Stopping the node drops the runtime and with it every task and socket: nothing outlives it, and
//! what the write-ahead log had not synced is lost, as when a process is killed.

use super::frame::{Frame, encode, read_frame};
use super::journal::Journal;
use super::settings::Settings;
use super::storage::{FileStorage, bump_incarnation, storage_dir};
use crate::node::{Action, Host, Node, NodeInit, ProcessId, ReplyOf, RequestId, Runtime, Tick};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{LocalSet, spawn_local};

/// Builds a node, at the start and at every restart, on the node's own thread.
pub type Factory<N> = Arc<dyn Fn(&NodeInit) -> N + Send + Sync>;

/// The wire frames of a node type.
pub(crate) type FrameOf<N> = Frame<<N as Node>::Message, <N as Node>::Operation, ReplyOf<N>>;

/// Everything a node thread needs to boot.
pub(crate) struct NodeSpec<N: Node> {
    pub init: NodeInit,
    /// Where every node listens, by id.
    pub addresses: Arc<Vec<SocketAddr>>,
    /// The node's own directory: storage and incarnation.
    pub dir: PathBuf,
    pub settings: Settings,
    pub factory: Factory<N>,
    pub journal: Journal,
}

/// What the node loop takes, one at a time.
enum Inbound<N: Node> {
    Message {
        from: ProcessId,
        message: N::Message,
    },
    Request {
        request: RequestId,
        operation: N::Operation,
        reply_to: mpsc::UnboundedSender<Vec<u8>>,
    },
}

/// A node running on its thread.
pub(crate) struct NodeThread {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NodeThread {
    /// Whether the node is still serving (it stops by itself only when its disk fails).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the node at once, as a kill would, and waits until its thread has dropped every
    /// task and socket.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for NodeThread {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Starts a node on a thread of its own, serving on `listener`; returns once it serves (its
/// incarnation is durable and its storage replayed) or failed to boot.
pub(crate) fn spawn_node<N: Node + 'static>(
    spec: NodeSpec<N>,
    listener: std::net::TcpListener,
) -> Result<NodeThread, String> {
    let (stop, stopped) = oneshot::channel();
    let (ready, booted) = std::sync::mpsc::channel();
    let name = spec.init.name.clone();
    let thread = std::thread::Builder::new()
        .name(format!("node-{name}"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(format!("no tokio runtime: {e}")));
                    return;
                }
            };
            let local = LocalSet::new();
            local.block_on(&runtime, serve(spec, listener, stopped, ready));
            // `local` and `runtime` drop here: every task of the node, every socket with them.
        })
        .map_err(|e| format!("cannot start a thread for {name}: {e}"))?;
    let mut node = NodeThread {
        stop: Some(stop),
        thread: Some(thread),
    };
    match booted.recv() {
        Ok(Ok(())) => Ok(node),
        Ok(Err(reason)) => {
            node.halt();
            Err(reason)
        }
        Err(_) => {
            node.halt();
            Err(format!("{name} stopped while booting"))
        }
    }
}

/// The node's side of its effects: the simulator's `SimRuntime`, for sockets and a clock.
struct Wiring<N: Node> {
    id: ProcessId,
    name: String,
    epoch: Instant,
    tick: Duration,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    /// A queue to each peer's writer (`None` for this node).
    peers: Vec<Option<mpsc::UnboundedSender<Vec<u8>>>>,
    /// The connection each client last sent a request on.
    clients: HashMap<ProcessId, mpsc::UnboundedSender<Vec<u8>>>,
    /// This node's own queue: a message to itself goes round the loop like any other.
    inbox: mpsc::UnboundedSender<Inbound<N>>,
    sync_wanted: bool,
    journal: Journal,
}

impl<N: Node> Wiring<N> {
    fn now(&self) -> Tick {
        (self.epoch.elapsed().as_nanos() / self.tick.as_nanos().max(1)) as Tick
    }

    fn encode(&self, frame: &FrameOf<N>) -> Option<Vec<u8>> {
        match encode(frame) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.journal
                    .error(&self.name, format!("dropped an outgoing frame: {e}"));
                None
            }
        }
    }
}

impl<N: Node> Runtime<N> for Wiring<N> {
    fn transmit(&mut self, from: ProcessId, action: Action<N>) {
        match action {
            Action::Send { to, message } if to == self.id => {
                let _ = self.inbox.send(Inbound::Message { from, message });
            }
            Action::Send { to, message } => {
                let Some(Some(queue)) = self.peers.get(to.index()) else {
                    self.journal
                        .error(&self.name, format!("a message to unknown node #{}", to.0));
                    return;
                };
                if let Some(bytes) = self.encode(&Frame::Message(message)) {
                    let _ = queue.send(bytes);
                }
            }
            Action::Reply { request, reply } => {
                let Some(bytes) = self.encode(&Frame::Reply { request, reply }) else {
                    return;
                };
                let gone = self
                    .clients
                    .get(&request.client)
                    .is_some_and(|queue| queue.send(bytes).is_err());
                if gone {
                    self.clients.remove(&request.client);
                }
            }
        }
    }

    fn schedule(&mut self, _node: ProcessId, generation: u64, after: Tick) {
        let at = Instant::now()
            + self
                .tick
                .saturating_mul(after.min(u64::from(u32::MAX)) as u32);
        self.timers.push(Reverse((at, generation)));
    }

    fn start_sync(&mut self, _node: ProcessId, _upto: u64) -> bool {
        self.sync_wanted = true;
        false
    }

    fn annotate(&mut self, _node: ProcessId, _text: String) {
        // The network runtime keeps no trace: diagrams come from the simulator.
    }
}

fn clock_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The node's life: boot, serve until told to stop or the disk fails.
async fn serve<N: Node + 'static>(
    spec: NodeSpec<N>,
    listener: std::net::TcpListener,
    mut stop: oneshot::Receiver<()>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    let NodeSpec {
        init,
        addresses,
        dir,
        settings,
        factory,
        journal,
    } = spec;
    let name = init.name.clone();
    // The incarnation is durable before anything else happens: ids of this life are new.
    let incarnation = match bump_incarnation(&dir) {
        Ok(previous) => previous,
        Err(e) => {
            let _ = ready.send(Err(format!("{name}: incarnation file: {e}")));
            return;
        }
    };
    let storage = match FileStorage::open(storage_dir(&dir), settings.fsync) {
        Ok(storage) => storage,
        Err(e) => {
            let _ = ready.send(Err(format!("{name}: storage: {e}")));
            return;
        }
    };
    let listener = match listener
        .set_nonblocking(true)
        .and_then(|()| TcpListener::from_std(listener))
    {
        Ok(listener) => listener,
        Err(e) => {
            let _ = ready.send(Err(format!("{name}: listener: {e}")));
            return;
        }
    };
    let (inbox, mut events) = mpsc::unbounded_channel();
    let node_count = addresses.len();
    spawn_local(accept::<N>(
        listener,
        inbox.clone(),
        init.id,
        node_count,
        settings.frame_bytes_max,
        (name.clone(), journal.clone()),
    ));
    let hello = encode(&FrameOf::<N>::Hello { from: init.id });
    let peers = addresses
        .iter()
        .enumerate()
        .map(|(i, &address)| {
            (i != init.id.index()).then(|| {
                let (queue, frames) = mpsc::unbounded_channel();
                let hello = hello.as_ref().map_or_else(|_| Vec::new(), Clone::clone);
                spawn_local(peer_writer(address, hello, frames));
                queue
            })
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(
        settings.seed ^ (incarnation + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    rng.set_stream(init.id.index() as u64 + 1);
    let mut host = Host::new(init.clone(), storage, rng).with_incarnation(incarnation);
    let mut wiring = Wiring {
        id: init.id,
        name: name.clone(),
        epoch: Instant::now(),
        tick: settings.tick,
        timers: BinaryHeap::new(),
        peers,
        clients: HashMap::new(),
        inbox,
        sync_wanted: false,
        journal: journal.clone(),
    };
    let node = factory(&init);
    let now = wiring.now();
    host.start(node, &mut wiring, now, clock_millis());
    let _ = ready.send(Ok(()));
    const BATCH: usize = 64;
    loop {
        // Group commit: one sync for every write of the batch of events just handled.
        while wiring.sync_wanted {
            wiring.sync_wanted = false;
            if let Err(e) = host.storage_mut().sync() {
                journal.error(&name, format!("storage failed, the node stops: {e}"));
                return;
            }
            let now = wiring.now();
            host.synced_at(&mut wiring, now, clock_millis());
        }
        if let Some(failure) = host.storage().failure() {
            journal.error(&name, format!("storage failed, the node stops: {failure}"));
            return;
        }
        let next_timer = wiring.timers.peek().map(|Reverse((at, _))| *at);
        let timer = async {
            match next_timer {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = &mut stop => return,
            event = events.recv() => {
                let Some(event) = event else { return };
                handle(&mut host, &mut wiring, event);
                for _ in 1..BATCH {
                    match events.try_recv() {
                        Ok(event) => handle(&mut host, &mut wiring, event),
                        Err(_) => break,
                    }
                }
            }
            () = timer => fire_due(&mut host, &mut wiring),
        }
    }
}

fn handle<N: Node>(host: &mut Host<N, FileStorage>, wiring: &mut Wiring<N>, event: Inbound<N>) {
    let now = wiring.now();
    match event {
        Inbound::Message { from, message } => {
            host.call(wiring, now, clock_millis(), |node, ctx| {
                node.on_message(ctx, from, message)
            })
        }
        Inbound::Request {
            request,
            operation,
            reply_to,
        } => {
            wiring.clients.insert(request.client, reply_to);
            host.call(wiring, now, clock_millis(), |node, ctx| {
                node.on_request(ctx, request, operation)
            });
        }
    }
}

fn fire_due<N: Node>(host: &mut Host<N, FileStorage>, wiring: &mut Wiring<N>) {
    let due = Instant::now();
    while let Some(Reverse((at, generation))) = wiring.timers.peek().copied() {
        if at > due {
            break;
        }
        wiring.timers.pop();
        if let Some(key) = host.take_timer(generation) {
            let now = wiring.now();
            host.fire(wiring, now, clock_millis(), key);
        }
    }
}

/// Accepts connections for as long as the node runs.
async fn accept<N: Node + 'static>(
    listener: TcpListener,
    inbox: mpsc::UnboundedSender<Inbound<N>>,
    id: ProcessId,
    node_count: usize,
    frame_bytes_max: usize,
    (name, journal): (String, Journal),
) {
    loop {
        match listener.accept().await {
            Ok((stream, address)) => {
                let _ = stream.set_nodelay(true);
                let connection = Connection {
                    inbox: inbox.clone(),
                    id,
                    node_count,
                    frame_bytes_max,
                    address,
                    name: name.clone(),
                    journal: journal.clone(),
                };
                spawn_local(connection.serve(stream));
            }
            Err(e) => {
                journal.error(&name, format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// One inbound connection: a peer's messages, or a client's requests.
struct Connection<N: Node> {
    inbox: mpsc::UnboundedSender<Inbound<N>>,
    id: ProcessId,
    node_count: usize,
    frame_bytes_max: usize,
    address: SocketAddr,
    name: String,
    journal: Journal,
}

impl<N: Node + 'static> Connection<N> {
    /// Reads frames until the peer closes, or sends something this node refuses: then the error
    /// is logged and the connection closed; the node goes on serving everyone else.
    async fn serve(self, stream: TcpStream) {
        let (mut reader, writer) = stream.into_split();
        let mut writer = Some(writer);
        let mut buffer = Vec::new();
        let mut peer: Option<ProcessId> = None;
        // A client's connection: the queue its replies go to, and what stops their writer (it
        // closes when this reader returns, so the whole socket closes with it).
        let mut replies: Option<(mpsc::UnboundedSender<Vec<u8>>, oneshot::Sender<()>)> = None;
        loop {
            let frame =
                match read_frame::<FrameOf<N>, _>(&mut reader, self.frame_bytes_max, &mut buffer)
                    .await
                {
                    Ok(Some(frame)) => frame,
                    Ok(None) => return,
                    Err(e) => return self.refuse(e.to_string()),
                };
            match (frame, peer) {
                (Frame::Hello { from }, None) if replies.is_none() => {
                    if from.index() >= self.node_count || from == self.id {
                        return self.refuse(format!("hello from #{}, not a peer", from.0));
                    }
                    peer = Some(from);
                }
                (Frame::Message(message), Some(from)) => {
                    let _ = self.inbox.send(Inbound::Message { from, message });
                }
                (Frame::Request { request, operation }, None) => {
                    if replies.is_none() {
                        let Some(writer) = writer.take() else {
                            return;
                        };
                        let (queue, frames) = mpsc::unbounded_channel();
                        let (closed, closing) = oneshot::channel();
                        spawn_local(client_writer(writer, frames, closing));
                        replies = Some((queue, closed));
                    }
                    if let Some((queue, _)) = &replies {
                        let _ = self.inbox.send(Inbound::Request {
                            request,
                            operation,
                            reply_to: queue.clone(),
                        });
                    }
                }
                (frame, _) => {
                    let what = match frame {
                        Frame::Hello { .. } => "a second hello, or a hello after requests",
                        Frame::Message(_) => "a message before any hello",
                        Frame::Request { .. } => "a request on a peer's connection",
                        Frame::Reply { .. } => "a reply sent to a node",
                    };
                    return self.refuse(what.to_string());
                }
            }
        }
    }

    fn refuse(&self, reason: String) {
        self.journal.error(
            &self.name,
            format!("closed the connection from {}: {reason}", self.address),
        );
    }
}

/// Bytes queued for one socket are written in batches of up to this many.
const WRITE_BATCH_BYTES: usize = 64 << 10;

/// Takes whatever else is queued, up to a batch, after `first`.
fn batch(first: Vec<u8>, frames: &mut mpsc::UnboundedReceiver<Vec<u8>>) -> Vec<u8> {
    let mut bytes = first;
    while bytes.len() < WRITE_BATCH_BYTES {
        match frames.try_recv() {
            Ok(frame) => bytes.extend_from_slice(&frame),
            Err(_) => break,
        }
    }
    bytes
}

/// Writes a client's replies until the connection's reader stops or the client is gone.
async fn client_writer(
    mut writer: OwnedWriteHalf,
    mut frames: mpsc::UnboundedReceiver<Vec<u8>>,
    mut closing: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            biased;
            _ = &mut closing => return,
            frame = frames.recv() => {
                let Some(frame) = frame else { return };
                let bytes = batch(frame, &mut frames);
                if writer.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// How long a writer waits before it tries a peer that refused a connection again; messages for
/// it meanwhile are lost, as a network loses them.
const RECONNECT_AFTER: Duration = Duration::from_millis(50);

/// What woke a peer's writer.
enum Wake {
    Frame(Option<Vec<u8>>),
    /// The peer closed the connection or reset it (it never sends on this one): it was killed or
    /// restarted, so the next message needs a new connection.
    Closed,
}

/// Writes this node's messages to one peer, connecting (again) when needed. It also watches the
/// connection's read side, so that a peer that died is noticed before the next message is written
/// into a dead socket and lost.
async fn peer_writer(
    address: SocketAddr,
    hello: Vec<u8>,
    mut frames: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let mut link: Option<(OwnedReadHalf, OwnedWriteHalf)> = None;
    let mut retry_at = Instant::now();
    let mut probe = [0u8; 1];
    loop {
        let wake = match link.as_mut() {
            Some((reader, _)) => tokio::select! {
                frame = frames.recv() => Wake::Frame(frame),
                _ = reader.read(&mut probe) => Wake::Closed,
            },
            None => Wake::Frame(frames.recv().await),
        };
        let frame = match wake {
            Wake::Closed => {
                link = None;
                continue;
            }
            Wake::Frame(None) => return,
            Wake::Frame(Some(frame)) => frame,
        };
        let bytes = batch(frame, &mut frames);
        // One fresh connection is tried at once when the old one fails: a restarted peer gets
        // the message; a dead one makes the writer wait before trying again.
        for _ in 0..2 {
            if link.is_none() {
                if Instant::now() < retry_at {
                    break;
                }
                link = connect_peer(address, &hello).await;
                if link.is_none() {
                    retry_at = Instant::now() + RECONNECT_AFTER;
                    break;
                }
            }
            if let Some((_, writer)) = link.as_mut() {
                if writer.write_all(&bytes).await.is_ok() {
                    break;
                }
                link = None;
            }
        }
    }
}

async fn connect_peer(
    address: SocketAddr,
    hello: &[u8],
) -> Option<(OwnedReadHalf, OwnedWriteHalf)> {
    let stream = TcpStream::connect(address).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.into_split();
    writer.write_all(hello).await.ok()?;
    Some((reader, writer))
}
