//! From lanes and rows to pixels: where every lane, row, arrow and label of a sequence diagram
//! goes, with no two labels on top of each other.
//!
//! The rules, from the handout review: notes that share a lane and a tick are stacked under the
//! tick, wrapped (never cut) to the room between their lane and the next; a row is as tall as
//! its tallest stack; a message's label sits on its arrow, inside one gap between lifelines
//! (never struck through by a lifeline), on a white halo, at the first place along the arrow that
//! collides with nothing placed before it (nearest the sender first: crossing arrows diverge
//! there); a dropped message's ✕ sits just short of the lane it was meant for; a partition
//! shades the lanes but not the tick column; the diagram is as wide as what it holds.

use super::{ArrowKind, BandStyle, Emphasis, Layout, MarkStyle};
use crate::history::EventType;
use crate::sim::DropReason;
use crate::viz::scene::{Anchor, KeyEntry, Label, Placer, Scene, Shape, Swatch};
use crate::viz::style::{
    BLUE, BROWN, CONTENT_WIDTH_PX, GREEN, HEADING_PX, INK, MUTED, ORANGE, PURPLE, RED, RULE, Rgb,
    TEXT_MIN_PX,
};
use crate::viz::text::{LINE_HEIGHT, Rect, text_width, wrap, wrap_name};
use std::collections::BTreeMap;

/// Labels, notes and tick labels: the smallest text allowed, to keep lanes narrow.
const TEXT: f64 = TEXT_MIN_PX;
const LINE: f64 = TEXT * LINE_HEIGHT;
/// Room between a lifeline and text beside it.
const PAD: f64 = 8.0;
const GAP_MIN: f64 = 120.0;
const GAP_MAX: f64 = 220.0;
/// The widest a note on the last lane gets before it wraps.
const NOTE_LAST_MAX: f64 = 260.0;
const ROW_MIN: f64 = 26.0;
const CROSS: f64 = 5.0;
const TOP: f64 = 8.0;

const DOWN_FILL: Rgb = Rgb(150, 150, 150);

fn mark_color(style: MarkStyle) -> Rgb {
    match style {
        MarkStyle::Invoke => INK,
        MarkStyle::Completion(EventType::Ok) => GREEN,
        MarkStyle::Completion(EventType::Fail) => RED,
        MarkStyle::Completion(_) => ORANGE,
        MarkStyle::Timer => PURPLE,
        MarkStyle::Note => MUTED,
        MarkStyle::Fault => BROWN,
    }
}

fn operation_fill(kind: EventType) -> Rgb {
    match kind {
        EventType::Ok => GREEN.tint(0.45),
        EventType::Fail => RED.tint(0.45),
        EventType::Info => ORANGE.tint(0.45),
        EventType::Invoke => PURPLE.tint(0.5),
    }
}

/// A stack of notes on one lane at one row.
struct Stack {
    lane: usize,
    row: usize,
    /// Each note's lines, colour and weight.
    notes: Vec<(Vec<String>, Rgb, bool)>,
}

impl Stack {
    fn height(&self) -> f64 {
        let lines: usize = self.notes.iter().map(|n| n.0.len()).sum();
        lines as f64 * LINE + self.notes.len().saturating_sub(1) as f64 * 2.0
    }
}

/// Where lanes and rows are, in pixels.
struct Grid {
    lane_x: Vec<f64>,
    /// Where each row's space starts: its banner (partitions, network changes), if any.
    row_top: Vec<f64>,
    row_y: Vec<f64>,
    row_height: Vec<f64>,
    /// Gap after each row: (idle ticks, height).
    gaps: Vec<(u64, f64)>,
    gutter_right: f64,
    right: f64,
    bottom: f64,
    lifeline_top: f64,
}

impl Grid {
    fn x(&self, lane: usize) -> f64 {
        self.lane_x[lane.min(self.lane_x.len() - 1)]
    }

    /// The top of a row's space (above its banner) for a whole row; else as [`Grid::y`].
    fn top(&self, row: f64) -> f64 {
        if row >= 0.0 && row.fract() == 0.0 && (row as usize) < self.row_top.len() {
            self.row_top[row as usize]
        } else {
            self.y(row)
        }
    }

    /// The y of a (fractional) row: rows between two ticks fall between their rows.
    fn y(&self, row: f64) -> f64 {
        let last = self.row_y.len() - 1;
        if row <= 0.0 {
            return self.row_y[0] + row * ROW_MIN;
        }
        if row >= last as f64 {
            return self.row_y[last] + (row - last as f64) * self.row_height[last];
        }
        let i = row.floor() as usize;
        let f = row - i as f64;
        self.row_y[i] + f * (self.row_y[i + 1] - self.row_y[i])
    }
}

/// Places a laid-out diagram; returns the content and the key entries it needs.
pub(super) fn place(layout: &Layout) -> (Scene, Vec<KeyEntry>) {
    let mut fewest: Option<(usize, f64)> = None;
    // Crowded labels get more room: taller rows make crossing arrows diverge sooner.
    for stretch in [1.0, 1.5, 2.2, 3.2, 4.5] {
        let (scene, key, unplaced) = place_with(layout, stretch, false);
        if unplaced == 0 {
            return (scene, key);
        }
        if fewest.is_none_or(|(u, _)| unplaced < u) {
            fewest = Some((unplaced, stretch));
        }
    }
    // Still crowded: leave out the labels that have no free place, and say so in the key,
    // rather than print them over each other.
    let (_, stretch) = fewest.expect("one attempt at least");
    let (scene, key, _) = place_with(layout, stretch, true);
    (scene, key)
}

fn place_with(layout: &Layout, stretch: f64, omit_crowded: bool) -> (Scene, Vec<KeyEntry>, usize) {
    let lanes = layout.lanes.len().max(1);
    let is_client = |lane: usize| lane < layout.client_lanes;
    let rows = layout.row_ticks.len().max(1);

    // ---- widths ------------------------------------------------------------------------------
    let arrow_label_width = layout
        .arrows
        .iter()
        .filter(|a| a.emphasis != Emphasis::Dim)
        .map(|a| text_width(&a.label, TEXT, a.emphasis == Emphasis::Highlight))
        .fold(0.0, f64::max);
    let visible_marks = || layout.marks.iter().filter(|m| m.emphasis != Emphasis::Dim);
    let note_width = |lane: usize| {
        visible_marks()
            .filter(|m| m.lane == lane)
            .map(|m| text_width(&m.text, TEXT, m.emphasis == Emphasis::Highlight))
            .fold(0.0, f64::max)
    };
    let inner_note_width = (0..lanes)
        .filter(|&l| (l > 0 || !is_client(l)) && l + 1 < lanes)
        .map(note_width)
        .fold(0.0, f64::max);
    // The widest word of any label: CamelCase names break between their words when lanes must
    // be narrow ("AppendEntries" / "Response").
    let arrow_word_width = layout
        .arrows
        .iter()
        .filter(|a| a.emphasis != Emphasis::Dim)
        .flat_map(|a| {
            let bold = a.emphasis == Emphasis::Highlight;
            wrap_name(&a.label, TEXT, bold, 1.0)
                .into_iter()
                .map(move |w| text_width(&w, TEXT, bold))
        })
        .fold(0.0, f64::max);
    let label_gap = arrow_label_width + 2.0 * PAD + 8.0;
    let word_gap = arrow_word_width + 2.0 * PAD + 8.0;
    let mut gap = label_gap
        .max(inner_note_width + 2.0 * PAD)
        .clamp(GAP_MIN, GAP_MAX)
        .max(label_gap);
    let lane_name_width = |lane: usize| text_width(&layout.lanes[lane], HEADING_PX, true);

    let tick_label = |t: u64| format!("t{t}");
    let gap_label = |n: u64| {
        if n == 1 {
            "⋮ 1 tick".to_string()
        } else {
            format!("⋮ {n} ticks")
        }
    };
    let mut gutter = layout
        .row_ticks
        .iter()
        .map(|t| text_width(&tick_label(*t), TEXT, false))
        .fold(0.0, f64::max);
    for r in 0..rows {
        let idle = layout.idle_ticks_after(r);
        if idle > 0 {
            gutter = gutter.max(text_width(&gap_label(idle), TEXT, false));
        }
    }
    let gutter_right = 8.0 + gutter;
    let first_zone = if is_client(0) {
        note_width(0).min(GAP_MAX - 2.0 * PAD) + PAD
    } else {
        0.0
    };
    let lane0 = gutter_right + 12.0 + first_zone.max(lane_name_width(0) / 2.0);
    let last = lanes - 1;
    let last_note = if is_client(last) {
        0.0
    } else {
        note_width(last).min(NOTE_LAST_MAX)
    };
    let right_zone = (last_note + PAD).max(lane_name_width(last) / 2.0) + 10.0;
    if lanes > 1 {
        // The figure's right margin is 8 px, and its width is rounded up.
        let room = CONTENT_WIDTH_PX - 10.0;
        let fits = (room - lane0 - right_zone) / (lanes - 1) as f64;
        if lane0 + gap * (lanes - 1) as f64 + right_zone > room {
            gap = fits.max(word_gap).max(90.0);
        }
    }
    let lane_x: Vec<f64> = (0..lanes).map(|l| lane0 + l as f64 * gap).collect();
    let wrap_width = |lane: usize| -> f64 {
        if is_client(lane) {
            if lane == 0 {
                first_zone - PAD
            } else {
                gap - 2.0 * PAD
            }
        } else if lane == last {
            NOTE_LAST_MAX
        } else {
            gap - 2.0 * PAD
        }
    };

    // ---- note stacks, then rows -------------------------------------------------------------
    let mut stacks: BTreeMap<(usize, usize), Stack> = BTreeMap::new();
    for m in visible_marks() {
        let row = m.row.round().max(0.0) as usize;
        let bold = m.emphasis == Emphasis::Highlight;
        let color = if bold { RED } else { mark_color(m.style) };
        let lines = wrap(&m.text, TEXT, bold, wrap_width(m.lane).max(60.0));
        stacks
            .entry((m.lane, row))
            .or_insert_with(|| Stack {
                lane: m.lane,
                row,
                notes: Vec::new(),
            })
            .notes
            .push((lines, color, bold));
    }
    // Partitions and network changes are written across the diagram, in a banner above the
    // row of their tick, so they never sit on a note or an arrow's label.
    let band_left = gutter_right + 6.0;
    let right = lane_x[last] + right_zone;
    let banner_width = (right - band_left - 12.0).max(200.0);
    let mut banners: BTreeMap<usize, Vec<(Vec<String>, Rgb)>> = BTreeMap::new();
    for band in layout.bands.iter().filter(|b| b.lane.is_none()) {
        let row = band.from_row.round().clamp(0.0, (rows - 1) as f64) as usize;
        banners
            .entry(row)
            .or_default()
            .push((wrap(&band.label, TEXT, false, banner_width), RED));
    }
    for note in &layout.network_notes {
        let row = note.row.round().clamp(0.0, (rows - 1) as f64) as usize;
        banners
            .entry(row)
            .or_default()
            .push((wrap(&note.text, TEXT, false, banner_width), MUTED));
    }
    let lane_names_y = TOP + HEADING_PX * LINE_HEIGHT / 2.0;
    let lifeline_top = TOP + HEADING_PX * LINE_HEIGHT + 4.0;
    let row_min = ROW_MIN * stretch;
    let mut row_top = Vec::with_capacity(rows);
    let mut row_y = Vec::with_capacity(rows);
    let mut row_height = Vec::with_capacity(rows);
    let mut gaps = Vec::with_capacity(rows);
    let mut y = lifeline_top + 14.0;
    for r in 0..rows {
        let stacked = stacks
            .values()
            .filter(|s| s.row == r)
            .map(|s| s.height() + 8.0 + (stretch - 1.0) * ROW_MIN)
            .fold(0.0, f64::max);
        let h = row_min.max(stacked);
        row_top.push(y);
        if let Some(notes) = banners.get(&r) {
            let lines: usize = notes.iter().map(|n| n.0.len()).sum();
            y += lines as f64 * LINE + 8.0;
        }
        row_y.push(y);
        row_height.push(h);
        let idle = layout.idle_ticks_after(r);
        let gap_h = if idle > 0 {
            (30.0 + 5.0 * (idle as f64).log2()).min(50.0)
        } else {
            0.0
        };
        gaps.push((idle, gap_h));
        y += h + gap_h;
    }
    let bottom = row_y[rows - 1] + row_height[rows - 1];
    let grid = Grid {
        lane_x,
        row_top,
        row_y,
        row_height,
        gaps,
        gutter_right,
        right,
        bottom,
        lifeline_top,
    };

    let mut scene = Scene::new();
    let mut placer = Placer::new();
    let mut key = KeyNeeds::default();

    // ---- partitions, under everything ----------------------------------------------------------
    for band in layout.bands.iter().filter(|b| b.lane.is_none()) {
        key.partition = true;
        let (y0, y1) = (grid.top(band.from_row), grid.top(band.to_row));
        scene.push(Shape::Rect {
            rect: Rect::new(band_left, y0, grid.right - band_left, (y1 - y0).max(1.0)),
            fill: Some((RED.tint(0.92), 1.0)),
            stroke: None,
        });
        for edge in [y0, y1] {
            scene.push(Shape::Line {
                points: vec![(band_left, edge), (grid.right, edge)],
                color: RED,
                width: 1.0,
                opacity: 0.5,
                dashed: false,
            });
        }
    }
    for (row, notes) in &banners {
        let mut y = grid.row_top[*row] + 4.0 + LINE / 2.0;
        for (lines, color) in notes {
            let label = Label::new("", band_left + 6.0, y)
                .size(TEXT)
                .color(*color)
                .halo();
            let taken = scene.lines(lines, &label);
            placer.take(taken);
            y += lines.len() as f64 * LINE;
        }
    }

    // ---- lifelines: solid within rows, dashed across idle gaps ---------------------------------
    for (lane, name) in layout.lanes.iter().enumerate() {
        let x = grid.x(lane);
        let mut y = grid.lifeline_top;
        for r in 0..rows {
            let end = grid.row_y[r] + grid.row_height[r];
            scene.push(Shape::line(vec![(x, y), (x, end)], RULE, 1.0));
            let (_, gap_h) = grid.gaps[r];
            if gap_h > 0.0 {
                scene.push(Shape::Line {
                    points: vec![(x, end), (x, end + gap_h)],
                    color: RULE,
                    width: 1.0,
                    opacity: 1.0,
                    dashed: true,
                });
            }
            y = end + gap_h;
        }
        let color = if is_client(lane) { BLUE } else { INK };
        let names = wrap(name, HEADING_PX, true, gap - 8.0);
        let label = Label::new("", x, lane_names_y)
            .anchor(Anchor::Middle)
            .size(HEADING_PX)
            .bold()
            .color(color);
        let taken = scene.lines(&names, &label);
        placer.take(taken);
    }

    // ---- tick labels and idle gaps ---------------------------------------------------------------
    for (r, tick) in layout.row_ticks.iter().enumerate() {
        let label = Label::new(tick_label(*tick), grid.gutter_right, grid.row_y[r])
            .anchor(Anchor::End)
            .size(TEXT)
            .color(MUTED);
        placer.take(label.bbox());
        scene.label(label);
        let (idle, gap_h) = grid.gaps[r];
        if idle > 0 {
            key.gap = true;
            let y = grid.row_y[r] + grid.row_height[r] + gap_h / 2.0;
            let label = Label::new(gap_label(idle), grid.gutter_right, y)
                .anchor(Anchor::End)
                .size(TEXT)
                .color(MUTED);
            placer.take(label.bbox());
            scene.label(label);
        }
    }

    // ---- lane bands: crashes, pauses, operations in flight ---------------------------------------
    for band in &layout.bands {
        let Some(lane) = band.lane else { continue };
        let x = grid.x(lane);
        let (y0, y1) = (grid.y(band.from_row), grid.y(band.to_row));
        let (half, fill, opacity) = match (band.style, band.emphasis) {
            (BandStyle::Crashed, _) => {
                key.crashed = true;
                (6.0, DOWN_FILL, 0.55)
            }
            (BandStyle::Paused, _) => {
                key.paused = true;
                (6.0, ORANGE.tint(0.5), 1.0)
            }
            (BandStyle::Operation(_), Emphasis::Highlight) => {
                key.highlight = true;
                (4.0, RED, 1.0)
            }
            (BandStyle::Operation(kind), Emphasis::Dim) => (3.0, operation_fill(kind), 0.3),
            (BandStyle::Operation(kind), Emphasis::Normal) => {
                key.operations[operation_index(kind)] = true;
                (3.0, operation_fill(kind), 1.0)
            }
            (BandStyle::Partition, _) => continue,
        };
        scene.push(Shape::Rect {
            rect: Rect::new(x - half, y0, 2.0 * half, (y1 - y0).max(2.0)),
            fill: Some((fill, opacity)),
            stroke: None,
        });
    }

    // ---- notes: stacked under their row, beside their lane ----------------------------------------
    for stack in stacks.values() {
        let x = grid.x(stack.lane);
        let client = is_client(stack.lane);
        let (tx, anchor) = if client {
            (x - PAD, Anchor::End)
        } else {
            (x + PAD, Anchor::Start)
        };
        let mut y = grid.row_y[stack.row.min(rows - 1)] + 3.0 + LINE / 2.0;
        for (lines, color, bold) in &stack.notes {
            let mut label = Label::new("", tx, y)
                .anchor(anchor)
                .size(TEXT)
                .color(*color)
                .halo();
            if *bold {
                label = label.bold();
            }
            let taken = scene.lines(lines, &label);
            placer.take(taken);
            y += lines.len() as f64 * LINE + 2.0;
        }
    }
    for m in visible_marks() {
        match m.style {
            MarkStyle::Timer => {
                key.timer = true;
                scene.push(Shape::Circle {
                    center: (grid.x(m.lane), grid.y(m.row)),
                    radius: 3.0,
                    fill: PURPLE,
                    opacity: 1.0,
                });
            }
            MarkStyle::Fault => key.fault = true,
            _ => {}
        }
    }

    // ---- arrows ------------------------------------------------------------------------------------
    let max_count = layout.arrows.iter().map(|a| a.count).max().unwrap_or(1) as f64;
    let mut order: Vec<usize> = (0..layout.arrows.len()).collect();
    // Highlighted arrows choose their label's place first; then in time order.
    order.sort_by(|a, b| {
        let (a, b) = (&layout.arrows[*a], &layout.arrows[*b]);
        (b.emphasis == Emphasis::Highlight)
            .cmp(&(a.emphasis == Emphasis::Highlight))
            .then(a.from_row.total_cmp(&b.from_row))
    });
    let mut labels_to_place = Vec::new();
    for &i in &order {
        let arrow = &layout.arrows[i];
        let (x0, y0) = (grid.x(arrow.from_lane), grid.y(arrow.from_row));
        let (x1, y1) = (grid.x(arrow.to_lane), grid.y(arrow.to_row));
        let dir = if x1 >= x0 { 1.0 } else { -1.0 };
        let (end_x, end_y) = match arrow.kind {
            ArrowKind::Dropped(DropReason::SenderCrashed) => {
                let x = x0 + dir * (0.35 * gap).min(48.0);
                (
                    x,
                    y0 + (y1 - y0) * (x - x0) / (x1 - x0).abs().max(1.0) * dir,
                )
            }
            ArrowKind::Dropped(_) => {
                // Just short of the lane it was meant for, on the arrow's line.
                let x = x1 - dir * 12.0;
                let t = if (x1 - x0).abs() > 1e-9 {
                    (x - x0) / (x1 - x0)
                } else {
                    1.0
                };
                (x, y0 + (y1 - y0) * t)
            }
            _ => (x1, y1),
        };
        let highlight = arrow.emphasis == Emphasis::Highlight;
        let dim = arrow.emphasis == Emphasis::Dim;
        let color = if highlight {
            RED
        } else if dim {
            RULE
        } else {
            match arrow.kind {
                ArrowKind::Delivered | ArrowKind::Duplicate => BLUE,
                ArrowKind::Dropped(_) => RED,
                ArrowKind::InFlight => MUTED,
            }
        };
        let width = if layout.aggregated {
            1.0 + 4.0 * arrow.count as f64 / max_count
        } else if highlight {
            2.6
        } else {
            1.4
        };
        let opacity = if dim { 0.7 } else { 1.0 };
        let dashed = matches!(arrow.kind, ArrowKind::Dropped(_) | ArrowKind::InFlight);
        scene.push(Shape::Line {
            points: vec![(x0, y0), (end_x, end_y)],
            color,
            width,
            opacity,
            dashed,
        });
        match arrow.kind {
            ArrowKind::Dropped(_) => {
                if !dim {
                    key.dropped = true;
                }
                for s in Shape::cross((end_x, end_y), CROSS, color, opacity) {
                    scene.push(s);
                }
                placer.take(Rect::new(
                    end_x - CROSS,
                    end_y - CROSS,
                    2.0 * CROSS,
                    2.0 * CROSS,
                ));
            }
            ArrowKind::InFlight => {
                if !dim {
                    key.in_flight = true;
                }
            }
            ArrowKind::Delivered | ArrowKind::Duplicate => {
                if !dim && !highlight {
                    key.delivered = true;
                }
                if arrow.kind == ArrowKind::Duplicate && !dim {
                    key.duplicate = true;
                }
                scene.push(Shape::arrowhead((x0, y0), (end_x, end_y), color, opacity));
            }
        }
        if highlight {
            key.highlight = true;
        }
        if dim {
            key.dimmed = true;
            continue;
        }
        // A dropped message's label may sit anywhere on the way it was meant to go.
        labels_to_place.push((i, (x0, y0), (x1, y1), color, highlight));
    }
    let mut unplaced = 0;
    let label_room = gap - 2.0 * PAD - 4.0;
    for (i, from, to, color, highlight) in labels_to_place {
        let arrow = &layout.arrows[i];
        let mut label = Label::new("", 0.0, 0.0)
            .anchor(Anchor::Middle)
            .size(TEXT)
            .color(color)
            .halo();
        if highlight {
            label = label.bold();
        }
        let lines = wrap_name(&arrow.label, TEXT, highlight, label_room);
        let placed = place_on_arrow(
            &mut scene,
            &mut placer,
            &lines,
            &label,
            (from, to),
            &grid,
            (arrow.from_lane, arrow.to_lane),
            omit_crowded,
        );
        if !placed {
            unplaced += 1;
        }
    }
    key.omitted = if omit_crowded { unplaced } else { 0 };
    if layout.aggregated {
        key.aggregated = true;
    }

    let text = scene.text_bounds();
    let text_right = text.map_or(0.0, |b| b.right());
    let text_bottom = text.map_or(0.0, |b| b.bottom());
    scene.width = (grid.right.max(text_right) + 8.0).ceil();
    scene.height = ((grid.bottom + 10.0).max(text_bottom + 6.0)).ceil();
    (scene, key.entries(), unplaced)
}

fn operation_index(kind: EventType) -> usize {
    match kind {
        EventType::Ok => 0,
        EventType::Fail => 1,
        EventType::Info => 2,
        EventType::Invoke => 3,
    }
}

/// Puts a message's label (one or more lines) on its arrow: inside one gap between two
/// lifelines, at the first place along the arrow (from the sender) where it collides with
/// nothing; failing that, just above or below the arrow. Returns whether a free place was
/// found; when none was, the label goes at its first place, or nowhere if `omit` is set.
#[allow(clippy::too_many_arguments)]
fn place_on_arrow(
    scene: &mut Scene,
    placer: &mut Placer,
    lines: &[String],
    template: &Label,
    (from, to): ((f64, f64), (f64, f64)),
    grid: &Grid,
    (from_lane, to_lane): (usize, usize),
    omit: bool,
) -> bool {
    let w = lines
        .iter()
        .map(|l| {
            Label {
                text: l.clone(),
                ..template.clone()
            }
            .bbox()
            .width
        })
        .fold(0.0, f64::max);
    let h = lines.len() as f64 * LINE;
    let (x0, y0) = from;
    let (x1, y1) = to;
    let y_at = |x: f64| {
        if (x1 - x0).abs() < 1e-9 {
            (y0 + y1) / 2.0
        } else {
            y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        }
    };
    let (lo_lane, hi_lane) = (from_lane.min(to_lane), from_lane.max(to_lane));
    // Gaps between lifelines the arrow crosses, nearest the sender first.
    let mut segments: Vec<(f64, f64)> = (lo_lane..hi_lane)
        .map(|l| (grid.x(l), grid.x(l + 1)))
        .map(|(a, b)| (a.max(x0.min(x1)), b.min(x0.max(x1))))
        .filter(|(a, b)| b > a)
        .collect();
    if to_lane < from_lane {
        segments.reverse();
    }
    let mut on_line: Vec<(f64, f64)> = Vec::new();
    for &(a, b) in &segments {
        let (lo, hi) = (a + PAD + w / 2.0 - 2.0, b - PAD - w / 2.0 + 2.0);
        if hi < lo {
            continue;
        }
        for t in [
            0.5, 0.3, 0.7, 0.15, 0.85, 0.0, 1.0, 0.4, 0.6, 0.22, 0.78, 0.07, 0.93,
        ] {
            // t runs from the sender's side of the gap.
            let x = if to_lane >= from_lane {
                lo + (hi - lo) * t
            } else {
                hi - (hi - lo) * t
            };
            on_line.push((x, y_at(x)));
        }
    }
    if on_line.is_empty() {
        // A short stub (a message that never left): beside its end.
        let x = x1
            + if x1 >= x0 {
                w / 2.0 + 8.0
            } else {
                -w / 2.0 - 8.0
            };
        on_line.push((x, y1));
    }
    let mut candidates = on_line.clone();
    for (x, y) in &on_line {
        for dy in [-(h / 2.0 + 4.0), h / 2.0 + 4.0] {
            candidates.push((*x, y + dy));
        }
    }
    // Last resorts: anywhere along the arrow, even over a lifeline (the halo breaks it there).
    let (left, right) = (x0.min(x1) + w / 2.0, x0.max(x1) - w / 2.0);
    if right > left {
        let steps = ((right - left) / 8.0).ceil().max(1.0) as usize;
        for k in 0..=steps {
            let t = k as f64 / steps as f64;
            let x = if x1 >= x0 {
                left + (right - left) * t
            } else {
                right - (right - left) * t
            };
            for dy in [
                0.0,
                -(h / 2.0 + 4.0),
                h / 2.0 + 4.0,
                -(h * 1.5 + 6.0),
                h * 1.5 + 6.0,
            ] {
                candidates.push((x, y_at(x) + dy));
            }
        }
    }
    let block = |(x, y): (f64, f64)| Rect::new(x - w / 2.0, y - h / 2.0, w, h);
    let chosen = candidates
        .iter()
        .copied()
        .find(|c| placer.is_free(&block(*c)));
    let found = chosen.is_some();
    let at = match chosen {
        Some(c) => c,
        None if omit => return false,
        None => candidates[0],
    };
    placer.take(block(at));
    let label = Label {
        x: at.0,
        y: at.1 - h / 2.0 + LINE / 2.0,
        ..template.clone()
    };
    scene.lines(lines, &label);
    found
}

/// Which entries the key needs: only what the diagram shows.
#[derive(Default)]
struct KeyNeeds {
    delivered: bool,
    duplicate: bool,
    dropped: bool,
    in_flight: bool,
    highlight: bool,
    dimmed: bool,
    partition: bool,
    crashed: bool,
    paused: bool,
    /// ok, fail, info, still open.
    operations: [bool; 4],
    timer: bool,
    fault: bool,
    gap: bool,
    aggregated: bool,
    /// Labels left out where arrows crowd.
    omitted: usize,
}

impl KeyNeeds {
    fn entries(&self) -> Vec<KeyEntry> {
        let mut key = Vec::new();
        let mut add = |on: bool, swatch: Swatch, text: &str| {
            if on {
                key.push(KeyEntry::new(swatch, text));
            }
        };
        add(
            self.delivered && !self.aggregated,
            Swatch::Arrow {
                color: BLUE,
                dashed: false,
            },
            "message, labelled with its type",
        );
        add(
            self.aggregated,
            Swatch::Arrow {
                color: BLUE,
                dashed: false,
            },
            "messages on a link in one time bucket (×n, thicker for more)",
        );
        add(
            self.duplicate,
            Swatch::Glyph {
                text: "(again)".into(),
                color: BLUE,
            },
            "delivered a second time",
        );
        add(
            self.dropped,
            Swatch::Cross(RED),
            "dropped: ✕ short of its target",
        );
        add(
            self.in_flight,
            Swatch::Line {
                color: MUTED,
                dashed: true,
            },
            "still in flight at the end",
        );
        add(
            self.highlight,
            Swatch::Line {
                color: RED,
                dashed: false,
            },
            "the highlighted operation and what it caused",
        );
        add(
            self.dimmed,
            Swatch::Line {
                color: RULE,
                dashed: false,
            },
            "other keys (dimmed)",
        );
        add(
            self.operations[0],
            Swatch::Fill {
                color: operation_fill(EventType::Ok),
                outline: None,
            },
            "operation: ok",
        );
        add(
            self.operations[1],
            Swatch::Fill {
                color: operation_fill(EventType::Fail),
                outline: None,
            },
            "failed",
        );
        add(
            self.operations[2],
            Swatch::Fill {
                color: operation_fill(EventType::Info),
                outline: None,
            },
            "outcome unknown (info)",
        );
        add(
            self.operations[3],
            Swatch::Fill {
                color: operation_fill(EventType::Invoke),
                outline: None,
            },
            "no reply yet",
        );
        add(
            self.partition,
            Swatch::Fill {
                color: RED.tint(0.92),
                outline: Some(RED),
            },
            "partition",
        );
        add(
            self.crashed,
            Swatch::Fill {
                color: DOWN_FILL,
                outline: None,
            },
            "node down",
        );
        add(
            self.paused,
            Swatch::Fill {
                color: ORANGE.tint(0.5),
                outline: None,
            },
            "node paused",
        );
        add(
            self.timer,
            Swatch::Glyph {
                text: "◷".into(),
                color: PURPLE,
            },
            "timer fired",
        );
        add(
            self.fault,
            Swatch::Glyph {
                text: "crash".into(),
                color: BROWN,
            },
            "fault injected",
        );
        add(
            self.gap,
            Swatch::Glyph {
                text: "⋮".into(),
                color: MUTED,
            },
            "ticks with nothing to draw",
        );
        if self.omitted > 0 {
            key.push(KeyEntry::new(
                Swatch::Line {
                    color: BLUE,
                    dashed: false,
                },
                format!(
                    "{} crowded arrow{} left unlabelled: narrow the window",
                    self.omitted,
                    if self.omitted == 1 { "" } else { "s" }
                ),
            ));
        }
        key
    }
}
