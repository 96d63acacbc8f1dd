//! The timeline of a checked history (the figure Knossos and porcupine draw, `visualization.go`):
//! a lane per process, a bar per operation from its invocation to its completion (open to the
//! right when the outcome is unknown), a dot where each operation took effect in the verdict's
//! order, and the operation that cannot be placed in red.
//!
//! The layout is a pure function ([`timeline_layout`] in event positions, [`Timeline::scene`] in
//! pixels, both unit-tested); [`timeline`] only renders it. The time axis is the event's position
//! in the history, so simultaneous ticks stay apart. Lanes are processes, named as the history
//! names them and numbered ("bob (p1)"): a client that timed out with an `:info` goes on as a new
//! process, and its two lanes must not read alike. An operation still open at the end is drawn to
//! the edge and marked "»", not left running off the figure.

use super::axis::{Axis, Scale, draw_x_axis};
use super::scene::{Anchor, KeyEntry, Label, Placer, Scene, Shape, Swatch, Title};
use super::style::{BLUE, INK, MUTED, RED, Rgb, TEXT_PX};
use super::text::{LINE_HEIGHT, Rect, text_width};
use super::{Figure, FigureError};
use crate::check::{Consistency, Report, Verdict};

/// What a bar means in the verdict.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BarRole {
    /// Part of the order the verdict shows (the witness, or the longest valid prefix).
    Ordered,
    /// Not in that order: after the prefix of a violation, or an `:info` operation that never
    /// took effect in the witness.
    Unordered,
    /// The operation that cannot be placed.
    Culprit,
}

/// One operation on the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineBar {
    pub operation: usize,
    pub lane: usize,
    /// Invocation, in event positions.
    pub start: f64,
    /// Completion, or the right edge for an operation that stays open.
    pub end: f64,
    /// The outcome is unknown (`:info` or no completion): the bar has no right end.
    pub open: bool,
    pub label: String,
    pub role: BarRole,
    /// Where it took effect (linearizability) and its rank in the order (1-based).
    pub point: Option<f64>,
    pub rank: Option<usize>,
}

/// The whole figure's geometry.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineLayout {
    /// Lane names, top to bottom.
    pub lanes: Vec<String>,
    pub bars: Vec<TimelineBar>,
    /// The edges of the time axis.
    pub x_start: f64,
    pub x_end: f64,
}

/// The most operations a timeline draws; a longer history is shown around its culprit (or from
/// its start), because a figure with more bars than pixels teaches nothing.
pub const TIMELINE_OPERATIONS_MAX: usize = 300;

/// Lays out `report` as lanes and bars.
///
/// A violation on one key of a history split by key is drawn with that key's operations only:
/// the others cannot explain it ([`Timeline::all_keys`] draws them all).
pub fn timeline_layout(report: &Report) -> TimelineLayout {
    layout_of(report, true)
}

fn layout_of(report: &Report, failing_key_only: bool) -> TimelineLayout {
    let (culprit, key) = match &report.verdict {
        Verdict::Illegal(v) => (Some(v.culprit), v.key.clone()),
        _ => (None, None),
    };
    let all = &report.operations;
    let shown: Vec<&crate::check::Operation> = all
        .iter()
        .filter(|o| !failing_key_only || key.is_none() || o.key == key)
        .collect();
    let at = culprit.and_then(|c| shown.iter().position(|o| o.id == c));
    let first = at
        .map_or(0, |c| c.saturating_sub(TIMELINE_OPERATIONS_MAX / 2))
        .min(shown.len().saturating_sub(TIMELINE_OPERATIONS_MAX));
    let ops = &shown[first..shown.len().min(first + TIMELINE_OPERATIONS_MAX)];
    let mut lane_processes: Vec<u64> = Vec::new();
    let mut lanes = Vec::new();
    for o in ops {
        if !lane_processes.contains(&o.process) {
            lane_processes.push(o.process);
            lanes.push(match &o.process_name {
                Some(name) => format!("{name} (p{})", o.process),
                None => format!("process {}", o.process),
            });
        }
    }
    let x_end = ops
        .iter()
        .map(|o| o.complete_index.unwrap_or(o.invoke_index) as f64)
        .fold(0.0, f64::max)
        + 1.0;
    let x_start = ops.first().map_or(0.0, |o| o.invoke_index as f64);
    let order = report.order();
    let points = report.linearization_points();
    let mut rank = vec![None; all.len()];
    let mut point = vec![None; all.len()];
    for (i, &id) in order.iter().enumerate() {
        rank[id] = Some(i + 1);
        point[id] = match report.consistency {
            Consistency::Linearizable => points.get(i).copied(),
            Consistency::Sequential => None,
        };
    }
    let bars = ops
        .iter()
        .map(|o| TimelineBar {
            operation: o.id,
            lane: lane_processes
                .iter()
                .position(|&p| p == o.process)
                .unwrap_or(0),
            start: o.invoke_index as f64,
            end: o.complete_index.map_or(x_end, |c| c as f64),
            open: o.complete_index.is_none(),
            label: o.label(),
            role: if culprit == Some(o.id) {
                BarRole::Culprit
            } else if rank[o.id].is_some() {
                BarRole::Ordered
            } else {
                BarRole::Unordered
            },
            point: point[o.id],
            rank: rank[o.id],
        })
        .collect();
    TimelineLayout {
        lanes,
        bars,
        x_start,
        x_end,
    }
}

/// Labels are drawn only when they can be read.
const LABELLED_BARS_MAX: usize = 80;

const BAR_HALF: f64 = 8.0;
const LINE: f64 = TEXT_PX * LINE_HEIGHT;

fn bar_color(role: BarRole) -> Rgb {
    match role {
        BarRole::Ordered => BLUE,
        BarRole::Unordered => MUTED,
        BarRole::Culprit => RED,
    }
}

/// The timeline of a checked history, with a title and a key.
#[derive(Clone, Debug)]
pub struct Timeline<'a> {
    report: &'a Report,
    title: Option<String>,
    all_keys: bool,
}

impl<'a> Timeline<'a> {
    /// A timeline titled with its verdict (say more with [`Timeline::title`]).
    pub fn new(report: &'a Report) -> Timeline<'a> {
        Timeline {
            report,
            title: None,
            all_keys: false,
        }
    }

    /// Every key's operations, not only the failing key's.
    pub fn all_keys(mut self) -> Self {
        self.all_keys = true;
        self
    }

    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The verdict as a title: what a reader must see first.
    fn default_title(&self) -> String {
        let r = self.report;
        let property = match r.consistency {
            Consistency::Linearizable => "linearizable",
            Consistency::Sequential => "sequentially consistent",
        };
        match &r.verdict {
            Verdict::Ok { .. } => format!(
                "✓ The history is {property}: numbers give one order the operations could take effect in"
            ),
            Verdict::Illegal(v) => {
                let culprit = &r.operations[v.culprit];
                let on = match &v.key {
                    Some(k) if !self.all_keys => format!(" on key {k}"),
                    _ => String::new(),
                };
                format!(
                    "✗ Not {property}{on}: {} {} (red) cannot take effect after the numbered ones",
                    culprit.process_label(),
                    culprit.label()
                )
            }
            Verdict::Unknown { .. } => {
                format!("? Whether the history is {property} was not decided")
            }
        }
    }

    /// The figure in pixels: pure, so tests can check it before anything is drawn.
    pub fn scene(&self) -> Scene {
        let layout = layout_of(self.report, !self.all_keys);
        let labelled = layout.bars.len() <= LABELLED_BARS_MAX;
        let lanes = layout.lanes.len().max(1);
        let lane_label_width = layout
            .lanes
            .iter()
            .map(|l| text_width(l, TEXT_PX, true))
            .fold(0.0, f64::max);
        let left = 12.0 + lane_label_width + 14.0;
        let span = (layout.x_end - layout.x_start).max(1.0);
        let plot_width = (40.0 * span).clamp(420.0, super::style::CONTENT_WIDTH_PX - left - 40.0);
        let axis = Axis::new(
            Scale::Linear,
            layout.x_start,
            layout.x_end,
            true,
            plot_width,
            TEXT_PX,
            true,
        );
        let px = |x: f64| left + axis.fraction(x) * plot_width;
        let plot_right = left + plot_width;

        // Labels above each bar, in as many rows as the lane needs; ranks under the dots.
        let mut label_rows: Vec<usize> = vec![0; lanes];
        let mut rank_rows: Vec<usize> = vec![0; lanes];
        let mut label_row_of = vec![0usize; layout.bars.len()];
        let mut rank_row_of = vec![0usize; layout.bars.len()];
        let mut label_x = vec![0.0; layout.bars.len()];
        let mut taken: Vec<Vec<Vec<(f64, f64)>>> = vec![Vec::new(); lanes];
        let mut rank_taken: Vec<Vec<Vec<(f64, f64)>>> = vec![Vec::new(); lanes];
        let free_row = |rows: &mut Vec<Vec<(f64, f64)>>, from: f64, to: f64| -> usize {
            let row = (0..)
                .find(|k| {
                    rows.get(*k).is_none_or(|spans| {
                        spans.iter().all(|(a, b)| to + 6.0 <= *a || from >= b + 6.0)
                    })
                })
                .expect("an empty row exists");
            if rows.len() <= row {
                rows.resize(row + 1, Vec::new());
            }
            rows[row].push((from, to));
            row
        };
        let point_x = |bar: &TimelineBar| {
            bar.point
                .unwrap_or((bar.start + bar.end.min(layout.x_end)) / 2.0)
        };
        for (i, bar) in layout.bars.iter().enumerate() {
            if labelled {
                let w = text_width(&bar.label, TEXT_PX, bar.role == BarRole::Culprit) + 4.0;
                // From the bar's start, pulled left where it would leave the plot.
                let x = (px(bar.start) + 2.0).min(plot_right - w).max(left);
                label_x[i] = x;
                label_row_of[i] = free_row(&mut taken[bar.lane], x, x + w);
                label_rows[bar.lane] = label_rows[bar.lane].max(label_row_of[i] + 1);
                if let Some(rank) = bar.rank {
                    let x = px(point_x(bar));
                    let w = text_width(&rank.to_string(), TEXT_PX, false) + 4.0;
                    rank_row_of[i] = free_row(&mut rank_taken[bar.lane], x - w / 2.0, x + w / 2.0);
                    rank_rows[bar.lane] = rank_rows[bar.lane].max(rank_row_of[i] + 1);
                }
            }
        }
        let mut lane_top = Vec::with_capacity(lanes);
        let mut y = 4.0;
        for lane in 0..lanes {
            lane_top.push(y);
            y += label_rows[lane] as f64 * LINE
                + 2.0 * BAR_HALF
                + rank_rows[lane] as f64 * LINE
                + 18.0;
        }
        let plot_bottom = y;
        let bar_y = |lane: usize| lane_top[lane] + label_rows[lane] as f64 * LINE + BAR_HALF + 4.0;

        let mut scene = Scene::new();
        let mut placer = Placer::new();
        // Grid, lanes' names, the axis.
        for t in axis.ticks.iter().filter(|t| t.grid) {
            scene.push(Shape::line(
                vec![(px(t.value), 0.0), (px(t.value), plot_bottom)],
                super::style::GRID,
                1.0,
            ));
        }
        for (lane, name) in layout.lanes.iter().enumerate() {
            let label = Label::new(name.clone(), left - 14.0, bar_y(lane))
                .anchor(Anchor::End)
                .bold()
                .color(INK);
            placer.take(label.bbox());
            scene.label(label);
            if lane > 0 {
                scene.push(Shape::line(
                    vec![
                        (12.0, lane_top[lane] - 2.0),
                        (plot_right, lane_top[lane] - 2.0),
                    ],
                    super::style::GRID,
                    1.0,
                ));
            }
        }
        let figure_bottom = draw_x_axis(
            &mut scene,
            &axis,
            px,
            (left, plot_right),
            plot_bottom,
            "event position in the history",
        );

        // Bars, dots, labels.
        let mut used = [false; 3];
        let mut open = false;
        let mut dots = false;
        for (i, bar) in layout.bars.iter().enumerate() {
            let color = bar_color(bar.role);
            used[bar.role as usize] = true;
            let y = bar_y(bar.lane);
            let (x0, x1) = (
                px(bar.start),
                px(bar.end.min(layout.x_end)).max(px(bar.start) + 3.0),
            );
            let x1 = if bar.open { plot_right - 14.0 } else { x1 };
            scene.push(Shape::Rect {
                rect: Rect::new(x0, y - BAR_HALF, (x1 - x0).max(3.0), 2.0 * BAR_HALF),
                fill: Some((color.tint(if bar.open { 0.85 } else { 0.7 }), 1.0)),
                stroke: None,
            });
            let width = if bar.role == BarRole::Culprit {
                3.0
            } else {
                1.0
            };
            let mut outline = vec![
                (x1, y - BAR_HALF),
                (x0, y - BAR_HALF),
                (x0, y + BAR_HALF),
                (x1, y + BAR_HALF),
            ];
            if !bar.open {
                outline.push((x1, y - BAR_HALF));
            }
            scene.push(Shape::line(outline, color, width));
            if bar.open {
                open = true;
                let marker = Label::new("»", x1 + 2.0, y).bold().color(color);
                placer.take(marker.bbox());
                scene.label(marker);
            }
            if labelled {
                let mut label = Label::new(
                    bar.label.clone(),
                    label_x[i],
                    y - BAR_HALF - 3.0 - LINE / 2.0 - label_row_of[i] as f64 * LINE,
                )
                .color(color);
                if bar.role == BarRole::Culprit {
                    label = label.bold();
                }
                placer.take(label.bbox());
                scene.label(label);
            }
            if let Some(rank) = bar.rank {
                dots = true;
                let x = px(point_x(bar));
                scene.push(Shape::Circle {
                    center: (x, y),
                    radius: 4.0,
                    fill: INK,
                    opacity: 1.0,
                });
                if labelled {
                    let label = Label::new(
                        rank.to_string(),
                        x,
                        y + BAR_HALF + 3.0 + LINE / 2.0 + rank_row_of[i] as f64 * LINE,
                    )
                    .anchor(Anchor::Middle)
                    .color(INK);
                    placer.take(label.bbox());
                    scene.label(label);
                }
            }
        }
        scene.width = plot_right + 8.0;
        scene.height = figure_bottom + 8.0;

        let mut key = Vec::new();
        let fill = |role: BarRole| Swatch::Fill {
            color: bar_color(role).tint(0.7),
            outline: Some(bar_color(role)),
        };
        let in_order = match self.report.verdict {
            Verdict::Illegal(_) => "in the longest order that works",
            _ => "in the order",
        };
        if used[BarRole::Ordered as usize] {
            key.push(KeyEntry::new(
                fill(BarRole::Ordered),
                format!("operation {in_order}"),
            ));
        }
        if used[BarRole::Unordered as usize] {
            key.push(KeyEntry::new(fill(BarRole::Unordered), "not in that order"));
        }
        if used[BarRole::Culprit as usize] {
            key.push(KeyEntry::new(fill(BarRole::Culprit), "cannot be placed"));
        }
        if dots {
            let what = match self.report.consistency {
                Consistency::Linearizable => "took effect here (numbered in order)",
                Consistency::Sequential => "its place in the order (numbered)",
            };
            key.push(KeyEntry::new(
                Swatch::Marker {
                    color: INK,
                    shape: super::scene::Marker::Circle,
                },
                what,
            ));
        }
        if open {
            key.push(KeyEntry::new(
                Swatch::Glyph {
                    text: "»".into(),
                    color: MUTED,
                },
                "no reply: open to the end",
            ));
        }
        if !labelled {
            key.push(KeyEntry::new(
                Swatch::Glyph {
                    text: "…".into(),
                    color: MUTED,
                },
                format!("{} operations: too many to label", layout.bars.len()),
            ));
        }
        let title = Title::new(self.title.clone().unwrap_or_else(|| self.default_title()));
        scene.with_header(&title, &key)
    }

    /// Draws the timeline.
    pub fn figure(&self) -> Result<Figure, FigureError> {
        self.scene().figure()
    }

    /// evcxr's display hook.
    pub fn evcxr_display(&self) {
        super::show(self.figure());
    }
}

/// Draws the timeline of `report`, titled with its verdict.
pub fn timeline(report: &Report) -> Result<Figure, FigureError> {
    Timeline::new(report).figure()
}

/// A report is shown as its verdict in words above its timeline. These methods live with the
/// drawing, not with the checker: drawing depends on checking, never the other way.
impl Report {
    /// The explanation and the timeline, as HTML.
    pub fn to_html(&self) -> String {
        let (colour, title) = match self.valid() {
            Some(true) => ("#2c7a2c", "✓ valid"),
            Some(false) => ("#b22222", "✗ invalid"),
            None => ("#b8860b", "? unknown"),
        };
        let figure = match self.timeline() {
            Ok(f) => f.to_html(),
            Err(e) => format!("<p><i>{}</i></p>", super::escape_html(&e.to_string())),
        };
        format!(
            "<div class=\"pattern-check\"><p><b style=\"color:{colour}\">{title}</b> — {}</p>{figure}</div>",
            super::escape_html(&self.explanation())
        )
    }

    /// The timeline figure: a lane per process, a bar per operation, where each took effect.
    pub fn timeline(&self) -> Result<Figure, FigureError> {
        timeline(self)
    }

    /// evcxr's display hook: the explanation and the timeline inline in the notebook.
    pub fn evcxr_display(&self) {
        super::emit("text/html", &self.to_html());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{self, Register};
    use crate::history::{EventType, History, Value};

    /// Spec Appendix A.4: a read of the old value after the new one was written.
    fn stale_read() -> History {
        let mut h = History::new();
        h.record("client1", EventType::Invoke, "write", "v0", None);
        h.record("client1", EventType::Ok, "write", "v0", None);
        h.record("client1", EventType::Invoke, "write", "v1", None);
        h.record("client1", EventType::Ok, "write", "v1", None);
        h.record("client2", EventType::Invoke, "read", Value::Nil, None);
        h.record("client2", EventType::Ok, "read", "v0", None);
        h.record("client2", EventType::Invoke, "write", "v2", None);
        h
    }

    #[test]
    fn the_stale_read_is_red_and_the_prefix_has_points_inside_its_bars() {
        // A lane per process, the culprit highlighted, every linearization point within its bar.
        let report = check::linearizable(&stale_read(), &Register::default()).unwrap();
        let layout = timeline_layout(&report);
        assert_eq!(layout.lanes, vec!["client1 (p0)", "client2 (p1)"]);
        let roles: Vec<_> = layout
            .bars
            .iter()
            .map(|b| (b.lane, b.role, b.rank))
            .collect();
        assert_eq!(
            roles,
            vec![
                (0, BarRole::Ordered, Some(1)),
                (0, BarRole::Ordered, Some(2)),
                (1, BarRole::Culprit, None),
                (1, BarRole::Unordered, None),
            ]
        );
        for bar in layout.bars.iter().filter(|b| b.point.is_some()) {
            let p = bar.point.unwrap();
            assert!(bar.start < p && p < bar.end, "{bar:?}");
        }
        let open = &layout.bars[3];
        assert!(open.open && open.end == layout.x_end);
    }

    #[test]
    fn a_long_history_is_drawn_around_its_culprit() {
        // Thousands of operations: the figure shows a window of them that holds the culprit.
        let mut h = check::Workload {
            processes: 3,
            operations: 2_000,
            keys: 0,
            info_percent: 0,
        }
        .record(1);
        let last_read = h
            .events
            .iter()
            .rposition(|e| e.f == "read" && e.kind == EventType::Ok)
            .unwrap();
        h.events[last_read].value = Value::Int(-1);
        let report = check::linearizable(&h, &check::CasRegister::new(0)).unwrap();
        let layout = timeline_layout(&report);
        assert_eq!(layout.bars.len(), TIMELINE_OPERATIONS_MAX);
        assert_eq!(
            layout
                .bars
                .iter()
                .filter(|b| b.role == BarRole::Culprit)
                .count(),
            1
        );
        assert!(layout.x_start > 0.0);
    }

    #[test]
    fn the_figure_is_an_svg_naming_every_process() {
        // The renderer draws what the layout holds.
        let report = check::linearizable(&stale_read(), &Register::default()).unwrap();
        let svg = timeline(&report).unwrap().svg().to_string();
        assert!(
            svg.starts_with("<svg")
                && svg.contains("client2")
                && svg.contains("read → &quot;v0&quot;")
        );
        assert!(report.to_html().contains("✗ invalid"));
    }

    fn assert_reads_at_a_glance(scene: &Scene, what: &str) {
        scene.verify().unwrap_or_else(|e| panic!("{what}: {e}"));
    }

    #[test]
    fn the_figure_reads_at_a_glance_with_a_verdict_title_and_a_key() {
        let report = check::linearizable(&stale_read(), &Register::default()).unwrap();
        let scene = Timeline::new(&report).scene();
        assert_reads_at_a_glance(&scene, "stale read");
        let texts: Vec<&str> = scene.labels.iter().map(|l| l.text.as_str()).collect();
        assert!(
            texts[..]
                .iter()
                .any(|t| t.starts_with("✗ Not linearizable")),
            "{texts:?}"
        );
        for entry in [
            "cannot be placed",
            "no reply: open to the end",
            "not in that order",
        ] {
            assert!(texts.contains(&entry), "key entry {entry}: {texts:?}");
        }
        // The open write ends with its marker inside the figure.
        let marker = scene.labels.iter().find(|l| l.text == "»").unwrap();
        assert!(marker.bbox().right() <= scene.width);
        // The axis counts events: whole numbers only.
        for t in texts.iter().filter_map(|t| t.parse::<f64>().ok()) {
            assert_eq!(t, t.round());
        }
    }

    #[test]
    fn a_client_that_became_a_new_process_gets_its_own_lane_name() {
        // bob's write timed out (:info), so his next operation is a new process: two lanes,
        // "bob (p1)" and "bob (p2)", never two lanes both called "bob".
        let mut h = History::new();
        h.record_as(0, "alice", EventType::Invoke, "write", 1, None);
        h.record_as(1, "bob", EventType::Invoke, "write", 2, None);
        h.record_as(0, "alice", EventType::Ok, "write", 1, None);
        h.record_as(1, "bob", EventType::Info, "write", 2, None);
        h.record_as(2, "bob", EventType::Invoke, "read", Value::Nil, None);
        h.record_as(2, "bob", EventType::Ok, "read", 2, None);
        let report = check::linearizable(&h, &Register::default()).unwrap();
        let layout = timeline_layout(&report);
        assert_eq!(layout.lanes, ["alice (p0)", "bob (p1)", "bob (p2)"]);
        assert_reads_at_a_glance(&Timeline::new(&report).scene(), "two bobs");
    }

    #[test]
    fn labels_of_short_overlapping_operations_stack_instead_of_colliding() {
        // Many quick operations with long labels on two processes: every label is shown, none
        // on another.
        let mut h = History::new();
        for i in 0..30i64 {
            let p = (i % 2) as u64;
            let name = ["alice", "bob"][p as usize];
            h.record_as(
                p,
                name,
                EventType::Invoke,
                "write",
                format!("a-rather-long-value-{i}").as_str(),
                None,
            );
            h.record_as(
                p,
                name,
                EventType::Ok,
                "write",
                format!("a-rather-long-value-{i}").as_str(),
                None,
            );
        }
        let report = check::linearizable(&h, &Register::default()).unwrap();
        let scene = Timeline::new(&report).title("thirty writes").scene();
        assert_reads_at_a_glance(&scene, "thirty writes");
        assert_eq!(
            scene
                .labels
                .iter()
                .filter(|l| l.text.starts_with("write"))
                .count(),
            30
        );
        assert!(scene.width <= super::super::style::CONTENT_WIDTH_PX);
    }

    #[test]
    fn a_long_history_reads_without_labels_and_says_so() {
        let h = check::Workload {
            processes: 5,
            operations: 2_000,
            keys: 0,
            info_percent: 5,
        }
        .record(3);
        let report = check::linearizable(&h, &check::CasRegister::new(0)).unwrap();
        let scene = Timeline::new(&report).scene();
        assert_reads_at_a_glance(&scene, "long");
        assert!(
            scene
                .labels
                .iter()
                .any(|l| l.text.contains("too many to label"))
        );
    }

    #[test]
    fn a_violation_on_one_key_is_drawn_with_that_key_only() {
        // Two keys; the stale read is on "b". The figure shows b's three operations, titled with
        // the key; all_keys() shows the five.
        let kv = |k: &str, v: Value| Value::tuple(Value::str(k), v);
        let mut h = History::new();
        h.record(
            "alice",
            EventType::Invoke,
            "write",
            kv("a", "1".into()),
            None,
        );
        h.record("alice", EventType::Ok, "write", kv("a", "1".into()), None);
        h.record(
            "alice",
            EventType::Invoke,
            "write",
            kv("b", "1".into()),
            None,
        );
        h.record("alice", EventType::Ok, "write", kv("b", "1".into()), None);
        h.record("bob", EventType::Invoke, "write", kv("a", "2".into()), None);
        h.record("bob", EventType::Ok, "write", kv("a", "2".into()), None);
        h.record("bob", EventType::Invoke, "write", kv("b", "2".into()), None);
        h.record("bob", EventType::Ok, "write", kv("b", "2".into()), None);
        h.record(
            "carol",
            EventType::Invoke,
            "read",
            kv("b", Value::Nil),
            None,
        );
        h.record("carol", EventType::Ok, "read", kv("b", "1".into()), None);
        let report =
            check::linearizable(&h, &check::Independent::new(Register::default())).unwrap();
        assert!(report.is_illegal());
        assert_eq!(timeline_layout(&report).bars.len(), 3);
        let scene = Timeline::new(&report).scene();
        assert!(scene.labels.iter().any(|l| l.text.contains("on key \"b\"")));
        assert_eq!(
            Timeline::new(&report)
                .all_keys()
                .scene()
                .labels
                .iter()
                .filter(|l| l.text.starts_with("write") || l.text.starts_with("read"))
                .count(),
            5
        );
    }

    #[test]
    fn an_empty_history_draws_an_empty_timeline() {
        let report = check::linearizable(&History::new(), &Register::default()).unwrap();
        Timeline::new(&report).scene().verify().unwrap();
    }
}
