//! The *Replicated Log* every replica of the Paxos log and of Multi-Paxos keeps: per index, what
//! its acceptor accepted and the value it knows was chosen; the chosen prefix applied, in index
//! order, to a key-value store; and the records that put all of it on disk.
//!
//! Two rules live here because both families need them:
//! - **a chosen entry never changes** ([`Log::choose`]): a replica told of a different value for an
//!   index it knows chosen keeps its own and says so; in a correct run that never happens;
//! - **a request is applied once** ([`KvStore::apply`]): the value of an index is a client's
//!   operation *with its request id*, so two equal writes from two clients are two entries, and
//!   the same request chosen at two indexes (a retry, or a value recovered by another proposer)
//!   takes effect at the first and is answered from the *Idempotent Receiver*'s table at the
//!   second. The table is part of the replicated state: it is rebuilt by applying the log, on
//!   every replica, so a new leader answers a retry of its predecessor's request.
//!
//! Indexes count from 1, as Raft's do and as [`crate::viz::LogGrid`] draws them (the reference
//! counts from 0, and its high-water mark starts at −1; ours starts at 0, "nothing applied").

use crate::node::{IdempotentReceiver, RequestId, Seen, Storage, StorageError};
use crate::protocols::kv::{KvOp, KvReply};
use crate::protocols::paxos::{Accepted, Ballot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The value of one log index: a client's operation with the request it came in, or a no-op
/// (what a new leader puts in a hole of the log, so that the entries after it can be applied).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Op { request: RequestId, op: KvOp },
    NoOp,
}

impl Command {
    /// The request a command carries: its identity (`None` for a no-op).
    pub fn request(&self) -> Option<RequestId> {
        match self {
            Command::Op { request, .. } => Some(*request),
            Command::NoOp => None,
        }
    }

    /// The operation, if the command is not a no-op.
    pub fn op(&self) -> Option<&KvOp> {
        match self {
            Command::Op { op, .. } => Some(op),
            Command::NoOp => None,
        }
    }
}

impl fmt::Display for Command {
    /// As a log grid writes it: `x=v1`, `cas x v1→v2`, `read x`, `no-op`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::NoOp => write!(f, "no-op"),
            Command::Op { op, .. } => match op {
                KvOp::Write { key, value } => write!(f, "{key}={value}"),
                KvOp::Cas { key, expected, new } => write!(f, "cas {key} {expected}→{new}"),
                KvOp::Read { key } => write!(f, "read {key}"),
            },
        }
    }
}

/// One index of a replica's log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// What this replica's acceptor accepted here last, and in which ballot.
    pub accepted: Option<Accepted<Command>>,
    /// The value this replica knows was chosen here.
    pub chosen: Option<Command>,
}

/// What a replica writes to its storage's log, one record per change; a restarted replica replays
/// them all ([`replay`]). A record torn by a crash is cut on restart, and since every answer that
/// depends on a record waits for its sync, what was cut was never told to anyone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// A promise: for one index (the Paxos log), or for every index (Multi-Paxos: `None`).
    Promise {
        index: Option<u64>,
        ballot: Ballot,
    },
    Accept {
        index: u64,
        ballot: Ballot,
        command: Command,
    },
    Chosen {
        index: u64,
        command: Command,
    },
}

/// The key-value state machine the chosen log is applied to, with the table of answered requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    values: BTreeMap<String, String>,
    sessions: IdempotentReceiver<KvReply>,
}

impl KvStore {
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Every key and its value.
    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// The reply already given to `request`, if it was applied and is its client's newest.
    pub fn answered(&self, request: RequestId) -> Option<&KvReply> {
        match self.sessions.seen(request) {
            Seen::Answered(reply) => Some(reply),
            _ => None,
        }
    }

    /// Applies a chosen command: returns the request and its reply, or `None` for a no-op and for
    /// a request whose client has moved on. A request applied before is not applied again: it gets
    /// the reply of its first application.
    pub fn apply(&mut self, command: &Command) -> Option<(RequestId, KvReply)> {
        let Command::Op { request, op } = command else {
            return None;
        };
        let reply = match self.sessions.seen(*request) {
            Seen::Answered(reply) => reply.clone(),
            // Stale: the client gave up on it and sent a newer request; that it was chosen at all
            // is allowed (the client recorded it as maybe applied), but it must not overwrite what
            // the newer requests did. In progress: never here, the table is updated only on apply.
            Seen::Stale | Seen::InProgress => return None,
            Seen::New => {
                let reply = execute(&mut self.values, op);
                self.sessions.answer(*request, reply.clone());
                reply
            }
        };
        Some((*request, reply))
    }
}

/// What an operation does to the store and answers: set, compare-and-set, read.
pub fn execute(values: &mut BTreeMap<String, String>, op: &KvOp) -> KvReply {
    match op {
        KvOp::Read { key } => KvReply::Value(values.get(key).cloned()),
        KvOp::Write { key, value } => {
            values.insert(key.clone(), value.clone());
            KvReply::Written
        }
        KvOp::Cas { key, expected, new } => {
            let swapped = values.get(key) == Some(expected);
            if swapped {
                values.insert(key.clone(), new.clone());
            }
            KvReply::Swapped(swapped)
        }
    }
}

/// A replica's log and its state machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    entries: BTreeMap<u64, Entry>,
    /// Every index up to here is known chosen.
    chosen_prefix: u64,
    /// Every index up to here is applied: the *High-Water Mark*.
    applied: u64,
    store: KvStore,
}

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    pub fn entry(&self, index: u64) -> Option<&Entry> {
        self.entries.get(&index)
    }

    /// Every index holding something, in order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, &Entry)> {
        self.entries.iter().map(|(i, e)| (*i, e))
    }

    /// The highest index holding anything (0 for an empty log).
    pub fn last_index(&self) -> u64 {
        self.entries.keys().next_back().copied().unwrap_or(0)
    }

    /// The value known chosen at `index`.
    pub fn chosen(&self, index: u64) -> Option<&Command> {
        self.entries.get(&index).and_then(|e| e.chosen.as_ref())
    }

    /// The highest index such that it and every index below are known chosen.
    pub fn chosen_prefix(&self) -> u64 {
        self.chosen_prefix
    }

    /// The first index not known chosen: where a proposer that knows the log starts.
    pub fn first_unchosen(&self) -> u64 {
        self.chosen_prefix + 1
    }

    /// The high-water mark: every index up to here has been applied to the store.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    pub fn store(&self) -> &KvStore {
        &self.store
    }

    /// The value of `key` in the store.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.store.value(key)
    }

    /// Records that this replica's acceptor accepted `command` at `index` in `ballot`.
    pub fn accept(&mut self, index: u64, ballot: Ballot, command: Command) {
        debug_assert!(index >= 1, "log indexes start at 1");
        self.entries.entry(index).or_default().accepted = Some(Accepted {
            ballot,
            value: command,
        });
    }

    /// Records that `command` was chosen at `index`: `Ok(true)` if that is news, `Ok(false)` if it
    /// was known, `Err(known)` if another value is known chosen there (which is kept: a chosen
    /// entry never changes).
    pub fn choose(&mut self, index: u64, command: Command) -> Result<bool, Command> {
        debug_assert!(index >= 1, "log indexes start at 1");
        let entry = self.entries.entry(index).or_default();
        match &entry.chosen {
            Some(known) if *known == command => return Ok(false),
            Some(known) => return Err(known.clone()),
            None => entry.chosen = Some(command),
        }
        while self.chosen(self.chosen_prefix + 1).is_some() {
            self.chosen_prefix += 1;
        }
        Ok(true)
    }

    /// Applies every chosen entry after the high-water mark, in order, and stops at the first
    /// index not known chosen. Returns each applied index with the request it answered.
    pub fn apply_chosen(&mut self) -> Vec<(u64, Option<(RequestId, KvReply)>)> {
        let mut applied = Vec::new();
        while self.applied < self.chosen_prefix {
            let index = self.applied + 1;
            let command = self
                .chosen(index)
                .cloned()
                .expect("the chosen prefix is chosen");
            applied.push((index, self.store.apply(&command)));
            self.applied = index;
        }
        applied
    }

    /// Replays one record of [`replay`].
    fn restore(&mut self, record: Record, promises: &mut BTreeMap<Option<u64>, Ballot>) {
        match record {
            Record::Promise { index, ballot } => {
                let promised = promises.entry(index).or_insert(ballot);
                *promised = (*promised).max(ballot);
            }
            Record::Accept {
                index,
                ballot,
                command,
            } => self.accept(index, ballot, command),
            Record::Chosen { index, command } => {
                // A conflicting record can only come from a broken variant: keep the first.
                let _ = self.choose(index, command);
            }
        }
    }
}

/// Writes a record; a handler syncs before any answer that depends on it.
pub fn write(storage: &mut dyn Storage, record: &Record) {
    storage.append_json(record);
}

/// A restarted replica's log and promises, rebuilt from every record that survived (the chosen
/// prefix applied again), with the highest promise per index (`None`: every index).
pub fn replay(storage: &dyn Storage) -> Result<(Log, BTreeMap<Option<u64>, Ballot>), StorageError> {
    let mut log = Log::new();
    let mut promises = BTreeMap::new();
    for index in 1..=storage.last_index() {
        if let Some(record) = storage.entry_json::<Record>(index)? {
            log.restore(record, &mut promises);
        }
    }
    log.apply_chosen();
    Ok((log, promises))
}

/// The records of a durable log that decode (what an invariant reads from a node's disk).
pub fn records(durable: &[Vec<u8>]) -> impl Iterator<Item = Record> + '_ {
    durable
        .iter()
        .filter_map(|bytes| serde_json::from_slice(bytes).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{MemoryStorage, ProcessId};

    fn request(client: u16, sequence: u64) -> RequestId {
        RequestId {
            client: ProcessId(client),
            sequence,
        }
    }

    fn op(client: u16, sequence: u64, op: KvOp) -> Command {
        Command::Op {
            request: request(client, sequence),
            op,
        }
    }

    #[test]
    fn the_store_sets_swaps_and_reads_and_applies_a_request_once() {
        let mut store = KvStore::default();
        // (command, expected reply, value of x afterwards)
        let table = [
            (op(9, 1, KvOp::read("x")), Some(KvReply::Value(None)), None),
            (
                op(9, 2, KvOp::write("x", "v1")),
                Some(KvReply::Written),
                Some("v1"),
            ),
            // A compare-and-set that finds another value does nothing.
            (
                op(8, 1, KvOp::cas("x", "v0", "v2")),
                Some(KvReply::Swapped(false)),
                Some("v1"),
            ),
            (
                op(8, 2, KvOp::cas("x", "v1", "v2")),
                Some(KvReply::Swapped(true)),
                Some("v2"),
            ),
            // The same write chosen again (a retry): answered as before, not applied again.
            (
                op(9, 2, KvOp::write("x", "v1")),
                Some(KvReply::Written),
                Some("v2"),
            ),
            // Two equal writes from two requests are two entries: the second takes effect.
            (
                op(7, 1, KvOp::write("x", "v1")),
                Some(KvReply::Written),
                Some("v1"),
            ),
            (
                op(7, 2, KvOp::write("x", "v1")),
                Some(KvReply::Written),
                Some("v1"),
            ),
            // A client's older request chosen after its newer one: the client moved on; no effect.
            (op(8, 1, KvOp::cas("x", "v1", "v3")), None, Some("v1")),
            (Command::NoOp, None, Some("v1")),
        ];
        for (command, reply, x) in table {
            let got = store.apply(&command).map(|(_, r)| r);
            assert_eq!(got, reply, "{command:?}");
            assert_eq!(store.value("x"), x, "after {command:?}");
        }
        assert_eq!(store.answered(request(8, 2)), Some(&KvReply::Swapped(true)));
        assert_eq!(
            store.answered(request(8, 1)),
            None,
            "superseded by the newer request"
        );
    }

    #[test]
    fn a_chosen_entry_never_changes_and_the_prefix_applies_in_order() {
        let mut log = Log::new();
        let a = op(9, 1, KvOp::write("x", "a"));
        let b = op(9, 2, KvOp::write("x", "b"));
        assert_eq!(log.choose(2, b.clone()), Ok(true));
        assert_eq!(log.chosen_prefix(), 0, "index 1 is a hole");
        assert!(log.apply_chosen().is_empty(), "nothing applies past a hole");
        assert_eq!(log.choose(1, a.clone()), Ok(true));
        assert_eq!(log.chosen_prefix(), 2);
        assert_eq!(log.choose(1, a.clone()), Ok(false), "told again: no news");
        assert_eq!(
            log.choose(1, b.clone()),
            Err(a.clone()),
            "never overwritten"
        );
        let applied: Vec<u64> = log.apply_chosen().iter().map(|(i, _)| *i).collect();
        assert_eq!(applied, [1, 2]);
        assert_eq!((log.applied(), log.value("x")), (2, Some("b")));
    }

    #[test]
    fn a_replica_replays_what_survived_a_crash() {
        let mut disk = MemoryStorage::new();
        let ballot = Ballot::new(1, ProcessId(0));
        let a = op(9, 1, KvOp::write("x", "a"));
        let records = [
            Record::Promise {
                index: None,
                ballot,
            },
            Record::Accept {
                index: 1,
                ballot,
                command: a.clone(),
            },
            Record::Chosen {
                index: 1,
                command: a.clone(),
            },
        ];
        for record in &records {
            write(&mut disk, record);
        }
        disk.make_durable(2);
        let (log, promises) = replay(&disk).unwrap();
        assert_eq!(log.chosen(1), Some(&a), "memory sees every record");
        assert_eq!(log.value("x"), Some("a"));
        disk.crash(false);
        let (log, promises_after) = replay(&disk).unwrap();
        assert_eq!(promises_after, promises);
        assert_eq!(log.chosen(1), None, "the unsynced record is gone");
        assert_eq!(log.entry(1).unwrap().accepted.as_ref().unwrap().value, a);
        assert_eq!(log.applied(), 0);
    }
}
