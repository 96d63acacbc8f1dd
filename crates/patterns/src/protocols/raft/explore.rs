//! `patterns explore raft`: random clients under the whole nemesis, every run judged by the
//! invariants of the paper's Figure 3 after every event, by linearizability, and by liveness after
//! the heal.
//!
//! The invariants are checked from outside, on what each server's state says, with ghost state
//! the servers never see: the leader of every term so far, every entry known committed, every
//! entry applied at each index.

use super::{Command, Config, Entry, Raft, ServerState, VARIANTS};
use crate::check::{self, CasRegister, Consistency, HistoryError, Independent, Options, Report};
use crate::explore::{Explorable, Factory, Operations, Variant};
use crate::history::{History, Value};
use crate::protocols::kv::KvMix;
use crate::sim::{Builder, ClientPolicy, Latency, NemesisConfig, Observer, RunPlan, Simulation};
use std::collections::BTreeMap;

/// Raft for the explorer: three servers, four clients that retry and follow redirects, messages
/// of 1–4 ticks, and every fault the bench knows, for 1,000 ticks a run.
///
/// Elections are quicker here than by default (timeouts of 12–24 ticks, heartbeats every 5), so
/// that a run holds many leader changes: Figure 8 needs three of them in a row, each at the wrong
/// moment, and the `commit-old-term` variant is then caught in about 10 seeds of 1,000 instead of
/// one.
///
/// `equal-timeouts` is listed but not broken: it is a liveness flaw, not a safety one, and the
/// nemesis's crashes and uneven latencies break the symmetry that stalls elections, so its runs
/// pass. The lesson measures it instead ([`super::measure`]).
pub struct Explorer;

impl Explorer {
    /// The configuration of a variant by its name (the correct form for an unknown one), with the
    /// explorer's quick elections.
    pub fn config(variant: &Variant) -> Config {
        let config = Config::variant(variant.name).unwrap_or_default();
        let equal = config.election_timeout_ticks_min == config.election_timeout_ticks_max;
        config
            .election_timeout_ticks(12, if equal { 12 } else { 24 })
            .heartbeat_interval_ticks(5)
    }
}

impl Explorable for Explorer {
    type Node = Raft;

    fn name(&self) -> &'static str {
        "raft"
    }

    fn summary(&self) -> &'static str {
        "Raft: randomized elections, log replication, commit by the current term, read index"
    }

    fn variants(&self) -> Vec<Variant> {
        let variant = Variant::new;
        debug_assert!(VARIANTS.iter().all(|v| Config::variant(v).is_some()));
        vec![
            variant(
                "correct",
                "Raft as the paper states it, reads by read index",
                false,
                None,
            ),
            variant(
                "log-reads",
                "Raft as the paper states it, reads through the log",
                false,
                None,
            ),
            variant(
                "commit-old-term",
                "a majority's copy commits an entry of any term, no no-op: Figure 8 loses it",
                true,
                Some(41),
            ),
            variant(
                "no-election-restriction",
                "votes ignore logs: a leader without a committed entry overwrites it",
                true,
                Some(0),
            ),
            variant(
                "volatile-vote",
                "term and vote in memory only: a restarted server votes twice, two leaders in one term",
                true,
                Some(0),
            ),
            variant(
                "reads-anywhere",
                "every server answers reads from its own state: stale reads",
                true,
                Some(0),
            ),
            variant(
                "equal-timeouts",
                "every server waits the same election timeout: split votes, a liveness flaw the \
                 lesson measures, safe under the nemesis",
                false,
                None,
            ),
        ]
    }

    fn builder(&self, _variant: &Variant) -> Builder {
        Builder::new()
            .clients(["alice", "bob", "carol", "dave"])
            .latency(Latency::Uniform { min: 1, max: 4 })
            .client_policy(ClientPolicy {
                attempt_timeout_ticks: 60,
                attempts: 4,
                follow_redirects: true,
            })
    }

    fn node(&self, variant: &Variant) -> Factory<Raft> {
        let config = Explorer::config(variant);
        Box::new(move |_| Raft::new(config.clone()))
    }

    fn operations(&self, _variant: &Variant) -> Operations<Raft> {
        Box::new(WORKLOAD.generator())
    }

    fn plan(&self, _variant: &Variant) -> RunPlan {
        RunPlan {
            ticks: 1_000,
            settle_ticks: 1_000,
            nemesis: Some(NemesisConfig {
                fault_probability: 0.1,
                heal_every_ticks: 80,
                ..NemesisConfig::everything()
            }),
        }
    }

    fn invariants(&self, _variant: &Variant) -> Option<Observer<Raft>> {
        Some(invariants())
    }

    fn check(&self, history: &History) -> Result<Report, HistoryError> {
        check_history(history)
    }
}

/// The explorer's clients' operations: two keys and four values, so that writes repeat and
/// compare-and-sets meet; reads, writes and compare-and-sets 2 : 2 : 1.
pub const WORKLOAD: KvMix = KvMix {
    keys: 2,
    values: 4,
    reads: 2,
    writes: 2,
    cas: 1,
};

/// Judges a Raft run's history: linearizable, key by key, as compare-and-set registers that start
/// empty. A read of `nil` is a real value here (the key had never been written), not Knossos's
/// "unknown", so a committed write that is lost shows.
pub fn check_history(history: &History) -> Result<Report, HistoryError> {
    let options = Options {
        nil_is_value: true,
        ..Options::default()
    };
    let model = Independent::new(CasRegister::new(Value::Nil));
    check::check(history, &model, Consistency::Linearizable, &options)
}

/// The invariants of Figure 3, checked on the whole cluster after every event:
/// - **election safety**: at most one leader per term;
/// - **leader append-only**: a leader never overwrites or deletes entries of its log;
/// - **log matching**: two logs with an entry of the same index and term are identical up to it;
/// - **leader completeness**: an entry committed in a term is in the log of every leader of a
///   later term;
/// - **state machine safety**: no two servers apply different entries at one index.
pub fn invariants() -> Observer<Raft> {
    let mut ghost = Ghost::default();
    Box::new(move |sim| ghost.check(sim))
}

/// An entry as a counterexample names it: its command and term, and the request it carries
/// (`x←2 of term 4, request 6.1`), so two writes of one value stay apart.
fn describe(entry: &Entry) -> String {
    match &entry.command {
        Command::Noop => format!("{entry} of term {}", entry.term),
        Command::Client { request, .. } => format!(
            "{entry} of term {}, request {}.{}",
            entry.term, request.client.0, request.sequence
        ),
    }
}

/// What the observer remembers between events.
#[derive(Default)]
struct Ghost {
    /// The leader of every term seen so far.
    leaders: BTreeMap<u64, usize>,
    /// Per server, while it leads: its life, its term, and its log as last seen.
    leading: BTreeMap<usize, (u64, u64, u64, Vec<Entry>)>,
    /// Per pair of servers: their (life, log changes) when their logs were last compared.
    compared: BTreeMap<(usize, usize), [(u64, u64); 2]>,
    /// Entries known committed, index `i` at `i - 1`, with the term of the first server seen
    /// holding it committed (an entry is committed in that term or an earlier one).
    committed: Vec<(Entry, u64)>,
    /// Per server: its life and how much of its committed prefix was compared.
    commit_checked: BTreeMap<usize, (u64, u64)>,
    /// Per (server, life, term) of a leader: how much of `committed` was found in its log.
    completeness_checked: BTreeMap<(usize, u64, u64), usize>,
    /// Entries applied, index `i` at `i - 1`.
    applied: Vec<Entry>,
    /// Per server: its life and how far its applied prefix was compared.
    applied_checked: BTreeMap<usize, (u64, u64)>,
}

impl Ghost {
    fn check(&mut self, sim: &Simulation<Raft>) -> Result<(), String> {
        let names = sim.node_names();
        let servers: Vec<(usize, &Raft)> = sim
            .nodes()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (i, n)))
            .collect();
        for &(i, server) in &servers {
            self.election_safety(names, i, server)?;
            self.leader_append_only(names, i, server)?;
            self.committed_entries(names, i, server)?;
            self.applied_entries(names, i, server)?;
        }
        for &(i, server) in &servers {
            self.leader_completeness(names, i, server)?;
        }
        for (a, &(i, first)) in servers.iter().enumerate() {
            for &(j, second) in &servers[a + 1..] {
                self.log_matching(names, (i, first), (j, second))?;
            }
        }
        Ok(())
    }

    fn election_safety(&mut self, names: &[String], i: usize, server: &Raft) -> Result<(), String> {
        if server.state() != ServerState::Leader {
            self.leading.remove(&i);
            return Ok(());
        }
        let term = server.current_term();
        let leader = *self.leaders.entry(term).or_insert(i);
        if leader != i {
            return Err(format!(
                "election safety: {} and {} are both leaders of term {term}",
                names[leader], names[i]
            ));
        }
        Ok(())
    }

    fn leader_append_only(
        &mut self,
        names: &[String],
        i: usize,
        server: &Raft,
    ) -> Result<(), String> {
        if server.state() != ServerState::Leader {
            return Ok(());
        }
        let (life, term, changes) = (
            server.incarnation(),
            server.current_term(),
            server.log_changes(),
        );
        let log = server.log();
        match self.leading.get(&i) {
            Some((l, t, c, _)) if (*l, *t, *c) == (life, term, changes) => return Ok(()),
            Some((l, t, _, before)) if (*l, *t) == (life, term) => {
                let kept = before.len() <= log.len() && before[..] == log[..before.len()];
                if !kept {
                    let index = before
                        .iter()
                        .zip(log)
                        .position(|(a, b)| a != b)
                        .unwrap_or(log.len())
                        + 1;
                    return Err(format!(
                        "leader append-only: {}, leader of term {term}, changed or removed its entry {index}",
                        names[i]
                    ));
                }
            }
            _ => {}
        }
        self.leading.insert(i, (life, term, changes, log.to_vec()));
        Ok(())
    }

    fn committed_entries(
        &mut self,
        names: &[String],
        i: usize,
        server: &Raft,
    ) -> Result<(), String> {
        let life = server.incarnation();
        let checked = match self.commit_checked.get(&i) {
            Some((l, upto)) if *l == life => *upto,
            _ => 0,
        };
        let commit = server.commit_index();
        if commit <= checked {
            return Ok(());
        }
        let log = server.log();
        if commit > log.len() as u64 {
            return Err(format!(
                "state machine safety: {}'s commit index {commit} is past the end of its log ({})",
                names[i],
                log.len()
            ));
        }
        for index in checked + 1..=commit {
            let entry = &log[index as usize - 1];
            match self.committed.get(index as usize - 1) {
                Some((known, _)) if known != entry => {
                    return Err(format!(
                        "state machine safety: {} holds {} committed at {index}, but {} was committed there",
                        names[i],
                        describe(entry),
                        describe(known)
                    ));
                }
                Some(_) => {}
                None => self.committed.push((entry.clone(), server.current_term())),
            }
        }
        self.commit_checked.insert(i, (life, commit));
        Ok(())
    }

    fn applied_entries(&mut self, names: &[String], i: usize, server: &Raft) -> Result<(), String> {
        let life = server.incarnation();
        let checked = match self.applied_checked.get(&i) {
            Some((l, upto)) if *l == life => *upto,
            _ => 0,
        };
        let applied = server.last_applied();
        for index in checked + 1..=applied {
            let Some(entry) = server.log().get(index as usize - 1) else {
                return Err(format!(
                    "state machine safety: {} applied {index} entries but its log holds {}",
                    names[i],
                    server.log().len()
                ));
            };
            match self.applied.get(index as usize - 1) {
                Some(known) if known != entry => {
                    return Err(format!(
                        "state machine safety: {} applied {} at {index}, another server applied {}",
                        names[i],
                        describe(entry),
                        describe(known)
                    ));
                }
                Some(_) => {}
                None => self.applied.push(entry.clone()),
            }
        }
        self.applied_checked.insert(i, (life, applied.max(checked)));
        Ok(())
    }

    fn leader_completeness(
        &mut self,
        names: &[String],
        i: usize,
        server: &Raft,
    ) -> Result<(), String> {
        if server.state() != ServerState::Leader {
            return Ok(());
        }
        let term = server.current_term();
        let key = (i, server.incarnation(), term);
        let from = self.completeness_checked.get(&key).copied().unwrap_or(0);
        for (position, (entry, committed_in)) in self.committed.iter().enumerate().skip(from) {
            if *committed_in >= term {
                continue;
            }
            if server.log().get(position) != Some(entry) {
                return Err(format!(
                    "leader completeness: {}, leader of term {term}, lacks entry {} ({}), committed by term {committed_in}",
                    names[i],
                    position + 1,
                    describe(entry)
                ));
            }
        }
        self.completeness_checked.insert(key, self.committed.len());
        Ok(())
    }

    fn log_matching(
        &mut self,
        names: &[String],
        (i, a): (usize, &Raft),
        (j, b): (usize, &Raft),
    ) -> Result<(), String> {
        let now = [
            (a.incarnation(), a.log_changes()),
            (b.incarnation(), b.log_changes()),
        ];
        if self.compared.get(&(i, j)) == Some(&now) {
            return Ok(());
        }
        let (x, y) = (a.log(), b.log());
        let common = x.len().min(y.len());
        if let Some(last_same) = (0..common).rev().find(|&k| x[k].term == y[k].term) {
            if let Some(k) = (0..=last_same).find(|&k| x[k] != y[k]) {
                return Err(format!(
                    "log matching: {} and {} agree on the term of entry {} but differ at entry {}",
                    names[i],
                    names[j],
                    last_same + 1,
                    k + 1
                ));
            }
        }
        self.compared.insert((i, j), now);
        Ok(())
    }
}
