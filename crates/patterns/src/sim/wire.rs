//! The wire: where a message's fate is decided when it is sent (cut, dropped by a rule, lost,
//! held, or delivered after a latency, perhaps twice) and its delivery scheduled. The link knobs
//! live in [`super::network`]; the wire adds the seeded network stream, the messages kept on held
//! links, and message numbering.

use super::network::{Network, Route};
use super::queue::EventQueue;
use super::recorder::Recorder;
use super::{DropReason, Event, MessageId, Stats};
use crate::node::{Kind, Message, Node, Operation, ProcessId, ReplyOf, RequestId, Tick};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// What travels on the network.
pub(crate) enum Payload<N: Node> {
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

impl<N: Node> Payload<N> {
    /// The label of a diagram arrow and what type faults match: the message kind, the client
    /// operation's name, or "reply".
    #[inline]
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Message(m) => m.kind().name(),
            Payload::Request(_, op) => op.invocation().0,
            Payload::Reply(..) => "reply",
        }
    }

    pub fn text(&self) -> String {
        match self {
            Payload::Message(m) => format!("{m:?}"),
            Payload::Request(_, op) => format!("{op:?}"),
            Payload::Reply(_, reply) => format!("{reply:?}"),
        }
    }
}

/// Messages kept on a held link, in send order.
type HeldMessages<N> = Vec<(MessageId, Payload<N>)>;

pub(crate) struct Wire<N: Node> {
    pub network: Network,
    rng: ChaCha8Rng,
    held: BTreeMap<(ProcessId, ProcessId), HeldMessages<N>>,
    next_message: MessageId,
}

impl<N: Node> Clone for Wire<N> {
    fn clone(&self) -> Self {
        Wire {
            network: self.network.clone(),
            rng: self.rng.clone(),
            held: self.held.clone(),
            next_message: self.next_message,
        }
    }
}

/// The parts of the simulation a send touches.
pub(crate) struct Outlets<'a, N: Node> {
    pub now: Tick,
    pub queue: &'a mut EventQueue<Event<N>>,
    pub recorder: &'a mut Recorder,
    pub stats: &'a mut Stats,
}

impl<N: Node> Wire<N> {
    pub fn new(network: Network, rng: ChaCha8Rng) -> Wire<N> {
        Wire {
            network,
            rng,
            held: BTreeMap::new(),
            next_message: 0,
        }
    }

    /// A message that will never travel (its sender crashed before its sync) still gets a number,
    /// so the trace can show what was swallowed.
    pub fn number(&mut self) -> MessageId {
        let id = self.next_message;
        self.next_message += 1;
        id
    }

    /// Puts a payload on the wire: decides its fate and schedules its delivery.
    #[inline]
    pub fn transmit(
        &mut self,
        out: &mut Outlets<'_, N>,
        from: ProcessId,
        to: ProcessId,
        payload: Payload<N>,
    ) {
        let id = self.number();
        out.stats.sent += 1;
        let kind = payload.kind();
        out.recorder
            .send(out.now, id, (from, to), kind, || payload.text());
        if from == to {
            out.queue.push(
                out.now,
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
            .route(from.index(), to.index(), kind, &mut self.rng)
        {
            Route::Drop(reason) => {
                out.stats.dropped += 1;
                out.recorder.drop(out.now, id, reason);
            }
            Route::Hold => self.held.entry((from, to)).or_default().push((id, payload)),
            Route::Deliver {
                after,
                duplicate_after,
            } => {
                if let Some(again) = duplicate_after {
                    let copy = payload.clone();
                    out.queue.push(
                        out.now + again,
                        Event::Deliver {
                            id,
                            from,
                            to,
                            payload: copy,
                        },
                    );
                }
                out.queue.push(
                    out.now + after,
                    Event::Deliver {
                        id,
                        from,
                        to,
                        payload,
                    },
                );
            }
        }
    }

    /// Delivers the messages held on `from -> to`, each after a fresh latency.
    pub fn release(&mut self, out: &mut Outlets<'_, N>, from: ProcessId, to: ProcessId) {
        for (id, payload) in self.held.remove(&(from, to)).unwrap_or_default() {
            let after = self
                .network
                .release_latency(from.index(), to.index(), &mut self.rng);
            out.queue.push(
                out.now + after,
                Event::Deliver {
                    id,
                    from,
                    to,
                    payload,
                },
            );
        }
    }

    /// Every held link, for a heal.
    pub fn held_links(&self) -> Vec<(ProcessId, ProcessId)> {
        self.held.keys().copied().collect()
    }

    /// Records why a message was not delivered.
    pub fn lost(out: &mut Outlets<'_, N>, id: MessageId, reason: DropReason) {
        out.stats.dropped += 1;
        out.recorder.drop(out.now, id, reason);
    }
}
