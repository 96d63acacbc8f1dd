//! Request correlation with deadlines: the *Request Waiting List* pattern (tickloom's
//! `RequestWaitingList`, spec §1.5), with one call that sets the id, the deadline and its timer.
//!
//! Two fixes over the reference live here, once for every protocol. Ids count up per node and
//! carry the node's incarnation, so a reply addressed to an earlier life of a restarted node can
//! never be taken for the answer to a new request (issue: a quorum read returned another key's
//! value after a restart). And the deadline is kept in one place: the entry and the runtime's
//! timer are made and removed together.

use super::{Context, Effect, Node, Tick};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Which request a reply answers: the sender's incarnation, then a number counting up within it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Correlation {
    pub incarnation: u64,
    pub sequence: u64,
}

impl fmt::Display for Correlation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.incarnation, self.sequence)
    }
}

/// Outstanding requests keyed by correlation id, each with a deadline.
#[derive(Clone, Debug)]
pub struct Pending<T> {
    entries: BTreeMap<Correlation, (Tick, T)>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            entries: BTreeMap::new(),
        }
    }
}

impl<T> Pending<T> {
    pub fn new() -> Pending<T> {
        Pending::default()
    }

    /// Registers `value` for `timeout_ticks` and returns its correlation id. When the deadline
    /// passes first, the runtime calls [`Node::on_expired`] with the id.
    pub fn insert<N: Node + ?Sized>(
        &mut self,
        ctx: &mut Context<'_, N>,
        timeout_ticks: Tick,
        value: T,
    ) -> Correlation {
        let correlation = ctx.next_correlation();
        let after = timeout_ticks.max(1);
        ctx.push(Effect::SetDeadline { correlation, after });
        self.entries.insert(correlation, (ctx.now() + after, value));
        correlation
    }

    pub fn get(&self, correlation: Correlation) -> Option<&T> {
        self.entries.get(&correlation).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, correlation: Correlation) -> Option<&mut T> {
        self.entries.get_mut(&correlation).map(|(_, v)| v)
    }

    /// Removes a request whose answer arrived, and its deadline. A late or duplicate answer, or
    /// one meant for an earlier life of this node, finds nothing.
    pub fn remove<N: Node + ?Sized>(
        &mut self,
        ctx: &mut Context<'_, N>,
        correlation: Correlation,
    ) -> Option<T> {
        let (_, value) = self.entries.remove(&correlation)?;
        ctx.push(Effect::CancelDeadline { correlation });
        Some(value)
    }

    /// Takes out a request whose deadline passed (from [`Node::on_expired`]); `None` if it was
    /// answered in the meantime.
    pub fn take_expired(&mut self, correlation: Correlation) -> Option<T> {
        self.entries.remove(&correlation).map(|(_, v)| v)
    }

    /// When the request expires.
    pub fn deadline(&self, correlation: Correlation) -> Option<Tick> {
        self.entries.get(&correlation).map(|(d, _)| *d)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Correlation, &T)> {
        self.entries.iter().map(|(c, (_, v))| (*c, v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
