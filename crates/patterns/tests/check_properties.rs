//! Property tests of the checkers on recorded runs: histories recorded from a real register under
//! random concurrency are linearizable; an injected stale read is found; and on small runs, with
//! and without injected faults, both checkers agree with the brute-force oracle
//! (`oracle/mod.rs`; `check_oracle.rs` compares every model on random histories).

mod oracle;

use patterns::check::{self, CasRegister, RegisterOp, Workload};
use patterns::history::{EventType, History, Value};
use proptest::prelude::*;

/// A run of a correct cas register (starting at 0) by `processes` clients, some timing out.
fn recorded_run(seed: u64, processes: usize, operations: usize) -> History {
    Workload {
        processes,
        operations,
        keys: 0,
        info_percent: 10,
    }
    .record(seed)
}

/// Replaces the value of a read with one that went stale before the read began: written by one
/// operation, overwritten by a second that was invoked after the first returned and returned
/// before the read was invoked. Every written value is fresh, so the read has nowhere to go.
fn inject_stale_read(history: &mut History) -> bool {
    let ops = oracle::operations(history, &CasRegister::new(0), false);
    let writes: Vec<(usize, usize, Value)> = ops
        .iter()
        .filter_map(|o| match (&o.op, o.ret) {
            (RegisterOp::Write(v), Some(r)) => Some((o.call, r, v.clone())),
            (RegisterOp::Cas { new, .. }, Some(r)) => Some((o.call, r, new.clone())),
            _ => None,
        })
        .collect();
    for read in ops
        .iter()
        .filter(|o| matches!(o.op, RegisterOp::Read(Some(_))))
    {
        for (_, first_ret, stale) in &writes {
            let overwritten = writes
                .iter()
                .any(|(c, r, _)| c > first_ret && *r < read.call);
            if overwritten {
                history.events[read.ret.unwrap()].value = stale.clone();
                return true;
            }
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_recorded_run_of_a_real_register_is_linearizable(seed in any::<u64>(), processes in 1usize..6, ops in 0usize..80) {
        // Each operation took effect inside its interval, so a linearization exists; the witness
        // the checker returns is one.
        let h = recorded_run(seed, processes, ops);
        let report = check::linearizable(&h, &CasRegister::new(0)).unwrap();
        prop_assert!(report.is_ok(), "{}", report.explanation());
        oracle::assert_witness(&CasRegister::new(0), &h, &report);
        prop_assert!(check::sequential(&h, &CasRegister::new(0)).unwrap().is_ok());
    }

    #[test]
    fn an_injected_stale_read_is_found(seed in any::<u64>(), processes in 1usize..5, ops in 20usize..80) {
        // A read of an overwritten value, where nothing could have rewritten it, is not linearizable.
        let mut h = recorded_run(seed, processes, ops);
        prop_assume!(inject_stale_read(&mut h));
        let report = check::linearizable(&h, &CasRegister::new(0)).unwrap();
        prop_assert!(report.is_illegal(), "{}", report.explanation());
    }

    #[test]
    fn both_checkers_agree_with_brute_force_on_small_histories(
        seed in any::<u64>(), processes in 1usize..4, ops in 0usize..8, stale in any::<bool>(), corrupt in prop::option::of((any::<prop::sample::Index>(), 0i64..6)),
    ) {
        // On every small history — recorded, with a stale read, or with a read's value replaced
        // at random — each checker says what trying every order says.
        let mut h = recorded_run(seed, processes, ops);
        if stale {
            inject_stale_read(&mut h);
        }
        if let Some((index, value)) = corrupt {
            let reads: Vec<usize> = (0..h.len()).filter(|&i| h.events[i].kind == EventType::Ok && h.events[i].f == "read").collect();
            if !reads.is_empty() {
                h.events[reads[index.index(reads.len())]].value = Value::Int(value);
            }
        }
        let lin = check::linearizable(&h, &CasRegister::new(0)).unwrap();
        prop_assert_eq!(lin.valid(), Some(oracle::linearizable(&h, &CasRegister::new(0))), "linearizable: {}\n{}", lin.explanation(), h.to_edn());
        let seq = check::sequential(&h, &CasRegister::new(0)).unwrap();
        prop_assert_eq!(seq.valid(), Some(oracle::sequential(&h, &CasRegister::new(0))), "sequential: {}\n{}", seq.explanation(), h.to_edn());
    }
}
