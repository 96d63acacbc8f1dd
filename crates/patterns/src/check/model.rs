//! Sequential specifications: what one object does when operations reach it one at a time.
//!
//! A model is porcupine's shape (`model.go`): a pure `step(&state, &op) -> Option<next state>`
//! where `None` means "this operation could not have returned what it returned from this state".
//! States are hashed, because the searches remember every (linearized set, state) they have seen.
//! A lesson defines its own model in a notebook cell by implementing [`Model`]: five small methods.

use crate::history::Value;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, OnceLock};

/// One operation as the history shows it, before a model reads it: borrowed from the history,
/// so that reading an operation copies only what the model keeps.
///
/// `completed` is the value of the `:ok` completion; it is `None` for an `:info` completion or a
/// missing one. [`Call::returned`] applies Knossos's rule that an `:ok` value of `nil` says nothing
/// (spec §1.14) unless the check was asked to treat `nil` as a real value.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Call<'a> {
    /// The operation's function: `read`, `write`, `cas`, `add`, `acquire`...
    pub f: &'a str,
    /// The value of the `:invoke` event: what was asked.
    pub invoked: &'a Value,
    /// The value of the `:ok` event, when there was one.
    pub completed: Option<&'a Value>,
    /// Whether an `:ok` value of `nil` means the value nil (`true`) or "not known" (`false`).
    pub nil_is_value: bool,
}

impl<'a> Call<'a> {
    /// What the operation returned, if that is known: `None` for `:info` operations and, unless
    /// `nil_is_value`, for `:ok` operations that returned `nil`.
    pub fn returned(&self) -> Option<&'a Value> {
        self.completed.filter(|v| self.nil_is_value || !v.is_nil())
    }

    /// The same call on other values: how a wrapper such as [`Independent`] hands the part of a
    /// value that belongs to one key to the model of that key.
    pub fn with_values(&self, invoked: &'a Value, completed: Option<&'a Value>) -> Call<'a> {
        Call {
            invoked,
            completed,
            ..*self
        }
    }

    /// The error every model gives for a function it does not have.
    pub fn unknown_function(&self, model: &str, functions: &str) -> String {
        format!(
            "the {model} model has no operation :{} (expected {functions})",
            self.f
        )
    }
}

/// A sequential specification, checked by [`crate::check::check`].
///
/// The contract: `step` is a pure function; equal states behave equally (the searches merge them);
/// operations with different [`Model::partition`] keys never affect each other.
///
/// A model fits in a notebook cell. A register that only goes up (`:raise n` keeps the larger):
///
/// ```
/// use patterns::check::{self, Call, Model};
/// use patterns::history::{parse_edn, Value};
///
/// struct MaxRegister;
///
/// #[derive(Clone, Debug)]
/// enum MaxOp { Raise(i64), Read(Option<i64>) }
///
/// impl Model for MaxRegister {
///     type State = i64;
///     type Op = MaxOp;
///     fn name(&self) -> String { "max-register".into() }
///     fn init(&self) -> i64 { 0 }
///     fn op(&self, call: &Call<'_>) -> Result<MaxOp, String> {
///         match (call.f, call.invoked, call.returned()) {
///             ("raise", Value::Int(n), _) => Ok(MaxOp::Raise(*n)),
///             ("read", _, None) => Ok(MaxOp::Read(None)),
///             ("read", _, Some(Value::Int(n))) => Ok(MaxOp::Read(Some(*n))),
///             _ => Err(call.unknown_function("max-register", ":raise n or :read")),
///         }
///     }
///     fn step(&self, max: &i64, op: &MaxOp) -> Option<i64> {
///         match op {
///             MaxOp::Raise(n) => Some(*max.max(n)),
///             MaxOp::Read(seen) => seen.is_none_or(|v| v == *max).then_some(*max),
///         }
///     }
/// }
///
/// let h = parse_edn("[{:process 0 :type :invoke :f :raise :value 5} {:process 0 :type :ok :f :raise :value 5}
///                     {:process 0 :type :invoke :f :raise :value 3} {:process 0 :type :ok :f :raise :value 3}
///                     {:process 1 :type :invoke :f :read :value nil} {:process 1 :type :ok :f :read :value 3}]").unwrap();
/// let report = check::linearizable(&h, &MaxRegister).unwrap();
/// assert!(report.is_illegal(), "after raising to 5, a read of 3 is impossible");
/// ```
pub trait Model: Sync {
    /// The object's state. Small and cheap to clone: the searches clone it at every step.
    type State: Clone + Eq + Hash + Debug + Send + Sync;
    /// One operation, read once from the history into the model's own terms.
    type Op: Clone + Debug + Send + Sync;

    /// The model's name, as the command line spells it.
    fn name(&self) -> String;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Reads an operation, or says why the history's operation makes no sense for this model.
    fn op(&self, call: &Call<'_>) -> Result<Self::Op, String>;

    /// What a `:fail` completion means for this model (`call.completed` holds the `:fail`
    /// event's value). Knossos's meaning, the default: the operation never took effect, and the
    /// checkers leave it out (`None`). A model whose failures are answers returns the operation
    /// they describe, which took effect between its invocation and its completion as an `:ok`
    /// one does: etcd's failed compare-and-set says "the value was not the one compared".
    fn failed(&self, _call: &Call<'_>) -> Result<Option<Self::Op>, String> {
        Ok(None)
    }

    /// The state after `op` takes effect in `state`, or `None` if `op` could not have returned
    /// what it returned there.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// P-compositionality (Herlihy & Wing 1990, §3.3): operations on different keys are checked
    /// separately. `None` puts every operation in one partition.
    fn partition(&self, _op: &Self::Op) -> Option<Value> {
        None
    }

    /// Whether `op` can never change any state: `step` returns the state it was given, or `None`
    /// (a read). The searches take such an operation as soon as the model accepts it, without
    /// trying the alternatives: any valid order can be rearranged to place it there. That is
    /// sound for reads only; a write of the value the object already holds also leaves the state
    /// as it is, yet may have to take effect later. The default, `false`, is always sound.
    fn is_read_only(&self, _op: &Self::Op) -> bool {
        false
    }

    /// About how many bytes `state` holds on the heap, beyond its own size: the searches count
    /// it against the check's memory budget. The default, 0, suits states without heap data.
    fn heap_bytes(&self, _state: &Self::State) -> usize {
        0
    }

    /// Why `op` cannot take effect in `state`, in words a learner reads: what it returned and
    /// what the model allowed.
    fn describe(&self, state: &Self::State, op: &Self::Op) -> String {
        format!("{op:?} cannot take effect in state {state:?}")
    }
}

/// What a read of a register-like object saw: `None` when the history does not say.
fn read_allows(seen: &Option<Value>, held: &Value) -> bool {
    seen.as_ref().is_none_or(|v| v == held)
}

/// The operations of [`Register`] and [`CasRegister`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterOp {
    /// A read and what it returned (`None`: unknown, always legal).
    Read(Option<Value>),
    Write(Value),
    /// Compare-and-set from `old` to `new`; in a history only successful ones are `:ok`.
    Cas {
        old: Value,
        new: Value,
    },
}

/// A read/write register starting at `initial` (Knossos's `register`, which starts at nil).
#[derive(Clone, Debug)]
pub struct Register {
    pub initial: Value,
}

impl Default for Register {
    /// Starts at nil, as Knossos's models do.
    fn default() -> Register {
        Register {
            initial: Value::Nil,
        }
    }
}

impl Register {
    pub fn new(initial: impl Into<Value>) -> Register {
        Register {
            initial: initial.into(),
        }
    }
}

fn read_register_op(call: &Call, cas: bool) -> Result<RegisterOp, String> {
    match call.f {
        "read" => Ok(RegisterOp::Read(call.returned().cloned())),
        "write" => Ok(RegisterOp::Write(call.invoked.clone())),
        "cas" if cas => match call.invoked {
            Value::Vector(pair) if pair.len() == 2 => Ok(RegisterOp::Cas {
                old: pair[0].clone(),
                new: pair[1].clone(),
            }),
            other => Err(format!(
                "a :cas operation's value must be [old new], found {other}"
            )),
        },
        _ if cas => Err(call.unknown_function("cas-register", ":read, :write or :cas")),
        _ => Err(call.unknown_function("register", ":read or :write")),
    }
}

fn step_register(state: &Value, op: &RegisterOp) -> Option<Value> {
    match op {
        RegisterOp::Read(seen) => read_allows(seen, state).then(|| state.clone()),
        RegisterOp::Write(v) => Some(v.clone()),
        RegisterOp::Cas { old, new } => (old == state).then(|| new.clone()),
    }
}

fn describe_register(state: &Value, op: &RegisterOp) -> String {
    match op {
        RegisterOp::Read(Some(v)) => {
            format!("it read {v}, but the register held {state}: a read could only return {state}")
        }
        RegisterOp::Cas { old, new } => format!(
            "its cas from {old} to {new} succeeded, but the register held {state}, not {old}"
        ),
        other => format!("{other:?} cannot take effect when the register holds {state}"),
    }
}

impl Model for Register {
    type State = Value;
    type Op = RegisterOp;

    fn name(&self) -> String {
        "register".into()
    }
    fn init(&self) -> Value {
        self.initial.clone()
    }
    fn op(&self, call: &Call) -> Result<RegisterOp, String> {
        read_register_op(call, false)
    }
    fn step(&self, state: &Value, op: &RegisterOp) -> Option<Value> {
        step_register(state, op)
    }
    fn is_read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }
    fn heap_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
    fn describe(&self, state: &Value, op: &RegisterOp) -> String {
        describe_register(state, op)
    }
}

/// A register with compare-and-set: `:cas [old new]` (Knossos's `cas-register`).
#[derive(Clone, Debug)]
pub struct CasRegister {
    pub initial: Value,
}

impl Default for CasRegister {
    /// Starts at nil, as Knossos's models do.
    fn default() -> CasRegister {
        CasRegister {
            initial: Value::Nil,
        }
    }
}

impl CasRegister {
    pub fn new(initial: impl Into<Value>) -> CasRegister {
        CasRegister {
            initial: initial.into(),
        }
    }
}

impl Model for CasRegister {
    type State = Value;
    type Op = RegisterOp;

    fn name(&self) -> String {
        "cas-register".into()
    }
    fn init(&self) -> Value {
        self.initial.clone()
    }
    fn op(&self, call: &Call) -> Result<RegisterOp, String> {
        read_register_op(call, true)
    }
    fn step(&self, state: &Value, op: &RegisterOp) -> Option<Value> {
        step_register(state, op)
    }
    fn is_read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }
    fn heap_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
    fn describe(&self, state: &Value, op: &RegisterOp) -> String {
        describe_register(state, op)
    }
}

/// Several registers read and written together: values are maps `{key value}`, a read names the
/// keys it read (Knossos's `multi-register`). Not partitioned: one operation spans keys.
#[derive(Clone, Debug)]
pub struct MultiRegister {
    /// The value of every key before it is written.
    pub initial: Value,
}

impl Default for MultiRegister {
    /// Starts at nil, as Knossos's models do.
    fn default() -> MultiRegister {
        MultiRegister {
            initial: Value::Nil,
        }
    }
}

impl MultiRegister {
    pub fn new(initial: impl Into<Value>) -> MultiRegister {
        MultiRegister {
            initial: initial.into(),
        }
    }
}

/// One step of a [`MultiRegister`] operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Micro {
    /// A key read and the value seen (`None`: unknown).
    Read(Value, Option<Value>),
    Write(Value, Value),
}

/// An operation of [`MultiRegister`]: its micro-operations, applied in order as one atomic
/// step (a read after a write of the same key sees that write). A `:read` of a map is all reads,
/// a `:write` of a map all writes, a `:txn` whatever its vector says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiRegisterOp {
    pub micro: Vec<Micro>,
}

fn map_entries(value: &Value) -> Result<Vec<(Value, Value)>, String> {
    match value {
        Value::Map(entries) => Ok(entries.clone()),
        Value::Nil => Ok(Vec::new()),
        other => Err(format!(
            "a multi-register value must be a map {{key value}}, found {other}"
        )),
    }
}

/// Knossos's transaction: a vector of `[:read k v]` and `[:write k v]`.
fn transaction(value: &Value, nil_is_value: bool) -> Result<Vec<Micro>, String> {
    let Value::Vector(steps) = value else {
        return Err(format!(
            "a :txn operation's value must be a vector of [:read k v] and [:write k v], found {value}"
        ));
    };
    steps
        .iter()
        .map(|step| match step {
            Value::Vector(parts) if parts.len() == 3 => match &parts[0] {
                Value::Keyword(f) if f == "read" || f == "r" => {
                    let v = &parts[2];
                    let known = nil_is_value || !v.is_nil();
                    Ok(Micro::Read(parts[1].clone(), known.then(|| v.clone())))
                }
                Value::Keyword(f) if f == "write" || f == "w" => {
                    Ok(Micro::Write(parts[1].clone(), parts[2].clone()))
                }
                other => Err(format!(
                    "a :txn micro-operation is :read or :write, found {other}"
                )),
            },
            other => Err(format!(
                "a :txn micro-operation is [:read k v] or [:write k v], found {other}"
            )),
        })
        .collect()
}

impl MultiRegister {
    fn get<'a>(&'a self, state: &'a [(Value, Value)], key: &Value) -> &'a Value {
        state
            .binary_search_by(|(k, _)| k.cmp(key))
            .map_or(&self.initial, |i| &state[i].1)
    }
}

impl Model for MultiRegister {
    /// Written keys, sorted; a key not present holds `initial`.
    type State = Vec<(Value, Value)>;
    type Op = MultiRegisterOp;

    fn name(&self) -> String {
        "multi-register".into()
    }
    fn init(&self) -> Self::State {
        Vec::new()
    }
    fn op(&self, call: &Call) -> Result<MultiRegisterOp, String> {
        let micro = match call.f {
            "read" => match call.completed {
                Some(v) => map_entries(v)?
                    .into_iter()
                    .map(|(k, v)| {
                        let known = call.nil_is_value || !v.is_nil();
                        Micro::Read(k, known.then_some(v))
                    })
                    .collect(),
                None => Vec::new(),
            },
            "write" => map_entries(call.invoked)?
                .into_iter()
                .map(|(k, v)| Micro::Write(k, v))
                .collect(),
            // An :ok transaction's completion holds what its reads saw; an open one, only what
            // it asked (its reads unknown).
            "txn" => transaction(call.completed.unwrap_or(call.invoked), call.nil_is_value)?,
            _ => {
                return Err(call.unknown_function("multi-register", ":read, :write or :txn"));
            }
        };
        Ok(MultiRegisterOp { micro })
    }
    fn step(&self, state: &Self::State, op: &MultiRegisterOp) -> Option<Self::State> {
        let mut next: Option<Self::State> = None;
        for m in &op.micro {
            let current = next.as_deref().unwrap_or(state);
            match m {
                Micro::Read(k, v) => {
                    if !read_allows(v, self.get(current, k)) {
                        return None;
                    }
                }
                Micro::Write(k, v) => {
                    let written = next.get_or_insert_with(|| state.clone());
                    match written.binary_search_by(|(key, _)| key.cmp(k)) {
                        Ok(i) => written[i].1 = v.clone(),
                        Err(i) => written.insert(i, (k.clone(), v.clone())),
                    }
                }
            }
        }
        Some(next.unwrap_or_else(|| state.clone()))
    }
    fn is_read_only(&self, op: &MultiRegisterOp) -> bool {
        op.micro.iter().all(|m| matches!(m, Micro::Read(..)))
    }
    fn heap_bytes(&self, state: &Self::State) -> usize {
        state.capacity() * size_of::<(Value, Value)>()
            + state
                .iter()
                .map(|(k, v)| k.heap_bytes() + v.heap_bytes())
                .sum::<usize>()
    }
    fn describe(&self, state: &Self::State, op: &MultiRegisterOp) -> String {
        let mut current = state.clone();
        for m in &op.micro {
            match m {
                Micro::Read(k, Some(v)) if v != self.get(&current, k) => {
                    let held = self.get(&current, k);
                    return format!("it read {v} at key {k}, but that key held {held}");
                }
                Micro::Read(..) => {}
                Micro::Write(k, v) => {
                    current = self
                        .step(
                            &current,
                            &MultiRegisterOp {
                                micro: vec![Micro::Write(k.clone(), v.clone())],
                            },
                        )
                        .expect("a write always applies");
                }
            }
        }
        format!("{op:?} cannot take effect in state {state:?}")
    }
}

/// Independent keys, each its own `M` (Knossos's `independent`, the reference's
/// `checkIndependent`): values are `[key value]` tuples. Linearizability is checked per key
/// (P-compositionality); sequential consistency, which is not compositional, sees all keys at once.
#[derive(Clone, Debug, Default)]
pub struct Independent<M: Model> {
    /// The model of one key.
    pub each: M,
    /// `each.init()`, made once: every step compares with it.
    initial: OnceLock<M::State>,
}

impl<M: Model> Independent<M> {
    pub fn new(each: M) -> Independent<M> {
        Independent {
            each,
            initial: OnceLock::new(),
        }
    }

    fn initial(&self) -> &M::State {
        self.initial.get_or_init(|| self.each.init())
    }
}

fn split_tuple(value: &Value) -> Option<(&Value, &Value)> {
    match value {
        Value::Vector(pair) if pair.len() == 2 => Some((&pair[0], &pair[1])),
        _ => None,
    }
}

/// The states of an [`Independent`] model's keys that are not in their initial state, sorted by
/// key (so that equal states are equal values, which the searches merge). A single key, the case
/// of every step when the linearizability search runs key by key, is held without an allocation;
/// keys are shared, never copied.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Keyed<S> {
    Empty,
    One((Arc<Value>, S)),
    /// Two or more keys.
    Many(Vec<(Arc<Value>, S)>),
}

impl<S: Clone> Keyed<S> {
    /// Every key's state, sorted by key.
    pub fn entries(&self) -> &[(Arc<Value>, S)] {
        match self {
            Keyed::Empty => &[],
            Keyed::One(entry) => std::slice::from_ref(entry),
            Keyed::Many(entries) => entries,
        }
    }

    /// The state of `key`, if it is not the initial one.
    pub fn get(&self, key: &Value) -> Option<&S> {
        let entries = self.entries();
        entries
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &entries[i].1)
    }

    /// The same states with `key`'s set to `state` (`None`: back to the initial state).
    fn with(&self, key: &Arc<Value>, state: Option<S>) -> Keyed<S> {
        // The cases of a search key by key, without building a vector.
        match (self, state) {
            (Keyed::Empty, Some(s)) => Keyed::One((key.clone(), s)),
            (Keyed::One((k, _)), state) if k == key => {
                state.map_or(Keyed::Empty, |s| Keyed::One((k.clone(), s)))
            }
            (_, state) => self.with_many(key, state),
        }
    }

    fn with_many(&self, key: &Arc<Value>, state: Option<S>) -> Keyed<S> {
        let mut entries = self.entries().to_vec();
        match (entries.binary_search_by(|(k, _)| k.cmp(key)), state) {
            (Ok(i), Some(s)) => entries[i].1 = s,
            (Ok(i), None) => {
                entries.remove(i);
            }
            (Err(i), Some(s)) => entries.insert(i, (key.clone(), s)),
            (Err(_), None) => {}
        }
        match entries.len() {
            0 => Keyed::Empty,
            1 => Keyed::One(entries.pop().expect("one entry")),
            _ => Keyed::Many(entries),
        }
    }
}

impl<M: Model> Model for Independent<M> {
    type State = Keyed<M::State>;
    /// The key and the operation on it.
    type Op = (Arc<Value>, M::Op);

    fn name(&self) -> String {
        format!("independent {}", self.each.name())
    }
    fn init(&self) -> Self::State {
        Keyed::Empty
    }
    fn op(&self, call: &Call) -> Result<Self::Op, String> {
        let (key, invoked) = split_tuple(call.invoked).ok_or_else(|| {
            format!(
                "operations on independent keys carry [key value] tuples (or a :key), found {}",
                call.invoked
            )
        })?;
        let completed = match call.completed {
            None => None,
            Some(v) => match split_tuple(v) {
                Some((k, inner)) if k == key => Some(inner),
                Some((k, _)) => {
                    return Err(format!(
                        "the operation was invoked on key {key} but completed on key {k}"
                    ));
                }
                // Some recorders complete reads with the bare value.
                None if !matches!(v, Value::Vector(_)) => Some(v),
                None => {
                    return Err(format!(
                        "operations on independent keys carry [key value] tuples, found {v}"
                    ));
                }
            },
        };
        let inner = self.each.op(&call.with_values(invoked, completed))?;
        Ok((Arc::new(key.clone()), inner))
    }
    fn failed(&self, call: &Call) -> Result<Option<Self::Op>, String> {
        let Some((key, invoked)) = split_tuple(call.invoked) else {
            return self.op(call).map(|_| None);
        };
        let completed = call
            .completed
            .map(|v| split_tuple(v).map_or(v, |(_, inner)| inner));
        let inner = self.each.failed(&call.with_values(invoked, completed))?;
        Ok(inner.map(|op| (Arc::new(key.clone()), op)))
    }
    fn step(&self, state: &Self::State, (key, op): &Self::Op) -> Option<Self::State> {
        let current = state.get(key);
        let next = self.each.step(current.unwrap_or(self.initial()), op)?;
        if self.each.is_read_only(op) || current.is_some_and(|s| *s == next) {
            return Some(state.clone());
        }
        let initial = next == *self.initial();
        if current.is_none() && initial {
            return Some(state.clone());
        }
        Some(state.with(key, (!initial).then_some(next)))
    }
    fn partition(&self, (key, _): &Self::Op) -> Option<Value> {
        Some((**key).clone())
    }
    fn is_read_only(&self, (_, op): &Self::Op) -> bool {
        self.each.is_read_only(op)
    }
    fn heap_bytes(&self, state: &Self::State) -> usize {
        let entries = state.entries();
        let spilled = if entries.len() > 1 { entries.len() } else { 0 };
        spilled * size_of::<(Arc<Value>, M::State)>()
            + entries
                .iter()
                .map(|(_, s)| self.each.heap_bytes(s))
                .sum::<usize>()
    }
    fn describe(&self, state: &Self::State, (key, op): &Self::Op) -> String {
        let current = state.get(key).unwrap_or(self.initial());
        format!("at key {key}: {}", self.each.describe(current, op))
    }
}

/// A counter: `:add n` and `:read` (built new: the reference's `CounterModel` was never wired in,
/// spec §1.14). `:inc` adds its value, or 1 when the value is nil. `:add-and-get n` adds and
/// returns the new value (Java's `AtomicLong.addAndGet`; the Day 2 counter's increments answer
/// with it), so a history checks what each increment returned, not only what reads saw.
#[derive(Clone, Debug, Default)]
pub struct Counter {
    pub initial: i64,
}

/// An operation of [`Counter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CounterOp {
    Add(i64),
    /// What the read returned (`None`: unknown).
    Read(Option<i64>),
    /// Adds `delta` and returns the new value (`None`: unknown).
    AddAndGet {
        delta: i64,
        returned: Option<i64>,
    },
}

impl Model for Counter {
    type State = i64;
    type Op = CounterOp;

    fn name(&self) -> String {
        "counter".into()
    }
    fn init(&self) -> i64 {
        self.initial
    }
    fn op(&self, call: &Call) -> Result<CounterOp, String> {
        match (call.f, call.invoked) {
            ("add" | "inc", Value::Int(n)) => Ok(CounterOp::Add(*n)),
            ("inc", Value::Nil) => Ok(CounterOp::Add(1)),
            ("add-and-get", Value::Int(n)) => match call.returned() {
                None => Ok(CounterOp::AddAndGet {
                    delta: *n,
                    returned: None,
                }),
                Some(Value::Int(v)) => Ok(CounterOp::AddAndGet {
                    delta: *n,
                    returned: Some(*v),
                }),
                Some(other) => Err(format!(
                    "an :add-and-get must return the new value, an integer, found {other}"
                )),
            },
            ("add" | "inc" | "add-and-get", other) => Err(format!(
                "an :{} operation's value must be an integer, found {other}",
                call.f
            )),
            ("read", _) => match call.returned() {
                None => Ok(CounterOp::Read(None)),
                Some(Value::Int(n)) => Ok(CounterOp::Read(Some(*n))),
                Some(other) => Err(format!(
                    "a counter read must return an integer, found {other}"
                )),
            },
            _ => Err(call.unknown_function("counter", ":add, :inc, :add-and-get or :read")),
        }
    }
    fn step(&self, state: &i64, op: &CounterOp) -> Option<i64> {
        match op {
            CounterOp::Add(n) => state.checked_add(*n),
            CounterOp::Read(seen) => seen.is_none_or(|v| v == *state).then_some(*state),
            CounterOp::AddAndGet { delta, returned } => {
                let next = state.checked_add(*delta)?;
                returned.is_none_or(|v| v == next).then_some(next)
            }
        }
    }
    fn is_read_only(&self, op: &CounterOp) -> bool {
        matches!(op, CounterOp::Read(_))
    }
    fn describe(&self, state: &i64, op: &CounterOp) -> String {
        match op {
            CounterOp::Read(Some(v)) => format!("it read {v}, but the counter stood at {state}"),
            CounterOp::AddAndGet {
                delta,
                returned: Some(v),
            } if state.checked_add(*delta).is_some() => format!(
                "adding {delta} to {state} gives {}, but it returned {v}",
                state + delta
            ),
            CounterOp::Add(n) | CounterOp::AddAndGet { delta: n, .. } => {
                format!("adding {n} to {state} overflows")
            }
            CounterOp::Read(None) => "an unknown read is always allowed".into(),
        }
    }
}

/// A lock: `:acquire` succeeds only when free, `:release` only when held (Knossos's `mutex`).
#[derive(Clone, Debug, Default)]
pub struct Mutex;

/// An operation of [`Mutex`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MutexOp {
    Acquire,
    Release,
}

impl Model for Mutex {
    /// Whether the lock is held.
    type State = bool;
    type Op = MutexOp;

    fn name(&self) -> String {
        "mutex".into()
    }
    fn init(&self) -> bool {
        false
    }
    fn op(&self, call: &Call) -> Result<MutexOp, String> {
        match call.f {
            "acquire" => Ok(MutexOp::Acquire),
            "release" => Ok(MutexOp::Release),
            _ => Err(call.unknown_function("mutex", ":acquire or :release")),
        }
    }
    fn step(&self, held: &bool, op: &MutexOp) -> Option<bool> {
        match op {
            MutexOp::Acquire => (!held).then_some(true),
            MutexOp::Release => held.then_some(false),
        }
    }
    fn describe(&self, held: &bool, op: &MutexOp) -> String {
        match (op, held) {
            (MutexOp::Acquire, true) => "it acquired the lock while another holder had it".into(),
            (MutexOp::Release, false) => "it released a lock nobody held".into(),
            _ => "this transition is allowed".into(),
        }
    }
}

/// A grow-only set: `:add x` and `:read` returning the whole set (Knossos's `set`).
#[derive(Clone, Debug, Default)]
pub struct Set;

/// An operation of [`Set`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetOp {
    Add(Value),
    /// The elements a read returned (`None`: unknown).
    Read(Option<BTreeSet<Value>>),
}

impl Model for Set {
    type State = BTreeSet<Value>;
    type Op = SetOp;

    fn name(&self) -> String {
        "set".into()
    }
    fn init(&self) -> BTreeSet<Value> {
        BTreeSet::new()
    }
    fn op(&self, call: &Call) -> Result<SetOp, String> {
        match call.f {
            "add" => Ok(SetOp::Add(call.invoked.clone())),
            "read" => match call.returned() {
                None => Ok(SetOp::Read(None)),
                Some(Value::Vector(items)) => {
                    Ok(SetOp::Read(Some(items.iter().cloned().collect())))
                }
                Some(other) => Err(format!(
                    "a set read must return a set or vector of elements, found {other}"
                )),
            },
            _ => Err(call.unknown_function("set", ":add or :read")),
        }
    }
    fn step(&self, state: &BTreeSet<Value>, op: &SetOp) -> Option<BTreeSet<Value>> {
        match op {
            SetOp::Add(v) => {
                let mut next = state.clone();
                next.insert(v.clone());
                Some(next)
            }
            SetOp::Read(seen) => seen
                .as_ref()
                .is_none_or(|s| s == state)
                .then(|| state.clone()),
        }
    }
    fn is_read_only(&self, op: &SetOp) -> bool {
        matches!(op, SetOp::Read(_))
    }
    fn heap_bytes(&self, state: &BTreeSet<Value>) -> usize {
        // A B-tree node holds up to 11 elements; count each element's share of one.
        state
            .iter()
            .map(|v| size_of::<Value>() * 3 / 2 + v.heap_bytes())
            .sum()
    }
    fn describe(&self, state: &BTreeSet<Value>, op: &SetOp) -> String {
        let show = |s: &BTreeSet<Value>| Value::Vector(s.iter().cloned().collect()).to_string();
        match op {
            SetOp::Read(Some(seen)) => {
                format!("it read {}, but the set held {}", show(seen), show(state))
            }
            other => format!(
                "{other:?} cannot take effect when the set holds {}",
                show(state)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call's values, owned, as a test writes them.
    struct Written {
        f: &'static str,
        invoked: Value,
        completed: Option<Value>,
        nil_is_value: bool,
    }

    impl Written {
        fn call(&self) -> Call<'_> {
            Call {
                f: self.f,
                invoked: &self.invoked,
                completed: self.completed.as_ref(),
                nil_is_value: self.nil_is_value,
            }
        }
    }

    fn call(f: &'static str, invoked: Value, completed: Option<Value>) -> Written {
        Written {
            f,
            invoked,
            completed,
            nil_is_value: false,
        }
    }

    fn steps<M: Model>(model: &M, calls: &[Written]) -> Option<M::State> {
        let mut state = model.init();
        for c in calls {
            state = model.step(&state, &model.op(&c.call()).unwrap())?;
        }
        Some(state)
    }

    #[test]
    fn each_model_accepts_its_sequential_runs_and_refuses_impossible_results() {
        // One legal and one illegal sequence per built-in model: the rule tables of §1.14.
        let int = Value::Int;
        let v = |items: &[i64]| Value::Vector(items.iter().map(|i| Value::Int(*i)).collect());
        let cas = CasRegister::new(0);
        assert!(
            steps(
                &cas,
                &[
                    call("cas", v(&[0, 1]), Some(v(&[0, 1]))),
                    call("read", Value::Nil, Some(int(1)))
                ]
            )
            .is_some()
        );
        assert!(steps(&cas, &[call("cas", v(&[1, 2]), Some(v(&[1, 2])))]).is_none());
        let reg = Register::default();
        assert!(
            steps(
                &reg,
                &[
                    call("write", int(3), Some(int(3))),
                    call("read", Value::Nil, Some(int(3)))
                ]
            )
            .is_some()
        );
        assert!(
            steps(
                &reg,
                &[
                    call("write", int(3), Some(int(3))),
                    call("read", Value::Nil, Some(int(4)))
                ]
            )
            .is_none()
        );
        let counter = Counter::default();
        assert_eq!(
            steps(
                &counter,
                &[
                    call("add", int(2), Some(int(2))),
                    call("inc", Value::Nil, None),
                    call("read", Value::Nil, Some(int(3)))
                ]
            ),
            Some(3)
        );
        assert!(
            steps(
                &counter,
                &[
                    call("add", int(2), None),
                    call("read", Value::Nil, Some(int(1)))
                ]
            )
            .is_none()
        );
        // :add-and-get returns the new value; an unknown return (:info) says nothing.
        assert_eq!(
            steps(
                &counter,
                &[
                    call("add-and-get", int(2), Some(int(2))),
                    call("add-and-get", int(3), None),
                    call("add-and-get", int(1), Some(int(6)))
                ]
            ),
            Some(6)
        );
        assert!(
            steps(
                &counter,
                &[
                    call("add-and-get", int(2), Some(int(2))),
                    call("add-and-get", int(3), Some(int(3)))
                ]
            )
            .is_none()
        );
        assert!(
            steps(
                &Mutex,
                &[
                    call("acquire", Value::Nil, None),
                    call("release", Value::Nil, None)
                ]
            )
            .is_some()
        );
        assert!(
            steps(
                &Mutex,
                &[
                    call("acquire", Value::Nil, None),
                    call("acquire", Value::Nil, None)
                ]
            )
            .is_none()
        );
        assert!(
            steps(
                &Set,
                &[
                    call("add", int(1), None),
                    call("add", int(2), None),
                    call("read", Value::Nil, Some(v(&[2, 1])))
                ]
            )
            .is_some()
        );
        assert!(
            steps(
                &Set,
                &[
                    call("add", int(1), None),
                    call("read", Value::Nil, Some(v(&[])))
                ]
            )
            .is_none()
        );
        let map = |k: &str, x: i64| Value::Map(vec![(Value::Keyword(k.into()), int(x))]);
        let multi = MultiRegister::new(0);
        assert!(
            steps(
                &multi,
                &[
                    call("write", map("x", 1), None),
                    call("read", Value::Nil, Some(map("x", 1))),
                    call("read", Value::Nil, Some(map("y", 0)))
                ]
            )
            .is_some()
        );
        assert!(
            steps(
                &multi,
                &[
                    call("write", map("x", 1), None),
                    call("read", Value::Nil, Some(map("x", 0)))
                ]
            )
            .is_none()
        );
        let kv = Independent::new(Register::default());
        let t = |k: &str, x: Value| Value::tuple(Value::str(k), x);
        assert!(
            steps(
                &kv,
                &[
                    call("write", t("a", int(1)), None),
                    call("read", t("b", Value::Nil), Some(t("b", Value::Nil))),
                    call("read", t("a", Value::Nil), Some(t("a", int(1))))
                ]
            )
            .is_some()
        );
        assert!(
            steps(
                &kv,
                &[
                    call("write", t("a", int(1)), None),
                    call("read", t("b", Value::Nil), Some(t("b", int(1))))
                ]
            )
            .is_none()
        );
    }

    #[test]
    fn a_nil_read_is_unknown_unless_nil_is_a_value() {
        // Knossos's rule: an :ok read of nil never violates; with nil_is_value it must match.
        let reg = Register::new(5);
        let mut read_nil = call("read", Value::Nil, Some(Value::Nil));
        assert!(steps(&reg, std::slice::from_ref(&read_nil)).is_some());
        read_nil.nil_is_value = true;
        assert!(steps(&reg, std::slice::from_ref(&read_nil)).is_none());
        assert!(steps(&Register::default(), &[read_nil]).is_some());
    }

    #[test]
    fn malformed_operations_are_refused_with_what_was_expected() {
        // A history that does not fit the model is bad input, not a verdict.
        let e = CasRegister::default()
            .op(&call("cas", Value::Int(1), None).call())
            .unwrap_err();
        assert!(e.contains("[old new]"), "{e}");
        let e = Register::default()
            .op(&call("cas", Value::Nil, None).call())
            .unwrap_err();
        assert!(e.contains("expected :read or :write"), "{e}");
        let e = Independent::new(Register::default())
            .op(&call("write", Value::Int(1), None).call())
            .unwrap_err();
        assert!(e.contains("[key value]"), "{e}");
    }
}
