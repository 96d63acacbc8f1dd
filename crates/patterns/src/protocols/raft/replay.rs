//! TLC's counterexample of `tla/BrokenRaftVolatileVote.tla`, replayed on the Rust servers.
//!
//! The model is Raft's election alone (§5.2), with restarts; its broken twin keeps term and vote
//! in memory only, and TLC finds two leaders in one term. A replay walks that trace step by step
//! and makes the same thing happen in the simulator, then judges the run with the explorer's
//! invariants (election safety: at most one leader per term). The `volatile-vote` variant elects
//! the second leader at the model's step; the correct form remembers its vote across the restart,
//! refuses, and stays safe.
//!
//! | model action | in the simulator |
//! |---|---|
//! | `Timeout(s)` | s's election timer fires (each server's timeout is set so that it fires at its step) |
//! | `HandleRequestVote(s, c, t)` | the link c → s delivers c's RequestVote |
//! | `HandleVote(s, v)` | the link v → s delivers v's answer |
//! | `BecomeLeader(s)` | s leads once a majority voted (the Rust candidate takes office on the vote that makes it) |
//! | `Restart(s)`, `RestartForgetting(s)` | s crashes and restarts from its disk |
//!
//! Every link between servers is held, and a step releases the one it needs; AppendEntries are
//! dropped (the model has no log), and so is every request the trace never delivers; candidates
//! do not remind and leaders do not beat (the model sends each request once). A server
//! that times out twice in the trace cannot be scheduled this way and is refused. The model has
//! no log, so the replay turns off the leader's start-of-term no-op: with it, the restarted
//! leader's log would be ahead of the next candidate's and the election restriction, not the
//! vote, would refuse it.

use super::{Config, Raft, RaftKind, ServerState, invariants};
use crate::node::Tick;
use crate::sim::{Builder, Fault, Latency, Observer, Simulation, Trace as RunTrace, TraceEvent};
use crate::tla::{
    ReplayError, ReplayStep, Trace, Transition, Value, record_violation, run_trace, steps_table,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Ticks between two model steps: a delivery, a sync and an answer fit in it.
const GAP_TICKS: Tick = 5;

/// A timeout for servers the trace never times out.
const NEVER_TICKS: Tick = 1_000_000;

fn error(why: impl Into<String>) -> ReplayError {
    ReplayError(why.into())
}

/// One step of a trace of `tla/RaftElection.tla` (or its broken twin), arguments recovered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Move {
    Timeout {
        server: String,
        term: i64,
    },
    HandleRequestVote {
        server: String,
        candidate: String,
        term: i64,
    },
    HandleVote {
        server: String,
        voter: String,
    },
    BecomeLeader {
        server: String,
    },
    Restart {
        server: String,
    },
}

impl fmt::Display for Move {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Move::Timeout { server, .. } => write!(f, "Timeout({server})"),
            Move::HandleRequestVote {
                server,
                candidate,
                term,
            } => write!(f, "HandleRequestVote({server}, {candidate}, {term})"),
            Move::HandleVote { server, voter } => write!(f, "HandleVote({server}, {voter})"),
            Move::BecomeLeader { server } => write!(f, "BecomeLeader({server})"),
            Move::Restart { server } => write!(f, "Restart({server})"),
        }
    }
}

fn name_of(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_name).map(str::to_string)
}

/// Reads the steps of a trace of `tla/RaftElection.tla` or `tla/BrokenRaftVolatileVote.tla`:
/// TLC's state number and the move.
pub fn moves(trace: &Trace) -> Result<Vec<(usize, Move)>, ReplayError> {
    trace
        .transitions()
        .map(|t| decode(&t).map(|m| (t.number, m)))
        .collect()
}

fn decode(t: &Transition<'_>) -> Result<Move, ReplayError> {
    let name = t.action.name();
    let unreadable = || {
        error(format!(
            "state {}: cannot tell what {name} did from what changed",
            t.number
        ))
    };
    if t.after.get("votedFor").is_none() {
        return Err(error(
            "not a trace of RaftElection.tla: no variable votedFor",
        ));
    }
    let changes = t.changes();
    // The server a change to one of `variables` concerns.
    let changed = |variables: &[&str]| {
        changes
            .iter()
            .find(|(v, _)| variables.contains(v))
            .and_then(|(_, d)| name_of(d.path.first()))
    };
    let term_of = |server: &str| {
        t.after
            .get("currentTerm")
            .and_then(|terms| terms.get(server))
            .and_then(Value::as_int)
    };
    let state = ["currentTerm", "votedFor", "role", "votes"];
    Ok(match name {
        "Timeout" => {
            let server = changed(&state).ok_or_else(unreadable)?;
            let term = term_of(&server).ok_or_else(unreadable)?;
            Move::Timeout { server, term }
        }
        "HandleRequestVote" => {
            let server = changed(&state).ok_or_else(unreadable)?;
            let term = term_of(&server).ok_or_else(unreadable)?;
            let vote = changes.iter().find_map(|(v, d)| match (*v, &d.after) {
                ("msgs", Some(m)) if d.before.is_none() => name_of(m.get("to")),
                _ => None,
            });
            // A refusal sends nothing: the candidate is the one that asked in that term.
            let asked = || {
                let msgs = t.after.get("msgs")?.elements()?;
                let askers: Vec<String> = msgs
                    .iter()
                    .filter(|m| {
                        name_of(m.get("type")).as_deref() == Some("requestVote")
                            && m.get("term").and_then(Value::as_int) == Some(term)
                    })
                    .filter_map(|m| name_of(m.get("from")))
                    .filter(|c| *c != server)
                    .collect();
                match askers.as_slice() {
                    [one] => Some(one.clone()),
                    _ => None,
                }
            };
            let candidate = vote.or_else(asked).ok_or_else(unreadable)?;
            Move::HandleRequestVote {
                server,
                candidate,
                term,
            }
        }
        "HandleVote" => {
            let (server, voter) = changes
                .iter()
                .find_map(|(v, d)| match (*v, &d.after) {
                    ("votes", Some(voter)) if d.before.is_none() => {
                        Some((name_of(d.path.first())?, name_of(Some(voter))?))
                    }
                    _ => None,
                })
                .ok_or_else(unreadable)?;
            Move::HandleVote { server, voter }
        }
        "BecomeLeader" => Move::BecomeLeader {
            server: changed(&["role"]).ok_or_else(unreadable)?,
        },
        "Restart" | "RestartForgetting" => Move::Restart {
            server: changed(&state).ok_or_else(unreadable)?,
        },
        other => {
            return Err(error(format!(
                "state {}: {other} is not an action of RaftElection.tla",
                t.number
            )));
        }
    })
}

/// A model trace played on Raft servers.
pub struct Replay {
    /// The run, with every event (its trace also holds the link holds that pace it:
    /// [`Replay::run_trace`] leaves them out).
    pub sim: Simulation<Raft>,
    pub steps: Vec<ReplayStep>,
    /// Each rule the Rust run broke, the first time: TLC's state number at which it broke, and why.
    pub violations: Vec<(usize, String)>,
    servers: Vec<(String, String)>,
}

struct Driver {
    sim: Simulation<Raft>,
    observer: Observer<Raft>,
    violations: Vec<(usize, String)>,
    number: usize,
}

impl Driver {
    /// Runs until `tick`, judging the run after every event.
    fn run_until(&mut self, tick: Tick) {
        self.judge();
        while self.sim.next_event_tick().is_some_and(|t| t <= tick) {
            self.sim.step();
            self.judge();
        }
        let now = self.sim.now();
        self.sim.run_for(tick.saturating_sub(now));
    }

    fn judge(&mut self) {
        if let Err(broken) = (self.observer)(&self.sim) {
            record_violation(&mut self.violations, self.number, broken);
        }
    }

    fn deliver(&mut self, from: &str, to: &str) -> Result<(), ReplayError> {
        let (from, to) = (from.to_string(), to.to_string());
        self.sim.inject(Fault::Release {
            from: from.clone(),
            to: to.clone(),
        })?;
        self.sim.inject(Fault::Hold { from, to })?;
        Ok(())
    }

    /// Whether the last answer `voter` sent `candidate` granted the vote (as its payload says).
    fn last_answer_granted(&self, voter: &str, candidate: &str) -> bool {
        let (Ok(voter), Ok(candidate)) = (self.sim.id(voter), self.sim.id(candidate)) else {
            return false;
        };
        self.sim
            .trace()
            .events
            .iter()
            .rev()
            .find_map(|e| match e {
                TraceEvent::Send {
                    from,
                    to,
                    kind: "RequestVoteResponse",
                    payload,
                    ..
                } if *from == voter && *to == candidate => Some(payload.as_deref()),
                _ => None,
            })
            .flatten()
            .is_some_and(|p| p.contains("vote_granted: true"))
    }

    fn describe(&self, node: &str) -> String {
        match self.sim.node(node) {
            Ok(raft) => {
                let vote = match raft.voted_for() {
                    Some(v) => format!("voted for {}", self.sim.name(v)),
                    None => "no vote".to_string(),
                };
                format!("{:?} in term {}, {vote}", raft.state(), raft.current_term()).to_lowercase()
            }
            Err(_) => "down".to_string(),
        }
    }
}

/// Plays a trace of the Raft election model on servers configured by `config` (the correct form
/// or `volatile-vote`); `servers` names the node that plays each model server (node ids follow
/// this order).
pub fn replay(
    trace: &Trace,
    servers: &[(&str, &str)],
    config: Config,
) -> Result<Replay, ReplayError> {
    let steps = moves(trace)?;
    let node = |model: &str| {
        servers
            .iter()
            .find(|(m, _)| *m == model)
            .map(|(_, n)| n.to_string())
            .ok_or_else(|| error(format!("no node plays server {model}")))
    };
    let nodes: Vec<&str> = servers.iter().map(|(_, n)| *n).collect();
    // Step k is played at base + k * GAP_TICKS; a server times out at its Timeout step. A base
    // past the whole trace puts every second timeout (and every timeout after a vote or a
    // restart) beyond its end.
    let base = (steps.len() as Tick + 2) * GAP_TICKS;
    let mut timeouts: BTreeMap<String, Tick> = BTreeMap::new();
    for (k, (number, m)) in steps.iter().enumerate() {
        if let Move::Timeout { server, .. } = m {
            let n = node(server)?;
            if timeouts
                .insert(n.clone(), base + k as Tick * GAP_TICKS)
                .is_some()
            {
                return Err(error(format!(
                    "state {number}: {server} times out a second time; one timeout per server \
                     can be scheduled"
                )));
            }
        }
    }
    let requests: BTreeSet<(String, String)> = steps
        .iter()
        .filter_map(|(_, m)| match m {
            Move::HandleRequestVote {
                server, candidate, ..
            } => Some((candidate.clone(), server.clone())),
            _ => None,
        })
        .collect();
    let answers: BTreeSet<(String, String)> = steps
        .iter()
        .filter_map(|(_, m)| match m {
            Move::HandleVote { server, voter } => Some((voter.clone(), server.clone())),
            _ => None,
        })
        .collect();

    // No reminders from candidates and no heartbeats: the model sends each request once.
    let config = Config {
        start_of_term_noop: false,
        heartbeat_interval_ticks: NEVER_TICKS,
        ..config
    };
    let schedule = timeouts.clone();
    let sim = Builder::new()
        .nodes(nodes.iter().copied())
        .clients(Vec::<String>::new())
        .latency(Latency::Fixed(1))
        .build(move |init| {
            let timeout = schedule.get(&init.name).copied().unwrap_or(NEVER_TICKS);
            Raft::new(config.clone().election_timeout_ticks(timeout, timeout))
        })?;
    let mut driver = Driver {
        sim,
        observer: invariants(),
        violations: Vec::new(),
        number: 1,
    };
    for (model_from, from) in servers {
        for (model_to, to) in servers.iter().filter(|(_, n)| n != from) {
            driver.sim.inject(Fault::Hold {
                from: from.to_string(),
                to: to.to_string(),
            })?;
            driver.sim.drop_kind(RaftKind::AppendEntries, from, to)?;
            driver
                .sim
                .drop_kind(RaftKind::AppendEntriesResponse, from, to)?;
            let link = (model_from.to_string(), model_to.to_string());
            if !requests.contains(&link) {
                driver.sim.drop_kind(RaftKind::RequestVote, from, to)?;
            }
            if !answers.contains(&link) {
                driver
                    .sim
                    .drop_kind(RaftKind::RequestVoteResponse, from, to)?;
            }
        }
    }

    let mut played = Vec::new();
    for (k, (number, m)) in steps.iter().enumerate() {
        driver.number = *number;
        let tick = base + k as Tick * GAP_TICKS;
        // A timeout fires at its step's tick on its own; every other step acts at that tick.
        let timeout = matches!(m, Move::Timeout { .. });
        driver.run_until(if timeout { tick - 1 } else { tick });
        let (outcome, followed) = match m {
            Move::Timeout { server, term } => {
                let n = node(server)?;
                driver.run_until(tick + 1);
                let raft = driver.sim.node(&n)?;
                let followed =
                    raft.state() == ServerState::Candidate && raft.current_term() as i64 == *term;
                let said = format!("{n}'s election timeout fires: {}", driver.describe(&n));
                (said, followed)
            }
            Move::HandleRequestVote {
                server,
                candidate,
                term,
            } => {
                let (n, c) = (node(server)?, node(candidate)?);
                driver.deliver(&c, &n)?;
                driver.run_until(tick + GAP_TICKS - 1);
                let raft = driver.sim.node(&n)?;
                let granted = raft.current_term() as i64 == *term
                    && raft.voted_for() == driver.sim.id(&c).ok();
                let said = if granted {
                    format!("{n} votes for {c} in term {term}")
                } else {
                    format!("{n} does not vote for {c}: {}", driver.describe(&n))
                };
                (said, granted)
            }
            Move::HandleVote { server, voter } => {
                let (n, v) = (node(server)?, node(voter)?);
                driver.deliver(&v, &n)?;
                driver.run_until(tick + GAP_TICKS - 1);
                let raft = driver.sim.node(&n)?;
                let granted = driver.last_answer_granted(&v, &n);
                let said = match (raft.state(), granted) {
                    (ServerState::Leader, true) => format!(
                        "{n} counts {v}'s vote: a majority, it leads term {}",
                        raft.current_term()
                    ),
                    (_, true) => format!("{n} counts {v}'s vote: {}", driver.describe(&n)),
                    (_, false) => format!("{n} hears {v} refuse: {}", driver.describe(&n)),
                };
                (said, granted)
            }
            Move::BecomeLeader { server } => {
                let n = node(server)?;
                driver.run_until(tick + 1);
                let raft = driver.sim.node(&n)?;
                let leads = raft.is_leader();
                let said = if leads {
                    format!(
                        "{n} leads term {} (it took office on the deciding vote)",
                        raft.current_term()
                    )
                } else {
                    format!("{n} does not lead: {}", driver.describe(&n))
                };
                (said, leads)
            }
            Move::Restart { server } => {
                let n = node(server)?;
                driver.sim.crash(&n)?;
                driver.sim.restart(&n)?;
                driver.run_until(tick + 1);
                let said = format!("{n} crashes and restarts: {}", driver.describe(&n));
                (said, true)
            }
        };
        played.push(ReplayStep {
            number: *number,
            action: m.to_string(),
            tick,
            outcome,
            followed,
        });
    }
    Ok(Replay {
        sim: driver.sim,
        steps: played,
        violations: driver.violations,
        servers: servers
            .iter()
            .map(|(m, n)| (m.to_string(), n.to_string()))
            .collect(),
    })
}

impl Replay {
    /// The first rule the Rust run broke, if any: TLC's state number and why.
    pub fn violation(&self) -> Option<&(usize, String)> {
        self.violations.first()
    }

    /// Where the servers' final term, vote and role differ from the trace's last state: empty
    /// when the Rust run ended where the model did.
    pub fn differences(&self, trace: &Trace) -> Vec<String> {
        let Some(last) = trace.steps.last().map(|s| &s.state) else {
            return vec!["the trace has no state".to_string()];
        };
        let mut out = Vec::new();
        for (model, node) in &self.servers {
            let Ok(raft) = self.sim.node(node) else {
                out.push(format!("{node} ({model}) is down"));
                continue;
            };
            let term = last
                .get("currentTerm")
                .and_then(|t| t.get(model))
                .and_then(Value::as_int);
            let vote = last
                .get("votedFor")
                .and_then(|v| v.get(model))
                .and_then(Value::as_name);
            let vote = vote
                .and_then(|v| self.servers.iter().find(|(m, _)| m == v))
                .map(|(_, n)| n.as_str());
            let role = last
                .get("role")
                .and_then(|r| r.get(model))
                .and_then(Value::as_name);
            let rust_vote = raft.voted_for().map(|v| self.sim.name(v));
            let rust_role = format!("{:?}", raft.state()).to_lowercase();
            if term != Some(raft.current_term() as i64)
                || vote != rust_vote
                || role != Some(rust_role.as_str())
            {
                out.push(format!(
                    "{node} ({model}): {rust_role} in term {}, voted for {rust_vote:?}; the model \
                     says {role:?} in term {term:?}, voted for {vote:?}",
                    raft.current_term()
                ));
            }
        }
        out
    }

    /// The run's trace without the link holds that paced it, with each model step noted on the
    /// server it moved: what a diagram of the replay draws.
    pub fn run_trace(&self) -> RunTrace {
        run_trace(&self.sim, &self.steps)
    }
}

impl fmt::Display for Replay {
    /// The steps as a table: TLC's state, the model's action, what the Rust servers did.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&steps_table(&self.steps, &self.violations))
    }
}
