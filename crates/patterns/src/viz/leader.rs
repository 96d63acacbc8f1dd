//! Who led, when: a row per node across time, each stretch coloured by the node's role
//! (follower, candidate, leader, down) and labelled with its term where the label fits. Elections,
//! split votes and a deposed leader read at a glance; Day 2's election lessons draw it from the
//! role changes their nodes report.
//!
//! The layout ([`LeaderChart::scene`]) is pure and unit-tested; labels sit inside their own
//! stretch or not at all, so they never collide, and the time axis has whole-number ticks.

use super::axis::{Axis, Scale, draw_x_axis};
use super::scene::{Anchor, KeyEntry, Label, Scene, Shape, Swatch, Title};
use super::style::{BLUE, GREEN, INK, ORANGE, Rgb, TEXT_PX};
use super::text::{Rect, text_width};
use super::{Figure, FigureError};
use crate::node::Tick;

/// What a node is doing over a stretch of time.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Follower,
    Candidate,
    Leader,
    /// Crashed or paused.
    Down,
}

impl Role {
    fn fill(self) -> Rgb {
        match self {
            Role::Follower => BLUE.tint(0.8),
            Role::Candidate => ORANGE.tint(0.35),
            Role::Leader => GREEN,
            Role::Down => Rgb(150, 150, 150),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
            Role::Down => "down",
        }
    }
}

/// A node's role from `tick` on, in `term` (`None` when down).
#[derive(Clone, Debug, PartialEq)]
struct Change {
    node: usize,
    tick: Tick,
    role: Role,
    term: Option<u64>,
}

/// A stretch of one role, laid out.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleSpan {
    pub node: usize,
    pub from: Tick,
    /// Exclusive.
    pub to: Tick,
    pub role: Role,
    pub term: Option<u64>,
}

/// Leadership over time, built from role changes.
///
/// ```
/// use patterns::viz::{LeaderChart, Role};
/// let chart = LeaderChart::new("athens wins term 2 after a split vote in term 1", 60)
///     .nodes(["athens", "byzantium", "cyrene"])
///     .change("athens", 0, Role::Follower, 0)
///     .change("byzantium", 0, Role::Follower, 0)
///     .change("cyrene", 0, Role::Follower, 0)
///     .change("athens", 10, Role::Candidate, 1)
///     .change("byzantium", 11, Role::Candidate, 1)
///     .change("athens", 25, Role::Candidate, 2)
///     .change("athens", 28, Role::Leader, 2)
///     .change("byzantium", 28, Role::Follower, 2);
/// assert!(chart.scene().unwrap().problems().is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct LeaderChart {
    title: String,
    end: Tick,
    nodes: Vec<String>,
    changes: Vec<Change>,
    unknown: Vec<String>,
}

impl LeaderChart {
    /// An empty chart of ticks `0..end`; the title says what happened.
    pub fn new(title: impl Into<String>, end: Tick) -> LeaderChart {
        LeaderChart {
            title: title.into(),
            end,
            nodes: Vec::new(),
            changes: Vec::new(),
            unknown: Vec::new(),
        }
    }

    /// The nodes, top to bottom.
    pub fn nodes<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> LeaderChart {
        self.nodes = names.into_iter().map(Into::into).collect();
        self
    }

    /// From `tick` on, `node` is a `role` in `term`.
    pub fn change(mut self, node: &str, tick: Tick, role: Role, term: u64) -> LeaderChart {
        self.push(node, tick, role, Some(term));
        self
    }

    /// From `tick` on, `node` is down (until its next change).
    pub fn down(mut self, node: &str, tick: Tick) -> LeaderChart {
        self.push(node, tick, Role::Down, None);
        self
    }

    fn push(&mut self, node: &str, tick: Tick, role: Role, term: Option<u64>) {
        match self.nodes.iter().position(|n| n == node) {
            Some(node) => self.changes.push(Change {
                node,
                tick,
                role,
                term,
            }),
            None => self.unknown.push(node.to_string()),
        }
    }

    /// The stretches of each role, in node then time order: pure, for tests.
    pub fn spans(&self) -> Result<Vec<RoleSpan>, FigureError> {
        if let Some(name) = self.unknown.first() {
            return Err(FigureError(format!(
                "{name} is not one of the chart's nodes ({})",
                self.nodes.join(", ")
            )));
        }
        let mut changes = self.changes.clone();
        // Stable: two changes at one tick keep their order, the later wins.
        changes.sort_by_key(|c| (c.node, c.tick));
        let mut spans = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            let to = changes
                .get(i + 1)
                .filter(|n| n.node == c.node)
                .map_or(self.end, |n| n.tick)
                .min(self.end);
            if to > c.tick {
                spans.push(RoleSpan {
                    node: c.node,
                    from: c.tick,
                    to,
                    role: c.role,
                    term: c.term,
                });
            }
        }
        Ok(spans)
    }

    /// The chart in pixels, with its title and key.
    pub fn scene(&self) -> Result<Scene, FigureError> {
        if self.nodes.is_empty() || self.end == 0 {
            return Err(FigureError(
                "a leader chart needs nodes and a positive end tick".into(),
            ));
        }
        let spans = self.spans()?;
        const ROW: f64 = 30.0;
        const BAR_HALF: f64 = 11.0;
        let name_width = self
            .nodes
            .iter()
            .map(|n| text_width(n, TEXT_PX, true))
            .fold(0.0, f64::max);
        let left = 12.0 + name_width + 12.0;
        let plot_width =
            (super::style::CONTENT_WIDTH_PX - left - 24.0).min((self.end as f64 * 12.0).max(480.0));
        let axis = Axis::new(
            Scale::Linear,
            0.0,
            self.end as f64,
            true,
            plot_width,
            TEXT_PX,
            true,
        );
        // Time runs from 0 to `end` exactly: stretches end on tick boundaries.
        let px = |t: f64| left + t / self.end as f64 * plot_width;
        let top = 6.0;
        let y = |node: usize| top + ROW / 2.0 + node as f64 * ROW;
        let bottom = top + self.nodes.len() as f64 * ROW + 4.0;

        let mut scene = Scene::new();
        for t in axis
            .ticks
            .iter()
            .filter(|t| t.grid && t.value >= 0.0 && t.value <= self.end as f64)
        {
            scene.push(Shape::line(
                vec![(px(t.value), top), (px(t.value), bottom)],
                super::style::GRID,
                1.0,
            ));
        }
        for (i, name) in self.nodes.iter().enumerate() {
            scene.label(
                Label::new(name.clone(), left - 12.0, y(i))
                    .anchor(Anchor::End)
                    .bold()
                    .color(INK),
            );
        }
        let mut used = Vec::new();
        for s in &spans {
            if !used.contains(&s.role) {
                used.push(s.role);
            }
            let fill = s.role.fill();
            let rect = Rect::new(
                px(s.from as f64),
                y(s.node) - BAR_HALF,
                px(s.to as f64) - px(s.from as f64),
                2.0 * BAR_HALF,
            );
            scene.push(Shape::Rect {
                rect,
                fill: Some((fill, 1.0)),
                stroke: Some((super::style::WHITE, 1.0)),
            });
            // The term inside the stretch, as much as fits: "leader, term 3", "t3", nothing.
            let term = s.term.map_or(String::new(), |t| t.to_string());
            let candidates = match s.role {
                Role::Down => vec!["down".to_string()],
                Role::Leader => vec![
                    format!("leader, term {term}"),
                    format!("leader t{term}"),
                    format!("t{term}"),
                ],
                _ => vec![format!("term {term}"), format!("t{term}")],
            };
            if let Some(text) = candidates
                .into_iter()
                .find(|t| text_width(t, TEXT_PX, s.role == Role::Leader) + 6.0 <= rect.width)
            {
                let mut label = Label::new(text, rect.x + rect.width / 2.0, y(s.node))
                    .anchor(Anchor::Middle)
                    .color(fill.text_on())
                    .on(fill);
                if s.role == Role::Leader {
                    label = label.bold();
                }
                scene.label(label);
            }
        }
        let figure_bottom = draw_x_axis(
            &mut scene,
            &axis,
            px,
            (left, left + plot_width),
            bottom,
            "tick",
        );
        scene.width = left + plot_width + 24.0;
        scene.height = figure_bottom + 6.0;
        let key: Vec<KeyEntry> = [Role::Leader, Role::Candidate, Role::Follower, Role::Down]
            .into_iter()
            .filter(|r| used.contains(r))
            .map(|r| {
                KeyEntry::new(
                    Swatch::Fill {
                        color: r.fill(),
                        outline: None,
                    },
                    r.word(),
                )
            })
            .collect();
        Ok(scene.with_header(&Title::new(self.title.clone()), &key))
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

    fn election() -> LeaderChart {
        LeaderChart::new("A split vote in term 1, then athens leads term 2", 80)
            .nodes(["athens", "byzantium", "cyrene"])
            .change("athens", 0, Role::Follower, 0)
            .change("byzantium", 0, Role::Follower, 0)
            .change("cyrene", 0, Role::Follower, 0)
            .change("athens", 10, Role::Candidate, 1)
            .change("byzantium", 11, Role::Candidate, 1)
            .change("cyrene", 12, Role::Follower, 1)
            .change("athens", 25, Role::Candidate, 2)
            .change("athens", 27, Role::Leader, 2)
            .change("byzantium", 27, Role::Follower, 2)
            .change("cyrene", 27, Role::Follower, 2)
            .down("athens", 60)
            .change("cyrene", 70, Role::Leader, 3)
    }

    #[test]
    fn spans_run_from_each_change_to_the_next() {
        let spans = election().spans().unwrap();
        let athens: Vec<(Tick, Tick, Role)> = spans
            .iter()
            .filter(|s| s.node == 0)
            .map(|s| (s.from, s.to, s.role))
            .collect();
        assert_eq!(
            athens,
            [
                (0, 10, Role::Follower),
                (10, 25, Role::Candidate),
                (25, 27, Role::Candidate),
                (27, 60, Role::Leader),
                (60, 80, Role::Down)
            ]
        );
        let e = election()
            .change("delphi", 3, Role::Leader, 1)
            .spans()
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("delphi is not one of the chart's nodes")
        );
    }

    #[test]
    fn the_chart_reads_at_a_glance() {
        let scene = election().scene().unwrap();
        scene.verify().unwrap();
        let texts: Vec<&str> = scene.labels.iter().map(|l| l.text.as_str()).collect();
        for t in ["leader, term 2", "leader", "candidate", "follower", "down"] {
            assert!(texts.contains(&t), "{t}: {texts:?}");
        }
        // Ticks are whole numbers.
        for v in texts.iter().filter_map(|t| t.parse::<f64>().ok()) {
            assert_eq!(v, v.round());
        }
        // Every label on a stretch lies inside that stretch.
        for l in scene
            .labels
            .iter()
            .filter(|l| l.background != crate::viz::style::WHITE)
        {
            let b = l.bbox();
            let inside = scene.shapes.iter().any(|s| match s {
                Shape::Rect {
                    rect,
                    fill: Some((fill, _)),
                    ..
                } => {
                    *fill == l.background
                        && rect.x <= b.x
                        && b.right() <= rect.right()
                        && rect.y <= b.y + 1.0
                        && b.bottom() <= rect.bottom() + 1.0
                }
                _ => false,
            });
            assert!(inside, "{l:?}");
        }
    }
}
