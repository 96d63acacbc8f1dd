//! Clients: each runs one operation at a time (a Jepsen process does), waits for its reply within a
//! deadline, and, as its policy says, retries the same request (same id, so a server can tell a
//! retry from a new request) and follows a "not leader" redirect.
//!
//! Whatever happens in between, an operation is one `:invoke` and one completion in the history:
//! the reply's own completion; `:fail` if every attempt was turned away by a redirect (nothing
//! can have executed it) or the operation only reads; `:info` if an attempt went unanswered, since
//! the request may still take effect (the shared answers on retried and redirected requests).

use super::SimError;
use crate::history::EventType;
use crate::node::{Node, Operation, ProcessId, Redirect, ReplyOf, RequestId, Tick};
use std::collections::BTreeMap;

/// How clients behave when a reply is slow or says "ask the leader".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientPolicy {
    /// How long a client waits for the reply to one attempt (default 100 ticks). Keep the whole
    /// operation (attempts × this) shorter than a scenario's budget so that failure paths end by
    /// themselves (the reference coupled both at 10 000 and passed by one tick; §5.1 item 5).
    pub attempt_timeout_ticks: Tick,
    /// How many times an operation is sent, redirects included (default 1: no retries).
    pub attempts: u32,
    /// Whether a redirect sends the request on to the leader it names, or to the next node.
    pub follow_redirects: bool,
}

impl Default for ClientPolicy {
    fn default() -> Self {
        ClientPolicy {
            attempt_timeout_ticks: 100,
            attempts: 1,
            follow_redirects: true,
        }
    }
}

/// A client operation issued by [`super::Simulation::invoke`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpHandle {
    pub client: ProcessId,
    pub sequence: u64,
}

/// How a client operation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome<R> {
    /// A node replied at this tick.
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

    /// When the operation ended.
    pub fn tick(&self) -> Tick {
        match self {
            Outcome::Replied { tick, .. } | Outcome::TimedOut { tick } => *tick,
        }
    }
}

struct InFlight<N: Node> {
    sequence: u64,
    operation: N::Operation,
    /// The node the current attempt went to.
    node: ProcessId,
    attempt: u32,
    /// Some attempt went unanswered: the request may have taken effect.
    uncertain: bool,
}

struct Slot<N: Node> {
    /// The Jepsen process number, until an `:info` retires it.
    process: Option<u64>,
    next_sequence: u64,
    in_flight: Option<InFlight<N>>,
}

impl<N: Node> Clone for Slot<N> {
    fn clone(&self) -> Self {
        Slot {
            process: self.process,
            next_sequence: self.next_sequence,
            in_flight: self.in_flight.as_ref().map(|f| InFlight {
                sequence: f.sequence,
                operation: f.operation.clone(),
                node: f.node,
                attempt: f.attempt,
                uncertain: f.uncertain,
            }),
        }
    }
}

/// What the simulation must do next for a client.
pub(crate) enum Next<N: Node> {
    Nothing,
    /// Send the request (again) to `node`, with a deadline for this attempt.
    Send {
        request: RequestId,
        operation: N::Operation,
        node: ProcessId,
        attempt: u32,
        note: Option<String>,
    },
    /// The operation ended: record the completion.
    Complete {
        process: u64,
        f: &'static str,
        completion: (EventType, crate::history::Value),
    },
}

pub(crate) struct Clients<N: Node> {
    /// The first client's process id (clients are numbered after the nodes).
    first: usize,
    node_count: usize,
    slots: Vec<Slot<N>>,
    outcomes: BTreeMap<OpHandle, Outcome<ReplyOf<N>>>,
    pub policy: ClientPolicy,
}

impl<N: Node> Clone for Clients<N> {
    fn clone(&self) -> Self {
        Clients {
            first: self.first,
            node_count: self.node_count,
            slots: self.slots.clone(),
            outcomes: self.outcomes.clone(),
            policy: self.policy.clone(),
        }
    }
}

impl<N: Node> Clients<N> {
    pub fn new(node_count: usize, clients: usize, policy: ClientPolicy) -> Clients<N> {
        Clients {
            first: node_count,
            node_count,
            slots: (0..clients)
                .map(|_| Slot {
                    process: None,
                    next_sequence: 1,
                    in_flight: None,
                })
                .collect(),
            outcomes: BTreeMap::new(),
            policy,
        }
    }

    fn slot(&self, client: ProcessId) -> &Slot<N> {
        &self.slots[client.index() - self.first]
    }

    fn slot_mut(&mut self, client: ProcessId) -> &mut Slot<N> {
        &mut self.slots[client.index() - self.first]
    }

    pub fn is_busy(&self, client: ProcessId) -> bool {
        self.slot(client).in_flight.is_some()
    }

    pub fn outcome(&self, op: OpHandle) -> Option<&Outcome<ReplyOf<N>>> {
        self.outcomes.get(&op)
    }

    pub fn outcomes(&self) -> &BTreeMap<OpHandle, Outcome<ReplyOf<N>>> {
        &self.outcomes
    }

    /// Starts an operation: returns its handle, the client's process number (a new one after an
    /// `:info`, which `allocate` hands out) and the request to send.
    pub fn invoke(
        &mut self,
        client: ProcessId,
        node: ProcessId,
        operation: N::Operation,
        allocate: impl FnOnce() -> u64,
        name: &str,
    ) -> Result<(OpHandle, u64, RequestId), SimError> {
        let slot = self.slot_mut(client);
        if slot.in_flight.is_some() {
            return Err(SimError::ClientBusy {
                client: name.to_string(),
            });
        }
        let sequence = slot.next_sequence;
        slot.next_sequence += 1;
        let process = *slot.process.get_or_insert_with(allocate);
        slot.in_flight = Some(InFlight {
            sequence,
            operation,
            node,
            attempt: 1,
            uncertain: false,
        });
        let request = RequestId { client, sequence };
        Ok((OpHandle { client, sequence }, process, request))
    }

    /// Whether a reply to `request` still answers the client's operation in flight (a retried
    /// request keeps its id, so a reply to any attempt does).
    pub fn is_live(&self, request: RequestId) -> bool {
        self.slot(request.client)
            .in_flight
            .as_ref()
            .is_some_and(|f| f.sequence == request.sequence)
    }

    /// A reply arrived for the live operation of `request.client`.
    pub fn on_reply(&mut self, request: RequestId, reply: ReplyOf<N>, now: Tick) -> Next<N> {
        let policy = self.policy.clone();
        let node_count = self.node_count;
        let slot = self.slot_mut(request.client);
        let Some(flight) = slot.in_flight.as_mut() else {
            return Next::Nothing;
        };
        if policy.follow_redirects {
            if let Some(Redirect { leader }) = flight.operation.redirect(&reply) {
                if flight.attempt < policy.attempts {
                    let next = leader.unwrap_or_else(|| next_node(flight.node, node_count));
                    flight.attempt += 1;
                    flight.node = next;
                    return Next::Send {
                        request,
                        operation: flight.operation.clone(),
                        node: next,
                        attempt: flight.attempt,
                        note: Some(match leader {
                            Some(_) => format!("redirected, attempt {}", flight.attempt),
                            None => format!("no leader known, attempt {}", flight.attempt),
                        }),
                    };
                }
            }
        }
        let (kind, value) = flight.operation.completion(&reply);
        // A redirect (or any definite failure) after an unanswered attempt proves nothing: the
        // earlier attempt may still take effect.
        let kind =
            if kind == EventType::Fail && flight.uncertain && !flight.operation.is_read_only() {
                EventType::Info
            } else {
                kind
            };
        self.finish(
            request.client,
            (kind, value),
            Outcome::Replied { reply, tick: now },
        )
    }

    /// An attempt's deadline passed.
    pub fn on_deadline(
        &mut self,
        client: ProcessId,
        sequence: u64,
        attempt: u32,
        now: Tick,
    ) -> Next<N> {
        let attempts = self.policy.attempts;
        let node_count = self.node_count;
        let slot = self.slot_mut(client);
        let Some(flight) = slot
            .in_flight
            .as_mut()
            .filter(|f| f.sequence == sequence && f.attempt == attempt)
        else {
            return Next::Nothing;
        };
        flight.uncertain = true;
        if flight.attempt < attempts {
            flight.attempt += 1;
            flight.node = next_node(flight.node, node_count);
            return Next::Send {
                request: RequestId { client, sequence },
                operation: flight.operation.clone(),
                node: flight.node,
                attempt: flight.attempt,
                note: Some(format!("no reply, attempt {}", flight.attempt)),
            };
        }
        let invoked = flight.operation.invocation().1;
        let kind = if flight.operation.is_read_only() {
            EventType::Fail
        } else {
            EventType::Info
        };
        self.finish(client, (kind, invoked), Outcome::TimedOut { tick: now })
    }

    fn finish(
        &mut self,
        client: ProcessId,
        completion: (EventType, crate::history::Value),
        outcome: Outcome<ReplyOf<N>>,
    ) -> Next<N> {
        let slot = self.slot_mut(client);
        let flight = slot
            .in_flight
            .take()
            .expect("finishing an operation in flight");
        let process = slot
            .process
            .expect("an invoked client has a process number");
        if completion.0 == EventType::Info {
            // The open operation may still happen: this process can never invoke again (Knossos).
            slot.process = None;
        }
        self.outcomes.insert(
            OpHandle {
                client,
                sequence: flight.sequence,
            },
            outcome,
        );
        Next::Complete {
            process,
            f: flight.operation.invocation().0,
            completion,
        }
    }
}

/// The node after `node`, in declaration order, wrapping around.
fn next_node(node: ProcessId, node_count: usize) -> ProcessId {
    ProcessId(((node.index() + 1) % node_count) as u16)
}
