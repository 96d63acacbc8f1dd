//! Exploration: `patterns explore two-phase-commit` and `three-phase-commit`, and the invariants
//! every step of every run must keep.

use super::async_coordinator::GetCoordinator;
use super::{
    AsyncServer, Config, Origin, Outcome, Record, Recovery, RecoveryRule, Replica, Server, TxId,
};
use crate::check::{self, Counter, HistoryError, Independent, Report};
use crate::explore::{Explorable, Factory, Operations, Variant};
use crate::history::History;
use crate::node::{Node, RequestId};
use crate::protocols::counter::CounterMix;
use crate::sim::{Builder, ClientPolicy, Latency, NemesisConfig, Observer, RunPlan, Simulation};
use std::collections::BTreeMap;

/// What the invariants remember across the events of a run (ghost state).
#[derive(Default)]
struct Ghost {
    /// Every committed version of every counter, as first seen: who made it, and its value.
    versions: BTreeMap<(String, u64), (Option<Origin>, i64)>,
    /// The version each transaction made, and each client request.
    transactions: BTreeMap<TxId, (String, u64)>,
    requests: BTreeMap<RequestId, (String, u64)>,
    /// Where each transaction was first seen committed, or aborted.
    committed: BTreeMap<TxId, String>,
    aborted: BTreeMap<TxId, String>,
}

impl Ghost {
    fn check(&mut self, server: &str, replica: &Replica) -> Result<(), String> {
        for (key, state) in replica.committed() {
            let Some(origin) = state.by else {
                continue;
            };
            let at = (key.clone(), state.version);
            let made = (Some(origin), state.value);
            let first = self.versions.entry(at.clone()).or_insert(made);
            if *first != made {
                return Err(format!(
                    "agreement: {server} committed version {} of {key} as {} = {}, another \
                     server as {} = {}",
                    state.version,
                    origin.tx,
                    state.value,
                    first.0.map_or("nothing".to_string(), |o| o.tx.to_string()),
                    first.1
                ));
            }
            let once = self.transactions.entry(origin.tx).or_insert(at.clone());
            if *once != at {
                return Err(format!(
                    "applied twice: {} made version {} of {} and version {} of {key}",
                    origin.tx, once.1, once.0, state.version
                ));
            }
            let once = self.requests.entry(origin.request).or_insert(at.clone());
            if *once != at {
                return Err(format!(
                    "applied twice: request {}#{} made version {} of {} and version {} of {key}",
                    origin.request.client.0, origin.request.sequence, once.1, once.0, state.version
                ));
            }
        }
        let decided = replica
            .decisions()
            .keys()
            .map(|tx| (tx, Outcome::Committed));
        let learnt = replica.outcomes().iter().map(|(tx, o)| (tx, *o));
        for (tx, outcome) in decided.chain(learnt) {
            let (mine, theirs) = match outcome {
                Outcome::Committed => (&mut self.committed, &self.aborted),
                Outcome::Aborted => (&mut self.aborted, &self.committed),
            };
            if let Some(other) = theirs.get(tx) {
                let (c, a) = match outcome {
                    Outcome::Committed => (server, other.as_str()),
                    Outcome::Aborted => (other.as_str(), server),
                };
                return Err(format!(
                    "atomicity: {tx} committed at {c} and aborted at {a}"
                ));
            }
            mine.entry(*tx).or_insert_with(|| server.to_string());
        }
        Ok(())
    }
}

/// The invariants of two- and three-phase commit, checked after every event:
/// - *agreement*: every server that commits a version of a counter commits the same transaction
///   and the same value;
/// - *applied once*: no transaction, and no client request, makes two versions;
/// - *atomicity*: no transaction is committed at one server and aborted at another.
///
/// That acknowledged increments are never lost is the history's part: it must be linearizable
/// against a counter.
///
/// A server is judged by what its disk holds: its durable log, replayed. What it holds only in
/// memory may still be lost in a crash, and nobody has heard of it, since every message that
/// depends on a write waits until the write is durable.
pub fn invariants<N: Node + 'static>() -> Observer<N> {
    let mut ghost = Ghost::default();
    // Each server as its disk knows it: its durable log, replayed as far as it has reached.
    let mut durable: BTreeMap<String, (usize, Replica)> = BTreeMap::new();
    Box::new(move |sim: &Simulation<N>| {
        for name in sim.node_names() {
            let Ok(storage) = sim.storage(name) else {
                continue;
            };
            let log = storage.durable_log();
            let (seen, replica) = durable
                .entry(name.clone())
                .or_insert_with(|| (0, Replica::new(Config::two_phase())));
            if *seen == log.len() {
                continue;
            }
            for entry in &log[*seen..] {
                if let Ok(record) = serde_json::from_slice::<Record>(entry) {
                    replica.remember(&record);
                }
            }
            *seen = log.len();
            ghost.check(name, replica)?;
        }
        Ok(())
    })
}

/// The cluster of every run: three servers, four clients that retry once at the next server,
/// latencies that vary so that messages overtake each other.
fn builder() -> Builder {
    Builder::new()
        .clients(["alice", "bob", "carol", "dave"])
        .latency(Latency::Uniform { min: 1, max: 4 })
        .client_policy(ClientPolicy {
            attempt_timeout_ticks: 80,
            attempts: 2,
            follow_redirects: true,
        })
}

/// Faults during 300 ticks (all of them: partitions, delays, loss, duplication, crashes that lose
/// unsynced writes); then a healed cluster has 1,000 ticks to finish every operation. Two-phase
/// blocks while a coordinator is down: it is judged for liveness only after the heal.
fn plan() -> RunPlan {
    RunPlan {
        ticks: 300,
        settle_ticks: 1_000,
        nemesis: Some(NemesisConfig::everything()),
    }
}

fn config(correct: &str, variant: &Variant) -> Config {
    let name = if variant.name == "correct" {
        correct
    } else {
        variant.name
    };
    Config::variant(name).expect("every listed variant has a form")
}

fn check_counter(history: &History) -> Result<Report, HistoryError> {
    check::linearizable(history, &Independent::new(Counter::default()))
}

/// `patterns explore two-phase-commit`.
pub struct TwoPhaseExplorer;

impl Explorable for TwoPhaseExplorer {
    type Node = Server;

    fn name(&self) -> &'static str {
        "two-phase-commit"
    }

    fn summary(&self) -> &'static str {
        "two-phase execution of a replicated counter: accept everywhere, commit on a majority"
    }

    fn variants(&self) -> Vec<Variant> {
        vec![
            Variant {
                name: "correct",
                summary: "majority of accepts, prepared operations lock, durable decision, \
                          presumed abort",
                broken: false,
                failing_seed: None,
            },
            Variant {
                name: "all-participants",
                summary: "the textbook's atomic commit: every participant must accept",
                broken: false,
                failing_seed: None,
            },
            Variant {
                name: "abort-alone",
                summary: "a prepared participant that waited too long aborts on its own \
                          (tla/BrokenTwoPhaseAbortAlone)",
                broken: true,
                failing_seed: Some(2),
            },
            Variant {
                name: "no-locks",
                summary: "participants accept everything at once: two increments decided on the \
                          same state",
                broken: true,
                failing_seed: Some(0),
            },
        ]
    }

    fn builder(&self, _: &Variant) -> Builder {
        builder()
    }

    fn node(&self, variant: &Variant) -> Factory<Server> {
        let config = config("two-phase", variant);
        Box::new(move |_| Server::new(config.clone()))
    }

    fn operations(&self, _: &Variant) -> Operations<Server> {
        Box::new(CounterMix::default().generator())
    }

    fn plan(&self, _: &Variant) -> RunPlan {
        plan()
    }

    fn invariants(&self, _: &Variant) -> Option<Observer<Server>> {
        Some(invariants())
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check_counter(history)
    }
}

/// `patterns explore three-phase-commit`.
pub struct ThreePhaseExplorer;

impl Explorable for ThreePhaseExplorer {
    type Node = Server;

    fn name(&self) -> &'static str {
        "three-phase-commit"
    }

    fn summary(&self) -> &'static str {
        "a phase zero completes what a dead coordinator left: recovery fenced by epochs"
    }

    fn variants(&self) -> Vec<Variant> {
        vec![
            Variant {
                name: "correct",
                summary: "a higher epoch from a majority, the highest-epoch proposal completed \
                          unchanged, then the client's own",
                broken: false,
                failing_seed: None,
            },
            Variant {
                name: "largest-id-recovery",
                summary: "the reference's stop-gap: re-run the pending operation with the \
                          largest id, drop the client's request",
                broken: true,
                failing_seed: Some(0),
            },
            Variant {
                name: "no-fencing",
                summary: "the right recovery rule without epochs that fence: two recoverers \
                          complete different operations",
                broken: true,
                failing_seed: Some(0),
            },
        ]
    }

    fn builder(&self, _: &Variant) -> Builder {
        builder()
    }

    fn node(&self, variant: &Variant) -> Factory<Server> {
        let config = config("three-phase", variant);
        Box::new(move |_| Server::new(config.clone()))
    }

    fn operations(&self, _: &Variant) -> Operations<Server> {
        Box::new(CounterMix::default().generator())
    }

    fn plan(&self, _: &Variant) -> RunPlan {
        plan()
    }

    fn invariants(&self, _: &Variant) -> Option<Observer<Server>> {
        Some(invariants())
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check_counter(history)
    }
}

/// The correct three-phase commit with another "which pending operation first?" rule: a lesson's
/// exercise plugs the learner's function in and replays seeds on which wrong rules fail.
pub struct RecoveryRuleExplorer(pub RecoveryRule);

impl Explorable for RecoveryRuleExplorer {
    type Node = Server;

    fn name(&self) -> &'static str {
        ThreePhaseExplorer.name()
    }

    fn summary(&self) -> &'static str {
        "three-phase commit with a recovery rule written in a lesson"
    }

    fn variants(&self) -> Vec<Variant> {
        ThreePhaseExplorer.variants()
    }

    fn builder(&self, _: &Variant) -> Builder {
        builder()
    }

    fn node(&self, _: &Variant) -> Factory<Server> {
        let config = Config {
            recovery: Recovery::Rule(self.0),
            ..Config::three_phase()
        };
        Box::new(move |_| Server::new(config.clone()))
    }

    fn operations(&self, _: &Variant) -> Operations<Server> {
        Box::new(CounterMix::default().generator())
    }

    fn plan(&self, _: &Variant) -> RunPlan {
        plan()
    }

    fn invariants(&self, _: &Variant) -> Option<Observer<Server>> {
        Some(invariants())
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check_counter(history)
    }
}

/// The correct two-phase commit on coroutines, its gets run by a coordinator written in a lesson
/// (`AsyncServer::with_get`): the exercise replays seeds on which wrong gets fail.
pub struct GetExplorer(pub GetCoordinator);

impl Explorable for GetExplorer {
    type Node = AsyncServer;

    fn name(&self) -> &'static str {
        TwoPhaseExplorer.name()
    }

    fn summary(&self) -> &'static str {
        "two-phase commit on coroutines with a get written in a lesson"
    }

    fn variants(&self) -> Vec<Variant> {
        TwoPhaseExplorer.variants()
    }

    fn builder(&self, _: &Variant) -> Builder {
        builder()
    }

    fn node(&self, _: &Variant) -> Factory<AsyncServer> {
        let get = self.0;
        Box::new(move |_| AsyncServer::with_get(Config::two_phase(), get))
    }

    fn operations(&self, _: &Variant) -> Operations<AsyncServer> {
        Box::new(CounterMix::default().generator())
    }

    fn plan(&self, _: &Variant) -> RunPlan {
        plan()
    }

    fn invariants(&self, _: &Variant) -> Option<Observer<AsyncServer>> {
        Some(invariants())
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check_counter(history)
    }
}

/// The same explorations on the coroutine coordinators ([`AsyncServer`]), to compare with the
/// state machine seed by seed: `AsyncExplorer(TwoPhaseExplorer.name())`. Not in the catalog: the
/// command line explores the state machine.
pub struct AsyncExplorer(pub &'static str);

impl Explorable for AsyncExplorer {
    type Node = AsyncServer;

    fn name(&self) -> &'static str {
        self.0
    }

    fn summary(&self) -> &'static str {
        "the same protocol, its coordinators as coroutines"
    }

    fn variants(&self) -> Vec<Variant> {
        match self.0 {
            "three-phase-commit" => ThreePhaseExplorer.variants(),
            _ => TwoPhaseExplorer.variants(),
        }
    }

    fn builder(&self, _: &Variant) -> Builder {
        builder()
    }

    fn node(&self, variant: &Variant) -> Factory<AsyncServer> {
        let correct = match self.0 {
            "three-phase-commit" => "three-phase",
            _ => "two-phase",
        };
        let config = config(correct, variant);
        Box::new(move |_| AsyncServer::new(config.clone()))
    }

    fn operations(&self, _: &Variant) -> Operations<AsyncServer> {
        Box::new(CounterMix::default().generator())
    }

    fn plan(&self, _: &Variant) -> RunPlan {
        plan()
    }

    fn invariants(&self, _: &Variant) -> Option<Observer<AsyncServer>> {
        Some(invariants())
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check_counter(history)
    }
}
