//! `patterns explore paxos`: single-value Paxos under the whole nemesis, with its invariants
//! checked after every event and every client history judged against a write-once register.

use super::{
    Accepted, Ballot, BallotRule, Command, Config, Paxos, Persistence, Proposal, Proposing, Record,
    ValueRule,
};
use crate::check::{self, HistoryError, Report, WriteOnce};
use crate::explore::{Explorable, Factory, Operations, Variant};
use crate::history::History;
use crate::node::majority;
use crate::sim::{Builder, Latency, NemesisConfig, Observer, RunPlan, Simulation};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// Single-value Paxos for the explorer. Its correct form faces every fault (loss, delay,
/// duplication, partitions, crashes that lose unsynced writes, torn writes, skew); syncs take
/// 3 ticks, so a crash often lands between an acceptor's write and its sync.
///
/// [`Explorer::with_value_rule`] runs the correct form with another "which value must I propose?"
/// rule: a lesson's exercise plugs the learner's function in and replays a seed that catches
/// `ignore-accepted`.
#[derive(Copy, Clone, Debug, Default)]
pub struct Explorer {
    value_rule: Option<ValueRule<Proposal>>,
}

impl Explorer {
    /// The correct form with `rule` deciding which value to propose.
    pub fn with_value_rule(rule: ValueRule<Proposal>) -> Explorer {
        Explorer {
            value_rule: Some(rule),
        }
    }

    /// The configuration of a variant.
    pub fn config(&self, variant: &str) -> Config {
        let correct = match self.value_rule {
            Some(rule) => Config::default().proposing(Proposing::Rule(rule)),
            None => Config::default(),
        };
        match variant {
            "reply-before-persist" => correct.persistence(Persistence::ReplyThenSync),
            "ignore-accepted" => correct.proposing(Proposing::OwnValue),
            "per-server-counter" => correct.ballots(BallotRule::PerServerCounter),
            _ => correct,
        }
    }
}

impl Explorable for Explorer {
    type Node = Paxos;

    fn name(&self) -> &'static str {
        "paxos"
    }

    fn summary(&self) -> &'static str {
        "single-value Paxos: durable acceptors, unique ballots, one decision"
    }

    fn variants(&self) -> Vec<Variant> {
        let variant = Variant::new;
        vec![
            variant(
                "correct",
                "promise strictly higher ballots, reply after the sync, propose the highest accepted value",
                false,
                None,
            ),
            variant(
                "reply-before-persist",
                "acceptors answer before their state is synced: a crash takes back a promise, two values are chosen",
                true,
                Some(REPLY_BEFORE_PERSIST_SEED),
            ),
            variant(
                "ignore-accepted",
                "the proposer proposes its own value even when an acceptor reports an accepted one",
                true,
                Some(IGNORE_ACCEPTED_SEED),
            ),
            variant(
                "per-server-counter",
                "the reference's ballots (1, 2, 3 per server, no server id): safe but burns attempts (a cost, not a safety flaw)",
                false,
                None,
            ),
        ]
    }

    fn builder(&self, _variant: &Variant) -> Builder {
        Builder::new()
            .clients(["alice", "bob", "carol", "dave"])
            .latency(Latency::Uniform { min: 1, max: 4 })
            .sync_latency_ticks(SYNC_TICKS)
            .client_timeout_ticks(400)
    }

    fn node(&self, variant: &Variant) -> Factory<Paxos> {
        let config = self.config(variant.name);
        Box::new(move |_| Paxos::new(config.clone()))
    }

    fn operations(&self, _variant: &Variant) -> Operations<Paxos> {
        // Few distinct commands, so that proposals repeat and collide.
        Box::new(|rng| match rng.random_range(0..5) {
            0 => Command::increment("n"),
            v => Command::set("x", &format!("v{v}")),
        })
    }

    fn plan(&self, _variant: &Variant) -> RunPlan {
        RunPlan {
            ticks: 150,
            settle_ticks: 1_000,
            // Every fault but clock skew (no rule here reads a clock). A crashed node is back
            // within 2–20 ticks, while the proposals it answered are still running.
            nemesis: Some(NemesisConfig {
                restart_after_ticks: (2, 20),
                clock_skew_millis_max: 0,
                ..NemesisConfig::everything()
            }),
        }
    }

    fn invariants(&self, _variant: &Variant) -> Option<Observer<Paxos>> {
        let mut ghost = Ghost::default();
        Some(Box::new(move |sim| ghost.check(sim)))
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check::linearizable(history, &WriteOnce)
    }
}

/// A slow disk: the longer a sync takes, the likelier a crash lands between an acceptor's write
/// and its sync, which is what `reply-before-persist` cannot survive.
const SYNC_TICKS: u64 = 5;

/// The first seed of `patterns explore paxos --variant reply-before-persist` that fails.
const REPLY_BEFORE_PERSIST_SEED: u64 = 6;
/// The first seed of `patterns explore paxos --variant ignore-accepted` that fails.
const IGNORE_ACCEPTED_SEED: u64 = 0;

/// Watches every acceptor's promises across its restarts: no acceptor promises a lower ballot
/// than one it promised before. A promise counts as made once it was told: when its answer left,
/// which is after the sync for an acceptor that syncs first, and at once for one that does not.
#[derive(Default)]
pub(crate) struct PromiseWatch {
    /// The highest promise each acceptor told.
    kept: Vec<Option<Ballot>>,
    /// The promise each acceptor held when last seen (`None` while it was down).
    last: Vec<Option<Option<Ballot>>>,
}

impl PromiseWatch {
    /// Acceptor `i` (`name`), whose durable records hold `durable` promises, holds `now` in memory
    /// (`None` while crashed), and tells its promises `at_once` or after the sync.
    pub(crate) fn observe(
        &mut self,
        (i, name): (usize, &str),
        durable: Option<Ballot>,
        now: Option<Option<Ballot>>,
        at_once: bool,
    ) -> Result<(), String> {
        if self.kept.len() <= i {
            self.kept.resize(i + 1, None);
            self.last.resize(i + 1, None);
        }
        self.kept[i] = self.kept[i].max(durable);
        let Some(now) = now else {
            self.last[i] = None;
            return Ok(());
        };
        let changed = self.last[i].is_none_or(|before| before != now);
        if let (true, Some(promised), Some(kept)) = (changed, now, self.kept[i]) {
            if promised < kept {
                return Err(format!(
                    "no acceptor promises a lower ballot than one it promised before: {name} had \
                     promised {kept}, and now holds {promised}"
                ));
            }
        }
        self.last[i] = Some(now);
        if at_once {
            self.kept[i] = self.kept[i].max(now);
        }
        Ok(())
    }
}

/// What the invariants remember across events (and across the nodes' restarts).
#[derive(Default)]
struct Ghost {
    /// Durable records already read, per node.
    records_read: Vec<usize>,
    /// Who told it accepted each (ballot, value): durably, or at once.
    accepted: BTreeMap<Accepted<Proposal>, BTreeSet<usize>>,
    /// Values known chosen, each with how it was found.
    chosen: Vec<(Proposal, String)>,
    /// What each node learned first.
    learned: Vec<Option<Proposal>>,
    promises: PromiseWatch,
}

impl Ghost {
    fn chose(&mut self, value: &Proposal, how: impl FnOnce() -> String) -> Result<(), String> {
        if self.chosen.iter().any(|(v, _)| v == value) {
            return Ok(());
        }
        self.chosen.push((value.clone(), how()));
        match self.chosen.as_slice() {
            [(first, why_first), (second, why_second), ..] => Err(format!(
                "at most one value is chosen: {first} ({why_first}) and {second} ({why_second})"
            )),
            _ => Ok(()),
        }
    }

    /// Chosen: accepted by a majority in one ballot.
    fn chosen_in(&self, value: &Proposal, quorum: usize) -> bool {
        self.accepted
            .iter()
            .any(|(a, who)| a.value == *value && who.len() >= quorum)
    }

    fn check(&mut self, sim: &Simulation<Paxos>) -> Result<(), String> {
        let names = sim.node_names();
        let n = names.len();
        let quorum = majority(n);
        if self.records_read.is_empty() {
            self.records_read = vec![0; n];
            self.learned = vec![None; n];
        }
        let mut fresh = false;
        for (i, node) in sim.nodes().enumerate() {
            let name = names[i].as_str();
            let storage = sim.storage(name).map_err(|e| e.to_string())?;
            let mut durable_promise = None;
            for bytes in &storage.durable_log()[self.records_read[i]..] {
                let Ok(record) = serde_json::from_slice::<Record>(bytes) else {
                    continue; // a record the node cannot read either
                };
                if let Some(a) = record.acceptor.accepted {
                    fresh |= self.accepted.entry(a).or_default().insert(i);
                }
                durable_promise = durable_promise.max(record.acceptor.promised);
            }
            self.records_read[i] = storage.durable_log().len();
            let at_once =
                node.is_some_and(|n| n.config().persistence != Persistence::SyncThenReply);
            let state = node.map(Paxos::acceptor);
            self.promises.observe(
                (i, name),
                durable_promise,
                state.map(|s| s.promised),
                at_once,
            )?;
            let Some(node) = node else { continue };
            if let (true, Some(a)) = (at_once, &node.acceptor().accepted) {
                fresh |= self.accepted.entry(a.clone()).or_default().insert(i);
            }
            let Some(value) = node.learned() else {
                continue;
            };
            match &self.learned[i] {
                Some(first) if first != value => {
                    return Err(format!(
                        "a chosen value never changes: {name} learned {first}, then {value}"
                    ));
                }
                Some(_) => continue,
                None => self.learned[i] = Some(value.clone()),
            }
            if !self.chosen_in(value, quorum) {
                return Err(format!(
                    "a learner learns only a chosen value: {name} learned {value}, which no \
                     majority accepted in one ballot"
                ));
            }
            self.chose(value, || format!("learned by {name}"))?;
        }
        if !fresh {
            return Ok(());
        }
        let chosen: Vec<(Proposal, String)> = self
            .accepted
            .iter()
            .filter(|(_, who)| who.len() >= quorum)
            .map(|(a, who)| {
                let who: Vec<&str> = who.iter().map(|&i| names[i].as_str()).collect();
                (
                    a.value.clone(),
                    format!("accepted in {} by {}", a.ballot, who.join(", ")),
                )
            })
            .collect();
        for (value, how) in chosen {
            self.chose(&value, || how)?;
        }
        Ok(())
    }
}
