//! What a check found, said so that a learner sees why: the verdict, in words, on a timeline.

use super::Consistency;
use super::operations::Operation;
use crate::history::Value;
use serde::Serialize;
use std::collections::HashMap;

/// The answer of a check.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// The history is consistent; `order` is one witness: every `:ok` operation, and the `:info`
    /// ones that took effect, in the order they took effect (operation ids).
    Ok { order: Vec<usize> },
    /// The history is not consistent.
    Illegal(Violation),
    /// The search ran out of budget: nothing is known. Never counts as a pass.
    Unknown { reason: String },
}

impl Verdict {
    /// `Some(true)` valid, `Some(false)` invalid, `None` unknown.
    pub fn valid(&self) -> Option<bool> {
        match self {
            Verdict::Ok { .. } => Some(true),
            Verdict::Illegal(_) => Some(false),
            Verdict::Unknown { .. } => None,
        }
    }
}

/// Why a history is not consistent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// The partition (key) that failed, when the model splits by key.
    pub key: Option<Value>,
    /// The longest prefix of a valid order the search found (operation ids, in order).
    pub prefix: Vec<usize>,
    /// The operation that cannot come next: it had to take effect (before it returned, for
    /// linearizability) and the model refuses it in every way the search tried.
    pub culprit: usize,
    /// What the culprit returned and what the model allowed, after the prefix.
    pub why: String,
}

/// A check's result: the verdict with the operations it speaks about. Shown in a notebook as a short
/// explanation and a timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The model's name.
    pub model: String,
    pub consistency: Consistency,
    /// The checked operations (`:fail`ed ones are not there: they never happened), by id.
    pub operations: Vec<Operation>,
    pub verdict: Verdict,
    /// Search steps taken, summed over partitions: the work the verdict cost.
    pub steps: u64,
    /// How many independent partitions (keys) the history has.
    pub partitions: usize,
    /// How each partition ended, in key order (one entry, key `None`, for sequential
    /// consistency, which sees all keys at once).
    pub keys: Vec<KeyVerdict>,
}

/// How one partition (key) of a check ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyVerdict {
    pub key: Option<Value>,
    /// `Some(true)` valid, `Some(false)` illegal, `None` unknown or not decided.
    pub valid: Option<bool>,
    /// `false` when the check stopped before this key was decided, because another key was
    /// found illegal.
    pub decided: bool,
    /// Search steps spent on it.
    pub steps: u64,
}

impl Report {
    /// The operation that could not be placed, when the history is not consistent: where to look
    /// in the run's diagram (its `invoke_index` is the event's position in the history).
    pub fn culprit(&self) -> Option<&Operation> {
        match &self.verdict {
            Verdict::Illegal(violation) => self.operations.get(violation.culprit),
            _ => None,
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self.verdict, Verdict::Ok { .. })
    }

    pub fn is_illegal(&self) -> bool {
        matches!(self.verdict, Verdict::Illegal(_))
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self.verdict, Verdict::Unknown { .. })
    }

    /// `Some(true)` valid, `Some(false)` invalid, `None` unknown.
    pub fn valid(&self) -> Option<bool> {
        self.verdict.valid()
    }

    /// The order the verdict shows: the whole witness order, or the longest valid prefix.
    pub fn order(&self) -> &[usize] {
        match &self.verdict {
            Verdict::Ok { order } => order,
            Verdict::Illegal(v) => &v.prefix,
            Verdict::Unknown { .. } => &[],
        }
    }

    /// Where each operation of [`Report::order`] can be drawn taking effect, in event positions
    /// (same order as `order()`); empty for sequential consistency, which ignores real time.
    pub fn linearization_points(&self) -> Vec<f64> {
        match self.consistency {
            Consistency::Linearizable => linearization_points(&self.operations, self.order()),
            Consistency::Sequential => Vec::new(),
        }
    }

    fn property(&self) -> &'static str {
        match self.consistency {
            Consistency::Linearizable => "linearizable",
            Consistency::Sequential => "sequentially consistent",
        }
    }

    fn describe_op(&self, id: usize) -> String {
        let o = &self.operations[id];
        format!("{} {}", o.process_label(), o.label())
    }

    fn describe_order(&self, order: &[usize]) -> String {
        const SHOWN: usize = 12;
        let mut parts: Vec<String> = order
            .iter()
            .take(SHOWN)
            .map(|&i| self.describe_op(i))
            .collect();
        if order.len() > SHOWN {
            parts.push(format!("… ({} operations in all)", order.len()));
        }
        parts.join(", then ")
    }

    /// The verdict in a few sentences of plain text.
    pub fn explanation(&self) -> String {
        let model = &self.model;
        match &self.verdict {
            Verdict::Ok { order } if order.is_empty() => {
                format!(
                    "{}: nothing to order, the history is trivially {} ({model}).",
                    "Valid",
                    self.property()
                )
            }
            Verdict::Ok { order } => format!(
                "Valid: the history is {} ({model}). One order in which the operations could have taken effect: {}.",
                self.property(),
                self.describe_order(order)
            ),
            Verdict::Illegal(v) => {
                let o = &self.operations[v.culprit];
                let when = match o.complete_index {
                    Some(r) => {
                        format!("invoked at event {}, returned at event {r}", o.invoke_index)
                    }
                    None => format!("invoked at event {}", o.invoke_index),
                };
                let prefix = if v.prefix.is_empty() {
                    "No operation can be placed first".to_string()
                } else {
                    format!(
                        "The longest prefix that works has {} operation{}: {}",
                        v.prefix.len(),
                        if v.prefix.len() == 1 { "" } else { "s" },
                        self.describe_order(&v.prefix)
                    )
                };
                let key = v
                    .key
                    .as_ref()
                    .map_or(String::new(), |k| format!(" On key {k}:"));
                let must = match self.consistency {
                    Consistency::Linearizable => "had to take effect before it returned, but",
                    Consistency::Sequential => "is next in its process's order, but",
                };
                format!(
                    "Invalid: the history is not {} ({model}).{key} {prefix}. Then {} ({when}) {must} cannot: {}.",
                    self.property(),
                    self.describe_op(v.culprit),
                    v.why
                )
            }
            Verdict::Unknown { reason } => format!(
                "Unknown: whether the history is {} ({model}) was not decided: {reason}. This is not a pass; raise the budget or shorten the history.",
                self.property()
            ),
        }
    }
}

/// The earliest point each operation of `order` can take effect, keeping every key's order:
/// just after its invocation, and after the previous operation on its key. For an order that is a
/// linearization of each key, every point falls before the operation's return, so sorting all
/// operations by point gives a linearization of the whole history (real-time order between keys
/// is kept because each point lies inside its operation's interval).
pub(crate) fn linearization_points(operations: &[Operation], order: &[usize]) -> Vec<f64> {
    // Points are kept apart by less than half an event, so no chain of them reaches a return.
    let gap = 0.5 / (order.len() as f64 + 1.0);
    let mut last: HashMap<Option<&Value>, f64> = HashMap::new();
    // Orders come grouped by key: the key of the operation before is the one to look up first.
    let mut previous: Option<(Option<&Value>, f64)> = None;
    order
        .iter()
        .map(|&id| {
            let o = &operations[id];
            let key = o.key.as_ref();
            let earliest = o.invoke_index as f64 + 0.25;
            let before = match previous {
                Some((k, p)) if k == key => Some(p),
                Some((k, p)) => {
                    last.insert(k, p);
                    last.get(&key).copied()
                }
                None => None,
            };
            let point = before.map_or(earliest, |p| earliest.max(p + gap));
            previous = Some((key, point));
            point
        })
        .collect()
}
