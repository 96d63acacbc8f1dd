//! The network runtime's cost, side by side in one run:
//! 1. echo over the runtime (client → frame → node task → handler → reply) against a minimal
//!    hand-written tokio echo server that bounces the same frames, with 1 and 64 concurrent
//!    clients: requests/s, p50 and p99 latency, and the runtime's share of the hand-written
//!    server's throughput (target ≥ 50 %);
//! 2. the quorum store (majorities, synchronous read repair, read-before-write versions) on a
//!    3-node loopback cluster, fsync on and off: operations/s and latency.
//!
//! Both sides' clients are the same code on one thread; each server runs on a thread of its own.
//! The machine's load average is printed before and after: figures from a busy machine say so.
//!
//! `cargo bench --bench net` (full sizes) or `BENCH_QUICK=1 cargo bench --bench net` (seconds).

use patterns::net::frame::{FRAME_BYTES_MAX, Frame, encode, read_frame};
use patterns::net::{Cluster, Settings, Workload, block_on, quantile};
use patterns::node::{ProcessId, RequestId};
use patterns::protocols::echo::{Echo, EchoServer};
use patterns::protocols::kv::KvMix;
use patterns::protocols::quorum_kv::{Config, QuorumKv, ReadRepair, Versioning};
use patterns::wal::ScratchDir;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type EchoFrame = Frame<(), Echo, String>;

struct Measured {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn row(&self, server: &str, clients: usize) -> String {
        format!(
            "| {server} | {clients} | {} | {:.0} | {:.0} | {:.0} |",
            self.requests,
            self.per_second(),
            quantile(&self.latencies, 0.5).as_secs_f64() * 1e6,
            quantile(&self.latencies, 0.99).as_secs_f64() * 1e6,
        )
    }
}

/// `clients` connections, each sending `per_client` echo requests one after another.
fn load(address: SocketAddr, clients: usize, per_client: usize) -> Measured {
    block_on(async move {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            tasks.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(address).await.expect("server listens");
                stream.set_nodelay(true).expect("nodelay");
                let mut buffer = Vec::new();
                let mut latencies = Vec::with_capacity(per_client);
                for sequence in 0..per_client as u64 {
                    let request = EchoFrame::Request {
                        request: RequestId {
                            client: ProcessId(1 + c as u16),
                            sequence,
                        },
                        operation: Echo::new("ping"),
                    };
                    let bytes = encode(&request).expect("an echo request encodes");
                    let sent = Instant::now();
                    stream.write_all(&bytes).await.expect("server reads");
                    let answer: Option<EchoFrame> =
                        read_frame(&mut stream, FRAME_BYTES_MAX, &mut buffer)
                            .await
                            .expect("server answers");
                    assert!(answer.is_some(), "the server closed the connection");
                    latencies.push(sent.elapsed());
                }
                latencies
            }));
        }
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.expect("client task"));
        }
        Measured {
            requests: clients * per_client,
            elapsed: started.elapsed(),
            latencies,
        }
    })
}

/// The hand-written server: one thread, one task per connection, frames bounced back unchanged.
fn hand_written_echo_server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        block_on(async move {
            let listener = TcpListener::from_std(listener).expect("tokio listener");
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let mut frame = Vec::new();
                    loop {
                        let mut length = [0u8; 4];
                        if stream.read_exact(&mut length).await.is_err() {
                            return;
                        }
                        frame.clear();
                        frame.extend_from_slice(&length);
                        frame.resize(4 + u32::from_be_bytes(length) as usize, 0);
                        if stream.read_exact(&mut frame[4..]).await.is_err()
                            || stream.write_all(&frame).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        })
    });
    address
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "# Network runtime ({} mode; {cores} cores; load average {} before)\n",
        if quick { "quick" } else { "full" },
        load_average()
    );

    let runtime = Cluster::start(1, |_| EchoServer::new()).expect("an echo node starts");
    let runtime_address = runtime.addresses()[0];
    let hand_written = hand_written_echo_server();
    println!("| server | clients | requests | requests/s | p50 µs | p99 µs |");
    println!("|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for (clients, per_client) in [(1, 20_000), (64, 1_000)] {
        let per_client = if quick { per_client / 50 } else { per_client };
        // Warm both up (connections, allocations), then measure the hand-written one first.
        load(hand_written, clients, per_client / 10 + 1);
        load(runtime_address, clients, per_client / 10 + 1);
        let baseline = load(hand_written, clients, per_client);
        let ours = load(runtime_address, clients, per_client);
        println!("{}", baseline.row("hand-written tokio echo", clients));
        println!("{}", ours.row("patterns::net echo node", clients));
        ratios.push((clients, ours.per_second() / baseline.per_second()));
    }
    runtime.stop();
    println!();
    for (clients, ratio) in ratios {
        println!(
            "{clients} client(s): the runtime does {:.0} % of the hand-written server's requests/s (target ≥ 50 %)",
            ratio * 100.0
        );
    }

    println!("\n| quorum store, 3 nodes | clients | operations | ops/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    let operations = if quick { 200 } else { 4_000 };
    for fsync in [true, false] {
        // On the target directory's disk: /tmp may be memory, where an fsync costs nothing.
        let dir = ScratchDir::new_in(env!("CARGO_TARGET_TMPDIR"), "bench-net").expect("scratch");
        let settings = Settings {
            fsync,
            data_dir: Some(dir.path().to_path_buf()),
            clients: (1..=8).map(|i| format!("client-{i}")).collect(),
            ..Settings::default()
        };
        let config = Config::majority(3)
            .read_repair(ReadRepair::Sync)
            .versioning(Versioning::ReadBeforeWrite);
        let cluster = Cluster::start_with(3, settings, move |_| QuorumKv::new(config.clone()))
            .expect("three nodes start");
        let mix = KvMix {
            values: 0,
            ..KvMix::default()
        };
        let report = cluster
            .run(Workload::new(operations, mix.generator()))
            .expect("the workload runs");
        cluster.stop();
        println!(
            "| fsync {} | 8 | {} | {:.0} | {:.2} | {:.2} |",
            if fsync { "on" } else { "off" },
            report.ok + report.fail + report.info,
            report.operations_per_second(),
            report.latency_quantile(0.5).as_secs_f64() * 1e3,
            report.latency_quantile(0.99).as_secs_f64() * 1e3,
        );
    }
    println!("\nload average after: {}", load_average());
}
