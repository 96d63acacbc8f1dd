//! Sequential consistency (Lamport 1979): some single order of all operations that the model
//! accepts and that keeps each process's own operations in the order it issued them. Unlike
//! linearizability, real time between processes does not matter: a read may see an old value long
//! after a newer write returned, provided every process agrees on one order.
//!
//! The search is a depth-first walk over configurations (how far each process has got, which
//! `:info` operations took effect, model state), remembering every configuration seen, as the
//! linearizability search does. At each configuration the candidates are the next `:ok` operation
//! of every process, and every `:info` operation whose process has issued it but which has not yet
//! taken effect: an `:info` operation may take effect at any point after its invocation — even
//! after later operations of its own process, as a delayed message would — or never. The walk tries
//! candidates in completion order, `:info` ones last, which is close to a real-time order.
//! (`check` first tries the linearizability search: a linearization is a sequential order too.)
//!
//! This replaces the reference's greedy algorithm (spec §1.14), which never backtracks and so can
//! reject sequential histories (it rejects Appendix A.6), and whose `:nil` sentinel rejects a read
//! of nil before any write (spec §5.1 item 11). It works for every model, not only registers.
//! Sequential consistency is not compositional, so independent keys are checked together.

use super::budget::{Budget, Meter};
use super::linearizable::{Deepest, Outcome};
use super::memo::Memo;
use super::model::Model;
use std::collections::HashMap;

/// One operation as this search needs it, in invocation order.
pub(crate) struct Issued<'a, Op> {
    pub process: u64,
    /// `:info` or never completed: may take effect or not.
    pub open: bool,
    /// Preference among candidates, lowest first: the completion's event index (`usize::MAX`
    /// for open operations), so a linearizable history is walked in a linearization order.
    pub rank: usize,
    pub op: &'a Op,
}

struct Frame<S> {
    /// Operations that may take effect next, in invocation order.
    candidates: Vec<usize>,
    cursor: usize,
    /// The operation whose effect led here, and the state before it.
    arrived_by: Option<(usize, S)>,
    /// Whether that operation was applied without trying its siblings.
    forced: bool,
}

struct Progress {
    /// Per process, its `:ok` operations in program order.
    lanes: Vec<Vec<usize>>,
    /// Per process, how many of its `:ok` operations took effect.
    position: Vec<u32>,
    lane_of: Vec<usize>,
    /// For an open operation, how many `:ok` operations its process issued before it.
    issued_after: Vec<u32>,
    open_ops: Vec<usize>,
    rank: Vec<usize>,
    applied: Vec<bool>,
    applied_open: Vec<u32>,
}

impl Progress {
    fn new<Op>(ops: &[Issued<'_, Op>]) -> Progress {
        let mut lane_index: HashMap<u64, usize> = HashMap::new();
        let mut lanes: Vec<Vec<usize>> = Vec::new();
        let mut lane_of = Vec::with_capacity(ops.len());
        let mut issued_after = vec![0; ops.len()];
        let mut open_ops = Vec::new();
        for (i, o) in ops.iter().enumerate() {
            let lane = *lane_index.entry(o.process).or_insert_with(|| {
                lanes.push(Vec::new());
                lanes.len() - 1
            });
            lane_of.push(lane);
            if o.open {
                issued_after[i] = lanes[lane].len() as u32;
                open_ops.push(i);
            } else {
                lanes[lane].push(i);
            }
        }
        Progress {
            position: vec![0; lanes.len()],
            lanes,
            lane_of,
            issued_after,
            open_ops,
            rank: ops.iter().map(|o| o.rank).collect(),
            applied: vec![false; ops.len()],
            applied_open: Vec::new(),
        }
    }

    fn candidates(&self) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .lanes
            .iter()
            .zip(&self.position)
            .filter_map(|(lane, &p)| lane.get(p as usize).copied())
            .collect();
        out.extend(self.open_ops.iter().copied().filter(|&op| {
            !self.applied[op] && self.position[self.lane_of[op]] >= self.issued_after[op]
        }));
        out.sort_unstable_by_key(|&op| (self.rank[op], op));
        out
    }

    fn apply(&mut self, op: usize, open: bool) {
        self.applied[op] = true;
        if open {
            self.applied_open.push(op as u32);
        } else {
            self.position[self.lane_of[op]] += 1;
        }
    }

    /// Undoes the latest `apply(op, open)`.
    fn undo(&mut self, op: usize, open: bool) {
        self.applied[op] = false;
        if open {
            self.applied_open.pop();
        } else {
            self.position[self.lane_of[op]] -= 1;
        }
    }

    /// The configuration's memo key, into reused buffers: the applied open operations, sorted
    /// (the positions are the other half).
    fn optional_key_into(&self, optional: &mut Vec<u32>) {
        optional.clear();
        optional.extend_from_slice(&self.applied_open);
        optional.sort_unstable();
    }
}

/// Searches for a sequential order of `ops` (in invocation order) under `model`.
pub(crate) fn search<M: Model>(
    model: &M,
    ops: &[Issued<'_, M::Op>],
    budget: &Budget,
) -> (Outcome<M::State>, u64) {
    let mut progress = Progress::new(ops);
    let mut ok_remaining = ops.iter().filter(|o| !o.open).count();
    let mut memo: Memo<M::State> = Memo::new();
    let mut state = model.init();
    let mut stack = vec![Frame {
        candidates: progress.candidates(),
        cursor: 0,
        arrived_by: None,
        forced: false,
    }];
    let mut deepest = Deepest::new();
    let mut meter = Meter::new(budget);
    let mut optional_key = Vec::new();
    let path = |stack: &[Frame<M::State>]| -> Vec<usize> {
        stack
            .iter()
            .filter_map(|f| f.arrived_by.as_ref().map(|(op, _)| *op))
            .collect()
    };
    loop {
        if ok_remaining == 0 {
            return (Outcome::Linearized(path(&stack)), meter.steps());
        }
        let held = || {
            // Frames are taken to be about as large as the top one.
            let top = stack.last().expect("the root frame stays");
            let frame = size_of::<Frame<M::State>>()
                + size_of::<usize>() * top.candidates.capacity()
                + model.heap_bytes(&state);
            memo.bytes() + stack.capacity() * frame
        };
        if let Some(reason) = meter.step(held) {
            return (Outcome::GaveUp(reason), meter.steps());
        }
        let top = stack
            .last_mut()
            .expect("the root frame is never popped here");
        if let Some(&op) = top.candidates.get(top.cursor) {
            top.cursor += 1;
            // As in the linearizability search, an `:info` operation that changes nothing is
            // never applied, and an `:ok` read is applied at once without trying its siblings:
            // any order from here can be rearranged to start with it. Only a read: a write of
            // the value already held changes nothing here, but may have to follow another write.
            let next = model.step(&state, ops[op].op);
            if let Some(next) = next.filter(|n| !ops[op].open || *n != state) {
                progress.apply(op, ops[op].open);
                progress.optional_key_into(&mut optional_key);
                let required = &progress.position;
                if memo.insert(required, &next, &optional_key, |s| model.heap_bytes(s)) {
                    let forced = !ops[op].open && model.is_read_only(ops[op].op) && next == state;
                    let before = std::mem::replace(&mut state, next);
                    if !ops[op].open {
                        ok_remaining -= 1;
                    }
                    stack.push(Frame {
                        candidates: progress.candidates(),
                        cursor: 0,
                        arrived_by: Some((op, before)),
                        forced,
                    });
                    continue;
                }
                progress.undo(op, ops[op].open);
            }
            continue;
        }
        // Every candidate failed or led only to explored configurations: a dead end.
        let heads: Vec<usize> = top
            .candidates
            .iter()
            .copied()
            .filter(|&o| !ops[o].open)
            .collect();
        if deepest.is_deeper(stack.len() - 1) {
            let culprit = heads
                .iter()
                .copied()
                .find(|&o| model.step(&state, ops[o].op).is_none())
                .or(heads.first().copied())
                .expect("an :ok operation remains");
            let chosen = stack[1..]
                .iter()
                .filter_map(|f| f.arrived_by.as_ref().map(|(op, _)| *op));
            deepest.record(chosen.collect::<Vec<_>>().into_iter(), culprit, &state);
        }
        let frame = stack.pop().expect("checked above");
        deepest.popped_to(stack.len().saturating_sub(1));
        let Some((op, before)) = frame.arrived_by else {
            return (deepest.into_outcome(), meter.steps());
        };
        progress.undo(op, ops[op].open);
        if !ops[op].open {
            ok_remaining += 1;
        }
        state = before;
        if frame.forced {
            // Nothing follows the forced choice, so nothing follows its parent either.
            let parent = stack.last_mut().expect("a forced frame has a parent");
            parent.cursor = parent.candidates.len();
        }
    }
}
