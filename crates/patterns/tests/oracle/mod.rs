//! The brute-force checker: the definitions of linearizability and sequential consistency, tried
//! order by order. Too slow to be a tool (it is factorial in the history's length), it is the
//! oracle the searches are compared with on small histories.
//!
//! It reads a history with Knossos's semantics, on its own rather than through the checker's
//! pairing: an operation is an `:invoke` and the next event of its process; `:fail` never
//! happened, unless the model reads it as an answer (`Model::failed`), and then it happened as
//! an `:ok` one does; `:ok` happened between its invocation and its completion; `:info` or no completion
//! may have happened at any moment after its invocation, or never. A process may go on invoking
//! after an `:info`. It does not split by key: every operation is ordered with every other, so
//! P-compositionality is tested too.

#![allow(dead_code)]

use patterns::check::{Call, Model, Report, Verdict};
use patterns::history::{EventType, History};

/// One operation as the oracle reads it.
pub struct Brute<Op> {
    pub process: u64,
    /// Event index of the invocation.
    pub call: usize,
    /// Event index of the `:ok` completion; `None` when it may or may not have happened.
    pub ret: Option<usize>,
    pub op: Op,
}

/// The history's operations, `:fail`ed ones left out, read by `model`.
pub fn operations<M: Model>(history: &History, model: &M, nil_is_value: bool) -> Vec<Brute<M::Op>> {
    let mut out = Vec::new();
    for (i, e) in history.events.iter().enumerate() {
        if e.kind != EventType::Invoke {
            continue;
        }
        let end = history.events[i + 1..]
            .iter()
            .position(|c| c.process == e.process)
            .map(|j| i + 1 + j);
        let (completed, ret, failed) = match end.map(|j| (j, &history.events[j])) {
            Some((j, c)) if c.kind == EventType::Ok || c.kind == EventType::Fail => {
                (Some(&c.value), Some(j), c.kind == EventType::Fail)
            }
            _ => (None, None, false),
        };
        let call = Call {
            f: &e.f,
            invoked: &e.value,
            completed,
            nil_is_value,
        };
        let op = if failed {
            // A failure the model reads as an answer happened; any other never did.
            model.failed(&call)
        } else {
            model.op(&call).map(Some)
        };
        let Some(op) = op.unwrap_or_else(|e| panic!("the oracle's history fits the model: {e}"))
        else {
            continue;
        };
        out.push(Brute {
            process: e.process,
            call: i,
            ret,
            op,
        });
    }
    out
}

/// Whether some order of all `:ok` operations and any subset of the open ones is accepted by
/// `model` and allowed by `may_follow(placed, next)`. Tries every order.
fn any_order<M: Model>(
    model: &M,
    ops: &[Brute<M::Op>],
    may_follow: &dyn Fn(&[bool], usize) -> bool,
) -> bool {
    fn go<M: Model>(
        model: &M,
        ops: &[Brute<M::Op>],
        placed: &mut Vec<bool>,
        state: &M::State,
        may_follow: &dyn Fn(&[bool], usize) -> bool,
    ) -> bool {
        if ops
            .iter()
            .zip(placed.iter())
            .all(|(o, &p)| p || o.ret.is_none())
        {
            return true;
        }
        for next in 0..ops.len() {
            if placed[next] || !may_follow(placed, next) {
                continue;
            }
            if let Some(after) = model.step(state, &ops[next].op) {
                placed[next] = true;
                let found = go(model, ops, placed, &after, may_follow);
                placed[next] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    go(
        model,
        ops,
        &mut vec![false; ops.len()],
        &model.init(),
        may_follow,
    )
}

/// Linearizable: some order takes every operation after every one that returned before it was
/// invoked.
pub fn linearizable<M: Model>(history: &History, model: &M) -> bool {
    let ops = operations(history, model, false);
    any_order(model, &ops, &|placed, next| {
        !ops.iter()
            .zip(placed)
            .any(|(o, &p)| !p && o.ret.is_some_and(|r| r < ops[next].call))
    })
}

/// Sequentially consistent: some order takes every operation after the `:ok` operations its
/// process invoked before it. (An open operation may take effect after its process's later
/// operations, as a delayed message would.)
pub fn sequential<M: Model>(history: &History, model: &M) -> bool {
    let ops = operations(history, model, false);
    any_order(model, &ops, &|placed, next| {
        !ops.iter().zip(placed).any(|(o, &p)| {
            !p && o.ret.is_some() && o.process == ops[next].process && o.call < ops[next].call
        })
    })
}

/// An Ok verdict's order is a linearization: the model accepts it, it holds every `:ok`
/// operation, and it keeps real-time order.
pub fn assert_witness<M: Model>(model: &M, history: &History, report: &Report) {
    let Verdict::Ok { order } = &report.verdict else {
        return;
    };
    let ops = operations(history, model, false);
    let mut state = model.init();
    for (i, &id) in order.iter().enumerate() {
        let o = &report.operations[id];
        let brute = ops.iter().find(|b| b.call == o.invoke_index).unwrap();
        state = model
            .step(&state, &brute.op)
            .unwrap_or_else(|| panic!("the witness is accepted: {}", history.to_edn()));
        for &later in &order[i + 1..] {
            let l = &report.operations[later];
            assert!(
                l.complete_index.is_none_or(|r| r > o.invoke_index),
                "real-time order kept: {}",
                history.to_edn()
            );
        }
    }
    let oks = report.operations.iter().filter(|o| o.is_ok()).count();
    let placed = order.iter().filter(|&&i| report.operations[i].is_ok());
    assert_eq!(placed.count(), oks, "{}", history.to_edn());
}
