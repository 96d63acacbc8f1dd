//! The *Idempotent Receiver* pattern: a client that retries sends the same request id again, and
//! the server answers a retry with the reply it already gave instead of executing it twice.
//!
//! Each client runs one request at a time (a Jepsen process does), so the table keeps one entry
//! per client: the newest sequence number seen and its reply once there is one. In a replicated
//! state machine the table is part of the replicated state: it is updated when an entry is
//! applied, on every replica, so a new leader answers retries of its predecessor's requests
//! (Raft §8).

use super::{ProcessId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the table knows about a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen<'a, R> {
    /// A request this client has not sent before: execute it.
    New,
    /// A retry of the client's current request, still being executed: wait for it.
    InProgress,
    /// A retry of a request already answered: send this reply again.
    Answered(&'a R),
    /// A retry of a request older than the client's newest one: the client has moved on; ignore.
    Stale,
}

/// The newest request of each client, and its reply once known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotentReceiver<R> {
    clients: BTreeMap<ProcessId, (u64, Option<R>)>,
}

impl<R> Default for IdempotentReceiver<R> {
    fn default() -> Self {
        IdempotentReceiver {
            clients: BTreeMap::new(),
        }
    }
}

impl<R> IdempotentReceiver<R> {
    pub fn new() -> IdempotentReceiver<R> {
        IdempotentReceiver::default()
    }

    /// Whether `request` is new, a retry, or stale.
    pub fn seen(&self, request: RequestId) -> Seen<'_, R> {
        match self.clients.get(&request.client) {
            None => Seen::New,
            Some((newest, _)) if request.sequence > *newest => Seen::New,
            Some((newest, _)) if request.sequence < *newest => Seen::Stale,
            Some((_, Some(reply))) => Seen::Answered(reply),
            Some((_, None)) => Seen::InProgress,
        }
    }

    /// The request is being executed: retries of it are [`Seen::InProgress`] from now on.
    pub fn start(&mut self, request: RequestId) {
        let entry = self.clients.entry(request.client).or_insert((0, None));
        if request.sequence >= entry.0 {
            *entry = (request.sequence, None);
        }
    }

    /// The request was executed with this reply. A reply for an older request than the client's
    /// newest changes nothing.
    pub fn answer(&mut self, request: RequestId, reply: R) {
        let entry = self.clients.entry(request.client).or_insert((0, None));
        if request.sequence >= entry.0 {
            *entry = (request.sequence, Some(reply));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(client: u16, sequence: u64) -> RequestId {
        RequestId {
            client: ProcessId(client),
            sequence,
        }
    }

    #[test]
    fn a_retry_gets_the_same_reply_and_an_old_request_is_stale() {
        let mut table = IdempotentReceiver::new();
        assert_eq!(table.seen(r(7, 1)), Seen::New);
        table.start(r(7, 1));
        assert_eq!(table.seen(r(7, 1)), Seen::InProgress);
        table.answer(r(7, 1), "ok");
        assert_eq!(table.seen(r(7, 1)), Seen::Answered(&"ok"));
        assert_eq!(table.seen(r(8, 1)), Seen::New, "clients are kept apart");
        table.answer(r(7, 3), "third");
        assert_eq!(table.seen(r(7, 1)), Seen::Stale);
        assert_eq!(table.seen(r(7, 2)), Seen::Stale);
        table.answer(r(7, 2), "late");
        assert_eq!(
            table.seen(r(7, 3)),
            Seen::Answered(&"third"),
            "an older answer never overwrites a newer one"
        );
    }
}
