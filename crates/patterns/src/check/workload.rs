//! Histories of correct objects under random concurrency: what property tests, benchmarks and
//! notebook demonstrations feed the checkers when no simulator run is at hand.
//!
//! Clients invoke reads, writes and compare-and-sets on registers (one, or several independent
//! keys). Each operation takes effect at one random moment between its invocation and its
//! completion — the definition of a linearizable object — so every history recorded here is
//! linearizable. Timeouts are modelled as Jepsen records them: an operation may end `:info` before
//! or after taking effect (if before, it may still take effect later, or never), and the client
//! goes on under a new process number. A cas that finds another value ends `:fail`.

use crate::history::{Event, EventType, History, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The shape of a recorded run.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Clients issuing operations concurrently (each one at a time).
    pub processes: usize,
    /// Operations invoked in all.
    pub operations: usize,
    /// `0`: one register, values are plain integers. `k > 0`: `k` independent registers, values
    /// are `[key value]` tuples (check with `Independent<CasRegister>`).
    pub keys: usize,
    /// Percent of operations whose client times out (`:info`).
    pub info_percent: u32,
}

impl Default for Workload {
    fn default() -> Workload {
        Workload {
            processes: 5,
            operations: 100,
            keys: 0,
            info_percent: 0,
        }
    }
}

struct InFlight {
    process: u64,
    f: &'static str,
    key: usize,
    invoked: i64,
    cas_new: i64,
    /// `Some(result)` once it took effect; `Some(None)` when a cas found another value.
    effect: Option<Option<i64>>,
}

impl Workload {
    /// Records one run; the same seed gives the same history.
    pub fn record(&self, seed: u64) -> History {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut registers = vec![0i64; self.keys.max(1)];
        let mut fresh = 0i64;
        let mut history = History::new();
        let mut clients: Vec<(u64, Option<InFlight>)> = (0..self.processes.max(1) as u64)
            .map(|p| (p, None))
            .collect();
        let mut next_process = clients.len() as u64;
        let mut zombies: Vec<InFlight> = Vec::new();
        let mut invoked = 0;
        let mut busy = 0;
        let info = self.info_percent.min(100) as f64 / 100.0;
        while invoked < self.operations || busy > 0 {
            if !zombies.is_empty() && rng.random_bool(0.02) {
                let late = zombies.swap_remove(rng.random_range(0..zombies.len()));
                if rng.random_bool(0.5) {
                    take_effect(&mut registers, &late);
                }
                continue;
            }
            let c = rng.random_range(0..clients.len());
            let (process, slot) = &mut clients[c];
            match slot {
                None if invoked < self.operations => {
                    let key = rng.random_range(0..registers.len());
                    let (f, value, cas_new) = match rng.random_range(0..10) {
                        0..5 => ("read", 0, 0),
                        5..9 => {
                            fresh += 1;
                            ("write", fresh, 0)
                        }
                        _ => {
                            fresh += 1;
                            let old = if rng.random_bool(0.7) {
                                registers[key]
                            } else {
                                rng.random_range(0..=fresh)
                            };
                            ("cas", old, fresh)
                        }
                    };
                    let op = InFlight {
                        process: *process,
                        f,
                        key,
                        invoked: value,
                        cas_new,
                        effect: None,
                    };
                    self.push(&mut history, &op, EventType::Invoke, None);
                    *slot = Some(op);
                    invoked += 1;
                    busy += 1;
                }
                None => {}
                Some(op) if op.effect.is_none() => {
                    if rng.random_bool(info) {
                        let op = slot.take().expect("in flight");
                        self.push(&mut history, &op, EventType::Info, None);
                        zombies.push(op);
                        *process = next_process;
                        next_process += 1;
                        busy -= 1;
                    } else {
                        op.effect = Some(take_effect(&mut registers, op));
                    }
                }
                Some(_) => {
                    let op = slot.take().expect("in flight");
                    busy -= 1;
                    match op.effect.expect("took effect") {
                        None => self.push(&mut history, &op, EventType::Fail, None),
                        Some(_) if rng.random_bool(info) => {
                            self.push(&mut history, &op, EventType::Info, None);
                            *process = next_process;
                            next_process += 1;
                        }
                        Some(result) => self.push(&mut history, &op, EventType::Ok, Some(result)),
                    }
                }
            }
        }
        history
    }

    fn push(&self, history: &mut History, op: &InFlight, kind: EventType, read: Option<i64>) {
        let value = match (op.f, kind) {
            ("read", EventType::Ok) => Value::Int(read.unwrap_or_default()),
            ("read", _) => Value::Nil,
            ("cas", _) => Value::Vector(vec![Value::Int(op.invoked), Value::Int(op.cas_new)]),
            _ => Value::Int(op.invoked),
        };
        let value = if self.keys == 0 {
            value
        } else {
            Value::tuple(Value::Int(op.key as i64), value)
        };
        history.events.push(Event {
            process: op.process,
            process_name: None,
            kind,
            f: op.f.to_string(),
            value,
            time: None,
            extra: Vec::new(),
            position: None,
        });
    }
}

/// Applies `op` to its register: the read value, the written value, or `None` for a cas that
/// found another value (and so had no effect).
fn take_effect(registers: &mut [i64], op: &InFlight) -> Option<i64> {
    let register = &mut registers[op.key];
    match op.f {
        "read" => Some(*register),
        "write" => {
            *register = op.invoked;
            Some(op.invoked)
        }
        _ if *register == op.invoked => {
            *register = op.cas_new;
            Some(op.cas_new)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_has_every_operation_invoked_and_completed_once() {
        // Every invocation is followed by exactly one completion of its process, and the seed
        // alone decides the history.
        let w = Workload {
            processes: 4,
            operations: 200,
            keys: 3,
            info_percent: 10,
        };
        let h = w.record(7);
        assert_eq!(h, w.record(7));
        let invokes = h
            .events
            .iter()
            .filter(|e| e.kind == EventType::Invoke)
            .count();
        assert_eq!(invokes, 200);
        assert_eq!(h.len(), 400);
        assert!(h.events.iter().any(|e| e.kind == EventType::Info));
        assert!(
            h.events
                .iter()
                .all(|e| matches!(&e.value, Value::Vector(t) if t.len() == 2))
        );
    }
}
