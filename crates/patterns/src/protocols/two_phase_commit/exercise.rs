//! The lessons' exercises. Two- and three-phase commit: "which pending operation must a
//! recovering coordinator complete first?", written by the learner, judged by the crate's own
//! table ([`RECOVERY_CASES`]) and by explorer seeds on which wrong rules lose or change a decided
//! increment. Continuations: a get coordinator written as straight-line `async` code
//! ([`GetCoordinator`]), judged by three scenarios and by explorer seeds. A check never panics:
//! the learner's code runs through [`attempt`] (a get's panics are caught where it is polled),
//! and the answer is `right: …` or `not yet: …` with what went wrong.

use super::{
    AsyncServer, CommitKind, Config, CounterState, GetCoordinator, GetExplorer, Prepared,
    RECOVERY_CASES, RecoveryRule, RecoveryRuleExplorer, case_name, recovery_case,
};
use crate::exercise::attempt;
use crate::explore::{self, Explorable, Settings};
use crate::protocols::counter::{CounterOp, CounterReply};
use crate::sim::{Builder, Scenario};

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
        let settings = Settings::first_failure(seed, 1);
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

/// Seeds of `patterns explore two-phase-commit` on which wrong gets (one that reads only its own
/// copy, one that takes the first reply: each fails on about half of all seeds) return a value
/// the history cannot explain.
pub const GET_SEEDS: &[u64] = &[0];

/// One scenario for a learner's get: a story, the value bob's get must return, and what a get
/// that returns anything else has missed.
fn get_scenario(which: usize) -> (Scenario<AsyncServer>, i64, &'static str) {
    let start = Scenario::<AsyncServer>::new("a learner's get");
    match which {
        0 => (
            start
                .invoke("alice", "athens", CounterOp::increment("c", 2))
                .run_for(5)
                .invoke("bob", "cyrene", CounterOp::get("c")),
            2,
            "after alice's +2 has committed everywhere, bob's get at cyrene must read 2",
        ),
        1 => (
            start
                .drop_kind(CommitKind::Accept, "athens", "cyrene")
                .drop_kind(CommitKind::Commit, "athens", "cyrene")
                .invoke("alice", "athens", CounterOp::increment("c", 3))
                .run_for(5)
                .invoke("bob", "cyrene", CounterOp::get("c")),
            3,
            "cyrene missed alice's +3, which a majority committed: a get asks a majority and \
             answers the newest committed state among them",
        ),
        _ => (
            start
                .invoke("alice", "athens", CounterOp::increment("c", 4))
                .run_for(5)
                .crash("cyrene")
                .invoke("bob", "athens", CounterOp::get("c")),
            4,
            "with cyrene down, a get that waits for every server never answers: a majority is \
             enough",
        ),
    }
}

/// Judges a get coordinator: three scenarios on a two-phase cluster whose gets run it, then
/// replays of the explorer's seeds.
pub fn check_get(get: GetCoordinator) -> Result<String, String> {
    for which in 0..3 {
        let (scenario, value, why) = get_scenario(which);
        let run = scenario
            .play(Builder::new(), move |_| {
                AsyncServer::with_get(Config::two_phase(), get)
            })
            .map_err(|e| format!("not yet: the scenario could not run: {e}"))?;
        match run.last_reply("bob") {
            Some(CounterReply::Value { value: read }) if *read == value => {}
            Some(CounterReply::Failed { reason, .. }) if reason.starts_with("the get panicked") => {
                return Err(format!("not yet: {reason}: write its body"));
            }
            other => {
                let got = other.map_or("nothing".to_string(), |r| r.to_string());
                return Err(format!("not yet: your get answered {got}; {why}"));
            }
        }
    }
    for &seed in GET_SEEDS {
        let settings = Settings::first_failure(seed, 1);
        let found = explore::search(&GetExplorer(get), "correct", &settings)
            .map_err(|e| format!("not yet: the explorer could not run: {e}"))?;
        if let Some((_, property)) = found.failures.first() {
            return Err(format!(
                "not yet: the three scenarios pass, but explorer seed {seed} still fails: \
                 {property}"
            ));
        }
    }
    let name = GetExplorer(get).name();
    Ok(format!(
        "right: three scenarios, and {name} seeds {GET_SEEDS:?} with your get in every server"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{AsyncContext, ProcessId, Quorum, QuorumState};
    use crate::protocols::two_phase_commit::{CommitMessage, complete_first, latest};

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

    /// The lesson's answer: ask everyone, await a majority, answer the newest committed state.
    async fn get(io: AsyncContext<AsyncServer>, key: String) -> CounterReply {
        let majority = io.cluster_size() / 2 + 1;
        newest_of(io, key, majority).await
    }

    /// Asks every server and answers the newest committed state once `needed` of them answered.
    async fn newest_of(io: AsyncContext<AsyncServer>, key: String, needed: usize) -> CounterReply {
        let replies = io
            .request(io.cluster(), 30, move |correlation| CommitMessage::Read {
                correlation,
                key: key.clone(),
            })
            .quorum(Quorum::of(needed, io.cluster_size()), |reply| {
                matches!(reply, CommitMessage::ReadResponse { .. })
            })
            .await;
        if replies.state() != QuorumState::Reached {
            return CounterReply::failed("too few answered in time");
        }
        let states = replies.accepted().values().filter_map(|reply| match reply {
            CommitMessage::ReadResponse { committed, .. } => Some(committed),
            _ => None,
        });
        CounterReply::Value {
            value: latest(states).value,
        }
    }

    /// Wrong: only this server's copy.
    async fn own_copy(io: AsyncContext<AsyncServer>, key: String) -> CounterReply {
        let me = vec![io.id()];
        first_of(io, me, key).await
    }

    /// Wrong: the first answer among `asked`, whoever gives it.
    async fn first_of(
        io: AsyncContext<AsyncServer>,
        asked: Vec<ProcessId>,
        key: String,
    ) -> CounterReply {
        let mut round = io.request(asked, 30, move |correlation| CommitMessage::Read {
            correlation,
            key: key.clone(),
        });
        match round.next_reply().await {
            Some((_, CommitMessage::ReadResponse { committed, .. })) => CounterReply::Value {
                value: committed.value,
            },
            _ => CounterReply::failed("no answer"),
        }
    }

    /// Wrong: every server must answer.
    async fn everyone(io: AsyncContext<AsyncServer>, key: String) -> CounterReply {
        let all = io.cluster_size();
        newest_of(io, key, all).await
    }

    #[test]
    fn the_lessons_get_is_right_and_wrong_ones_are_not_yet() {
        let right = check_get(|io, key| Box::pin(get(io, key))).unwrap();
        assert!(right.starts_with("right:"), "{right}");
        let unanswered: GetCoordinator = |_, _| Box::pin(async { todo!() });
        let answer = check_get(unanswered).unwrap_err();
        assert!(answer.starts_with("not yet: the get panicked"), "{answer}");
        for (wrong, hint) in [
            (
                (|io, key| Box::pin(own_copy(io, key))) as GetCoordinator,
                "asks a majority",
            ),
            (
                |io, key| Box::pin(everyone(io, key)),
                "a majority is enough",
            ),
        ] {
            let answer = check_get(wrong).unwrap_err();
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
            let settings = Settings::first_failure(seed, 1);
            let found = explore::search(&RecoveryRuleExplorer(rule), "correct", &settings).unwrap();
            assert!(found.counterexample.is_some(), "seed {seed}");
        }
    }

    /// Wrong: the first answer, from any server.
    async fn first_reply(io: AsyncContext<AsyncServer>, key: String) -> CounterReply {
        let everyone = io.cluster();
        first_of(io, everyone, key).await
    }

    #[test]
    fn the_get_seed_catches_wrong_gets_the_scenarios_aside() {
        for get in [
            (|io, key| Box::pin(own_copy(io, key))) as GetCoordinator,
            |io, key| Box::pin(first_reply(io, key)),
        ] {
            let settings = Settings::first_failure(GET_SEEDS[0], 1);
            let found = explore::search(&GetExplorer(get), "correct", &settings).unwrap();
            assert!(found.counterexample.is_some());
        }
    }
}
