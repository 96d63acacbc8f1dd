//! The lesson's exercise: "which pending operation must a recovering coordinator complete
//! first?", written by the learner, judged by the crate's own table ([`RECOVERY_CASES`]) and by
//! explorer seeds on which wrong rules lose or change a decided increment. A check never panics:
//! the learner's code runs through [`attempt`], and the answer is `right: …` or `not yet: …`
//! with what went wrong.

use super::{
    CounterState, Prepared, RECOVERY_CASES, RecoveryRule, RecoveryRuleExplorer, case_name,
    recovery_case,
};
use crate::exercise::attempt;
use crate::explore::{self, Settings};

/// Seeds of `patterns explore three-phase-commit` on which wrong rules break an invariant or the
/// counter's linearizability: completing nothing fails on seed 5 (and on half of all seeds), the
/// first proposal reported on 81, the largest transaction id on 199.
pub const RECOVERY_SEEDS: &[u64] = &[5, 81, 199];

fn describe(base: &CounterState, pending: &[Prepared]) -> String {
    let each: Vec<String> = pending
        .iter()
        .map(|p| match &p.accepted {
            Some(a) => format!(
                "{} for version {} at epoch {}",
                case_name(p.tx.id),
                a.next.version,
                a.epoch.round
            ),
            None => format!("{} (no proposal)", case_name(p.tx.id)),
        })
        .collect();
    format!(
        "version {} committed, [{}] pending",
        base.version,
        each.join(", ")
    )
}

fn show(choice: &Option<Prepared>) -> String {
    match choice {
        Some(p) => case_name(p.tx.id),
        None => "nothing".to_string(),
    }
}

/// Judges a recovery rule: every row of the crate's table, then replays of the explorer's seeds
/// with the rule in every coordinator.
pub fn check_recovery_rule(rule: RecoveryRule) -> Result<String, String> {
    for &(version, pending, expected, why) in RECOVERY_CASES {
        let (base, pending) = recovery_case(version, pending);
        let got = attempt(|| rule(&base, &pending))
            .map_err(|why| format!("not yet: your rule panics ({why}): write its body"))?;
        if got.as_ref().map(|p| case_name(p.tx.id)).as_deref() != expected {
            return Err(format!(
                "not yet: with {}, your rule completes {}, but a recoverer must complete {} ({why})",
                describe(&base, &pending),
                show(&got),
                expected.unwrap_or("nothing")
            ));
        }
    }
    for &seed in RECOVERY_SEEDS {
        let settings = Settings {
            first_seed: seed,
            seeds: 1,
            shrink: false,
            stop_at_first: true,
        };
        let found = attempt(|| explore::search(&RecoveryRuleExplorer(rule), "correct", &settings))
            .map_err(|why| format!("not yet: your rule panics in the explorer's run ({why})"))?
            .map_err(|e| format!("not yet: the explorer could not run: {e}"))?;
        if let Some((_, property)) = found.failures.first() {
            return Err(format!(
                "not yet: every row of the table passes, but explorer seed {seed} still fails: \
                 {property}"
            ));
        }
    }
    Ok(format!(
        "right: the {} rows of the table, and explorer seeds {RECOVERY_SEEDS:?} with your rule in \
         every coordinator",
        RECOVERY_CASES.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::two_phase_commit::complete_first;

    #[test]
    fn the_crates_rule_is_right_and_wrong_ones_are_not_yet() {
        let right = check_recovery_rule(complete_first).unwrap();
        assert!(right.starts_with("right:"), "{right}");
        let unanswered: RecoveryRule = |_, _| todo!();
        let answer = check_recovery_rule(unanswered).unwrap_err();
        assert!(answer.starts_with("not yet: your rule panics"), "{answer}");
        let wrong: [(RecoveryRule, &str); 3] = [
            (|_, _| None, "a proposal for the next version"),
            (
                |_, pending| pending.iter().max_by_key(|p| p.tx.id).cloned(),
                "not the larger transaction id",
            ),
            (
                |_, pending| {
                    pending
                        .iter()
                        .max_by_key(|p| p.accepted.as_ref().map(|a| a.epoch))
                        .cloned()
                },
                "stale proposal",
            ),
        ];
        for (rule, hint) in wrong {
            let answer = check_recovery_rule(rule).unwrap_err();
            assert!(answer.starts_with("not yet:"), "{answer}");
            assert!(answer.contains(hint), "{hint}: {answer}");
        }
    }

    #[test]
    fn each_seed_catches_a_wrong_rule_the_table_aside() {
        let wrong: [(RecoveryRule, u64); 3] = [
            (|_, _| None, 5),
            (|_, pending| pending.first().cloned(), 81),
            (
                |_, pending| pending.iter().max_by_key(|p| p.tx.id).cloned(),
                199,
            ),
        ];
        for (rule, seed) in wrong {
            let settings = Settings {
                first_seed: seed,
                seeds: 1,
                shrink: false,
                stop_at_first: true,
            };
            let found = explore::search(&RecoveryRuleExplorer(rule), "correct", &settings).unwrap();
            assert!(found.counterexample.is_some(), "seed {seed}");
        }
    }
}
