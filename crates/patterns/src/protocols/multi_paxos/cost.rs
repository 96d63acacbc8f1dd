//! Messages per operation, side by side: the Paxos log walking from index 1 (the reference), the
//! Paxos log starting at the first index not known chosen, and Multi-Paxos with a stable leader
//! (no prepare per entry: accept, accepted and commit, once per command).

use super::{Config, MultiPaxos, MultiPaxosTimer};
use crate::protocols::paxos_log::cost::{messages_per_operation, paxos_log_costs, quiet_cluster};
use crate::protocols::paxos_log::{self, Start};
use crate::sim::SimError;

/// The messages each of `operations` writes in a row costs a Multi-Paxos cluster of `config`
/// whose leader (athens) was elected by hand first; the election is not counted.
pub fn multi_paxos_costs(config: Config, operations: usize) -> Result<Vec<u64>, SimError> {
    let mut sim = quiet_cluster(move |_| MultiPaxos::new(config.clone()))?;
    sim.fire_timer("athens", MultiPaxosTimer::Elect)?;
    sim.run_until(200, |s| s.node("athens").is_ok_and(MultiPaxos::is_leader))?;
    messages_per_operation(&mut sim, "athens", operations)
}

/// One row of the comparison: a protocol and what each of its operations cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostRow {
    pub protocol: &'static str,
    pub messages: Vec<u64>,
}

/// The three forms over `operations` writes in a row, each on a fresh three-node cluster.
pub fn compare(operations: usize) -> Result<Vec<CostRow>, SimError> {
    let walk = paxos_log::Config::default().start(Start::Beginning);
    Ok(vec![
        CostRow {
            protocol: "Paxos log, from index 1",
            messages: paxos_log_costs(walk, operations)?,
        },
        CostRow {
            protocol: "Paxos log, from the first unchosen index",
            messages: paxos_log_costs(paxos_log::Config::default(), operations)?,
        },
        CostRow {
            protocol: "Multi-Paxos, stable leader",
            messages: multi_paxos_costs(Config::default(), operations)?,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stable_leader_costs_three_message_kinds_per_command_and_no_prepare() {
        let rows = compare(5).unwrap();
        let [walk, fixed, multi] = [&rows[0], &rows[1], &rows[2]].map(|r| &r.messages);
        // Accept, accepted and commit, to and from two peers.
        assert!(multi.iter().all(|&m| m == 6), "{multi:?}");
        assert!(fixed.iter().all(|&m| m == 10), "{fixed:?}");
        assert_eq!(walk[4], 50, "{walk:?}");
    }
}
