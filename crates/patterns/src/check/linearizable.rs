//! Linearizability (Herlihy & Wing 1990) by the Wing–Gong search with Lowe's memo (Lowe, "Testing
//! for linearizability", 2017), the algorithm of Knossos's `wgl` and of porcupine (`checker.go`).
//!
//! The history becomes a doubly linked list of call and return entries in real-time order. The
//! search walks it from the front:
//!
//! * at a **call** entry, it tries to linearize that operation now: the model must accept it from
//!   the current state, and the resulting configuration (linearized set, state) must be new. Then
//!   the operation's two entries are lifted out of the list and the walk restarts at the front;
//! * at a **return** entry, the operation it closes was not linearized before its response, so the
//!   last choice was wrong: undo it (put its entries back) and try the next call after it;
//! * when nothing is left to undo, no linearization exists.
//!
//! Only calls before the first return entry are ever tried, which is exactly the real-time order
//! rule: an operation can take effect only after every operation that returned before it was
//! invoked. Operations that stay open (`:info`) have their return entry at the end of time, so they
//! may be linearized anywhere after their call, or never: the search succeeds as soon as every
//! `:ok` operation is linearized.
//!
//! The memo key is compact: all `:ok` operations before the *frontier* (the first one not
//! linearized) are linearized, and any linearized one after it was called before the frontier
//! operation returned (it was tried before the frontier's return entry); so (frontier, the few
//! linearized ones in that window, the linearized `:info` ones, state) identifies the
//! configuration exactly, in a few words rather than a bit per operation.

use super::memo::Memo;
use super::model::Model;
use std::time::Instant;

/// One operation of a partition, as the search needs it.
pub(crate) struct Timed<'a, Op> {
    /// Event index of the invocation.
    pub call: usize,
    /// Event index of the `:ok` completion; `None` for an open (`:info`) operation.
    pub ret: Option<usize>,
    pub op: &'a Op,
}

/// Limits on one search: a check that would exceed them answers Unknown, never Ok.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    pub steps_max: u64,
    pub deadline: Option<Instant>,
}

impl Budget {
    /// Why the search must stop after `steps` steps, if it must.
    pub(crate) fn exhausted(&self, steps: u64) -> Option<String> {
        if steps > self.steps_max {
            return Some(format!(
                "the search gave up after {} steps (the budget) without an answer",
                self.steps_max
            ));
        }
        if steps % 4096 == 0 {
            if let Some(deadline) = self.deadline {
                if Instant::now() > deadline {
                    return Some(format!(
                        "the search ran out of time after {steps} steps without an answer"
                    ));
                }
            }
        }
        None
    }
}

/// How a search ended. Operation numbers are positions in the slice searched.
#[derive(Debug)]
pub(crate) enum Outcome<S> {
    /// A linearization: every `:ok` operation and the `:info` ones that took effect, in order.
    Linearized(Vec<usize>),
    /// No linearization. `prefix` is the longest linearizable prefix found, `culprit` the
    /// operation that could not be placed after it, `state` the model's state there.
    Stuck {
        prefix: Vec<usize>,
        culprit: usize,
        state: S,
    },
    /// The budget ran out.
    GaveUp(String),
}

const HEAD: usize = 0;

/// The call/return list with O(1) lift and unlift (Knuth's dancing links).
struct Entries {
    next: Vec<usize>,
    prev: Vec<usize>,
    /// Operation of each entry (entry 0 is the head sentinel, the last one the tail sentinel).
    op: Vec<usize>,
    is_call: Vec<bool>,
    return_of: Vec<usize>,
}

impl Entries {
    fn new<Op>(ops: &[Timed<'_, Op>]) -> Entries {
        let mut order: Vec<(usize, bool, usize)> = Vec::with_capacity(2 * ops.len());
        for (i, o) in ops.iter().enumerate() {
            order.push((o.call, false, i));
            order.push((o.ret.unwrap_or(usize::MAX), true, i));
        }
        order.sort_unstable();
        let len = order.len() + 2;
        let mut entries = Entries {
            next: (1..=len).collect(),
            prev: (0..len).map(|i| i.saturating_sub(1)).collect(),
            op: vec![usize::MAX; len],
            is_call: vec![false; len],
            return_of: vec![0; ops.len()],
        };
        for (slot, &(_, is_return, op)) in order.iter().enumerate() {
            let e = slot + 1;
            entries.op[e] = op;
            entries.is_call[e] = !is_return;
            if is_return {
                entries.return_of[op] = e;
            }
        }
        entries
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    fn relink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        self.prev[n] = e;
    }

    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.return_of[self.op[call]]);
    }

    fn unlift(&mut self, call: usize) {
        self.relink(self.return_of[self.op[call]]);
        self.relink(call);
    }
}

/// The set of linearized operations, and its compact memo key (see the module doc).
struct Linearized {
    bits: Vec<u64>,
    is_info: Vec<bool>,
    /// For an `:ok` operation, the first operation called after it returned.
    window_end: Vec<usize>,
    /// The first `:ok` operation not linearized.
    frontier: usize,
    /// Linearized `:info` operations, in the order they were linearized.
    info: Vec<u32>,
}

impl Linearized {
    fn new<Op>(ops: &[Timed<'_, Op>]) -> Linearized {
        let calls: Vec<usize> = ops.iter().map(|o| o.call).collect();
        let window_end = ops
            .iter()
            .map(|o| {
                o.ret
                    .map_or(ops.len(), |r| calls.partition_point(|&c| c < r))
            })
            .collect();
        let is_info: Vec<bool> = ops.iter().map(|o| o.ret.is_none()).collect();
        let mut set = Linearized {
            bits: vec![0; ops.len().div_ceil(64)],
            is_info,
            window_end,
            frontier: 0,
            info: Vec::new(),
        };
        set.advance_frontier();
        set
    }

    fn contains(&self, op: usize) -> bool {
        self.bits[op / 64] & (1 << (op % 64)) != 0
    }

    fn advance_frontier(&mut self) {
        while self.frontier < self.is_info.len()
            && (self.is_info[self.frontier] || self.contains(self.frontier))
        {
            self.frontier += 1;
        }
    }

    fn insert(&mut self, op: usize) {
        self.bits[op / 64] |= 1 << (op % 64);
        if self.is_info[op] {
            self.info.push(op as u32);
        } else if op == self.frontier {
            self.advance_frontier();
        }
    }

    /// Undoes the latest `insert(op)`.
    fn remove(&mut self, op: usize) {
        self.bits[op / 64] &= !(1 << (op % 64));
        if self.is_info[op] {
            self.info.pop();
        } else if op < self.frontier {
            self.frontier = op;
        }
    }

    fn key(&self) -> Box<[u32]> {
        let mut key = Vec::with_capacity(4 + self.info.len());
        key.push(self.frontier as u32);
        if self.frontier < self.is_info.len() {
            for op in self.frontier + 1..self.window_end[self.frontier] {
                if !self.is_info[op] && self.contains(op) {
                    key.push(op as u32);
                }
            }
        }
        key.push(u32::MAX);
        let start = key.len();
        key.extend_from_slice(&self.info);
        key[start..].sort_unstable();
        key.into_boxed_slice()
    }
}

/// Searches for a linearization of `ops` (sorted by call) under `model`. Returns the outcome and
/// the number of steps taken.
pub(crate) fn search<M: Model>(
    model: &M,
    ops: &[Timed<'_, M::Op>],
    budget: &Budget,
) -> (Outcome<M::State>, u64) {
    let mut entries = Entries::new(ops);
    let mut linearized = Linearized::new(ops);
    let mut ok_remaining = ops.iter().filter(|o| o.ret.is_some()).count();
    let mut memo: Memo<(Box<[u32]>, M::State)> = Memo::default();
    let mut state = model.init();
    // The choices made so far: the call entry linearized and the state before it.
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut deepest: Option<(Vec<usize>, usize, M::State)> = None;
    let mut entry = entries.next[HEAD];
    let mut steps = 0u64;
    loop {
        if ok_remaining == 0 {
            let order = stack.iter().map(|(e, _)| entries.op[*e]).collect();
            return (Outcome::Linearized(order), steps);
        }
        steps += 1;
        if let Some(reason) = budget.exhausted(steps) {
            return (Outcome::GaveUp(reason), steps);
        }
        let op = entries.op[entry];
        if entries.is_call[entry] {
            // Try to let `op` take effect now. An `:info` operation that would change nothing is
            // never worth it: it is optional, and whatever can follow it can follow without it.
            let next = model.step(&state, ops[op].op);
            if let Some(next) = next.filter(|n| ops[op].ret.is_some() || *n != state) {
                linearized.insert(op);
                if memo.insert((linearized.key(), next.clone())) {
                    stack.push((entry, std::mem::replace(&mut state, next)));
                    entries.lift(entry);
                    if ops[op].ret.is_some() {
                        ok_remaining -= 1;
                    }
                    entry = entries.next[HEAD];
                    continue;
                }
                linearized.remove(op);
            }
            entry = entries.next[entry];
        } else {
            // `op` returned before it could be linearized: this branch is dead.
            if deepest
                .as_ref()
                .is_none_or(|(p, _, _)| stack.len() > p.len())
            {
                let prefix = stack.iter().map(|(e, _)| entries.op[*e]).collect();
                deepest = Some((prefix, op, state.clone()));
            }
            let Some((call, before)) = stack.pop() else {
                let (prefix, culprit, state) = deepest.expect("recorded at this dead end");
                return (
                    Outcome::Stuck {
                        prefix,
                        culprit,
                        state,
                    },
                    steps,
                );
            };
            let undone = entries.op[call];
            linearized.remove(undone);
            entries.unlift(call);
            if ops[undone].ret.is_some() {
                ok_remaining += 1;
            }
            state = before;
            entry = entries.next[call];
        }
    }
}
