//! The lesson's exercise: "what is my new commit index?", the leader's commit rule (§5.3,
//! §5.4.2), written by the learner and judged by the crate's own table ([`COMMIT_CASES`]) and by
//! the paper's Figure 8 replayed with the learner's rule in every server. A check never panics:
//! the learner's code runs through [`attempt`], and the answer is `right: …` or `not yet: …` with
//! what went wrong.

use super::rules::{COMMIT_CASES, CommitRule};
use super::{Config, Ending, figure8};
use crate::exercise::attempt;

/// Judges a commit rule: every row of the crate's table, then Figure 8 without the no-op (so the
/// rule alone decides): in (c) the rule must not commit `x←2` of term 2, and in (e) it must commit
/// `z←4` of term 4, and `x←2` with it.
pub fn check_commit_rule(rule: CommitRule) -> Result<String, String> {
    for &(commit, term, matches, terms, expected, why) in COMMIT_CASES {
        let got = attempt(|| rule(commit, term, matches, terms))
            .map_err(|why| format!("not yet: your rule panics ({why}): write its body"))?;
        if got != expected {
            return Err(format!(
                "not yet: a leader of term {term} with commit index {commit}, match indexes \
                 {matches:?} and log terms {terms:?} moves its commit index to {expected}, your \
                 rule says {got} ({why})"
            ));
        }
    }
    let config = Config {
        start_of_term_noop: false,
        ..Config::default()
    }
    .commit_rule(rule);
    let replay = |ending| {
        attempt(|| figure8(config.clone(), ending))
            .map_err(|why| format!("not yet: your rule panics in Figure 8 ({why})"))?
            .map_err(|e| format!("not yet: Figure 8 could not run: {e}"))
    };
    let overwrite = replay(Ending::Overwrite)?;
    if let Some((tick, why)) = &overwrite.violation {
        return Err(format!(
            "not yet: every row of the table passes, but Figure 8 breaks at tick {tick}: {why}"
        ));
    }
    if overwrite.bob_acknowledged() == Some(true) {
        return Err(
            "not yet: in Figure 8 (c) your rule acknowledged bob's x←2 of term 2, which \
                    s5 then overwrites"
                .to_string(),
        );
    }
    let current_term = replay(Ending::CurrentTermEntry)?;
    let committed = current_term
        .steps
        .iter()
        .find(|s| s.name == "(c)")
        .map_or(0, |c| c.logs[0].commit_index);
    if committed != 3 || current_term.violation.is_some() {
        return Err(format!(
            "not yet: in Figure 8 (e), s1's entry 3 of term 4 is on a majority, so s1 commits up \
             to 3; with your rule its commit index is {committed}"
        ));
    }
    Ok(format!(
        "right: the {} rows of the table, and Figure 8: x←2 waits in (c), and commits with z←4 in (e)",
        COMMIT_CASES.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::raft::rules::{commit_by_counting, leader_commit_index};

    /// Commits only the next index, when it is of the current term and on a majority: right on
    /// one entry at a time, wrong when several commit at once.
    fn one_at_a_time(commit: u64, term: u64, matches: &[u64], terms: &[u64]) -> u64 {
        let next = commit + 1;
        let holders = matches.iter().filter(|&&m| m >= next).count();
        let of_term = terms.get(commit as usize) == Some(&term);
        if of_term && holders > matches.len() / 2 {
            next
        } else {
            commit
        }
    }

    #[test]
    fn the_crates_rule_passes_and_the_classic_mistakes_do_not() {
        let right = check_commit_rule(leader_commit_index).unwrap();
        assert!(right.starts_with("right:"), "{right}");
        let unanswered: CommitRule = |_, _, _, _| todo!();
        let answer = check_commit_rule(unanswered).unwrap_err();
        assert!(answer.starts_with("not yet: your rule panics"), "{answer}");
        // (a wrong rule, what the answer must mention)
        let wrong: [(CommitRule, &str); 2] = [
            (commit_by_counting, "Figure 8 (c)"),
            (one_at_a_time, "moves its commit index to 3"),
        ];
        for (rule, hint) in wrong {
            let answer = check_commit_rule(rule).unwrap_err();
            assert!(answer.starts_with("not yet:"), "{answer}");
            assert!(answer.contains(hint), "{answer}");
        }
    }
}
