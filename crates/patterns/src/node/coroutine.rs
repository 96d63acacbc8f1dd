//! Coroutines: a coordinator written as straight-line `async` code (spec §2.6, the reference's
//! continuations example), next to the same coordinator written as a state machine.
//!
//! A state-machine coordinator keeps each round in a [`Pending`] entry and continues it from
//! whichever handler the next reply reaches. A coroutine keeps the round in its own local
//! variables instead and reads top to bottom:
//!
//! ```text
//! let acks = io.request(io.cluster(), timeout, |c| Set { c, key, value })
//!     .quorum(Quorum::majority(n), |_| true)
//!     .await;
//! io.reply(request, if acks.state() == QuorumState::Reached { Written } else { failed });
//! ```
//!
//! What makes that possible, and what it costs, is all in this module:
//! * the node's state lives in a [`Shared`] handle (one thread, no locks) that the node's
//!   handlers and its coroutines both hold; a borrow ends before the next `.await`, by
//!   construction ([`Shared::with_mut`] takes a closure);
//! * [`Context::spawn`] starts a coroutine; the host polls it right after the handler returns,
//!   on a deterministic single-threaded executor: tasks run in the order they were woken, inside
//!   the call that woke them, so the same seed gives the same run in the simulator (no tokio
//!   there), and the same code runs inside a node's task on the network runtime;
//! * a coroutine asks for effects through its [`AsyncContext`], which records them in order; the
//!   host carries them out exactly as it carries out a handler's;
//! * a [`Round`] is one correlation id with one deadline, made by the node's own [`Pending`] (so
//!   ids stay unique across restarts and deadlines are the runtime's timers); the node's
//!   `on_message` hands each reply to it with [`Context::resume`], and counting a quorum is
//!   [`Quorum`]'s job, as in a state machine;
//! * a crash drops every coroutine with the rest of the volatile state.
//!
//! A coroutine must only await what its [`AsyncContext`] and [`Round`]s give it: a timer or a
//! socket of some runtime would make a simulated run depend on the wall clock.

use super::{Context, Correlation, Effect, Node, Pending, ProcessId, Quorum, QuorumState};
use super::{ReplyOf, RequestId, Storage, Tick};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};

/// State shared by a node's handlers and its coroutines, on one thread.
///
/// Not `Clone` on purpose: a node that derived `Clone` over a shared handle would share its
/// state with its copy (the simulator's fork). [`Shared::handle`] makes the second handle a
/// coroutine takes, visibly.
pub struct Shared<T>(Rc<RefCell<T>>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Shared<T> {
        Shared(Rc::new(RefCell::new(value)))
    }

    /// Another handle on the same state, for a coroutine to hold.
    pub fn handle(&self) -> Shared<T> {
        Shared(Rc::clone(&self.0))
    }

    /// Reads the state. The borrow ends with the closure, so it never lives across an `.await`.
    pub fn with<R>(&self, read: impl FnOnce(&T) -> R) -> R {
        read(&self.0.borrow())
    }

    /// Changes the state; the borrow ends with the closure.
    pub fn with_mut<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        change(&mut self.0.borrow_mut())
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.try_borrow() {
            Ok(state) => f.debug_tuple("Shared").field(&*state).finish(),
            Err(_) => f.write_str("Shared(<borrowed>)"),
        }
    }
}

type Task = Pin<Box<dyn Future<Output = ()>>>;
type MakeMessage<N> = Box<dyn Fn(Correlation) -> <N as Node>::Message>;
type MakeOneMessage<N> = Box<dyn FnOnce(Correlation) -> <N as Node>::Message>;
type StorageWrite = Box<dyn FnOnce(&mut dyn Storage)>;

/// The replies of one round, as they arrive, until its deadline passes or it is dropped.
struct Inbox<N: Node + ?Sized> {
    correlation: Option<Correlation>,
    replies: VecDeque<(ProcessId, N::Message)>,
    /// The deadline passed (or the round closed): no more replies will come.
    closed: bool,
    waker: Option<Waker>,
}

impl<N: Node + ?Sized> Inbox<N> {
    fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// One-shot signal: "every write before the sync you asked for is durable".
struct Signal {
    fired: bool,
    waker: Option<Waker>,
}

/// A coroutine waiting for its writes to be durable ([`AsyncContext::sync`]): the host fires it
/// when its storage says so.
pub struct Wakeup(Rc<RefCell<Signal>>);

impl Wakeup {
    pub(crate) fn fire(self) {
        let mut signal = self.0.borrow_mut();
        signal.fired = true;
        if let Some(waker) = signal.waker.take() {
            waker.wake();
        }
    }
}

impl fmt::Debug for Wakeup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Wakeup")
    }
}

/// What a coroutine asked for, carried out by the host in the order asked.
enum Command<N: Node + ?Sized> {
    Effect(Effect<N>),
    Open {
        inbox: Rc<RefCell<Inbox<N>>>,
        to: Vec<ProcessId>,
        timeout_ticks: Tick,
        message: MakeMessage<N>,
    },
    SendInRound {
        inbox: Rc<RefCell<Inbox<N>>>,
        to: ProcessId,
        message: MakeOneMessage<N>,
    },
    Close(Rc<RefCell<Inbox<N>>>),
    Write(StorageWrite),
    WaitDurable(Wakeup),
}

/// What a coroutine can see of its node without a handler's context: refreshed by the host
/// before every poll.
#[derive(Clone, Debug, Default)]
struct View {
    id: Option<ProcessId>,
    peers: Vec<ProcessId>,
    now: Tick,
    clock_millis: i64,
    incarnation: u64,
}

struct Mailbox<N: Node + ?Sized> {
    view: View,
    commands: VecDeque<Command<N>>,
}

/// Wakes a task by queueing its number; the queue is only ever touched on the node's thread, the
/// mutex is what `Waker` demands.
struct TaskWaker {
    task: u64,
    ready: Arc<Mutex<VecDeque<u64>>>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        if !ready.contains(&self.task) {
            ready.push_back(self.task);
        }
    }
}

/// A node's coroutines and the rounds they wait on: the executor inside a [`super::Host`].
pub struct Coroutines<N: Node + ?Sized> {
    tasks: BTreeMap<u64, Task>,
    next_task: u64,
    ready: Arc<Mutex<VecDeque<u64>>>,
    mailbox: Rc<RefCell<Mailbox<N>>>,
    rounds: Pending<Rc<RefCell<Inbox<N>>>>,
}

impl<N: Node + ?Sized> Default for Coroutines<N> {
    fn default() -> Self {
        Coroutines {
            tasks: BTreeMap::new(),
            next_task: 0,
            ready: Arc::new(Mutex::new(VecDeque::new())),
            mailbox: Rc::new(RefCell::new(Mailbox {
                view: View::default(),
                commands: VecDeque::new(),
            })),
            rounds: Pending::new(),
        }
    }
}

impl<N: Node + ?Sized> Coroutines<N> {
    pub fn new() -> Coroutines<N> {
        Coroutines::default()
    }

    /// Coroutines that have not finished.
    pub fn running(&self) -> usize {
        self.tasks.len()
    }

    /// Rounds whose deadline has not passed and that are still held.
    pub fn rounds(&self) -> usize {
        self.rounds.len()
    }

    /// Whether some coroutine was woken and waits to be polled. A node without coroutines (most
    /// of them) never takes the lock: handlers run on the simulator's hot path.
    #[inline]
    pub fn has_ready(&self) -> bool {
        !self.tasks.is_empty()
            && !self
                .ready
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
    }

    /// A copy for a forked simulation. A future cannot be copied, so a host is only forked
    /// between coroutines.
    pub(crate) fn fork(&self) -> Coroutines<N> {
        assert!(
            self.tasks.is_empty(),
            "a node cannot be forked while {} coroutine(s) run: a future cannot be copied",
            self.tasks.len()
        );
        Coroutines::new()
    }

    fn pop_ready(&self) -> Option<u64> {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    fn pop_command(&self) -> Option<Command<N>> {
        self.mailbox.borrow_mut().commands.pop_front()
    }
}

impl<N: Node + ?Sized> Context<'_, N> {
    /// Starts a coroutine: `coroutine` gets the node's [`AsyncContext`] and returns the future to
    /// run. It first runs right after this handler returns, and then whenever what it awaits is
    /// ready; a crash drops it.
    pub fn spawn<F, Fut>(&mut self, coroutine: F)
    where
        F: FnOnce(AsyncContext<N>) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let io = AsyncContext {
            mailbox: Rc::clone(&self.coroutines.mailbox),
        };
        let task = self.coroutines.next_task;
        self.coroutines.next_task += 1;
        self.coroutines.tasks.insert(task, Box::pin(coroutine(io)));
        self.coroutines
            .ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(task);
    }

    /// Hands a reply to the coroutine whose [`Round`] has this correlation id. Returns `false` if
    /// none waits for it (a late reply, a duplicate, or one for a state-machine round): the
    /// handler may then treat the message itself.
    pub fn resume(&mut self, correlation: Correlation, from: ProcessId, reply: N::Message) -> bool {
        let Some(inbox) = self.coroutines.rounds.get(correlation) else {
            return false;
        };
        let mut inbox = inbox.borrow_mut();
        inbox.replies.push_back((from, reply));
        inbox.wake();
        true
    }

    /// A deadline passed: if it is a coroutine's round, closes it and returns `true`.
    pub(crate) fn expire_round(&mut self, correlation: Correlation) -> bool {
        let Some(inbox) = self.coroutines.rounds.take_expired(correlation) else {
            return false;
        };
        let mut inbox = inbox.borrow_mut();
        inbox.closed = true;
        inbox.wake();
        true
    }

    /// Polls every woken coroutine, in the order they were woken, and carries out what each asked
    /// for before polling the next one.
    #[inline]
    pub(crate) fn run_coroutines(&mut self) {
        if !self.coroutines.tasks.is_empty() {
            self.poll_coroutines();
        }
    }

    fn poll_coroutines(&mut self) {
        while let Some(id) = self.coroutines.pop_ready() {
            let Some(mut task) = self.coroutines.tasks.remove(&id) else {
                continue; // finished already; a stale wake-up
            };
            self.coroutines.mailbox.borrow_mut().view = View {
                id: Some(self.id()),
                peers: self.peers().to_vec(),
                now: self.now(),
                clock_millis: self.clock_millis(),
                incarnation: self.incarnation(),
            };
            let waker = Waker::from(Arc::new(TaskWaker {
                task: id,
                ready: Arc::clone(&self.coroutines.ready),
            }));
            let poll = task
                .as_mut()
                .poll(&mut std::task::Context::from_waker(&waker));
            match poll {
                Poll::Pending => {
                    self.coroutines.tasks.insert(id, task);
                }
                // Dropping a finished task drops its rounds, which queue their closing.
                Poll::Ready(()) => drop(task),
            }
            self.carry_out_commands();
        }
    }

    fn carry_out_commands(&mut self) {
        while let Some(command) = self.coroutines.pop_command() {
            match command {
                Command::Effect(effect) => self.push(effect),
                Command::Open {
                    inbox,
                    to,
                    timeout_ticks,
                    message,
                } => {
                    let mut rounds = std::mem::take(&mut self.coroutines.rounds);
                    let correlation = rounds.insert(self, timeout_ticks, Rc::clone(&inbox));
                    self.coroutines.rounds = rounds;
                    inbox.borrow_mut().correlation = Some(correlation);
                    for to in to {
                        self.send(to, message(correlation));
                    }
                }
                Command::SendInRound { inbox, to, message } => {
                    let inbox = inbox.borrow();
                    if let (Some(correlation), false) = (inbox.correlation, inbox.closed) {
                        self.send(to, message(correlation));
                    }
                }
                Command::Close(inbox) => {
                    let correlation = inbox.borrow().correlation;
                    if let Some(correlation) = correlation {
                        let mut rounds = std::mem::take(&mut self.coroutines.rounds);
                        rounds.remove(self, correlation);
                        self.coroutines.rounds = rounds;
                    }
                }
                Command::Write(write) => write(self.storage()),
                Command::WaitDurable(wakeup) => self.push(Effect::WakeWhenDurable(wakeup)),
            }
        }
    }
}

/// A coroutine's handle on its node: what a handler's [`Context`] offers, recorded now and carried
/// out by the host in order, plus rounds and syncs to await.
pub struct AsyncContext<N: Node + ?Sized> {
    mailbox: Rc<RefCell<Mailbox<N>>>,
}

impl<N: Node + ?Sized> Clone for AsyncContext<N> {
    fn clone(&self) -> Self {
        AsyncContext {
            mailbox: Rc::clone(&self.mailbox),
        }
    }
}

impl<N: Node + ?Sized> AsyncContext<N> {
    fn view<R>(&self, read: impl FnOnce(&View) -> R) -> R {
        read(&self.mailbox.borrow().view)
    }

    fn command(&self, command: Command<N>) {
        self.mailbox.borrow_mut().commands.push_back(command);
    }

    fn effect(&self, effect: Effect<N>) {
        self.command(Command::Effect(effect));
    }

    /// This node.
    pub fn id(&self) -> ProcessId {
        self.view(|v| v.id.expect("a coroutine only runs inside its node"))
    }

    /// The other nodes, in declaration order.
    pub fn peers(&self) -> Vec<ProcessId> {
        self.view(|v| v.peers.clone())
    }

    /// Every node, this one included, in declaration order.
    pub fn cluster(&self) -> Vec<ProcessId> {
        let mut all = self.peers();
        all.push(self.id());
        all.sort();
        all
    }

    pub fn cluster_size(&self) -> usize {
        self.view(|v| v.peers.len() + 1)
    }

    /// Logical time when the coroutine was last resumed.
    pub fn now(&self) -> Tick {
        self.view(|v| v.now)
    }

    /// The node's wall clock when the coroutine was last resumed.
    pub fn clock_millis(&self) -> i64 {
        self.view(|v| v.clock_millis)
    }

    pub fn incarnation(&self) -> u64 {
        self.view(|v| v.incarnation)
    }

    pub fn send(&self, to: ProcessId, message: N::Message) {
        self.effect(Effect::Send {
            to,
            message,
            when_durable: false,
        });
    }

    /// Sends once every storage write made so far is durable (the write-ahead rule).
    pub fn send_when_durable(&self, to: ProcessId, message: N::Message) {
        self.effect(Effect::Sync);
        self.effect(Effect::Send {
            to,
            message,
            when_durable: true,
        });
    }

    /// Sends to every peer, in declaration order.
    pub fn broadcast(&self, message: N::Message) {
        for to in self.peers() {
            self.send(to, message.clone());
        }
    }

    pub fn reply(&self, request: RequestId, reply: ReplyOf<N>) {
        self.effect(Effect::Reply {
            request,
            reply,
            when_durable: false,
        });
    }

    /// Answers once every storage write made so far is durable.
    pub fn reply_when_durable(&self, request: RequestId, reply: ReplyOf<N>) {
        self.effect(Effect::Sync);
        self.effect(Effect::Reply {
            request,
            reply,
            when_durable: true,
        });
    }

    pub fn annotate(&self, note: impl Into<String>) {
        self.effect(Effect::Annotate(note.into()));
    }

    /// Writes to the node's storage (volatile until a sync), in order with everything else the
    /// coroutine asks for.
    pub fn write(&self, write: impl FnOnce(&mut dyn Storage) + 'static) {
        self.command(Command::Write(Box::new(write)));
    }

    /// Makes every storage write so far durable and waits until it is.
    pub fn sync(&self) -> impl Future<Output = ()> + 'static {
        let signal = Rc::new(RefCell::new(Signal {
            fired: false,
            waker: None,
        }));
        self.effect(Effect::Sync);
        self.command(Command::WaitDurable(Wakeup(Rc::clone(&signal))));
        poll_fn(move |cx| {
            let mut signal = signal.borrow_mut();
            if signal.fired {
                Poll::Ready(())
            } else {
                signal.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }

    /// Sends `message(correlation)` to each node of `to` (this one included, if named) and
    /// returns the round that collects the replies, until `timeout_ticks` pass. The correlation
    /// id and the deadline are the node's [`Pending`]'s.
    pub fn request(
        &self,
        to: impl IntoIterator<Item = ProcessId>,
        timeout_ticks: Tick,
        message: impl Fn(Correlation) -> N::Message + 'static,
    ) -> Round<N> {
        let inbox = Rc::new(RefCell::new(Inbox {
            correlation: None,
            replies: VecDeque::new(),
            closed: false,
            waker: None,
        }));
        self.command(Command::Open {
            inbox: Rc::clone(&inbox),
            to: to.into_iter().collect(),
            timeout_ticks,
            message: Box::new(message),
        });
        Round {
            mailbox: Rc::clone(&self.mailbox),
            inbox,
        }
    }

    /// Waits `ticks` ticks: a round that asks nobody.
    pub async fn sleep(&self, ticks: Tick) {
        let mut nobody = self.request([], ticks, |_| unreachable!("a sleep sends nothing"));
        while nobody.next_reply().await.is_some() {}
    }
}

/// One request sent to several nodes and the replies to it, under one correlation id, until its
/// deadline. Dropping it closes it: later replies find nothing, and its deadline is cancelled.
pub struct Round<N: Node + ?Sized> {
    mailbox: Rc<RefCell<Mailbox<N>>>,
    inbox: Rc<RefCell<Inbox<N>>>,
}

impl<N: Node + ?Sized> Round<N> {
    /// The round's correlation id, once the host has opened it (after the coroutine's first
    /// `.await` following [`AsyncContext::request`]).
    pub fn correlation(&self) -> Option<Correlation> {
        self.inbox.borrow().correlation
    }

    /// The next reply, in arrival order; `None` once the deadline has passed and every reply that
    /// came before it was taken.
    pub fn next_reply(&mut self) -> impl Future<Output = Option<(ProcessId, N::Message)>> + '_ {
        poll_fn(|cx| {
            let mut inbox = self.inbox.borrow_mut();
            if let Some(reply) = inbox.replies.pop_front() {
                Poll::Ready(Some(reply))
            } else if inbox.closed {
                Poll::Ready(None)
            } else {
                inbox.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }

    /// Sends one more message under this round's correlation id (a read repair whose
    /// acknowledgement the same round collects).
    pub fn send(&self, to: ProcessId, message: impl FnOnce(Correlation) -> N::Message + 'static) {
        self.mailbox
            .borrow_mut()
            .commands
            .push_back(Command::SendInRound {
                inbox: Rc::clone(&self.inbox),
                to,
                message: Box::new(message),
            });
    }

    /// Records replies in `quorum` until it is reached or impossible, or the deadline passes
    /// (then its state is still [`QuorumState::Waiting`]). `accepts` says whether a reply counts
    /// for the quorum or against it.
    pub async fn quorum(
        &mut self,
        mut quorum: Quorum<N::Message>,
        accepts: impl Fn(&N::Message) -> bool,
    ) -> Quorum<N::Message> {
        while quorum.state() == QuorumState::Waiting {
            let Some((from, reply)) = self.next_reply().await else {
                break;
            };
            let yes = accepts(&reply);
            quorum.record(from, reply, yes);
        }
        quorum
    }
}

impl<N: Node + ?Sized> Drop for Round<N> {
    fn drop(&mut self) {
        if self.inbox.borrow().closed {
            return;
        }
        if let Ok(mut mailbox) = self.mailbox.try_borrow_mut() {
            mailbox
                .commands
                .push_back(Command::Close(Rc::clone(&self.inbox)));
        }
    }
}
