//! The replicated log drawn as a grid ([`LogGrid`]): a row per replica, a column per index, each
//! entry with the ballot round it was accepted in, light while only accepted and solid once the
//! replica knows it chosen; each replica's high-water mark as a bar. One function serves the Paxos
//! log and Multi-Paxos ([`ReplicatedLog`]).

use super::ReplicatedLog;
use crate::node::Node;
use crate::sim::Simulation;
use crate::viz::{EntryState, LogEntry, LogGrid};

/// Every replica's log in `sim` now (a crashed replica's row is left out).
pub fn log_grid<N: Node + ReplicatedLog>(sim: &Simulation<N>, title: &str) -> LogGrid {
    let mut grid = LogGrid::new(title).term_word("ballot");
    for (name, node) in sim.running_nodes() {
        let log = node.log();
        let entries: Vec<LogEntry> = log
            .entries()
            .filter_map(|(index, entry)| {
                let round = entry.accepted.as_ref().map_or(0, |a| a.ballot.round);
                let (command, state) = match (&entry.chosen, &entry.accepted) {
                    (Some(c), _) => (c, EntryState::Chosen),
                    (None, Some(a)) => (&a.value, EntryState::Accepted),
                    (None, None) => return None,
                };
                Some(LogEntry::new(index, round, command.to_string(), state))
            })
            .collect();
        grid = grid.replica(name, entries);
        if log.applied() > 0 {
            grid = grid.commit_index(name, log.applied());
        }
    }
    grid
}
