//! Raft's runs as pictures: the replicated logs as a grid of terms per index and server at one
//! instant (a RaftScope-like still), and who led when, read back from a run's trace.

use super::{Entry, Raft, ServerState};
use crate::node::{NodeStatus, Tick};
use crate::sim::{Fault, Simulation, Trace, TraceEvent};
use crate::viz::{EntryState, LeaderChart, LogEntry, LogGrid, Role};

/// One server's log at an instant: what a grid row shows.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerLog {
    pub name: String,
    /// `None` while the server is down (its log is then what its disk holds).
    pub state: Option<ServerState>,
    pub term: u64,
    pub log: Vec<Entry>,
    pub commit_index: u64,
}

impl ServerLog {
    /// The row label: the name, the role and the term (`s1 · leader t4`, `s5 · down`).
    pub fn label(&self) -> String {
        match self.state {
            Some(state) => format!("{} · {} t{}", self.name, state.word(), self.term),
            None => format!("{} · down", self.name),
        }
    }
}

/// Every server's log now; a crashed server's is read from its durable storage.
pub fn server_logs(sim: &Simulation<Raft>) -> Vec<ServerLog> {
    sim.node_names()
        .iter()
        .map(|name| match sim.node(name) {
            Ok(server) => ServerLog {
                name: name.clone(),
                state: Some(server.state()),
                term: server.current_term(),
                log: server.log().to_vec(),
                commit_index: server.commit_index(),
            },
            Err(_) => ServerLog {
                name: name.clone(),
                state: None,
                term: 0,
                log: sim
                    .storage(name)
                    .map(|s| {
                        s.durable_log()
                            .iter()
                            .map_while(|bytes| serde_json::from_slice::<Entry>(bytes).ok())
                            .collect()
                    })
                    .unwrap_or_default(),
                commit_index: 0,
            },
        })
        .collect()
}

/// The logs as a grid: a row per server, a column per index, each entry with its term and
/// command, solid once the server knows it committed, its commit index as a bar. Entries that
/// differ from `before` (the same servers at an earlier instant) are outlined in red: what this
/// stretch of the run overwrote.
pub fn log_grid(title: &str, logs: &[ServerLog], before: Option<&[ServerLog]>) -> LogGrid {
    let mut grid = LogGrid::new(title);
    for server in logs {
        let entries = server.log.iter().enumerate().map(|(i, e)| {
            let index = i as u64 + 1;
            let state = if index <= server.commit_index {
                EntryState::Chosen
            } else {
                EntryState::Accepted
            };
            LogEntry::new(index, e.term, e.to_string(), state)
        });
        grid = grid.replica(server.label(), entries);
        if server.commit_index > 0 {
            grid = grid.commit_index(&server.label(), server.commit_index);
        }
    }
    if let Some(before) = before {
        for (now, then) in logs.iter().zip(before) {
            for (i, entry) in now.log.iter().enumerate() {
                if then.log.get(i).is_some_and(|old| old != entry) {
                    grid = grid.highlight(&now.label(), i as u64 + 1);
                }
            }
        }
    }
    grid
}

/// The grid of a simulation as it stands.
pub fn log_grid_now(sim: &Simulation<Raft>, title: &str) -> LogGrid {
    log_grid(title, &server_logs(sim), None)
}

/// Who led when, from the role changes the servers announce in the trace ("leader in term 3")
/// and the crashes the trace records, over ticks `0..end`.
pub fn leader_chart(title: &str, trace: &Trace, names: &[String], end: Tick) -> LeaderChart {
    let mut chart = LeaderChart::new(title, end).nodes(names.iter().cloned());
    for event in &trace.events {
        match event {
            TraceEvent::Annotate { tick, node, text } => {
                let Some(name) = names.get(node.index()) else {
                    continue;
                };
                if let Some((role, term)) = parse_announcement(text) {
                    chart = chart.change(name, *tick, role, term);
                }
            }
            TraceEvent::Fault {
                tick,
                fault: Fault::Crash { node },
            } => chart = chart.down(node, *tick),
            _ => {}
        }
    }
    chart
}

/// `"leader in term 3"` to `(Leader, 3)`: what [`Raft`] announces when its state changes.
fn parse_announcement(text: &str) -> Option<(Role, u64)> {
    let (word, term) = text.split_once(" in term ")?;
    let role = match word {
        "follower" => Role::Follower,
        "candidate" => Role::Candidate,
        "leader" => Role::Leader,
        _ => return None,
    };
    Some((role, term.parse().ok()?))
}

/// The leader of the cluster now, if exactly one running server leads in the highest term any
/// running server has seen.
pub fn current_leader(sim: &Simulation<Raft>) -> Option<String> {
    let top = sim.running_nodes().map(|(_, n)| n.current_term()).max()?;
    let leaders: Vec<&str> = sim
        .running_nodes()
        .filter(|(_, n)| n.is_leader() && n.current_term() == top)
        .map(|(name, _)| name)
        .collect();
    match leaders.as_slice() {
        [one] if sim.status(one).ok() == Some(NodeStatus::Up) => Some(one.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_parse_back_into_roles() {
        assert_eq!(
            parse_announcement("leader in term 12"),
            Some((Role::Leader, 12))
        );
        assert_eq!(
            parse_announcement("candidate in term 1"),
            Some((Role::Candidate, 1))
        );
        assert_eq!(
            parse_announcement("conflicting entries from 3 removed"),
            None
        );
        assert_eq!(parse_announcement("leader in term x"), None);
    }
}
