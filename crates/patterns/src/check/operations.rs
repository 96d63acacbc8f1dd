//! From events to operations, with Knossos's meaning of each completion (spec §1.14).
//!
//! * `:ok` — the operation took effect between its invocation and its completion.
//! * `:fail` — it never took effect: it is dropped here and no checker ever sees it; unless the
//!   model reads it as an answer ([`Model::failed`]: etcd's failed compare-and-set), which then
//!   took effect as an `:ok` operation does.
//! * `:info`, or an invocation never completed — it may have taken effect at any moment after its
//!   invocation, up to the end of time, or never. Its interval stays open.

use super::model::{Call, Model};
use crate::history::{EventType, History, Position, Value};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

/// How an operation ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Completion {
    /// It took effect, and its result is known.
    Ok,
    /// `:fail`, which the model reads as a definite answer ([`Model::failed`]): it took effect
    /// between its invocation and its completion, as an `:ok` operation does. (A `:fail` that
    /// means "never happened" leaves no operation.)
    Fail,
    /// `:info` or no completion: it may or may not have taken effect.
    Info,
}

/// One client operation: an invocation and its completion, as a checker sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Operation {
    /// Position among the checked operations, in invocation order.
    pub id: usize,
    pub process: u64,
    pub process_name: Option<String>,
    pub f: String,
    /// The `:invoke` value.
    pub invoked: Value,
    /// The `:ok` value.
    pub completed: Option<Value>,
    pub completion: Completion,
    /// Index of the `:invoke` event in the history.
    pub invoke_index: usize,
    /// Index of the `:ok` event; `None` while the operation stays open (`:info`, no completion).
    pub complete_index: Option<usize>,
    /// The partition the model put it in ([`Model::partition`]).
    pub key: Option<Value>,
}

impl Operation {
    /// A short label: `write 3`, `read → 3`, `cas [1 2]`, `cas [1 2] → fail`, `write 3 → ?` (not
    /// known to have happened).
    pub fn label(&self) -> String {
        let mut out = self.f.clone();
        if !self.invoked.is_nil() {
            out.push_str(&format!(" {}", self.invoked));
        }
        match (&self.completed, self.completion) {
            (_, Completion::Info) => out.push_str(" → ?"),
            (_, Completion::Fail) => out.push_str(" → fail"),
            (Some(v), _) if *v != self.invoked => out.push_str(&format!(" → {v}")),
            _ => {}
        }
        out
    }

    /// Whether this operation is known to have taken effect (`:ok`, or a `:fail` that is an
    /// answer).
    pub fn is_ok(&self) -> bool {
        self.completion != Completion::Info
    }

    /// The process as a learner knows it: its name when the history has one.
    pub fn process_label(&self) -> String {
        self.process_name
            .clone()
            .unwrap_or_else(|| format!("process {}", self.process))
    }
}

/// Why a history cannot be checked: which event, where it was read, and what was wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryError {
    /// Index of the offending event (0-based, in the history as read; skipped nemesis events
    /// are not counted, so the position is the place to look in a file).
    pub event: usize,
    /// Where the offending event was read, when it came from text.
    pub position: Option<Position>,
    pub message: String,
}

impl HistoryError {
    fn at(history: &History, event: usize, message: String) -> HistoryError {
        HistoryError {
            event,
            position: history.events[event].position,
            message,
        }
    }
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => write!(f, "event {}: {}", self.event, self.message),
        }
    }
}

impl std::error::Error for HistoryError {}

/// Pairs invocations with completions, drops `:fail`ed operations, and reads each remaining
/// operation with `model`. Returns the operations (in invocation order) and the model's reading of
/// each.
pub(crate) fn operations<M: Model>(
    history: &History,
    model: &M,
    nil_is_value: bool,
) -> Result<(Vec<Operation>, Vec<M::Op>), HistoryError> {
    struct Pending {
        invoke: usize,
        end: Option<(usize, EventType)>,
    }
    let mut pending: Vec<Pending> = Vec::new();
    let mut open: HashMap<u64, usize> = HashMap::new();
    for (index, e) in history.events.iter().enumerate() {
        let error = |message: String| HistoryError::at(history, index, message);
        match e.kind {
            EventType::Invoke => {
                if let Some(&p) = open.get(&e.process) {
                    return Err(error(format!(
                        "process {} invoked :{} while its :{} from {} had not completed \
                         (a process runs one operation at a time)",
                        e.process,
                        e.f,
                        history.events[pending[p].invoke].f,
                        history.events[pending[p].invoke].place(pending[p].invoke)
                    )));
                }
                open.insert(e.process, pending.len());
                pending.push(Pending {
                    invoke: index,
                    end: None,
                });
            }
            kind => {
                let Some(p) = open.remove(&e.process) else {
                    return Err(error(format!(
                        "a :{} completion for process {} with no :invoke before it",
                        kind.keyword(),
                        e.process
                    )));
                };
                let invoked_f = &history.events[pending[p].invoke].f;
                if *invoked_f != e.f {
                    return Err(error(format!(
                        "process {} completed :{} but had invoked :{}",
                        e.process, e.f, invoked_f
                    )));
                }
                pending[p].end = Some((index, kind));
            }
        }
    }
    let mut operations = Vec::new();
    let mut ops = Vec::new();
    for p in pending {
        let invoke = &history.events[p.invoke];
        let (completed, completion, complete_index) = match p.end {
            Some((i, kind @ (EventType::Ok | EventType::Fail))) => {
                let completion = if kind == EventType::Ok {
                    Completion::Ok
                } else {
                    Completion::Fail
                };
                (Some(&history.events[i].value), completion, Some(i))
            }
            _ => (None, Completion::Info, None),
        };
        let call = Call {
            f: &invoke.f,
            invoked: &invoke.value,
            completed,
            nil_is_value,
        };
        let read = if completion == Completion::Fail {
            model.failed(&call)
        } else {
            model.op(&call).map(Some)
        };
        let op = read.map_err(|message| {
            let message = format!("process {} :{}: {message}", invoke.process, invoke.f);
            HistoryError::at(history, complete_index.unwrap_or(p.invoke), message)
        })?;
        // A failure that is not an answer never happened (Knossos).
        let Some(op) = op else { continue };
        let key = model.partition(&op);
        operations.push(Operation {
            id: operations.len(),
            process: invoke.process,
            process_name: invoke.process_name.clone(),
            f: invoke.f.clone(),
            invoked: invoke.value.clone(),
            completed: completed.cloned(),
            completion,
            invoke_index: p.invoke,
            complete_index,
            key,
        });
        ops.push(op);
    }
    Ok((operations, ops))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::model::Register;
    use crate::history::parse_edn;

    #[test]
    fn structural_errors_name_the_line_and_column_of_the_event() {
        // Issue 10, item 13: after two nemesis lines (skipped), the bad completion is event 0 of
        // the history but line 3 of the file; the message points at the file.
        let h = parse_edn(
            "{:process :nemesis :type :info :f :start}\n\
             {:process :nemesis :type :info :f :stop}\n\
             \x20 {:process 0 :type :ok :f :read :value 1}\n",
        )
        .unwrap();
        let e = operations(&h, &Register::default(), false).unwrap_err();
        assert_eq!(
            (e.event, e.position),
            (0, Some(Position { line: 3, column: 3 }))
        );
        assert!(
            e.to_string()
                .starts_with("line 3, column 3: a :ok completion"),
            "{e}"
        );
        // Two invocations in flight name both places; a value the model cannot read, its own.
        let h = parse_edn(
            "[{:process 0 :type :invoke :f :write :value 1}\n \
             {:process 0 :type :invoke :f :write :value 2}]",
        )
        .unwrap();
        let e = operations(&h, &Register::default(), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "line 2, column 2: process 0 invoked :write while its :write from line 1, column 2"
            ),
            "{e}"
        );
        let h = parse_edn("\n\n\n{:process 0 :type :invoke :f :cas :value [1 2]}").unwrap();
        let e = operations(&h, &Register::default(), false)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 4, column 1: process 0 :cas"), "{e}");
    }

    #[test]
    fn failed_operations_vanish_and_unfinished_ones_stay_open() {
        // :fail never happened; :info and a missing completion may have.
        let mut h = History::new();
        h.record("a", EventType::Invoke, "write", 1, None);
        h.record("b", EventType::Invoke, "write", 2, None);
        h.record("a", EventType::Fail, "write", 1, None);
        h.record("c", EventType::Invoke, "write", 3, None);
        h.record("b", EventType::Info, "write", 2, None);
        let (ops, _) = operations(&h, &Register::default(), false).unwrap();
        let shape: Vec<_> = ops
            .iter()
            .map(|o| (o.process, o.completion, o.complete_index))
            .collect();
        assert_eq!(
            shape,
            vec![(1, Completion::Info, None), (2, Completion::Info, None)]
        );
    }

    #[test]
    fn malformed_pairings_are_refused_naming_the_event() {
        // Two invocations in flight on one process, or a completion from nowhere, are bad input.
        let mut h = History::new();
        h.record("a", EventType::Invoke, "write", 1, None);
        h.record("a", EventType::Invoke, "write", 2, None);
        assert_eq!(
            operations(&h, &Register::default(), false)
                .unwrap_err()
                .event,
            1
        );
        let mut h = History::new();
        h.record("a", EventType::Ok, "read", 1, None);
        let e = operations(&h, &Register::default(), false).unwrap_err();
        assert!(
            e.to_string().starts_with("event 0: a :ok completion"),
            "{e}"
        );
    }
}
