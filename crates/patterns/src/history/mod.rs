//! Client histories in Jepsen's vocabulary: every client operation is an `:invoke` followed by an
//! `:ok`, `:fail` or `:info` completion.
//!
//! The meaning of the completion types is Knossos's, and every checker in [`crate::check`] relies on
//! it: `:ok` happened, `:fail` never happened, `:info` (and an invoke with no completion) may or may
//! not have happened, at any moment after its invocation.
//!
//! [`History::to_edn`] prints the exact text the reference workshop's fixtures compare against
//! (spec §1.13, Appendix A): one vector, events separated by one space, keys in the order
//! `:process`, `:process-name`, `:type`, `:f`, `:value`.

mod edn;
mod formats;

pub use edn::{EdnError, parse_edn, parse_value, write_value};
pub use formats::{Format, parse_history, parse_jepsen_log};

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a history event says about its operation (Jepsen's `:type`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The client sent the operation.
    Invoke,
    /// The operation took effect, and the value is its result.
    Ok,
    /// The operation certainly did not take effect.
    Fail,
    /// The outcome is unknown: the operation may take effect at any later point, or never.
    Info,
}

impl EventType {
    /// The EDN keyword name, without the colon.
    pub fn keyword(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }
}

/// A value in a history: the subset of EDN that histories use.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Str(String),
    /// A keyword, stored without its leading colon.
    Keyword(String),
    /// A vector or a list: `[k v]` tuples of independent keys, `[old new]` of a cas.
    Vector(Vec<Value>),
    /// A map, kept in the order it was read.
    Map(Vec<(Value, Value)>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// About how many bytes the value holds on the heap, beyond its own size.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Nil | Value::Bool(_) | Value::Int(_) => 0,
            Value::Str(s) | Value::Keyword(s) => s.capacity(),
            Value::Vector(items) => {
                items.capacity() * size_of::<Value>()
                    + items.iter().map(Value::heap_bytes).sum::<usize>()
            }
            Value::Map(entries) => {
                entries.capacity() * size_of::<(Value, Value)>()
                    + entries
                        .iter()
                        .map(|(k, v)| k.heap_bytes() + v.heap_bytes())
                        .sum::<usize>()
            }
        }
    }

    /// A `[key value]` tuple, the shape of operations on independent keys.
    pub fn tuple(key: Value, value: Value) -> Value {
        Value::Vector(vec![key, value])
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Nil, Into::into)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_value(&mut out, self);
        f.write_str(&out)
    }
}

/// Where an event was read: 1-based line and column (in characters) of the text it came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// One line of a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Jepsen's process number: one process has at most one operation in flight.
    pub process: u64,
    /// The client's name (`alice`); printed as `:process-name`.
    pub process_name: Option<String>,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The operation's function, a keyword name without the colon: `read`, `write`, `cas`, `add`.
    pub f: String,
    pub value: Value,
    /// When it happened: the simulator's tick, or `:time` read from a file.
    pub time: Option<u64>,
    /// Any other keys of the event as read from EDN (kept, never used for checking).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<(String, Value)>,
    /// Where the event was read, for an event read from text: errors about it name the place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

impl Event {
    /// Where the event is, for a message: its line and column when it was read from text, its
    /// index in the history otherwise.
    pub fn place(&self, index: usize) -> String {
        match self.position {
            Some(p) => p.to_string(),
            None => format!("event {index}"),
        }
    }
}

/// A client history: events in real-time order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub events: Vec<Event>,
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Appends an event for the named process, numbering processes by first appearance
    /// (the first name seen is process 0), as the reference's recorder does.
    pub fn record(
        &mut self,
        process_name: &str,
        kind: EventType,
        f: &str,
        value: impl Into<Value>,
        time: Option<u64>,
    ) {
        let process = self.process_number(process_name);
        self.record_as(process, process_name, kind, f, value, time);
    }

    /// Appends an event for an explicit process number. A client whose operation ended in
    /// `:info` must go on under a new number (its old operation stays open forever), which
    /// [`History::next_process_number`] provides.
    pub fn record_as(
        &mut self,
        process: u64,
        process_name: &str,
        kind: EventType,
        f: &str,
        value: impl Into<Value>,
        time: Option<u64>,
    ) {
        self.events.push(Event {
            process,
            process_name: Some(process_name.to_string()),
            kind,
            f: f.to_string(),
            value: value.into(),
            time,
            extra: Vec::new(),
            position: None,
        });
    }

    fn process_number(&self, name: &str) -> u64 {
        match self
            .events
            .iter()
            .rev()
            .find(|e| e.process_name.as_deref() == Some(name))
        {
            Some(e) => e.process,
            None => self.next_process_number(),
        }
    }

    /// A process number no event uses yet.
    pub fn next_process_number(&self) -> u64 {
        self.events.iter().map(|e| e.process + 1).max().unwrap_or(0)
    }

    /// One key's history out of a history of `[key value]` tuples (Jepsen's `independent`
    /// form), with plain values: the history of a single register.
    pub fn for_key(&self, key: &str) -> History {
        let events = self
            .events
            .iter()
            .filter_map(|e| match &e.value {
                Value::Vector(pair)
                    if pair.len() == 2 && pair[0] == Value::Str(key.to_string()) =>
                {
                    Some(Event {
                        value: pair[1].clone(),
                        ..e.clone()
                    })
                }
                _ => None,
            })
            .collect();
        History { events }
    }

    /// The history as the reference prints it (spec §1.13): one line, keys in the order
    /// `:process :process-name :type :f :value`, no `:time`.
    pub fn to_edn(&self) -> String {
        self.write_edn(false)
    }

    /// As [`History::to_edn`], plus `:time` (the tick) and `:index` on every event, which Knossos and
    /// Porcupine's readers accept.
    pub fn to_edn_timed(&self) -> String {
        self.write_edn(true)
    }

    fn write_edn(&self, timed: bool) -> String {
        let mut out = String::from("[");
        for (index, e) in self.events.iter().enumerate() {
            if index > 0 {
                out.push(' ');
            }
            out.push_str("{:process ");
            out.push_str(&e.process.to_string());
            if let Some(name) = &e.process_name {
                out.push_str(", :process-name ");
                write_value(&mut out, &Value::Str(name.clone()));
            }
            out.push_str(", :type :");
            out.push_str(e.kind.keyword());
            out.push_str(", :f :");
            out.push_str(&e.f);
            out.push_str(", :value ");
            write_value(&mut out, &e.value);
            if timed {
                if let Some(time) = e.time {
                    out.push_str(", :time ");
                    out.push_str(&time.to_string());
                }
                out.push_str(", :index ");
                out.push_str(&index.to_string());
            }
            out.push('}');
        }
        out.push(']');
        out
    }
}
