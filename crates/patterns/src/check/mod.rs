//! Consistency checkers: is a history linearizable, or at least sequentially consistent, for a
//! model of the object it used?
//!
//! The reference workshop sent its histories to Knossos on the JVM (spec §1.14); these checkers
//! are native, and keep Knossos's meaning of a history ([`operations`](Operation)):
//! `:fail` never happened, `:info` (or no completion) may have happened at any time after the
//! invocation or never, and an `:ok` read of `nil` says nothing unless [`Options::nil_is_value`].
//!
//! * [`Consistency::Linearizable`] — the Wing–Gong–Lowe search in `linearizable.rs`, one search
//!   per [`Model::partition`] key (P-compositionality), keys searched in parallel when there are
//!   enough of them.
//! * [`Consistency::Sequential`] — a search over program orders in `sequential.rs`, sound where
//!   the reference's greedy algorithm was not.
//!
//! Every answer is a [`Report`] that teaches: one valid order, or the longest prefix that works
//! and the operation that cannot follow it (what it returned and what the model allowed), drawn on
//! a timeline ([`crate::viz::timeline`]). A search that exceeds its [`Options`] budget answers
//! [`Verdict::Unknown`], never a pass.
//!
//! ```
//! use patterns::check::{self, Register};
//! use patterns::history::parse_edn;
//! let h = parse_edn(r#"[{:process 0 :type :invoke :f :write :value 1}
//!                      {:process 0 :type :ok     :f :write :value 1}
//!                      {:process 1 :type :invoke :f :read  :value nil}
//!                      {:process 1 :type :ok     :f :read  :value 0}]"#).unwrap();
//! let report = check::linearizable(&h, &Register::new(0)).unwrap();
//! assert!(report.is_illegal()); // the read began after the write returned 1, yet saw 0
//! assert!(check::sequential(&h, &Register::new(0)).unwrap().is_ok()); // order: read, write
//! ```

mod append;
mod budget;
mod etcd;
mod linearizable;
mod memo;
mod model;
mod operations;
mod report;
mod sequential;
mod workload;

pub use append::{AppendOp, AppendString, Text};
pub use etcd::{Etcd, EtcdOp};
pub use model::{
    Call, CasRegister, Counter, CounterOp, Independent, Keyed, Micro, Model, MultiRegister,
    MultiRegisterOp, Mutex, MutexOp, Register, RegisterOp, Set, SetOp,
};
pub use operations::{Completion, HistoryError, Operation};
pub use report::{Report, Verdict, Violation};
pub use workload::Workload;

use crate::history::{History, Value};
use budget::Budget;
use linearizable::{Outcome, Timed};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Which consistency property to check.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Consistency {
    /// Every operation takes effect at one instant between its invocation and its completion.
    Linearizable,
    /// Every process sees one order of all operations, which keeps each process's own order.
    Sequential,
}

impl fmt::Display for Consistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Consistency::Linearizable => "linearizable",
            Consistency::Sequential => "sequential",
        })
    }
}

impl FromStr for Consistency {
    type Err = String;
    fn from_str(s: &str) -> Result<Consistency, String> {
        match s {
            "linearizable" | "linearizability" => Ok(Consistency::Linearizable),
            "sequential" | "sequential-consistency" => Ok(Consistency::Sequential),
            _ => Err(format!(
                "unknown consistency `{s}` (expected linearizable or sequential)"
            )),
        }
    }
}

/// How to read the history, and how long to search.
#[derive(Clone, Debug)]
pub struct Options {
    /// Treat an `:ok` value of `nil` as the value nil. Knossos's default (`false`) reads it as
    /// "unknown", which never violates anything.
    pub nil_is_value: bool,
    /// The most search steps for one partition before the answer is Unknown.
    pub steps_max: u64,
    /// The most wall time for the whole check before the answer is Unknown.
    pub time_limit: Option<Duration>,
    /// The most memory (estimated: memo, search stacks, states) all searches of the check may
    /// hold at once before the answer is Unknown.
    pub memory_max_bytes: usize,
    /// Search independent keys on several threads when the history is large enough.
    pub parallel: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            nil_is_value: false,
            steps_max: 50_000_000,
            time_limit: Some(Duration::from_secs(60)),
            memory_max_bytes: 2 << 30,
            parallel: true,
        }
    }
}

/// Below this many operations, searching keys on several threads costs more than it saves.
const PARALLEL_OPERATIONS_MIN: usize = 2_000;

/// Checks `history` against `model` for `consistency`. An `Err` means the history itself is
/// malformed (an operation the model does not know, a completion without an invocation...).
pub fn check<M: Model>(
    history: &History,
    model: &M,
    consistency: Consistency,
    options: &Options,
) -> Result<Report, HistoryError> {
    let (operations, ops) = operations::operations(history, model, options.nil_is_value)?;
    let budget = Budget::new(
        options.steps_max,
        options.time_limit.map(|t| Instant::now() + t),
        options.memory_max_bytes,
    );
    let parallel = options.parallel;
    let (verdict, steps, partitions) = match consistency {
        Consistency::Linearizable => {
            check_linearizable(model, &operations, &ops, &budget, parallel)
        }
        Consistency::Sequential => {
            // A linearization keeps every process's order, so it is a sequential order too; the
            // linearizability search, split by key, usually finds one fastest.
            let (verdict, lin_steps, _) =
                check_linearizable(model, &operations, &ops, &budget, parallel);
            if matches!(verdict, Verdict::Ok { .. }) {
                (verdict, lin_steps, 1)
            } else {
                let issued: Vec<_> = operations
                    .iter()
                    .zip(&ops)
                    .map(|(o, op)| sequential::Issued {
                        process: o.process,
                        open: o.completion == Completion::Info,
                        rank: o.complete_index.unwrap_or(usize::MAX),
                        op,
                    })
                    .collect();
                let (outcome, steps) = sequential::search(model, &issued, &budget);
                let all: Vec<usize> = (0..operations.len()).collect();
                let verdict = verdict_of(model, &ops, &all, None, outcome);
                (verdict, lin_steps + steps, 1)
            }
        }
    };
    Ok(Report {
        model: model.name(),
        consistency,
        operations,
        verdict,
        steps,
        partitions,
    })
}

/// [`check`] for linearizability with default [`Options`].
pub fn linearizable<M: Model>(history: &History, model: &M) -> Result<Report, HistoryError> {
    check(
        history,
        model,
        Consistency::Linearizable,
        &Options::default(),
    )
}

/// [`check`] for sequential consistency with default [`Options`].
pub fn sequential<M: Model>(history: &History, model: &M) -> Result<Report, HistoryError> {
    check(history, model, Consistency::Sequential, &Options::default())
}

/// Translates a search outcome over the operations `ids` into a verdict about global ids.
fn verdict_of<M: Model>(
    model: &M,
    ops: &[M::Op],
    ids: &[usize],
    key: Option<Value>,
    outcome: Outcome<M::State>,
) -> Verdict {
    match outcome {
        Outcome::Linearized(order) => Verdict::Ok {
            order: order.into_iter().map(|i| ids[i]).collect(),
        },
        Outcome::Stuck {
            prefix,
            culprit,
            state,
        } => Verdict::Illegal(Violation {
            key,
            prefix: prefix.into_iter().map(|i| ids[i]).collect(),
            culprit: ids[culprit],
            why: model.describe(&state, &ops[ids[culprit]]),
        }),
        Outcome::GaveUp(reason) => Verdict::Unknown {
            reason: match key {
                Some(k) => format!("on key {k}, {reason}"),
                None => reason,
            },
        },
    }
}

fn check_linearizable<M: Model>(
    model: &M,
    operations: &[Operation],
    ops: &[M::Op],
    budget: &Budget,
    parallel: bool,
) -> (Verdict, u64, usize) {
    let mut by_key: BTreeMap<Option<Value>, Vec<usize>> = BTreeMap::new();
    for o in operations {
        by_key.entry(o.key.clone()).or_default().push(o.id);
    }
    let partitions: Vec<(Option<Value>, Vec<usize>)> = by_key.into_iter().collect();
    let search_one = |ids: &[usize]| {
        let timed: Vec<Timed<'_, M::Op>> = ids
            .iter()
            .map(|&i| Timed {
                call: operations[i].invoke_index,
                ret: operations[i].complete_index,
                op: &ops[i],
            })
            .collect();
        linearizable::search(model, &timed, budget)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(partitions.len());
    let mut outcomes: Vec<Option<(Outcome<M::State>, u64)>> =
        (0..partitions.len()).map(|_| None).collect();
    if parallel && threads > 1 && operations.len() >= PARALLEL_OPERATIONS_MIN {
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let p = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some((_, ids)) = partitions.get(p) else {
                                return done;
                            };
                            done.push((p, search_one(ids)));
                        }
                    })
                })
                .collect();
            for worker in workers {
                for (p, outcome) in worker.join().expect("a partition search panicked") {
                    outcomes[p] = Some(outcome);
                }
            }
        });
    } else {
        for (p, (_, ids)) in partitions.iter().enumerate() {
            outcomes[p] = Some(search_one(ids));
        }
    }
    let mut steps = 0;
    let mut verdicts = Vec::with_capacity(partitions.len());
    for ((key, ids), outcome) in partitions.iter().zip(outcomes) {
        let (outcome, s) = outcome.expect("every partition searched");
        steps += s;
        verdicts.push(verdict_of(model, ops, ids, key.clone(), outcome));
    }
    let count = partitions.len();
    if let Some(i) = verdicts
        .iter()
        .position(|v| matches!(v, Verdict::Illegal(_)))
    {
        return (verdicts.swap_remove(i), steps, count);
    }
    if let Some(i) = verdicts
        .iter()
        .position(|v| matches!(v, Verdict::Unknown { .. }))
    {
        return (verdicts.swap_remove(i), steps, count);
    }
    // Each key's order is a linearization of that key; placing each operation at its earliest
    // point in its key's order and sorting by point gives one order of the whole history.
    let concatenated: Vec<usize> = verdicts
        .into_iter()
        .flat_map(|v| match v {
            Verdict::Ok { order } => order,
            _ => Vec::new(),
        })
        .collect();
    let points = report::linearization_points(operations, &concatenated);
    let mut order: Vec<(f64, usize)> = points.into_iter().zip(concatenated).collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    (
        Verdict::Ok {
            order: order.into_iter().map(|(_, id)| id).collect(),
        },
        steps,
        count,
    )
}
