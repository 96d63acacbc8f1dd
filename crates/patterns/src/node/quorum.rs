//! Request/response correlation and quorum counting, the two bookkeeping chores of every
//! replicated protocol (the *Quorum* and *Request Waiting List* patterns).
//!
//! Unlike the reference's callback (spec §1.6, §5.1 item 4), a [`Quorum`] fails as soon as success
//! has become impossible, not only once every node answered or a timeout fired; and it keeps the
//! accepting replies apart from the rejections.

use super::{ProcessId, Tick};
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
    /// The deadline passed first.
    TimedOut,
}

/// Counts replies to one broadcast until a quorum accepts, or cannot.
#[derive(Clone, Debug)]
pub struct Quorum<R> {
    needed: usize,
    cluster_size: usize,
    deadline: Tick,
    accepted: BTreeMap<ProcessId, R>,
    rejected: BTreeMap<ProcessId, R>,
    state: QuorumState,
}

/// The smallest majority of `cluster_size` nodes: any two majorities share a node.
pub fn majority(cluster_size: usize) -> usize {
    cluster_size / 2 + 1
}

impl<R> Quorum<R> {
    /// A majority of `cluster_size` nodes must accept before `deadline`.
    pub fn majority(cluster_size: usize, deadline: Tick) -> Quorum<R> {
        Quorum::of(majority(cluster_size), cluster_size, deadline)
    }

    /// `needed` of `cluster_size` nodes must accept before `deadline` (an R or W of a
    /// Dynamo-style store).
    pub fn of(needed: usize, cluster_size: usize, deadline: Tick) -> Quorum<R> {
        assert!(
            needed >= 1 && needed <= cluster_size,
            "quorum of {needed} in {cluster_size}"
        );
        Quorum {
            needed,
            cluster_size,
            deadline,
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

    /// Moves a waiting round to [`QuorumState::TimedOut`] once `now` reaches the deadline.
    pub fn expire(&mut self, now: Tick) -> QuorumState {
        if self.state == QuorumState::Waiting && now >= self.deadline {
            self.state = QuorumState::TimedOut;
        }
        self.state
    }

    pub fn state(&self) -> QuorumState {
        self.state
    }

    pub fn deadline(&self) -> Tick {
        self.deadline
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

/// Outstanding requests keyed by a correlation id, each with a deadline.
#[derive(Clone, Debug)]
pub struct Pending<T> {
    next_id: u64,
    entries: BTreeMap<u64, (Tick, T)>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            next_id: 1,
            entries: BTreeMap::new(),
        }
    }
}

impl<T> Pending<T> {
    pub fn new() -> Pending<T> {
        Pending::default()
    }

    /// Registers `value` until `deadline` and returns its correlation id. Ids count up from 1, so
    /// runs stay reproducible (no random UUIDs; spec §6 item 7).
    pub fn insert(&mut self, deadline: Tick, value: T) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(id, (deadline, value));
        id
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        self.entries.get_mut(&id).map(|(_, v)| v)
    }

    /// Removes a request whose answer arrived. A late or duplicate answer finds nothing.
    pub fn remove(&mut self, id: u64) -> Option<T> {
        self.entries.remove(&id).map(|(_, v)| v)
    }

    /// Removes and returns every request whose deadline is at or before `now`, oldest first.
    pub fn expire(&mut self, now: Tick) -> Vec<(u64, T)> {
        let due: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, (d, _))| *d <= now)
            .map(|(id, _)| *id)
            .collect();
        due.into_iter()
            .filter_map(|id| self.entries.remove(&id).map(|(_, v)| (id, v)))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u16) -> ProcessId {
        ProcessId(n)
    }

    #[test]
    fn majority_sizes() {
        // n: 1 2 3 4 5 6 7 → majority 1 2 2 3 3 4 4. Two majorities of 4 must share a node: 3 + 3 > 4.
        let table = [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)];
        for (n, m) in table {
            assert_eq!(majority(n), m, "majority of {n}");
        }
    }

    #[test]
    fn reached_on_the_majority_th_acceptance() {
        let mut q = Quorum::majority(3, 100);
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
        let mut q = Quorum::of(3, 5, 100);
        q.record(p(0), (), false);
        q.record(p(1), (), false);
        assert_eq!(q.state(), QuorumState::Waiting);
        assert_eq!(q.record(p(2), (), false), QuorumState::Impossible);
    }

    #[test]
    fn times_out_only_while_waiting() {
        let mut q: Quorum<()> = Quorum::majority(3, 10);
        assert_eq!(q.expire(9), QuorumState::Waiting);
        assert_eq!(q.expire(10), QuorumState::TimedOut);
        assert_eq!(q.record(p(0), (), true), QuorumState::TimedOut);
    }

    #[test]
    fn pending_requests_expire_in_order_and_ignore_late_answers() {
        let mut pending = Pending::new();
        let a = pending.insert(5, "a");
        let b = pending.insert(3, "b");
        let c = pending.insert(9, "c");
        assert_eq!(pending.expire(5), vec![(a, "a"), (b, "b")]);
        assert_eq!(
            pending.remove(b),
            None,
            "an expired request no longer matches its answer"
        );
        assert_eq!(pending.remove(c), Some("c"));
        assert!(pending.is_empty());
    }
}
