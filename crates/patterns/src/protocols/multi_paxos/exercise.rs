//! The lesson's exercise: "which value does this commit choose?", written by the learner, judged
//! by the crate's own table ([`COMMIT_CASES`]) and by the explorer's seed on which
//! `unconditional-commit` applies a value that was never chosen. A check never panics: the
//! learner's code runs through [`attempt`], and the answer is `right: …` or `not yet: …`.

use super::{CommitRule, Explorer};
use crate::exercise::attempt;
use crate::explore::{self, Explorable, Settings};
use crate::node::{ProcessId, RequestId};
use crate::protocols::kv::KvOp;
use crate::protocols::paxos::{Accepted, Ballot};
use crate::protocols::paxos_log::Command;

/// What a follower accepted at the index: (ballot round, ballot node, value written), or nothing.
pub type CaseAccepted = Option<(u64, u16, &'static str)>;

/// One row: what the follower accepted there, the commit's ballot (round, node), the value the
/// commit chooses, why.
pub type CommitCase = (CaseAccepted, (u64, u16), Option<&'static str>, &'static str);

/// The table a commit rule must satisfy.
pub const COMMIT_CASES: &[CommitCase] = &[
    (
        Some((2, 1, "v1")),
        (2, 1),
        Some("v1"),
        "accepted in the commit's ballot: that value",
    ),
    (
        Some((1, 0, "v0")),
        (2, 1),
        None,
        "accepted from an older leader: maybe never chosen",
    ),
    (
        None,
        (2, 1),
        None,
        "nothing accepted: wait for the accept, or catch up",
    ),
    (
        Some((3, 2, "v3")),
        (2, 1),
        None,
        "accepted from a newer leader: not what was committed",
    ),
];

fn command(value: &str) -> Command {
    Command::Op {
        request: RequestId {
            client: ProcessId(9),
            sequence: 1,
        },
        op: KvOp::write("x", value),
    }
}

/// The accepted entry and commit ballot of a table row.
pub fn case(accepted: CaseAccepted, ballot: (u64, u16)) -> (Option<Accepted<Command>>, Ballot) {
    let accepted = accepted.map(|(round, node, value)| Accepted {
        ballot: Ballot::new(round, ProcessId(node)),
        value: command(value),
    });
    (accepted, Ballot::new(ballot.0, ProcessId(ballot.1)))
}

fn show(choice: &Option<Command>) -> String {
    choice
        .as_ref()
        .map_or("nothing".to_string(), Command::to_string)
}

/// The seed on which `unconditional-commit` first fails.
pub fn unconditional_commit_seed() -> u64 {
    Explorer::default()
        .variants()
        .iter()
        .find(|v| v.name == "unconditional-commit")
        .and_then(|v| v.failing_seed)
        .expect("unconditional-commit records its failing seed")
}

/// Judges a "which value does this commit choose?" rule: every row of the table, then a replay of
/// the explorer's seed that catches `unconditional-commit`, with the rule in every follower.
pub fn check_commit_rule(rule: CommitRule) -> Result<String, String> {
    for &(accepted, ballot, expected, why) in COMMIT_CASES {
        let (accepted, ballot) = case(accepted, ballot);
        let got = attempt(|| rule(accepted.as_ref(), ballot))
            .map_err(|why| format!("not yet: your rule panics ({why}): write its body"))?;
        let want = expected.map(command);
        if got != want {
            let held = accepted.as_ref().map_or("nothing".to_string(), |a| {
                format!("{} from {}", a.value, a.ballot)
            });
            return Err(format!(
                "not yet: holding {held}, a commit in {ballot} chooses {} with your rule, but it \
                 must choose {} ({why})",
                show(&got),
                show(&want)
            ));
        }
    }
    let seed = unconditional_commit_seed();
    let settings = Settings::first_failure(seed, 1);
    let explorer = Explorer::with_commit_rule(rule);
    let found = attempt(|| explore::search(&explorer, "correct", &settings))
        .map_err(|why| format!("not yet: your rule panics in the explorer's run ({why})"))?
        .map_err(|e| format!("not yet: the explorer could not run: {e}"))?;
    if let Some((_, property)) = found.failures.first() {
        return Err(format!(
            "not yet: every row of the table passes, but explorer seed {seed} still fails: {property}"
        ));
    }
    Ok(format!(
        "right: the {} rows of the table, and explorer seed {seed}, where committing whatever was \
         accepted applies a value that was never chosen",
        COMMIT_CASES.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::multi_paxos::{Committing, value_to_commit};

    #[test]
    fn the_crates_rule_passes_and_the_classic_mistakes_do_not() {
        let crate_rule: CommitRule = |a, b| value_to_commit(Committing::SameBallot, a, b);
        assert!(check_commit_rule(crate_rule).unwrap().starts_with("right:"));
        let unanswered: CommitRule = |_, _| todo!();
        let answer = check_commit_rule(unanswered).unwrap_err();
        assert!(answer.starts_with("not yet: your rule panics"), "{answer}");
        let unconditional: CommitRule = |a, _| a.map(|a| a.value.clone());
        let answer = check_commit_rule(unconditional).unwrap_err();
        assert!(answer.contains("older leader"), "{answer}");
        let at_least: CommitRule = |a, b| a.filter(|a| a.ballot >= b).map(|a| a.value.clone());
        let answer = check_commit_rule(at_least).unwrap_err();
        assert!(answer.contains("newer leader"), "{answer}");
    }
}
