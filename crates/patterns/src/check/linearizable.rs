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
//! The candidates are tried in list order, `:ok` calls first and then the `:info` ones called
//! before the first return, one model step per try and no ranking (porcupine's order; ranking
//! every candidate by running the model on it and after it cost more than it saved). Three
//! refinements, each sound (`tests/check_oracle.rs` compares with a brute-force checker):
//!
//! * an accepted read ([`Model::is_read_only`]) is taken without trying its siblings: any
//!   linearization can be rearranged to take it first. (Only a read: a write of the value
//!   already held changes nothing here either, but another write may have to come first.);
//! * `:info` operations that would change nothing are never taken, nor one that only overwrites
//!   the `:info` operation taken just before it;
//! * a configuration with more `:info` operations taken than one already seen is skipped (see
//!   `memo.rs`).
//!
//! The search is resumable ([`Search::run`] takes a step limit), so that the keys of a history
//! advance in rounds and the check stops once a key is found illegal (`check_linearizable`).
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
    /// The linearized `:ok` operations.
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
        if self.is_info[op] {
            self.info.push(op as u32);
            return;
        }
        self.bits[op / 64] |= 1 << (op % 64);
        if op == self.frontier {
            self.advance_frontier();
        }
    }

    /// Undoes the latest `insert(op)`.
    fn remove(&mut self, op: usize) {
        if self.is_info[op] {
            self.info.pop();
            return;
        }
        self.bits[op / 64] &= !(1 << (op % 64));
        if op < self.frontier {
            self.frontier = op;
        }
    }

    /// The configuration's memo key, into reused buffers: the `:ok` part (frontier and the
    /// linearized ones in its window) and the linearized `:info` ones, sorted.
    fn key_into(&self, required: &mut Vec<u32>, optional: &mut Vec<u32>) {
        required.clear();
        required.push(self.frontier as u32);
        if self.frontier < self.is_info.len() {
            let (from, to) = (self.frontier + 1, self.window_end[self.frontier]);
            let mut word = from / 64;
            while word * 64 < to {
                let mut bits = self.bits[word];
                if word == from / 64 {
                    bits &= u64::MAX << (from % 64);
                }
                while bits != 0 {
                    let op = word * 64 + bits.trailing_zeros() as usize;
                    if op >= to {
                        break;
                    }
                    required.push(op as u32);
                    bits &= bits - 1;
                }
                word += 1;
            }
        }
        optional.clear();
        optional.extend_from_slice(&self.info);
        optional.sort_unstable();
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

/// Where the walk over a configuration's candidates is.
#[derive(Copy, Clone, Debug)]
enum Cursor {
    /// At entry `e` of the `:ok` list: a call (a candidate) or the first return.
    Required(usize),
    /// At node `n` of the `:info` list, after the `:ok` candidates ran out at the return of
    /// `first_return` (only `:info` operations called before it returned are candidates).
    Optional { node: usize, first_return: usize },
}

/// One choice on the search stack.
struct Choice<S> {
    op: usize,
    /// The state before `op` took effect.
    before: S,
    /// Where the walk was when it chose `op`: it resumes after it when the choice is undone.
    at: Cursor,
    /// Chosen without trying its siblings (an accepted read): undoing it undoes its parent too.
    forced: bool,
}

/// A search for a linearization of one partition that can be run a slice of steps at a time,
/// so that many keys advance in rounds and stop together once one is found illegal.
///
/// The walk is Lowe's (and porcupine's `checkSingle`): at a configuration, go along the list;
/// at a call entry, try its operation (one model step); if the model accepts it and the new
/// configuration is new to the memo, lift it out of the list and start again from the head; at
/// the first return entry, try the `:info` candidates; when they run out, the configuration is
/// a dead end: put the last choice back and go on after it.
pub(crate) struct Search<'a, M: Model> {
    model: &'a M,
    ops: Vec<Timed<'a, M::Op>>,
    entries: Entries,
    linearized: Linearized,
    ok_remaining: usize,
    memo: Memo<M::State>,
    state: M::State,
    stack: Vec<Choice<M::State>>,
    deepest: Deepest<M::State>,
    cursor: Cursor,
    meter: Meter<'a>,
    /// Reused memo key buffers.
    required_key: Vec<u32>,
    optional_key: Vec<u32>,
}

impl<'a, M: Model> Search<'a, M> {
    /// A search over `ops`, sorted by call.
    pub(crate) fn new(model: &'a M, ops: Vec<Timed<'a, M::Op>>, budget: &'a Budget) -> Self {
        let entries = Entries::new(&ops);
        let linearized = Linearized::new(&ops);
        let ok_remaining = ops.iter().filter(|o| o.ret.is_some()).count();
        let cursor = Cursor::Required(entries.required.next[HEAD]);
        Search {
            model,
            entries,
            linearized,
            ok_remaining,
            memo: Memo::new(),
            state: model.init(),
            stack: Vec::new(),
            deepest: Deepest::new(),
            cursor,
            meter: Meter::new(budget),
            required_key: Vec::new(),
            optional_key: Vec::new(),
            ops,
        }
    }

    /// Steps taken so far.
    pub(crate) fn steps(&self) -> u64 {
        self.meter.steps()
    }

    /// Searches until the answer is known (returned) or `steps_until` steps have been taken in
    /// all (`None`: call again with a larger limit to go on).
    pub(crate) fn run(&mut self, steps_until: u64) -> Option<Outcome<M::State>> {
        let model = self.model;
        loop {
            if self.ok_remaining == 0 {
                return Some(Outcome::Linearized(
                    self.stack.iter().map(|c| c.op).collect(),
                ));
            }
            if self.meter.steps() >= steps_until {
                return None;
            }
            let held = || {
                // The states on the stack are taken to be about as large as the current one.
                let choice = size_of::<Choice<M::State>>() + model.heap_bytes(&self.state);
                self.memo.bytes() + self.stack.capacity() * choice
            };
            if let Some(reason) = self.meter.step(held) {
                return Some(Outcome::GaveUp(reason));
            }
            // The next candidate, or the dead end's culprit.
            let (op, next_cursor) = match self.cursor {
                Cursor::Required(e) if self.entries.is_call[e] => (
                    self.entries.op[e],
                    Cursor::Required(self.entries.required.next[e]),
                ),
                Cursor::Required(e) => {
                    let first_return = self.entries.op[e];
                    self.cursor = Cursor::Optional {
                        node: self.entries.optional.next[HEAD],
                        first_return,
                    };
                    continue;
                }
                Cursor::Optional { node, first_return } => {
                    let bound = self.ops[first_return].ret.unwrap_or(usize::MAX);
                    if node == self.entries.optional.tail()
                        || self.ops[self.entries.optional_op[node]].call >= bound
                    {
                        // No candidate is left: the first return's operation cannot be
                        // linearized before it returned, whatever is tried from here.
                        if let Some(outcome) = self.backtrack(first_return) {
                            return Some(outcome);
                        }
                        continue;
                    }
                    let next = Cursor::Optional {
                        node: self.entries.optional.next[node],
                        first_return,
                    };
                    (self.entries.optional_op[node], next)
                }
            };
            let at = self.cursor;
            self.cursor = next_cursor;
            self.try_op(op, at);
        }
    }

    /// Tries to let `op` take effect now; on success the walk starts over at the new
    /// configuration.
    fn try_op(&mut self, op: usize, at: Cursor) {
        let model = self.model;
        let o = &self.ops[op];
        let optional = o.ret.is_none();
        let Some(next) = model.step(&self.state, o.op) else {
            return;
        };
        if !worth_trying(model, &self.ops, op, &self.state, &next, &self.stack) {
            return;
        }
        self.linearized.insert(op);
        self.linearized
            .key_into(&mut self.required_key, &mut self.optional_key);
        let new = self
            .memo
            .insert(&self.required_key, &next, &self.optional_key, |s| {
                model.heap_bytes(s)
            });
        if !new {
            self.linearized.remove(op);
            return;
        }
        // An `:ok` read that can take effect now may as well: any linearization from here can
        // be rearranged to start with it (it is a candidate, so nothing pending returned before
        // it was called, and it changes no state). If nothing follows it, nothing follows here
        // either. Not so for a write of the value already held: it leaves this state as it is,
        // but may have to take effect after another write (`Model::is_read_only`).
        let forced = !optional && model.is_read_only(o.op) && next == self.state;
        let before = std::mem::replace(&mut self.state, next);
        self.stack.push(Choice {
            op,
            before,
            at,
            forced,
        });
        if optional {
            self.entries.optional.unlink(self.entries.node_of[op]);
        } else {
            self.entries.lift(self.entries.call_of[op]);
            self.ok_remaining -= 1;
        }
        self.cursor = Cursor::Required(self.entries.required.next[HEAD]);
    }

    /// A dead end where `culprit` could not be placed: undo the last choice (and the forced
    /// ones before it) and go on after it. The outcome, when nothing is left to undo.
    fn backtrack(&mut self, culprit: usize) -> Option<Outcome<M::State>> {
        self.deepest
            .record(self.stack.iter().map(|c| c.op), culprit, &self.state);
        loop {
            let Some(choice) = self.stack.pop() else {
                let deepest = std::mem::replace(&mut self.deepest, Deepest::new());
                return Some(deepest.into_outcome());
            };
            self.deepest.popped_to(self.stack.len());
            let op = choice.op;
            self.linearized.remove(op);
            self.state = choice.before;
            if self.ops[op].ret.is_none() {
                self.entries.optional.relink(self.entries.node_of[op]);
            } else {
                self.entries.unlift(self.entries.call_of[op]);
                self.ok_remaining += 1;
            }
            // Go on after the undone choice: its entries are back, so their links are valid.
            self.cursor = match choice.at {
                Cursor::Required(e) => Cursor::Required(self.entries.required.next[e]),
                Cursor::Optional { node, first_return } => Cursor::Optional {
                    node: self.entries.optional.next[node],
                    first_return,
                },
            };
            if !choice.forced {
                return None;
            }
        }
    }
}

/// Whether linearizing `op` (leading from `state` to `next`) can lead anywhere new. An `:info`
/// operation that changes nothing never does: it is optional, and whatever can follow it can
/// follow without it. Nor does one taken right after an `:info` operation `z` when `op` alone
/// would have led from the state before `z` to the same `next` (it overwrote `z`): taking `op`
/// without `z` is a candidate of that earlier configuration, with fewer optional operations.
fn worth_trying<M: Model>(
    model: &M,
    ops: &[Timed<'_, M::Op>],
    op: usize,
    state: &M::State,
    next: &M::State,
    stack: &[Choice<M::State>],
) -> bool {
    if ops[op].ret.is_some() {
        return true;
    }
    if next == state {
        return false;
    }
    match stack.last() {
        Some(previous) if ops[previous.op].ret.is_none() => {
            model.step(&previous.before, ops[op].op).as_ref() != Some(next)
        }
        _ => true,
    }
}
