//! Consistency checkers: is a history linearizable, or at least sequentially consistent, for a
//! model of the object it used?
//!
//! The reference workshop sent its histories to Knossos on the JVM (spec §1.14); these checkers
//! are native, and keep Knossos's meaning of a history ([`operations`](Operation)):
//! `:fail` never happened (unless the model reads it as an answer, [`Model::failed`]: etcd's
//! failed compare-and-set), `:info` (or no completion) may have happened at any time after the
//! invocation or never, and an `:ok` read of `nil` says nothing unless [`Options::nil_is_value`].
//! Models: Knossos's ([`Register`], [`CasRegister`], [`MultiRegister`] with `:txn`, [`Mutex`],
//! [`Set`]), [`Counter`], and Porcupine's ([`Etcd`], [`AppendString`] per key), each key apart
//! with [`Independent`].
//!
//! * [`Consistency::Linearizable`] — the Wing–Gong–Lowe search in `linearizable.rs`, one search
//!   per [`Model::partition`] key (P-compositionality), keys advancing in rounds, on several
//!   threads, until one is found illegal ([`Options::all_keys`] decides them all).
//! * [`Consistency::Sequential`] — a search over program orders in `sequential.rs`, sound where
//!   the reference's greedy algorithm was not.
//!
//! Every answer is a [`Report`] that teaches: one valid order, or the longest prefix that works
//! and the operation that cannot follow it (what it returned and what the model allowed), drawn on
//! a timeline ([`Report::timeline`]). A search that exceeds its [`Options`] budget answers
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
mod consensus;
mod etcd;
mod linearizable;
mod memo;
mod model;
mod operations;
mod report;
mod sequential;
mod workload;

pub use append::{AppendOp, AppendString, Text};
pub use consensus::{TicketDispenser, TicketOp, WriteOnce, WriteOnceOp};
pub use etcd::{Etcd, EtcdOp};
pub use model::{
    Call, CasRegister, Counter, CounterOp, Independent, Keyed, Micro, Model, MultiRegister,
    MultiRegisterOp, Mutex, MutexOp, Register, RegisterOp, Set, SetOp,
};
pub use operations::{Completion, HistoryError, Operation};
pub use report::{KeyVerdict, Report, Verdict, Violation};
pub use workload::Workload;

use crate::history::{History, Value};
use budget::Budget;
use linearizable::{Outcome, Timed};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    /// Search independent keys on several threads (once the first round of steps has not
    /// decided them all).
    pub parallel: bool,
    /// Decide every key, instead of stopping once a key is found illegal.
    pub all_keys: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            nil_is_value: false,
            steps_max: 50_000_000,
            time_limit: Some(Duration::from_secs(60)),
            memory_max_bytes: 2 << 30,
            parallel: true,
            all_keys: false,
        }
    }
}

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
    let (verdict, steps, keys) = match consistency {
        Consistency::Linearizable => check_linearizable(model, &operations, &ops, &budget, options),
        Consistency::Sequential => {
            // A linearization keeps every process's order, so it is a sequential order too; the
            // linearizability search, split by key, usually finds one fastest.
            let (verdict, lin_steps, _) =
                check_linearizable(model, &operations, &ops, &budget, options);
            let (verdict, steps) = if matches!(verdict, Verdict::Ok { .. }) {
                (verdict, lin_steps)
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
                (verdict, lin_steps + steps)
            };
            let whole = KeyVerdict {
                key: None,
                valid: verdict.valid(),
                decided: true,
                steps,
            };
            (verdict, steps, vec![whole])
        }
    };
    Ok(Report {
        model: model.name(),
        consistency,
        operations,
        verdict,
        steps,
        partitions: keys.len(),
        keys,
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

/// The machine's cores, asked once: the question costs a few system calls (cgroup files).
fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A key's outcome, once it has one, and the steps it took to reach it.
type Decided<S> = Option<(Outcome<S>, u64)>;

/// The limit of the round within which a search of `steps` steps ends.
fn round_limit(steps: u64) -> u64 {
    let mut limit = ROUND_STEPS_FIRST;
    while limit < steps {
        limit = limit.saturating_mul(2);
    }
    limit
}

/// The first round's steps per key: a history whose keys all finish within it never starts a
/// thread.
const ROUND_STEPS_FIRST: u64 = 2_048;

/// Linearizability, key by key (P-compositionality). Keys advance in rounds of doubling step
/// limits, on several threads after the first round. Unless `all_keys`, the check stops at the
/// first round within which a key was found illegal, once every key has been searched that far,
/// and reports the smallest key illegal within it: which key that is depends on step counts
/// only, never on thread timing, and an illegal key is reported without waiting for a key that
/// would exhaust its budget (porcupine stops at the first illegal partition too). A key that
/// exhausts its budget makes the verdict Unknown, unless another is illegal.
fn check_linearizable<M: Model>(
    model: &M,
    operations: &[Operation],
    ops: &[M::Op],
    budget: &Budget,
    options: &Options,
) -> (Verdict, u64, Vec<KeyVerdict>) {
    let mut by_key: BTreeMap<Option<&Value>, Vec<usize>> = BTreeMap::new();
    for o in operations {
        by_key.entry(o.key.as_ref()).or_default().push(o.id);
    }
    let partitions: Vec<(Option<&Value>, Vec<usize>)> = by_key.into_iter().collect();
    let searches: Vec<std::sync::Mutex<linearizable::Search<'_, M>>> = partitions
        .iter()
        .map(|(_, ids)| {
            let timed: Vec<Timed<'_, M::Op>> = ids
                .iter()
                .map(|&i| Timed {
                    call: operations[i].invoke_index,
                    ret: operations[i].complete_index,
                    op: &ops[i],
                })
                .collect();
            std::sync::Mutex::new(linearizable::Search::new(model, timed, budget))
        })
        .collect();
    // Each key's outcome and the steps it took to reach it.
    let outcomes: Vec<std::sync::Mutex<Decided<M::State>>> = (0..partitions.len())
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    // The round limit within which a key was found illegal, the lowest such: every key must be
    // searched that far (to know whether it is illegal within it too), none further.
    let illegal_within = AtomicU64::new(u64::MAX);
    let count = partitions.len();
    let undecided = AtomicUsize::new(count);
    // Runs key `p` up to `limit` steps.
    let run = |p: usize, limit: u64| {
        let mut outcome = outcomes[p].lock().expect("one thread per key");
        if outcome.is_some() {
            return;
        }
        let mut search = searches[p].lock().expect("one thread per key");
        if let Some(decided) = search.run(limit) {
            let steps = search.steps();
            if matches!(decided, Outcome::Stuck { .. }) && !options.all_keys {
                illegal_within.fetch_min(round_limit(steps), Ordering::Relaxed);
            }
            *outcome = Some((decided, steps));
            undecided.fetch_sub(1, Ordering::Relaxed);
        }
    };
    let past = |limit: u64| {
        undecided.load(Ordering::Relaxed) == 0 || limit > illegal_within.load(Ordering::Relaxed)
    };
    // The first round on this thread: small histories never start another.
    // Keys after an illegal one cannot be the one reported: the round stops there.
    for p in 0..count {
        if undecided.load(Ordering::Relaxed) == 0
            || illegal_within.load(Ordering::Relaxed) != u64::MAX
        {
            break;
        }
        run(p, ROUND_STEPS_FIRST);
    }
    let workers = if past(ROUND_STEPS_FIRST * 2) {
        0
    } else if options.parallel {
        threads().min(undecided.load(Ordering::Relaxed))
    } else {
        1
    };
    // Then rounds of doubling limits. Each worker keeps its own keys (their memory stays with
    // the thread that made it) and goes through its rounds at its own pace, with no barrier:
    // it stops before a round past the lowest limit within which a key was found illegal.
    // Outcomes reached past that limit are dropped below, so the answer is the one a single
    // thread would give.
    std::thread::scope(|scope| {
        for w in 0..workers {
            let (run, past) = (&run, &past);
            let own = move || {
                let mut limit = ROUND_STEPS_FIRST;
                loop {
                    limit = limit.saturating_mul(2);
                    if past(limit) {
                        return;
                    }
                    for p in (w..count).step_by(workers) {
                        run(p, limit);
                    }
                }
            };
            if workers == 1 {
                own();
            } else {
                scope.spawn(own);
            }
        }
    });
    let cut = illegal_within.load(Ordering::Relaxed);
    let outcomes: Vec<Option<Outcome<M::State>>> = outcomes
        .into_iter()
        .map(|o| o.into_inner().expect("searches are done"))
        .map(|o| {
            o.filter(|(_, steps)| *steps <= cut)
                .map(|(outcome, _)| outcome)
        })
        .collect();
    let mut steps = 0;
    let mut keys = Vec::with_capacity(partitions.len());
    let mut verdicts = Vec::with_capacity(partitions.len());
    for (((key, ids), outcome), search) in partitions.iter().zip(outcomes).zip(&searches) {
        let key_steps = search.lock().expect("searches are done").steps();
        steps += key_steps;
        let verdict = outcome.map(|o| verdict_of(model, ops, ids, key.cloned(), o));
        keys.push(KeyVerdict {
            key: key.cloned(),
            valid: verdict.as_ref().and_then(Verdict::valid),
            decided: verdict.is_some(),
            steps: key_steps,
        });
        verdicts.push(verdict);
    }
    if let Some(i) = verdicts
        .iter()
        .position(|v| matches!(v, Some(Verdict::Illegal(_))))
    {
        let verdict = verdicts.swap_remove(i).expect("found above");
        return (verdict, steps, keys);
    }
    if let Some(i) = verdicts
        .iter()
        .position(|v| matches!(v, Some(Verdict::Unknown { .. })))
    {
        let verdict = verdicts.swap_remove(i).expect("found above");
        return (verdict, steps, keys);
    }
    // Each key's order is a linearization of that key; placing each operation at its earliest
    // point in its key's order and sorting by point gives one order of the whole history.
    let concatenated: Vec<usize> = verdicts
        .into_iter()
        .flat_map(|v| match v {
            Some(Verdict::Ok { order }) => order,
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
        keys,
    )
}
