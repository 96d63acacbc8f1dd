//! TLC's counterexamples, replayed on the Rust acceptors.
//!
//! TLC checks a model of Paxos (`tla/Paxos.tla`) and of the durable-decision pattern
//! (`tla/DurableDecision.tla`); their `Broken*` twins come with a shortest counterexample
//! ([`crate::tla`] reads it). A replay walks that trace step by step and makes the same thing
//! happen to the Rust protocol in the simulator, then judges the run with the explorer's own
//! invariants ("at most one value is chosen") and with the model's `PromisesKept` ("a node that
//! is up remembers every promise it sent"). The broken Rust variant breaks them at the step where
//! the model does; the correct one refuses to follow the trace where the bug was needed, and stays
//! safe. The model and the code are checked against the same counterexample.
//!
//! | model action | in the simulator |
//! |---|---|
//! | `Prepare(b)` | ballot b's client asks b's proposer, which takes a ballot and asks every acceptor to promise it |
//! | `Promise(a, b)`, `ReceivePrepare(n, g)` | the proposer's link to a delivers the prepare |
//! | `Propose(b, v)` | the promises of b are delivered to its proposer, which proposes what its rule says |
//! | `Accept(a, b, v)` | the proposer's link to a delivers the accept request |
//! | `Persist(a)`, `CompleteWrite(n)` | a's sync completes: the answers it held back leave |
//! | `CrashAndRecover(a)` (Paxos) | a crashes, losing unsynced writes and held-back answers, and restarts from its disk |
//! | `CrashAndRecover(n)`, `Restart(n)` (durable decision) | n crashes; later, n restarts |
//!
//! So that nothing happens between steps, every link between nodes is held and so is every sync;
//! a step releases exactly what it needs. Drop rules remove what the trace never delivers:
//! commits and refusals (the model has neither) and requests an acceptor never acts on.
//!
//! The model's proposers are not acceptors; a Rust node is both. A [`Cast`] says which node plays
//! each acceptor and which proposes each ballot, one ballot per node, so that each link carries
//! one ballot's messages. A proposer's own acceptor acts on its own requests at once (those
//! messages never touch the network): the cast gives each ballot to a node whose own moves in
//! the trace can happen that early, and the replay says so in its steps. [`Replay::differences`]
//! compares the acceptors' final states with the trace's last state.

use super::{Ballot, Command, Config, Explorer, Paxos, PaxosKind};
use crate::explore::Explorable;
use crate::node::Tick;
use crate::sim::{
    Builder, DropReason, Fault, Latency, Observer, Simulation, Trace as RunTrace, TraceEvent,
};
use crate::tla::{
    ReplayError, ReplayStep, Trace, Transition, Value, record_violation, run_trace, steps_table,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The clients, one per ballot, in ballot order.
const CLIENTS: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// Long enough that no proposer gives up or retries while a trace plays: the model has no clock.
const PATIENCE_TICKS: Tick = 1_000_000;

fn error(why: impl Into<String>) -> ReplayError {
    ReplayError(why.into())
}

// ----- who plays whom ----------------------------------------------------------------------------

/// Which node plays each of the model's acceptors (or nodes), and which node proposes each ballot
/// (or generation). Node ids follow the order the acceptors are named in: the first is node 0, and
/// of two proposers that start in the same round, the higher id holds the higher ballot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cast {
    acceptors: Vec<(String, String)>,
    proposers: Vec<(i64, String)>,
}

impl Cast {
    pub fn new() -> Cast {
        Cast::default()
    }

    /// `node` plays the model's acceptor `model` (`a1`, `n1`).
    pub fn acceptor(mut self, model: &str, node: &str) -> Cast {
        self.acceptors.push((model.to_string(), node.to_string()));
        self
    }

    /// `node`'s proposer starts the model's ballot (or generation) `ballot`.
    pub fn proposer(mut self, ballot: i64, node: &str) -> Cast {
        self.proposers.push((ballot, node.to_string()));
        self
    }

    fn node(&self, acceptor: &str) -> Result<&str, ReplayError> {
        self.acceptors
            .iter()
            .find(|(a, _)| a == acceptor)
            .map(|(_, n)| n.as_str())
            .ok_or_else(|| error(format!("the cast names no node for acceptor {acceptor}")))
    }

    fn proposer_of(&self, ballot: i64) -> Result<&str, ReplayError> {
        self.proposers
            .iter()
            .find(|(b, _)| *b == ballot)
            .map(|(_, n)| n.as_str())
            .ok_or_else(|| error(format!("the cast names no proposer for ballot {ballot}")))
    }

    fn nodes(&self) -> Vec<&str> {
        self.acceptors.iter().map(|(_, n)| n.as_str()).collect()
    }

    /// Every node once, every proposer a node, one ballot per proposer.
    fn validate(&self) -> Result<(), ReplayError> {
        let nodes = self.nodes();
        let distinct: BTreeSet<&str> = nodes.iter().copied().collect();
        if distinct.len() != nodes.len() || nodes.is_empty() {
            return Err(error("the cast must give each acceptor its own node"));
        }
        let mut proposing = BTreeSet::new();
        for (ballot, node) in &self.proposers {
            if !distinct.contains(node.as_str()) {
                return Err(error(format!(
                    "ballot {ballot}'s proposer {node} plays no acceptor"
                )));
            }
            if !proposing.insert(node.as_str()) {
                return Err(error(format!(
                    "{node} proposes two ballots: give each ballot its own node"
                )));
            }
        }
        Ok(())
    }
}

// ----- the model's steps ---------------------------------------------------------------------------

/// One step of a model trace, with the arguments TLC does not print recovered from what changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Move {
    Prepare {
        ballot: i64,
    },
    Promise {
        acceptor: String,
        ballot: i64,
    },
    Propose {
        ballot: i64,
        value: String,
    },
    Accept {
        acceptor: String,
        ballot: i64,
        value: String,
    },
    Persist {
        acceptor: String,
    },
    /// Paxos.tla's: crash and restart from the disk in one step.
    CrashAndRecover {
        acceptor: String,
    },
    /// DurableDecision.tla's crash: the node stays down until it restarts.
    Crash {
        acceptor: String,
    },
    Restart {
        acceptor: String,
    },
}

/// A model step: TLC's state number, the action as the spec names it, and what it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelStep {
    pub number: usize,
    /// The action with its arguments, as the spec writes it: `ReceivePrepare(n1, 1)`.
    pub action: String,
    pub step: Move,
}

fn name_of(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_name).map(str::to_string)
}

/// Reads the steps of a trace of `tla/Paxos.tla` (or a twin) or `tla/DurableDecision.tla` (or a
/// twin).
pub fn model_steps(trace: &Trace) -> Result<Vec<ModelStep>, ReplayError> {
    trace.transitions().map(|t| decode(&t)).collect()
}

fn decode(t: &Transition<'_>) -> Result<ModelStep, ReplayError> {
    let changes = t.changes();
    let name = t.action.name();
    let unreadable = || {
        error(format!(
            "state {}: cannot tell what {name} did from what changed",
            t.number
        ))
    };
    // The first function argument of a change to `variable`: the acceptor it concerns.
    let changed = |variable: &str| {
        changes
            .iter()
            .find(|(v, _)| *v == variable)
            .and_then(|(_, d)| name_of(d.path.first()))
    };
    let sent = |kind: &str| {
        changes
            .iter()
            .find_map(|(v, d)| match (*v, &d.before, &d.after) {
                ("msgs", None, Some(m)) if name_of(m.get("type")).as_deref() == Some(kind) => {
                    Some(m.clone())
                }
                _ => None,
            })
    };
    let field = |variable: &str, acceptor: &str, field: &str| {
        t.after
            .get(variable)
            .and_then(|f| f.get(acceptor))
            .and_then(|r| {
                if field.is_empty() {
                    Some(r)
                } else {
                    r.get(field)
                }
            })
            .cloned()
    };
    let int = |v: Option<Value>| v.and_then(|v| v.as_int()).ok_or_else(unreadable);
    let paxos = t.after.get("memory").is_some();
    let durable_decision = t.after.get("memPromised").is_some();
    let (action, step) = match (name, paxos, durable_decision) {
        ("Prepare", true, _) => {
            let ballot = int(sent("prepare").and_then(|m| m.get("ballot").cloned()))?;
            (format!("Prepare({ballot})"), Move::Prepare { ballot })
        }
        ("Propose", true, _) => {
            let m = sent("propose").ok_or_else(unreadable)?;
            let ballot = int(m.get("ballot").cloned())?;
            let value = name_of(m.get("value")).ok_or_else(unreadable)?;
            (
                format!("Propose({ballot}, {value})"),
                Move::Propose { ballot, value },
            )
        }
        ("Promise", true, _) => {
            let acceptor = changed("memory").ok_or_else(unreadable)?;
            let ballot = int(field("memory", &acceptor, "promised"))?;
            (
                format!("Promise({acceptor}, {ballot})"),
                Move::Promise { acceptor, ballot },
            )
        }
        ("Accept", true, _) => {
            let acceptor = changed("memory").ok_or_else(unreadable)?;
            let ballot = int(field("memory", &acceptor, "acceptedBallot"))?;
            let value = name_of(field("memory", &acceptor, "acceptedValue").as_ref())
                .ok_or_else(unreadable)?;
            (
                format!("Accept({acceptor}, {ballot}, {value})"),
                Move::Accept {
                    acceptor,
                    ballot,
                    value,
                },
            )
        }
        ("Persist", true, _) => {
            let acceptor = changed("disk").ok_or_else(unreadable)?;
            (format!("Persist({acceptor})"), Move::Persist { acceptor })
        }
        ("CrashAndRecover", true, _) => {
            let acceptor = changed("memory")
                .or_else(|| changed("outbox"))
                .ok_or_else(unreadable)?;
            (
                format!("CrashAndRecover({acceptor})"),
                Move::CrashAndRecover { acceptor },
            )
        }
        ("ReceivePrepare", _, true) => {
            let acceptor = changed("memPromised").ok_or_else(unreadable)?;
            let ballot = int(field("memPromised", &acceptor, ""))?;
            (
                format!("ReceivePrepare({acceptor}, {ballot})"),
                Move::Promise { acceptor, ballot },
            )
        }
        ("CompleteWrite", _, true) => {
            let acceptor = changed("durPromised")
                .or_else(|| changed("pendingWrite"))
                .ok_or_else(unreadable)?;
            (
                format!("CompleteWrite({acceptor})"),
                Move::Persist { acceptor },
            )
        }
        ("CrashAndRecover", _, true) => {
            let acceptor = changed("crashed").ok_or_else(unreadable)?;
            (
                format!("CrashAndRecover({acceptor})"),
                Move::Crash { acceptor },
            )
        }
        ("Restart", _, true) => {
            let acceptor = changed("crashed").ok_or_else(unreadable)?;
            (format!("Restart({acceptor})"), Move::Restart { acceptor })
        }
        _ => {
            return Err(error(format!(
                "state {}: {name} is not an action of Paxos.tla or DurableDecision.tla",
                t.number
            )));
        }
    };
    Ok(ModelStep {
        number: t.number,
        action,
        step,
    })
}

// ----- the replay ----------------------------------------------------------------------------------

/// A model trace played on the Rust protocol.
pub struct Replay {
    /// The run, with every event (its trace also holds the link and sync holds that pace it:
    /// [`Replay::run_trace`] leaves them out).
    pub sim: Simulation<Paxos>,
    pub steps: Vec<ReplayStep>,
    /// Each rule the Rust run broke, the first time: TLC's state number at which it broke, and why.
    pub violations: Vec<(usize, String)>,
    /// The Rust ballot each model ballot became.
    pub ballots: BTreeMap<i64, Ballot>,
    acceptors: Vec<(String, String)>,
}

/// The model's acceptor, ballot and value names mapped onto the run.
struct Driver<'c> {
    sim: Simulation<Paxos>,
    cast: &'c Cast,
    observer: Observer<Paxos>,
    violations: Vec<(usize, String)>,
    ballots: BTreeMap<i64, Ballot>,
    /// Answers each node told someone (they left it), for `PromisesKept` and `Agreement`: the
    /// node, the message type, the ballot.
    told: Vec<(String, &'static str, Ballot)>,
    /// What each ballot's proposer proposed.
    proposed: BTreeMap<Ballot, Command>,
    /// How far the run's trace has been scanned for promises told.
    scanned: usize,
    number: usize,
}

impl Driver<'_> {
    /// Runs `ticks` ticks, judging the run after every event (and once first, for what was just
    /// injected).
    fn advance(&mut self, ticks: Tick) {
        let end = self.sim.now() + ticks;
        self.judge();
        while self.sim.next_event_tick().is_some_and(|t| t <= end) {
            self.sim.step();
            self.judge();
        }
        let now = self.sim.now();
        self.sim.run_for(end - now);
    }

    /// Checks every rule; keeps the first time each one breaks. The explorer's invariants
    /// report one violation and stay on it; the model's own rules are checked beside them.
    fn judge(&mut self) {
        self.note_answers();
        for (proposer, ballot) in self
            .ballots
            .values()
            .map(|b| (b.node, *b))
            .collect::<Vec<_>>()
        {
            let name = self.sim.name(proposer).to_string();
            if let Ok(node) = self.sim.node(&name) {
                for (b, value) in node.attempts() {
                    if let (true, Some(value)) = (b == ballot, value) {
                        self.proposed.insert(b, value.command.clone());
                    }
                }
            }
        }
        let verdicts = [
            (self.observer)(&self.sim).err(),
            self.promises_kept().err(),
            self.agreement().err(),
        ];
        for broken in verdicts.into_iter().flatten() {
            record_violation(&mut self.violations, self.number, broken);
        }
    }

    /// Answers that left their node since the last look (a promise, an acceptance): each is for
    /// the ballot of the proposer it went to, as each proposer has one ballot.
    fn note_answers(&mut self) {
        let events = &self.sim.trace().events;
        // A crash records the answers it swallowed as sent and lost at once: never told.
        let swallowed: BTreeSet<u64> = events[self.scanned..]
            .iter()
            .filter_map(|e| match e {
                TraceEvent::Drop {
                    message,
                    reason: DropReason::SenderCrashed,
                    ..
                } => Some(*message),
                _ => None,
            })
            .collect();
        for event in &events[self.scanned..] {
            let TraceEvent::Send {
                from,
                to,
                kind,
                message,
                ..
            } = event
            else {
                continue;
            };
            if !matches!(*kind, "Promise" | "Accepted") || swallowed.contains(message) {
                continue;
            }
            let ballot = self.ballots.values().find(|b| b.node == *to).copied();
            if let Some(ballot) = ballot {
                self.told
                    .push((self.sim.name(*from).to_string(), kind, ballot));
            }
        }
        self.scanned = events.len();
    }

    /// The model's `Agreement`, as it states it: a value is chosen once a majority of acceptors
    /// sent "accepted" for it in one ballot, and at most one value is chosen.
    fn agreement(&self) -> Result<(), String> {
        let majority = self.sim.node_names().len() / 2 + 1;
        let mut chosen: Vec<(Ballot, &Command)> = Vec::new();
        for (ballot, command) in &self.proposed {
            let accepted: BTreeSet<&str> = self
                .told
                .iter()
                .filter(|(_, kind, b)| *kind == "Accepted" && b == ballot)
                .map(|(from, _, _)| from.as_str())
                .collect();
            if accepted.len() >= majority && !chosen.iter().any(|(_, c)| *c == command) {
                chosen.push((*ballot, command));
            }
        }
        match chosen.as_slice() {
            [(b1, v1), (b2, v2), ..] => Err(format!(
                "at most one value is chosen (Agreement): {v1} in {b1} and {v2} in {b2}, each \
                 accepted by a majority"
            )),
            _ => Ok(()),
        }
    }

    /// The model's `PromisesKept`: a node that is up holds a promise at least as high as every
    /// promise it told.
    fn promises_kept(&self) -> Result<(), String> {
        for (node, _, ballot) in self.told.iter().filter(|(_, k, _)| *k == "Promise") {
            let Ok(paxos) = self.sim.node(node) else {
                continue; // down: it remembers nothing, and answers nothing
            };
            if paxos.acceptor().promised < Some(*ballot) {
                let now = match paxos.acceptor().promised {
                    Some(p) => format!("holds {p}"),
                    None => "holds no promise".to_string(),
                };
                return Err(format!(
                    "a node that is up remembers every promise it sent (PromisesKept): {node} \
                     promised {ballot}, and now {now}"
                ));
            }
        }
        Ok(())
    }

    fn inject(&mut self, fault: Fault) -> Result<(), ReplayError> {
        Ok(self.sim.inject(fault)?)
    }

    /// Delivers what the links `from -> to` hold, and holds them again for what comes next.
    fn deliver(&mut self, links: &[(&str, &str)]) -> Result<(), ReplayError> {
        for (from, to) in links {
            let (from, to) = (from.to_string(), to.to_string());
            self.inject(Fault::Release {
                from: from.clone(),
                to: to.clone(),
            })?;
            self.inject(Fault::Hold { from, to })?;
        }
        self.advance(2);
        Ok(())
    }

    /// Completes `node`'s syncs now and holds the next ones.
    fn sync(&mut self, node: &str) -> Result<(), ReplayError> {
        self.inject(Fault::CompleteSync { node: node.into() })?;
        self.inject(Fault::HoldSync { node: node.into() })?;
        self.advance(1);
        Ok(())
    }

    fn node(&self, name: &str) -> Result<&Paxos, ReplayError> {
        Ok(self.sim.node(name)?)
    }

    fn ballot(&self, model: i64) -> Result<Ballot, ReplayError> {
        self.ballots
            .get(&model)
            .copied()
            .ok_or_else(|| error(format!("ballot {model} acts before its Prepare")))
    }

    fn promised(&self, node: &str) -> String {
        match self.sim.node(node).map(|n| n.acceptor().promised) {
            Ok(Some(p)) => format!("promised {p}"),
            Ok(None) => "promised nothing".to_string(),
            Err(_) => "down".to_string(),
        }
    }

    /// Starts `ballot`: its client asks its proposer, whose own acceptor promises at once.
    fn begin(&mut self, ballot: i64, value: &str, client: &str) -> Result<String, ReplayError> {
        let proposer = self.cast.proposer_of(ballot)?;
        let before: BTreeSet<Ballot> = self.node(proposer)?.attempts().map(|(b, _)| b).collect();
        self.sim
            .invoke(client, proposer, Command::set("x", value))?;
        self.advance(2);
        self.sync(proposer)?;
        let rust = self
            .node(proposer)?
            .attempts()
            .map(|(b, _)| b)
            .find(|b| !before.contains(b))
            .ok_or_else(|| error(format!("{proposer} started no attempt for ballot {ballot}")))?;
        if let Some((lower, _)) = self
            .ballots
            .iter()
            .find(|(m, b)| (**m < ballot && **b >= rust) || (**m > ballot && **b <= rust))
        {
            return Err(error(format!(
                "ballot {ballot} became {rust}, out of order with ballot {lower} ({}): name \
                 the proposers' nodes in ballot order",
                self.ballots[lower]
            )));
        }
        self.ballots.insert(ballot, rust);
        let own = if self.node(proposer)?.acceptor().promised == Some(rust) {
            format!("its own acceptor promised {rust} at once")
        } else {
            format!("its own acceptor refused it ({})", self.promised(proposer))
        };
        Ok(format!(
            "{client} asks {proposer} to set x={value}: ballot {rust}; {own}"
        ))
    }
}

/// Plays a model trace on a Paxos cluster configured by `config` (the correct form or a broken
/// variant), with `cast` saying who plays whom.
pub fn replay(trace: &Trace, cast: &Cast, config: Config) -> Result<Replay, ReplayError> {
    cast.validate()?;
    let steps = model_steps(trace)?;
    let mut model_ballots: Vec<i64> = steps
        .iter()
        .filter_map(|s| match &s.step {
            Move::Prepare { ballot } | Move::Promise { ballot, .. } => Some(*ballot),
            _ => None,
        })
        .collect();
    model_ballots.sort_unstable();
    model_ballots.dedup();
    if model_ballots.len() > CLIENTS.len() {
        return Err(error(format!(
            "{} ballots: at most {} can be replayed",
            model_ballots.len(),
            CLIENTS.len()
        )));
    }
    let client_of = |ballot: i64| {
        let i = model_ballots.iter().position(|b| *b == ballot).unwrap_or(0);
        CLIENTS[i]
    };
    let value_of = |ballot: i64| {
        steps
            .iter()
            .find_map(|s| match &s.step {
                Move::Propose { ballot: b, value } if *b == ballot => Some(value.clone()),
                _ => None,
            })
            .unwrap_or_else(|| format!("b{ballot}"))
    };
    // Who acts on which ballot in the trace: the rest is dropped on the wire.
    let promises: BTreeSet<(String, i64)> = steps
        .iter()
        .filter_map(|s| match &s.step {
            Move::Promise { acceptor, ballot } => Some((acceptor.clone(), *ballot)),
            _ => None,
        })
        .collect();
    let accepts: BTreeSet<(String, i64)> = steps
        .iter()
        .filter_map(|s| match &s.step {
            Move::Accept {
                acceptor, ballot, ..
            } => Some((acceptor.clone(), *ballot)),
            _ => None,
        })
        .collect();
    for acceptor in promises.iter().chain(&accepts).map(|(a, _)| a) {
        cast.node(acceptor)?;
    }
    for ballot in &model_ballots {
        cast.proposer_of(*ballot)?;
    }

    let config = Config {
        round_timeout_ticks: PATIENCE_TICKS,
        ..config
    };
    let nodes = cast.nodes();
    let clients = &CLIENTS[..model_ballots.len().max(1)];
    let sim = Builder::new()
        .nodes(nodes.iter().copied())
        .clients(clients.iter().copied())
        .latency(Latency::Fixed(1))
        .client_timeout_ticks(PATIENCE_TICKS)
        .build(move |_| Paxos::new(config.clone()))?;
    let explorer = Explorer::default();
    let correct = explorer
        .variants()
        .into_iter()
        .next()
        .expect("a correct form");
    let observer = explorer.invariants(&correct).expect("paxos has invariants");
    let mut driver = Driver {
        sim,
        cast,
        observer,
        violations: Vec::new(),
        ballots: BTreeMap::new(),
        told: Vec::new(),
        proposed: BTreeMap::new(),
        scanned: 0,
        number: 1,
    };
    for node in &nodes {
        driver.inject(Fault::HoldSync {
            node: node.to_string(),
        })?;
        for other in nodes.iter().filter(|o| *o != node) {
            let (from, to) = (node.to_string(), other.to_string());
            driver.inject(Fault::Hold {
                from: from.clone(),
                to: to.clone(),
            })?;
            driver.sim.drop_kind(PaxosKind::Commit, node, other)?;
            driver.sim.drop_kind(PaxosKind::Nack, node, other)?;
        }
    }
    for (model, acceptor) in &cast.acceptors {
        for &ballot in &model_ballots {
            let proposer = cast.proposer_of(ballot)?;
            if proposer == acceptor {
                continue;
            }
            let key = (model.clone(), ballot);
            if !promises.contains(&key) {
                driver
                    .sim
                    .drop_kind(PaxosKind::Prepare, proposer, acceptor)?;
            }
            if !accepts.contains(&key) {
                driver
                    .sim
                    .drop_kind(PaxosKind::Accept, proposer, acceptor)?;
            }
        }
    }

    let mut played = Vec::new();
    let mut own_accepts: BTreeMap<i64, Command> = BTreeMap::new();
    for step in &steps {
        driver.number = step.number;
        let tick = driver.sim.now();
        let (outcome, followed) = match &step.step {
            Move::Prepare { ballot } => {
                let said = driver.begin(*ballot, &value_of(*ballot), client_of(*ballot))?;
                let own = driver.ballots[ballot];
                let proposer = cast.proposer_of(*ballot)?;
                let followed = driver.node(proposer)?.acceptor().promised == Some(own);
                (said, followed)
            }
            Move::Promise { acceptor, ballot } => {
                let mut said = String::new();
                if !driver.ballots.contains_key(ballot) {
                    // DurableDecision's prepares come from outside: start the ballot now.
                    said = driver.begin(*ballot, &value_of(*ballot), client_of(*ballot))?;
                    said.push_str("; ");
                }
                let node = cast.node(acceptor)?;
                let proposer = cast.proposer_of(*ballot)?;
                let rust = driver.ballot(*ballot)?;
                if node == proposer {
                    let followed = driver.node(node)?.acceptor().promised == Some(rust);
                    said.push_str(&format!(
                        "{node}'s own acceptor promised {rust} when the ballot began"
                    ));
                    (said, followed)
                } else {
                    let told_before = driver.told.len();
                    driver.deliver(&[(proposer, node)])?;
                    let promised = driver.node(node)?.acceptor().promised == Some(rust);
                    let answered = driver.told[told_before..]
                        .iter()
                        .any(|(n, k, _)| n == node && *k == "Promise");
                    said.push_str(&match (promised, answered) {
                        (true, true) => format!("{node} promises {rust} and answers at once"),
                        (true, false) => {
                            format!("{node} promises {rust}; its answer waits for its sync")
                        }
                        (false, _) => {
                            format!("{node} refuses {rust}: it {}", driver.promised(node))
                        }
                    });
                    (said, promised)
                }
            }
            Move::Propose { ballot, value } => {
                let proposer = cast.proposer_of(*ballot)?;
                let rust = driver.ballot(*ballot)?;
                let proposed = |d: &Driver| -> Result<Option<String>, ReplayError> {
                    Ok(d.node(proposer)?
                        .attempts()
                        .find(|(b, _)| *b == rust)
                        .and_then(|(_, v)| v.map(|p| p.command.to_string())))
                };
                if proposed(&driver)?.is_none() {
                    let promisers: Vec<&str> = steps
                        .iter()
                        .take_while(|s| s.number < step.number)
                        .filter_map(|s| match &s.step {
                            Move::Promise {
                                acceptor,
                                ballot: b,
                            } if b == ballot => cast.node(acceptor).ok(),
                            _ => None,
                        })
                        .filter(|n| *n != proposer)
                        .collect();
                    let links: Vec<(&str, &str)> =
                        promisers.iter().map(|n| (*n, proposer)).collect();
                    driver.deliver(&links)?;
                }
                let expected = Command::set("x", value).to_string();
                match proposed(&driver)? {
                    Some(command) => {
                        let own = driver.node(proposer)?.acceptor().accepted.as_ref();
                        if let Some(own) = own.filter(|a| a.ballot == rust) {
                            own_accepts.insert(*ballot, own.value.command.clone());
                        }
                        let followed = command == expected;
                        (format!("{proposer} proposes {command} in {rust}"), followed)
                    }
                    None => (
                        format!(
                            "{proposer} has no majority of promises for {rust}: nothing proposed"
                        ),
                        false,
                    ),
                }
            }
            Move::Accept {
                acceptor,
                ballot,
                value,
            } => {
                let node = cast.node(acceptor)?;
                let proposer = cast.proposer_of(*ballot)?;
                let rust = driver.ballot(*ballot)?;
                let expected = Command::set("x", value);
                if node == proposer {
                    let said = match own_accepts.get(ballot) {
                        Some(own) => format!(
                            "{node}'s own acceptor accepted {own} in {rust} when it proposed"
                        ),
                        None => format!("{node}'s own acceptor did not accept in {rust}"),
                    };
                    (said, own_accepts.get(ballot) == Some(&expected))
                } else {
                    driver.deliver(&[(proposer, node)])?;
                    let accepted = driver.node(node)?.acceptor().accepted.clone();
                    let followed = accepted
                        .as_ref()
                        .is_some_and(|a| a.ballot == rust && a.value.command == expected);
                    let said = if followed {
                        format!("{node} accepts {expected} in {rust}")
                    } else {
                        let holds = match &accepted {
                            Some(a) => format!("accepted {} in {}", a.value, a.ballot),
                            None => driver.promised(node),
                        };
                        format!("{node} does not accept {expected} in {rust}: it {holds}")
                    };
                    (said, followed)
                }
            }
            Move::Persist { acceptor } => {
                let node = cast.node(acceptor)?;
                driver.sync(node)?;
                (
                    format!("{node}'s sync completes: what waited for it leaves"),
                    true,
                )
            }
            Move::CrashAndRecover { acceptor } => {
                let node = cast.node(acceptor)?;
                driver.sim.crash(node)?;
                driver.sim.restart(node)?;
                driver.inject(Fault::HoldSync { node: node.into() })?;
                driver.advance(1);
                (
                    format!(
                        "{node} crashes and restarts from its disk: it {}",
                        driver.promised(node)
                    ),
                    true,
                )
            }
            Move::Crash { acceptor } => {
                let node = cast.node(acceptor)?;
                driver.sim.crash(node)?;
                driver.advance(1);
                (
                    format!("{node} crashes: its unsynced writes are lost"),
                    true,
                )
            }
            Move::Restart { acceptor } => {
                let node = cast.node(acceptor)?;
                driver.sim.restart(node)?;
                driver.inject(Fault::HoldSync { node: node.into() })?;
                driver.advance(1);
                (
                    format!(
                        "{node} restarts from its disk: it {}",
                        driver.promised(node)
                    ),
                    true,
                )
            }
        };
        // Every step gets its own tick, so that its note has a row of its own in a diagram.
        driver.advance(1);
        played.push(ReplayStep {
            number: step.number,
            action: step.action.clone(),
            tick,
            outcome,
            followed,
        });
    }
    Ok(Replay {
        sim: driver.sim,
        steps: played,
        violations: driver.violations,
        ballots: driver.ballots,
        acceptors: cast.acceptors.clone(),
    })
}

impl Replay {
    /// The first rule the Rust run broke, if any: TLC's state number and why.
    pub fn violation(&self) -> Option<&(usize, String)> {
        self.violations.first()
    }

    /// Whether the Rust run broke a rule whose description contains `rule`.
    pub fn broke(&self, rule: &str) -> bool {
        self.violations.iter().any(|(_, why)| why.contains(rule))
    }

    /// The model ballot a Rust ballot stands for.
    fn model_ballot(&self, ballot: Option<Ballot>) -> Option<i64> {
        match ballot {
            None => Some(0),
            Some(b) => self.ballots.iter().find(|(_, r)| **r == b).map(|(m, _)| *m),
        }
    }

    /// Whether `promised` is `node`'s own ballot.
    fn proposes_own(&self, node: &str, promised: Option<Ballot>) -> bool {
        let own = self.sim.id(node).ok();
        promised.is_some_and(|p| Some(p.node) == own && self.ballots.values().any(|b| *b == p))
    }

    /// Where the acceptors' final states differ from the trace's last state (Paxos.tla's
    /// `memory`, or DurableDecision.tla's `memPromised`): empty when the Rust run ended where the
    /// model did.
    pub fn differences(&self, trace: &Trace) -> Vec<String> {
        let Some(last) = trace.steps.last().map(|s| &s.state) else {
            return vec!["the trace has no state".to_string()];
        };
        let mut out = Vec::new();
        for (model, node) in &self.acceptors {
            let Ok(paxos) = self.sim.node(node) else {
                if last
                    .get("crashed")
                    .and_then(|c| c.get(model))
                    .and_then(Value::as_bool)
                    != Some(true)
                {
                    out.push(format!("{node} ({model}) is down, and up in the model"));
                }
                continue;
            };
            let state = paxos.acceptor();
            let mut promised = self.model_ballot(state.promised);
            if last.get("memPromised").is_some() && self.proposes_own(node, state.promised) {
                // DurableDecision's prepares come from outside its nodes; here a node sends them,
                // and its own acceptor promised its ballot at once.
                promised = Some(0);
            }
            let (expected_promise, expected_accept) =
                match (last.get("memory"), last.get("memPromised")) {
                    (Some(memory), _) => {
                        let record = memory.get(model);
                        let promised = record
                            .and_then(|r| r.get("promised"))
                            .and_then(Value::as_int);
                        let ballot = record
                            .and_then(|r| r.get("acceptedBallot"))
                            .and_then(Value::as_int);
                        let value = record
                            .and_then(|r| r.get("acceptedValue"))
                            .and_then(Value::as_name)
                            .map(str::to_string);
                        (promised, Some((ballot, value)))
                    }
                    (None, Some(promised)) => (promised.get(model).and_then(Value::as_int), None),
                    _ => {
                        return vec!["the trace is not of Paxos.tla or DurableDecision.tla".into()];
                    }
                };
            if promised != expected_promise {
                out.push(format!(
                    "{node} ({model}) {}, the model's ballot {:?}; the model says {:?}",
                    match state.promised {
                        Some(p) => format!("promised {p}"),
                        None => "promised nothing".into(),
                    },
                    promised,
                    expected_promise
                ));
            }
            if let Some((ballot, value)) = expected_accept {
                let rust = state.accepted.as_ref();
                let rust_ballot = self.model_ballot(rust.map(|a| a.ballot));
                let rust_value = rust.map(|a| match &a.value.command {
                    Command::Set { value, .. } => value.clone(),
                    other => other.to_string(),
                });
                let model_value = value.filter(|v| ballot != Some(0) || v != "NoValue");
                if rust_ballot != ballot || rust_value != model_value {
                    out.push(format!(
                        "{node} ({model}) accepted {:?} in ballot {:?}; the model says {:?} in {:?}",
                        rust_value, rust_ballot, model_value, ballot
                    ));
                }
            }
        }
        out
    }

    /// The run's trace without the holds and drop rules that paced it, with each model step
    /// noted on the node it moved: what a diagram of the replay draws.
    pub fn run_trace(&self) -> RunTrace {
        run_trace(&self.sim, &self.steps)
    }
}

impl fmt::Display for Replay {
    /// The steps as a table: TLC's state, the model's action, what the Rust nodes did.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&steps_table(&self.steps, &self.violations))
    }
}
