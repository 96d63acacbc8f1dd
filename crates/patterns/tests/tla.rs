//! The `tla` module on recorded TLC 2.15 output (tests/fixtures/tla: our specs' runs, and the
//! small specs in fixtures/tla/specs for the shapes ours do not produce), on broken output, and
//! with stand-in `java` programs, so none of this needs Java. One test runs the real TLC when the
//! set-up has installed it.

use patterns::tla::{
    Action, Report, Spec, Tlc, TlcError, TraceEnd, Value, Verdict, Violation, specs_dir,
};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tla")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).expect(name)
}

fn report(name: &str) -> Report {
    Report::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn names(report: &Report) -> Vec<&str> {
    report
        .trace()
        .unwrap()
        .steps
        .iter()
        .map(|s| s.action.name())
        .collect()
}

/// Held by every test that writes a program or starts a process. Linux refuses to execute a file
/// that some process has open for writing ("text file busy"), and a process forked by another
/// test thread while a stand-in `java` is being written would hold it open.
static PROCESSES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn processes() -> std::sync::MutexGuard<'static, ()> {
    PROCESSES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn mv(name: &str) -> Value {
    Value::ModelValue(name.to_string())
}

/// Every recorded run of a spec in tla/: its verdict is the one its .cfg expects, and the trace has
/// the length and actions breadth-first search finds.
#[test]
fn recorded_runs_of_our_specs_meet_their_expectations() {
    // (fixture, spec, trace actions or none for a pass)
    let cases: &[(&str, &str, &[&str])] = &[
        ("durable-decision.out", "DurableDecision", &[]),
        (
            "broken-durable-decision.out",
            "BrokenDurableDecision",
            &["Init", "ReceivePrepare"],
        ),
        (
            "broken-durable-decision-restart.out",
            "BrokenDurableDecisionRestart",
            &["Init", "ReceivePrepare", "CrashAndRecover", "Restart"],
        ),
        (
            "broken-storage-write-and-validate.out",
            "BrokenStorageWriteAndValidate",
            &[
                "Init",
                "ReceivePrepare",
                "CompleteRead",
                "ReceivePrepare",
                "CompleteRead",
                "DecideAndWrite",
                "DecideAndWrite",
            ],
        ),
        // TLC's liveness search does not always find the same lasso: checked below.
        (
            "broken-two-phase-blocking.out",
            "BrokenTwoPhaseBlocking",
            &[],
        ),
        (
            "broken-two-phase-abort-alone.out",
            "BrokenTwoPhaseAbortAlone",
            &[
                "Init",
                "ClientRequest",
                "Accept",
                "Accept",
                "Commit",
                "LearnCommit",
                "AbortAlone",
            ],
        ),
        (
            "broken-paxos-reply-before-persist.out",
            "BrokenPaxosReplyBeforePersist",
            &[],
        ),
        (
            "broken-paxos-ignore-accepted.out",
            "BrokenPaxosIgnoreAccepted",
            &[],
        ),
        (
            "broken-raft-volatile-vote.out",
            "BrokenRaftVolatileVote",
            &[],
        ),
    ];
    for (file, spec, actions) in cases {
        let report = report(file);
        let spec = Spec::named(spec).unwrap();
        assert_eq!(spec.judge(&report), Ok(()), "{file}");
        assert_eq!(report.tlc_version.as_deref(), Some("2.15"), "{file}");
        assert!(
            report.distinct_states.is_some() && report.states_generated.is_some(),
            "{file}"
        );
        if !actions.is_empty() {
            assert_eq!(names(&report), *actions, "{file}");
        }
    }
}

#[test]
fn the_durable_decision_figures_are_the_references() {
    let report = report("durable-decision.out");
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(report.distinct_states, Some(12_167));
    assert_eq!(report.states_generated, Some(65_068));
    assert_eq!(report.depth, Some(22));
    assert_eq!(
        report.to_string(),
        "no violation, 12,167 distinct states, depth 22"
    );
}

/// What a replay needs: each step's action, and its arguments recovered from what changed.
#[test]
fn a_trace_gives_each_action_and_what_it_changed() {
    let report = report("broken-durable-decision-restart.out");
    assert_eq!(
        report.violation(),
        Some(&Violation::Invariant("PromisesKept".into()))
    );
    let trace = report.trace().unwrap();
    assert_eq!(trace.end, TraceEnd::Finite);
    let first = &trace.steps[0].state;
    assert_eq!(
        first.get("memPromised").and_then(|m| m.get("n2")),
        Some(&Value::Int(0))
    );
    assert_eq!(
        first.get("crashed").and_then(|c| c.get("n3")),
        Some(&Value::Bool(false))
    );

    // ReceivePrepare(n1, 1): memory and the pending write of n1 go to 1, and a response appears.
    let steps: Vec<_> = trace.transitions().collect();
    assert_eq!(steps.len(), 3);
    assert_eq!((steps[0].number, steps[2].number), (2, 4));
    assert_eq!(steps[2].action.name(), "Restart");
    let changes = steps[0].changes();
    let mut memory = changes
        .iter()
        .filter(|(variable, _)| *variable == "memPromised");
    let (_, change) = memory.next().unwrap();
    assert_eq!(change.path, [mv("n1")]);
    assert_eq!(
        (change.before.clone(), change.after.clone()),
        (Some(Value::Int(0)), Some(Value::Int(1)))
    );
    assert!(memory.next().is_none());
    let (_, response) = changes.iter().find(|(v, _)| *v == "responses").unwrap();
    assert_eq!(response.before, None);
    let response = response.after.as_ref().unwrap();
    assert_eq!(
        (response.get("from"), response.get("gen")),
        (Some(&mv("n1")), Some(&Value::Int(1)))
    );

    // CrashAndRecover(n1) then Restart(n1): n1 is up again and has forgotten its promise.
    let last = &trace.steps[3].state;
    assert_eq!(
        last.get("memPromised").and_then(|m| m.get("n1")),
        Some(&Value::Int(0))
    );
    assert!(last.get("responses").unwrap().contains(&Value::Record(vec![
        ("from".into(), mv("n1")),
        ("gen".into(), Value::Int(1)),
    ])));
    match &trace.steps[2].action {
        Action::Named {
            name,
            module,
            location,
        } => {
            assert_eq!(name, "CrashAndRecover");
            assert_eq!(module.as_deref(), Some("BrokenDurableDecision"));
            assert!(location.as_deref().unwrap().starts_with("line "));
        }
        Action::Initial => panic!("step 2 is not initial"),
    }
}

#[test]
fn values_wrapped_over_several_lines_are_read_whole() {
    let report = report("broken-storage-write-and-validate.out");
    let trace = report.trace().unwrap();
    let pending = trace.steps[4].state.get("pendingDecide").unwrap();
    assert_eq!(
        pending.get("n1").and_then(Value::elements).map(<[_]>::len),
        Some(2)
    );
    let writes = trace
        .steps
        .last()
        .unwrap()
        .state
        .get("pendingWrite")
        .unwrap();
    assert_eq!(
        writes.get("n1"),
        Some(&Value::Set(vec![Value::Int(1), Value::Int(2)]))
    );
    assert_eq!(report.depth, Some(7));
}

#[test]
fn liveness_counterexamples_end_in_a_loop() {
    let blocking = report("broken-two-phase-blocking.out");
    assert_eq!(blocking.violation(), Some(&Violation::Temporal(None)));
    assert_eq!(blocking.trace().unwrap().end, TraceEnd::Stuttering);
    assert_eq!(blocking.depth, None);
    // The coordinator crashed undecided, and a node holds the prepared operation forever.
    let last = &blocking.trace().unwrap().steps.last().unwrap().state;
    assert_eq!(last.get("down"), Some(&Value::Set(vec![mv("n1")])));
    assert_eq!(
        last.get("coordinator").and_then(|c| c.get("n1")),
        Some(&Value::Str("accepting".into()))
    );
    let participant = last.get("participant").unwrap();
    assert!(["n2", "n3"].iter().any(|n| {
        participant.get(n).and_then(|ops| ops.get("n1")) == Some(&Value::Str("prepared".into()))
    }));
    let spec = Spec::load(specs_dir(), "BrokenTwoPhaseBlocking").unwrap();
    assert_eq!(
        spec.name_violation(Violation::Temporal(None)),
        Violation::Temporal(Some("PreparedNodesDecide".into()))
    );

    let lasso = report("loop-back-to-state.out");
    let trace = lasso.trace().unwrap();
    assert_eq!(trace.steps.len(), 3);
    match &trace.end {
        TraceEnd::BackTo { state, action } => {
            assert_eq!((*state, action.name()), (0, "Next"));
        }
        other => panic!("expected a loop back, got {other:?}"),
    }
    assert_eq!(
        trace.steps[2].state.get("tag"),
        Some(&Value::Str("a".into()))
    );
}

#[test]
fn deadlocks_initial_violations_and_one_variable_states() {
    let deadlock = report("deadlock.out");
    assert_eq!(deadlock.violation(), Some(&Violation::Deadlock));
    let trace = deadlock.trace().unwrap();
    assert_eq!(trace.steps.len(), 3);
    assert_eq!(trace.steps[2].state.get("x"), Some(&Value::Int(2)));

    let initial = report("invariant-violated-initially.out");
    assert_eq!(
        initial.violation(),
        Some(&Violation::Invariant("Positive".into()))
    );
    let trace = initial.trace().unwrap();
    assert_eq!(trace.steps.len(), 1);
    assert_eq!(trace.steps[0].action, Action::Initial);
}

/// An error of the spec or model is TLC's error, with TLC's words, not a verdict.
#[test]
fn spec_and_model_errors_are_tlc_errors() {
    for (file, words) in [
        ("parse-error.out", "Parsing or semantic analysis failed"),
        ("evaluation-error.out", "Attempted to check equality"),
        ("bad-config.out", "error in the configuration file"),
    ] {
        match Report::parse(&fixture(file)) {
            Err(TlcError::Tlc { message, .. }) => {
                assert!(message.contains(words), "{file}: {message}")
            }
            other => panic!("{file}: expected TLC's error, got {other:?}"),
        }
    }
}

#[test]
fn output_that_is_not_a_finished_tlc_run_is_an_error() {
    let pass = fixture("durable-decision.out");
    let cut = &pass[..pass.find("Model checking completed").unwrap()];
    assert!(matches!(Report::parse(cut), Err(TlcError::Output(_))));
    assert!(matches!(Report::parse(""), Err(TlcError::Output(_))));
    assert!(matches!(
        Report::parse("Error: Invariant Inv is violated.\n"),
        Err(TlcError::Output(_))
    ));
    // A trace that does not start at the initial state, or skips a state number.
    for bad in [
        "Error: Invariant Inv is violated.\nState 1: <Next line 1, col 1 to line 1, col 2 of module M>\n/\\ x = 1\n",
        "Error: Invariant Inv is violated.\nState 1: <Initial predicate>\n/\\ x = 1\n\nState 3: <Next>\n/\\ x = 2\n",
        "Error: Invariant Inv is violated.\nState 1: <Initial predicate>\n/\\ x = {1,\n",
        "Error: Invariant Inv is violated.\nState 1: <Initial predicate>\n/\\ x == 1\n",
        "Error: Invariant Inv is violated.\nState 1: Initial predicate\n/\\ x = 1\n",
        "Error: Temporal properties were violated.\nState 1: <Initial predicate>\n/\\ x = 1\n\nBack to state 7: <Next>\n",
    ] {
        assert!(
            matches!(Report::parse(bad), Err(TlcError::Output(_))),
            "{bad}"
        );
    }
}

/// Every prefix of every recorded output, and every output with a line dropped, reads or fails
/// cleanly.
#[test]
fn damaged_recordings_never_panic() {
    let mut files: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "out"))
        .collect();
    files.sort();
    assert!(files.len() >= 15);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // About 60 cuts per file, spread over it (every line of a small file).
        let step = (lines.len() / 60).max(1);
        for cut in (0..lines.len()).step_by(step) {
            let _ = Report::parse(&lines[..cut].join("\n"));
            let mut dropped = lines.clone();
            dropped.remove(cut);
            let _ = Report::parse(&dropped.join("\n"));
        }
        let step = (text.len() / 60).max(1);
        for cut in (0..text.len())
            .step_by(step)
            .filter(|&i| text.is_char_boundary(i))
        {
            let _ = Report::parse(&text[..cut]);
        }
    }
}

/// A trace printed by `Display` reads back as the same trace.
#[test]
fn a_trace_prints_in_tlcs_layout_and_reads_back() {
    for file in [
        "broken-paxos-reply-before-persist.out",
        "broken-raft-volatile-vote.out",
        "loop-back-to-state.out",
        "broken-two-phase-blocking.out",
    ] {
        let original = report(file);
        let trace = original.trace().unwrap();
        let printed = format!("Error: Deadlock reached.\n{trace}");
        let again = Report::parse(&format!(
            "{printed}\nModel checking completed. No error has been found.\n"
        ))
        .unwrap_or_else(|e| panic!("{file}: {e}\n{printed}"));
        assert_eq!(again.trace(), Some(trace), "{file}");
    }
}

#[test]
fn the_paxos_counterexample_chooses_two_values() {
    let report = report("broken-paxos-reply-before-persist.out");
    let trace = report.trace().unwrap();
    let msgs = trace.steps.last().unwrap().state.get("msgs").unwrap();
    let accepted: Vec<(&Value, &Value, &Value)> = msgs
        .elements()
        .unwrap()
        .iter()
        .filter(|m| m.get("type") == Some(&Value::Str("accepted".into())))
        .map(|m| {
            (
                m.get("from").unwrap(),
                m.get("ballot").unwrap(),
                m.get("value").unwrap(),
            )
        })
        .collect();
    // Two ballots, each accepted by a majority (two of three), with different values.
    let mut chosen = Vec::new();
    for ballot in [1, 2] {
        let votes: Vec<_> = accepted
            .iter()
            .filter(|(_, b, _)| **b == Value::Int(ballot))
            .collect();
        if votes.len() >= 2 && votes.iter().all(|(_, _, v)| *v == votes[0].2) {
            chosen.push(votes[0].2.clone());
        }
    }
    assert_eq!(chosen.len(), 2, "{accepted:?}");
    assert_ne!(chosen[0], chosen[1]);
    assert!(names(&report).contains(&"CrashAndRecover"));
}

#[test]
fn every_spec_in_tla_follows_the_rule() {
    let specs = Spec::all(specs_dir()).unwrap();
    assert!(specs.len() >= 12, "{specs:?}");
    for spec in &specs {
        assert_eq!(
            spec.is_broken(),
            spec.expectation.violation.is_some(),
            "{}",
            spec.name
        );
        if let Some(expected) = &spec.expectation.violation {
            assert!(
                expected == "Deadlock"
                    || spec.invariants.contains(expected)
                    || spec.properties.contains(expected),
                "{}: {expected} is not checked by its .cfg",
                spec.name
            );
        }
    }
    let durable = specs.iter().find(|s| s.name == "DurableDecision").unwrap();
    assert_eq!(durable.expectation.distinct_states, Some(12_167));
    assert!(Spec::load(specs_dir(), "NoSuchSpec").is_err());
}

#[test]
fn a_missing_jar_or_java_is_a_clear_error() {
    let _processes = processes();
    let missing = Tlc::new("java", "/nonexistent/tla2tools.jar").unwrap_err();
    assert!(matches!(missing, TlcError::JarMissing { .. }));
    assert!(missing.to_string().contains("make setup"));

    let jar = fixtures().join("durable-decision.out"); // any existing file will do as the jar here
    let no_java = Tlc::new("/nonexistent/bin/java", &jar).unwrap_err();
    assert!(
        matches!(no_java, TlcError::JavaMissing { .. }),
        "{no_java:?}"
    );
    let message = no_java.to_string();
    assert!(
        message.contains("Java 11 or newer") && message.contains("apt-get"),
        "{message}"
    );
}

/// Stand-in `java` programs: shell scripts that answer `-version` and print a recorded run.
#[cfg(unix)]
mod with_a_stand_in_java {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_java(dir: &Path, version: &str, run: &str) -> PathBuf {
        let path = dir.join("java");
        let script = format!(
            "#!/bin/sh\nif [ \"$1\" = -version ]; then echo '{version}' >&2; exit 0; fi\necho \"$@\" > \"{args}\"\n{run}\n",
            args = dir.join("args").display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn jar(dir: &Path) -> PathBuf {
        let jar = dir.join("tla2tools.jar");
        std::fs::write(&jar, b"not really a jar").unwrap();
        jar
    }

    #[test]
    fn java_8_is_refused_with_the_way_to_install_a_newer_one() {
        let _processes = processes();
        let dir = tempfile::tempdir().unwrap();
        let java = fake_java(dir.path(), "java version \"1.8.0_292\"", "exit 0");
        let err = Tlc::new(&java, jar(dir.path())).unwrap_err();
        match &err {
            TlcError::JavaTooOld { version, .. } => assert_eq!(version, "1.8.0_292"),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("Java 11 or newer"));
        let silent = fake_java(dir.path(), "", "exit 0");
        assert!(matches!(
            Tlc::new(&silent, jar(dir.path())),
            Err(TlcError::JavaTooOld { .. })
        ));
    }

    #[test]
    fn a_run_is_read_into_a_report_and_judged() {
        let _processes = processes();
        let dir = tempfile::tempdir().unwrap();
        let recorded = fixtures().join("broken-two-phase-blocking.out");
        let java = fake_java(
            dir.path(),
            "openjdk version \"17.0.15\" 2025-04-15",
            &format!("cat \"{}\"\nexit 13", recorded.display()),
        );
        let tlc = Tlc::new(&java, jar(dir.path())).unwrap().workers(1);
        assert_eq!(tlc.java_version(), "17.0.15");
        let spec = Spec::load(specs_dir(), "BrokenTwoPhaseBlocking").unwrap();
        let report = tlc.check(&spec).unwrap();
        assert_eq!(
            report.violation(),
            Some(&Violation::Temporal(Some("PreparedNodesDecide".into())))
        );
        assert!(report.elapsed.is_some());
        assert_eq!(spec.judge(&report), Ok(()));
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert!(args.contains("tlc2.TLC -workers 1 -metadir"), "{args}");
        assert!(
            args.contains(
                "-deadlock -config BrokenTwoPhaseBlocking.cfg BrokenTwoPhaseBlocking.tla"
            ),
            "{args}"
        );

        // The same output judged against a spec that expects something else.
        let other = Spec::load(specs_dir(), "TwoPhaseExecution").unwrap();
        assert!(
            other
                .judge(&report)
                .unwrap_err()
                .contains("expected no violation")
        );
    }

    #[test]
    fn tlc_failing_for_another_reason_says_so() {
        let _processes = processes();
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec::load(specs_dir(), "DurableDecision").unwrap();
        let parse_error = format!(
            "cat \"{}\"\nexit 150",
            fixtures().join("parse-error.out").display()
        );
        // (what the stand-in does, the exit code, words of the message)
        let cases = [
            (
                parse_error.as_str(),
                150,
                "Parsing or semantic analysis failed",
            ),
            (
                "echo 'Error: Could not find or load main class tlc2.TLC' >&2\nexit 1",
                1,
                "Could not find or load main class",
            ),
            ("echo 'Killed'\nexit 137", 137, "Killed"),
        ];
        for (run, code, words) in cases {
            let java = fake_java(dir.path(), "openjdk version \"21\"", run);
            match Tlc::new(&java, jar(dir.path())).unwrap().check(&spec) {
                Err(TlcError::Tlc { exit_code, message }) => {
                    assert_eq!(exit_code, Some(code), "{run}");
                    assert!(message.contains(words), "{run}: {message}");
                }
                other => panic!("{run}: {other:?}"),
            }
        }
    }
}

/// The real TLC on the smallest broken spec, when `make setup` has installed it and Java is here.
#[test]
fn real_tlc_finds_the_forgotten_promise() {
    let _processes = processes();
    let tlc = match Tlc::locate() {
        Ok(tlc) => tlc.workers(1),
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let spec = Spec::load(specs_dir(), "BrokenDurableDecisionRestart").unwrap();
    let report = tlc.check(&spec).unwrap();
    assert_eq!(spec.judge(&report), Ok(()), "{report}");
    assert_eq!(
        names(&report),
        ["Init", "ReceivePrepare", "CrashAndRecover", "Restart"]
    );
}
