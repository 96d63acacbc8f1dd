//! The real network runtime: the same sans-IO nodes over tokio, TCP on loopback and real files.
//!
//! | item | what it is |
//! |---|---|
//! | [`Cluster`] | nodes on ephemeral ports of 127.0.0.1, each on its own thread; clients that record a Jepsen history; kill, restart, stop |
//! | [`frame`] | the wire: length-delimited postcard frames with a size limit; bad bytes are refused, never a panic |
//! | [`FileStorage`] | a node's [`Storage`](crate::node::Storage) on the write-ahead log: a sync is an fsync |
//! | [`block_on`] | waits for a future in a notebook cell |
//!
//! A protocol runs here unchanged: the node's [`Host`](crate::node::Host) is the simulator's, and
//! only what carries out its effects differs. A tick is a wall duration ([`Settings::tick`],
//! 10 ms by default) and `now()` counts ticks since the node started; a node's incarnation is
//! kept in a file synced at boot, before it serves, so correlation ids stay unique across real
//! restarts ([`storage::bump_incarnation`]).
//!
//! What the simulator gives and this runtime cannot: the same run again from a seed, faults at a
//! chosen tick, a trace for diagrams. What this runtime shows and the simulator hides: real
//! latency and its tail, real fsync costs, connections that break, ports that must be bound
//! again, and a history judged by the same checker.
//!
//! [`block_on`] lets a notebook cell wait for a future without switching evcxr into async mode
//! (a top-level `.await` makes every later cell about 2 s slower; notebook-toolchain notes).

pub mod cluster;
pub mod frame;
mod journal;
mod runtime;
mod settings;
pub mod storage;

pub use cluster::{Cluster, NetError, RunReport, Workload, quantile};
pub use journal::{Journal, JournalEntry};
pub use runtime::Factory;
pub use settings::Settings;
pub use storage::FileStorage;

use std::future::Future;

/// Runs `future` to completion on a fresh single-threaded tokio runtime with I/O and timers.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime can always be built")
        .block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_io_and_timers_to_completion() {
        let echoed = block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 5];
                socket.read_exact(&mut buf).await.unwrap();
                socket.write_all(&buf).await.unwrap();
            });
            let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
            client.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 5];
            client.read_exact(&mut buf).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            server.await.unwrap();
            buf
        });
        assert_eq!(&echoed, b"hello");
    }
}
