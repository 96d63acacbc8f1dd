//! Axes that read at a glance: ticks at 1-2-5 steps, whole numbers on whole-number axes, one grid
//! line per decade on a logarithmic axis, and labels like `10k` rather than `10000.0`.

use super::scene::{Anchor, Label, Scene, Shape};
use super::style::{HEADING_PX, INK, MUTED, RULE, TEXT_PX};
use super::text::{LINE_HEIGHT, text_width};

/// How an axis maps values.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Equal steps for equal differences.
    Linear,
    /// Logarithmic; every value on the axis must be positive.
    Log,
}

/// One tick of an axis.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisTick {
    pub value: f64,
    /// Empty for an unlabelled tick mark.
    pub label: String,
    /// Whether a grid line runs across the plot here.
    pub grid: bool,
}

/// An axis: the range it shows and its ticks.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub scale: Scale,
    pub min: f64,
    pub max: f64,
    /// Whole numbers only: no tick between two integers.
    pub integer: bool,
    pub ticks: Vec<AxisTick>,
}

impl Axis {
    /// An axis over data spanning `lo..=hi`, `length_px` long. Ticks are spaced so that their
    /// labels (at `text_px`) never touch: `along` is true for an axis whose labels sit side by
    /// side (the x axis), false for labels stacked one above the other (the y axis).
    pub fn new(
        scale: Scale,
        lo: f64,
        hi: f64,
        integer: bool,
        length_px: f64,
        text_px: f64,
        along: bool,
    ) -> Axis {
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        match scale {
            Scale::Linear => linear_axis(lo, hi, integer, length_px, text_px, along),
            Scale::Log => log_axis(lo, hi, integer, length_px, text_px, along),
        }
    }

    /// Where `value` falls along the axis, from 0 (min) to 1 (max).
    pub fn fraction(&self, value: f64) -> f64 {
        match self.scale {
            Scale::Linear => (value - self.min) / (self.max - self.min),
            Scale::Log => (value.ln() - self.min.ln()) / (self.max.ln() - self.min.ln()),
        }
    }

    /// The labelled ticks' values.
    pub fn labelled(&self) -> impl Iterator<Item = f64> + '_ {
        self.ticks
            .iter()
            .filter(|t| !t.label.is_empty())
            .map(|t| t.value)
    }
}

/// Draws a horizontal axis at `y` from `left` to `right`: its line, a mark at each tick that
/// falls on it (`x` maps a value to pixels, a longer mark for a labelled tick), the labels under
/// the marks and `title` under them. Returns the y just below the title, where the figure may end.
pub(crate) fn draw_x_axis(
    scene: &mut Scene,
    axis: &Axis,
    x: impl Fn(f64) -> f64,
    (left, right): (f64, f64),
    y: f64,
    title: &str,
) -> f64 {
    let line = TEXT_PX * LINE_HEIGHT;
    scene.push(Shape::line(vec![(left, y), (right, y)], RULE, 1.0));
    for t in &axis.ticks {
        let at = x(t.value);
        if at < left - 0.5 || at > right + 0.5 {
            continue;
        }
        let len = if t.label.is_empty() { 3.0 } else { 5.0 };
        scene.push(Shape::line(vec![(at, y), (at, y + len)], RULE, 1.0));
        if !t.label.is_empty() {
            scene.label(
                Label::new(t.label.clone(), at, y + 6.0 + line / 2.0)
                    .anchor(Anchor::Middle)
                    .color(MUTED),
            );
        }
    }
    let title_y = y + 6.0 + line + 6.0 + HEADING_PX * LINE_HEIGHT / 2.0;
    if !title.is_empty() {
        scene.label(
            Label::new(title, (left + right) / 2.0, title_y)
                .anchor(Anchor::Middle)
                .size(HEADING_PX)
                .color(INK),
        );
    }
    title_y + HEADING_PX * LINE_HEIGHT / 2.0
}

/// The room a label needs along its axis.
fn label_extent(label: &str, text_px: f64, along: bool) -> f64 {
    if along {
        text_width(label, text_px, false) + text_px
    } else {
        text_px * 2.2
    }
}

fn linear_axis(lo: f64, hi: f64, integer: bool, length_px: f64, text_px: f64, along: bool) -> Axis {
    let span = if hi > lo {
        hi - lo
    } else if integer {
        2.0
    } else {
        lo.abs().max(1.0)
    };
    // Try steps from fine to coarse; keep the finest whose labels fit.
    let mut candidates: Vec<f64> = Vec::new();
    let base = 10f64.powf((span / 20.0).log10().floor());
    for decade in 0..6 {
        for m in [1.0, 2.0, 5.0] {
            let step = m * base * 10f64.powi(decade);
            if !integer || step >= 1.0 {
                candidates.push(step);
            }
        }
    }
    if integer && candidates.first() != Some(&1.0) && span <= 20.0 {
        candidates.insert(0, 1.0);
    }
    for step in candidates {
        let (min, max) = if integer && step == 1.0 {
            // Whole-number data: half a step of room either side, so no marker sits on the frame.
            (lo - 0.5, if hi > lo { hi + 0.5 } else { lo + 0.5 })
        } else {
            let pad = span * 0.04;
            let min = if lo >= 0.0 && lo - pad < 0.0 && lo > 0.0 {
                0.0
            } else if lo == 0.0 {
                -pad
            } else {
                ((lo - pad) / step).floor() * step
            };
            let max = ((hi + pad) / step).ceil() * step;
            (min, if max > min { max } else { min + step })
        };
        let first = (min / step).ceil() as i64;
        let last = (max / step).floor() as i64;
        if last - first > 40 {
            continue;
        }
        let values: Vec<f64> = (first..=last).map(|i| i as f64 * step).collect();
        let decimals = decimals_for_step(step);
        let labels: Vec<String> = values.iter().map(|v| format_number(*v, decimals)).collect();
        let widest = labels
            .iter()
            .map(|l| label_extent(l, text_px, along))
            .fold(0.0, f64::max);
        let spacing = length_px * step / (max - min);
        if spacing >= widest || values.len() <= 2 {
            return Axis {
                scale: Scale::Linear,
                min,
                max,
                integer,
                ticks: values
                    .into_iter()
                    .zip(labels)
                    .map(|(value, label)| AxisTick {
                        value,
                        label,
                        grid: true,
                    })
                    .collect(),
            };
        }
    }
    let pad = span * 0.05;
    Axis {
        scale: Scale::Linear,
        min: lo - pad,
        max: hi + pad,
        integer,
        ticks: Vec::new(),
    }
}

fn log_axis(lo: f64, hi: f64, integer: bool, length_px: f64, text_px: f64, along: bool) -> Axis {
    let lo = if lo > 0.0 { lo } else { 1e-9 };
    let hi = hi.max(lo);
    // A little room beyond the data (4 % of its span, at least 5 %), so no marker sits on the
    // frame; ticks fall inside.
    let pad = (hi / lo).powf(0.04).max(1.05);
    let (min, max) = (lo / pad, hi * pad);
    let first_decade = min.log10().floor() as i32;
    let last_decade = max.log10().ceil() as i32;
    let mut all: Vec<(f64, bool)> = Vec::new();
    for d in first_decade..=last_decade {
        for m in [1.0, 2.0, 5.0] {
            let v = round_sig(m * 10f64.powi(d));
            if v >= min * (1.0 - 1e-9) && v <= max * (1.0 + 1e-9) {
                all.push((v, m == 1.0));
            }
        }
    }
    let fraction = |v: f64| (v.ln() - min.ln()) / (max.ln() - min.ln());
    let fits = |values: &[f64]| {
        values.windows(2).all(|w| {
            let room = (fraction(w[1]) - fraction(w[0])) * length_px;
            let need = label_extent(&format_number(w[0], auto_decimals(w[0])), text_px, along).max(
                label_extent(&format_number(w[1], auto_decimals(w[1])), text_px, along),
            );
            room >= need
        })
    };
    let every: Vec<f64> = all.iter().map(|(v, _)| *v).collect();
    let decades: Vec<f64> = all.iter().filter(|(_, d)| *d).map(|(v, _)| *v).collect();
    let labelled: Vec<f64> = if fits(&every) {
        every.clone()
    } else if decades.len() >= 2 && fits(&decades) {
        decades.clone()
    } else if decades.len() >= 2 {
        // Many decades: label every other one, or fewer, until they fit.
        let mut stride = 2;
        loop {
            // Exponents divisible by the stride, so that 1 is among them when it is in range.
            let some: Vec<f64> = decades
                .iter()
                .copied()
                .filter(|d| (d.log10().round() as i64).rem_euclid(stride) == 0)
                .collect();
            if fits(&some) || some.len() <= 2 {
                break some;
            }
            stride += 1;
        }
    } else {
        every.iter().step_by(2).copied().collect()
    };
    // Grid lines once per decade; within less than two decades, at every labelled value.
    let grid_at_labels = decades.len() < 2;
    let ticks = all
        .iter()
        .map(|(v, decade)| {
            let is_labelled = labelled.iter().any(|l| (l - v).abs() <= v * 1e-9);
            AxisTick {
                value: *v,
                label: if is_labelled {
                    format_number(*v, auto_decimals(*v))
                } else {
                    String::new()
                },
                grid: *decade || (grid_at_labels && is_labelled),
            }
        })
        .collect();
    Axis {
        scale: Scale::Log,
        min,
        max,
        integer,
        ticks,
    }
}

/// `v` rounded to 12 significant digits: 2 × 10⁻³ as 0.002, not 0.0020000000000000005.
fn round_sig(v: f64) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(11 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// Decimals that show a step of `step` (and so every tick of an axis with that step) exactly.
fn decimals_for_step(step: f64) -> usize {
    let mut decimals = 0;
    while decimals < 9
        && ((step * 10f64.powi(decimals as i32)).round() - step * 10f64.powi(decimals as i32)).abs()
            > 1e-6
    {
        decimals += 1;
    }
    decimals
}

/// The fewest decimals (at most 6) that show `v` to 3 significant digits.
fn auto_decimals(v: f64) -> usize {
    if v == 0.0 || v.abs() >= 100.0 {
        return 0;
    }
    let digits = 2 - v.abs().log10().floor() as i32;
    let mut d = digits.clamp(0, 6) as usize;
    // Drop trailing zeros: 0.500 → 0.5.
    while d > 0 {
        let scaled = v * 10f64.powi(d as i32 - 1);
        if (scaled - scaled.round()).abs() > 1e-6 {
            break;
        }
        d -= 1;
    }
    d
}

/// A number for an axis label: thousands as `10k`, millions as `2.5M`, otherwise with
/// `decimals` decimals (so that every label of an axis has the same precision).
pub fn format_number(value: f64, decimals: usize) -> String {
    let abs = value.abs();
    let sign = if value < 0.0 { "-" } else { "" };
    let suffixed = |divisor: f64, suffix: &str| {
        let scaled = abs / divisor;
        let d = if (scaled - scaled.round()).abs() < 1e-9 {
            0
        } else if (scaled * 10.0 - (scaled * 10.0).round()).abs() < 1e-9 {
            1
        } else {
            2
        };
        format!("{sign}{scaled:.d$}{suffix}")
    };
    if abs >= 1e9 {
        suffixed(1e9, "G")
    } else if abs >= 1e6 {
        suffixed(1e6, "M")
    } else if abs >= 1e3 {
        suffixed(1e3, "k")
    } else if abs < 0.5 * 10f64.powi(-(decimals as i32)) {
        // Zero (or a rounding of it) with the axis's precision, never "-0".
        format!("{:.decimals$}", 0.0)
    } else {
        format!("{value:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(axis: &Axis) -> Vec<String> {
        axis.ticks
            .iter()
            .filter(|t| !t.label.is_empty())
            .map(|t| t.label.clone())
            .collect()
    }

    #[test]
    fn whole_number_axes_get_whole_number_ticks() {
        // R = 1, 2, 3 (replicas): ticks 1, 2, 3, never 1.5; room for markers either side.
        let r = Axis::new(Scale::Linear, 1.0, 3.0, true, 500.0, 13.0, true);
        assert_eq!(labels(&r), ["1", "2", "3"]);
        assert!(r.min < 1.0 && r.max > 3.0);
        for (lo, hi, px) in [
            (0.0, 1.0, 400.0),
            (1.0, 9.0, 600.0),
            (0.0, 250.0, 300.0),
            (3.0, 3.0, 300.0),
            (1.0, 40.0, 700.0),
        ] {
            let axis = Axis::new(Scale::Linear, lo, hi, true, px, 13.0, true);
            assert!(!axis.ticks.is_empty());
            for t in &axis.ticks {
                assert_eq!(t.value, t.value.round(), "{lo}..{hi}: tick {}", t.value);
                assert!(!t.label.contains('.'), "{lo}..{hi}: label {}", t.label);
            }
        }
    }

    #[test]
    fn linear_ticks_step_by_one_two_or_five_and_share_a_precision() {
        let u = Axis::new(Scale::Linear, 0.1, 0.95, false, 600.0, 13.0, true);
        let l = labels(&u);
        assert!(l.iter().all(|s| s.len() == l[0].len()), "{l:?}");
        let values: Vec<f64> = u.labelled().collect();
        let step = values[1] - values[0];
        assert!(
            [0.1, 0.2, 0.05].iter().any(|s| (s - step).abs() < 1e-9),
            "{values:?}"
        );
        assert!(u.min <= 0.1 && u.max >= 0.95);
        // Labels never touch: a short axis gets fewer ticks.
        let short = Axis::new(Scale::Linear, 0.0, 100_000.0, false, 120.0, 13.0, true);
        assert!(short.ticks.len() <= 4, "{:?}", labels(&short));
    }

    #[test]
    fn log_axes_label_one_two_five_and_grid_each_decade() {
        // 10 .. 10,000 disks on 600 px: 1-2-5 labels, grid lines only at 10, 100, 1k, 10k.
        let axis = Axis::new(Scale::Log, 10.0, 10_000.0, false, 600.0, 13.0, true);
        assert_eq!(
            labels(&axis),
            [
                "10", "20", "50", "100", "200", "500", "1k", "2k", "5k", "10k"
            ]
        );
        let grid: Vec<f64> = axis
            .ticks
            .iter()
            .filter(|t| t.grid)
            .map(|t| t.value)
            .collect();
        assert_eq!(grid, [10.0, 100.0, 1_000.0, 10_000.0]);
        // Nine decades on a short axis: decades only, fewer labels, still one grid line each.
        let wide = Axis::new(Scale::Log, 1e-3, 1e6, false, 300.0, 13.0, true);
        let l = labels(&wide);
        assert!(l.len() <= 6 && l.contains(&"1".to_string()), "{l:?}");
        assert_eq!(wide.ticks.iter().filter(|t| t.grid).count(), 10);
        // Within one decade the labelled values carry the grid.
        let narrow = Axis::new(Scale::Log, 2.0, 8.0, false, 300.0, 13.0, false);
        assert!(narrow.ticks.iter().filter(|t| t.grid).count() >= 2);
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(format_number(100_000.0, 0), "100k");
        assert_eq!(format_number(10_000.0, 1), "10k");
        assert_eq!(format_number(2_500_000.0, 0), "2.5M");
        assert_eq!(format_number(1_500.0, 0), "1.5k");
        assert_eq!(format_number(0.25, 2), "0.25");
        assert_eq!(format_number(-0.0001, 1), "0.0");
        assert_eq!(format_number(3.0, 0), "3");
        assert_eq!(format_number(0.002, auto_decimals(0.002)), "0.002");
        assert_eq!(format_number(0.5, auto_decimals(0.5)), "0.5");
        assert_eq!(round_sig(2.0 * 1e-3), 0.002);
    }
}
