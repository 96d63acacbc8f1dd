//! Line and scatter charts of measured or computed series: the one way lessons draw x/y plots.

use super::{Figure, FigureError};
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

/// How an axis maps values.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Equal steps for equal differences.
    Linear,
    /// Logarithmic; every value on the axis must be positive.
    Log,
}

#[derive(Clone, Debug)]
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    line: bool,
}

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

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

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

    /// The drawing's size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Chart {
        self.size = (width, height);
        self
    }

    /// A series drawn as a line through its points.
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

    fn range(
        &self,
        axis: impl Fn(&(f64, f64)) -> f64,
        scale: Scale,
    ) -> Result<(f64, f64), FigureError> {
        let values: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(&axis))
            .filter(|v| v.is_finite())
            .collect();
        if values.is_empty() {
            return Err(FigureError("the chart has no finite points".into()));
        }
        if scale == Scale::Log && values.iter().any(|v| *v <= 0.0) {
            return Err(FigureError(
                "a logarithmic axis needs positive values".into(),
            ));
        }
        let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        Ok(match scale {
            Scale::Linear => {
                let pad = if hi > lo { (hi - lo) * 0.05 } else { 1.0 };
                (
                    if lo >= 0.0 && lo - pad < 0.0 {
                        0.0
                    } else {
                        lo - pad
                    },
                    hi + pad,
                )
            }
            Scale::Log => (lo / 1.5, hi * 1.5),
        })
    }

    /// Draws the chart.
    pub fn figure(&self) -> Result<Figure, FigureError> {
        let x = self.range(|p| p.0, self.x_scale)?;
        let y = self.range(|p| p.1, self.y_scale)?;
        let (width, height) = self.size;
        Figure::draw(width, height, |root| {
            let mut builder = ChartBuilder::on(root);
            builder
                .caption(&self.title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60);
            match (self.x_scale, self.y_scale) {
                (Scale::Linear, Scale::Linear) => {
                    self.draw_on(builder.build_cartesian_2d(x.0..x.1, y.0..y.1)?)
                }
                (Scale::Linear, Scale::Log) => {
                    self.draw_on(builder.build_cartesian_2d(x.0..x.1, (y.0..y.1).log_scale())?)
                }
                (Scale::Log, Scale::Linear) => {
                    self.draw_on(builder.build_cartesian_2d((x.0..x.1).log_scale(), y.0..y.1)?)
                }
                (Scale::Log, Scale::Log) => self.draw_on(
                    builder.build_cartesian_2d((x.0..x.1).log_scale(), (y.0..y.1).log_scale())?,
                ),
            }
        })
    }

    fn draw_on<'a, X, Y>(
        &self,
        mut chart: ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    ) -> Result<(), Box<dyn std::error::Error>>
    where
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .draw()?;
        for (i, s) in self.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .collect();
            if s.line {
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                    .label(&s.name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
            } else {
                chart
                    .draw_series(
                        points
                            .into_iter()
                            .map(|p| Circle::new(p, 3, color.filled())),
                    )?
                    .label(&s.name)
                    .legend(move |(x, y)| Circle::new((x + 9, y), 3, color.filled()));
            }
        }
        if self.series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_series_and_rejects_nonpositive_log_values() {
        let chart = Chart::new("t")
            .line("a", [(0.0, 1.0), (1.0, 2.0)])
            .points("b", [(0.5, 1.5)]);
        let svg = chart.figure().unwrap().svg().to_string();
        assert!(svg.starts_with("<svg"));
        let texts: Vec<&str> = svg
            .split("</text>")
            .filter_map(|t| t.rsplit('>').next())
            .map(str::trim)
            .collect();
        assert!(
            texts.contains(&"a") && texts.contains(&"b"),
            "the legend names both series: {texts:?}"
        );
        let log = Chart::new("t")
            .y_scale(Scale::Log)
            .line("a", [(0.0, 0.0), (1.0, 1.0)]);
        assert!(log.figure().is_err());
        assert!(Chart::new("empty").figure().is_err());
    }
}
