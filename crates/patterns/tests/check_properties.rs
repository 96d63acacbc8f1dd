//! Property tests of the checkers: histories recorded from a real register under random
//! concurrency are linearizable; an injected stale read is found; and on small histories both
//! checkers agree with a brute-force checker that tries every order (kept here, not in the
//! library: it is the definition, too slow to be a tool).

use patterns::check::{self, CasRegister, Model, RegisterOp, Verdict, Workload};
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

// ---- the brute-force checker --------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Brute {
    process: u64,
    call: usize,
    /// `None`: :info or never completed.
    ret: Option<usize>,
    op: RegisterOp,
}

fn brute_operations(history: &History) -> Vec<Brute> {
    let model = CasRegister::new(0);
    let mut out = Vec::new();
    for (i, e) in history.events.iter().enumerate() {
        if e.kind != EventType::Invoke {
            continue;
        }
        let end = history.events[i + 1..]
            .iter()
            .position(|c| c.process == e.process)
            .map(|j| i + 1 + j);
        let (completed, ret) = match end.map(|j| (j, &history.events[j])) {
            Some((_, c)) if c.kind == EventType::Fail => continue,
            Some((j, c)) if c.kind == EventType::Ok => (Some(c.value.clone()), Some(j)),
            _ => (None, None),
        };
        let call = check::Call {
            f: e.f.clone(),
            invoked: e.value.clone(),
            completed,
            nil_is_value: false,
        };
        out.push(Brute {
            process: e.process,
            call: i,
            ret,
            op: model.op(&call).unwrap(),
        });
    }
    out
}

/// Whether some order of all :ok operations and any subset of :info ones is accepted by the
/// register and allowed by `may_follow(placed, next)`; tries them all.
fn brute_force(ops: &[Brute], may_follow: &dyn Fn(&[bool], usize) -> bool) -> bool {
    fn go(
        ops: &[Brute],
        placed: &mut Vec<bool>,
        state: &Value,
        may_follow: &dyn Fn(&[bool], usize) -> bool,
    ) -> bool {
        if ops
            .iter()
            .zip(placed.iter())
            .all(|(o, &p)| p || o.ret.is_none())
        {
            return true;
        }
        let model = CasRegister::new(0);
        for next in 0..ops.len() {
            if placed[next] || !may_follow(placed, next) {
                continue;
            }
            if let Some(after) = model.step(state, &ops[next].op) {
                placed[next] = true;
                let found = go(ops, placed, &after, may_follow);
                placed[next] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    go(ops, &mut vec![false; ops.len()], &Value::Int(0), may_follow)
}

/// Linearizable: no operation goes before one that returned before it was invoked.
fn brute_linearizable(history: &History) -> bool {
    let ops = brute_operations(history);
    brute_force(&ops, &|placed, next| {
        !ops.iter()
            .zip(placed)
            .any(|(o, &p)| !p && o.ret.is_some_and(|r| r < ops[next].call))
    })
}

/// Sequentially consistent: every :ok operation precedes its process's later operations.
fn brute_sequential(history: &History) -> bool {
    let ops = brute_operations(history);
    brute_force(&ops, &|placed, next| {
        !ops.iter().zip(placed).any(|(o, &p)| {
            !p && o.ret.is_some() && o.process == ops[next].process && o.call < ops[next].call
        })
    })
}

/// The witness of an Ok verdict is a real linearization: the register accepts it in that order,
/// it keeps real-time order, and it holds every :ok operation.
fn assert_witness(history: &History) {
    let report = check::linearizable(history, &CasRegister::new(0)).unwrap();
    let Verdict::Ok { order } = &report.verdict else {
        panic!("{}", report.explanation())
    };
    let model = CasRegister::new(0);
    let ops = brute_operations(history);
    let mut state = model.init();
    for (i, &id) in order.iter().enumerate() {
        let o = &report.operations[id];
        let brute = ops.iter().find(|b| b.call == o.invoke_index).unwrap();
        state = model
            .step(&state, &brute.op)
            .expect("the witness is accepted by the model");
        for &later in &order[i + 1..] {
            let l = &report.operations[later];
            assert!(
                l.complete_index.is_none_or(|r| r > o.invoke_index),
                "real-time order kept"
            );
        }
    }
    let oks = report.operations.iter().filter(|o| o.is_ok()).count();
    assert_eq!(
        order
            .iter()
            .filter(|&&i| report.operations[i].is_ok())
            .count(),
        oks
    );
}

/// Replaces the value of a read with one that went stale before the read began: written by one
/// operation, overwritten by a second that was invoked after the first returned and returned
/// before the read was invoked. Every written value is fresh, so the read has nowhere to go.
fn inject_stale_read(history: &mut History) -> bool {
    let ops = brute_operations(history);
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
        assert_witness(&h);
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
        prop_assert_eq!(lin.valid(), Some(brute_linearizable(&h)), "linearizable: {}\n{}", lin.explanation(), h.to_edn());
        let seq = check::sequential(&h, &CasRegister::new(0)).unwrap();
        prop_assert_eq!(seq.valid(), Some(brute_sequential(&h)), "sequential: {}\n{}", seq.explanation(), h.to_edn());
    }
}
