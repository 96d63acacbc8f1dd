//! Quorum counting (the *Quorum* pattern).
//!
//! Unlike the reference's callback (spec §1.6, §5.1 item 4), a [`Quorum`] fails as soon as success
//! has become impossible, not only once every node answered or a timeout fired; and it keeps the
//! accepting replies apart from the rejections. It has no deadline of its own: a round keeps its
//! quorum in a [`super::Pending`] entry, whose deadline is the round's.

use super::ProcessId;
use std::collections::BTreeMap;

/// Where a quorum round stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum QuorumState {
    /// Neither enough acceptances yet nor too many rejections.
    Waiting,
    /// Enough nodes accepted.
    Reached,
    /// So many nodes rejected that the remaining ones cannot make up the quorum.
    Impossible,
}

/// Counts replies to one broadcast until a quorum accepts, or cannot.
#[derive(Clone, Debug)]
pub struct Quorum<R> {
    needed: usize,
    cluster_size: usize,
    accepted: BTreeMap<ProcessId, R>,
    rejected: BTreeMap<ProcessId, R>,
    state: QuorumState,
}

pub use crate::math::failures::majority;

impl<R> Quorum<R> {
    /// A majority of `cluster_size` nodes must accept.
    pub fn majority(cluster_size: usize) -> Quorum<R> {
        Quorum::of(majority(cluster_size), cluster_size)
    }

    /// `needed` of `cluster_size` nodes must accept (an R or W of a Dynamo-style store).
    pub fn of(needed: usize, cluster_size: usize) -> Quorum<R> {
        assert!(
            needed >= 1 && needed <= cluster_size,
            "quorum of {needed} in {cluster_size}"
        );
        Quorum {
            needed,
            cluster_size,
            accepted: BTreeMap::new(),
            rejected: BTreeMap::new(),
            state: QuorumState::Waiting,
        }
    }

    /// Records `from`'s reply. A second reply from the same node, or any reply after the outcome is
    /// decided, changes nothing.
    pub fn record(&mut self, from: ProcessId, reply: R, accepts: bool) -> QuorumState {
        if self.state != QuorumState::Waiting
            || self.accepted.contains_key(&from)
            || self.rejected.contains_key(&from)
        {
            return self.state;
        }
        if accepts {
            self.accepted.insert(from, reply);
        } else {
            self.rejected.insert(from, reply);
        }
        if self.accepted.len() >= self.needed {
            self.state = QuorumState::Reached;
        } else if self.rejected.len() > self.cluster_size - self.needed {
            self.state = QuorumState::Impossible;
        }
        self.state
    }

    pub fn state(&self) -> QuorumState {
        self.state
    }

    /// The accepting replies, by node.
    pub fn accepted(&self) -> &BTreeMap<ProcessId, R> {
        &self.accepted
    }

    /// The rejecting replies, by node.
    pub fn rejected(&self) -> &BTreeMap<ProcessId, R> {
        &self.rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u16) -> ProcessId {
        ProcessId(n)
    }

    #[test]
    fn reached_on_the_majority_th_acceptance() {
        let mut q = Quorum::majority(3);
        assert_eq!(q.record(p(0), "ok", true), QuorumState::Waiting);
        assert_eq!(
            q.record(p(0), "dup", true),
            QuorumState::Waiting,
            "a duplicate counts once"
        );
        assert_eq!(q.record(p(1), "ok", true), QuorumState::Reached);
        assert_eq!(q.record(p(2), "late", false), QuorumState::Reached);
        assert_eq!(q.accepted().len(), 2);
        assert!(
            q.rejected().is_empty(),
            "replies after the decision are not recorded"
        );
    }

    #[test]
    fn impossible_as_soon_as_too_many_reject() {
        // 5 nodes, W = 3: the third rejection leaves only two nodes that could still accept.
        let mut q = Quorum::of(3, 5);
        q.record(p(0), (), false);
        q.record(p(1), (), false);
        assert_eq!(q.state(), QuorumState::Waiting);
        assert_eq!(q.record(p(2), (), false), QuorumState::Impossible);
    }
}
