//! Message sequence (Lamport) diagrams of a simulator trace: a vertical lane per process, time
//! flowing down, an arrow per message labelled with its type.
//!
//! Layout and drawing are separate, as in porcupine's visualisation: [`SequenceDiagram::layout`]
//! is a pure function of the trace in lanes and rows, [`SequenceDiagram::scene`] places it in
//! pixels (every label collision-checked, see [`crate::viz::Scene::problems`]), and the renderer
//! only turns that into SVG. Time is compressed: only ticks where something happens get a row,
//! and a stretch of idle ticks between two rows is drawn as a gap labelled "⋮ 7 ticks", so an
//! 8-tick hop does not look like a 1-tick one. Above [`SequenceDiagram::max_arrows`] messages the
//! diagram aggregates: one arrow per link and time bucket, labelled with the dominant type and
//! the count, so a 10,000-event run stays readable (and draws in milliseconds).
//!
//! A counterexample reads best with its culprit marked and the noise dimmed:
//! [`SequenceDiagram::highlight_operation`] draws one client operation and every message it
//! caused in red; [`SequenceDiagram::focus_key`] dims what belongs to other keys, and
//! [`SequenceDiagram::only_key`] leaves it out.
//!
//! Messages a node sends to itself are not drawn: they never touch the network.

mod causality;
mod place;

use super::scene::{Scene, Title};
use super::{Figure, FigureError};
use crate::history::{EventType, Value, parse_value};
use crate::node::{ProcessId, Tick};
use crate::sim::{DropReason, Fault, MessageId, Trace, TraceEvent};
use causality::{Belonging, Causality};
use std::collections::BTreeMap;

/// An aggregated arrow's identity: row bucket, sending lane, receiving lane, dropped.
type LinkBucket = (u64, usize, usize, bool);

/// What kind of mark an arrow is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ArrowKind {
    Delivered,
    /// A second (or later) delivery of a message the network duplicated.
    Duplicate,
    Dropped(DropReason),
    /// Still on the wire (or held) when the window ends.
    InFlight,
}

/// How much a mark stands out: a highlighted culprit, the ordinary, or context dimmed away.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Emphasis {
    Normal,
    /// Part of a highlighted operation (drawn in red).
    Highlight,
    /// Not part of the focused key (drawn faint, without text).
    Dim,
}

/// One message (or, aggregated, many) from lane to lane.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    pub from_lane: usize,
    pub to_lane: usize,
    pub from_row: f64,
    pub to_row: f64,
    pub label: String,
    pub kind: ArrowKind,
    /// How many messages the arrow stands for (1 unless aggregated).
    pub count: usize,
    pub emphasis: Emphasis,
    /// The message drawn (`None` when aggregated).
    pub message: Option<MessageId>,
}

/// A label on one lane: a client operation's start or end, a timer, an annotation, a fault.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub lane: usize,
    pub row: f64,
    pub text: String,
    pub style: MarkStyle,
    pub emphasis: Emphasis,
}

/// How a mark is drawn.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MarkStyle {
    Invoke,
    Completion(EventType),
    Timer,
    Note,
    /// A fault that happened to this node (crash, restart, pause, a held link).
    Fault,
}

/// A shaded stretch of a lane (a crashed or paused node, a client operation in flight) or of the
/// whole diagram (a partition).
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// `None` spans every lane.
    pub lane: Option<usize>,
    pub from_row: f64,
    pub to_row: f64,
    pub label: String,
    pub style: BandStyle,
    pub emphasis: Emphasis,
}

/// What a band shades.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BandStyle {
    Crashed,
    Paused,
    Partition,
    /// A client operation from invocation to completion (`Invoke`: no completion yet).
    Operation(EventType),
}

/// A change to the whole network at one row (a latency, loss or clock knob), drawn as a rule
/// across the lanes with its description.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkNote {
    pub row: f64,
    pub text: String,
}

/// A diagram laid out in lane and row units, ready to place.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Lane names, left to right: clients, then nodes.
    pub lanes: Vec<String>,
    pub client_lanes: usize,
    /// The tick of each row.
    pub row_ticks: Vec<Tick>,
    pub arrows: Vec<Arrow>,
    pub marks: Vec<Mark>,
    pub bands: Vec<Band>,
    pub network_notes: Vec<NetworkNote>,
    /// Whether arrows stand for several messages (rows are then time buckets).
    pub aggregated: bool,
}

impl Layout {
    /// How many ticks pass with nothing drawn between row `row` and the next: the gap the
    /// diagram shows as "⋮ n ticks" (0 when aggregated, where rows are buckets).
    pub fn idle_ticks_after(&self, row: usize) -> Tick {
        if self.aggregated {
            return 0;
        }
        match (self.row_ticks.get(row), self.row_ticks.get(row + 1)) {
            (Some(a), Some(b)) => b.saturating_sub(*a).saturating_sub(1),
            _ => 0,
        }
    }
}

/// Which operations to mark in red.
#[derive(Clone, Debug, PartialEq)]
enum Highlight {
    Operation { client: String, invoked_at: Tick },
    Message(MessageId),
}

/// A key to focus on, dimming (or leaving out) the rest.
#[derive(Clone, Debug, PartialEq)]
struct Focus {
    key: String,
    only: bool,
}

/// A message sequence diagram of a trace, or of a window of it.
#[derive(Clone, Debug)]
pub struct SequenceDiagram<'a> {
    trace: &'a Trace,
    window: Option<(Tick, Tick)>,
    max_arrows: usize,
    title: Option<String>,
    highlights: Vec<Highlight>,
    focus: Option<Focus>,
}

impl Trace {
    /// The message sequence diagram of this trace; a cell that ends with it shows it. Give it a
    /// title with [`SequenceDiagram::title`]: without one it says, in red, that it lacks one.
    pub fn diagram(&self) -> SequenceDiagram<'_> {
        SequenceDiagram::new(self)
    }
}

/// Whether an invocation's value (EDN text) is an operation on `key`: a `[key value]` tuple, the
/// shape every key-value lesson records.
fn on_key(value: &str, key: &str) -> bool {
    match parse_value(value) {
        Ok(Value::Vector(items)) if items.len() == 2 => {
            items[0] == Value::Str(key.to_string()) || items[0].to_string() == key
        }
        _ => false,
    }
}

impl<'a> SequenceDiagram<'a> {
    pub fn new(trace: &'a Trace) -> SequenceDiagram<'a> {
        SequenceDiagram {
            trace,
            window: None,
            max_arrows: 250,
            title: None,
            highlights: Vec::new(),
            focus: None,
        }
    }

    /// Only ticks `from..=to`.
    pub fn window(mut self, from: Tick, to: Tick) -> Self {
        self.window = Some((from, to.max(from)));
        self
    }

    /// Above this many messages, aggregate arrows per link and time bucket (default 250).
    pub fn max_arrows(mut self, max_arrows: usize) -> Self {
        self.max_arrows = max_arrows.max(1);
        self
    }

    /// What the figure shows, as a claim: "alice sees x=1, then bob sees x=0".
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Marks in red the operation `client` invoked at tick `invoked_at` (the culprit of a
    /// counterexample: a report's culprit names its client and its invocation's tick) and every
    /// message it caused.
    pub fn highlight_operation(mut self, client: &str, invoked_at: Tick) -> Self {
        self.highlights.push(Highlight::Operation {
            client: client.to_string(),
            invoked_at,
        });
        self
    }

    /// Marks one message in red.
    pub fn highlight_message(mut self, message: MessageId) -> Self {
        self.highlights.push(Highlight::Message(message));
        self
    }

    /// Dims every operation on another key than `key`, with the messages it caused: the failing
    /// key's story stands out, the rest stays as faint context.
    pub fn focus_key(mut self, key: &str) -> Self {
        self.focus = Some(Focus {
            key: key.to_string(),
            only: false,
        });
        self
    }

    /// Draws only the operations on `key` and the messages they caused (faults stay).
    pub fn only_key(mut self, key: &str) -> Self {
        self.focus = Some(Focus {
            key: key.to_string(),
            only: true,
        });
        self
    }

    fn in_window(&self, tick: Tick) -> bool {
        self.window
            .is_none_or(|(from, to)| (from..=to).contains(&tick))
    }

    /// The highlighted operations (indexes into the causality's operations), and the
    /// highlights that name nothing in the trace.
    fn highlighted(&self, causality: &Causality) -> (Belonging, Vec<String>) {
        let mut ops = Vec::new();
        let mut missing = Vec::new();
        let mut messages = Vec::new();
        for h in &self.highlights {
            match h {
                Highlight::Operation { client, invoked_at } => {
                    let found = self
                        .trace
                        .names
                        .iter()
                        .position(|n| n == client)
                        .and_then(|p| causality.operation(ProcessId(p as u16), *invoked_at));
                    match found {
                        Some(op) => ops.push(op),
                        None => missing.push(format!(
                            "no operation of {client} invoked at tick {invoked_at}"
                        )),
                    }
                }
                Highlight::Message(m) => messages.push(*m),
            }
        }
        let mut belonging = causality.belonging_to(&ops);
        belonging.messages.extend(messages);
        (belonging, missing)
    }

    /// Lays the diagram out in lanes and rows; pure, so tests can check what will be drawn.
    pub fn layout(&self) -> Layout {
        let trace = self.trace;
        let causality = Causality::of(trace);
        let (highlighted, _) = self.highlighted(&causality);
        let focused: Option<Belonging> = self.focus.as_ref().map(|f| {
            let ops: Vec<usize> = causality
                .operations
                .iter()
                .enumerate()
                .filter(|(_, o)| on_key(&o.value, &f.key))
                .map(|(i, _)| i)
                .collect();
            causality.belonging_to(&ops)
        });
        let only = self.focus.as_ref().is_some_and(|f| f.only);
        let message_emphasis = |m: MessageId| {
            if highlighted.messages.contains(&m) {
                Emphasis::Highlight
            } else if focused.as_ref().is_some_and(|f| !f.messages.contains(&m)) {
                Emphasis::Dim
            } else {
                Emphasis::Normal
            }
        };
        let event_emphasis = |i: usize| {
            if highlighted.events.contains(&i) {
                Emphasis::Highlight
            } else if focused.as_ref().is_some_and(|f| !f.events.contains(&i)) {
                Emphasis::Dim
            } else {
                Emphasis::Normal
            }
        };
        let kept = |i: usize, e: &TraceEvent| -> bool {
            let Some(f) = focused.as_ref().filter(|_| only) else {
                return true;
            };
            match e {
                TraceEvent::Send { message, .. }
                | TraceEvent::Deliver { message, .. }
                | TraceEvent::Drop { message, .. } => f.messages.contains(message),
                TraceEvent::Fault { .. } => true,
                _ => f.events.contains(&i),
            }
        };

        let process_count = trace.names.len();
        // Clients on the left, then nodes, each in declaration order.
        let order: Vec<usize> = (trace.node_count..process_count)
            .chain(0..trace.node_count)
            .collect();
        let mut lane_of = vec![0; process_count];
        for (lane, &p) in order.iter().enumerate() {
            lane_of[p] = lane;
        }
        let lane = |p: ProcessId| lane_of.get(p.index()).copied().unwrap_or(0);
        let events: Vec<(usize, &TraceEvent)> = trace
            .events
            .iter()
            .enumerate()
            .filter(|(i, e)| self.in_window(e.tick()) && kept(*i, e))
            .collect();

        // Messages: send, then deliveries (more than one if duplicated) or a drop.
        struct Flight {
            from: ProcessId,
            to: ProcessId,
            kind: &'static str,
            sent: Tick,
            ends: Vec<(Tick, ArrowKind)>,
        }
        let mut flights: BTreeMap<MessageId, Flight> = BTreeMap::new();
        for (_, e) in &events {
            match e {
                TraceEvent::Send {
                    tick,
                    message,
                    from,
                    to,
                    kind,
                    ..
                } if from != to => {
                    flights.insert(
                        *message,
                        Flight {
                            from: *from,
                            to: *to,
                            kind,
                            sent: *tick,
                            ends: Vec::new(),
                        },
                    );
                }
                TraceEvent::Deliver { tick, message } => {
                    if let Some(f) = flights.get_mut(message) {
                        let kind = if f
                            .ends
                            .iter()
                            .any(|(_, k)| matches!(k, ArrowKind::Delivered))
                        {
                            ArrowKind::Duplicate
                        } else {
                            ArrowKind::Delivered
                        };
                        f.ends.push((*tick, kind));
                    }
                }
                TraceEvent::Drop {
                    tick,
                    message,
                    reason,
                } => {
                    if let Some(f) = flights.get_mut(message) {
                        f.ends.push((*tick, ArrowKind::Dropped(*reason)));
                    }
                }
                _ => {}
            }
        }
        let aggregated = flights.len() > self.max_arrows;

        // Rows: every tick with something to draw, or bucket starts when aggregated.
        let mut ticks: Vec<Tick> = events.iter().map(|(_, e)| e.tick()).collect();
        ticks.sort_unstable();
        ticks.dedup();
        let (first, last) = (
            ticks.first().copied().unwrap_or(0),
            ticks.last().copied().unwrap_or(0),
        );
        let buckets = 60u64;
        let bucket_width = ((last - first) / buckets).max(1);
        let row_ticks: Vec<Tick> = if aggregated {
            let mut rows: Vec<Tick> = ticks
                .iter()
                .map(|t| first + (t - first) / bucket_width * bucket_width)
                .collect();
            rows.dedup();
            rows
        } else {
            ticks
        };
        let row = |tick: Tick| -> f64 {
            let t = if aggregated {
                first + (tick.max(first) - first) / bucket_width * bucket_width
            } else {
                tick
            };
            match row_ticks.binary_search(&t) {
                Ok(i) => i as f64,
                Err(i) => i as f64 - 0.5,
            }
        };
        let end_row = row_ticks.len().saturating_sub(1) as f64 + 0.6;

        let mut arrows = Vec::new();
        if aggregated {
            let mut groups: BTreeMap<LinkBucket, (usize, BTreeMap<&str, usize>)> = BTreeMap::new();
            for f in flights.values() {
                let dropped = f
                    .ends
                    .iter()
                    .any(|(_, k)| matches!(k, ArrowKind::Dropped(_)));
                let bucket = row(f.sent) as u64;
                let entry = groups
                    .entry((bucket, lane(f.from), lane(f.to), dropped))
                    .or_default();
                entry.0 += 1;
                *entry.1.entry(f.kind).or_default() += 1;
            }
            for ((bucket, from_lane, to_lane, dropped), (count, kinds)) in groups {
                let (kind, _) = kinds
                    .iter()
                    .max_by_key(|(k, n)| (**n, std::cmp::Reverse(**k)))
                    .expect("a group has a message");
                let more = if kinds.len() > 1 { "…" } else { "" };
                arrows.push(Arrow {
                    from_lane,
                    to_lane,
                    from_row: bucket as f64,
                    to_row: bucket as f64 + 0.8,
                    label: format!("{kind}{more} ×{count}"),
                    kind: if dropped {
                        ArrowKind::Dropped(DropReason::Loss)
                    } else {
                        ArrowKind::Delivered
                    },
                    count,
                    emphasis: Emphasis::Normal,
                    message: None,
                });
            }
        } else {
            for (&message, f) in &flights {
                let from_row = row(f.sent);
                let mut ends: Vec<(f64, ArrowKind)> = f
                    .ends
                    .iter()
                    .map(|&(t, kind)| match kind {
                        // Dropped as it was sent (a cut link, a drop rule, loss, a sender that
                        // crashed before its sync): the arrow stops half a row later.
                        ArrowKind::Dropped(
                            DropReason::Partition
                            | DropReason::Rule
                            | DropReason::Loss
                            | DropReason::SenderCrashed,
                        ) => (row(t).max(from_row) + 0.5, kind),
                        _ => (row(t), kind),
                    })
                    .collect();
                if ends.is_empty() {
                    ends.push((end_row, ArrowKind::InFlight));
                }
                for (to_row, kind) in ends {
                    let label = match kind {
                        ArrowKind::Duplicate => format!("{} (again)", f.kind),
                        _ => f.kind.to_string(),
                    };
                    arrows.push(Arrow {
                        from_lane: lane(f.from),
                        to_lane: lane(f.to),
                        from_row,
                        to_row,
                        label,
                        kind,
                        count: 1,
                        emphasis: message_emphasis(message),
                        message: Some(message),
                    });
                }
            }
        }

        // Lane marks and bands.
        let mut marks = Vec::new();
        let mut bands = Vec::new();
        let mut network_notes = Vec::new();
        let mut open_ops: BTreeMap<ProcessId, (f64, Emphasis)> = BTreeMap::new();
        let mut down: BTreeMap<usize, (f64, BandStyle)> = BTreeMap::new();
        let mut partition: Option<(f64, String)> = None;
        let close_partition =
            |partition: &mut Option<(f64, String)>, bands: &mut Vec<Band>, at: f64| {
                if let Some((from_row, label)) = partition.take() {
                    bands.push(Band {
                        lane: None,
                        from_row,
                        to_row: at,
                        label,
                        style: BandStyle::Partition,
                        emphasis: Emphasis::Normal,
                    });
                }
            };
        for &(i, e) in &events {
            match e {
                TraceEvent::Invoke {
                    tick,
                    client,
                    f,
                    value,
                    ..
                } => {
                    open_ops.insert(*client, (row(*tick), event_emphasis(i)));
                    if !aggregated {
                        marks.push(Mark {
                            lane: lane(*client),
                            row: row(*tick),
                            text: format!("{f} {value}"),
                            style: MarkStyle::Invoke,
                            emphasis: event_emphasis(i),
                        });
                    }
                }
                TraceEvent::Complete {
                    tick,
                    client,
                    kind,
                    value,
                } => {
                    let r = row(*tick);
                    let emphasis = match open_ops.remove(client) {
                        Some((from_row, emphasis)) => {
                            bands.push(Band {
                                lane: Some(lane(*client)),
                                from_row,
                                to_row: r,
                                label: String::new(),
                                style: BandStyle::Operation(*kind),
                                emphasis,
                            });
                            emphasis
                        }
                        None => event_emphasis(i),
                    };
                    if !aggregated {
                        marks.push(Mark {
                            lane: lane(*client),
                            row: r,
                            text: format!("{} {value}", kind.keyword()),
                            style: MarkStyle::Completion(*kind),
                            emphasis,
                        });
                    }
                }
                TraceEvent::Timer { tick, node, timer } if !aggregated => {
                    marks.push(Mark {
                        lane: lane(*node),
                        row: row(*tick),
                        text: format!("◷\u{a0}{timer}"),
                        style: MarkStyle::Timer,
                        emphasis: event_emphasis(i),
                    });
                }
                TraceEvent::Annotate { tick, node, text } if !aggregated => {
                    marks.push(Mark {
                        lane: lane(*node),
                        row: row(*tick),
                        text: text.clone(),
                        style: MarkStyle::Note,
                        emphasis: event_emphasis(i),
                    });
                }
                TraceEvent::Fault { tick, fault } => {
                    let r = row(*tick);
                    let text = fault.to_string();
                    let lane_named = |name: &str| {
                        trace
                            .names
                            .iter()
                            .position(|n| n == name)
                            .map(|p| lane_of[p])
                    };
                    // Typed faults get their own drawing; anything else (and any variant added
                    // later) is written across the diagram, in the fault's own words.
                    match fault {
                        Fault::Crash { node } | Fault::Pause { node } => {
                            let style = if matches!(fault, Fault::Crash { .. }) {
                                BandStyle::Crashed
                            } else {
                                BandStyle::Paused
                            };
                            match lane_named(node) {
                                Some(l) => {
                                    down.insert(l, (r, style));
                                    marks.push(fault_mark(l, r, text));
                                }
                                None => network_notes.push(NetworkNote { row: r, text }),
                            }
                        }
                        Fault::Restart { node, .. } | Fault::Resume { node } => {
                            match lane_named(node) {
                                Some(l) => {
                                    if let Some((from_row, style)) = down.remove(&l) {
                                        bands.push(Band {
                                            lane: Some(l),
                                            from_row,
                                            to_row: r,
                                            label: down_label(style).into(),
                                            style,
                                            emphasis: Emphasis::Normal,
                                        });
                                    }
                                    marks.push(fault_mark(l, r, text));
                                }
                                None => network_notes.push(NetworkNote { row: r, text }),
                            }
                        }
                        Fault::Hold { from: node, .. }
                        | Fault::Release { from: node, .. }
                        | Fault::HoldSync { node }
                        | Fault::CompleteSync { node }
                        | Fault::SetClock { node, .. }
                        | Fault::SkewClock { node, .. }
                        | Fault::ClockDrift { node, .. }
                        | Fault::ResetClock { node } => match lane_named(node) {
                            Some(l) => marks.push(fault_mark(l, r, text)),
                            None => network_notes.push(NetworkNote { row: r, text }),
                        },
                        Fault::Partition { .. }
                        | Fault::PartitionOneWay { .. }
                        | Fault::Isolate { .. } => {
                            close_partition(&mut partition, &mut bands, r);
                            partition = Some((r, text));
                        }
                        Fault::HealAll | Fault::Reconnect { .. } | Fault::Heal { .. } => {
                            close_partition(&mut partition, &mut bands, r);
                            network_notes.push(NetworkNote { row: r, text });
                        }
                        _ => network_notes.push(NetworkNote { row: r, text }),
                    }
                }
                _ => {}
            }
        }
        close_partition(&mut partition, &mut bands, end_row);
        for (l, (from_row, style)) in down {
            bands.push(Band {
                lane: Some(l),
                from_row,
                to_row: end_row,
                label: down_label(style).into(),
                style,
                emphasis: Emphasis::Normal,
            });
        }
        for (client, (from_row, emphasis)) in open_ops {
            bands.push(Band {
                lane: Some(lane(client)),
                from_row,
                to_row: end_row,
                label: String::new(),
                style: BandStyle::Operation(EventType::Invoke),
                emphasis,
            });
        }
        if aggregated {
            network_notes.clear();
        }

        Layout {
            lanes: order.iter().map(|&p| trace.names[p].clone()).collect(),
            client_lanes: process_count - trace.node_count,
            row_ticks,
            arrows,
            marks,
            bands,
            network_notes,
            aggregated,
        }
    }

    /// The diagram in pixels, with its title and key: what [`SequenceDiagram::figure`] draws.
    /// Fails when a highlight names an operation the trace does not have.
    pub fn scene(&self) -> Result<Scene, FigureError> {
        let (_, missing) = self.highlighted(&Causality::of(self.trace));
        if !missing.is_empty() {
            return Err(FigureError(format!(
                "cannot highlight: {}",
                missing.join("; ")
            )));
        }
        let layout = self.layout();
        if layout.lanes.is_empty() {
            return Err(FigureError(
                "nothing to draw: the trace names no processes".into(),
            ));
        }
        let (content, key) = place::place(&layout);
        let title = match &self.title {
            Some(t) => Title::new(t.clone()),
            None => Title::missing(".title(\"…\")"),
        };
        Ok(content.with_header(&title, &key))
    }

    /// Draws the diagram as SVG.
    pub fn figure(&self) -> Result<Figure, FigureError> {
        self.scene()?.figure()
    }

    /// evcxr's display hook: the diagram inline, or the reason it could not be drawn.
    pub fn evcxr_display(&self) {
        super::show(self.figure());
    }
}

fn fault_mark(lane: usize, row: f64, text: String) -> Mark {
    Mark {
        lane,
        row,
        text,
        style: MarkStyle::Fault,
        emphasis: Emphasis::Normal,
    }
}

fn down_label(style: BandStyle) -> &'static str {
    if style == BandStyle::Crashed {
        "crashed"
    } else {
        "paused"
    }
}

#[cfg(test)]
mod tests;
