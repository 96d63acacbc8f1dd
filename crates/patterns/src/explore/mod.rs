//! The explorer: the proof that a protocol works, and the finder of each broken variant's
//! counterexample.
//!
//! For every seed, a random run ([`crate::sim::RandomRun`]): clients read, write and
//! compare-and-set at random nodes while a nemesis injects the faults the protocol claims to
//! tolerate (the safety phase); then everything heals and every client must finish (the liveness
//! phase), as TigerBeetle's VOPR runs. A run fails when
//! - an invariant the protocol states breaks at some event (observers see every node's state after
//!   every event, and keep ghost state, such as every value ever chosen);
//! - its client history is not linearizable (our checker, against the protocol's model);
//! - a client is still waiting when the liveness budget runs out.
//!
//! A run the checker cannot decide within its budget is neither a pass nor a failure: it is
//! reported as unknown. The first failing seed is replayed as a script and shrunk (an earlier
//! stop, fewer faults, fewer operations) while it still fails the same way, then replayed once
//! more with a full trace, so its message diagram is short enough to read.
//!
//! A protocol takes part by implementing [`Explorable`]; [`crate::protocols::catalog`] lists them
//! for `patterns explore`.

mod shrink;
mod stats;

pub use stats::Stats;

use crate::check::{HistoryError, Report, Verdict};
use crate::history::History;
use crate::node::{Node, NodeInit, Tick};
use crate::sim::{Builder, Fault, Invocation, Observer, RandomRun, RunPlan, SimError, TraceLevel};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::fmt;

/// One form of a protocol: the correct one, or a classic broken variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Variant {
    /// Kebab-case, as `patterns explore --variant` takes it.
    pub name: &'static str,
    /// What the variant does, in one line.
    pub summary: &'static str,
    /// Whether the explorer is expected to find a counterexample (and which claim it breaks).
    pub broken: bool,
    /// A seed known to fail, so CI can catch the variant from it plus a short search.
    pub failing_seed: Option<u64>,
}

impl Variant {
    /// A variant as a protocol's explorer lists it: `broken` ones name a seed known to fail.
    pub const fn new(
        name: &'static str,
        summary: &'static str,
        broken: bool,
        failing_seed: Option<u64>,
    ) -> Variant {
        Variant {
            name,
            summary,
            broken,
            failing_seed,
        }
    }
}

/// Draws client operations.
pub type Operations<N> = Box<dyn FnMut(&mut ChaCha8Rng) -> <N as Node>::Operation>;

/// Makes a node, at the start and at every restart.
pub type Factory<N> = Box<dyn Fn(&NodeInit) -> N>;

/// A protocol's client operation type.
pub(crate) type OperationOf<E> = <<E as Explorable>::Node as Node>::Operation;

/// A judged run: the run, how it ended, and the checker's report when the history was checked.
pub(crate) type Judged<N> = (RandomRun<N>, Outcome, Option<Report>);

/// What the explorer needs to know about a protocol.
pub trait Explorable {
    type Node: Node + 'static;

    /// Kebab-case, as `patterns explore NAME` takes it.
    fn name(&self) -> &'static str;

    /// The pattern, in one line.
    fn summary(&self) -> &'static str;

    /// The correct form first, then the broken variants.
    fn variants(&self) -> Vec<Variant>;

    /// The cluster of one run: nodes, clients, client policy, latency. The explorer sets the seed
    /// and the trace level.
    fn builder(&self, variant: &Variant) -> Builder;

    /// Makes a node of `variant`, at the start and at every restart.
    fn node(&self, variant: &Variant) -> Factory<Self::Node>;

    /// The random operations clients start.
    fn operations(&self, variant: &Variant) -> Operations<Self::Node>;

    /// How long the phases last and which faults the nemesis injects: only those the protocol
    /// claims to tolerate.
    fn plan(&self, variant: &Variant) -> RunPlan;

    /// The protocol's invariants, checked after every event (none by default).
    fn invariants(&self, variant: &Variant) -> Option<Observer<Self::Node>> {
        let _ = variant;
        None
    }

    /// Judges a run's client history (linearizability against the protocol's model).
    fn check(&self, history: &History) -> Result<Report, HistoryError>;
}

/// How many seeds, and whether to shrink what fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub first_seed: u64,
    pub seeds: u64,
    /// Shrink the first counterexample before drawing it.
    pub shrink: bool,
    /// Stop at the first failing seed (the rest of the seeds are not run).
    pub stop_at_first: bool,
}

impl Settings {
    /// `seeds` seeds from `first_seed`, stopping at the first that fails, without shrinking: how a
    /// test or an exercise asks "does this form fail here?".
    pub const fn first_failure(first_seed: u64, seeds: u64) -> Settings {
        Settings {
            first_seed,
            seeds,
            shrink: false,
            stop_at_first: true,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            first_seed: 0,
            seeds: 100,
            shrink: true,
            stop_at_first: false,
        }
    }
}

/// Why a run failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "property", content = "detail", rename_all = "kebab-case")]
pub enum Property {
    /// An invariant broke at some event.
    Invariant(String),
    /// The client history is not linearizable.
    Linearizability(String),
    /// After everything healed, a client was still waiting when the budget ran out.
    Liveness(String),
}

impl Property {
    fn same_kind(&self, other: &Property) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// The property's name.
    pub fn name(&self) -> &'static str {
        match self {
            Property::Invariant(_) => "invariant",
            Property::Linearizability(_) => "linearizability",
            Property::Liveness(_) => "liveness",
        }
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Property::Invariant(why) => write!(f, "invariant broken: {why}"),
            Property::Linearizability(why) => write!(f, "not linearizable: {why}"),
            Property::Liveness(why) => write!(f, "not live: {why}"),
        }
    }
}

/// How one run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed {
        property: Property,
        tick: Option<Tick>,
    },
    /// The checker could not decide within its budget.
    Unknown,
}

/// What the explorer could not do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExploreError {
    UnknownVariant {
        name: String,
        known: Vec<&'static str>,
    },
    /// The simulation refused something the protocol's set-up asked for (a bad cluster).
    Setup(String),
    /// The history is malformed: a bug in the protocol's operation vocabulary.
    History(String),
}

impl fmt::Display for ExploreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExploreError::UnknownVariant { name, known } => {
                write!(f, "no variant {name:?}; variants: {}", known.join(", "))
            }
            ExploreError::Setup(why) => write!(f, "the run could not be set up: {why}"),
            ExploreError::History(why) => write!(f, "the run's history cannot be checked: {why}"),
        }
    }
}

impl std::error::Error for ExploreError {}

/// A failing run, shrunk, and replayed with a full trace.
pub struct Counterexample<N: Node> {
    pub variant: Variant,
    pub seed: u64,
    pub property: Property,
    /// The tick an invariant broke at, if one did.
    pub tick: Option<Tick>,
    /// The replayed run: its simulation holds the trace and the history.
    pub run: RandomRun<N>,
    /// The checker's report on the replayed history (its culprit, its timeline).
    pub report: Option<Report>,
    pub shrink: shrink::Shrunk,
    script: Script<N::Operation>,
}

impl<N: Node + 'static> Counterexample<N> {
    /// Time travel: the same (shrunk) run replayed to `tick` and stopped there, to look at the
    /// cluster just before it went wrong, or to [`RandomRun::fork`] it and try something else.
    pub fn rewind<E: Explorable<Node = N> + ?Sized>(
        &self,
        protocol: &E,
        tick: Tick,
    ) -> Result<RandomRun<N>, ExploreError> {
        let sim = protocol
            .builder(&self.variant)
            .seed(self.seed)
            .trace(TraceLevel::Full)
            .build(protocol.node(&self.variant))
            .map_err(|e| ExploreError::Setup(e.to_string()))?;
        let mut plan = protocol.plan(&self.variant);
        plan.ticks = self.script.ticks;
        let mut run = RandomRun::scripted(
            sim,
            self.script.invocations.clone(),
            self.script.faults.clone(),
            plan,
        );
        run.run_to(tick)
            .map_err(|e| ExploreError::Setup(e.to_string()))?;
        Ok(run)
    }

    /// The faults the (shrunk) run injects during its safety phase.
    pub fn faults(&self) -> &[(Tick, Fault)] {
        &self.script.faults
    }

    /// "replay: seed N" and what shrinking kept.
    pub fn replay(&self) -> String {
        format!("replay: seed {}", self.seed)
    }

    /// The ticks worth drawing: around the broken invariant, or from the first of the operations
    /// the checker's explanation names (the culprit and the last ones it could place before it) to
    /// the culprit's end.
    pub fn window(&self) -> (Tick, Tick) {
        let history = self.run.sim.history();
        let time = |index: usize| history.events.get(index).and_then(|e| e.time);
        if let Some(t) = self.tick {
            return (t.saturating_sub(12), t + 4);
        }
        let Some(Verdict::Illegal(violation)) = self.report.as_ref().map(|r| &r.verdict) else {
            return (0, self.run.sim.now());
        };
        let operations = &self
            .report
            .as_ref()
            .expect("a verdict has a report")
            .operations;
        let named = violation
            .prefix
            .iter()
            .rev()
            .take(3)
            .chain([&violation.culprit])
            .filter_map(|id| operations.get(*id));
        let (mut from, mut to) = (Tick::MAX, 0);
        for op in named {
            if let Some(t) = time(op.invoke_index) {
                from = from.min(t);
                to = to.max(t);
            }
            if let Some(t) = op.complete_index.and_then(time) {
                to = to.max(t);
            }
        }
        if from > to {
            return (0, self.run.sim.now());
        }
        (from.saturating_sub(2), to + 2)
    }
}

/// What a search over seeds found.
pub struct Search<N: Node> {
    pub protocol: &'static str,
    pub variant: Variant,
    pub runs: u64,
    /// Seeds that failed, with the property each broke.
    pub failures: Vec<(u64, Property)>,
    /// Seeds the checker could not decide.
    pub unknown: Vec<u64>,
    pub counterexample: Option<Counterexample<N>>,
    pub stats: Stats,
}

fn find_variant<E: Explorable + ?Sized>(protocol: &E, name: &str) -> Result<Variant, ExploreError> {
    let variants = protocol.variants();
    variants
        .iter()
        .find(|v| v.name == name)
        .cloned()
        .ok_or_else(|| ExploreError::UnknownVariant {
            name: name.to_string(),
            known: variants.iter().map(|v| v.name).collect(),
        })
}

/// What one run needs besides its seed: a script to replay instead of random draws, and a
/// shorter safety phase.
#[derive(Clone, Debug, Default)]
pub(crate) struct Script<Op> {
    pub invocations: Vec<Invocation<Op>>,
    pub faults: Vec<(Tick, Fault)>,
    pub ticks: Tick,
}

/// Runs one seed of `variant` (randomly, or replaying `script`) and judges it.
pub(crate) fn run_once<E: Explorable + ?Sized>(
    protocol: &E,
    variant: &Variant,
    seed: u64,
    script: Option<&Script<OperationOf<E>>>,
    trace: TraceLevel,
) -> Result<Judged<E::Node>, ExploreError> {
    let sim = protocol
        .builder(variant)
        .seed(seed)
        .trace(trace)
        .build(protocol.node(variant))
        .map_err(|e| ExploreError::Setup(e.to_string()))?;
    let mut plan = protocol.plan(variant);
    let mut run = match script {
        None => RandomRun::new(sim, protocol.operations(variant), plan),
        Some(script) => {
            plan.ticks = script.ticks;
            RandomRun::scripted(sim, script.invocations.clone(), script.faults.clone(), plan)
        }
    };
    if let Some(observer) = protocol.invariants(variant) {
        run = run.observe(observer);
    }
    let finished = run.finish();
    if let Some((tick, why)) = run.violation() {
        let property = Property::Invariant(why.clone());
        let tick = Some(*tick);
        return Ok((run, Outcome::Failed { property, tick }, None));
    }
    let liveness = match finished {
        Ok(()) => None,
        Err(e @ SimError::BudgetExhausted { .. }) => Some(e.to_string()),
        Err(e) => return Err(ExploreError::Setup(e.to_string())),
    };
    let report = protocol
        .check(run.sim.history())
        .map_err(|e| ExploreError::History(e.to_string()))?;
    let outcome = match (&report.verdict, liveness) {
        (Verdict::Illegal(_), _) => Outcome::Failed {
            property: Property::Linearizability(report.explanation()),
            tick: None,
        },
        (_, Some(why)) => Outcome::Failed {
            property: Property::Liveness(why),
            tick: None,
        },
        (Verdict::Unknown { .. }, None) => Outcome::Unknown,
        (Verdict::Ok { .. }, None) => Outcome::Passed,
    };
    Ok((run, outcome, Some(report)))
}

/// Runs `settings.seeds` seeds of `variant`; keeps the first failure, shrunk and replayed with a
/// full trace.
pub fn search<E: Explorable + ?Sized>(
    protocol: &E,
    variant: &str,
    settings: &Settings,
) -> Result<Search<E::Node>, ExploreError> {
    let variant = find_variant(protocol, variant)?;
    let mut search = Search {
        protocol: protocol.name(),
        variant: variant.clone(),
        runs: 0,
        failures: Vec::new(),
        unknown: Vec::new(),
        counterexample: None,
        stats: Stats::default(),
    };
    let seeds = settings.first_seed..settings.first_seed.saturating_add(settings.seeds);
    for seed in seeds {
        let (run, outcome, _) = run_once(protocol, &variant, seed, None, TraceLevel::Off)?;
        search.runs += 1;
        search.stats.add(&run);
        match outcome {
            Outcome::Passed => {}
            Outcome::Unknown => search.unknown.push(seed),
            Outcome::Failed { property, tick } => {
                search.failures.push((seed, property.clone()));
                if search.counterexample.is_none() {
                    let script = Script {
                        invocations: run.invocations().to_vec(),
                        faults: run.faults(),
                        ticks: run.plan.ticks,
                    };
                    search.counterexample = Some(counterexample(
                        protocol,
                        &variant,
                        seed,
                        script,
                        property,
                        tick,
                        settings.shrink,
                    )?);
                }
                if settings.stop_at_first {
                    break;
                }
            }
        }
    }
    Ok(search)
}

/// Shrinks a failing run (if asked) and replays it with a full trace.
fn counterexample<E: Explorable + ?Sized>(
    protocol: &E,
    variant: &Variant,
    seed: u64,
    script: Script<OperationOf<E>>,
    property: Property,
    tick: Option<Tick>,
    shrink: bool,
) -> Result<Counterexample<E::Node>, ExploreError> {
    let (script, shrunk) = if shrink {
        shrink::shrink(protocol, variant, seed, script, &property, tick)?
    } else {
        let shrunk = shrink::Shrunk::unchanged(&script);
        (script, shrunk)
    };
    let (run, outcome, report) =
        run_once(protocol, variant, seed, Some(&script), TraceLevel::Full)?;
    let (property, tick) = match outcome {
        Outcome::Failed { property, tick } => (property, tick),
        // Shrinking keeps only scripts that still fail, and a replay repeats its run exactly.
        _ => (property, tick),
    };
    Ok(Counterexample {
        variant: variant.clone(),
        seed,
        property,
        tick,
        run,
        report,
        shrink: shrunk,
        script,
    })
}

/// Replays one seed of `variant` up to `tick` and stops there: time travel, to look at the cluster
/// just before it went wrong (then [`crate::sim::Simulation::fork`] it to try another fault).
pub fn replay_to<E: Explorable + ?Sized>(
    protocol: &E,
    variant: &str,
    seed: u64,
    tick: Tick,
) -> Result<RandomRun<E::Node>, ExploreError> {
    let variant = find_variant(protocol, variant)?;
    let sim = protocol
        .builder(&variant)
        .seed(seed)
        .trace(TraceLevel::Full)
        .build(protocol.node(&variant))
        .map_err(|e| ExploreError::Setup(e.to_string()))?;
    let mut run = RandomRun::new(sim, protocol.operations(&variant), protocol.plan(&variant));
    run.run_to(tick)
        .map_err(|e| ExploreError::Setup(e.to_string()))?;
    Ok(run)
}

// ----- the catalog's view: any protocol, as the command line sees it ------------------------------

/// A counterexample as files and text: what `patterns explore` prints and saves.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub seed: u64,
    pub property: Property,
    pub tick: Option<Tick>,
    pub replay: String,
    pub shrink: shrink::Shrunk,
    /// The message diagram around the failure, as SVG.
    #[serde(skip)]
    pub diagram_svg: String,
    /// The checker's timeline of the history, as SVG (for history violations).
    #[serde(skip)]
    pub timeline_svg: Option<String>,
    /// The replayed run's history, as EDN.
    #[serde(skip)]
    pub history_edn: String,
}

/// A search's result without its protocol's types.
#[derive(Clone, Debug, Serialize)]
pub struct Findings {
    pub protocol: &'static str,
    pub variant: Variant,
    pub runs: u64,
    pub first_seed: u64,
    pub failing_seeds: Vec<u64>,
    pub unknown_seeds: Vec<u64>,
    pub first: Option<Finding>,
    pub stats: stats::Summary,
}

/// Any explorable protocol, without its types: what the catalog holds.
pub trait Protocol {
    fn name(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    fn variants(&self) -> Vec<Variant>;
    fn search(&self, variant: &str, settings: &Settings) -> Result<Findings, ExploreError>;
}

impl<E: Explorable> Protocol for E {
    fn name(&self) -> &'static str {
        Explorable::name(self)
    }

    fn summary(&self) -> &'static str {
        Explorable::summary(self)
    }

    fn variants(&self) -> Vec<Variant> {
        Explorable::variants(self)
    }

    fn search(&self, variant: &str, settings: &Settings) -> Result<Findings, ExploreError> {
        let found = search(self, variant, settings)?;
        let first = found.counterexample.as_ref().map(|c| {
            let (from, to) = c.window();
            let title = format!(
                "{} ({}): {} — {}",
                found.protocol,
                found.variant.name,
                c.property.name(),
                c.replay()
            );
            let diagram_svg = c
                .run
                .sim
                .trace()
                .diagram()
                .window(from, to)
                .title(title)
                .figure()
                .map(|f| f.svg().to_string())
                .unwrap_or_default();
            let timeline_svg = c
                .report
                .as_ref()
                .filter(|r| r.is_illegal())
                .and_then(|r| r.timeline().ok())
                .map(|f| f.svg().to_string());
            Finding {
                seed: c.seed,
                property: c.property.clone(),
                tick: c.tick,
                replay: c.replay(),
                shrink: c.shrink.clone(),
                diagram_svg,
                timeline_svg,
                history_edn: c.run.sim.history().to_edn(),
            }
        });
        Ok(Findings {
            protocol: found.protocol,
            variant: found.variant,
            runs: found.runs,
            first_seed: settings.first_seed,
            failing_seeds: found.failures.iter().map(|(s, _)| *s).collect(),
            unknown_seeds: found.unknown,
            first,
            stats: found.stats.summary(),
        })
    }
}
