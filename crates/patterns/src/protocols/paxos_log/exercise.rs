//! The lesson's exercise: "was the chosen value mine?", written by the learner, judged by the
//! crate's own table ([`IDENTITY_CASES`]) and by the explorer's seed on which
//! `structural-identity` answers a compare-and-set that never ran. A check never panics: the
//! learner's code runs through [`attempt`], and the answer is `right: …` or `not yet: …`.

use super::{Command, Explorer, Identity, IdentityRule};
use crate::exercise::attempt;
use crate::explore::{self, Explorable, Settings};
use crate::node::{ProcessId, RequestId};
use crate::protocols::kv::KvOp;

/// A command of the table: (client, request number, value written), or `None` for a no-op.
pub type CaseCommand = Option<(u16, u64, &'static str)>;

/// (what was chosen, the proposer's own command, is it the proposer's?, why), the proposer's own
/// being always client 1's request 1, `x=v1`.
pub const IDENTITY_CASES: &[(CaseCommand, bool, &str)] = &[
    (Some((1, 1, "v1")), true, "the very request"),
    (
        Some((2, 1, "v1")),
        false,
        "another client's equal write: two commands",
    ),
    (
        Some((1, 2, "v1")),
        false,
        "the same client's next request: another command",
    ),
    (Some((2, 7, "v2")), false, "another client's other write"),
    (None, false, "a no-op is nobody's command"),
];

/// The command a row stands for.
pub fn case_command(command: CaseCommand) -> Command {
    match command {
        Some((client, sequence, value)) => Command::Op {
            request: RequestId {
                client: ProcessId(client),
                sequence,
            },
            op: KvOp::write("x", value),
        },
        None => Command::NoOp,
    }
}

/// The seed on which `structural-identity` first fails.
pub fn structural_identity_seed() -> u64 {
    Explorer::default()
        .variants()
        .iter()
        .find(|v| v.name == "structural-identity")
        .and_then(|v| v.failing_seed)
        .expect("structural-identity records its failing seed")
}

fn show(command: &Command) -> String {
    match command.request() {
        Some(r) => format!("{command} (client {}, request {})", r.client.0, r.sequence),
        None => command.to_string(),
    }
}

/// Judges a "was the chosen value mine?" rule: every row of the table, then a replay of the
/// explorer's seed that catches `structural-identity`, with the rule in every proposer.
pub fn check_identity_rule(rule: IdentityRule) -> Result<String, String> {
    let own = case_command(Some((1, 1, "v1")));
    for &(chosen, expected, why) in IDENTITY_CASES {
        let chosen = case_command(chosen);
        let got = attempt(|| rule(&chosen, &own))
            .map_err(|why| format!("not yet: your rule panics ({why}): write its body"))?;
        if got != expected {
            return Err(format!(
                "not yet: with {} chosen and {} proposed, your rule says {got}, but it is {expected} \
                 ({why})",
                show(&chosen),
                show(&own)
            ));
        }
    }
    let seed = structural_identity_seed();
    let settings = Settings::first_failure(seed, 1);
    let explorer = Explorer::with_identity(Identity::Rule(rule));
    let found = attempt(|| explore::search(&explorer, "correct", &settings))
        .map_err(|why| format!("not yet: your rule panics in the explorer's run ({why})"))?
        .map_err(|e| format!("not yet: the explorer could not run: {e}"))?;
    if let Some((_, property)) = found.failures.first() {
        return Err(format!(
            "not yet: every row of the table passes, but explorer seed {seed} still fails: {property}"
        ));
    }
    Ok(format!(
        "right: the {} rows of the table, and explorer seed {seed}, where equal commands taken for \
         one another answer a compare-and-set that never ran",
        IDENTITY_CASES.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::paxos_log::{is_own, is_own_structurally};

    #[test]
    fn the_crates_rule_passes_and_the_classic_mistakes_do_not() {
        assert!(check_identity_rule(is_own).unwrap().starts_with("right:"));
        let unanswered: IdentityRule = |_, _| todo!();
        let answer = check_identity_rule(unanswered).unwrap_err();
        assert!(answer.starts_with("not yet: your rule panics"), "{answer}");
        let answer = check_identity_rule(is_own_structurally).unwrap_err();
        assert!(answer.contains("two commands"), "{answer}");
        let same_client: IdentityRule =
            |chosen, own| chosen.request().map(|r| r.client) == own.request().map(|r| r.client);
        let answer = check_identity_rule(same_client).unwrap_err();
        assert!(answer.contains("next request"), "{answer}");
    }
}
