//! The checkers against the reference workshop's fixtures (spec Appendix A), the tickloom checker
//! tests (spec §3.11) and one hand-written history per model and per rule of Knossos's semantics
//! (spec §1.14).

use patterns::check::{
    self, CasRegister, Consistency, Counter, Independent, Model, MultiRegister, Mutex, Options,
    Register, Set, Verdict,
};
use patterns::history::{EventType, History, Value, parse_edn};

// Appendix A, exactly as the reference prints them: one line each, no trailing newline. The
// quorum scenarios (tests/quorum_kv.rs) compare their histories with the same files.

const A1: &str = include_str!("fixtures/appendix-a/a1.edn");

const A2: &str = include_str!("fixtures/appendix-a/a2.edn");

const A3: &str = include_str!("fixtures/appendix-a/a3.edn");

const A4: &str = include_str!("fixtures/appendix-a/a4.edn");

const A5: &str = include_str!("fixtures/appendix-a/a5.edn");

const A6: &str = include_str!("fixtures/appendix-a/a6.edn");

/// Both verdicts of a history: (linearizable, sequentially consistent); `None` for unknown.
fn verdicts<M: Model>(history: &History, model: &M) -> (Option<bool>, Option<bool>) {
    let lin = check::linearizable(history, model).unwrap();
    let seq = check::sequential(history, model).unwrap();
    (lin.valid(), seq.valid())
}

fn edn(text: &str) -> History {
    parse_edn(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn appendix_a_fixtures_get_the_reference_verdicts() {
    // Each fixture of spec Appendix A, read from its exact EDN text, judged on a nil register.
    let table: &[(&str, &str, bool, bool)] = &[
        // read repair: one client writes twice and reads its last write twice
        ("A.1", A1, true, true),
        // DDIA 10.6: alice sees x=1 while the write is in flight, then bob sees x=0
        ("A.2", A2, false, true),
        // the failed minority write never happened, so nobody can read it
        ("A.3", A3, false, false),
        // a local read after a quorum write returns the old value
        ("A.4", A4, false, true),
        // last-writer-wins loses alice's later write (no verdict in the reference; these follow)
        ("A.5", A5, false, true),
    ];
    for (name, text, lin, seq) in table {
        let h = edn(text);
        assert_eq!(
            h.to_edn(),
            text.to_string(),
            "{name}: the reader inverts the printer"
        );
        assert_eq!(
            verdicts(&h, &Register::default()),
            (Some(*lin), Some(*seq)),
            "{name}"
        );
    }
}

#[test]
fn appendix_a6_clock_skew_is_sequential_although_the_reference_said_not() {
    // A.6: client1 writes v1; client2 writes v2 and then reads v1. Not linearizable (v2 came
    // after v1 in real time). The order write v2, write v1, read v1 keeps every process's order, so
    // the history IS sequentially consistent; the reference's greedy checker (spec §1.14) tries the
    // write of v1 first, never backtracks, and wrongly reports a violation.
    let h = edn(A6);
    assert_eq!(
        verdicts(&h, &Register::default()),
        (Some(false), Some(true))
    );
    let seq = check::sequential(&h, &Register::default()).unwrap();
    let Verdict::Ok { order } = &seq.verdict else {
        panic!("{seq:?}")
    };
    let labels: Vec<String> = order.iter().map(|&i| seq.operations[i].label()).collect();
    assert_eq!(labels, ["write \"v2\"", "write \"v1\"", "read → \"v1\""]);
}

#[test]
fn a_violation_names_the_prefix_the_culprit_and_what_the_model_allowed() {
    // A.2's explanation: after the write of x=1 and alice's read, bob's read of x=0 cannot be placed.
    let report = check::linearizable(&edn(A2), &Register::default()).unwrap();
    let Verdict::Illegal(v) = &report.verdict else {
        panic!("{report:?}")
    };
    let culprit = &report.operations[v.culprit];
    assert_eq!(
        (culprit.process_label().as_str(), culprit.label().as_str()),
        ("bob", "read → \"x=0\"")
    );
    assert!(v.why.contains("the register held \"x=1\""), "{}", v.why);
    assert!(v.prefix.len() >= 2, "{v:?}");
    let text = report.explanation();
    assert!(
        text.starts_with("Invalid: the history is not linearizable (register)."),
        "{text}"
    );
    assert!(
        text.contains("bob read → \"x=0\" (invoked at event 5, returned at event 6)"),
        "{text}"
    );
}

// ---- tickloom's checker tests (spec §3.11) ----------------------------------------------------

fn op(process: u64, kind: &str, f: &str, value: &str) -> String {
    format!("{{:process {process}, :type :{kind}, :f :{f}, :value {value}}}")
}

/// A history from (process, type, f, value) rows.
fn rows(rows: &[(u64, &str, &str, &str)]) -> History {
    let text: Vec<String> = rows.iter().map(|(p, k, f, v)| op(*p, k, f, v)).collect();
    edn(&format!("[{}]", text.join(" ")))
}

#[test]
fn empty_histories_are_valid_for_every_model() {
    // Nothing happened, so nothing went wrong.
    let h = History::new();
    assert_eq!(verdicts(&h, &Register::default()), (Some(true), Some(true)));
    assert_eq!(
        verdicts(&h, &CasRegister::default()),
        (Some(true), Some(true))
    );
    assert_eq!(verdicts(&h, &Set), (Some(true), Some(true)));
    assert_eq!(verdicts(&h, &Mutex), (Some(true), Some(true)));
    assert_eq!(verdicts(&h, &Counter::default()), (Some(true), Some(true)));
}

#[test]
fn each_model_has_a_happy_path_and_a_violation() {
    // One valid and one invalid concurrent history per model: (name, history, lin, seq).
    type Case = (&'static str, History, (Option<bool>, Option<bool>));
    let register: Vec<Case> = vec![
        (
            "register: read during a write sees either value",
            rows(&[
                (0, "invoke", "write", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "1"),
                (0, "ok", "write", "1"),
            ]),
            (Some(true), Some(true)),
        ),
        (
            "register: a value nobody wrote",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "2"),
            ]),
            (Some(false), Some(false)),
        ),
    ];
    for (name, h, expected) in register {
        assert_eq!(verdicts(&h, &Register::new(0)), expected, "{name}");
    }
    let cas: Vec<Case> = vec![
        (
            "cas-register: write, cas, read",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
                (1, "invoke", "cas", "[1 2]"),
                (1, "ok", "cas", "[1 2]"),
                (0, "invoke", "read", "nil"),
                (0, "ok", "read", "2"),
            ]),
            (Some(true), Some(true)),
        ),
        (
            "cas-register: a cas from a value the register no longer held",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
                (0, "invoke", "write", "3"),
                (0, "ok", "write", "3"),
                (1, "invoke", "cas", "[1 2]"),
                (1, "ok", "cas", "[1 2]"),
            ]),
            (Some(false), Some(true)),
        ),
        (
            "cas-register: a failed cas never happened",
            rows(&[
                (1, "invoke", "cas", "[0 2]"),
                (1, "fail", "cas", "[0 2]"),
                (0, "invoke", "read", "nil"),
                (0, "ok", "read", "2"),
            ]),
            (Some(false), Some(false)),
        ),
    ];
    for (name, h, expected) in cas {
        assert_eq!(verdicts(&h, &CasRegister::new(0)), expected, "{name}");
    }
    let mutex: Vec<Case> = vec![
        (
            "mutex: acquire, release, acquire",
            rows(&[
                (0, "invoke", "acquire", "nil"),
                (0, "ok", "acquire", "nil"),
                (1, "invoke", "acquire", "nil"),
                (0, "invoke", "release", "nil"),
                (0, "ok", "release", "nil"),
                (1, "ok", "acquire", "nil"),
            ]),
            (Some(true), Some(true)),
        ),
        (
            "mutex: two holders at once",
            rows(&[
                (0, "invoke", "acquire", "nil"),
                (1, "invoke", "acquire", "nil"),
                (0, "ok", "acquire", "nil"),
                (1, "ok", "acquire", "nil"),
            ]),
            (Some(false), Some(false)),
        ),
    ];
    for (name, h, expected) in mutex {
        assert_eq!(verdicts(&h, &Mutex), expected, "{name}");
    }
    let set: Vec<Case> = vec![
        (
            "set: a read concurrent with an add may miss it",
            rows(&[
                (0, "invoke", "add", "1"),
                (0, "ok", "add", "1"),
                (1, "invoke", "add", "2"),
                (0, "invoke", "read", "nil"),
                (0, "ok", "read", "#{1}"),
                (1, "ok", "add", "2"),
                (0, "invoke", "read", "nil"),
                (0, "ok", "read", "#{1 2}"),
            ]),
            (Some(true), Some(true)),
        ),
        (
            "set: a read after an add returned misses it",
            rows(&[
                (0, "invoke", "add", "1"),
                (0, "ok", "add", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "#{}"),
            ]),
            (Some(false), Some(true)),
        ),
    ];
    for (name, h, expected) in set {
        assert_eq!(verdicts(&h, &Set), expected, "{name}");
    }
    let counter: Vec<Case> = vec![
        (
            "counter: concurrent adds, reads see partial sums",
            rows(&[
                (0, "invoke", "add", "2"),
                (1, "invoke", "add", "3"),
                (2, "invoke", "read", "nil"),
                (2, "ok", "read", "3"),
                (0, "ok", "add", "2"),
                (1, "ok", "add", "3"),
                (2, "invoke", "read", "nil"),
                (2, "ok", "read", "5"),
            ]),
            (Some(true), Some(true)),
        ),
        (
            "counter: a read of a sum no subset of adds makes",
            rows(&[
                (0, "invoke", "add", "2"),
                (1, "invoke", "add", "3"),
                (2, "invoke", "read", "nil"),
                (2, "ok", "read", "4"),
                (0, "ok", "add", "2"),
                (1, "ok", "add", "3"),
            ]),
            (Some(false), Some(false)),
        ),
    ];
    for (name, h, expected) in counter {
        assert_eq!(verdicts(&h, &Counter::default()), expected, "{name}");
    }
    let multi: Vec<Case> = vec![
        (
            "multi-register: reads see both keys of one write",
            rows(&[
                (0, "invoke", "write", "{:x 1 :y 1}"),
                (1, "invoke", "read", "{:x nil :y nil}"),
                (1, "ok", "read", "{:x 1 :y 1}"),
                (0, "ok", "write", "{:x 1 :y 1}"),
            ]),
            (Some(true), Some(true)),
        ),
        (
            "multi-register: a torn read of one write",
            rows(&[
                (0, "invoke", "write", "{:x 1 :y 1}"),
                (1, "invoke", "read", "{:x nil :y nil}"),
                (1, "ok", "read", "{:x 1 :y 0}"),
                (0, "ok", "write", "{:x 1 :y 1}"),
            ]),
            (Some(false), Some(false)),
        ),
    ];
    for (name, h, expected) in multi {
        assert_eq!(verdicts(&h, &MultiRegister::new(0)), expected, "{name}");
    }
}

#[test]
fn independent_keys_are_checked_separately_and_each_can_fail() {
    // checkIndependent: [key value] tuples; a stale read on key b fails, key a is fine.
    let kv = Independent::new(Register::default());
    let valid = rows(&[
        (0, "invoke", "write", "[\"a\" 1]"),
        (1, "invoke", "write", "[\"b\" 2]"),
        (0, "ok", "write", "[\"a\" 1]"),
        (1, "ok", "write", "[\"b\" 2]"),
        (2, "invoke", "read", "[\"a\" nil]"),
        (2, "ok", "read", "[\"a\" 1]"),
        (2, "invoke", "read", "[\"b\" nil]"),
        (2, "ok", "read", "[\"b\" 2]"),
    ]);
    assert_eq!(verdicts(&valid, &kv), (Some(true), Some(true)));
    let report = check::linearizable(&valid, &kv).unwrap();
    assert_eq!(report.partitions, 2);
    let invalid = rows(&[
        (0, "invoke", "write", "[\"b\" 1]"),
        (0, "ok", "write", "[\"b\" 1]"),
        (0, "invoke", "write", "[\"b\" 2]"),
        (0, "ok", "write", "[\"b\" 2]"),
        (1, "invoke", "write", "[\"a\" 1]"),
        (1, "ok", "write", "[\"a\" 1]"),
        (2, "invoke", "read", "[\"b\" nil]"),
        (2, "ok", "read", "[\"b\" 1]"),
    ]);
    let report = check::linearizable(&invalid, &kv).unwrap();
    let Verdict::Illegal(v) = &report.verdict else {
        panic!("{report:?}")
    };
    assert_eq!(v.key, Some(patterns::history::Value::str("b")));
    assert!(
        report.explanation().contains("On key \"b\""),
        "{}",
        report.explanation()
    );
    assert_eq!(
        check::sequential(&invalid, &kv).unwrap().valid(),
        Some(true)
    );
}

#[test]
fn sequential_but_not_linearizable_and_impossible_reads() {
    // v0 then v1 written, a later read of v0: sequential only. A read of a value never written:
    // neither.
    let stale = rows(&[
        (0, "invoke", "write", "0"),
        (0, "ok", "write", "0"),
        (0, "invoke", "write", "1"),
        (0, "ok", "write", "1"),
        (1, "invoke", "read", "nil"),
        (1, "ok", "read", "0"),
    ]);
    assert_eq!(
        verdicts(&stale, &Register::default()),
        (Some(false), Some(true))
    );
    let impossible = rows(&[
        (0, "invoke", "write", "0"),
        (0, "ok", "write", "0"),
        (1, "invoke", "read", "nil"),
        (1, "ok", "read", "1"),
    ]);
    assert_eq!(
        verdicts(&impossible, &Register::default()),
        (Some(false), Some(false))
    );
}

#[test]
fn the_sequential_checker_unit_cases() {
    // The reference's Clojure sequential-checker tests, as (name, history, sequential?).
    let table: Vec<(&str, History, bool)> = vec![
        (
            "monotonic reads hold: a reader sees 1 then 2",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
                (0, "invoke", "write", "2"),
                (0, "ok", "write", "2"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "2"),
            ]),
            true,
        ),
        (
            "monotonic reads broken: a reader sees 2 then 1",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
                (0, "invoke", "write", "2"),
                (0, "ok", "write", "2"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "2"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "1"),
            ]),
            false,
        ),
        (
            "read-your-writes broken: a writer reads the initial value after its write",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
                (0, "invoke", "read", "nil"),
                (0, "ok", "read", "0"),
            ]),
            false,
        ),
        (
            "read-your-writes: another process may still read the initial value",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "0"),
            ]),
            true,
        ),
        (
            "single order broken: two readers see two writes in opposite orders",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
                (1, "invoke", "write", "2"),
                (1, "ok", "write", "2"),
                (2, "invoke", "read", "nil"),
                (2, "ok", "read", "1"),
                (2, "invoke", "read", "nil"),
                (2, "ok", "read", "2"),
                (3, "invoke", "read", "nil"),
                (3, "ok", "read", "2"),
                (3, "invoke", "read", "nil"),
                (3, "ok", "read", "1"),
            ]),
            false,
        ),
        (
            "edge case: a read of the initial value before any write (the reference's nil sentinel bug, §5.1 item 11)",
            rows(&[
                (0, "invoke", "read", "nil"),
                (0, "ok", "read", "0"),
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
            ]),
            true,
        ),
        (
            "edge case: only reads of the initial value",
            rows(&[(0, "invoke", "read", "nil"), (0, "ok", "read", "0")]),
            true,
        ),
        (
            "edge case: an :info write whose value is read did happen",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "info", "write", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "1"),
            ]),
            true,
        ),
    ];
    for (name, h, expected) in table {
        let report = check::sequential(&h, &Register::new(0)).unwrap();
        assert_eq!(
            report.valid(),
            Some(expected),
            "{name}: {}",
            report.explanation()
        );
    }
    // The reference's nil-sentinel case, on a nil register: a first read of nil is fine.
    let nil_first = rows(&[
        (0, "invoke", "read", "nil"),
        (0, "ok", "read", "nil"),
        (0, "invoke", "write", "1"),
        (0, "ok", "write", "1"),
    ]);
    let opts = Options {
        nil_is_value: true,
        ..Options::default()
    };
    let report = check::check(
        &nil_first,
        &Register::default(),
        Consistency::Sequential,
        &opts,
    )
    .unwrap();
    assert!(report.is_ok(), "{}", report.explanation());
}

#[test]
fn validation_errors_are_bad_input_not_verdicts() {
    // An operation the model lacks, or a malformed cas, is refused with the event it came from.
    let h = rows(&[(0, "invoke", "push", "1"), (0, "ok", "push", "1")]);
    let e = check::linearizable(&h, &Register::default()).unwrap_err();
    assert_eq!(e.event, 1);
    assert!(
        e.message
            .contains("no operation :push (expected :read or :write)"),
        "{e}"
    );
    let h = rows(&[(0, "invoke", "cas", "1")]);
    let e = check::sequential(&h, &CasRegister::default()).unwrap_err();
    assert!(e.to_string().contains("[old new]"), "{e}");
}

// ---- Knossos's rules (spec §1.14) ---------------------------------------------------------------

#[test]
fn a_failed_operation_never_happened() {
    // The write failed, so its value can never be read.
    let h = rows(&[
        (0, "invoke", "write", "1"),
        (0, "fail", "write", "1"),
        (1, "invoke", "read", "nil"),
        (1, "ok", "read", "1"),
    ]);
    assert_eq!(verdicts(&h, &Register::new(0)), (Some(false), Some(false)));
}

#[test]
fn an_info_operation_may_or_may_not_have_happened_at_any_later_time() {
    // (name, history, linearizable?) on a register starting at 0.
    let table: Vec<(&str, History, bool)> = vec![
        (
            "it happened: its value is read",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "info", "write", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "1"),
            ]),
            true,
        ),
        (
            "it never happened: the initial value is read",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "info", "write", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "0"),
            ]),
            true,
        ),
        (
            "it happened late: long after the :info, between two reads",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "info", "write", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "0"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "1"),
            ]),
            true,
        ),
        (
            "once it happened it cannot unhappen",
            rows(&[
                (0, "invoke", "write", "1"),
                (0, "info", "write", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "0"),
            ]),
            false,
        ),
        (
            "not before its invocation",
            rows(&[
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "1"),
                (0, "invoke", "write", "1"),
                (0, "info", "write", "1"),
            ]),
            false,
        ),
        (
            "an invocation with no completion behaves the same",
            rows(&[
                (0, "invoke", "write", "1"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "0"),
                (1, "invoke", "read", "nil"),
                (1, "ok", "read", "1"),
            ]),
            true,
        ),
    ];
    for (name, h, expected) in table {
        let report = check::linearizable(&h, &Register::new(0)).unwrap();
        assert_eq!(
            report.valid(),
            Some(expected),
            "{name}: {}",
            report.explanation()
        );
    }
}

#[test]
fn a_nil_read_is_unknown_unless_nil_is_a_real_value() {
    // Knossos reads an :ok nil as "no information"; with nil_is_value it is a stale read here.
    let h = rows(&[
        (0, "invoke", "write", "1"),
        (0, "ok", "write", "1"),
        (1, "invoke", "read", "nil"),
        (1, "ok", "read", "nil"),
    ]);
    assert_eq!(verdicts(&h, &Register::default()), (Some(true), Some(true)));
    let strict = Options {
        nil_is_value: true,
        ..Options::default()
    };
    for consistency in [Consistency::Linearizable, Consistency::Sequential] {
        let report = check::check(&h, &Register::default(), consistency, &strict).unwrap();
        let expected = consistency == Consistency::Sequential; // the read may come first
        assert_eq!(report.valid(), Some(expected), "{consistency}");
    }
}

#[test]
fn an_exhausted_budget_answers_unknown_never_ok() {
    // A valid history that needs more steps than allowed is Unknown, and says why.
    let h = edn(A1);
    let tight = Options {
        steps_max: 3,
        ..Options::default()
    };
    for consistency in [Consistency::Linearizable, Consistency::Sequential] {
        let report = check::check(&h, &Register::default(), consistency, &tight).unwrap();
        assert!(report.is_unknown(), "{consistency}: {report:?}");
        assert!(report.explanation().contains("This is not a pass"));
    }
}

/// Key "a": 18 writes of distinct values, all concurrent, and a read of a value nobody wrote:
/// illegal, but only after every subset of the writes is tried (2^18 configurations). Key "b":
/// a read of a value nobody wrote, after the write returned: illegal at once.
fn one_hard_key_and_one_plainly_illegal() -> History {
    let mut h = History::new();
    let mut event = |p: u64, kind, f: &str, key: &str, v: Value| {
        h.record_as(p, "client", kind, f, Value::tuple(Value::str(key), v), None)
    };
    for p in 0..18 {
        event(p, EventType::Invoke, "write", "a", Value::Int(p as i64));
    }
    event(18, EventType::Invoke, "read", "a", Value::Nil);
    for p in 0..18 {
        event(p, EventType::Ok, "write", "a", Value::Int(p as i64));
    }
    event(18, EventType::Ok, "read", "a", Value::Int(999));
    event(20, EventType::Invoke, "write", "b", Value::Int(1));
    event(20, EventType::Ok, "write", "b", Value::Int(1));
    event(21, EventType::Invoke, "read", "b", Value::Nil);
    event(21, EventType::Ok, "read", "b", Value::Int(2));
    h
}

#[test]
fn an_illegal_key_is_reported_without_waiting_for_a_key_that_exhausts_its_budget() {
    // Issue 13: the check stops at the first illegal key ("b", found in the first round) and
    // does not run the hard key "a" to its budget; --all-keys decides every key, and a key out
    // of budget does not hide an illegal one (invalid, not unknown).
    let h = one_hard_key_and_one_plainly_illegal();
    let model = Independent::new(Register::new(0));
    let options = Options {
        steps_max: 200_000,
        ..Options::default()
    };
    let report = check::check(&h, &model, Consistency::Linearizable, &options).unwrap();
    let Verdict::Illegal(v) = &report.verdict else {
        panic!("{}", report.explanation());
    };
    assert_eq!(v.key, Some(Value::str("b")));
    let a = &report.keys[0];
    assert_eq!((a.key.clone(), a.decided), (Some(Value::str("a")), false));
    assert!(a.steps < 10_000, "key a ran {} steps", a.steps);
    let all = Options {
        all_keys: true,
        ..options
    };
    let report = check::check(&h, &model, Consistency::Linearizable, &all).unwrap();
    assert!(report.is_illegal(), "{}", report.explanation());
    assert_eq!(
        report
            .keys
            .iter()
            .map(|k| (k.decided, k.valid))
            .collect::<Vec<_>>(),
        vec![(true, None), (true, Some(false))],
        "a exhausted its budget, b is illegal"
    );
    // Without the illegal key, the exhausted budget is the answer: unknown, never a pass.
    let mut only_a = h.clone();
    only_a.events.truncate(38);
    let report = check::check(&only_a, &model, Consistency::Linearizable, &options).unwrap();
    assert!(report.is_unknown(), "{}", report.explanation());
}

#[test]
fn the_reported_illegal_key_is_the_smallest_whatever_the_threads() {
    // Keys 3, 5 and 8 are illegal, each only after a search of every subset of eleven
    // concurrent writes (past the first round, so on threads); the others are plainly valid.
    // The smallest illegal key is reported, every time, with threads or without.
    let mut h = History::new();
    let tuple = |k: i64, v: i64| Value::tuple(Value::Int(k), Value::Int(v));
    let mut process = 0;
    for k in 0..10 {
        let first = process;
        for w in 0..11 {
            h.record_as(process, "w", EventType::Invoke, "write", tuple(k, w), None);
            process += 1;
        }
        h.record_as(process, "r", EventType::Invoke, "read", tuple(k, 0), None);
        for p in first..process {
            h.record_as(
                p,
                "w",
                EventType::Ok,
                "write",
                tuple(k, (p - first) as i64),
                None,
            );
        }
        let read = if [3, 5, 8].contains(&k) { 99 } else { 4 };
        h.record_as(process, "r", EventType::Ok, "read", tuple(k, read), None);
        process += 1;
    }
    for parallel in [true, false] {
        for _ in 0..3 {
            let options = Options {
                parallel,
                ..Options::default()
            };
            let model = Independent::new(CasRegister::new(0));
            let report = check::check(&h, &model, Consistency::Linearizable, &options).unwrap();
            let Verdict::Illegal(v) = &report.verdict else {
                panic!("{}", report.explanation());
            };
            assert_eq!(v.key, Some(Value::Int(3)));
            assert!(report.keys[3].steps > 2_048, "found past the first round");
        }
    }
}
