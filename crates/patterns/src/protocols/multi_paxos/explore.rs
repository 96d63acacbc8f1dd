//! `patterns explore multi-paxos` and `patterns explore multi-paxos-heartbeats`: Multi-Paxos under
//! the whole nemesis, with the log invariants of the Paxos family checked after every event
//! ([`LogWatch`]: one value per index, never changed; learn only what was chosen; one applied
//! prefix; one leader per ballot; a chosen entry survives every later leader) and every client
//! history judged against one compare-and-set register per key.

use super::{CommitRule, Committing, Config, Election, MultiPaxos, Timeouts};
use crate::check::{HistoryError, Report};
use crate::explore::{Explorable, Factory, Operations, Variant};
use crate::history::History;
use crate::protocols::paxos::Ballot;
use crate::protocols::paxos_log::{
    Command, Log, LogWatch, ReplicatedLog, check_kv_history, kv_operations,
};
use crate::sim::{Builder, ClientPolicy, Latency, NemesisConfig, Observer, RunPlan};

impl ReplicatedLog for MultiPaxos {
    fn log(&self) -> &Log {
        MultiPaxos::log(self)
    }

    fn leadership(&self) -> Option<Ballot> {
        self.leading()
    }

    fn leader_value(&self, index: u64) -> Option<&Command> {
        self.log.chosen(index).or_else(|| self.proposing(index))
    }
}

fn variant(name: &'static str, summary: &'static str, failing_seed: Option<u64>) -> Variant {
    Variant {
        name,
        summary,
        broken: failing_seed.is_some(),
        failing_seed,
    }
}

/// The variants both explorers share, after their correct form.
fn log_variants(seeds: [u64; 3]) -> Vec<Variant> {
    vec![
        variant(
            "no-index-advance",
            "the reference's new leader proposes new commands from index 1, over chosen entries",
            Some(seeds[0]),
        ),
        variant(
            "unconditional-commit",
            "a follower commits whatever it accepted at the index, from whichever ballot",
            Some(seeds[1]),
        ),
        variant(
            "no-recovery",
            "a new leader ignores accepted values and fills their indexes with no-ops",
            Some(seeds[2]),
        ),
        variant(
            "no-gap-fill",
            "a new leader leaves holes: nothing after one is ever applied (a liveness flaw, shown \
             by the lesson, not a safety one)",
            None,
        ),
    ]
}

/// Multi-Paxos for the explorer, in one of two forms:
/// - `multi-paxos` (section 05, [`Explorer::default`]): any node a client asks campaigns, so
///   leaders change often and every run recovers logs many times;
/// - `multi-paxos-heartbeats` (section 06, [`Explorer::heartbeats`]): leaders elected by short
///   random timeouts (heartbeats every 5 ticks, elections after 25 to 50 silent ticks, so that a
///   run of 300 ticks sees many elections, and partitions long enough to elect a second leader
///   while the first still believes it leads), deposed by higher ballots, clients redirected.
///
/// [`Explorer::with_commit_rule`] runs the correct form with another "which value does this
/// commit choose?" rule: a lesson's exercise plugs the learner's function in and replays a seed
/// that catches `unconditional-commit`.
#[derive(Copy, Clone, Debug, Default)]
pub struct Explorer {
    heartbeats: bool,
    commit_rule: Option<CommitRule>,
}

impl Explorer {
    /// Section 06: elections by heartbeat timeouts.
    pub fn heartbeats() -> Explorer {
        Explorer {
            heartbeats: true,
            commit_rule: None,
        }
    }

    /// The correct form of section 05 with `rule` deciding what a commit chooses.
    pub fn with_commit_rule(rule: CommitRule) -> Explorer {
        Explorer {
            heartbeats: false,
            commit_rule: Some(rule),
        }
    }

    pub fn config(&self, variant: &str) -> Config {
        let election = if self.heartbeats {
            Election::Heartbeats {
                interval_ticks: 5,
                timeouts: Timeouts::Random { min: 25, max: 50 },
            }
        } else {
            Election::OnRequest
        };
        let form = Config::default().election(election);
        let mut config = form.clone().variant(variant).unwrap_or(form);
        if let (Some(rule), "correct") = (self.commit_rule, variant) {
            config.committing = Committing::Rule(rule);
        }
        config
    }
}

/// The first failing seed of each broken variant (`patterns explore NAME --variant V` from seed
/// 0): section 05's, then section 06's.
const SEEDS_05: [u64; 3] = [0, 0, 0];
const SEEDS_06: [u64; 3] = [0, 110, 0];
const STALE_LEADER_READS_SEED: u64 = 683;

impl Explorable for Explorer {
    type Node = MultiPaxos;

    fn name(&self) -> &'static str {
        if self.heartbeats {
            "multi-paxos-heartbeats"
        } else {
            "multi-paxos"
        }
    }

    fn summary(&self) -> &'static str {
        if self.heartbeats {
            "Multi-Paxos with a leader elected by random timeouts and kept by heartbeats"
        } else {
            "a leader runs phase 1 once for every index, then one accept round per command"
        }
    }

    fn variants(&self) -> Vec<Variant> {
        if !self.heartbeats {
            let mut variants = vec![variant(
                "correct",
                "recover accepted values, fill holes with no-ops, propose past the log, commit by \
                 ballot",
                None,
            )];
            variants.extend(log_variants(SEEDS_05));
            return variants;
        }
        let mut variants = vec![
            variant(
                "correct",
                "heartbeats at an interval, random election timeouts, step down on a higher \
                 ballot, reads through the log",
                None,
            ),
            variant(
                "stale-leader-reads",
                "a leader answers reads from its own store: a deposed leader that does not know \
                 it answers with overwritten values",
                Some(STALE_LEADER_READS_SEED),
            ),
        ];
        variants.extend(log_variants(SEEDS_06));
        variants.push(variant(
            "name-sorted-timeouts",
            "the reference's stagger, 100 + 25 × rank: the same node always campaigns first (a \
             cost, not a safety flaw)",
            None,
        ));
        variants
    }

    fn builder(&self, _variant: &Variant) -> Builder {
        Builder::new()
            .clients(["alice", "bob", "carol", "dave"])
            .latency(Latency::Uniform { min: 1, max: 4 })
            .sync_latency_ticks(3)
            .client_policy(ClientPolicy {
                attempt_timeout_ticks: 150,
                attempts: 3,
                follow_redirects: true,
            })
    }

    fn node(&self, variant: &Variant) -> Factory<MultiPaxos> {
        let config = self.config(variant.name);
        Box::new(move |_| MultiPaxos::new(config.clone()))
    }

    fn operations(&self, _variant: &Variant) -> Operations<MultiPaxos> {
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

    fn invariants(&self, _variant: &Variant) -> Option<Observer<MultiPaxos>> {
        Some(LogWatch::observer())
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check_kv_history(history)
    }
}
