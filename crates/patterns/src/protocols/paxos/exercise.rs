//! The lesson's exercise: "which value must I propose?", written by the learner, judged by the
//! crate's own table ([`VALUE_CASES`]) and by the explorer's seed on which `ignore-accepted`
//! chooses two values. A check never panics: the learner's code runs through
//! [`attempt`], and the answer is `right: …` or `not yet: …` with what
//! went wrong.

use super::{Accepted, Command, Explorer, Proposal, VALUE_CASES, ValueRule, value_case};
use crate::exercise::attempt;
use crate::explore::{self, Explorable, Settings};
use crate::node::{ProcessId, RequestId};

/// The proposal a table row's value stands for.
fn proposal(value: &str) -> Proposal {
    Proposal {
        command: Command::set("x", value),
        request: RequestId {
            client: ProcessId(9),
            sequence: 1,
        },
    }
}

/// A proposal by the table's name for it (`x` for `set x=x`).
fn name(proposal: &Proposal) -> String {
    match &proposal.command {
        Command::Set { value, .. } => value.clone(),
        other => other.to_string(),
    }
}

fn describe(reports: &[Option<Accepted<Proposal>>]) -> String {
    let each: Vec<String> = reports
        .iter()
        .map(|r| match r {
            Some(a) => format!("{} accepted in {}", name(&a.value), a.ballot),
            None => "nothing accepted".to_string(),
        })
        .collect();
    format!("[{}]", each.join(", "))
}

fn show(choice: &Option<Proposal>) -> String {
    match choice {
        Some(p) => name(p),
        None => "its own value".to_string(),
    }
}

/// The seed on which `ignore-accepted` first fails.
pub fn ignore_accepted_seed() -> u64 {
    Explorer::default()
        .variants()
        .iter()
        .find(|v| v.name == "ignore-accepted")
        .and_then(|v| v.failing_seed)
        .expect("ignore-accepted records its failing seed")
}

/// Judges a "which value must I propose?" rule: every row of the crate's table, then a replay of
/// the explorer's seed that catches `ignore-accepted`, with the rule in the proposers.
pub fn check_value_rule(rule: ValueRule<Proposal>) -> Result<String, String> {
    for &(reports, expected, why) in VALUE_CASES {
        let reports = value_case(reports, proposal);
        let got = attempt(|| rule(&reports))
            .map_err(|why| format!("not yet: your rule panics ({why}): write its body"))?;
        let want = expected.map(proposal);
        if got != want {
            return Err(format!(
                "not yet: when the promises report {}, your rule proposes {}, but a proposer must \
                 propose {} ({why})",
                describe(&reports),
                show(&got),
                show(&want)
            ));
        }
    }
    let seed = ignore_accepted_seed();
    let settings = Settings::first_failure(seed, 1);
    let found = attempt(|| explore::search(&Explorer::with_value_rule(rule), "correct", &settings))
        .map_err(|why| format!("not yet: your rule panics in the explorer's run ({why})"))?
        .map_err(|e| format!("not yet: the explorer could not run: {e}"))?;
    if let Some((_, property)) = found.failures.first() {
        return Err(format!(
            "not yet: every row of the table passes, but explorer seed {seed} still fails: {property}"
        ));
    }
    Ok(format!(
        "right: the {} rows of the table, and explorer seed {seed}, where ignoring accepted values \
         chooses two values",
        VALUE_CASES.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::paxos::{ignore_accepted, value_to_propose};

    fn first_reported(reports: &[Option<Accepted<Proposal>>]) -> Option<Proposal> {
        reports.iter().flatten().next().map(|a| a.value.clone())
    }

    #[test]
    fn the_crates_rule_passes_and_the_classic_mistakes_do_not() {
        assert!(
            check_value_rule(value_to_propose)
                .unwrap()
                .starts_with("right:")
        );
        let unanswered: ValueRule<Proposal> = |_| todo!();
        let answer = check_value_rule(unanswered).unwrap_err();
        assert!(answer.starts_with("not yet: your rule panics"), "{answer}");
        // (a wrong rule, what the answer must mention)
        let wrong: [(ValueRule<Proposal>, &str); 2] = [
            (ignore_accepted, "carry it forward"),
            (first_reported, "highest ballot"),
        ];
        for (rule, hint) in wrong {
            let answer = check_value_rule(rule).unwrap_err();
            assert!(answer.starts_with("not yet:"), "{answer}");
            assert!(answer.contains(hint), "{answer}");
        }
    }
}
