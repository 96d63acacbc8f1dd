//! The timeline of a checked history (the figure Knossos and porcupine draw, `visualization.go`):
//! a lane per process, a bar per operation from its invocation to its completion (open to the
//! right when the outcome is unknown), a dot where each operation took effect in the verdict's
//! order, and the operation that cannot be placed in red.
//!
//! The layout is a pure function ([`timeline_layout`], unit-tested); [`timeline`] only renders it.
//! The time axis is the event's position in the history, so simultaneous ticks stay apart.

use super::{Figure, FigureError};
use crate::check::{Consistency, Report, Verdict};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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
pub fn timeline_layout(report: &Report) -> TimelineLayout {
    let culprit = match &report.verdict {
        Verdict::Illegal(v) => Some(v.culprit),
        _ => None,
    };
    let all = &report.operations;
    let first = culprit
        .map_or(0, |c| c.saturating_sub(TIMELINE_OPERATIONS_MAX / 2))
        .min(all.len().saturating_sub(TIMELINE_OPERATIONS_MAX));
    let ops = &all[first..all.len().min(first + TIMELINE_OPERATIONS_MAX)];
    let mut lane_processes: Vec<u64> = Vec::new();
    let mut lanes = Vec::new();
    for o in ops {
        if !lane_processes.contains(&o.process) {
            lane_processes.push(o.process);
            lanes.push(o.process_label());
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

/// Draws the timeline of `report`.
pub fn timeline(report: &Report) -> Result<Figure, FigureError> {
    let layout = timeline_layout(report);
    let lane_count = layout.lanes.len().max(1);
    let height = 70 + 56 * lane_count as u32;
    let labelled = layout.bars.len() <= LABELLED_BARS_MAX;
    Figure::draw(900, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(110)
            .build_cartesian_2d(
                layout.x_start - 0.5..layout.x_end + 0.5,
                -0.6..lane_count as f64 - 0.4,
            )?;
        let lanes = layout.lanes.clone();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(lane_count)
            .y_label_formatter(&|y| {
                let lane = lane_count as f64 - 1.0 - y.round();
                lanes.get(lane as usize).cloned().unwrap_or_default()
            })
            .x_desc("event position in the history")
            .draw()?;
        let y_of = |lane: usize| (lane_count - 1 - lane) as f64;
        for bar in &layout.bars {
            let y = y_of(bar.lane);
            let colour = match bar.role {
                BarRole::Ordered => RGBColor(31, 119, 180),
                BarRole::Unordered => RGBColor(150, 150, 150),
                BarRole::Culprit => RGBColor(214, 39, 40),
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(bar.start, y - 0.18), (bar.end, y + 0.18)],
                colour.mix(if bar.open { 0.15 } else { 0.35 }).filled(),
            )))?;
            let mut outline = vec![
                (bar.end, y - 0.18),
                (bar.start, y - 0.18),
                (bar.start, y + 0.18),
                (bar.end, y + 0.18),
            ];
            if !bar.open {
                outline.push((bar.end, y - 0.18));
            }
            chart.draw_series(std::iter::once(PathElement::new(
                outline,
                colour.stroke_width(if bar.role == BarRole::Culprit { 3 } else { 1 }),
            )))?;
            if labelled {
                let style = ("sans-serif", 12)
                    .into_font()
                    .color(&colour)
                    .pos(Pos::new(HPos::Left, VPos::Bottom));
                chart.draw_series(std::iter::once(Text::new(
                    bar.label.clone(),
                    (bar.start + 0.05, y + 0.22),
                    style,
                )))?;
            }
            if let Some(rank) = bar.rank {
                let x = bar
                    .point
                    .unwrap_or((bar.start + bar.end.min(layout.x_end)) / 2.0);
                chart.draw_series(std::iter::once(Circle::new((x, y), 4, BLACK.filled())))?;
                if labelled {
                    let style = ("sans-serif", 11)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Center, VPos::Top));
                    chart.draw_series(std::iter::once(Text::new(
                        format!("{rank}"),
                        (x, y - 0.22),
                        style,
                    )))?;
                }
            }
        }
        Ok(())
    })
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
        assert_eq!(layout.lanes, vec!["client1", "client2"]);
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
}
