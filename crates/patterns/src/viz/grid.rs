//! Tables drawn as figures: a grid of shaded cells with a key. Two builders share one layout:
//! [`CellGrid`], for any two-way comparison (an R × W grid of quorum sizes with the R + W > N
//! cells shaded), and [`LogGrid`], the replicated log of Paxos and Raft (log index × replica,
//! each entry with its term or ballot, accepted or chosen, each replica's commit index marked).
//!
//! Cells are as wide as their text needs (wrapped to at most [`CELL_TEXT_MAX`], never cut), text
//! on a fill is black or white, whichever reads; the key explains every fill used.

use super::scene::{Anchor, KeyEntry, Label, Scene, Shape, Swatch, Title};
use super::style::{BLUE, GREEN, HEADING_PX, INK, MUTED, RED, RULE, Rgb, TEXT_PX, WHITE};
use super::text::{LINE_HEIGHT, Rect, text_width, wrap};
use super::{Figure, FigureError};
use std::collections::BTreeMap;

/// The widest a cell's text gets before it wraps.
pub const CELL_TEXT_MAX: f64 = 150.0;

const LINE: f64 = TEXT_PX * LINE_HEIGHT;
const CELL_PAD: f64 = 6.0;

/// One cell of a grid.
#[derive(Clone, Debug, PartialEq)]
struct Cell {
    text: String,
    /// Index into the grid's classes; `None` for an unshaded cell.
    class: Option<usize>,
    bold: bool,
    /// Outlined in red: the culprit, an entry about to be overwritten.
    highlight: bool,
}

/// A marker after a cell of one row: a commit index.
#[derive(Clone, Debug, PartialEq)]
struct RowMarker {
    row: usize,
    /// The marker sits on the right edge of this column.
    column: usize,
    label: String,
}

/// What both grid builders lay out.
#[derive(Clone, Debug, Default, PartialEq)]
struct GridSpec {
    title: String,
    row_heading: String,
    column_heading: String,
    rows: Vec<String>,
    columns: Vec<String>,
    /// Key text and fill of each class of cell.
    classes: Vec<(String, Rgb, Option<Rgb>)>,
    cells: BTreeMap<(usize, usize), Cell>,
    markers: Vec<RowMarker>,
    marker_key: Option<String>,
    highlight_key: Option<String>,
    /// More key entries, after the classes'.
    notes: Vec<KeyEntry>,
}

impl GridSpec {
    fn scene(&self) -> Result<Scene, FigureError> {
        if self.rows.is_empty() || self.columns.is_empty() {
            return Err(FigureError(
                "a grid needs at least one row and one column".into(),
            ));
        }
        let lines_of = |cell: &Cell| wrap(&cell.text, TEXT_PX, cell.bold, CELL_TEXT_MAX);
        // Column widths and row heights from what the cells hold.
        let mut widths: Vec<f64> = self
            .columns
            .iter()
            .map(|c| text_width(c, TEXT_PX, false).max(24.0))
            .collect();
        let mut heights: Vec<usize> = vec![1; self.rows.len()];
        for (&(r, c), cell) in &self.cells {
            let lines = lines_of(cell);
            let w = lines
                .iter()
                .map(|l| text_width(l, TEXT_PX, cell.bold))
                .fold(0.0, f64::max);
            widths[c] = widths[c].max(w);
            heights[r] = heights[r].max(lines.len());
        }
        let widths: Vec<f64> = widths.iter().map(|w| w + 2.0 * CELL_PAD).collect();
        let row_h: Vec<f64> = heights
            .iter()
            .map(|n| *n as f64 * LINE + 2.0 * CELL_PAD)
            .collect();
        let row_label_width = self
            .rows
            .iter()
            .map(|r| text_width(r, TEXT_PX, true))
            .fold(text_width(&self.row_heading, TEXT_PX, false), f64::max);
        let left = 12.0 + row_label_width + 12.0;
        let header = if self.column_heading.is_empty() {
            0.0
        } else {
            HEADING_PX * LINE_HEIGHT + 4.0
        };
        let top = 6.0 + header + LINE + 6.0;
        let mut x_of = vec![left];
        for w in &widths {
            let next = x_of.last().copied().unwrap_or(left) + w;
            x_of.push(next);
        }
        let mut y_of = vec![top];
        for h in &row_h {
            let next = y_of.last().copied().unwrap_or(top) + h;
            y_of.push(next);
        }
        let right = *x_of.last().unwrap_or(&left);
        let bottom = *y_of.last().unwrap_or(&top);

        let mut scene = Scene::new();
        if !self.column_heading.is_empty() {
            scene.label(
                Label::new(
                    self.column_heading.clone(),
                    (left + right) / 2.0,
                    6.0 + HEADING_PX * LINE_HEIGHT / 2.0,
                )
                .anchor(Anchor::Middle)
                .size(HEADING_PX)
                .color(INK),
            );
        }
        for (c, name) in self.columns.iter().enumerate() {
            scene.label(
                Label::new(
                    name.clone(),
                    (x_of[c] + x_of[c + 1]) / 2.0,
                    top - 6.0 - LINE / 2.0,
                )
                .anchor(Anchor::Middle)
                .color(MUTED),
            );
        }
        if !self.row_heading.is_empty() {
            scene.label(
                Label::new(
                    self.row_heading.clone(),
                    left - 12.0,
                    top - 6.0 - LINE / 2.0,
                )
                .anchor(Anchor::End)
                .color(MUTED),
            );
        }
        for (r, name) in self.rows.iter().enumerate() {
            scene.label(
                Label::new(name.clone(), left - 12.0, (y_of[r] + y_of[r + 1]) / 2.0)
                    .anchor(Anchor::End)
                    .bold()
                    .color(INK),
            );
        }
        // Cells: fills first, then the grid lines, then text.
        let mut used = vec![false; self.classes.len()];
        for (&(r, c), cell) in &self.cells {
            let rect = Rect::new(x_of[c], y_of[r], widths[c], row_h[r]);
            let fill = cell.class.map(|k| {
                used[k] = true;
                self.classes[k].1
            });
            if let Some(fill) = fill {
                scene.push(Shape::filled(rect, fill));
            }
        }
        for x in &x_of {
            scene.push(Shape::line(vec![(*x, top), (*x, bottom)], RULE, 1.0));
        }
        for y in &y_of {
            scene.push(Shape::line(vec![(left, *y), (right, *y)], RULE, 1.0));
        }
        for (&(r, c), cell) in &self.cells {
            let rect = Rect::new(x_of[c], y_of[r], widths[c], row_h[r]);
            let fill = cell.class.map_or(WHITE, |k| self.classes[k].1);
            if let Some(outline) = cell.class.and_then(|k| self.classes[k].2) {
                scene.push(Shape::Rect {
                    rect: rect.inflate(-1.5),
                    fill: None,
                    stroke: Some((outline, 1.0)),
                });
            }
            if cell.highlight {
                scene.push(Shape::Rect {
                    rect: rect.inflate(-2.0),
                    fill: None,
                    stroke: Some((RED, 3.0)),
                });
            }
            let lines = lines_of(cell);
            let first = rect.y + rect.height / 2.0 - (lines.len() as f64 - 1.0) * LINE / 2.0;
            let mut label = Label::new("", rect.x + rect.width / 2.0, first)
                .anchor(Anchor::Middle)
                .color(fill.text_on())
                .on(fill);
            if cell.bold {
                label = label.bold();
            }
            scene.lines(&lines, &label);
        }
        // Row markers: a thick bar on a cell's right edge, labelled past the grid's end.
        for m in &self.markers {
            let x = x_of[(m.column + 1).min(self.columns.len())];
            let (y0, y1) = (y_of[m.row], y_of[m.row + 1]);
            scene.push(Shape::line(vec![(x, y0 + 1.0), (x, y1 - 1.0)], INK, 3.0));
            scene.label(Label::new(m.label.clone(), right + 8.0, (y0 + y1) / 2.0).color(INK));
        }
        scene.width = scene.text_bounds().map_or(right, |b| b.right()).max(right) + 8.0;
        scene.height = bottom + 8.0;

        let mut key: Vec<KeyEntry> = self
            .classes
            .iter()
            .zip(&used)
            .filter(|(_, used)| **used)
            .map(|((text, fill, outline), _)| {
                KeyEntry::new(
                    Swatch::Fill {
                        color: *fill,
                        outline: outline.or(Some(RULE)),
                    },
                    text.clone(),
                )
            })
            .collect();
        if let (Some(text), true) = (
            &self.highlight_key,
            self.cells.values().any(|c| c.highlight),
        ) {
            key.push(KeyEntry::new(
                Swatch::Fill {
                    color: WHITE,
                    outline: Some(RED),
                },
                text.clone(),
            ));
        }
        if let (Some(text), false) = (&self.marker_key, self.markers.is_empty()) {
            key.push(KeyEntry::new(
                Swatch::Glyph {
                    text: "┃".into(),
                    color: INK,
                },
                text.clone(),
            ));
        }
        key.extend(self.notes.iter().cloned());
        Ok(scene.with_header(&Title::new(self.title.clone()), &key))
    }
}

/// A grid of shaded cells: rows against columns, each cell with its text and its class, each
/// class in the key.
///
/// ```
/// use patterns::viz::{CellGrid, style};
/// let n = 3;
/// let mut grid = CellGrid::new("R + W > N: which quorums always overlap (N = 3)")
///     .rows("R", ["1", "2", "3"])
///     .columns("W", ["1", "2", "3"])
///     .class("overlap", "R + W > N: a read meets the last write", style::GREEN.tint(0.55))
///     .class("miss", "R + W ≤ N: a read may miss it", style::RED.tint(0.75));
/// for r in 1..=n {
///     for w in 1..=n {
///         let class = if r + w > n { "overlap" } else { "miss" };
///         grid = grid.cell(r - 1, w - 1, format!("{}", 0), class);
///     }
/// }
/// assert!(grid.figure().unwrap().svg().contains("a read meets the last write"));
/// ```
#[derive(Clone, Debug)]
pub struct CellGrid {
    spec: GridSpec,
    class_names: Vec<String>,
}

impl CellGrid {
    /// An empty grid; the title states what the shading shows.
    pub fn new(title: impl Into<String>) -> CellGrid {
        CellGrid {
            spec: GridSpec {
                title: title.into(),
                ..GridSpec::default()
            },
            class_names: Vec::new(),
        }
    }

    /// The rows' heading (the quantity) and their labels, top to bottom.
    pub fn rows<S: Into<String>>(
        mut self,
        heading: impl Into<String>,
        labels: impl IntoIterator<Item = S>,
    ) -> CellGrid {
        self.spec.row_heading = heading.into();
        self.spec.rows = labels.into_iter().map(Into::into).collect();
        self
    }

    /// The columns' heading and their labels, left to right.
    pub fn columns<S: Into<String>>(
        mut self,
        heading: impl Into<String>,
        labels: impl IntoIterator<Item = S>,
    ) -> CellGrid {
        self.spec.column_heading = heading.into();
        self.spec.columns = labels.into_iter().map(Into::into).collect();
        self
    }

    /// A class of cells: its name (for [`CellGrid::cell`]), what it means (the key) and its fill.
    pub fn class(mut self, name: &str, meaning: impl Into<String>, fill: Rgb) -> CellGrid {
        self.class_names.push(name.to_string());
        self.spec.classes.push((meaning.into(), fill, None));
        self
    }

    /// The cell at (`row`, `column`), 0-based, in the class named `class` ("" for none). A cell
    /// outside the grid or of an unknown class is an error when the figure is drawn.
    pub fn cell(
        mut self,
        row: usize,
        column: usize,
        text: impl Into<String>,
        class: &str,
    ) -> CellGrid {
        let class = if class.is_empty() {
            None
        } else {
            Some(
                self.class_names
                    .iter()
                    .position(|c| c == class)
                    .unwrap_or(usize::MAX),
            )
        };
        self.spec.cells.insert(
            (row, column),
            Cell {
                text: text.into(),
                class,
                bold: false,
                highlight: false,
            },
        );
        self
    }

    /// Outlines a cell in red; `meaning` goes in the key.
    pub fn highlight(mut self, row: usize, column: usize, meaning: impl Into<String>) -> CellGrid {
        if let Some(cell) = self.spec.cells.get_mut(&(row, column)) {
            cell.highlight = true;
        }
        self.spec.highlight_key = Some(meaning.into());
        self
    }

    fn check(&self) -> Result<(), FigureError> {
        for (&(r, c), cell) in &self.spec.cells {
            if r >= self.spec.rows.len() || c >= self.spec.columns.len() {
                return Err(FigureError(format!(
                    "cell ({r}, {c}) is outside the {} × {} grid",
                    self.spec.rows.len(),
                    self.spec.columns.len()
                )));
            }
            if cell.class == Some(usize::MAX) {
                return Err(FigureError(format!(
                    "cell ({r}, {c}) names a class that was not declared; declared: {}",
                    self.class_names.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The grid in pixels, with its title and key.
    pub fn scene(&self) -> Result<Scene, FigureError> {
        self.check()?;
        self.spec.scene()
    }

    pub fn figure(&self) -> Result<Figure, FigureError> {
        self.scene()?.figure()
    }

    /// evcxr's display hook.
    pub fn evcxr_display(&self) {
        super::show(self.figure());
    }
}

/// Where an entry of a replicated log stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// Accepted (appended) by this replica; not known to be chosen.
    Accepted,
    /// Chosen (committed): a quorum accepted it; it can never change.
    Chosen,
}

/// One entry of one replica's log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    /// The log index (slot), from 1.
    pub index: u64,
    /// The term (Raft) or ballot (Paxos) it was accepted in.
    pub term: u64,
    /// The command, as the lesson writes it: `SET x=1`, `no-op`.
    pub command: String,
    pub state: EntryState,
}

impl LogEntry {
    pub fn new(index: u64, term: u64, command: impl Into<String>, state: EntryState) -> LogEntry {
        LogEntry {
            index,
            term,
            command: command.into(),
            state,
        }
    }
}

/// The replicated log of Multi-Paxos or Raft: a row per replica, a column per log index, each
/// entry with its term (or ballot) and command, light while only accepted and solid once
/// chosen; each replica's commit index as a bar after its last chosen entry.
///
/// ```
/// use patterns::viz::{EntryState::*, LogEntry, LogGrid};
/// let grid = LogGrid::new("Raft's Figure 8: an entry of term 2 is overwritten")
///     .replica("s1", [LogEntry::new(1, 1, "x←1", Chosen), LogEntry::new(2, 2, "y←2", Accepted)])
///     .replica("s5", [LogEntry::new(1, 1, "x←1", Chosen), LogEntry::new(2, 3, "y←3", Accepted)])
///     .commit_index("s1", 1)
///     .highlight("s1", 2);
/// let scene = grid.scene().unwrap();
/// assert!(scene.problems().is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct LogGrid {
    title: String,
    term_word: String,
    replicas: Vec<(String, Vec<LogEntry>)>,
    commit: Vec<(String, u64)>,
    highlights: Vec<(String, u64)>,
}

impl LogGrid {
    /// An empty log grid; the title says what the logs show.
    pub fn new(title: impl Into<String>) -> LogGrid {
        LogGrid {
            title: title.into(),
            term_word: "term".into(),
            replicas: Vec::new(),
            commit: Vec::new(),
            highlights: Vec::new(),
        }
    }

    /// What the number on an entry is called: `"term"` (Raft, the default) or `"ballot"`.
    pub fn term_word(mut self, word: impl Into<String>) -> LogGrid {
        self.term_word = word.into();
        self
    }

    /// A replica's log, one row, in the order replicas are added.
    pub fn replica(
        mut self,
        name: impl Into<String>,
        entries: impl IntoIterator<Item = LogEntry>,
    ) -> LogGrid {
        self.replicas
            .push((name.into(), entries.into_iter().collect()));
        self
    }

    /// The replica's commit index: a bar after that entry.
    pub fn commit_index(mut self, replica: &str, index: u64) -> LogGrid {
        self.commit.push((replica.to_string(), index));
        self
    }

    /// Outlines one entry in red (an entry about to be overwritten, the one a bug loses).
    pub fn highlight(mut self, replica: &str, index: u64) -> LogGrid {
        self.highlights.push((replica.to_string(), index));
        self
    }

    fn spec(&self) -> Result<GridSpec, FigureError> {
        let last = self
            .replicas
            .iter()
            .flat_map(|(_, e)| e.iter().map(|e| e.index))
            .chain(self.commit.iter().map(|(_, i)| *i))
            .max()
            .unwrap_or(0);
        if self.replicas.is_empty() || last == 0 {
            return Err(FigureError(
                "a log grid needs a replica with an entry".into(),
            ));
        }
        let row_of = |name: &str| -> Result<usize, FigureError> {
            self.replicas
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| FigureError(format!("no replica named {name} in the grid")))
        };
        let short = self.term_word.chars().next().unwrap_or('t');
        let mut spec = GridSpec {
            title: self.title.clone(),
            row_heading: "replica".into(),
            column_heading: "log index".into(),
            rows: self.replicas.iter().map(|(n, _)| n.clone()).collect(),
            columns: (1..=last).map(|i| i.to_string()).collect(),
            classes: vec![
                (
                    "accepted, not yet chosen".into(),
                    BLUE.tint(0.85),
                    Some(BLUE),
                ),
                ("chosen (committed)".into(), GREEN.tint(0.55), None),
            ],
            marker_key: Some("commit index".into()),
            highlight_key: Some("highlighted entry".into()),
            notes: vec![KeyEntry::new(
                Swatch::Glyph {
                    text: format!("{short}3"),
                    color: INK,
                },
                format!("{} 3", self.term_word),
            )],
            ..GridSpec::default()
        };
        for (r, (_, entries)) in self.replicas.iter().enumerate() {
            for e in entries {
                if e.index == 0 {
                    return Err(FigureError("log indexes start at 1".into()));
                }
                spec.cells.insert(
                    (r, (e.index - 1) as usize),
                    Cell {
                        text: format!("{short}{} {}", e.term, e.command),
                        class: Some(match e.state {
                            EntryState::Accepted => 0,
                            EntryState::Chosen => 1,
                        }),
                        bold: false,
                        highlight: false,
                    },
                );
            }
        }
        for (name, index) in &self.highlights {
            let r = row_of(name)?;
            match spec.cells.get_mut(&(r, index.saturating_sub(1) as usize)) {
                Some(cell) => cell.highlight = true,
                None => {
                    return Err(FigureError(format!("{name} has no entry at index {index}")));
                }
            }
        }
        for (name, index) in &self.commit {
            let r = row_of(name)?;
            if *index > 0 {
                spec.markers.push(RowMarker {
                    row: r,
                    column: (*index - 1) as usize,
                    label: format!("commit {index}"),
                });
            }
        }
        Ok(spec)
    }

    /// The grid in pixels, with its title and key.
    pub fn scene(&self) -> Result<Scene, FigureError> {
        self.spec()?.scene()
    }

    pub fn figure(&self) -> Result<Figure, FigureError> {
        self.scene()?.figure()
    }

    /// evcxr's display hook.
    pub fn evcxr_display(&self) {
        super::show(self.figure());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_reads_at_a_glance(scene: &Scene) {
        scene.verify().unwrap();
    }

    fn quorum_grid(n: usize) -> CellGrid {
        let mut grid = CellGrid::new(format!("Stale reads (%) by R and W, N = {n}"))
            .rows("R", (1..=n).map(|r| r.to_string()))
            .columns("W", (1..=n).map(|w| w.to_string()))
            .class(
                "overlap",
                "R + W > N: every read quorum meets every write quorum",
                GREEN.tint(0.55),
            )
            .class(
                "miss",
                "R + W ≤ N: a read may miss the last write",
                RED.tint(0.75),
            );
        for r in 1..=n {
            for w in 1..=n {
                let class = if r + w > n { "overlap" } else { "miss" };
                grid = grid.cell(
                    r - 1,
                    w - 1,
                    format!("{:.1}", (n as f64 - (r + w) as f64).max(0.0) * 7.3),
                    class,
                );
            }
        }
        grid
    }

    #[test]
    fn an_r_by_w_grid_shades_the_overlapping_quorums_and_keys_both_shades() {
        let scene = quorum_grid(3).scene().unwrap();
        assert_reads_at_a_glance(&scene);
        let texts: Vec<&str> = scene.labels.iter().map(|l| l.text.as_str()).collect();
        assert!(texts.contains(&"R + W > N: every read quorum meets every write quorum"));
        assert!(texts.contains(&"R + W ≤ N: a read may miss the last write"));
        // Cells on dark fills are written in a colour that reads on them.
        for l in scene.labels.iter().filter(|l| l.background != WHITE) {
            assert!(l.color.contrast(l.background) >= 4.5, "{l:?}");
        }
        assert_reads_at_a_glance(&quorum_grid(5).scene().unwrap());
    }

    #[test]
    fn bad_cells_are_errors_that_say_what_is_wrong() {
        let e = quorum_grid(3)
            .cell(7, 0, "x", "overlap")
            .figure()
            .unwrap_err();
        assert!(e.to_string().contains("outside the 3 × 3 grid"), "{e}");
        let e = quorum_grid(3).cell(0, 0, "x", "typo").figure().unwrap_err();
        assert!(e.to_string().contains("declared: overlap, miss"), "{e}");
        assert!(CellGrid::new("empty").figure().is_err());
    }

    fn figure_8() -> LogGrid {
        use EntryState::*;
        LogGrid::new("Raft Figure 8 (d): s5 overwrites index 2 of term 2")
            .replica(
                "s1",
                [
                    LogEntry::new(1, 1, "x←1", Chosen),
                    LogEntry::new(2, 2, "y←2", Accepted),
                    LogEntry::new(3, 4, "z←4", Accepted),
                ],
            )
            .replica(
                "s2",
                [
                    LogEntry::new(1, 1, "x←1", Chosen),
                    LogEntry::new(2, 2, "y←2", Accepted),
                ],
            )
            .replica(
                "s3",
                [
                    LogEntry::new(1, 1, "x←1", Chosen),
                    LogEntry::new(2, 2, "y←2", Accepted),
                ],
            )
            .replica("s4", [LogEntry::new(1, 1, "x←1", Chosen)])
            .replica(
                "s5",
                [
                    LogEntry::new(1, 1, "x←1", Chosen),
                    LogEntry::new(2, 3, "a long command that has to wrap", Accepted),
                ],
            )
            .commit_index("s1", 1)
            .commit_index("s5", 1)
            .highlight("s2", 2)
    }

    #[test]
    fn a_log_grid_shows_terms_states_commit_indexes_and_highlights() {
        let scene = figure_8().scene().unwrap();
        assert_reads_at_a_glance(&scene);
        let texts: Vec<&str> = scene.labels.iter().map(|l| l.text.as_str()).collect();
        for t in [
            "accepted, not yet chosen",
            "chosen (committed)",
            "commit index",
            "highlighted entry",
            "commit 1",
            "t2 y←2",
            "term 3",
        ] {
            assert!(texts.contains(&t), "{t}: {texts:?}");
        }
        // Nothing is cut: the long command is all there, over several lines.
        let all: String = texts.join(" ");
        for word in ["a", "long", "command", "that", "has", "to", "wrap"] {
            assert!(all.contains(word));
        }
        // Column headings are the log indexes 1, 2, 3: whole numbers.
        for i in ["1", "2", "3"] {
            assert!(texts.contains(&i));
        }
        let ballots = figure_8().term_word("ballot").scene().unwrap();
        assert!(ballots.labels.iter().any(|l| l.text == "b2 y←2"));
    }

    #[test]
    fn a_log_grid_refuses_what_it_cannot_draw() {
        assert!(LogGrid::new("empty").figure().is_err());
        let e = figure_8().commit_index("s9", 1).figure().unwrap_err();
        assert!(e.to_string().contains("no replica named s9"));
        let e = figure_8().highlight("s4", 2).figure().unwrap_err();
        assert!(e.to_string().contains("s4 has no entry at index 2"));
    }
}
