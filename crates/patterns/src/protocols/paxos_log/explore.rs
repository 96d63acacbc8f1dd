//! `patterns explore paxos-log`, and the invariants of every replicated log of the Paxos family
//! (the Paxos log and Multi-Paxos), checked after every event:
//! - **one value per index**: at most one command is ever chosen at an index (accepted by a
//!   majority in one ballot, durably), and it never changes;
//! - **learn only what was chosen**: a replica knows an index chosen only with the command a
//!   majority accepted there;
//! - **one prefix**: every replica applies the same command at each index of its prefix, so they
//!   all apply the same sequence in the same order;
//! - **one leader per generation**: no two replicas lead in the same ballot;
//! - **a committed entry survives every later leader**: a replica that has just become leader in
//!   ballot `b` holds, at every index chosen in a ballot below `b`, the command chosen there (a
//!   value chosen in a higher ballot, while its promises were on their way, it cannot know: its
//!   accepts will be refused).
//!
//! The client history is judged against independent compare-and-set registers, one per key.

use super::{Command, Config, Identity, Log, PaxosLog, Record, records};
use crate::check::{self, CasRegister, HistoryError, Independent, Report};
use crate::explore::{Explorable, Factory, Operations, Variant};
use crate::history::{History, Value};
use crate::node::{Node, majority};
use crate::protocols::kv::KvMix;
use crate::protocols::paxos::Ballot;
use crate::sim::{Builder, ClientPolicy, Latency, NemesisConfig, Observer, RunPlan, Simulation};
use std::collections::{BTreeMap, BTreeSet};

/// What the log invariants read from a replica.
pub trait ReplicatedLog {
    fn log(&self) -> &Log;

    /// The ballot this replica leads in, once its recovery is done (`None` when it does not lead,
    /// and always for a protocol without leaders).
    fn leadership(&self) -> Option<Ballot> {
        None
    }

    /// What this replica, as a leader, holds at `index`: chosen there, or being proposed.
    fn leader_value(&self, index: u64) -> Option<&Command> {
        self.log().chosen(index)
    }
}

impl ReplicatedLog for PaxosLog {
    fn log(&self) -> &Log {
        PaxosLog::log(self)
    }
}

/// Who accepted what, at one index in one ballot.
type Acceptances = Vec<(Command, BTreeSet<usize>)>;

/// The ghost state of the log invariants: what it has read from each replica's disk and seen of
/// each replica's memory, across restarts.
#[derive(Default)]
pub struct LogWatch {
    /// Durable records already read, per node.
    records_read: Vec<usize>,
    accepted: BTreeMap<(u64, Ballot), Acceptances>,
    /// The command chosen at each index, the lowest ballot it was chosen in, and how it was found.
    chosen: BTreeMap<u64, (Command, Ballot, String)>,
    /// Per node, the highest index whose known-chosen command was checked (reset when the node
    /// restarts and rebuilds its log).
    checked: Vec<u64>,
    /// The command each index was first applied with, and by whom.
    applied: BTreeMap<u64, (Command, String)>,
    leaders: BTreeMap<Ballot, usize>,
    leaderships_checked: BTreeSet<(usize, Ballot)>,
}

impl LogWatch {
    pub fn new() -> LogWatch {
        LogWatch::default()
    }

    /// The invariants as an observer for a run.
    pub fn observer<N: Node + ReplicatedLog + 'static>() -> Observer<N> {
        let mut watch = LogWatch::new();
        Box::new(move |sim| watch.check(sim))
    }

    /// The commands known chosen so far, by index.
    pub fn chosen(&self) -> impl Iterator<Item = (u64, &Command)> {
        self.chosen.iter().map(|(i, (c, _, _))| (*i, c))
    }

    fn record_chosen(
        &mut self,
        (index, ballot): (u64, Ballot),
        command: &Command,
        how: String,
    ) -> Result<(), String> {
        match self.chosen.get_mut(&index) {
            None => {
                self.chosen.insert(index, (command.clone(), ballot, how));
                Ok(())
            }
            Some((known, first, why)) if known == command => {
                if ballot < *first {
                    (*first, *why) = (ballot, how);
                }
                Ok(())
            }
            Some((known, _, why)) => Err(format!(
                "at most one value is chosen per index: [{index}] chose {known} ({why}), then \
                 {command} ({how})"
            )),
        }
    }

    /// Reads the records node `i` made durable since the last event.
    fn read_disk(&mut self, i: usize, durable: &[Vec<u8>], names: &[String]) -> Result<(), String> {
        let quorum = majority(names.len());
        let fresh = &durable[self.records_read[i].min(durable.len())..];
        self.records_read[i] = durable.len();
        for record in records(fresh) {
            let Record::Accept {
                index,
                ballot,
                command,
            } = record
            else {
                continue;
            };
            let slot = self.accepted.entry((index, ballot)).or_default();
            let who = match slot.iter_mut().find(|(c, _)| *c == command) {
                Some((_, who)) => who,
                None => {
                    slot.push((command.clone(), BTreeSet::new()));
                    &mut slot.last_mut().expect("pushed").1
                }
            };
            if who.insert(i) && who.len() == quorum {
                let by: Vec<&str> = who.iter().map(|&n| names[n].as_str()).collect();
                let how = format!("accepted in {ballot} by {}", by.join(", "));
                self.record_chosen((index, ballot), &command, how)?;
            }
        }
        Ok(())
    }

    /// Checks what node `i` knows chosen and has applied.
    fn check_replica(&mut self, i: usize, name: &str, log: &Log) -> Result<(), String> {
        if log.chosen_prefix() < self.checked[i] {
            self.checked[i] = 0; // restarted: its log was rebuilt from its disk
        }
        for index in self.checked[i] + 1..=log.chosen_prefix() {
            let command = log.chosen(index).expect("the prefix is chosen");
            if let Some((first, by)) = self.applied.get(&index) {
                if first != command {
                    return Err(format!(
                        "every replica applies the same prefix: [{index}] is {first} at {by} but \
                         {command} at {name}"
                    ));
                }
            } else {
                self.applied
                    .insert(index, (command.clone(), name.to_string()));
            }
            match self.chosen.get(&index) {
                Some((chosen, _, _)) if chosen == command => {}
                Some((chosen, _, how)) => {
                    return Err(format!(
                        "a replica learns only the chosen value: {name} took {command} for [{index}], \
                         where {chosen} was chosen ({how})"
                    ));
                }
                None => {
                    return Err(format!(
                        "a replica learns only the chosen value: {name} took {command} for [{index}], \
                         which no majority accepted in one ballot"
                    ));
                }
            }
        }
        self.checked[i] = log.chosen_prefix();
        Ok(())
    }

    fn check_leader(
        &mut self,
        i: usize,
        name: &str,
        node: &impl ReplicatedLog,
    ) -> Result<(), String> {
        let Some(ballot) = node.leadership() else {
            return Ok(());
        };
        if let Some(&other) = self.leaders.get(&ballot) {
            if other != i {
                return Err(format!(
                    "at most one leader per generation: {name} and replica {other} both lead {ballot}"
                ));
            }
        }
        self.leaders.insert(ballot, i);
        if !self.leaderships_checked.insert((i, ballot)) {
            return Ok(());
        }
        let earlier = self
            .chosen
            .iter()
            .filter(|(_, (_, first, _))| *first < ballot);
        for (index, (command, _, how)) in earlier {
            let held = node.leader_value(*index);
            if held != Some(command) {
                let held = held.map_or("nothing".to_string(), |c| c.to_string());
                return Err(format!(
                    "a committed entry survives every later leader: [{index}] chose {command} \
                     ({how}), but {name}, leader in {ballot}, holds {held} there"
                ));
            }
        }
        Ok(())
    }

    /// Checks the cluster after an event.
    pub fn check<N: Node + ReplicatedLog>(&mut self, sim: &Simulation<N>) -> Result<(), String> {
        let names = sim.node_names();
        if self.records_read.len() < names.len() {
            self.records_read.resize(names.len(), 0);
            self.checked.resize(names.len(), 0);
        }
        for (i, name) in names.iter().enumerate() {
            let storage = sim.storage(name).map_err(|e| e.to_string())?;
            self.read_disk(i, storage.durable_log(), names)?;
        }
        for (i, node) in sim.nodes().enumerate() {
            let name = names[i].as_str();
            let Some(node) = node else {
                self.checked[i] = 0;
                continue;
            };
            self.check_replica(i, name, node.log())?;
            self.check_leader(i, name, node)?;
        }
        Ok(())
    }
}

/// Judges a key-value history: independent compare-and-set registers, one per key.
pub fn check_kv_history(history: &History) -> Result<Report, HistoryError> {
    check::linearizable(history, &Independent::new(CasRegister::new(Value::Nil)))
}

/// Random key-value operations with small domains: two keys, four values, and compare-and-sets,
/// so that writes repeat and two clients' operations are often equal.
pub fn kv_operations() -> KvMix {
    KvMix {
        keys: 2,
        values: 4,
        reads: 2,
        writes: 2,
        cas: 1,
    }
}

/// The Paxos log for the explorer. Its correct form faces every fault (loss, delay, duplication,
/// partitions, crashes that lose unsynced writes, torn writes, clock skew); syncs take 3 ticks, so
/// a crash often lands between an acceptor's write and its sync.
///
/// [`Explorer::with_identity`] runs the correct form with another "was the chosen value mine?"
/// rule: a lesson's exercise plugs the learner's function in and replays a seed that catches
/// `structural-identity`.
#[derive(Copy, Clone, Debug, Default)]
pub struct Explorer {
    identity: Option<Identity>,
}

impl Explorer {
    /// The correct form with `identity` recognising a proposer's own value.
    pub fn with_identity(identity: Identity) -> Explorer {
        Explorer {
            identity: Some(identity),
        }
    }

    /// The configuration of a variant.
    pub fn config(&self, variant: &str) -> Config {
        let config = Config::variant(variant).unwrap_or_default();
        match (variant, self.identity) {
            ("correct", Some(identity)) => config.identity(identity),
            _ => config,
        }
    }
}

/// The first seed of `patterns explore paxos-log --variant structural-identity` that fails.
const STRUCTURAL_IDENTITY_SEED: u64 = 165;

impl Explorable for Explorer {
    type Node = PaxosLog;

    fn name(&self) -> &'static str {
        "paxos-log"
    }

    fn summary(&self) -> &'static str {
        "one Paxos instance per log index; reads, writes and compare-and-sets through the log"
    }

    fn variants(&self) -> Vec<Variant> {
        vec![
            Variant {
                name: "correct",
                summary: "start at the first index not known chosen, identity by request id, \
                          durable acceptors",
                broken: false,
                failing_seed: None,
            },
            Variant {
                name: "walk-from-start",
                summary: "the reference's start: every request runs both phases again at every \
                          index from 1 (a cost that grows with the log, not a safety flaw)",
                broken: false,
                failing_seed: None,
            },
            Variant {
                name: "structural-identity",
                summary: "the reference's identity: a proposer takes another client's equal \
                          command for its own and answers for an operation that never ran",
                broken: true,
                failing_seed: Some(STRUCTURAL_IDENTITY_SEED),
            },
        ]
    }

    fn builder(&self, _variant: &Variant) -> Builder {
        Builder::new()
            .clients(["alice", "bob", "carol", "dave"])
            .latency(Latency::Uniform { min: 1, max: 4 })
            .sync_latency_ticks(3)
            .client_policy(ClientPolicy {
                attempt_timeout_ticks: 150,
                attempts: 2,
                follow_redirects: true,
            })
    }

    fn node(&self, variant: &Variant) -> Factory<PaxosLog> {
        let config = self.config(variant.name);
        Box::new(move |_| PaxosLog::new(config.clone()))
    }

    fn operations(&self, _variant: &Variant) -> Operations<PaxosLog> {
        Box::new(kv_operations().generator())
    }

    fn plan(&self, _variant: &Variant) -> RunPlan {
        RunPlan {
            ticks: 300,
            settle_ticks: 1_500,
            nemesis: Some(NemesisConfig {
                restart_after_ticks: (2, 30),
                ..NemesisConfig::everything()
            }),
        }
    }

    fn invariants(&self, _variant: &Variant) -> Option<Observer<PaxosLog>> {
        Some(LogWatch::observer())
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check_kv_history(history)
    }
}
