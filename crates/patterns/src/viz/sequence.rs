//! Message sequence (Lamport) diagrams of a simulator trace: a vertical lane per process, time
//! flowing down, an arrow per message labelled with its type.
//!
//! Layout and drawing are separate, as in porcupine's visualisation: [`SequenceDiagram::layout`]
//! is a pure function of the trace (tested), and the renderer only turns it into SVG. Time is
//! compressed: only ticks where something happens get a row, so a run with long quiet stretches
//! stays short. Above [`SequenceDiagram::max_arrows`] messages the diagram aggregates: one arrow
//! per link and time bucket, labelled with the dominant type and the count, so a 10,000-event run
//! stays readable (and draws in milliseconds).
//!
//! Messages a node sends to itself are not drawn: they never touch the network.

use super::{Figure, FigureError};
use crate::history::EventType;
use crate::node::{ProcessId, Tick};
use crate::sim::{DropReason, Fault, Trace, TraceEvent};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;

/// An aggregated arrow's identity: row bucket, sending lane, receiving lane, dropped.
type LinkBucket = (u64, usize, usize, bool);

const LANE_GAP: f64 = 150.0;
const MARGIN_LEFT: f64 = 210.0;
const MARGIN_TOP: f64 = 56.0;
const ROW_HEIGHT: f64 = 26.0;

/// What kind of mark an arrow is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ArrowKind {
    Delivered,
    Dropped(DropReason),
    /// Still on the wire (or held) when the window ends.
    InFlight,
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
}

/// A label on one lane: a client operation's start or end, a timer, an annotation.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub lane: usize,
    pub row: f64,
    pub text: String,
    pub style: MarkStyle,
}

/// How a mark is drawn.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MarkStyle {
    Invoke,
    Completion(EventType),
    Timer,
    Note,
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
}

/// What a band shades.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BandStyle {
    Crashed,
    Paused,
    Partition,
    Operation(EventType),
}

/// A diagram laid out in lane and row units, ready to draw.
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
    /// Whether arrows stand for several messages.
    pub aggregated: bool,
}

/// A message sequence diagram of a trace, or of a window of it.
#[derive(Clone, Debug)]
pub struct SequenceDiagram<'a> {
    trace: &'a Trace,
    window: Option<(Tick, Tick)>,
    max_arrows: usize,
    title: Option<String>,
}

impl Trace {
    /// The message sequence diagram of this trace; a cell that ends with it shows it.
    pub fn diagram(&self) -> SequenceDiagram<'_> {
        SequenceDiagram::new(self)
    }
}

impl<'a> SequenceDiagram<'a> {
    pub fn new(trace: &'a Trace) -> SequenceDiagram<'a> {
        SequenceDiagram {
            trace,
            window: None,
            max_arrows: 250,
            title: None,
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

    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    fn in_window(&self, tick: Tick) -> bool {
        self.window
            .is_none_or(|(from, to)| (from..=to).contains(&tick))
    }

    /// Lays the diagram out; pure, so tests can check what will be drawn.
    pub fn layout(&self) -> Layout {
        let trace = self.trace;
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
        let events: Vec<&TraceEvent> = trace
            .events
            .iter()
            .filter(|e| self.in_window(e.tick()))
            .collect();

        // Messages: send, then delivery or drop.
        struct Flight {
            from: ProcessId,
            to: ProcessId,
            kind: &'static str,
            sent: Tick,
            end: Option<(Tick, ArrowKind)>,
        }
        let mut flights: BTreeMap<u64, Flight> = BTreeMap::new();
        for e in &events {
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
                            end: None,
                        },
                    );
                }
                TraceEvent::Deliver { tick, message } => {
                    if let Some(f) = flights.get_mut(message) {
                        f.end.get_or_insert((*tick, ArrowKind::Delivered));
                    }
                }
                TraceEvent::Drop {
                    tick,
                    message,
                    reason,
                } => {
                    if let Some(f) = flights.get_mut(message) {
                        f.end.get_or_insert((*tick, ArrowKind::Dropped(*reason)));
                    }
                }
                _ => {}
            }
        }
        let aggregated = flights.len() > self.max_arrows;

        // Rows: every tick with something to draw, or bucket starts when aggregated.
        let mut ticks: Vec<Tick> = events.iter().map(|e| e.tick()).collect();
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
                let dropped = matches!(f.end, Some((_, ArrowKind::Dropped(_))));
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
                });
            }
        } else {
            for f in flights.values() {
                let from_row = row(f.sent);
                let (to_row, kind) = match f.end {
                    Some((t, ArrowKind::Dropped(reason))) => {
                        let r = row(t);
                        // A message dropped at send time stops half-way, on the same row.
                        let to = if reason == DropReason::Crashed || reason == DropReason::Stale {
                            r
                        } else {
                            r.max(from_row) + 0.5
                        };
                        (to, ArrowKind::Dropped(reason))
                    }
                    Some((t, kind)) => (row(t), kind),
                    None => (end_row, ArrowKind::InFlight),
                };
                arrows.push(Arrow {
                    from_lane: lane(f.from),
                    to_lane: lane(f.to),
                    from_row,
                    to_row,
                    label: f.kind.to_string(),
                    kind,
                    count: 1,
                });
            }
        }

        // Lane marks and bands.
        let mut marks = Vec::new();
        let mut bands = Vec::new();
        let mut open_ops: BTreeMap<ProcessId, (f64, String)> = BTreeMap::new();
        let mut down: BTreeMap<ProcessId, (f64, BandStyle)> = BTreeMap::new();
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
                    });
                }
            };
        for e in &events {
            match e {
                TraceEvent::Invoke {
                    tick,
                    client,
                    f,
                    value,
                    ..
                } => {
                    let text = format!("{f} {value}");
                    open_ops.insert(*client, (row(*tick), text.clone()));
                    if !aggregated {
                        marks.push(Mark {
                            lane: lane(*client),
                            row: row(*tick),
                            text,
                            style: MarkStyle::Invoke,
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
                    if let Some((from_row, _)) = open_ops.remove(client) {
                        bands.push(Band {
                            lane: Some(lane(*client)),
                            from_row,
                            to_row: r,
                            label: String::new(),
                            style: BandStyle::Operation(*kind),
                        });
                    }
                    if !aggregated {
                        let text = format!("{} {value}", kind.keyword());
                        marks.push(Mark {
                            lane: lane(*client),
                            row: r,
                            text,
                            style: MarkStyle::Completion(*kind),
                        });
                    }
                }
                TraceEvent::Timer { tick, node, timer } if !aggregated => {
                    marks.push(Mark {
                        lane: lane(*node),
                        row: row(*tick),
                        text: format!("⏱ {timer}"),
                        style: MarkStyle::Timer,
                    });
                }
                TraceEvent::Annotate { tick, node, text } if !aggregated => {
                    marks.push(Mark {
                        lane: lane(*node),
                        row: row(*tick),
                        text: text.clone(),
                        style: MarkStyle::Note,
                    });
                }
                TraceEvent::Fault { tick, fault } => {
                    let r = row(*tick);
                    let named = |name: &str| {
                        trace
                            .names
                            .iter()
                            .position(|n| n == name)
                            .map(|i| ProcessId(i as u16))
                    };
                    match fault {
                        Fault::Crash { node } => {
                            if let Some(node) = named(node) {
                                down.insert(node, (r, BandStyle::Crashed));
                            }
                        }
                        Fault::Pause { node } => {
                            if let Some(node) = named(node) {
                                down.insert(node, (r, BandStyle::Paused));
                            }
                        }
                        Fault::Restart { node, .. } | Fault::Resume { node } => {
                            let Some(node) = named(node) else { continue };
                            if let Some((from_row, style)) = down.remove(&node) {
                                let label = if style == BandStyle::Crashed {
                                    "crashed"
                                } else {
                                    "paused"
                                };
                                bands.push(Band {
                                    lane: Some(lane(node)),
                                    from_row,
                                    to_row: r,
                                    label: label.into(),
                                    style,
                                });
                            }
                            let text = fault.to_string();
                            marks.push(Mark {
                                lane: lane(node),
                                row: r,
                                text,
                                style: MarkStyle::Note,
                            });
                        }
                        Fault::Partition { .. }
                        | Fault::PartitionOneWay { .. }
                        | Fault::Isolate { .. } => {
                            close_partition(&mut partition, &mut bands, r);
                            partition = Some((r, fault.to_string()));
                        }
                        Fault::HealAll | Fault::Reconnect { .. } | Fault::Heal { .. } => {
                            close_partition(&mut partition, &mut bands, r)
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        close_partition(&mut partition, &mut bands, end_row);
        for (node, (from_row, style)) in down {
            let label = if style == BandStyle::Crashed {
                "crashed"
            } else {
                "paused"
            };
            bands.push(Band {
                lane: Some(lane(node)),
                from_row,
                to_row: end_row,
                label: label.into(),
                style,
            });
        }
        for (client, (from_row, _)) in open_ops {
            let style = BandStyle::Operation(EventType::Invoke);
            bands.push(Band {
                lane: Some(lane(client)),
                from_row,
                to_row: end_row,
                label: String::new(),
                style,
            });
        }

        Layout {
            lanes: order.iter().map(|&p| trace.names[p].clone()).collect(),
            client_lanes: process_count - trace.node_count,
            row_ticks,
            arrows,
            marks,
            bands,
            aggregated,
        }
    }

    /// Draws the diagram as SVG.
    pub fn figure(&self) -> Result<Figure, FigureError> {
        let layout = self.layout();
        render(&layout, self.title.as_deref())
    }

    /// evcxr's display hook: the diagram inline, or the reason it could not be drawn.
    pub fn evcxr_display(&self) {
        match self.figure() {
            Ok(figure) => figure.evcxr_display(),
            Err(e) => super::emit("text/plain", &e.to_string()),
        }
    }
}

fn lane_x(lane: usize) -> f64 {
    MARGIN_LEFT + lane as f64 * LANE_GAP
}

fn row_y(row: f64) -> f64 {
    MARGIN_TOP + 20.0 + row * ROW_HEIGHT
}

fn render(layout: &Layout, title: Option<&str>) -> Result<Figure, FigureError> {
    let lanes = layout.lanes.len().max(1);
    let width = (lane_x(lanes - 1) + MARGIN_LEFT + 40.0) as u32;
    let rows = layout.row_ticks.len().max(1) as f64;
    let height = (row_y(rows) + 30.0) as u32;
    let bottom = row_y(rows - 0.4);
    Figure::draw(width, height, |root| {
        let font = |size: f64| ("sans-serif", size).into_font();
        let center = Pos::new(HPos::Center, VPos::Center);
        let left = Pos::new(HPos::Left, VPos::Center);
        let right = Pos::new(HPos::Right, VPos::Center);
        let at = |x: f64, y: f64| (x.round() as i32, y.round() as i32);
        if let Some(title) = title {
            root.draw(&Text::new(
                title.to_string(),
                at(12.0, 14.0),
                font(16.0).style(FontStyle::Bold),
            ))?;
        }
        // Partition bands first, under everything.
        for band in layout.bands.iter().filter(|b| b.lane.is_none()) {
            let (y0, y1) = (row_y(band.from_row), row_y(band.to_row));
            root.draw(&Rectangle::new(
                [at(8.0, y0), at(width as f64 - 8.0, y1)],
                RGBColor(214, 39, 40).mix(0.07).filled(),
            ))?;
            root.draw(&PathElement::new(
                vec![at(8.0, y0), at(width as f64 - 8.0, y0)],
                RGBColor(214, 39, 40).mix(0.6),
            ))?;
            let style = font(11.0).color(&RGBColor(180, 30, 30)).pos(right);
            root.draw(&Text::new(
                band.label.clone(),
                at(width as f64 - 12.0, y0 + 8.0),
                style,
            ))?;
        }
        // Lanes.
        for (i, name) in layout.lanes.iter().enumerate() {
            let x = lane_x(i);
            let client = i < layout.client_lanes;
            let color = if client {
                RGBColor(90, 90, 160)
            } else {
                RGBColor(60, 60, 60)
            };
            root.draw(&PathElement::new(
                vec![at(x, MARGIN_TOP + 8.0), at(x, bottom)],
                color.mix(0.5).stroke_width(1),
            ))?;
            let style = font(14.0).style(FontStyle::Bold).color(&color).pos(center);
            root.draw(&Text::new(name.clone(), at(x, MARGIN_TOP - 6.0), style))?;
        }
        // Tick labels.
        for (r, tick) in layout.row_ticks.iter().enumerate() {
            let style = font(10.0).color(&RGBColor(130, 130, 130)).pos(right);
            root.draw(&Text::new(
                format!("t{tick}"),
                at(40.0, row_y(r as f64)),
                style,
            ))?;
        }
        // Lane bands: crashes, pauses, operations in flight.
        for band in &layout.bands {
            let Some(lane) = band.lane else { continue };
            let x = lane_x(lane);
            let (y0, y1) = (row_y(band.from_row), row_y(band.to_row));
            let (half, color) = match band.style {
                BandStyle::Crashed => (14.0, RGBColor(120, 120, 120).mix(0.35)),
                BandStyle::Paused => (14.0, RGBColor(230, 190, 40).mix(0.35)),
                BandStyle::Operation(EventType::Ok) => (4.0, RGBColor(44, 160, 44).mix(0.5)),
                BandStyle::Operation(EventType::Fail) => (4.0, RGBColor(214, 39, 40).mix(0.5)),
                BandStyle::Operation(_) => (4.0, RGBColor(255, 127, 14).mix(0.5)),
                BandStyle::Partition => continue,
            };
            root.draw(&Rectangle::new(
                [at(x - half, y0), at(x + half, y1)],
                color.filled(),
            ))?;
            if !band.label.is_empty() {
                let style = font(10.0).color(&RGBColor(80, 80, 80)).pos(center);
                root.draw(&Text::new(
                    band.label.clone(),
                    at(x, (y0 + y1) / 2.0),
                    style,
                ))?;
            }
        }
        // Arrows.
        let max_count = layout.arrows.iter().map(|a| a.count).max().unwrap_or(1) as f64;
        for arrow in &layout.arrows {
            let (x0, y0) = (lane_x(arrow.from_lane), row_y(arrow.from_row));
            let (mut x1, y1) = (lane_x(arrow.to_lane), row_y(arrow.to_row));
            let dropped = matches!(arrow.kind, ArrowKind::Dropped(_));
            let stops_short = matches!(arrow.kind, ArrowKind::Dropped(r) if r != DropReason::Crashed && r != DropReason::Stale);
            if stops_short {
                x1 = x0 + (x1 - x0) * 0.55;
            }
            let color = match arrow.kind {
                ArrowKind::Delivered => RGBColor(31, 119, 180),
                ArrowKind::Dropped(_) => RGBColor(214, 39, 40),
                ArrowKind::InFlight => RGBColor(150, 150, 150),
            };
            let width = if layout.aggregated {
                1.0 + 4.0 * arrow.count as f64 / max_count
            } else {
                1.2
            };
            let stroke = color.stroke_width(width.round() as u32);
            if dropped || arrow.kind == ArrowKind::InFlight {
                draw_dashed(root, (x0, y0), (x1, y1), stroke)?;
            } else {
                root.draw(&PathElement::new(vec![at(x0, y0), at(x1, y1)], stroke))?;
            }
            if dropped {
                let s = 5.0;
                root.draw(&PathElement::new(
                    vec![at(x1 - s, y1 - s), at(x1 + s, y1 + s)],
                    color.stroke_width(2),
                ))?;
                root.draw(&PathElement::new(
                    vec![at(x1 - s, y1 + s), at(x1 + s, y1 - s)],
                    color.stroke_width(2),
                ))?;
            } else {
                let (dx, dy) = (x1 - x0, y1 - y0);
                let len = (dx * dx + dy * dy).sqrt().max(1.0);
                let (ux, uy) = (dx / len, dy / len);
                let (bx, by) = (x1 - ux * 9.0, y1 - uy * 9.0);
                let head = vec![
                    at(x1, y1),
                    at(bx - uy * 4.0, by + ux * 4.0),
                    at(bx + uy * 4.0, by - ux * 4.0),
                ];
                root.draw(&Polygon::new(head, color.filled()))?;
            }
            let (mx, my) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0 - 5.0);
            let style = font(10.0).color(&color).pos(center);
            root.draw(&Text::new(arrow.label.clone(), at(mx, my), style))?;
        }
        // Marks.
        for mark in &layout.marks {
            let x = lane_x(mark.lane);
            let y = row_y(mark.row);
            let client = mark.lane < layout.client_lanes;
            let (color, size) = match mark.style {
                MarkStyle::Invoke => (RGBColor(40, 40, 120), 11.0),
                MarkStyle::Completion(EventType::Ok) => (RGBColor(30, 120, 30), 11.0),
                MarkStyle::Completion(EventType::Fail) => (RGBColor(180, 30, 30), 11.0),
                MarkStyle::Completion(_) => (RGBColor(200, 100, 0), 11.0),
                MarkStyle::Timer => (RGBColor(120, 80, 160), 10.0),
                MarkStyle::Note => (RGBColor(90, 90, 90), 10.0),
            };
            // An operation that ends and the next that starts share a row: completions sit
            // just above the row, invocations just below.
            let y = match mark.style {
                MarkStyle::Invoke => y + 6.0,
                MarkStyle::Completion(_) => y - 6.0,
                _ => y,
            };
            // Client labels go left of the lane, node labels right of it, so arrows stay clear.
            let (tx, pos) = if client {
                (x - 10.0, right)
            } else {
                (x + 10.0, left)
            };
            let text = if mark.text.chars().count() > 28 {
                format!("{}…", mark.text.chars().take(27).collect::<String>())
            } else {
                mark.text.clone()
            };
            root.draw(&Text::new(
                text,
                at(tx, y),
                font(size).color(&color).pos(pos),
            ))?;
            if mark.style == MarkStyle::Timer {
                root.draw(&Circle::new(at(x, y), 3, color.filled()))?;
            }
        }
        Ok(())
    })
}

fn draw_dashed(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    from: (f64, f64),
    to: (f64, f64),
    stroke: ShapeStyle,
) -> Result<(), Box<dyn std::error::Error>> {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let len = (dx * dx + dy * dy).sqrt();
    let dashes = (len / 8.0).ceil().max(1.0) as usize;
    for i in (0..dashes).step_by(2) {
        let a = i as f64 / dashes as f64;
        let b = ((i + 1) as f64 / dashes as f64).min(1.0);
        let p = |t: f64| {
            (
                (from.0 + dx * t).round() as i32,
                (from.1 + dy * t).round() as i32,
            )
        };
        root.draw(&PathElement::new(vec![p(a), p(b)], stroke))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::echo::{Echo, EchoServer};
    use crate::sim::{Builder, Latency, TraceLevel};

    fn tour() -> Trace {
        let mut sim = Builder::new()
            .client_timeout_ticks(12)
            .build(|_| EchoServer::new())
            .unwrap();
        sim.call("alice", "athens", Echo::relayed("hello"), 20)
            .unwrap();
        sim.partition(&["athens"], &["byzantium", "cyrene"])
            .unwrap();
        sim.call("bob", "athens", Echo::relayed("anyone?"), 40)
            .unwrap();
        sim.heal_all();
        sim.crash("byzantium").unwrap();
        sim.call("alice", "cyrene", Echo::new("still there?"), 40)
            .unwrap();
        sim.restart("byzantium").unwrap();
        sim.trace().clone()
    }

    #[test]
    fn lanes_put_clients_left_of_nodes() {
        let layout = tour().diagram().layout();
        assert_eq!(
            layout.lanes,
            ["alice", "bob", "athens", "byzantium", "cyrene"]
        );
        assert_eq!(layout.client_lanes, 2);
    }

    #[test]
    fn every_message_is_one_arrow_and_the_partitioned_ping_is_marked_dropped() {
        let layout = tour().diagram().layout();
        assert!(!layout.aggregated);
        // alice: echo, Ping, Pong, reply; bob: echo, Ping (dropped); alice again: echo, reply.
        assert_eq!(layout.arrows.len(), 8);
        let dropped: Vec<&Arrow> = layout
            .arrows
            .iter()
            .filter(|a| matches!(a.kind, ArrowKind::Dropped(_)))
            .collect();
        assert_eq!(dropped.len(), 1);
        assert_eq!(
            (
                dropped[0].label.as_str(),
                dropped[0].from_lane,
                dropped[0].to_lane
            ),
            ("Ping", 2, 3)
        );
        assert_eq!(dropped[0].kind, ArrowKind::Dropped(DropReason::Partition));
    }

    #[test]
    fn crashes_partitions_and_operations_are_shaded() {
        let layout = tour().diagram().layout();
        let styles: Vec<(Option<usize>, BandStyle)> =
            layout.bands.iter().map(|b| (b.lane, b.style)).collect();
        assert!(
            styles.contains(&(Some(3), BandStyle::Crashed)),
            "{styles:?}"
        );
        assert!(styles.contains(&(None, BandStyle::Partition)));
        assert!(
            styles.contains(&(Some(1), BandStyle::Operation(EventType::Fail))),
            "bob's echo timed out"
        );
        assert_eq!(
            styles
                .iter()
                .filter(|s| **s == (Some(0), BandStyle::Operation(EventType::Ok)))
                .count(),
            2
        );
    }

    #[test]
    fn quiet_ticks_get_no_row() {
        let layout = tour().diagram().layout();
        let ticks = &layout.row_ticks;
        assert!(ticks.windows(2).all(|w| w[0] < w[1]));
        assert!(
            !ticks.contains(&10),
            "nothing happens at tick 10 while bob waits: {ticks:?}"
        );
    }

    #[test]
    fn a_window_keeps_only_its_ticks() {
        let layout = tour().diagram().window(0, 4).layout();
        assert_eq!(layout.row_ticks, [0, 1, 2, 3, 4]);
        // alice's round trip, and bob's request sent at tick 4 still on the wire when it ends.
        assert_eq!(layout.arrows.len(), 5);
        assert_eq!(
            layout
                .arrows
                .iter()
                .filter(|a| a.kind == ArrowKind::InFlight)
                .count(),
            1
        );
    }

    #[test]
    fn a_large_run_aggregates_into_few_rows_and_weighted_arrows() {
        let mut sim = Builder::new()
            .latency(Latency::between(1, 4).unwrap())
            .trace(TraceLevel::Kinds)
            .build(|_| EchoServer::new())
            .unwrap();
        for i in 0..1_500 {
            let node = ["athens", "byzantium", "cyrene"][i % 3];
            sim.call("alice", node, Echo::relayed("x"), 50).unwrap();
        }
        assert!(sim.trace().events.len() > 10_000);
        let layout = sim.trace().diagram().layout();
        assert!(layout.aggregated);
        assert!(
            layout.row_ticks.len() <= 62,
            "{} rows",
            layout.row_ticks.len()
        );
        let total: usize = layout.arrows.iter().map(|a| a.count).sum();
        assert_eq!(total, 6_000, "every message is counted once");
        let svg = sim.trace().diagram().figure().unwrap();
        assert!(svg.svg().len() < 2_000_000);
    }
}
