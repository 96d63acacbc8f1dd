//! `patterns explore` from the outside: exit codes, the counterexample's files, bad arguments.

use std::process::{Command, Output};

fn explore(args: &[&str], out: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patterns"))
        .arg("explore")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("the binary runs")
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn the_list_names_every_protocol_and_variant() {
    let dir = tempfile::tempdir().unwrap();
    let output = explore(&["--list"], dir.path());
    assert_eq!(output.status.code(), Some(0));
    let listed = text(&output);
    assert!(
        listed.contains("quorum-kv") && listed.contains("r1-w1"),
        "{listed}"
    );
}

#[test]
fn a_correct_form_passes_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let output = explore(&["quorum-kv", "--seeds", "5", "--stats"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("messages per completed operation"));
}

#[test]
fn a_broken_variant_exits_1_with_the_seed_and_a_diagram() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "quorum-kv",
        "--variant",
        "r1-w1",
        "--first-seed",
        "1",
        "--seeds",
        "1",
    ];
    let output = explore(&args, dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let said = text(&output);
    assert!(said.contains("replay: seed 1"), "{said}");
    let svg = dir.path().join("quorum-kv-r1-w1-seed1.svg");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let edn = dir.path().join("quorum-kv-r1-w1-seed1.edn");
    assert!(std::fs::read_to_string(&edn).unwrap().starts_with('['));
}

#[test]
fn json_output_parses_and_names_the_failing_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "quorum-kv",
        "--variant",
        "r1-w1",
        "--first-seed",
        "1",
        "--seeds",
        "2",
        "--json",
    ];
    let output = explore(&args, dir.path());
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["findings"]["failing_seeds"][0], 1);
    assert_eq!(
        value["findings"]["first"]["property"]["property"],
        "linearizability"
    );
}

#[test]
fn every_variant_behaves_as_declared() {
    let dir = tempfile::tempdir().unwrap();
    let output = explore(
        &["quorum-kv", "--all-variants", "--seeds", "10"],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}

#[test]
fn bad_arguments_exit_2_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (vec!["paxos-typo"], "no protocol"),
        (vec!["quorum-kv", "--variant", "nope"], "no variant"),
        (vec!["quorum-kv", "--seeds", "0"], "at least 1"),
        (vec![], "name a protocol"),
    ] {
        let output = explore(&args, dir.path());
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(text(&output).contains(says), "{args:?}: {}", text(&output));
    }
}

#[test]
fn naive_replication_exits_1_with_its_defaults() {
    // It has no correct form: without --variant the explorer runs its first, the reference's, and
    // finds the divergence.
    let dir = tempfile::tempdir().unwrap();
    let output = explore(&["naive-replication", "--seeds", "3"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("naive-replication (reply-first)"));
}

#[test]
fn two_and_three_phase_commit_are_listed_with_their_variants() {
    let dir = tempfile::tempdir().unwrap();
    let listed = text(&explore(&["--list"], dir.path()));
    for name in [
        "two-phase-commit",
        "abort-alone",
        "three-phase-commit",
        "largest-id-recovery",
        "no-fencing",
    ] {
        assert!(listed.contains(name), "{name} missing from {listed}");
    }
}
