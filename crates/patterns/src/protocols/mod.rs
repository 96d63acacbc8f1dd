//! The protocols, one module per family, each read top to bottom: the problem and the rule (with
//! the paper and the pattern's name), the state, the messages, the rules as small pure functions,
//! then the handlers. Each has its correct form and its classic broken variants as switches in its
//! `Config`.
//!
//! | module | pattern |
//! |---|---|
//! | [`echo`] | the smallest protocol: a request bounced off a peer |
//! | [`kv`] | the client vocabulary every key-value protocol shares: read, write, compare-and-set |
//! | [`quorum_kv`] | *Quorum*, *Versioned Value*, read repair (Dynamo) |
//! | [`counter`] | the counter service Day 2 starts with: increment and get |
//! | [`naive_replication`] | one server, then copies kept in step naively |
//! | [`two_phase_commit`] | *Two-Phase Commit* (two-phase execution), and three-phase with recovery fenced by epochs |
//! | [`generation_voting`] | *Generation Clock* by majority vote: Paxos's first phase, without values |
//! | [`paxos`] | single-value *Paxos* with durable acceptors; its [`paxos::Ballot`] (*Generation Clock*) and acceptor rules serve the whole Paxos family |
//! | [`paxos_log`] | the *Replicated Log* as one Paxos instance per index; the log, its key-value state machine and its invariants serve Multi-Paxos too |
//! | [`multi_paxos`] | *Multi-Paxos*: a *Leader* runs phase 1 once for every index; elected by hand, on request, or by *HeartBeat* timeouts |
//! | [`raft`] | *Leader and Followers*, *Replicated Log*, *High-Water Mark*: Raft |

pub mod counter;
pub mod echo;
pub mod generation_voting;
pub mod kv;
pub mod multi_paxos;
pub mod naive_replication;
pub mod paxos;
pub mod paxos_log;
pub mod quorum_kv;
pub mod raft;
pub mod two_phase_commit;

/// Every protocol `patterns explore` knows, in lesson order.
pub fn catalog() -> Vec<Box<dyn crate::explore::Protocol>> {
    vec![
        Box::new(quorum_kv::Explorer),
        Box::new(naive_replication::Explorer),
        Box::new(two_phase_commit::TwoPhaseExplorer),
        Box::new(two_phase_commit::ThreePhaseExplorer),
        Box::new(generation_voting::Explorer::default()),
        Box::new(paxos::Explorer::default()),
        Box::new(paxos_log::Explorer::default()),
        Box::new(multi_paxos::Explorer::default()),
        Box::new(multi_paxos::Explorer::heartbeats()),
        Box::new(raft::Explorer),
    ]
}
