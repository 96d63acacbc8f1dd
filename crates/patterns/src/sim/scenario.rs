//! Scenarios that read as stories: a cluster, then steps (cut the network, write, read, heal,
//! crash, expect), in the spirit of tickloom's DSL (spec §1.16) without its pitfalls: every step
//! is checked when it runs, a failed expectation names its step, and faults are plain steps, not
//! side effects of the next action.
//!
//! ```
//! use patterns::protocols::echo::{Echo, EchoServer};
//! use patterns::sim::{Builder, Scenario};
//! let run = Scenario::new("an isolated node cannot answer")
//!     .isolate("cyrene")
//!     .invoke("alice", "cyrene", Echo::new("hello?"))
//!     .expect("alice gives up", |run| run.last_reply("alice").is_none())
//!     .reconnect("cyrene")
//!     .invoke("alice", "cyrene", Echo::new("hello"))
//!     .expect("and hears back once it is reconnected", |run| run.last_reply("alice").is_some())
//!     .run(Builder::new(), |_| EchoServer::new())
//!     .unwrap();
//! assert_eq!(run.story().len(), 6);
//! ```

use super::{Builder, Fault, Latency, OpHandle, Outcome, SimError, Simulation};
use crate::node::{Kind, KindOf, Node, NodeInit, ReplyOf, Tick};
use crate::viz::SequenceDiagram;
use std::collections::BTreeMap;
use std::fmt;

type Action<N> = Box<dyn Fn(&mut Simulation<N>) -> Result<(), SimError>>;
type Check<N> = Box<dyn Fn(&ScenarioRun<N>) -> bool>;

enum Step<N: Node> {
    Fault(Fault),
    Act(Action<N>),
    Invoke {
        client: String,
        node: String,
        operation: N::Operation,
        wait: bool,
    },
    RunFor(Tick),
    AwaitOp {
        client: String,
    },
    Await(Check<N>),
    Expect(Check<N>),
}

/// A story to run against a cluster: build it step by step, then [`Scenario::run`] it.
pub struct Scenario<N: Node> {
    name: String,
    steps: Vec<(String, Step<N>)>,
    budget_ticks: Tick,
}

/// A step that did not go as the story says.
#[derive(Clone, Debug)]
pub struct ScenarioError {
    pub scenario: String,
    /// The run's seed: replaying it reproduces the failure.
    pub seed: u64,
    /// The step's number, from 1.
    pub step: usize,
    pub description: String,
    pub tick: Tick,
    pub reason: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "scenario {:?}, step {} ({}) at tick {}: {} (replay: seed {})",
            self.scenario, self.step, self.description, self.tick, self.reason, self.seed
        )
    }
}

impl std::error::Error for ScenarioError {}

/// A finished run: the simulation, and the story as it happened.
pub struct ScenarioRun<N: Node> {
    pub sim: Simulation<N>,
    story: Vec<(Tick, String)>,
    last_op: BTreeMap<String, OpHandle>,
    /// The client and tick of the latest invocation: what a failed step is most likely about.
    last_invoked: Option<(String, Tick)>,
    failure: Option<ScenarioError>,
}

impl<N: Node> ScenarioRun<N> {
    /// The run's message diagram, titled `title`. When a step failed, the title says which one
    /// and at which tick, and the operation invoked last before it is marked in red: a notebook
    /// draws the failed run first and asserts after.
    pub fn diagram(&self, title: impl Into<String>) -> SequenceDiagram<'_> {
        let title = title.into();
        let diagram = self.sim.trace().diagram();
        let Some(failure) = &self.failure else {
            return diagram.title(title);
        };
        let diagram = diagram.title(format!(
            "✗ {title}: step {} failed at t{} ({})",
            failure.step, failure.tick, failure.description
        ));
        match &self.last_invoked {
            Some((client, tick)) => diagram.highlight_operation(client, *tick),
            None => diagram,
        }
    }

    /// The step that did not go as the story says, if one did not (the run stops there).
    pub fn failure(&self) -> Option<&ScenarioError> {
        self.failure.as_ref()
    }

    /// Whether every step went as the story says.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// Each step with the tick it ran at.
    pub fn story(&self) -> &[(Tick, String)] {
        &self.story
    }

    /// How the client's latest operation ended, if it has.
    pub fn last_outcome(&self, client: &str) -> Option<&Outcome<ReplyOf<N>>> {
        self.last_op
            .get(client)
            .and_then(|op| self.sim.outcome(*op))
    }

    /// The reply to the client's latest operation, if one arrived.
    pub fn last_reply(&self, client: &str) -> Option<&ReplyOf<N>> {
        self.last_outcome(client).and_then(Outcome::reply)
    }

    /// The story as text, one step per line.
    pub fn story_text(&self) -> String {
        self.story
            .iter()
            .map(|(t, s)| format!("tick {t:>4}: {s}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl<N: Node + 'static> Scenario<N> {
    pub fn new(name: impl Into<String>) -> Scenario<N> {
        Scenario {
            name: name.into(),
            steps: Vec::new(),
            budget_ticks: 1_000,
        }
    }

    /// How many ticks a waiting step may take before the scenario fails (default 1 000).
    pub fn budget_ticks(mut self, ticks: Tick) -> Self {
        self.budget_ticks = ticks;
        self
    }

    /// Injects a fault (see [`Fault`] for every kind).
    pub fn inject(mut self, fault: Fault) -> Self {
        self.steps.push((fault.to_string(), Step::Fault(fault)));
        self
    }

    /// Cuts the network between two groups.
    pub fn partition(self, a: &[&str], b: &[&str]) -> Self {
        self.inject(Fault::partition(a, b))
    }

    /// Cuts the links from one group to another, one way.
    pub fn partition_one_way(self, from: &[&str], to: &[&str]) -> Self {
        self.inject(Fault::partition_one_way(from, to))
    }

    /// Every link back to normal.
    pub fn heal_all(self) -> Self {
        self.inject(Fault::HealAll)
    }

    pub fn isolate(self, name: &str) -> Self {
        self.inject(Fault::isolate(name))
    }

    pub fn reconnect(self, name: &str) -> Self {
        self.inject(Fault::reconnect(name))
    }

    pub fn crash(self, name: &str) -> Self {
        self.inject(Fault::crash(name))
    }

    pub fn restart(self, name: &str) -> Self {
        self.inject(Fault::restart(name))
    }

    /// Sets the latency of a link.
    pub fn latency(self, from: &str, to: &str, latency: Latency) -> Self {
        self.inject(Fault::latency(from, to, Some(latency)))
    }

    /// Delays every message of one type on a link by `extra_ticks`.
    pub fn delay_kind(self, kind: KindOf<N>, from: &str, to: &str, extra_ticks: Tick) -> Self {
        self.inject(Fault::DelayKind {
            kind: kind.name(),
            from: from.into(),
            to: to.into(),
            extra_ticks,
        })
    }

    /// Drops every message of one type on a link.
    pub fn drop_kind(self, kind: KindOf<N>, from: &str, to: &str) -> Self {
        self.inject(Fault::DropKind {
            kind: kind.name(),
            from: from.into(),
            to: to.into(),
            nth: None,
        })
    }

    /// Sets a node's wall clock.
    pub fn set_clock(self, name: &str, millis: i64) -> Self {
        self.inject(Fault::SetClock {
            node: name.into(),
            millis,
        })
    }

    /// Moves a node's wall clock by `millis`.
    pub fn skew_clock(self, name: &str, millis: i64) -> Self {
        self.inject(Fault::skew_clock(name, millis))
    }

    /// Any other change to the cluster, described in words.
    pub fn act(
        mut self,
        description: &str,
        action: impl Fn(&mut Simulation<N>) -> Result<(), SimError> + 'static,
    ) -> Self {
        self.steps
            .push((description.to_string(), Step::Act(Box::new(action))));
        self
    }

    /// `client` sends `operation` to `node` and waits until it ends (a reply or the client's
    /// timeout).
    pub fn invoke(self, client: &str, node: &str, operation: N::Operation) -> Self {
        let description = format!("{client} asks {node}: {operation:?}");
        self.push_invoke(description, client, node, operation, true)
    }

    /// `client` sends `operation` to `node` and the story goes on without waiting.
    pub fn start(self, client: &str, node: &str, operation: N::Operation) -> Self {
        let description = format!("{client} starts at {node}: {operation:?}");
        self.push_invoke(description, client, node, operation, false)
    }

    fn push_invoke(
        mut self,
        description: String,
        client: &str,
        node: &str,
        operation: N::Operation,
        wait: bool,
    ) -> Self {
        let (client, node) = (client.to_string(), node.to_string());
        self.steps.push((
            description,
            Step::Invoke {
                client,
                node,
                operation,
                wait,
            },
        ));
        self
    }

    /// Waits until the client's latest operation has ended.
    pub fn await_op(mut self, client: &str) -> Self {
        self.steps.push((
            format!("wait for {client}'s operation"),
            Step::AwaitOp {
                client: client.to_string(),
            },
        ));
        self
    }

    /// Lets time pass.
    pub fn run_for(mut self, ticks: Tick) -> Self {
        self.steps
            .push((format!("{ticks} ticks pass"), Step::RunFor(ticks)));
        self
    }

    /// Runs until `condition` holds, within the budget.
    pub fn await_until(
        mut self,
        description: &str,
        condition: impl Fn(&ScenarioRun<N>) -> bool + 'static,
    ) -> Self {
        self.steps.push((
            format!("wait until {description}"),
            Step::Await(Box::new(condition)),
        ));
        self
    }

    /// Checks a claim now; the scenario fails here if it does not hold.
    pub fn expect(
        mut self,
        claim: &str,
        check: impl Fn(&ScenarioRun<N>) -> bool + 'static,
    ) -> Self {
        self.steps
            .push((format!("expect {claim}"), Step::Expect(Box::new(check))));
        self
    }

    /// Runs the story on a cluster built from `builder`; fails at the first step that does not go
    /// as the story says.
    pub fn run(
        self,
        builder: Builder,
        factory: impl Fn(&NodeInit) -> N + 'static,
    ) -> Result<ScenarioRun<N>, ScenarioError> {
        let mut run = self.play(builder, factory)?;
        match run.failure.take() {
            Some(failure) => Err(failure),
            None => Ok(run),
        }
    }

    /// Runs the story and keeps the run even if a step fails, so a notebook can draw it first
    /// and assert after ([`ScenarioRun::failure`] says which step failed and why). Only a
    /// cluster that cannot be built is an error.
    pub fn play(
        self,
        builder: Builder,
        factory: impl Fn(&NodeInit) -> N + 'static,
    ) -> Result<ScenarioRun<N>, ScenarioError> {
        let seed = builder.seed_value();
        let fail = |step: usize, description: &str, tick: Tick, reason: String| ScenarioError {
            scenario: self.name.clone(),
            seed,
            step,
            description: description.to_string(),
            tick,
            reason,
        };
        let sim = builder
            .build(factory)
            .map_err(|e| fail(0, "build the cluster", 0, e.to_string()))?;
        let mut run = ScenarioRun {
            sim,
            story: Vec::new(),
            last_op: BTreeMap::new(),
            last_invoked: None,
            failure: None,
        };
        for (index, (description, step)) in self.steps.iter().enumerate() {
            run.story.push((run.sim.now(), description.clone()));
            if let Err(reason) = self.take(&mut run, step) {
                run.failure = Some(fail(index + 1, description, run.sim.now(), reason));
                break;
            }
        }
        Ok(run)
    }

    fn take(&self, run: &mut ScenarioRun<N>, step: &Step<N>) -> Result<(), String> {
        match step {
            Step::Fault(fault) => run.sim.inject(fault.clone()).map_err(|e| e.to_string()),
            Step::Act(action) => action(&mut run.sim).map_err(|e| e.to_string()),
            Step::Invoke {
                client,
                node,
                operation,
                wait,
            } => {
                let op = run
                    .sim
                    .invoke(client, node, operation.clone())
                    .map_err(|e| e.to_string())?;
                run.last_op.insert(client.clone(), op);
                run.last_invoked = Some((client.clone(), run.sim.now()));
                if *wait {
                    run.sim
                        .run_until_done(op, self.budget_ticks)
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            Step::AwaitOp { client } => {
                let op = *run
                    .last_op
                    .get(client)
                    .ok_or_else(|| format!("{client} has invoked nothing"))?;
                run.sim
                    .run_until_done(op, self.budget_ticks)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            Step::RunFor(ticks) => {
                run.sim.run_for(*ticks);
                Ok(())
            }
            Step::Await(condition) => {
                let start = run.sim.now();
                loop {
                    if condition(run) {
                        return Ok(());
                    }
                    if run.sim.now() >= start + self.budget_ticks || !run.sim.step() {
                        return Err(format!("still false after {} ticks", run.sim.now() - start));
                    }
                }
            }
            Step::Expect(check) => {
                if check(run) {
                    Ok(())
                } else {
                    Err("the claim does not hold".into())
                }
            }
        }
    }
}
