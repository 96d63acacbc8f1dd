//! Which messages belong to a client operation: the ones its request caused, transitively.
//!
//! The simulator runs one handler at a time and records a handler's sends (and annotations)
//! right after the event that triggered it: a delivery, a timer, a client's invocation or a
//! restart. So each send can be traced to its trigger by reading the trace in order, the way
//! a Lamport diagram's happens-before edges are drawn. An operation's messages are its request,
//! everything the request's delivery caused and so on, plus the replies to its client while it
//! was open (a reply sent from a timer, such as a failed round's, has a timer for its trigger;
//! that timer's other effects then belong to the operation too).

use crate::node::{ProcessId, Tick};
use crate::sim::{Fault, MessageId, Trace, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// What made a handler run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Trigger {
    Delivery(MessageId),
    /// The trace index of a timer, invocation or restart event.
    Event(usize),
}

/// One client operation in the trace: its invocation and completion events.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TracedOperation {
    pub client: ProcessId,
    pub invoke_event: usize,
    pub complete_event: Option<usize>,
    pub invoked_at: Tick,
    pub completed_at: Option<Tick>,
    /// The invocation's value, as the trace wrote it (EDN).
    pub value: String,
}

/// The happens-before edges of a trace that the diagram needs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Causality {
    /// The trigger of each message's send, when it was sent by a handler.
    sent_by: BTreeMap<MessageId, Trigger>,
    /// The trigger of each annotation event (by trace index).
    annotated_by: BTreeMap<usize, Trigger>,
    /// Receiver and send tick of each message.
    messages: BTreeMap<MessageId, (ProcessId, Tick)>,
    pub operations: Vec<TracedOperation>,
}

impl Causality {
    pub fn of(trace: &Trace) -> Causality {
        let mut c = Causality::default();
        let mut current: Option<(Tick, ProcessId, Trigger)> = None;
        let mut open: BTreeMap<ProcessId, usize> = BTreeMap::new();
        for (i, event) in trace.events.iter().enumerate() {
            match event {
                TraceEvent::Send {
                    tick,
                    message,
                    from,
                    to,
                    ..
                } => {
                    c.messages.insert(*message, (*to, *tick));
                    match current {
                        Some((t, who, trigger)) if t == *tick && who == *from => {
                            c.sent_by.insert(*message, trigger);
                        }
                        _ => {}
                    }
                }
                TraceEvent::Deliver { tick, message } => {
                    if let Some((to, _)) = c.messages.get(message) {
                        current = Some((*tick, *to, Trigger::Delivery(*message)));
                    }
                }
                TraceEvent::Timer { tick, node, .. } => {
                    current = Some((*tick, *node, Trigger::Event(i)));
                }
                TraceEvent::Invoke {
                    tick,
                    client,
                    value,
                    ..
                } => {
                    current = Some((*tick, *client, Trigger::Event(i)));
                    open.insert(*client, c.operations.len());
                    c.operations.push(TracedOperation {
                        client: *client,
                        invoke_event: i,
                        complete_event: None,
                        invoked_at: *tick,
                        completed_at: None,
                        value: value.clone(),
                    });
                }
                TraceEvent::Complete { tick, client, .. } => {
                    if let Some(op) = open.remove(client) {
                        c.operations[op].complete_event = Some(i);
                        c.operations[op].completed_at = Some(*tick);
                    }
                }
                TraceEvent::Annotate { tick, node, .. } => match current {
                    Some((t, who, trigger)) if t == *tick && who == *node => {
                        c.annotated_by.insert(i, trigger);
                    }
                    _ => {}
                },
                TraceEvent::Fault {
                    tick,
                    fault: Fault::Restart { node, .. },
                } => {
                    current = trace
                        .names
                        .iter()
                        .position(|n| n == node)
                        .map(|p| (*tick, ProcessId(p as u16), Trigger::Event(i)));
                }
                TraceEvent::Fault { .. } | TraceEvent::Drop { .. } => {}
            }
        }
        c
    }

    /// The operation `client` invoked at `tick`, if there is one.
    pub fn operation(&self, client: ProcessId, tick: Tick) -> Option<usize> {
        self.operations
            .iter()
            .position(|o| o.client == client && o.invoked_at == tick)
    }

    /// Everything that belongs to the operations `ops`: their messages, and the trace indexes
    /// of their invocation, completion, timer and annotation events.
    pub fn belonging_to(&self, ops: &[usize]) -> Belonging {
        let mut messages: BTreeSet<MessageId> = BTreeSet::new();
        let mut triggers: BTreeSet<Trigger> = BTreeSet::new();
        let mut events: BTreeSet<usize> = BTreeSet::new();
        for &op in ops {
            let Some(o) = self.operations.get(op) else {
                continue;
            };
            triggers.insert(Trigger::Event(o.invoke_event));
            events.insert(o.invoke_event);
            events.extend(o.complete_event);
            // Replies to the client while the operation was open.
            let until = o.completed_at.unwrap_or(Tick::MAX);
            for (m, (to, sent)) in &self.messages {
                if *to == o.client && (o.invoked_at..=until).contains(sent) {
                    messages.insert(*m);
                }
            }
        }
        loop {
            let before = (messages.len(), triggers.len());
            for (m, trigger) in &self.sent_by {
                if triggers.contains(trigger) {
                    messages.insert(*m);
                }
            }
            for m in &messages {
                triggers.insert(Trigger::Delivery(*m));
                if let Some(Trigger::Event(e)) = self.sent_by.get(m) {
                    triggers.insert(Trigger::Event(*e));
                }
            }
            if (messages.len(), triggers.len()) == before {
                break;
            }
        }
        for trigger in &triggers {
            if let Trigger::Event(e) = trigger {
                events.insert(*e);
            }
        }
        for (e, trigger) in &self.annotated_by {
            if triggers.contains(trigger) {
                events.insert(*e);
            }
        }
        Belonging { messages, events }
    }
}

/// What belongs to a set of operations.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Belonging {
    pub messages: BTreeSet<MessageId>,
    /// Trace indexes of invocations, completions, timers and annotations.
    pub events: BTreeSet<usize>,
}
