//! Who led when ([`LeaderChart`]), read back from the trace: the role each node announces when it
//! starts and whenever it changes (`leader in round 3`), and the crashes a story injected.

use super::Role;
use crate::node::Tick;
use crate::sim::{Fault, Trace, TraceEvent};
use crate::viz::{self, LeaderChart};

/// `"leader in round 3"` to `(Leader, 3)`.
fn announcement(text: &str) -> Option<(viz::Role, u64)> {
    let (word, round) = text.split_once(" in round ")?;
    let role = [Role::Follower, Role::Candidate, Role::Leader]
        .into_iter()
        .find(|r| r.word() == word)?;
    let role = match role {
        Role::Follower => viz::Role::Follower,
        Role::Candidate => viz::Role::Candidate,
        Role::Leader => viz::Role::Leader,
    };
    Some((role, round.parse().ok()?))
}

/// Who led, campaigned or followed, in which ballot round, over ticks `0..end` of `trace`.
pub fn leader_chart(title: &str, trace: &Trace, names: &[String], end: Tick) -> LeaderChart {
    let mut chart = LeaderChart::new(title, end).nodes(names.iter().cloned());
    for event in &trace.events {
        match event {
            TraceEvent::Annotate { tick, node, text } => {
                let (Some(name), Some((role, round))) =
                    (names.get(node.index()), announcement(text))
                else {
                    continue;
                };
                chart = chart.change(name, *tick, role, round);
            }
            TraceEvent::Fault {
                tick,
                fault: Fault::Crash { node },
            } => chart = chart.down(node, *tick),
            _ => {}
        }
    }
    chart
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_parse_back_into_roles() {
        // (text, parsed)
        let table = [
            ("leader in round 3", Some((viz::Role::Leader, 3))),
            ("candidate in round 12", Some((viz::Role::Candidate, 12))),
            ("follower in round 0", Some((viz::Role::Follower, 0))),
            ("leader in term 3", None),
            ("lead 3.1: recover [1..2)", None),
        ];
        for (text, parsed) in table {
            assert_eq!(announcement(text), parsed, "{text}");
        }
    }
}
