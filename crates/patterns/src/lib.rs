//! # Patterns of Distributed Systems, runnable
//!
//! The support crate of the workshop. Every pattern is a sans-IO state machine ([`node`]) driven by
//! a deterministic simulator ([`sim`]) or by tokio ([`net`]); every run leaves a client
//! [`history`] that the [`check`]ers judge and a trace that [`viz`] draws.
//!
//! | module | what it holds |
//! |---|---|
//! | [`node`] | the node interface: messages, timers, client requests, storage with explicit sync |
//! | [`sim`] | the simulator: logical ticks, one seeded RNG, faults, traces |
//! | [`history`] | Jepsen histories and EDN |
//! | [`check`] | linearizability and sequential-consistency checkers |
//! | [`viz`] | figures, charts, tables, message sequence diagrams |
//! | [`math`] | Little's Law, queueing and failure math |
//! | [`wal`] | the write-ahead log on real files |
//! | [`quorum_kv`] | quorum reads and writes, versioned values, read repair |

pub mod echo;
pub mod history;
pub mod kv;
#[cfg(feature = "net")]
pub mod net;
pub mod node;
pub mod quorum_kv;
pub mod sim;
pub mod viz;
pub mod wal;
