//! The network runtime: the quorum store on real loopback clusters, its histories judged by the
//! same checker as the simulator's; bad bytes on the wire; kill, restart and stop.

use patterns::check::{self, Independent, Register};
use patterns::history::{EventType, Value};
use patterns::net::frame::{Frame, encode};
use patterns::net::{Cluster, NetError, Settings, Workload};
use patterns::node::{ProcessId, RequestId};
use patterns::protocols::echo::{Echo, EchoServer};
use patterns::protocols::kv::{KvMix, KvOp, KvReply};
use patterns::protocols::quorum_kv::{AsyncQuorumKv, Config, QuorumKv, ReadRepair, Versioning};
use patterns::sim::Outcome;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn abd() -> Config {
    Config::majority(3)
        .read_repair(ReadRepair::Sync)
        .versioning(Versioning::ReadBeforeWrite)
}

fn unique_writes() -> KvMix {
    KvMix {
        values: 0,
        ..KvMix::default()
    }
}

fn assert_linearizable(history: &patterns::history::History) {
    let report =
        check::linearizable(history, &Independent::new(Register::new(Value::Nil))).unwrap();
    assert!(report.is_ok(), "{}", report.explanation());
}

#[test]
fn net_quorum_kv_abd_1000_operations_on_loopback_are_linearizable() {
    // Majorities, synchronous read repair and read-before-write versions on three real nodes:
    // the history the TCP clients recorded passes the checker that judges simulated runs.
    let config = abd();
    let cluster = Cluster::start(3, move |_| QuorumKv::new(config.clone())).unwrap();
    let report = cluster
        .run(Workload::new(1000, unique_writes().generator()))
        .unwrap();
    let history = cluster.history();
    assert_eq!(history.len(), 2000, "{report:?}");
    assert!(report.ok > 900, "{report:?}");
    assert_linearizable(&history);
}

#[test]
fn net_quorum_kv_abd_stays_linearizable_while_a_node_is_killed_and_restarted() {
    let config = abd();
    let cluster = Cluster::start(3, move |_| QuorumKv::new(config.clone())).unwrap();
    let report = cluster
        .run(
            Workload::new(1000, unique_writes().generator()).kill_every(Duration::from_millis(400)),
        )
        .unwrap();
    assert!(report.kills >= 1, "{report:?}");
    assert!(report.ok > 500, "{report:?}");
    assert_linearizable(&cluster.history());
    let restarts = cluster
        .journal()
        .iter()
        .filter(|e| e.text == "restarted")
        .count();
    assert_eq!(restarts, report.kills);
}

#[test]
fn net_async_coordinator_runs_on_tokio_unchanged_and_stays_linearizable() {
    let config = abd();
    let cluster = Cluster::start(3, move |_| AsyncQuorumKv::new(config.clone())).unwrap();
    let report = cluster
        .run(Workload::new(400, unique_writes().generator()).kill_every(Duration::from_millis(300)))
        .unwrap();
    assert!(report.ok > 200, "{report:?}");
    assert_linearizable(&cluster.history());
}

#[test]
fn net_node_killed_restarts_from_its_files_as_a_new_incarnation() {
    let config = abd();
    let cluster = Cluster::start(3, move |_| QuorumKv::new(config.clone())).unwrap();
    let written = cluster
        .call("alice", "athens", KvOp::write("title", "Microservices"))
        .unwrap();
    assert!(
        matches!(
            written,
            Outcome::Replied {
                reply: KvReply::Written,
                ..
            }
        ),
        "{written:?}"
    );
    cluster.kill("byzantium").unwrap();
    assert!(!cluster.is_up("byzantium").unwrap());
    assert!(matches!(
        cluster.kill("byzantium"),
        Err(NetError::State { .. })
    ));
    // A majority still serves while byzantium is down.
    let read = cluster.call("bob", "cyrene", KvOp::read("title")).unwrap();
    assert_eq!(
        read.reply(),
        Some(&KvReply::Value(Some("Microservices".into())))
    );
    cluster.restart("byzantium").unwrap();
    let incarnation =
        std::fs::read_to_string(cluster.data_dir().join("byzantium").join("incarnation")).unwrap();
    assert_eq!(
        incarnation.trim(),
        "2",
        "the second life is recorded before serving"
    );
    cluster.kill("athens").unwrap();
    cluster.kill("cyrene").unwrap();
    cluster.restart("athens").unwrap();
    // athens and byzantium: both restarted from their files; the value survived on disk.
    let read = cluster
        .call("carol", "byzantium", KvOp::read("title"))
        .unwrap();
    assert_eq!(
        read.reply(),
        Some(&KvReply::Value(Some("Microservices".into())))
    );
    let history = cluster.history();
    assert_eq!(
        history
            .events
            .iter()
            .filter(|e| e.kind == EventType::Ok)
            .count(),
        3
    );
}

fn echo_cluster() -> Cluster<EchoServer> {
    let settings = Settings {
        frame_bytes_max: 1024,
        ..Settings::default()
    };
    Cluster::start_with(1, settings, |_| EchoServer::new()).unwrap()
}

/// Sends raw bytes to the node and reads until it closes the connection (or 2 s pass).
fn send_raw(cluster: &Cluster<EchoServer>, bytes: &[u8], then_close: bool) -> bool {
    let mut stream = TcpStream::connect(cluster.addresses()[0]).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let _ = stream.write_all(bytes);
    if then_close {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut sink = Vec::new();
    stream.read_to_end(&mut sink).is_ok()
}

#[test]
fn net_bad_frames_are_refused_logged_and_the_node_keeps_serving() {
    let cluster = echo_cluster();
    let request = RequestId {
        client: ProcessId(1),
        sequence: 1,
    };
    let reply: Frame<(), Echo, String> = Frame::Reply {
        request,
        reply: "not from a client".into(),
    };
    let good = encode(&Frame::<(), Echo, String>::Request {
        request,
        operation: Echo::new("hi"),
    })
    .unwrap();
    let mut noise = 0x9e37_79b9_u32;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            noise as u8
        })
        .collect();
    // (what, bytes, whether the client closes its side after sending, what the journal says)
    let cases: Vec<(&str, Vec<u8>, bool, &str)> = vec![
        (
            "oversize length",
            u32::MAX.to_be_bytes().to_vec(),
            false,
            "limit is 1024",
        ),
        (
            "truncated frame",
            good[..good.len() - 2].to_vec(),
            true,
            "inside a frame",
        ),
        (
            "undecodable",
            vec![0, 0, 0, 3, 0xff, 0xff, 0xff],
            false,
            "undecodable",
        ),
        (
            "a reply sent to a node",
            encode(&reply).unwrap(),
            false,
            "a reply sent to a node",
        ),
        (
            "a hello from nobody",
            encode(&Frame::<(), Echo, String>::Hello { from: ProcessId(9) }).unwrap(),
            false,
            "not a peer",
        ),
        ("random bytes", random, false, "closed the connection"),
    ];
    for (what, bytes, close, expected) in cases {
        assert!(
            send_raw(&cluster, &bytes, close),
            "{what}: the node closed the connection"
        );
        let journal = cluster.journal();
        assert!(
            journal.iter().any(|e| e.text.contains(expected)),
            "{what}: {journal:?}"
        );
        let echoed = cluster.call("alice", "athens", Echo::new(what)).unwrap();
        assert_eq!(
            echoed.reply().map(String::as_str),
            Some(what),
            "still serving"
        );
    }
    assert!(cluster.is_up("athens").unwrap());
}

#[test]
fn net_cluster_stops_cleanly_and_starts_again_in_the_same_process() {
    let cluster = Cluster::start(3, |_| EchoServer::new()).unwrap();
    let addresses = cluster.addresses().to_vec();
    assert!(
        addresses.iter().all(|a| a.ip().is_loopback()),
        "safe by default"
    );
    let dir = cluster.data_dir().to_path_buf();
    cluster.stop();
    for address in &addresses {
        std::net::TcpListener::bind(address).expect("the port was released");
    }
    assert!(!dir.exists(), "the scratch directory went with the cluster");
    let again = Cluster::start(3, |_| EchoServer::new()).unwrap();
    let echoed = again.call("bob", "cyrene", Echo::relayed("again")).unwrap();
    assert_eq!(echoed.reply().map(String::as_str), Some("again"));
}

#[test]
fn net_settings_are_checked() {
    assert!(matches!(
        Cluster::start(0, |_| EchoServer::new()),
        Err(NetError::Settings(_))
    ));
    let settings = Settings {
        clients: vec!["athens".into()],
        ..Settings::default()
    };
    let error = Cluster::start_with(3, settings, |_| EchoServer::new())
        .err()
        .unwrap();
    assert!(error.to_string().contains("used twice"), "{error}");
    let cluster = Cluster::start(1, |_| EchoServer::new()).unwrap();
    let error = cluster
        .call("mallory", "athens", Echo::new("x"))
        .unwrap_err();
    assert!(error.to_string().contains("mallory"), "{error}");
}
