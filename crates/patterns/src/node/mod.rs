//! The sans-IO node interface every protocol implements.
//!
//! A node is a state machine. It reacts to one input at a time (a message from a peer, a timer it
//! set, a client request) by changing its state and recording effects in a [`Context`]: messages to
//! send, a reply, timers to set or cancel, storage writes and syncs, trace annotations. It never
//! touches a socket, a clock or an operating-system RNG, so the same handler runs in the
//! deterministic simulator ([`crate::sim`]) and over real TCP ([`crate::net`]).
//!
//! The calling contract, as quinn-proto states its own:
//! 1. The runtime calls [`Node::on_start`] once when the node starts and again after every restart;
//!    volatile state is gone by then and [`Context::storage`] holds only what was synced.
//! 2. Then, one at a time and in the runtime's deterministic order, [`Node::on_message`],
//!    [`Node::on_timer`] and [`Node::on_request`].
//! 3. After each call the runtime takes the effects out of the context and performs them. Effects
//!    marked "when durable" wait until every storage write made before them is synced (raft-rs's
//!    `persisted_messages`): "durable before reply" is one visible line in a handler.

mod context;
mod quorum;
mod storage;

pub use context::{Context, Effect, Outbox};
pub use quorum::{Pending, Quorum, QuorumState, majority};
pub use storage::{Storage, StorageError};

use crate::history::{EventType, Value};
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
/// Replies are matched by it, so a late reply to an abandoned request is recognised and ignored.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId {
    pub client: ProcessId,
    pub sequence: u64,
}

/// A message between nodes.
pub trait Message: Clone + Debug {
    /// The message's type as the paper names it (`"Prepare"`, `"Promise"`): the label on a diagram
    /// arrow and what drop-by-type faults match.
    fn kind(&self) -> &'static str;
}

/// A client operation, and how a history records it (spec §1.13).
pub trait Operation: Clone + Debug {
    /// What the node answers.
    type Reply: Clone + Debug;

    /// The `:f` and `:value` of the `:invoke` event, e.g. `("write", "x=1")`.
    fn invocation(&self) -> (&'static str, Value);

    /// The completion a reply stands for. A node that answers "failed" when the operation may still
    /// take effect (a quorum write that reached a minority) must map that to `:info`, not `:fail`:
    /// `:fail` claims the operation never happened, and a checker believes it.
    fn completion(&self, reply: &Self::Reply) -> (EventType, Value);

    /// Whether the operation cannot change state. A client that gives up on a read records `:fail`
    /// (the read had no effect either way); on anything else it records `:info`.
    fn is_read_only(&self) -> bool;
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
