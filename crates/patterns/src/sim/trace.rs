//! The record of a run: what was sent, delivered and dropped, which timers fired, what failed.
//!
//! A trace is data (serde), so diagrams, tables and determinism checks read it without running
//! anything. [`Trace::stable_hash`] is the same on every platform and every run of the same seed.

use super::Fault;
use crate::history::EventType;
use crate::node::{ProcessId, Tick};
use serde::Serialize;
use std::fmt;

/// Which message a send, delivery or drop is about: numbered in send order.
pub type MessageId = u64;

/// Why the network did not deliver a message.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// The link was cut by a partition when the message was sent.
    Partition,
    /// A drop rule for this message type matched.
    Rule,
    /// Random loss.
    Loss,
    /// The receiver was down when the message arrived.
    Crashed,
    /// The sender crashed before its storage sync released the message.
    SenderCrashed,
    /// The receiving client had given up on that request.
    Stale,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::Partition => "partition",
            DropReason::Rule => "drop rule",
            DropReason::Loss => "loss",
            DropReason::Crashed => "receiver down",
            DropReason::SenderCrashed => "sender crashed before sync",
            DropReason::Stale => "client gave up",
        })
    }
}

/// One event of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum TraceEvent {
    Send {
        tick: Tick,
        message: MessageId,
        from: ProcessId,
        to: ProcessId,
        kind: &'static str,
        /// The message's `Debug` text, when the trace records payloads.
        payload: Option<String>,
    },
    Deliver {
        tick: Tick,
        message: MessageId,
    },
    Drop {
        tick: Tick,
        message: MessageId,
        reason: DropReason,
    },
    Timer {
        tick: Tick,
        node: ProcessId,
        timer: String,
    },
    Fault {
        tick: Tick,
        fault: Fault,
    },
    Annotate {
        tick: Tick,
        node: ProcessId,
        text: String,
    },
    Invoke {
        tick: Tick,
        client: ProcessId,
        node: ProcessId,
        f: &'static str,
        value: String,
    },
    Complete {
        tick: Tick,
        client: ProcessId,
        kind: EventType,
        value: String,
    },
}

impl TraceEvent {
    pub fn tick(&self) -> Tick {
        match self {
            TraceEvent::Send { tick, .. }
            | TraceEvent::Deliver { tick, .. }
            | TraceEvent::Drop { tick, .. }
            | TraceEvent::Timer { tick, .. }
            | TraceEvent::Fault { tick, .. }
            | TraceEvent::Annotate { tick, .. }
            | TraceEvent::Invoke { tick, .. }
            | TraceEvent::Complete { tick, .. } => *tick,
        }
    }
}

/// How much a run records. Recording payload text costs a `format!` per message; benchmarks and
/// fault explorers that run thousands of seeds record less.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum TraceLevel {
    /// Nothing at all.
    Off,
    /// Every event, message types but not payloads.
    Kinds,
    /// Every event with each message's `Debug` text.
    Full,
}

/// Everything that happened in a run, with the names of its processes.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Trace {
    /// Process names by `ProcessId` index: nodes first, then clients.
    pub names: Vec<String>,
    /// How many of the processes are nodes (the rest are clients).
    pub node_count: usize,
    pub events: Vec<TraceEvent>,
}

impl Trace {
    pub fn name(&self, id: ProcessId) -> &str {
        self.names.get(id.index()).map_or("?", String::as_str)
    }

    pub fn is_client(&self, id: ProcessId) -> bool {
        id.index() >= self.node_count
    }

    /// A 64-bit FNV-1a hash of the trace's JSON form: equal for equal runs on any platform.
    pub fn stable_hash(&self) -> u64 {
        let mut hash = Fnv1a::new();
        for event in &self.events {
            let json = serde_json::to_vec(event).expect("trace events serialise");
            hash.write(&json);
            hash.write(b"\n");
        }
        for name in &self.names {
            hash.write(name.as_bytes());
        }
        hash.finish()
    }

    /// The events of ticks `from..=to`.
    pub fn window(&self, from: Tick, to: Tick) -> impl Iterator<Item = &TraceEvent> {
        self.events
            .iter()
            .filter(move |e| (from..=to).contains(&e.tick()))
    }

    /// One line per event, for error messages and plain-text output.
    pub fn describe(&self, event: &TraceEvent) -> String {
        match event {
            TraceEvent::Send {
                tick,
                message,
                from,
                to,
                kind,
                ..
            } => {
                format!(
                    "tick {tick}: #{message} {kind} {} -> {}",
                    self.name(*from),
                    self.name(*to)
                )
            }
            TraceEvent::Deliver { tick, message } => format!("tick {tick}: #{message} delivered"),
            TraceEvent::Drop {
                tick,
                message,
                reason,
            } => {
                format!("tick {tick}: #{message} dropped ({reason})")
            }
            TraceEvent::Timer { tick, node, timer } => {
                format!("tick {tick}: {} timer {timer}", self.name(*node))
            }
            TraceEvent::Fault { tick, fault } => {
                format!("tick {tick}: {fault}")
            }
            TraceEvent::Annotate { tick, node, text } => {
                format!("tick {tick}: {}: {text}", self.name(*node))
            }
            TraceEvent::Invoke {
                tick,
                client,
                node,
                f,
                value,
            } => {
                format!(
                    "tick {tick}: {} invokes {f} {value} at {}",
                    self.name(*client),
                    self.name(*node)
                )
            }
            TraceEvent::Complete {
                tick,
                client,
                kind,
                value,
            } => {
                format!(
                    "tick {tick}: {} {} {value}",
                    self.name(*client),
                    kind.keyword()
                )
            }
        }
    }

    /// The whole trace as text, one event per line.
    pub fn to_text(&self) -> String {
        self.events
            .iter()
            .map(|e| self.describe(e))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// FNV-1a, 64 bits: tiny, fixed, and the same everywhere (std's hashers promise none of that).
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_its_published_test_vector() {
        // FNV-1a 64 of "a" is af63dc4c8601ec8c (the reference test suite of the algorithm).
        let mut h = Fnv1a::new();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }
}
