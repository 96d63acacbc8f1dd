//! Line and scatter charts of measured or computed series: the one way lessons draw x/y plots.
//!
//! The layout ([`Chart::layout`]) is a pure function to a [`Scene`]: axes from [`Axis`] (1-2-5
//! ticks, whole numbers on whole-number axes, one grid line per decade on log axes, `10k` rather
//! than `10000.0`), the key above the plot where it cannot cover data, and markers wherever the
//! points are measurements. A line joins points only where values between them mean something:
//! on a whole-number x axis (replicas, R, W) a series is drawn as markers alone, since a line
//! through R = 1 and R = 2 would claim an R = 1.5.

use super::axis::{Axis, Scale, draw_x_axis};
use super::scene::{Anchor, KeyEntry, Label, Marker, Scene, Shape, Swatch, Title};
use super::style::{GRID, HEADING_PX, INK, MUTED, PALETTE, RULE, TEXT_PX};
use super::text::{LINE_HEIGHT, Rect, text_width};
use super::{Figure, FigureError};

#[derive(Clone, Debug)]
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    line: bool,
}

/// A line with at most this many points is a set of measurements: its points get markers.
const MARKED_POINTS_MAX: usize = 25;

/// A chart of named series, built step by step and drawn with [`Chart::figure`].
///
/// ```
/// use patterns::viz::Chart;
/// let fig = Chart::new("Response time")
///     .x_label("utilization")
///     .y_label("ms")
///     .line("M/M/1", (1..10).map(|i| { let u = i as f64 / 10.0; (u, 0.057 / (1.0 - u)) }))
///     .figure()
///     .unwrap();
/// assert!(fig.svg().contains("<svg"));
/// ```
#[derive(Clone, Debug)]
pub struct Chart {
    title: String,
    x_label: String,
    y_label: String,
    y_scale: Scale,
    x_scale: Scale,
    size: (u32, u32),
    series: Vec<Series>,
}

impl Chart {
    /// An empty 720 × 400 chart with linear axes; the title states the figure's claim.
    pub fn new(title: impl Into<String>) -> Chart {
        Chart {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            y_scale: Scale::Linear,
            x_scale: Scale::Linear,
            size: (720, 400),
            series: Vec::new(),
        }
    }

    /// The quantity on the x axis, with its unit.
    pub fn x_label(mut self, label: impl Into<String>) -> Chart {
        self.x_label = label.into();
        self
    }

    /// The quantity on the y axis, with its unit.
    pub fn y_label(mut self, label: impl Into<String>) -> Chart {
        self.y_label = label.into();
        self
    }

    /// How the x axis maps values (default linear).
    pub fn x_scale(mut self, scale: Scale) -> Chart {
        self.x_scale = scale;
        self
    }

    /// How the y axis maps values; [`Scale::Log`] for latencies spanning orders of magnitude.
    pub fn y_scale(mut self, scale: Scale) -> Chart {
        self.y_scale = scale;
        self
    }

    /// The size of the plot with its axes, in pixels (the title and key go above it).
    pub fn size(mut self, width: u32, height: u32) -> Chart {
        self.size = (width, height);
        self
    }

    /// A series drawn as a line through its points (with markers when there are few of them).
    pub fn line(
        mut self,
        name: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Chart {
        self.series.push(Series {
            name: name.into(),
            points: points.into_iter().collect(),
            line: true,
        });
        self
    }

    /// A series drawn as separate points (measurements).
    pub fn points(
        mut self,
        name: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Chart {
        self.series.push(Series {
            name: name.into(),
            points: points.into_iter().collect(),
            line: false,
        });
        self
    }

    fn finite(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    }

    fn range(
        &self,
        axis: impl Fn((f64, f64)) -> f64,
        scale: Scale,
    ) -> Result<(f64, f64), FigureError> {
        let values: Vec<f64> = self.finite().map(axis).collect();
        if values.is_empty() {
            return Err(FigureError("the chart has no finite points".into()));
        }
        if scale == Scale::Log && values.iter().any(|v| *v <= 0.0) {
            return Err(FigureError(
                "a logarithmic axis needs positive values".into(),
            ));
        }
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Ok((lo, hi))
    }

    /// Whether every value on an axis is a whole number (and there are not too many of them to
    /// mark): replicas, R, W, batch sizes.
    fn is_integer(&self, axis: impl Fn((f64, f64)) -> f64) -> bool {
        let mut values: Vec<f64> = self.finite().map(axis).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        !values.is_empty() && values.len() <= 60 && values.iter().all(|v| v.fract() == 0.0)
    }

    /// How a series is drawn: markers, a line, or both.
    fn drawing(&self, series: &Series, x_integer: bool) -> (bool, bool) {
        if !series.line {
            return (false, true);
        }
        if x_integer && self.x_scale == Scale::Linear {
            return (false, true);
        }
        (true, series.points.len() <= MARKED_POINTS_MAX)
    }

    /// Lays the chart out: pure, so tests can check ticks, labels and where the key goes.
    pub fn layout(&self) -> Result<Scene, FigureError> {
        let (x_lo, x_hi) = self.range(|p| p.0, self.x_scale)?;
        let (y_lo, y_hi) = self.range(|p| p.1, self.y_scale)?;
        let x_integer = self.is_integer(|p| p.0);
        let y_integer = self.is_integer(|p| p.1)
            && self
                .series
                .iter()
                .all(|s| !s.line || s.points.len() <= MARKED_POINTS_MAX);
        let (width, height) = (f64::from(self.size.0), f64::from(self.size.1));

        // The y axis first (its labels' width sets the left margin), then the x axis.
        let bottom_room = TEXT_PX * LINE_HEIGHT + 10.0 + HEADING_PX * LINE_HEIGHT + 6.0;
        let plot_height = (height - bottom_room - 8.0).max(80.0);
        let y_axis = Axis::new(
            self.y_scale,
            y_lo,
            y_hi,
            y_integer,
            plot_height,
            TEXT_PX,
            false,
        );
        let y_label_width = y_axis
            .ticks
            .iter()
            .map(|t| text_width(&t.label, TEXT_PX, false))
            .fold(0.0, f64::max);
        let left = 8.0 + HEADING_PX * LINE_HEIGHT + 8.0 + y_label_width + 8.0;
        let plot_width = (width - left - 16.0).max(120.0);
        let x_axis = Axis::new(
            self.x_scale,
            x_lo,
            x_hi,
            x_integer,
            plot_width,
            TEXT_PX,
            true,
        );
        let plot = Rect::new(left, 8.0, plot_width, plot_height);
        let px = |x: f64| plot.x + x_axis.fraction(x) * plot.width;
        let py = |y: f64| plot.bottom() - y_axis.fraction(y) * plot.height;

        let mut scene = Scene::new();
        // Grid, then the frame, then ticks and their labels.
        for t in x_axis.ticks.iter().filter(|t| t.grid) {
            scene.push(Shape::line(
                vec![(px(t.value), plot.y), (px(t.value), plot.bottom())],
                GRID,
                1.0,
            ));
        }
        for t in y_axis.ticks.iter().filter(|t| t.grid) {
            scene.push(Shape::line(
                vec![(plot.x, py(t.value)), (plot.right(), py(t.value))],
                GRID,
                1.0,
            ));
        }
        scene.push(Shape::line(
            vec![
                (plot.x, plot.y),
                (plot.x, plot.bottom()),
                (plot.right(), plot.bottom()),
            ],
            RULE,
            1.0,
        ));
        for t in &y_axis.ticks {
            let y = py(t.value);
            let len = if t.label.is_empty() { 3.0 } else { 5.0 };
            scene.push(Shape::line(vec![(plot.x - len, y), (plot.x, y)], RULE, 1.0));
            if !t.label.is_empty() {
                scene.label(
                    Label::new(t.label.clone(), plot.x - 7.0, y)
                        .anchor(Anchor::End)
                        .color(MUTED),
                );
            }
        }
        draw_x_axis(
            &mut scene,
            &x_axis,
            px,
            (plot.x, plot.right()),
            plot.bottom(),
            &self.x_label,
        );
        if !self.y_label.is_empty() {
            scene.label(
                Label::new(
                    self.y_label.clone(),
                    8.0 + HEADING_PX * LINE_HEIGHT / 2.0,
                    plot.y + plot.height / 2.0,
                )
                .anchor(Anchor::Middle)
                .size(HEADING_PX)
                .color(INK)
                .vertical(),
            );
        }

        // Series, and a key entry for each.
        let mut key = Vec::new();
        for (i, series) in self.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let marker = Marker::ALL[i % Marker::ALL.len()];
            let (line, markers) = self.drawing(series, x_integer);
            let points: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(x, y)| (px(x), py(y)))
                .collect();
            if line && points.len() > 1 {
                scene.push(Shape::line(points.clone(), color, 2.0));
            }
            if markers {
                for p in &points {
                    scene.push(marker.shape(*p, 4.0, color));
                }
            }
            let swatch = match (line, markers) {
                (true, true) => Swatch::LineMarker {
                    color,
                    shape: marker,
                },
                (true, false) => Swatch::Line {
                    color,
                    dashed: false,
                },
                _ => Swatch::Marker {
                    color,
                    shape: marker,
                },
            };
            key.push(KeyEntry::new(swatch, series.name.clone()));
        }
        scene.width = width;
        scene.height = height;
        Ok(scene.with_header(&Title::new(self.title.clone()), &key))
    }

    /// Draws the chart.
    pub fn figure(&self) -> Result<Figure, FigureError> {
        self.layout()?.figure()
    }

    /// evcxr's display hook: the chart inline, or the reason it could not be drawn.
    pub fn evcxr_display(&self) {
        super::show(self.figure());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(scene: &Scene) -> Vec<&str> {
        scene.labels.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn draws_every_series_and_rejects_nonpositive_log_values() {
        let chart = Chart::new("t")
            .line("a", [(0.0, 1.0), (1.0, 2.0)])
            .points("b", [(0.5, 1.5)]);
        let svg = chart.figure().unwrap().svg().to_string();
        assert!(svg.starts_with("<svg"));
        let scene = chart.layout().unwrap();
        assert!(
            texts(&scene).contains(&"a") && texts(&scene).contains(&"b"),
            "the key names both series"
        );
        let log = Chart::new("t")
            .y_scale(Scale::Log)
            .line("a", [(0.0, 0.0), (1.0, 1.0)]);
        assert!(log.figure().is_err());
        assert!(Chart::new("empty").figure().is_err());
    }

    fn replicas_chart() -> Chart {
        Chart::new("Unavailability against replication factor")
            .x_label("replicas n")
            .y_label("minutes unavailable per year")
            .y_scale(Scale::Log)
            .line(
                "a majority must answer",
                (1..=9).map(|n| (n as f64, 5256.0 / (n * n * n) as f64)),
            )
            .line(
                "all n must answer",
                (1..=9).map(|n| (n as f64, 5256.0 * n as f64)),
            )
    }

    #[test]
    fn a_whole_number_axis_has_whole_number_ticks_and_markers_not_lines() {
        let chart = replicas_chart();
        let scene = chart.layout().unwrap();
        assert!(
            scene.problems().is_empty(),
            "{}",
            scene.describe(&scene.problems())
        );
        // The x tick labels are 1..9, nothing in between.
        let x_ticks: Vec<&str> = scene
            .labels
            .iter()
            .filter(|l| l.anchor == Anchor::Middle && !l.vertical && l.size == TEXT_PX)
            .map(|l| l.text.as_str())
            .filter(|t| t.parse::<f64>().is_ok())
            .collect();
        assert_eq!(x_ticks, ["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        // No polyline joins the points: markers only.
        let lines_with_many_points = scene
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Line { points, .. } if points.len() > 3))
            .count();
        assert_eq!(lines_with_many_points, 0);
        // y: thousands read "1k", "10k" and so on, never "10000.0".
        assert!(texts(&scene).contains(&"10k"), "{:?}", texts(&scene));
        assert!(!texts(&scene).iter().any(|t| t.contains(".0")));
    }

    #[test]
    fn the_key_sits_above_the_plot_and_text_is_never_small() {
        let chart = Chart::new("Response time grows without bound as a server fills up")
            .x_label("utilization")
            .y_label("ms")
            .line(
                "2 ms per request",
                (0..95).map(|i| (i as f64 / 100.0, 2.0 / (1.0 - i as f64 / 100.0))),
            )
            .line(
                "5 ms per request",
                (0..95).map(|i| (i as f64 / 100.0, 5.0 / (1.0 - i as f64 / 100.0))),
            );
        let scene = chart.layout().unwrap();
        assert!(
            scene.problems().is_empty(),
            "{}",
            scene.describe(&scene.problems())
        );
        assert!(scene.smallest_text_px() >= super::super::style::TEXT_MIN_PX);
        let key = scene
            .labels
            .iter()
            .find(|l| l.text == "5 ms per request")
            .unwrap();
        let frame_top = scene
            .shapes
            .iter()
            .find_map(|s| match s {
                Shape::Line { points, color, .. } if *color == RULE && points.len() == 3 => {
                    Some(points[0].1)
                }
                _ => None,
            })
            .unwrap();
        assert!(
            key.bbox().bottom() < frame_top,
            "the key is outside the plot area"
        );
        // Curves with many points are lines without markers.
        assert!(
            !scene
                .shapes
                .iter()
                .any(|s| matches!(s, Shape::Circle { .. }))
        );
    }

    #[test]
    fn a_few_measured_points_on_a_line_get_markers() {
        let chart = Chart::new("Group commit")
            .x_scale(Scale::Log)
            .y_scale(Scale::Log)
            .line(
                "log",
                [
                    (1.0, 300.0),
                    (10.0, 3_000.0),
                    (100.0, 25_000.0),
                    (1_000.0, 150_000.0),
                ],
            );
        let scene = chart.layout().unwrap();
        // Four on the line, one in its key entry.
        assert_eq!(
            scene
                .shapes
                .iter()
                .filter(|s| matches!(s, Shape::Circle { .. }))
                .count(),
            5
        );
        assert!(
            scene.problems().is_empty(),
            "{}",
            scene.describe(&scene.problems())
        );
        assert!(texts(&scene).contains(&"100k"));
    }
}
