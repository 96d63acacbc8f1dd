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

/// A doubly linked list over nodes `1..len-1` with O(1) removal and reinsertion (Knuth's dancing
/// links); node 0 is the head sentinel, node `len-1` the tail sentinel.
struct Links {
    next: Vec<usize>,
    prev: Vec<usize>,
}

const HEAD: usize = 0;

impl Links {
    fn new(nodes: usize) -> Links {
        let len = nodes + 2;
        Links {
            next: (1..=len).collect(),
            prev: (0..len).map(|i| i.saturating_sub(1)).collect(),
        }
    }

    fn tail(&self) -> usize {
        self.next.len() - 1
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    /// Undoes `unlink(e)`; unlinks must be undone in reverse order.
    fn relink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        self.prev[n] = e;
    }
}

/// The history as the search walks it: the call and return entries of the `:ok` operations in
/// real-time order, and apart from them the calls of the `:info` operations (whose return is at
/// the end of time).
struct Entries {
    required: Links,
    /// Operation of each entry of `required`.
    op: Vec<usize>,
    is_call: Vec<bool>,
    /// For an `:ok` operation, its return entry.
    return_of: Vec<usize>,
    optional: Links,
    /// Operation of each node of `optional`, in call order.
    optional_op: Vec<usize>,
}

impl Entries {
    fn new<Op>(ops: &[Timed<'_, Op>]) -> Entries {
        let mut order: Vec<(usize, bool, usize)> = Vec::with_capacity(2 * ops.len());
        let mut optional_op = vec![usize::MAX];
        for (i, o) in ops.iter().enumerate() {
            match o.ret {
                Some(ret) => {
                    order.push((o.call, false, i));
                    order.push((ret, true, i));
                }
                None => optional_op.push(i),
            }
        }
        order.sort_unstable();
        let mut entries = Entries {
            required: Links::new(order.len()),
            op: vec![usize::MAX; order.len() + 2],
            is_call: vec![false; order.len() + 2],
            return_of: vec![0; ops.len()],
            optional: Links::new(optional_op.len() - 1),
            optional_op,
        };
        entries.optional_op.push(usize::MAX);
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

    fn lift(&mut self, call: usize) {
        self.required.unlink(call);
        self.required.unlink(self.return_of[self.op[call]]);
    }

    fn unlift(&mut self, call: usize) {
        self.required.relink(self.return_of[self.op[call]]);
        self.required.relink(call);
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

    /// The configuration's memo key: the `:ok` part (frontier and the linearized ones in its
    /// window) and the linearized `:info` ones, sorted.
    fn key(&self) -> (Box<[u32]>, Box<[u32]>) {
        let mut required = Vec::with_capacity(4);
        required.push(self.frontier as u32);
        if self.frontier < self.is_info.len() {
            for op in self.frontier + 1..self.window_end[self.frontier] {
                if !self.is_info[op] && self.contains(op) {
                    required.push(op as u32);
                }
            }
        }
        let mut optional = self.info.clone();
        optional.sort_unstable();
        (required.into_boxed_slice(), optional.into_boxed_slice())
    }
}

/// Searches for a linearization of `ops` (sorted by call) under `model`. Returns the outcome and
/// the number of steps taken.
/// Where the walk over a configuration's candidates is.
#[derive(Clone, Copy)]
enum Cursor {
    /// At an entry of the `:ok` list: a call to try, or the first return (no more candidates).
    Required(usize),
    /// At a node of the `:info` list; only calls before `bound` (the first return's event index)
    /// are candidates. `culprit` is the operation of that first return.
    Optional {
        node: usize,
        bound: usize,
        culprit: usize,
    },
}

/// Searches for a linearization of `ops` (sorted by call) under `model`. Returns the outcome and
/// the number of steps taken.
///
/// Each configuration's candidates are tried in two passes: the `:ok` calls first, then the
/// `:info` ones. Trying optional operations last lets the memo's dominance rule prune them: the
/// configuration without an `:info` operation is explored before the ones with it.
pub(crate) fn search<M: Model>(
    model: &M,
    ops: &[Timed<'_, M::Op>],
    budget: &Budget,
) -> (Outcome<M::State>, u64) {
    let mut entries = Entries::new(ops);
    let mut linearized = Linearized::new(ops);
    let mut ok_remaining = ops.iter().filter(|o| o.ret.is_some()).count();
    let mut memo: Memo<M::State> = Memo::new();
    let mut state = model.init();
    // The choices made so far: where the walk was, and the state before the choice.
    let mut stack: Vec<(Cursor, M::State)> = Vec::new();
    let mut deepest: Option<(Vec<usize>, usize, M::State)> = None;
    let mut cursor = Cursor::Required(entries.required.next[HEAD]);
    let mut steps = 0u64;
    let chosen = |entries: &Entries, c: &Cursor| match *c {
        Cursor::Required(e) => entries.op[e],
        Cursor::Optional { node, .. } => entries.optional_op[node],
    };
    loop {
        if ok_remaining == 0 {
            let order = stack.iter().map(|(c, _)| chosen(&entries, c)).collect();
            return (Outcome::Linearized(order), steps);
        }
        steps += 1;
        if let Some(reason) = budget.exhausted(steps) {
            return (Outcome::GaveUp(reason), steps);
        }
        // The candidate under the cursor, if there is one.
        let candidate = match cursor {
            Cursor::Required(e) if entries.is_call[e] => Some(entries.op[e]),
            Cursor::Required(e) => {
                // The first return: the `:ok` candidates are exhausted; now the `:info` ones.
                let culprit = entries.op[e];
                cursor = Cursor::Optional {
                    node: entries.optional.next[HEAD],
                    bound: ops[culprit].ret.unwrap_or(usize::MAX),
                    culprit,
                };
                continue;
            }
            Cursor::Optional { node, bound, .. } => {
                let op = entries.optional_op[node];
                (node != entries.optional.tail() && ops[op].call < bound).then_some(op)
            }
        };
        if let Some(op) = candidate {
            // Try to let `op` take effect now.
            if let Some(next) = model.step(&state, ops[op].op) {
                if worth_trying(model, ops, op, &state, &next, &stack) {
                    linearized.insert(op);
                    let (required, optional) = linearized.key();
                    if memo.insert(required, next.clone(), optional) {
                        stack.push((cursor, std::mem::replace(&mut state, next)));
                        match cursor {
                            Cursor::Required(e) => {
                                entries.lift(e);
                                ok_remaining -= 1;
                            }
                            Cursor::Optional { node, .. } => entries.optional.unlink(node),
                        }
                        cursor = Cursor::Required(entries.required.next[HEAD]);
                        continue;
                    }
                    linearized.remove(op);
                }
            }
            cursor = match cursor {
                Cursor::Required(e) => Cursor::Required(entries.required.next[e]),
                Cursor::Optional {
                    node,
                    bound,
                    culprit,
                } => Cursor::Optional {
                    node: entries.optional.next[node],
                    bound,
                    culprit,
                },
            };
            continue;
        }
        // No candidate is left: the first return's operation cannot be linearized before it
        // returned, whatever is tried from here. This branch is dead.
        let Cursor::Optional { culprit, .. } = cursor else {
            unreachable!("the required pass ends at a return")
        };
        if deepest
            .as_ref()
            .is_none_or(|(p, _, _)| stack.len() > p.len())
        {
            let prefix = stack.iter().map(|(c, _)| chosen(&entries, c)).collect();
            deepest = Some((prefix, culprit, state.clone()));
        }
        let Some((choice, before)) = stack.pop() else {
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
        linearized.remove(chosen(&entries, &choice));
        state = before;
        cursor = match choice {
            Cursor::Required(e) => {
                entries.unlift(e);
                ok_remaining += 1;
                Cursor::Required(entries.required.next[e])
            }
            Cursor::Optional {
                node,
                bound,
                culprit,
            } => {
                entries.optional.relink(node);
                Cursor::Optional {
                    node: entries.optional.next[node],
                    bound,
                    culprit,
                }
            }
        };
    }
}

/// Whether linearizing `op` (leading from `state` to `next`) can lead anywhere new. Two `:info`
/// cases never do, because a configuration that dominates the result is explored anyway:
///
/// * `op` changes nothing: whatever can follow it can follow without it;
/// * the configuration was itself reached by an `:info` operation `z`, and `op` alone would have
///   led from the state before `z` to the same `next` (it overwrote `z`): taking `op` without `z`
///   is a candidate of that earlier configuration, with fewer optional operations taken.
fn worth_trying<M: Model>(
    model: &M,
    ops: &[Timed<'_, M::Op>],
    op: usize,
    state: &M::State,
    next: &M::State,
    stack: &[(Cursor, M::State)],
) -> bool {
    if ops[op].ret.is_some() {
        return true;
    }
    if next == state {
        return false;
    }
    match stack.last() {
        Some((Cursor::Optional { .. }, before)) => {
            model.step(before, ops[op].op).as_ref() != Some(next)
        }
        _ => true,
    }
}
