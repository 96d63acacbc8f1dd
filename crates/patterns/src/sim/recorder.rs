//! The recorder: what a run leaves behind. The trace (every send, delivery, drop, timer, fault and
//! note) feeds the diagrams; the history (every client operation's invocation and completion, in
//! Jepsen's vocabulary) feeds the checkers. Recording is the only thing that reads the trace level.

use super::{DropReason, Fault, MessageId, Trace, TraceEvent, TraceLevel};
use crate::history::{EventType, History, Value};
use crate::node::{ProcessId, Tick};

#[derive(Clone)]
pub(crate) struct Recorder {
    pub trace: Trace,
    pub history: History,
    level: TraceLevel,
}

impl Recorder {
    pub fn new(names: Vec<String>, node_count: usize, level: TraceLevel) -> Recorder {
        Recorder {
            trace: Trace {
                names,
                node_count,
                events: Vec::new(),
            },
            history: History::new(),
            level,
        }
    }

    #[inline]
    fn on(&self) -> bool {
        self.level != TraceLevel::Off
    }

    /// A message put on the wire; `payload` is only asked for when the trace keeps payloads.
    #[inline]
    pub fn send(
        &mut self,
        tick: Tick,
        message: MessageId,
        (from, to): (ProcessId, ProcessId),
        kind: &'static str,
        payload: impl FnOnce() -> String,
    ) {
        if self.on() {
            let payload = (self.level == TraceLevel::Full).then(payload);
            self.trace.events.push(TraceEvent::Send {
                tick,
                message,
                from,
                to,
                kind,
                payload,
            });
        }
    }

    #[inline]
    pub fn deliver(&mut self, tick: Tick, message: MessageId) {
        if self.on() {
            self.trace
                .events
                .push(TraceEvent::Deliver { tick, message });
        }
    }

    pub fn drop(&mut self, tick: Tick, message: MessageId, reason: DropReason) {
        if self.on() {
            self.trace.events.push(TraceEvent::Drop {
                tick,
                message,
                reason,
            });
        }
    }

    pub fn timer(&mut self, tick: Tick, node: ProcessId, timer: impl FnOnce() -> String) {
        if self.on() {
            let timer = timer();
            self.trace
                .events
                .push(TraceEvent::Timer { tick, node, timer });
        }
    }

    pub fn fault(&mut self, tick: Tick, fault: &Fault) {
        if self.on() {
            let fault = fault.clone();
            self.trace.events.push(TraceEvent::Fault { tick, fault });
        }
    }

    pub fn annotate(&mut self, tick: Tick, node: ProcessId, text: String) {
        if self.on() {
            self.trace
                .events
                .push(TraceEvent::Annotate { tick, node, text });
        }
    }

    /// A client invokes an operation: in the trace and in the history.
    pub fn invoke(
        &mut self,
        tick: Tick,
        (process, client, name): (u64, ProcessId, &str),
        node: ProcessId,
        (f, value): (&'static str, Value),
    ) {
        if self.on() {
            self.trace.events.push(TraceEvent::Invoke {
                tick,
                client,
                node,
                f,
                value: value.to_string(),
            });
        }
        self.history
            .record_as(process, name, EventType::Invoke, f, value, Some(tick));
    }

    /// A client's operation ends.
    pub fn complete(
        &mut self,
        tick: Tick,
        (process, client, name): (u64, ProcessId, &str),
        f: &'static str,
        (kind, value): (EventType, Value),
    ) {
        if self.on() {
            self.trace.events.push(TraceEvent::Complete {
                tick,
                client,
                kind,
                value: value.to_string(),
            });
        }
        self.history
            .record_as(process, name, kind, f, value, Some(tick));
    }
}
