//! Models of what consensus gives its clients: a ticket dispenser (generation voting) and a
//! register written once (single-value Paxos).
//!
//! Both are sequential specifications like the others ([`Model`]); linearizability then adds
//! real time. A generation is a ticket: unique, and greater than every ticket issued before it
//! took effect, so greater than any a client received before it asked. A Paxos decision is a
//! write-once register: the first proposal to take effect is the only value ever returned.

use super::model::{Call, Model};
use crate::history::Value;

/// A dispenser of unique, increasing tickets: `:next` returns a ticket greater than every ticket
/// issued before it took effect. Generation voting's generations and Raft's terms are such
/// tickets; so is any fencing token. Tickets are compared as history values (integers, or
/// `[round node]` vectors, compared element by element).
///
/// A `:next` that ended `:info` may have issued a ticket no client saw: it constrains nothing, so
/// it leaves the state as it is.
#[derive(Clone, Debug, Default)]
pub struct TicketDispenser;

/// An operation of [`TicketDispenser`]: the ticket received (`None`: unknown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketOp {
    pub ticket: Option<Value>,
}

impl Model for TicketDispenser {
    /// The highest ticket issued so far (nil: none).
    type State = Value;
    type Op = TicketOp;

    fn name(&self) -> String {
        "tickets".into()
    }
    fn init(&self) -> Value {
        Value::Nil
    }
    fn op(&self, call: &Call) -> Result<TicketOp, String> {
        match call.f {
            "next" => Ok(TicketOp {
                ticket: call.returned().cloned(),
            }),
            _ => Err(call.unknown_function("tickets", ":next")),
        }
    }
    fn step(&self, highest: &Value, op: &TicketOp) -> Option<Value> {
        match &op.ticket {
            None => Some(highest.clone()),
            Some(t) => (highest.is_nil() || t > highest).then(|| t.clone()),
        }
    }
    fn is_read_only(&self, op: &TicketOp) -> bool {
        op.ticket.is_none()
    }
    fn heap_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
    fn describe(&self, highest: &Value, op: &TicketOp) -> String {
        match &op.ticket {
            Some(t) if t == highest => {
                format!("it received ticket {t}, which was already issued: tickets are unique")
            }
            Some(t) => format!(
                "it received ticket {t}, but {highest} was issued before: tickets only increase"
            ),
            None => format!("{op:?} cannot take effect after ticket {highest}"),
        }
    }
}

/// A register written once: the first `:propose v` to take effect sets it to `v`, and every
/// `:propose` returns what it then holds, its own value or the one chosen before; `:read` returns
/// it (nil until something is chosen). Single-value Paxos is one: whatever is proposed, the first
/// value chosen is the only value ever returned.
#[derive(Clone, Debug, Default)]
pub struct WriteOnce;

/// An operation of [`WriteOnce`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOnceOp {
    /// The value proposed and the value returned (`None`: unknown).
    Propose {
        value: Value,
        returned: Option<Value>,
    },
    /// What a read returned (`None`: unknown).
    Read(Option<Value>),
}

impl Model for WriteOnce {
    /// The value written (nil: none yet).
    type State = Value;
    type Op = WriteOnceOp;

    fn name(&self) -> String {
        "write-once".into()
    }
    fn init(&self) -> Value {
        Value::Nil
    }
    fn op(&self, call: &Call) -> Result<WriteOnceOp, String> {
        match call.f {
            "propose" => Ok(WriteOnceOp::Propose {
                value: call.invoked.clone(),
                returned: call.returned().cloned(),
            }),
            "read" => Ok(WriteOnceOp::Read(call.returned().cloned())),
            _ => Err(call.unknown_function("write-once", ":propose or :read")),
        }
    }
    fn step(&self, held: &Value, op: &WriteOnceOp) -> Option<Value> {
        match op {
            WriteOnceOp::Propose { value, returned } => {
                let after = if held.is_nil() { value } else { held };
                returned
                    .as_ref()
                    .is_none_or(|r| r == after)
                    .then(|| after.clone())
            }
            WriteOnceOp::Read(seen) => seen
                .as_ref()
                .is_none_or(|v| v == held)
                .then(|| held.clone()),
        }
    }
    fn is_read_only(&self, op: &WriteOnceOp) -> bool {
        matches!(op, WriteOnceOp::Read(_))
    }
    fn heap_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
    fn describe(&self, held: &Value, op: &WriteOnceOp) -> String {
        match op {
            WriteOnceOp::Propose {
                value,
                returned: Some(r),
            } if held.is_nil() => format!(
                "it proposed {value} and was told {r} was chosen, but nothing was chosen yet: \
                 the first proposal to take effect is the one chosen"
            ),
            WriteOnceOp::Propose {
                returned: Some(r), ..
            } => format!(
                "it was told {r} was chosen, but {held} was chosen before: a decision never changes"
            ),
            WriteOnceOp::Read(Some(v)) => format!("it read {v}, but the register held {held}"),
            other => format!("{other:?} cannot take effect when the register holds {held}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;
    use crate::history::parse_edn;

    fn lin<M: Model>(edn: &str, model: &M) -> bool {
        let h = parse_edn(edn).unwrap();
        check::linearizable(&h, model).unwrap().is_ok()
    }

    #[test]
    fn tickets_are_unique_and_increase_in_real_time() {
        // (history, linearizable?)
        let table = [
            // Two concurrent requests may be issued in either order.
            (
                "[{:process 0 :type :invoke :f :next :value nil} {:process 1 :type :invoke :f :next :value nil}
                  {:process 1 :type :ok :f :next :value 5} {:process 0 :type :ok :f :next :value 3}]",
                true,
            ),
            // A request that began after another ended must get a greater ticket.
            (
                "[{:process 0 :type :invoke :f :next :value nil} {:process 0 :type :ok :f :next :value 5}
                  {:process 1 :type :invoke :f :next :value nil} {:process 1 :type :ok :f :next :value 3}]",
                false,
            ),
            // Never the same ticket twice, even concurrently.
            (
                "[{:process 0 :type :invoke :f :next :value nil} {:process 1 :type :invoke :f :next :value nil}
                  {:process 0 :type :ok :f :next :value [2 1]} {:process 1 :type :ok :f :next :value [2 1]}]",
                false,
            ),
            // Ballots as [round node]: same round, higher node is a higher ticket.
            (
                "[{:process 0 :type :invoke :f :next :value nil} {:process 0 :type :ok :f :next :value [2 0]}
                  {:process 1 :type :invoke :f :next :value nil} {:process 1 :type :ok :f :next :value [2 1]}]",
                true,
            ),
            // An :info ticket was never seen: it constrains nothing.
            (
                "[{:process 0 :type :invoke :f :next :value nil} {:process 0 :type :info :f :next :value nil}
                  {:process 1 :type :invoke :f :next :value nil} {:process 1 :type :ok :f :next :value 1}]",
                true,
            ),
        ];
        for (edn, expected) in table {
            assert_eq!(lin(edn, &TicketDispenser), expected, "{edn}");
        }
    }

    #[test]
    fn a_write_once_register_returns_the_first_value_chosen_to_everyone() {
        let table = [
            // The loser learns the winner's value.
            (
                r#"[{:process 0 :type :invoke :f :propose :value "x"} {:process 1 :type :invoke :f :propose :value "y"}
                   {:process 0 :type :ok :f :propose :value "y"} {:process 1 :type :ok :f :propose :value "y"}]"#,
                true,
            ),
            // Two different values returned: two decisions.
            (
                r#"[{:process 0 :type :invoke :f :propose :value "x"} {:process 1 :type :invoke :f :propose :value "y"}
                   {:process 0 :type :ok :f :propose :value "x"} {:process 1 :type :ok :f :propose :value "y"}]"#,
                false,
            ),
            // A value nobody proposed cannot be chosen.
            (
                r#"[{:process 0 :type :invoke :f :propose :value "x"} {:process 0 :type :ok :f :propose :value "z"}]"#,
                false,
            ),
            // A proposal that may have been chosen (:info) explains a later read of its value.
            (
                r#"[{:process 0 :type :invoke :f :propose :value "x"} {:process 0 :type :info :f :propose :value "x"}
                   {:process 1 :type :invoke :f :read :value nil} {:process 1 :type :ok :f :read :value "x"}]"#,
                true,
            ),
            // A decision made before a proposal began wins over it.
            (
                r#"[{:process 0 :type :invoke :f :propose :value "x"} {:process 0 :type :ok :f :propose :value "x"}
                   {:process 1 :type :invoke :f :propose :value "y"} {:process 1 :type :ok :f :propose :value "y"}]"#,
                false,
            ),
        ];
        for (edn, expected) in table {
            assert_eq!(lin(edn, &WriteOnce), expected, "{edn}");
        }
    }

    #[test]
    fn the_models_agree_with_a_brute_force_oracle_on_every_small_sequence() {
        // Sequences of up to 4 operations over tiny domains: the model accepts exactly the
        // sequences the definition allows.
        let values = [Value::Int(1), Value::Int(2), Value::Int(3)];
        let mut sequences: Vec<Vec<usize>> = vec![vec![]];
        for _ in 0..4 {
            let longer: Vec<Vec<usize>> = sequences
                .iter()
                .flat_map(|s| (0..values.len()).map(move |v| [s.clone(), vec![v]].concat()))
                .collect();
            sequences.extend(longer);
        }
        for seq in &sequences {
            let tickets: Vec<&Value> = seq.iter().map(|&i| &values[i]).collect();
            // Tickets: strictly increasing, by definition.
            let increasing = tickets.windows(2).all(|w| w[0] < w[1]);
            let mut state = TicketDispenser.init();
            let accepted = tickets.iter().all(|t| {
                let op = TicketOp {
                    ticket: Some((*t).clone()),
                };
                TicketDispenser
                    .step(&state, &op)
                    .map(|s| state = s)
                    .is_some()
            });
            assert_eq!(accepted, increasing, "tickets {tickets:?}");
            // Write-once: (proposed, returned) pairs with returned = proposed of the first.
            let pairs: Vec<(usize, usize)> = seq
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| (c[0], c[1]))
                .collect();
            let legal = pairs.first().is_none_or(|&(p, r)| p == r)
                && pairs.iter().all(|&(_, r)| r == pairs[0].1);
            let mut held = WriteOnce.init();
            let accepted = pairs.iter().all(|&(p, r)| {
                let op = WriteOnceOp::Propose {
                    value: values[p].clone(),
                    returned: Some(values[r].clone()),
                };
                WriteOnce.step(&held, &op).map(|s| held = s).is_some()
            });
            assert_eq!(accepted, legal, "proposals {pairs:?}");
        }
    }
}
