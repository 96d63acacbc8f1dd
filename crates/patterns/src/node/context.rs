//! What a handler may do: everything goes through the context as a recorded effect.

use super::coroutine::{Coroutines, Wakeup};
use super::{Correlation, Node, ProcessId, ReplyOf, RequestId, Storage, Tick};
use rand_chacha::ChaCha8Rng;

/// One thing a handler asked the runtime to do.
#[derive(Debug)]
pub enum Effect<N: Node + ?Sized> {
    Send {
        to: ProcessId,
        message: N::Message,
        /// Held back until every storage write made before it is synced.
        when_durable: bool,
    },
    Reply {
        request: RequestId,
        reply: ReplyOf<N>,
        when_durable: bool,
    },
    SetTimer {
        timer: N::Timer,
        after: Tick,
    },
    CancelTimer {
        timer: N::Timer,
    },
    /// A request's deadline ([`super::Pending::insert`]): [`Node::on_expired`] runs when it passes.
    SetDeadline {
        correlation: Correlation,
        after: Tick,
    },
    CancelDeadline {
        correlation: Correlation,
    },
    /// Make every storage write so far durable. Completes after the runtime's sync latency.
    Sync,
    /// A note for the trace and the diagrams ("became leader of generation 3").
    Annotate(String),
    /// Wake a coroutine once every storage write made before this effect is durable
    /// ([`super::AsyncContext::sync`]).
    WakeWhenDurable(Wakeup),
}

/// The effects of one handler call, in the order the handler recorded them.
pub type Outbox<N> = std::collections::VecDeque<Effect<N>>;

/// The handler's view of the world. Built by the runtime for one call and dropped after it.
pub struct Context<'a, N: Node + ?Sized> {
    id: ProcessId,
    peers: &'a [ProcessId],
    now: Tick,
    clock_millis: i64,
    rng: &'a mut ChaCha8Rng,
    storage: &'a mut dyn Storage,
    outbox: &'a mut Outbox<N>,
    incarnation: u64,
    correlations: &'a mut u64,
    pub(super) coroutines: &'a mut Coroutines<N>,
}

/// What a runtime hands a context for one call (kept together so the constructor stays short).
pub(crate) struct Surroundings<'a> {
    pub id: ProcessId,
    pub peers: &'a [ProcessId],
    pub now: Tick,
    pub clock_millis: i64,
    pub rng: &'a mut ChaCha8Rng,
    pub storage: &'a mut dyn Storage,
    pub incarnation: u64,
    pub correlations: &'a mut u64,
}

impl<'a, N: Node + ?Sized> Context<'a, N> {
    #[inline]
    pub(crate) fn new(
        around: Surroundings<'a>,
        outbox: &'a mut Outbox<N>,
        coroutines: &'a mut Coroutines<N>,
    ) -> Self {
        Context {
            id: around.id,
            peers: around.peers,
            now: around.now,
            clock_millis: around.clock_millis,
            rng: around.rng,
            storage: around.storage,
            outbox,
            incarnation: around.incarnation,
            correlations: around.correlations,
            coroutines,
        }
    }

    /// This node.
    pub fn id(&self) -> ProcessId {
        self.id
    }

    /// The other nodes of the cluster, in declaration order (this node excluded).
    pub fn peers(&self) -> &[ProcessId] {
        self.peers
    }

    /// Every node of the cluster, this one included, in declaration order.
    pub fn cluster(&self) -> Vec<ProcessId> {
        let mut all = self.peers.to_vec();
        all.push(self.id);
        all.sort();
        all
    }

    /// The number of nodes in the cluster, this one included.
    pub fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }

    /// Logical time, the same on every node; timers and timeouts are measured in it.
    pub fn now(&self) -> Tick {
        self.now
    }

    /// This node's wall clock in milliseconds. It may be skewed or drift (spec §1.10): use it for
    /// timestamps, as last-write-wins stores do, and see what skew does to them.
    pub fn clock_millis(&self) -> i64 {
        self.clock_millis
    }

    /// This node's own seeded random stream (election jitter, request ids). Drawing from it never
    /// changes what the network or another node draws.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng
    }

    /// How many times this node has started, itself included: kept in storage by the runtime, so a
    /// restarted node never reuses an identifier of an earlier life.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// A correlation id no earlier life of this node has used.
    pub(crate) fn next_correlation(&mut self) -> Correlation {
        *self.correlations += 1;
        Correlation {
            incarnation: self.incarnation,
            sequence: *self.correlations,
        }
    }

    /// This node's storage. Writes are volatile until [`Context::sync`] completes.
    pub fn storage(&mut self) -> &mut dyn Storage {
        self.storage
    }

    pub(crate) fn push(&mut self, effect: Effect<N>) {
        self.outbox.push_back(effect);
    }

    /// Sends a message that may leave now.
    pub fn send(&mut self, to: ProcessId, message: N::Message) {
        self.push(Effect::Send {
            to,
            message,
            when_durable: false,
        });
    }

    /// Sends to every peer (not to this node), in declaration order.
    pub fn broadcast(&mut self, message: N::Message) {
        for &to in self.peers {
            self.outbox.push_back(Effect::Send {
                to,
                message: message.clone(),
                when_durable: false,
            });
        }
    }

    /// Sends a message only once every storage write made so far is durable; starts a sync.
    /// This is the write-ahead rule: a promise is kept on disk before anyone hears of it.
    pub fn send_when_durable(&mut self, to: ProcessId, message: N::Message) {
        self.push(Effect::Sync);
        self.push(Effect::Send {
            to,
            message,
            when_durable: true,
        });
    }

    /// Answers a client request.
    pub fn reply(&mut self, request: RequestId, reply: ReplyOf<N>) {
        self.push(Effect::Reply {
            request,
            reply,
            when_durable: false,
        });
    }

    /// Answers a client request once every storage write made so far is durable; starts a sync.
    pub fn reply_when_durable(&mut self, request: RequestId, reply: ReplyOf<N>) {
        self.push(Effect::Sync);
        self.push(Effect::Reply {
            request,
            reply,
            when_durable: true,
        });
    }

    /// Fires `timer` after `after` ticks (at least 1). Setting a timer equal to a pending one
    /// restarts it.
    pub fn set_timer(&mut self, timer: N::Timer, after: Tick) {
        self.push(Effect::SetTimer {
            timer,
            after: after.max(1),
        });
    }

    /// Cancels a pending timer; nothing happens if it is not pending.
    pub fn cancel_timer(&mut self, timer: N::Timer) {
        self.push(Effect::CancelTimer { timer });
    }

    /// Makes every storage write so far durable, after the runtime's sync latency.
    pub fn sync(&mut self) {
        self.push(Effect::Sync);
    }

    /// Notes something in the trace; diagrams show it on this node's lane.
    pub fn annotate(&mut self, note: impl Into<String>) {
        self.push(Effect::Annotate(note.into()));
    }
}
