//! `patterns cluster` runs a protocol on a real loopback cluster and writes a history that
//! `patterns check` judges; bad arguments are errors, never panics.

use std::process::Command;

fn patterns(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_patterns"))
        .args(args)
        .output()
        .expect("the patterns binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn cluster_quorum_kv_with_kills_writes_a_history_that_check_finds_linearizable() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("out.edn");
    let history = history.to_str().unwrap();
    for protocol in ["quorum-kv", "quorum-kv-async"] {
        let (status, stdout, stderr) = patterns(&[
            "cluster",
            "--protocol",
            protocol,
            "--nodes",
            "3",
            "--clients",
            "4",
            "--ops",
            "300",
            "--kill-every",
            "150ms",
            "--history",
            history,
        ]);
        assert_eq!(status, Some(0), "{stdout}{stderr}");
        assert!(stdout.contains("(600 events)"), "{stdout}");
        assert!(stdout.contains("kill(s)"), "{stdout}");
        let (status, stdout, stderr) = patterns(&["check", "--model", "kv", history]);
        assert_eq!(status, Some(0), "{protocol}: {stdout}{stderr}");
        assert!(stdout.starts_with("Valid"), "{stdout}");
    }
}

#[test]
fn cluster_day2_protocols_with_kills_write_histories_their_models_accept() {
    // Day 2 on real TCP and fsync, through kills and restarts from the write-ahead log; the
    // counter service's histories are judged counter by counter.
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("out.edn");
    let history = history.to_str().unwrap();
    for (protocol, model) in [
        ("two-phase-commit", "counters"),
        ("three-phase-commit-async", "counters"),
        ("generation-voting", "tickets"),
        ("paxos", "write-once"),
    ] {
        let (status, stdout, stderr) = patterns(&[
            "cluster",
            "--protocol",
            protocol,
            "--clients",
            "4",
            "--ops",
            "200",
            "--kill-every",
            "150ms",
            "--history",
            history,
        ]);
        assert_eq!(status, Some(0), "{stdout}{stderr}");
        assert!(stdout.contains(&format!("--model {model}")), "{stdout}");
        let (status, stdout, stderr) = patterns(&["check", "--model", model, history]);
        assert_eq!(status, Some(0), "{protocol}: {stdout}{stderr}");
        assert!(stdout.starts_with("Valid"), "{stdout}");
    }
}

#[test]
fn cluster_raft_with_kills_writes_a_history_that_check_finds_linearizable() {
    // Raft on three real processes' worth of threads, a node killed and restarted from its files
    // every 200 ms; reads of nil are values (the key was never written), as the simulator judges.
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("raft.edn");
    let history = history.to_str().unwrap();
    let (status, stdout, stderr) = patterns(&[
        "cluster",
        "--protocol",
        "raft",
        "--clients",
        "4",
        "--ops",
        "300",
        "--kill-every",
        "200ms",
        "--history",
        history,
    ]);
    assert_eq!(status, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("(600 events)"), "{stdout}");
    assert!(stdout.contains("--model kv --nil-is-value"), "{stdout}");
    let (status, stdout, stderr) = patterns(&["check", "--model", "kv", "--nil-is-value", history]);
    assert_eq!(status, Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with("Valid"), "{stdout}");
}

#[test]
fn cluster_paxos_log_and_multi_paxos_with_kills_write_histories_check_finds_linearizable() {
    // The Paxos family on the network runtime, a node killed and restarted from its files every
    // 200 ms; reads of nil are values (the key was never written), as the simulator judges.
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("out.edn");
    let history = history.to_str().unwrap();
    for protocol in ["paxos-log", "multi-paxos", "multi-paxos-heartbeats"] {
        let (status, stdout, stderr) = patterns(&[
            "cluster",
            "--protocol",
            protocol,
            "--clients",
            "4",
            "--ops",
            "200",
            "--kill-every",
            "200ms",
            "--history",
            history,
        ]);
        assert_eq!(status, Some(0), "{protocol}: {stdout}{stderr}");
        assert!(stdout.contains("--model kv --nil-is-value"), "{stdout}");
        let (status, stdout, stderr) =
            patterns(&["check", "--model", "kv", "--nil-is-value", history]);
        assert_eq!(status, Some(0), "{protocol}: {stdout}{stderr}");
        assert!(stdout.starts_with("Valid"), "{protocol}: {stdout}");
    }
}

#[test]
fn cluster_bad_arguments_exit_2_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("out.edn");
    let history = history.to_str().unwrap();
    // (arguments, what the error says)
    let table: [(&[&str], &str); 5] = [
        (&["--protocol", "zab"], "no protocol \"zab\""),
        (&["--variant", "fastest"], "no variant \"fastest\""),
        (&["--nodes", "0"], "--nodes 0"),
        (&["--kill-every", "soon"], "not a duration"),
        (&["--kill-every", "5h"], "unit must be ms or s"),
    ];
    for (extra, expected) in table {
        let mut args = vec!["cluster", "--history", history, "--ops", "1"];
        args.extend_from_slice(extra);
        let (status, stdout, stderr) = patterns(&args);
        assert_eq!(status, Some(2), "{extra:?}: {stdout}{stderr}");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
    }
    let (status, stdout, _) = patterns(&["cluster", "--list"]);
    assert_eq!(status, Some(0));
    assert!(
        stdout.contains("quorum-kv") && stdout.contains("--variant abd (default)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("raft") && stdout.contains("--variant correct (default)"),
        "{stdout}"
    );
    for name in [
        "naive-replication",
        "two-phase-commit-async",
        "--variant largest-id-recovery",
    ] {
        assert!(stdout.contains(name), "{name}: {stdout}");
    }
}
