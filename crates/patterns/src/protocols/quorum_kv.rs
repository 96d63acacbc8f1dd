//! # Quorum reads and writes, versioned values, read repair
//!
//! *Patterns of Distributed Systems*: **Quorum**, **Versioned Value**, and Dynamo's **read repair**
//! (DeCandia et al., "Dynamo", SOSP 2007, §4.5–4.7). Reference: spec §2.4.
//!
//! Every node stores every key. A client sends its request to one node, the *coordinator*, which
//! asks every replica (itself included) and answers once a quorum has: W replicas for a write,
//! R for a read. If R + W > N, every read quorum meets every write quorum in at least one replica,
//! so a read sees the latest acknowledged write... provided "latest" means something. Here a version
//! is the coordinator's wall-clock timestamp (last write wins), ties broken by the coordinator's id
//! and then by the coordinator's own write counter, so that every write has a version of its own;
//! a node with a fast clock wins races it should lose. Quorums alone are also not
//! linearizable: two reads during one write can see new-then-old. The lesson's scenarios show both.
//!
//! The rule in one sentence: a replica keeps a value only if its version is newer than the one it
//! holds ([`supersedes`]), and a reader answers with the newest version a quorum reported
//! ([`latest`]).
//!
//! Switches ([`Config`]) give the correct form and the classic broken variants: R and W (R + W ≤ N
//! gives stale reads), read repair off / asynchronous / synchronous, how a failed write is
//! reported ([`WriteFailure`]), and where versions come from ([`Versioning`]): the wall clock, or
//! a read of the highest version from a quorum before every write (ABD), which together with
//! majority quorums and synchronous read repair makes the store linearizable.
//!
//! The coordinator exists twice: as the state machine below, and as straight-line `async` code in
//! [`async_coordinator`] ([`AsyncQuorumKv`]). Both share the replica side and every rule.
//!
//! A replica acknowledges a write it did not apply because it already holds a newer version: the
//! newer version wins in the end anyway, which is what last-write-wins means, so the
//! acknowledgement counts toward W. The lesson shows what that costs: a write acknowledged to its
//! client can be silently overwritten by a concurrent write with a larger timestamp.
//!
//! Durability: a replica acknowledges a write, and answers a read, only once what it reports is on
//! its disk, so a crash can never take back a value a quorum was told about.
//!
//! Fixed from the reference (spec §5.2 item 3): read repair writes only to replicas that answered
//! with an older value or did not answer yet, not to every node; ties between equal timestamps are
//! broken by coordinator id and write counter instead of keeping whichever arrived first; a round
//! that does not reach its quorum fails at its own deadline, well before the client's; a read whose
//! synchronous repair did not reach W replicas in time fails instead of answering as if repaired;
//! and a failed write is reported as "may have been applied" unless the reference's behaviour is
//! asked for.

pub mod async_coordinator;

pub use async_coordinator::AsyncQuorumKv;

use super::kv::{KvMix, KvOp, KvReply};
use crate::check::{self, HistoryError, Independent, Register, Report};
use crate::explore::{Explorable, Factory, Operations, Variant};
use crate::history::{History, Value};
use crate::message_kinds;
use crate::node::{
    Context, Correlation, Node, Pending, ProcessId, Quorum, QuorumState, RequestId, Tick, majority,
};
use crate::sim::{Builder, Latency, NemesisConfig, RunPlan};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

// ----- versions ------------------------------------------------------------------------------------

/// The version of a value: the coordinator's clock when the write started, then its id, then its
/// write counter. Ordering compares the timestamp first: last write (by wall clock) wins. The
/// counter makes every write's version unique, even two writes through one coordinator in the
/// same millisecond, which would otherwise tie and leave replicas holding different values under
/// the same version forever.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    pub timestamp_millis: i64,
    pub coordinator: ProcessId,
    /// Counts the coordinator's writes; a restarted coordinator starts above every number of its
    /// earlier lives (its incarnation is the high 32 bits).
    pub counter: u64,
}

/// A value with its version (the *Versioned Value* pattern).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned {
    pub value: String,
    pub version: Version,
}

// ----- configuration -------------------------------------------------------------------------------

/// When a read repairs stale replicas.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadRepair {
    /// Never: replicas that missed a write stay stale until the next write of the key.
    Off,
    /// Answer the client at once, repair in the background.
    Async,
    /// Repair first: answer only once a write quorum holds the value read, so no later read can
    /// return an older one (the fix for new-then-old reads).
    Sync,
}

/// What a coordinator tells the client when a write does not reach its quorum.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteFailure {
    /// "Failed, and it may still take effect": true, since some replicas may have stored it.
    /// Histories record `:info`.
    Indeterminate,
    /// "Failed": what the reference answers. It promises the write did not happen, which is false
    /// when a minority stored it; histories record `:fail`, and a checker holds the store to it.
    Definite,
}

/// The knobs of a quorum store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// N: every node is a replica of every key.
    pub replicas: usize,
    /// R: replies a read waits for.
    pub read_quorum: usize,
    /// W: acknowledgements a write waits for.
    pub write_quorum: usize,
    pub read_repair: ReadRepair,
    pub write_failure: WriteFailure,
    /// How long a coordinator waits for a quorum. Keep it below the client's timeout so that a
    /// client hears "failed" rather than nothing.
    pub round_timeout_ticks: Tick,
    /// Where a write's version comes from (default: the coordinator's wall clock).
    #[serde(default)]
    pub versioning: Versioning,
    /// The last-write-wins rules, when a lesson stands its own in for [`supersedes`] and
    /// [`latest`] (None: the crate's). Not serialised: functions are not data.
    #[serde(skip)]
    pub rules: Option<Rules>,
}

/// A configuration that cannot work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid quorum configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Majority reads and writes on `replicas` nodes, no read repair, honest failures.
    pub fn majority(replicas: usize) -> Config {
        Config {
            replicas,
            read_quorum: majority(replicas),
            write_quorum: majority(replicas),
            read_repair: ReadRepair::Off,
            write_failure: WriteFailure::Indeterminate,
            round_timeout_ticks: 30,
            versioning: Versioning::WallClock,
            rules: None,
        }
    }

    /// Sets R and W, checked against N.
    pub fn quorums(
        mut self,
        read_quorum: usize,
        write_quorum: usize,
    ) -> Result<Config, ConfigError> {
        for (name, q) in [("R", read_quorum), ("W", write_quorum)] {
            if q == 0 || q > self.replicas {
                return Err(ConfigError(format!(
                    "{name} = {q} must be between 1 and N = {}",
                    self.replicas
                )));
            }
        }
        self.read_quorum = read_quorum;
        self.write_quorum = write_quorum;
        Ok(self)
    }

    pub fn read_repair(mut self, mode: ReadRepair) -> Config {
        self.read_repair = mode;
        self
    }

    pub fn write_failure(mut self, mode: WriteFailure) -> Config {
        self.write_failure = mode;
        self
    }

    pub fn round_timeout_ticks(mut self, ticks: Tick) -> Config {
        self.round_timeout_ticks = ticks;
        self
    }

    pub fn versioning(mut self, versioning: Versioning) -> Config {
        self.versioning = versioning;
        self
    }

    /// Runs the store on `rules` instead of the crate's [`supersedes`] and [`latest`]: a lesson's
    /// exercise runs the crate's scenarios on the learner's version of the rules.
    pub fn rules(mut self, rules: Rules) -> Config {
        self.rules = Some(rules);
        self
    }

    /// Whether a replica holding `current` stores `incoming`, by this store's rules.
    fn supersedes(&self, incoming: &Version, current: Option<&Version>) -> bool {
        match &self.rules {
            None => supersedes(incoming, current),
            Some(rules) => (rules.supersedes)(incoming, current),
        }
    }

    /// The newest value among a quorum's replies, by this store's rules.
    fn latest<'a>(
        &self,
        replies: impl IntoIterator<Item = &'a Option<Versioned>>,
    ) -> Option<Versioned> {
        match &self.rules {
            None => latest(replies).cloned(),
            Some(rules) => {
                let replies: Vec<Option<Versioned>> = replies.into_iter().cloned().collect();
                (rules.latest)(&replies).cloned()
            }
        }
    }
}

// ----- messages ------------------------------------------------------------------------------------

/// Coordinator ↔ replica messages (the reference's INTERNAL_GET/SET requests and responses).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicaMessage {
    Get {
        correlation: Correlation,
        key: String,
    },
    GetOk {
        correlation: Correlation,
        stored: Option<Versioned>,
    },
    Set {
        correlation: Correlation,
        key: String,
        value: Versioned,
    },
    SetOk {
        correlation: Correlation,
        applied: bool,
    },
}

message_kinds!(ReplicaMessage => ReplicaKind { Get, GetOk, Set, SetOk });

// ----- rules ---------------------------------------------------------------------------------------

/// May a replica holding `current` store a write of version `incoming`? Only if it is strictly
/// newer: a repair that carries an old version can never roll a replica back.
pub fn supersedes(incoming: &Version, current: Option<&Version>) -> bool {
    current.is_none_or(|c| incoming > c)
}

/// The newest value among a quorum's replies.
pub fn latest<'a>(
    replies: impl IntoIterator<Item = &'a Option<Versioned>>,
) -> Option<&'a Versioned> {
    replies.into_iter().flatten().max_by_key(|v| v.version)
}

/// The two rules of last-write-wins as values, so that a lesson can stand its own version in for
/// the crate's ([`Config::rules`]) and hold it to the crate's own tables ([`Rules::check`]).
#[derive(Copy, Clone)]
pub struct Rules {
    /// May a replica holding the second version store a write of the first? ([`supersedes`])
    pub supersedes: fn(&Version, Option<&Version>) -> bool,
    /// The newest value among a quorum's replies ([`latest`]).
    pub latest: fn(&[Option<Versioned>]) -> Option<&Versioned>,
}

impl Rules {
    /// The crate's rules.
    pub fn crate_rules() -> Rules {
        Rules {
            supersedes,
            latest: |replies| latest(replies),
        }
    }

    /// Runs every case of [`supersedes_cases`] and [`latest_cases`]: how many passed, or the first
    /// one these rules get wrong, said as a hint.
    pub fn check(&self) -> Result<usize, String> {
        let show = |v: &Version| {
            format!(
                "({} ms, node {}, write {})",
                v.timestamp_millis, v.coordinator.0, v.counter
            )
        };
        let mut passed = 0;
        for (incoming, current, expected) in supersedes_cases() {
            if (self.supersedes)(&incoming, current.as_ref()) != expected {
                return Err(format!(
                    "supersedes({}, {}) should be {expected}",
                    show(&incoming),
                    current.as_ref().map_or("None".to_string(), &show),
                ));
            }
            passed += 1;
        }
        for (replies, expected) in latest_cases() {
            let got = (self.latest)(&replies);
            if got != expected.as_ref() {
                let listed: Vec<String> = replies
                    .iter()
                    .map(|r| match r {
                        None => "None".to_string(),
                        Some(v) => format!("{:?} {}", v.value, show(&v.version)),
                    })
                    .collect();
                return Err(format!(
                    "latest([{}]) should be {:?}, not {:?}",
                    listed.join(", "),
                    expected.map(|v| v.value),
                    got.map(|v| &v.value)
                ));
            }
            passed += 1;
        }
        Ok(passed)
    }
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rules { .. }")
    }
}

impl PartialEq for Rules {
    fn eq(&self, other: &Rules) -> bool {
        std::ptr::fn_addr_eq(self.supersedes, other.supersedes)
            && std::ptr::fn_addr_eq(self.latest, other.latest)
    }
}

impl Eq for Rules {}

fn case_version(timestamp_millis: i64, coordinator: u16, counter: u64) -> Version {
    Version {
        timestamp_millis,
        coordinator: ProcessId(coordinator),
        counter,
    }
}

/// What [`supersedes`] must answer: (incoming, current, stored?). The crate's tests and the
/// lesson's exercise run the same table.
pub fn supersedes_cases() -> Vec<(Version, Option<Version>, bool)> {
    let v = case_version;
    vec![
        (v(10, 0, 1), None, true),               // nothing stored yet
        (v(10, 0, 1), Some(v(9, 2, 1)), true),   // a later clock wins
        (v(10, 0, 1), Some(v(10, 0, 1)), false), // a repair or duplicate of the same write
        (v(10, 1, 1), Some(v(10, 0, 1)), true),  // equal clocks: the higher coordinator id
        (v(10, 0, 1), Some(v(10, 1, 1)), false), // ... so the lower one loses
        (v(10, 0, 2), Some(v(10, 0, 1)), true),  // one coordinator, one millisecond: its counter
        (v(9, 2, 1), Some(v(10, 0, 1)), false), // an older (or skewed-clock) write never rolls back
        (v(9, 0, 7), Some(v(10, 0, 1)), false), // ... whatever its counter
    ]
}

/// What [`latest`] must answer: (a quorum's replies, the newest value among them). The crate's
/// tests and the lesson's exercise run the same table.
pub fn latest_cases() -> Vec<(Vec<Option<Versioned>>, Option<Versioned>)> {
    let at = |value: &str, version: Version| Versioned {
        value: value.to_string(),
        version,
    };
    let v = case_version;
    let (old, new) = (at("old", v(10, 0, 1)), at("new", v(20, 0, 2)));
    let (low, high) = (
        at("from node 0", v(30, 0, 1)),
        at("from node 2", v(30, 2, 1)),
    );
    let (first, second) = (at("first", v(40, 1, 1)), at("second", v(40, 1, 2)));
    vec![
        (vec![], None),
        (vec![None, None], None),
        (vec![None, Some(old.clone())], Some(old.clone())),
        (
            vec![Some(new.clone()), Some(old.clone()), None],
            Some(new.clone()),
        ),
        (
            vec![Some(old.clone()), None, Some(new.clone())],
            Some(new.clone()),
        ),
        (
            vec![Some(high.clone()), Some(low.clone())],
            Some(high.clone()),
        ),
        (vec![Some(low), Some(high.clone())], Some(high)),
        (vec![Some(second.clone()), Some(first)], Some(second)),
    ]
}

/// Whether every read quorum shares a replica with every write quorum: R + W > N.
pub fn quorums_overlap(replicas: usize, read_quorum: usize, write_quorum: usize) -> bool {
    read_quorum + write_quorum > replicas
}

/// Whether a replica that answered a read with `stored` needs the read's newest version: it has
/// no value or an older one. Replicas that did not answer are not repaired (they may be down); a
/// later read will find them.
pub fn needs_repair(stored: Option<&Versioned>, latest: &Version) -> bool {
    stored.is_none_or(|v| v.version < *latest)
}

// ----- the node ------------------------------------------------------------------------------------

/// What a coordinator waits for.
#[derive(Clone, Debug)]
enum Round {
    Write {
        request: RequestId,
        quorum: Quorum<()>,
    },
    /// A read stays open after it has its R replies, to repair replicas whose (possibly late)
    /// replies show them stale, and, with synchronous repair, to answer only once W replicas hold
    /// the value read.
    Read(ReadRound),
    /// Read-before-write versioning: the highest version a read quorum holds, before the write.
    Query(VersionQuery),
}

#[derive(Clone, Debug)]
struct ReadRound {
    /// The client, until answered.
    request: Option<RequestId>,
    key: String,
    replies: BTreeMap<ProcessId, Option<Versioned>>,
    /// The newest value among the first R replies: what the client is told.
    latest: Option<Option<Versioned>>,
    /// Replicas known to hold `latest`: they said so, or acknowledged its repair.
    holders: BTreeSet<ProcessId>,
    /// Replicas sent a repair, not yet acknowledged.
    repairing: BTreeSet<ProcessId>,
}

/// A replica, and the coordinator of the requests its clients send it.
#[derive(Clone, Debug)]
pub struct QuorumKv {
    config: Config,
    /// Replica state: the newest version of each key this node has seen.
    store: BTreeMap<String, Versioned>,
    /// Coordinator state: rounds in flight, by correlation id.
    rounds: Pending<Round>,
    /// The last write counter this coordinator gave out.
    counter: u64,
}

const STORAGE_PREFIX: &str = "kv/";

impl QuorumKv {
    pub fn new(config: Config) -> QuorumKv {
        QuorumKv {
            config,
            store: BTreeMap::new(),
            rounds: Pending::new(),
            counter: 0,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The value and version this replica holds for `key`.
    pub fn versioned(&self, key: &str) -> Option<&Versioned> {
        self.store.get(key)
    }

    /// The value this replica holds for `key`.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.store.get(key).map(|v| v.value.as_str())
    }

    /// Rounds this node coordinates that have not finished.
    pub fn rounds_in_flight(&self) -> usize {
        self.rounds.len()
    }

    fn start_round(&mut self, ctx: &mut Context<'_, Self>, round: Round) -> Correlation {
        self.rounds
            .insert(ctx, self.config.round_timeout_ticks, round)
    }

    /// Sends to every replica, itself included.
    fn ask_all(&self, ctx: &mut Context<'_, Self>, message: ReplicaMessage) {
        ctx.broadcast(message.clone());
        ctx.send(ctx.id(), message);
    }

    fn finish(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) -> Option<Round> {
        self.rounds.remove(ctx, correlation)
    }

    pub(crate) fn write_failed(&self, reason: &str) -> KvReply {
        KvReply::Failed {
            reason: reason.to_string(),
            maybe_applied: self.config.write_failure == WriteFailure::Indeterminate,
        }
    }

    /// A replica answered a read (or acknowledged its repair): decide the value once R replies are
    /// in, repair whoever is stale, answer when the repair mode allows, close when nothing is left.
    fn read_progress(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        let (read_quorum, write_quorum, mode) = (
            self.config.read_quorum,
            self.config.write_quorum,
            self.config.read_repair,
        );
        let Some(Round::Read(round)) = self.rounds.get_mut(correlation) else {
            return;
        };
        if round.latest.is_none() && round.replies.len() >= read_quorum {
            round.latest = Some(self.config.latest(round.replies.values()));
        }
        let Some(decided) = round.latest.clone() else {
            return;
        };
        let value = decided.as_ref().map(|v| v.value.clone());
        let mut answer = true;
        if let (Some(newest), true) = (&decided, mode != ReadRepair::Off) {
            for (node, stored) in &round.replies {
                if round.holders.contains(node) || round.repairing.contains(node) {
                    continue;
                }
                if needs_repair(stored.as_ref(), &newest.version) {
                    ctx.annotate(format!("read repair of {} → #{}", round.key, node.0));
                    let repair = ReplicaMessage::Set {
                        correlation,
                        key: round.key.clone(),
                        value: newest.clone(),
                    };
                    ctx.send(*node, repair);
                    round.repairing.insert(*node);
                } else {
                    round.holders.insert(*node);
                }
            }
            answer = mode == ReadRepair::Async || round.holders.len() >= write_quorum;
        }
        if answer {
            if let Some(request) = round.request.take() {
                ctx.reply(request, KvReply::Value(value));
            }
        }
        let everyone_answered = round.replies.len() == ctx.cluster_size();
        let repaired = round.repairing.is_empty();
        if round.request.is_none() && (mode == ReadRepair::Off || (everyone_answered && repaired)) {
            self.finish(ctx, correlation);
        }
    }

    fn on_deadline(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        let Some(round) = self.rounds.take_expired(correlation) else {
            return;
        };
        match round {
            Round::Write { request, .. } => {
                ctx.annotate("write quorum timed out");
                let reply = self.write_failed("no write quorum before the deadline");
                ctx.reply(request, reply);
            }
            Round::Read(ReadRound {
                request: Some(request),
                latest: None,
                ..
            }) => {
                ctx.annotate("read quorum timed out");
                let reason = "no read quorum before the deadline".to_string();
                ctx.reply(
                    request,
                    KvReply::Failed {
                        reason,
                        maybe_applied: false,
                    },
                );
            }
            Round::Read(ReadRound {
                request: Some(_),
                latest: Some(_),
                ..
            }) if self.config.read_repair == ReadRepair::Sync => {
                // Answering now would break synchronous repair's promise (no later read returns
                // anything older): fewer than W replicas are known to hold the value read.
                ctx.annotate("read repair incomplete");
                let reason = "read repair did not reach a write quorum before the deadline";
                if let Round::Read(ReadRound {
                    request: Some(request),
                    ..
                }) = round
                {
                    ctx.reply(
                        request,
                        KvReply::Failed {
                            reason: reason.to_string(),
                            maybe_applied: false,
                        },
                    );
                }
            }
            Round::Read(_) => {}
            Round::Query(query) => {
                ctx.annotate("version query timed out");
                let reason = "no read quorum for the version before the deadline".to_string();
                // Nothing was written yet: the write certainly did not happen.
                let reply = KvReply::Failed {
                    reason,
                    maybe_applied: false,
                };
                ctx.reply(query.request, reply);
            }
        }
    }

    /// A (re)started replica: its store is what its disk holds; its write counter starts above
    /// every number an earlier life used.
    pub(crate) fn recover<N: Node>(&mut self, ctx: &mut Context<'_, N>) {
        self.counter = ctx.incarnation() << 32;
        let keys: Vec<String> = ctx
            .storage()
            .keys(STORAGE_PREFIX)
            .into_iter()
            .filter_map(|k| k.strip_prefix(STORAGE_PREFIX).map(str::to_string))
            .collect();
        for key in keys {
            match ctx
                .storage()
                .get_json::<Versioned>(&format!("{STORAGE_PREFIX}{key}"))
            {
                Ok(Some(v)) => {
                    self.store.insert(key, v);
                }
                Ok(None) => {}
                Err(e) => ctx.annotate(format!("skipped {e}")),
            }
        }
    }

    /// The replica side of a read: report what is stored, once it is durable.
    pub(crate) fn serve_get<N: Node<Message = ReplicaMessage>>(
        &self,
        ctx: &mut Context<'_, N>,
        from: ProcessId,
        correlation: Correlation,
        key: String,
    ) {
        let stored = self.store.get(&key).cloned();
        // Report only what survives a crash: the value may have been applied by a write
        // whose sync is still running.
        ctx.send_when_durable(
            from,
            ReplicaMessage::GetOk {
                correlation,
                stored,
            },
        );
    }

    /// The replica side of a write (or a repair): apply if newer, acknowledge once durable.
    pub(crate) fn serve_set<N: Node<Message = ReplicaMessage>>(
        &mut self,
        ctx: &mut Context<'_, N>,
        from: ProcessId,
        correlation: Correlation,
        key: String,
        value: Versioned,
    ) {
        let applied = self.apply(ctx, key, value);
        // The acknowledgement counts towards a quorum: only once the value is on disk.
        ctx.send_when_durable(
            from,
            ReplicaMessage::SetOk {
                correlation,
                applied,
            },
        );
    }

    /// The version of a write that starts now under wall-clock versioning.
    pub(crate) fn wall_clock_version(
        &mut self,
        coordinator: ProcessId,
        clock_millis: i64,
    ) -> Version {
        self.counter += 1;
        Version {
            timestamp_millis: clock_millis,
            coordinator,
            counter: self.counter,
        }
    }

    /// Stores `incoming` if it supersedes what this replica holds; durable before acknowledged.
    fn apply<N: Node>(
        &mut self,
        ctx: &mut Context<'_, N>,
        key: String,
        incoming: Versioned,
    ) -> bool {
        let current = self.store.get(&key).map(|v| &v.version);
        if !self.config.supersedes(&incoming.version, current) {
            return false;
        }
        ctx.storage()
            .put_json(&format!("{STORAGE_PREFIX}{key}"), &incoming);
        self.store.insert(key, incoming);
        true
    }
}

impl Node for QuorumKv {
    type Message = ReplicaMessage;
    type Timer = ();
    type Operation = KvOp;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.recover(ctx);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: KvOp) {
        match op {
            KvOp::Write { key, value } if self.config.versioning == Versioning::ReadBeforeWrite => {
                self.query_version(ctx, request, key, value);
            }
            KvOp::Write { key, value } => {
                let version = self.wall_clock_version(ctx.id(), ctx.clock_millis());
                self.start_write(ctx, request, key, Versioned { value, version });
            }
            KvOp::Read { key } => {
                let round = ReadRound {
                    request: Some(request),
                    key: key.clone(),
                    replies: BTreeMap::new(),
                    latest: None,
                    holders: BTreeSet::new(),
                    repairing: BTreeSet::new(),
                };
                let correlation = self.start_round(ctx, Round::Read(round));
                self.ask_all(ctx, ReplicaMessage::Get { correlation, key });
            }
            KvOp::Cas { .. } => ctx.reply(request, cas_refused()),
        }
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        message: ReplicaMessage,
    ) {
        match message {
            // Replica side.
            ReplicaMessage::Get { correlation, key } => {
                self.serve_get(ctx, from, correlation, key);
            }
            ReplicaMessage::Set {
                correlation,
                key,
                value,
            } => self.serve_set(ctx, from, correlation, key, value),
            // Coordinator side. Replies to finished or unknown rounds find nothing and are ignored.
            ReplicaMessage::GetOk {
                correlation,
                stored,
            } => {
                if self.version_reply(ctx, correlation, from, &stored) {
                    return;
                }
                let Some(Round::Read(round)) = self.rounds.get_mut(correlation) else {
                    return;
                };
                round.replies.entry(from).or_insert(stored);
                self.read_progress(ctx, correlation);
            }
            ReplicaMessage::SetOk { correlation, .. } => {
                let reached = match self.rounds.get_mut(correlation) {
                    Some(Round::Write { quorum, .. }) => {
                        quorum.record(from, (), true) == QuorumState::Reached
                    }
                    Some(Round::Read(round)) => {
                        round.repairing.remove(&from);
                        round.holders.insert(from);
                        self.read_progress(ctx, correlation);
                        false
                    }
                    Some(Round::Query(_)) | None => false,
                };
                if let Some(Round::Write { request, .. }) =
                    reached.then(|| self.finish(ctx, correlation)).flatten()
                {
                    ctx.reply(request, KvReply::Written);
                }
            }
        }
    }

    fn on_expired(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        self.on_deadline(ctx, correlation);
    }
}

/// What a last-write-wins store answers to a compare-and-set.
pub(crate) fn cas_refused() -> KvReply {
    KvReply::Failed {
        reason: "a last-write-wins store cannot compare-and-set".into(),
        maybe_applied: false,
    }
}

// ----- read-before-write versioning (ABD) ----------------------------------------------------------
//
// Attiya, Bar-Noy and Dolev, "Sharing Memory Robustly in Message-Passing Systems" (JACM 1995),
// multi-writer form: a write first reads the highest version from a read quorum, then writes with
// a higher one. Any write that completed before this one began is held by a write quorum, which
// meets the read quorum, so the new version is higher than every completed write's, whatever the
// clocks say. Ties between concurrent writers go to the coordinator id. Reads must also write back
// what they return before answering (synchronous read repair) for the store to be linearizable.

/// Where a write's version comes from.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Versioning {
    /// The coordinator's clock (last write wins): a slow clock loses writes, and two writes in
    /// one millisecond race on coordinator ids.
    #[default]
    WallClock,
    /// ABD: read the highest version from a read quorum, write with a higher one.
    ReadBeforeWrite,
}

/// The version of a read-before-write: one more than the highest a read quorum reported.
pub fn version_after(highest: Option<&Version>, coordinator: ProcessId, counter: u64) -> Version {
    Version {
        timestamp_millis: highest.map_or(0, |v| v.timestamp_millis) + 1,
        coordinator,
        counter,
    }
}

/// A write waiting for the versions of a read quorum.
#[derive(Clone, Debug)]
struct VersionQuery {
    request: RequestId,
    key: String,
    value: String,
    versions: Quorum<Option<Version>>,
}

impl QuorumKv {
    /// The version under read-before-write, given the highest version a quorum reported.
    pub(crate) fn version_after_query(
        &mut self,
        highest: Option<&Version>,
        coordinator: ProcessId,
    ) -> Version {
        self.counter += 1;
        version_after(highest, coordinator, self.counter)
    }

    fn start_write(
        &mut self,
        ctx: &mut Context<'_, Self>,
        request: RequestId,
        key: String,
        value: Versioned,
    ) {
        let quorum = Quorum::of(self.config.write_quorum, ctx.cluster_size());
        let correlation = self.start_round(ctx, Round::Write { request, quorum });
        self.ask_all(
            ctx,
            ReplicaMessage::Set {
                correlation,
                key,
                value,
            },
        );
    }

    fn query_version(
        &mut self,
        ctx: &mut Context<'_, Self>,
        request: RequestId,
        key: String,
        value: String,
    ) {
        let versions = Quorum::of(self.config.read_quorum, ctx.cluster_size());
        let query = VersionQuery {
            request,
            key: key.clone(),
            value,
            versions,
        };
        let correlation = self.start_round(ctx, Round::Query(query));
        self.ask_all(ctx, ReplicaMessage::Get { correlation, key });
    }

    /// A replica's answer to a version query; `false` if `correlation` is not one.
    fn version_reply(
        &mut self,
        ctx: &mut Context<'_, Self>,
        correlation: Correlation,
        from: ProcessId,
        stored: &Option<Versioned>,
    ) -> bool {
        let Some(Round::Query(query)) = self.rounds.get_mut(correlation) else {
            return false;
        };
        let version = stored.as_ref().map(|v| v.version);
        if query.versions.record(from, version, true) == QuorumState::Reached {
            let Some(Round::Query(query)) = self.finish(ctx, correlation) else {
                return true;
            };
            let highest = query.versions.accepted().values().flatten().max().copied();
            let version = self.version_after_query(highest.as_ref(), ctx.id());
            let value = Versioned {
                value: query.value,
                version,
            };
            self.start_write(ctx, query.request, query.key, value);
        }
        true
    }
}

// ----- exploration ---------------------------------------------------------------------------------

/// The quorum store for `patterns explore quorum-kv`: majority quorums with synchronous read repair
/// and honest failures are linearizable under partitions, delays, loss, duplication, and crashes
/// that lose unsynced writes; each broken variant gives up one of those choices. Clock skew is not
/// tolerated by last-write-wins on wall clocks, and the `clock-skew` variant shows it.
pub struct Explorer;

impl Explorer {
    fn config(variant: &Variant) -> Config {
        let correct = Config::majority(3).read_repair(ReadRepair::Sync);
        match variant.name {
            "r1-w1" => correct.quorums(1, 1).expect("1 of 3 is a quorum size"),
            "no-read-repair" => correct.read_repair(ReadRepair::Off),
            "async-read-repair" => correct.read_repair(ReadRepair::Async),
            "definite-failures" => correct.write_failure(WriteFailure::Definite),
            _ => correct,
        }
    }
}

impl Explorable for Explorer {
    type Node = QuorumKv;

    fn name(&self) -> &'static str {
        "quorum-kv"
    }

    fn summary(&self) -> &'static str {
        "Dynamo-style quorum reads and writes, last-write-wins versions, read repair"
    }

    fn variants(&self) -> Vec<Variant> {
        let variant = Variant::new;
        vec![
            variant(
                "correct",
                "R = W = 2 of 3, synchronous read repair, honest failures",
                false,
                None,
            ),
            variant(
                "r1-w1",
                "R = W = 1: quorums that need not meet, so reads miss acknowledged writes",
                true,
                Some(1),
            ),
            variant(
                "no-read-repair",
                "no repair: two reads during one write can see new, then old",
                true,
                Some(15),
            ),
            variant(
                "async-read-repair",
                "answer before the repair: a later read can still see the old value",
                true,
                Some(544),
            ),
            variant(
                "definite-failures",
                "a write without a quorum is reported as never applied, though a minority kept it",
                true,
                Some(1),
            ),
            variant(
                "clock-skew",
                "the correct form under clock skew: last-write-wins loses acknowledged writes",
                true,
                Some(1),
            ),
        ]
    }

    fn builder(&self, _variant: &Variant) -> Builder {
        // Latencies that vary, so messages overtake each other.
        Builder::new()
            .clients(["alice", "bob", "carol", "dave"])
            .latency(Latency::Uniform { min: 1, max: 4 })
    }

    fn node(&self, variant: &Variant) -> Factory<QuorumKv> {
        let config = Explorer::config(variant);
        Box::new(move |_| QuorumKv::new(config.clone()))
    }

    fn operations(&self, _variant: &Variant) -> Operations<QuorumKv> {
        // Two keys and four clients: enough contention for reads to overlap writes.
        Box::new(
            KvMix {
                keys: 2,
                ..KvMix::default()
            }
            .generator(),
        )
    }

    fn plan(&self, variant: &Variant) -> RunPlan {
        let nemesis = NemesisConfig {
            clock_skew_millis_max: if variant.name == "clock-skew" { 200 } else { 0 },
            ..NemesisConfig::everything()
        };
        RunPlan {
            ticks: 300,
            settle_ticks: 1_000,
            nemesis: Some(nemesis),
        }
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check::linearizable(history, &Independent::new(Register::new(Value::Nil)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(ts: i64, node: u16) -> Version {
        Version {
            timestamp_millis: ts,
            coordinator: ProcessId(node),
            counter: 1,
        }
    }

    #[test]
    fn only_a_strictly_newer_version_supersedes() {
        // The table the lesson's exercise runs too (supersedes_cases).
        for (incoming, current, expected) in supersedes_cases() {
            assert_eq!(
                supersedes(&incoming, current.as_ref()),
                expected,
                "{incoming:?} over {current:?}"
            );
        }
    }

    #[test]
    fn the_newest_reply_is_the_highest_version_whatever_the_order() {
        // The table the lesson's exercise runs too (latest_cases).
        for (replies, expected) in latest_cases() {
            assert_eq!(latest(replies.iter()), expected.as_ref(), "{replies:?}");
        }
        assert_eq!(
            Rules::crate_rules().check(),
            Ok(supersedes_cases().len() + latest_cases().len())
        );
    }

    #[test]
    fn rules_that_ignore_ties_or_accept_equal_versions_fail_the_tables() {
        // The answers a learner is likely to write first, each caught by a named case.
        let by_clock_only = Rules {
            latest: |replies| {
                replies
                    .iter()
                    .flatten()
                    .max_by_key(|v| v.version.timestamp_millis)
            },
            ..Rules::crate_rules()
        };
        let failure = by_clock_only.check().unwrap_err();
        assert!(failure.starts_with("latest(["), "{failure}");
        let not_strict = Rules {
            supersedes: |incoming, current| current.is_none_or(|c| incoming >= c),
            ..Rules::crate_rules()
        };
        assert_eq!(
            not_strict.check().unwrap_err(),
            "supersedes((10 ms, node 0, write 1), (10 ms, node 0, write 1)) should be false"
        );
    }

    #[test]
    fn quorums_overlap_only_when_r_plus_w_exceeds_n() {
        // (N, R, W, overlap?)
        let table = [
            (3, 2, 2, true),
            (3, 1, 3, true),
            (3, 1, 2, false),
            (5, 1, 3, false),
            (5, 3, 3, true),
        ];
        for (n, r, w, expected) in table {
            assert_eq!(quorums_overlap(n, r, w), expected, "N={n} R={r} W={w}");
        }
    }

    #[test]
    fn only_replicas_with_an_older_or_no_value_need_repair() {
        let newest = Versioned {
            value: "new".into(),
            version: v(20, 0),
        };
        let old = Versioned {
            value: "old".into(),
            version: v(10, 0),
        };
        let replies = [Some(newest.clone()), Some(old.clone()), None];
        assert_eq!(latest(replies.iter()), Some(&newest));
        assert!(!needs_repair(Some(&newest), &newest.version));
        assert!(needs_repair(Some(&old), &newest.version));
        assert!(needs_repair(None, &newest.version));
    }

    #[test]
    fn a_configuration_checks_r_and_w_against_n() {
        assert!(Config::majority(3).quorums(0, 2).is_err());
        assert_eq!(
            Config::majority(3).quorums(2, 4).unwrap_err().to_string(),
            "invalid quorum configuration: W = 4 must be between 1 and N = 3"
        );
        assert_eq!(Config::majority(5).quorums(1, 3).unwrap().read_quorum, 1);
    }
}
