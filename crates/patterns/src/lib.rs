//! # Patterns of Distributed Systems, runnable
//!
//! The support crate of the workshop. Every pattern is a sans-IO state machine ([`node`]) driven by
//! a deterministic simulator ([`sim`]) or by tokio (`net`, feature `net`); every run leaves a client
//! [`history`] that the [`check`]ers judge and a trace that [`viz`] draws.
//!
//! | module | what it holds |
//! |---|---|
//! | [`node`] | the node interface: messages, timers, client requests, request deadlines, quorums, storage with explicit sync, coroutines, the host a runtime wraps around a node |
//! | `net` | (feature `net`) the same nodes on tokio: TCP on loopback, storage on the write-ahead log, a cluster a notebook cell starts, kills, restarts and stops |
//! | [`sim`] | the simulator: logical ticks, one seeded RNG, faults as values, clients that retry, traces, the nemesis and the explorer |
//! | [`protocols`] | the patterns themselves, one module per family |
//! | [`explore`] | the explorer: seeds under a nemesis, invariants, linearizability, liveness; shrunk counterexamples |
//! | [`history`] | Jepsen histories and EDN |
//! | [`check`] | linearizability and sequential-consistency checkers |
//! | [`viz`] | figures, charts, tables, message sequence diagrams |
//! | [`math`] | Little's Law, queueing and failure math, queue and fleet simulations |
//! | [`disk`] | the disk lab: a load generator and an `iostat -x` sampler on `/proc/diskstats` |
//! | [`exercise`] | the lessons' exercises: run the learner's code without letting its panic escape the check cell |
//! | [`wal`] | the write-ahead log on real files |
//! | [`tla`] | TLC on the TLA+ specs of `tla/`: its verdict, figures and counterexample trace as data |

pub mod check;
#[cfg(unix)]
pub mod disk;
pub mod exercise;
pub mod explore;
pub mod history;
pub mod math;
#[cfg(feature = "net")]
pub mod net;
pub mod node;
pub mod protocols;
pub mod sim;
pub mod tla;
pub mod viz;
pub mod wal;

/// plotters, re-exported so a notebook drawing its own [`viz::Figure`] uses the very version and
/// features this crate was built with: a second `:dep plotters` would be resolved afresh by evcxr
/// and compiled again.
pub use plotters;
/// polars, re-exported for the same reason (`use patterns::polars::prelude::*;` then `df!`): a
/// `:dep polars` with other features would rebuild polars, the heaviest dependency, in the cell.
#[cfg(feature = "tables")]
pub use polars;
/// tokio, re-exported for [`net::block_on`] futures written in a cell (timers, sockets) without a
/// second `:dep`.
#[cfg(feature = "net")]
pub use tokio;
