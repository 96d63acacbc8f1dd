//! A loopback cluster's settings: read by the cluster (its clients, its directories) and by each
//! node's runtime (ticks, frame limit, fsync), so they stand apart from both.

use super::frame::FRAME_BYTES_MAX;
use crate::sim::ClientPolicy;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

/// Settings of a cluster, each with its default.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The wall duration of one tick: timers and timeouts count ticks (default 10 ms).
    pub tick: Duration,
    /// The largest frame a node accepts (default 1 MiB).
    pub frame_bytes_max: usize,
    /// Whether a sync is an fsync (default yes).
    pub fsync: bool,
    /// The address nodes listen on (default 127.0.0.1: nothing outside this machine reaches them).
    pub bind: IpAddr,
    /// Where the nodes keep their files (default: a temporary directory removed with the cluster).
    pub data_dir: Option<PathBuf>,
    /// The seed of the nodes' random streams and of the workload.
    pub seed: u64,
    /// The clients, by name (default alice, bob, carol, dave, eve).
    pub clients: Vec<String>,
    /// How clients wait, retry and follow redirects; its ticks are this cluster's ticks.
    pub client_policy: ClientPolicy,
    /// Print the journal's errors on stderr as they happen (default no: see [`Cluster::journal`](super::Cluster::journal)).
    pub log_to_stderr: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tick: Duration::from_millis(10),
            frame_bytes_max: FRAME_BYTES_MAX,
            fsync: true,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            data_dir: None,
            seed: 0,
            clients: ["alice", "bob", "carol", "dave", "eve"]
                .map(String::from)
                .to_vec(),
            client_policy: ClientPolicy::default(),
            log_to_stderr: false,
        }
    }
}
