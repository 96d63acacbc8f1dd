//! The host of one node: what every runtime wraps around a sans-IO node, so that the simulator and
//! the network runtime carry out a handler's effects the same way.
//!
//! A host owns the node's state, its storage, its random stream and its incarnation, and turns the
//! effects of each handler call into calls on the runtime ([`Runtime`]): messages that may leave
//! now, timers to schedule, syncs to start. It keeps the two things a runtime must not get wrong
//! in one place: which timers are still live (a timer set again, cancelled, or set before a crash
//! never fires), and which messages wait for a sync (raft-rs's `persisted_messages`: they leave
//! only once every write made before them is durable, and die with a crash).

use super::context::Surroundings;
use super::{
    Context, Coroutines, Correlation, Durability, Effect, Node, Outbox, ProcessId, ReplyOf,
    RequestId, Storage, Tick, Wakeup,
};
use rand_chacha::ChaCha8Rng;

/// What a node is told when it is built, at the start and again at every restart.
#[derive(Clone, Debug)]
pub struct NodeInit {
    pub id: ProcessId,
    pub name: String,
    /// The other nodes, in declaration order.
    pub peers: Vec<ProcessId>,
}

/// A node's lifecycle.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    Up,
    /// Stopped without losing anything (a long GC pause): events wait, the clock runs.
    Paused,
    Crashed,
}

impl NodeStatus {
    pub fn word(self) -> &'static str {
        match self {
            NodeStatus::Up => "up",
            NodeStatus::Paused => "paused",
            NodeStatus::Crashed => "crashed",
        }
    }
}

/// What a scheduled timer stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum TimerKey<T> {
    /// A timer the node set.
    Timer(T),
    /// A request deadline ([`super::Pending`]).
    Deadline(Correlation),
}

/// A message or reply waiting for a sync before it may leave.
#[derive(Clone, Debug)]
pub enum Action<N: Node> {
    Send {
        to: ProcessId,
        message: N::Message,
    },
    Reply {
        request: RequestId,
        reply: ReplyOf<N>,
    },
}

/// What a runtime does with a host's effects. Calls come in the order the handler recorded them.
pub trait Runtime<N: Node> {
    /// Puts a message (or a reply) on the wire now.
    fn transmit(&mut self, from: ProcessId, action: Action<N>);

    /// Fires the host's timer `generation` after `after` ticks (at least 1); the runtime then
    /// calls [`Host::take_timer`].
    fn schedule(&mut self, node: ProcessId, generation: u64, after: Tick);

    /// Starts a sync of the writes up to `upto`. Returns `true` if it completed at once (the
    /// runtime has made them durable), `false` if it completes later, when the runtime calls
    /// [`Host::synced`].
    fn start_sync(&mut self, node: ProcessId, upto: u64) -> bool;

    /// A note for the trace.
    fn annotate(&mut self, node: ProcessId, text: String);
}

/// One node and everything a runtime keeps for it.
pub struct Host<N: Node, S> {
    init: NodeInit,
    state: Option<N>,
    status: NodeStatus,
    storage: S,
    rng: ChaCha8Rng,
    incarnation: u64,
    correlations: u64,
    timers: Vec<(TimerKey<N::Timer>, u64)>,
    next_generation: u64,
    awaiting_sync: Vec<(u64, Action<N>)>,
    sync_requested: u64,
    outbox: Outbox<N>,
    coroutines: Coroutines<N>,
    /// Coroutines waiting for a sync ([`super::AsyncContext::sync`]), with the write they wait for.
    awaiting_durable: Vec<(u64, Wakeup)>,
    /// When the node was last called: a sync that completes resumes coroutines at that time unless
    /// the runtime says when ([`Host::synced_at`]).
    last_called: (Tick, i64),
}

/// A copy of the host at this instant (the simulator's time travel forks a run with it).
impl<N: Node + Clone, S: Clone> Clone for Host<N, S> {
    fn clone(&self) -> Self {
        Host {
            init: self.init.clone(),
            state: self.state.clone(),
            status: self.status,
            storage: self.storage.clone(),
            rng: self.rng.clone(),
            incarnation: self.incarnation,
            correlations: self.correlations,
            timers: self.timers.clone(),
            next_generation: self.next_generation,
            awaiting_sync: self.awaiting_sync.clone(),
            sync_requested: self.sync_requested,
            outbox: Outbox::new(),
            coroutines: self.coroutines.fork(),
            awaiting_durable: Vec::new(),
            last_called: self.last_called,
        }
    }
}

impl<N: Node, S: Storage + Durability> Host<N, S> {
    /// A host for a node that has not started yet ([`Host::start`] starts it).
    pub fn new(init: NodeInit, storage: S, rng: ChaCha8Rng) -> Host<N, S> {
        Host {
            init,
            state: None,
            status: NodeStatus::Crashed,
            storage,
            rng,
            incarnation: 0,
            correlations: 0,
            timers: Vec::new(),
            next_generation: 0,
            awaiting_sync: Vec::new(),
            sync_requested: 0,
            outbox: Outbox::new(),
            coroutines: Coroutines::new(),
            awaiting_durable: Vec::new(),
            last_called: (0, 0),
        }
    }

    /// A host whose node has already started `incarnation` times in earlier processes: a runtime
    /// on real files reads the number back at boot (and keeps `incarnation + 1` durably before the
    /// node serves), so that the next [`Host::start`] begins a life no earlier one has used.
    pub fn with_incarnation(mut self, incarnation: u64) -> Host<N, S> {
        self.incarnation = incarnation;
        self
    }

    pub fn init(&self) -> &NodeInit {
        &self.init
    }

    pub fn id(&self) -> ProcessId {
        self.init.id
    }

    pub fn status(&self) -> NodeStatus {
        self.status
    }

    /// The node's state, unless it is crashed.
    pub fn node(&self) -> Option<&N> {
        self.state.as_ref()
    }

    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The runtime's access to the disk: to complete syncs and to crash it.
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// How many times the node has started. The runtime keeps it durably apart from the node's
    /// own storage (the simulator in the host, which outlives crashes; a real runtime in a file
    /// synced at boot), so correlation ids of a new life never repeat an old life's.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// Starts (or restarts) the node with fresh volatile state; storage holds what survived.
    pub fn start(&mut self, node: N, rt: &mut impl Runtime<N>, now: Tick, clock_millis: i64) {
        self.incarnation += 1;
        self.correlations = 0;
        self.state = Some(node);
        self.status = NodeStatus::Up;
        self.sync_requested = self.storage.written();
        self.call(rt, now, clock_millis, |node, ctx| node.on_start(ctx));
    }

    /// The node stops at once: its volatile state, timers and messages waiting for a sync are
    /// gone (returned, so the runtime can record what the crash swallowed). The storage keeps its
    /// unsynced writes until the runtime decides their fate.
    pub fn crash(&mut self) -> Vec<Action<N>> {
        self.state = None;
        self.status = NodeStatus::Crashed;
        self.timers.clear();
        self.coroutines = Coroutines::new();
        self.awaiting_durable.clear();
        self.awaiting_sync.drain(..).map(|(_, a)| a).collect()
    }

    /// Pauses or resumes a running node (the runtime keeps the events that arrive meanwhile).
    pub fn set_paused(&mut self, paused: bool) {
        if self.status != NodeStatus::Crashed {
            self.status = if paused {
                NodeStatus::Paused
            } else {
                NodeStatus::Up
            };
        }
    }

    /// Calls a handler of a running node with a fresh context, runs the coroutines it woke, then
    /// carries out the effects of both through `rt`. Does nothing if the node is crashed.
    #[inline]
    pub fn call(
        &mut self,
        rt: &mut impl Runtime<N>,
        now: Tick,
        clock_millis: i64,
        handler: impl FnOnce(&mut N, &mut Context<'_, N>),
    ) {
        self.last_called = (now, clock_millis);
        self.call_once(rt, now, clock_millis, handler);
        // An effect may have woken a coroutine (a sync that completed at once): run it now.
        while self.state.is_some() && self.coroutines.has_ready() {
            self.call_once(rt, now, clock_millis, |_, _| {});
        }
    }

    #[inline]
    fn call_once(
        &mut self,
        rt: &mut impl Runtime<N>,
        now: Tick,
        clock_millis: i64,
        handler: impl FnOnce(&mut N, &mut Context<'_, N>),
    ) {
        let Some(state) = self.state.as_mut() else {
            return;
        };
        let around = Surroundings {
            id: self.init.id,
            peers: &self.init.peers,
            now,
            clock_millis,
            rng: &mut self.rng,
            storage: &mut self.storage,
            incarnation: self.incarnation,
            correlations: &mut self.correlations,
        };
        let mut ctx = Context::new(around, &mut self.outbox, &mut self.coroutines);
        handler(state, &mut ctx);
        ctx.run_coroutines();
        while let Some(effect) = self.outbox.pop_front() {
            // Sends that need no sync are most of what a handler does: keep them off the slow path.
            match effect {
                Effect::Send {
                    to,
                    message,
                    when_durable: false,
                } => rt.transmit(self.init.id, Action::Send { to, message }),
                effect => self.carry_out(rt, effect),
            }
        }
    }

    fn carry_out(&mut self, rt: &mut impl Runtime<N>, effect: Effect<N>) {
        let id = self.init.id;
        match effect {
            Effect::Send {
                to,
                message,
                when_durable,
            } => self.send_or_hold(rt, Action::Send { to, message }, when_durable),
            Effect::Reply {
                request,
                reply,
                when_durable,
            } => self.send_or_hold(rt, Action::Reply { request, reply }, when_durable),
            Effect::SetTimer { timer, after } => self.set(rt, TimerKey::Timer(timer), after),
            Effect::CancelTimer { timer } => self.cancel(&TimerKey::Timer(timer)),
            Effect::SetDeadline { correlation, after } => {
                self.set(rt, TimerKey::Deadline(correlation), after)
            }
            Effect::CancelDeadline { correlation } => self.cancel(&TimerKey::Deadline(correlation)),
            Effect::Sync => {
                let upto = self.storage.written();
                if upto <= self.sync_requested || self.storage.is_durable(upto) {
                    return;
                }
                self.sync_requested = upto;
                if rt.start_sync(id, upto) {
                    self.release_synced(rt);
                }
            }
            Effect::Annotate(text) => rt.annotate(id, text),
            Effect::WakeWhenDurable(wakeup) => {
                let after_write = self.storage.written();
                if self.storage.is_durable(after_write) {
                    wakeup.fire();
                } else {
                    self.awaiting_durable.push((after_write, wakeup));
                }
            }
        }
    }

    fn set(&mut self, rt: &mut impl Runtime<N>, key: TimerKey<N::Timer>, after: Tick) {
        let generation = self.next_generation;
        self.next_generation += 1;
        match self.timers.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = generation,
            None => self.timers.push((key, generation)),
        }
        rt.schedule(self.init.id, generation, after.max(1));
    }

    fn cancel(&mut self, key: &TimerKey<N::Timer>) {
        if let Some(position) = self.timers.iter().position(|(k, _)| k == key) {
            self.timers.swap_remove(position);
        }
    }

    /// A scheduled timer is due: what it stands for, or `None` if it was cancelled, set again or
    /// lost in a crash since.
    pub fn take_timer(&mut self, generation: u64) -> Option<TimerKey<N::Timer>> {
        let position = self.timers.iter().position(|(_, g)| *g == generation)?;
        Some(self.timers.swap_remove(position).0)
    }

    /// Runs the handler a due timer stands for.
    pub fn fire(
        &mut self,
        rt: &mut impl Runtime<N>,
        now: Tick,
        clock_millis: i64,
        key: TimerKey<N::Timer>,
    ) {
        self.call(rt, now, clock_millis, |node, ctx| match key {
            TimerKey::Timer(timer) => node.on_timer(ctx, timer),
            // A coroutine's round closes by itself; any other deadline is the node's.
            TimerKey::Deadline(correlation) => {
                if !ctx.expire_round(correlation) {
                    node.on_expired(ctx, correlation)
                }
            }
        });
    }

    #[inline]
    fn send_or_hold(&mut self, rt: &mut impl Runtime<N>, action: Action<N>, when_durable: bool) {
        let after_write = self.storage.written();
        if when_durable && !self.storage.is_durable(after_write) {
            self.awaiting_sync.push((after_write, action));
        } else {
            rt.transmit(self.init.id, action);
        }
    }

    /// A sync completed (the runtime made the writes durable): sends what it made safe to send,
    /// and resumes the coroutines that waited for it as of the node's last call.
    pub fn synced(&mut self, rt: &mut impl Runtime<N>) {
        let (now, clock_millis) = self.last_called;
        self.synced_at(rt, now, clock_millis);
    }

    /// [`Host::synced`], with the time at which coroutines resume.
    pub fn synced_at(&mut self, rt: &mut impl Runtime<N>, now: Tick, clock_millis: i64) {
        self.release_synced(rt);
        if self.state.is_some() && self.coroutines.has_ready() {
            self.call(rt, now, clock_millis, |_, _| {});
        }
    }

    fn release_synced(&mut self, rt: &mut impl Runtime<N>) {
        let storage = &self.storage;
        let (durable, waiting): (Vec<_>, Vec<_>) = self
            .awaiting_durable
            .drain(..)
            .partition(|(after, _)| storage.is_durable(*after));
        self.awaiting_durable = waiting;
        for (_, wakeup) in durable {
            wakeup.fire();
        }
        if self.awaiting_sync.is_empty() {
            return;
        }
        let storage = &self.storage;
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .awaiting_sync
            .drain(..)
            .partition(|(after, _)| storage.is_durable(*after));
        self.awaiting_sync = waiting;
        for (_, action) in ready {
            rt.transmit(self.init.id, action);
        }
    }

    /// Messages and replies waiting for a sync.
    pub fn awaiting_sync(&self) -> usize {
        self.awaiting_sync.len()
    }

    /// The node's coroutines (how many run, how many rounds they hold).
    pub fn coroutines(&self) -> &Coroutines<N> {
        &self.coroutines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{EventType, Value};
    use crate::node::{MemoryStorage, Operation, Pending};
    use rand::SeedableRng;
    use serde::{Deserialize, Serialize};

    #[derive(Clone, Debug, Serialize, Deserialize)]
    enum Ask {
        Ping(Correlation),
    }
    crate::message_kinds!(Ask => AskKind { Ping });

    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Go;

    impl Operation for Go {
        type Reply = ();
        fn invocation(&self) -> (&'static str, Value) {
            ("go", Value::Nil)
        }
        fn completion(&self, _: &()) -> (EventType, Value) {
            (EventType::Ok, Value::Nil)
        }
        fn is_read_only(&self) -> bool {
            true
        }
    }

    /// Asks its peer on every request and remembers the ids it used.
    #[derive(Default)]
    struct Asker {
        waiting: Pending<()>,
        used: Vec<Correlation>,
        expired: Vec<Correlation>,
    }

    impl Node for Asker {
        type Message = Ask;
        type Timer = u8;
        type Operation = Go;

        fn on_message(&mut self, _: &mut Context<'_, Self>, _: ProcessId, _: Ask) {}

        fn on_expired(&mut self, _: &mut Context<'_, Self>, correlation: Correlation) {
            if self.waiting.take_expired(correlation).is_some() {
                self.expired.push(correlation);
            }
        }

        fn on_request(&mut self, ctx: &mut Context<'_, Self>, _: RequestId, _: Go) {
            let id = self.waiting.insert(ctx, 5, ());
            self.used.push(id);
            ctx.set_timer(7, 3);
            ctx.send(ProcessId(1), Ask::Ping(id));
        }
    }

    /// Records what the host asked for.
    #[derive(Default)]
    struct Recorded {
        sent: usize,
        scheduled: Vec<(u64, Tick)>,
    }

    impl Runtime<Asker> for Recorded {
        fn transmit(&mut self, _: ProcessId, _: Action<Asker>) {
            self.sent += 1;
        }
        fn schedule(&mut self, _: ProcessId, generation: u64, after: Tick) {
            self.scheduled.push((generation, after));
        }
        fn start_sync(&mut self, _: ProcessId, _: u64) -> bool {
            true
        }
        fn annotate(&mut self, _: ProcessId, _: String) {}
    }

    fn host() -> Host<Asker, MemoryStorage> {
        let init = NodeInit {
            id: ProcessId(0),
            name: "athens".into(),
            peers: vec![ProcessId(1)],
        };
        Host::new(init, MemoryStorage::new(), ChaCha8Rng::seed_from_u64(0))
    }

    fn ask(host: &mut Host<Asker, MemoryStorage>, rt: &mut Recorded) {
        let request = RequestId {
            client: ProcessId(9),
            sequence: 1,
        };
        host.call(rt, 0, 1000, |node, ctx| node.on_request(ctx, request, Go));
    }

    #[test]
    fn a_new_life_never_reuses_a_correlation_id_and_forgets_its_timers() {
        let (mut host, mut rt) = (host(), Recorded::default());
        host.start(Asker::default(), &mut rt, 0, 1000);
        ask(&mut host, &mut rt);
        ask(&mut host, &mut rt);
        let first_life = host.node().unwrap().used.clone();
        let stale_timer = rt.scheduled.last().unwrap().0;
        host.crash();
        assert!(
            host.take_timer(stale_timer).is_none(),
            "timers die with a crash"
        );
        host.start(Asker::default(), &mut rt, 10, 1010);
        ask(&mut host, &mut rt);
        let second_life = &host.node().unwrap().used;
        assert_eq!(first_life.len(), 2);
        assert!(second_life.iter().all(|id| !first_life.contains(id)));
        assert_eq!(host.incarnation(), 2);
        assert_eq!(second_life[0].incarnation, 2);
    }

    #[test]
    fn a_deadline_fires_once_unless_its_entry_was_removed() {
        let (mut host, mut rt) = (host(), Recorded::default());
        host.start(Asker::default(), &mut rt, 0, 1000);
        ask(&mut host, &mut rt);
        // The request set a deadline (5 ticks) and a timer (3 ticks): two schedules.
        assert_eq!(rt.scheduled.iter().map(|s| s.1).collect::<Vec<_>>(), [5, 3]);
        let (deadline, _) = rt.scheduled[0];
        let key = host.take_timer(deadline).expect("the deadline is live");
        assert!(matches!(key, TimerKey::Deadline(_)));
        host.fire(&mut rt, 5, 1005, key);
        assert_eq!(host.node().unwrap().expired.len(), 1);
        assert!(host.take_timer(deadline).is_none(), "it fires once");
    }
}
