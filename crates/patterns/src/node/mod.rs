//! The sans-IO node interface every protocol implements.
//!
//! A node is a state machine. It reacts to one input at a time (a message from a peer, a timer it
//! set, a request deadline that passed, a client request) by changing its state and recording
//! effects in a [`Context`]: messages to send, a reply, timers to set or cancel, storage writes and
//! syncs, trace annotations. It never touches a socket, a clock or an operating-system RNG, so the
//! same handler runs in the deterministic simulator ([`crate::sim`]) and over real TCP.
//!
//! The calling contract, as quinn-proto states its own:
//! 1. The runtime calls [`Node::on_start`] once when the node starts and again after every restart;
//!    volatile state is gone by then and [`Context::storage`] holds only what was synced.
//! 2. Then, one at a time and in the runtime's deterministic order, [`Node::on_message`],
//!    [`Node::on_timer`], [`Node::on_expired`] and [`Node::on_request`].
//! 3. After each call the runtime takes the effects out of the context and performs them. Effects
//!    marked "when durable" wait until every storage write made before them is synced (raft-rs's
//!    `persisted_messages`): "durable before reply" is one visible line in a handler.
//!
//! What every protocol needs beyond that lives here once: request correlation with deadlines
//! ([`Pending`], the *Request Waiting List* pattern) whose ids stay unique across restarts,
//! quorum counting ([`Quorum`]), retried requests answered once ([`IdempotentReceiver`]), and
//! storage with a key-value side and a log ([`Storage`]). [`Host`] is the adapter a runtime wraps
//! around a node: it keeps the timers and the messages waiting for a sync, and runs the node's
//! coroutines ([`Context::spawn`]): a coordinator may be written as straight-line `async` code
//! over the same correlation ids, deadlines and quorums ([`AsyncContext`]).

mod context;
mod coroutine;
mod host;
mod idempotent;
mod pending;
mod quorum;
pub(crate) mod storage;

pub use context::{Context, Effect, Outbox};
pub use coroutine::{AsyncContext, Coroutines, Round, Shared, Wakeup};
pub use host::{Action, Host, NodeInit, NodeStatus, Runtime, TimerKey};
pub use idempotent::{IdempotentReceiver, Seen};
pub use pending::{Correlation, Pending};
pub use quorum::{Quorum, QuorumState, majority};
pub use storage::{Durability, MemoryStorage, Storage, StorageError};

use crate::history::{EventType, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// Logical time. Timers, delays and timeouts count ticks; a node's wall clock is separate
/// (see [`Context::clock_millis`]) so that clock skew can be injected without touching timeouts.
pub type Tick = u64;

/// A process in a run: a server node or a client. Nodes are numbered first, in declaration order,
/// then clients; the number orders ids everywhere (ballot tie-breaks, broadcast order).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProcessId(pub u16);

impl ProcessId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A client request as a node sees it: which client sent it and its sequence number there.
/// A client that retries sends the same id again, so a server can recognise the retry
/// ([`IdempotentReceiver`]) and a late reply still answers the operation it belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId {
    pub client: ProcessId,
    pub sequence: u64,
}

/// The type of a message, as a value: what drop-by-type and delay-by-type faults match and what
/// a diagram arrow is labelled with. A typed kind makes a fault on a misspelt type a compile
/// error instead of a rule that silently matches nothing. [`message_kinds!`](crate::message_kinds) writes it.
pub trait Kind: Copy + Eq + Debug + 'static {
    /// Every kind of the protocol, so a kind given by name can be checked.
    const ALL: &'static [Self];

    /// The name as the paper spells it (`"Prepare"`, `"Promise"`).
    fn name(self) -> &'static str;
}

/// A message between nodes. Messages serialise, so the same types cross a real network.
pub trait Message: Clone + Debug + Serialize + DeserializeOwned + 'static {
    type Kind: Kind;

    fn kind(&self) -> Self::Kind;
}

/// Declares a message enum's kind enum, one unit variant per message variant with the same name,
/// and implements [`Message`] and [`Kind`] for the pair:
///
/// ```
/// use patterns::message_kinds;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Debug, Serialize, Deserialize)]
/// enum Paxos {
///     Prepare { ballot: u64 },
///     Promise { ballot: u64, accepted: Option<String> },
/// }
/// message_kinds!(Paxos => PaxosKind { Prepare, Promise });
///
/// use patterns::node::{Kind, Message};
/// assert_eq!(Paxos::Prepare { ballot: 1 }.kind(), PaxosKind::Prepare);
/// assert_eq!(PaxosKind::Promise.name(), "Promise");
/// ```
#[macro_export]
macro_rules! message_kinds {
    ($message:ident => $kind:ident { $($variant:ident),+ $(,)? }) => {
        /// The kinds of this protocol's messages: what type faults and diagrams name.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $kind { $($variant),+ }

        impl $crate::node::Kind for $kind {
            const ALL: &'static [Self] = &[$($kind::$variant),+];

            fn name(self) -> &'static str {
                match self { $($kind::$variant => stringify!($variant)),+ }
            }
        }

        impl $crate::node::Message for $message {
            type Kind = $kind;

            fn kind(&self) -> $kind {
                match self { $($message::$variant { .. } => $kind::$variant),+ }
            }
        }
    };
}

/// Where to send a request instead: a node that is not the leader says who is, if it knows
/// (Raft §8, the *Leader and Followers* pattern).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    pub leader: Option<ProcessId>,
}

/// A client operation, and how a history records it (spec §1.13).
pub trait Operation: Clone + Debug + Serialize + DeserializeOwned + 'static {
    /// What the node answers.
    type Reply: Clone + Debug + Serialize + DeserializeOwned + 'static;

    /// The `:f` and `:value` of the `:invoke` event, e.g. `("write", "x=1")`.
    fn invocation(&self) -> (&'static str, Value);

    /// The completion a reply stands for. A node that answers "failed" when the operation may still
    /// take effect (a quorum write that reached a minority) must map that to `:info`, not `:fail`:
    /// `:fail` claims the operation never happened, and a checker believes it.
    fn completion(&self, reply: &Self::Reply) -> (EventType, Value);

    /// Whether the operation cannot change state. A client that gives up on a read records `:fail`
    /// (the read had no effect either way); on anything else it records `:info`.
    fn is_read_only(&self) -> bool;

    /// Whether `reply` says "not here": a client that follows redirects sends the same request
    /// (same id) to the leader named, or to the next node. Such a reply proves the request was not
    /// executed, so if every attempt ends this way the operation is recorded as `:fail`.
    fn redirect(&self, reply: &Self::Reply) -> Option<Redirect> {
        let _ = reply;
        None
    }
}

/// A protocol's node: the state machine the runtimes drive.
pub trait Node {
    type Message: Message;
    /// The node's timers. Setting a timer equal to one already pending restarts it.
    type Timer: Clone + Debug + PartialEq;
    type Operation: Operation;

    /// The node starts, or restarts after a crash: rebuild volatile state from storage.
    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let _ = ctx;
    }

    /// A message from a peer arrived.
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: ProcessId, message: Self::Message);

    /// A timer set earlier fired.
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Self::Timer) {
        let _ = (ctx, timer);
    }

    /// The deadline of a request registered with [`Pending::insert`] passed before it was
    /// removed: take it out with [`Pending::take_expired`] and give up on it.
    fn on_expired(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        let _ = (ctx, correlation);
    }

    /// A client asks for an operation; answer with [`Context::reply`] now or later.
    fn on_request(
        &mut self,
        ctx: &mut Context<'_, Self>,
        request: RequestId,
        operation: Self::Operation,
    );
}

/// The reply type of a node's operations.
pub type ReplyOf<N> = <<N as Node>::Operation as Operation>::Reply;

/// The kind type of a node's messages.
pub type KindOf<N> = <<N as Node>::Message as Message>::Kind;
