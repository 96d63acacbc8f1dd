//! Linearizability (Herlihy & Wing 1990) by the Wing–Gong search with Lowe's memo (Lowe, "Testing
//! for linearizability", 2017), the algorithm of Knossos's `wgl` and of porcupine (`checker.go`).
//!
//! The `:ok` operations' call and return entries form a doubly linked list in real-time order
//! (the `:info` ones, which never return, a second list of calls). A *configuration* is the set
//! of operations linearized so far and the model's state. From a configuration:
//!
//! * the **candidates** are the calls before the first return entry: exactly the operations that
//!   may take effect next under the real-time rule (an operation takes effect after every
//!   operation that returned before it was invoked);
//! * the search tries each candidate: the model must accept it from the current state, and the
//!   resulting configuration must be new to the memo. Then the operation's entries are lifted out
//!   of the list and the search goes on from the new configuration;
//! * when no candidate works, the operation of the first return entry cannot be linearized before
//!   it returned: the last choice was wrong, so undo it (put its entries back) and try the next
//!   candidate after it; when nothing is left to undo, no linearization exists.
//!
//! The search succeeds as soon as every `:ok` operation is linearized: an `:info` operation may
//! take effect at any point after its call, or never.
//!
//! Three refinements, each sound (the module's property tests compare with a brute-force
//! checker), make the order of tries cheap:
//!
//! * an accepted read ([`Model::is_read_only`]) is taken without trying its siblings: any
//!   linearization can be rearranged to take it first. (Only a read: a write of the value
//!   already held changes nothing here either, but another write may have to come first.);
//! * the other candidates are tried most-promising first (Lowe's just-in-time idea): the first
//!   returning operation itself, then those after which it can take effect, then the rest;
//! * among the rest, `:info` candidates come after the `:ok` ones, `:info` operations that would
//!   change nothing are never taken, and a configuration with more `:info` operations taken than
//!   one already seen is skipped (see `memo.rs`).
//!
//! The memo key is compact: all `:ok` operations before the *frontier* (the first one not
//! linearized) are linearized, and any linearized one after it was called before the frontier
//! operation returned (it was a candidate while the frontier was pending); so (frontier, the few
//! linearized ones in that window, the linearized `:info` ones, state) identifies the
//! configuration exactly, in a few words rather than a bit per operation.

use super::budget::{Budget, Meter};
use super::memo::Memo;
use super::model::Model;

/// One operation of a partition, as the search needs it.
pub(crate) struct Timed<'a, Op> {
    /// Event index of the invocation.
    pub call: usize,
    /// Event index of the `:ok` completion; `None` for an open (`:info`) operation.
    pub ret: Option<usize>,
    pub op: &'a Op,
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
    /// For an `:ok` operation, its call entry and its return entry.
    call_of: Vec<usize>,
    return_of: Vec<usize>,
    optional: Links,
    /// Operation of each node of `optional`, in call order, and the node of each `:info` operation.
    optional_op: Vec<usize>,
    node_of: Vec<usize>,
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
            call_of: vec![0; ops.len()],
            return_of: vec![0; ops.len()],
            optional: Links::new(optional_op.len() - 1),
            node_of: vec![0; ops.len()],
            optional_op,
        };
        entries.optional_op.push(usize::MAX);
        for (node, &op) in entries.optional_op.iter().enumerate() {
            if op != usize::MAX {
                entries.node_of[op] = node;
            }
        }
        for (slot, &(_, is_return, op)) in order.iter().enumerate() {
            let e = slot + 1;
            entries.op[e] = op;
            entries.is_call[e] = !is_return;
            if is_return {
                entries.return_of[op] = e;
            } else {
                entries.call_of[op] = e;
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

/// The deepest dead end seen: its prefix, the operation that could not follow it, and the state.
/// The prefix is kept in step with the search stack, copying only what changed since the last
/// record, so recording costs amortised O(1) per step instead of O(depth).
pub(crate) struct Deepest<S> {
    prefix: Vec<usize>,
    /// How much of `prefix` is still the bottom of the search stack.
    shared: usize,
    end: Option<(usize, S)>,
}

impl<S: Clone> Deepest<S> {
    pub(crate) fn new() -> Deepest<S> {
        Deepest {
            prefix: Vec::new(),
            shared: 0,
            end: None,
        }
    }

    /// The stack shrank to `depth` entries.
    pub(crate) fn popped_to(&mut self, depth: usize) {
        self.shared = self.shared.min(depth);
    }

    /// Whether a dead end `depth` choices deep would be the deepest yet.
    pub(crate) fn is_deeper(&self, depth: usize) -> bool {
        self.end.is_none() || depth > self.prefix.len()
    }

    /// A dead end after `stack` (the operations chosen so far) where `culprit` cannot be placed.
    pub(crate) fn record(
        &mut self,
        stack: impl ExactSizeIterator<Item = usize>,
        culprit: usize,
        state: &S,
    ) {
        if !self.is_deeper(stack.len()) {
            return;
        }
        let depth = stack.len();
        self.prefix.truncate(self.shared);
        self.prefix.extend(stack.skip(self.shared));
        self.shared = depth;
        self.end = Some((culprit, state.clone()));
    }

    pub(crate) fn into_outcome(self) -> Outcome<S> {
        let (culprit, state) = self
            .end
            .expect("a search fails only at a recorded dead end");
        Outcome::Stuck {
            prefix: self.prefix,
            culprit,
            state,
        }
    }
}

/// The candidates of the current configuration into `out`, most promising first. Returns the
/// operation of the first return entry (`r`): it must be linearized before anything that returns
/// later, and it is the culprit if nothing works.
///
/// Candidates are the `:ok` calls before the first return entry and the `:info` calls made before
/// `r` returned. The order: an `:ok` operation that can take effect without changing the state (a
/// read, taken as a forced choice in [`search`]; or a write of the value held, tried first only); an `:ok` one that can take effect now but no
/// longer after `r` (a cas from the current value, while it still can); `r` itself; operations after which `r` can take
/// effect (the write whose value `r` read, `:ok` or `:info`); the other `:ok` ones, earliest
/// return first; the other `:info` ones. `:info` operations that cannot change the state are left
/// out: they are optional, and whatever can follow them can follow without them.
fn candidates<M: Model>(
    model: &M,
    state: &M::State,
    entries: &Entries,
    ops: &[Timed<'_, M::Op>],
    out: &mut Vec<usize>,
) -> usize {
    let mut ranked: Vec<(u8, usize, usize)> = Vec::new();
    let mut e = entries.required.next[HEAD];
    while entries.is_call[e] {
        ranked.push((0, 0, entries.op[e]));
        e = entries.required.next[e];
    }
    let first_return = entries.op[e];
    let bound = ops[first_return].ret.unwrap_or(usize::MAX);
    let mut node = entries.optional.next[HEAD];
    while node != entries.optional.tail() && ops[entries.optional_op[node]].call < bound {
        ranked.push((0, 0, entries.optional_op[node]));
        node = entries.optional.next[node];
    }
    let enables = |next: &M::State| model.step(next, ops[first_return].op).is_some();
    let after_first = model.step(state, ops[first_return].op);
    let disabled_by_first = |op: usize| {
        after_first
            .as_ref()
            .is_some_and(|s| model.step(s, ops[op].op).is_none())
    };
    ranked.retain_mut(|(rank, order, op)| {
        let o = &ops[*op];
        let next = model.step(state, o.op);
        *order = o.ret.unwrap_or(o.call);
        *rank = match (&next, o.ret) {
            (Some(n), Some(_)) if n == state => 0,
            (Some(_), Some(_)) if *op != first_return && disabled_by_first(*op) => 1,
            _ if *op == first_return => 2,
            (Some(n), None) if n == state => return false,
            (None, None) => return false,
            (Some(n), _) if enables(n) => 3,
            (_, Some(_)) => 4,
            (_, None) => 5,
        };
        true
    });
    ranked.sort_unstable();
    out.clear();
    out.extend(ranked.into_iter().map(|(_, _, op)| op));
    first_return
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
    let mut memo: Memo<M::State> = Memo::new();
    let mut state = model.init();
    // The choices made so far: the position among the configuration's candidates, the operation
    // chosen, the state before it, and whether the choice was forced (see below), in which case
    // its siblings need no trying.
    let mut stack: Vec<(usize, usize, M::State, bool)> = Vec::new();
    let mut deepest = Deepest::new();
    let mut tries = Vec::new();
    let mut first_return = if ok_remaining > 0 {
        candidates(model, &state, &entries, ops, &mut tries)
    } else {
        usize::MAX
    };
    let mut cursor = 0;
    let mut meter = Meter::new(budget);
    loop {
        if ok_remaining == 0 {
            let order = stack.iter().map(|(_, op, _, _)| *op).collect();
            return (Outcome::Linearized(order), meter.steps());
        }
        let held = || {
            // The states on the stack are taken to be about as large as the current one.
            let frame = size_of::<(usize, usize, M::State, bool)>() + model.heap_bytes(&state);
            memo.bytes() + stack.capacity() * frame
        };
        if let Some(reason) = meter.step(held) {
            return (Outcome::GaveUp(reason), meter.steps());
        }
        if let Some(&op) = tries.get(cursor) {
            // Try to let `op` take effect now.
            let optional = ops[op].ret.is_none();
            if let Some(next) = model.step(&state, ops[op].op) {
                if worth_trying(model, ops, op, &state, &next, &stack) {
                    linearized.insert(op);
                    let (required, taken) = linearized.key();
                    if memo.insert(required, next.clone(), taken, |s| model.heap_bytes(s)) {
                        // An `:ok` read that can take effect now may as well: any linearization
                        // from here can be rearranged to start with it (it is a candidate, so
                        // nothing pending returned before it was called, and it changes no
                        // state). If nothing follows it, nothing follows here either. Not so for
                        // a write of the value already held: it leaves this state as it is, but
                        // may have to take effect after another write (`Model::is_read_only`).
                        let forced = !optional && model.is_read_only(ops[op].op) && next == state;
                        stack.push((cursor, op, std::mem::replace(&mut state, next), forced));
                        if optional {
                            entries.optional.unlink(entries.node_of[op]);
                        } else {
                            entries.lift(entries.call_of[op]);
                            ok_remaining -= 1;
                        }
                        if ok_remaining > 0 {
                            first_return = candidates(model, &state, &entries, ops, &mut tries);
                        }
                        cursor = 0;
                        continue;
                    }
                    linearized.remove(op);
                }
            }
            cursor += 1;
            continue;
        }
        // No candidate is left: the first return's operation cannot be linearized before it
        // returned, whatever is tried from here. This branch is dead.
        deepest.record(stack.iter().map(|(_, op, _, _)| *op), first_return, &state);
        // Undo the last choice, and the forced ones before it.
        loop {
            let Some((position, op, before, forced)) = stack.pop() else {
                return (deepest.into_outcome(), meter.steps());
            };
            deepest.popped_to(stack.len());
            linearized.remove(op);
            state = before;
            if ops[op].ret.is_none() {
                entries.optional.relink(entries.node_of[op]);
            } else {
                entries.unlift(entries.call_of[op]);
                ok_remaining += 1;
            }
            cursor = position + 1;
            if !forced {
                break;
            }
        }
        first_return = candidates(model, &state, &entries, ops, &mut tries);
    }
}

/// Whether linearizing `op` (leading from `state` to `next`) can lead anywhere new. An `:info`
/// operation never does when the configuration was itself reached by an `:info` operation `z`
/// and `op` alone would have led from the state before `z` to the same `next` (it overwrote `z`):
/// taking `op` without `z` is a candidate of that earlier configuration, with fewer optional
/// operations taken.
fn worth_trying<M: Model>(
    model: &M,
    ops: &[Timed<'_, M::Op>],
    op: usize,
    state: &M::State,
    next: &M::State,
    stack: &[(usize, usize, M::State, bool)],
) -> bool {
    if ops[op].ret.is_some() {
        return true;
    }
    if next == state {
        return false;
    }
    match stack.last() {
        Some((_, previous, before, _)) if ops[*previous].ret.is_none() => {
            model.step(before, ops[op].op).as_ref() != Some(next)
        }
        _ => true,
    }
}
