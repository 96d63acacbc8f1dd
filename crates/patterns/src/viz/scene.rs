//! A figure as data: shapes and labels in pixels, computed by a pure layout function and drawn by
//! one renderer (porcupine's split of `computeVisualizationData` from the template).
//!
//! Every figure type in `viz` lays itself out as a [`Scene`], so the rules of the handout review
//! are checked once, on the layout, before anything is drawn: [`Scene::problems`] reports text
//! boxes that overlap, text under [`TEXT_MIN_PX`], text colours under 4.5:1 against what they sit
//! on, and text outside the figure. [`Scene::with_header`] puts the title and the key above the
//! content, outside the plot area, where they cannot cover data.

use super::style::{
    CONTENT_WIDTH_PX, CONTRAST_MIN, INK, RED, Rgb, TEXT_MIN_PX, TEXT_PX, TITLE_PX, WHITE,
};
use super::text::{LINE_HEIGHT, Rect, text_width, wrap};
use super::{Figure, FigureError};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Which point of a line of text `x` names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// One line of text. `y` is the line's vertical centre.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub text: String,
    pub x: f64,
    pub y: f64,
    pub anchor: Anchor,
    pub size: f64,
    pub bold: bool,
    pub color: Rgb,
    /// Drawn on a white box that knocks out the lines under it.
    pub halo: bool,
    /// What the text is read against: white, or the fill of the bar it sits in.
    pub background: Rgb,
    /// Set bottom to top (a y-axis title).
    pub vertical: bool,
}

impl Label {
    /// A label of `TEXT_PX` ink on white, anchored at its start.
    pub fn new(text: impl Into<String>, x: f64, y: f64) -> Label {
        Label {
            text: text.into(),
            x,
            y,
            anchor: Anchor::Start,
            size: TEXT_PX,
            bold: false,
            color: INK,
            halo: false,
            background: WHITE,
            vertical: false,
        }
    }

    pub fn anchor(mut self, anchor: Anchor) -> Label {
        self.anchor = anchor;
        self
    }

    pub fn size(mut self, size: f64) -> Label {
        self.size = size;
        self
    }

    pub fn bold(mut self) -> Label {
        self.bold = true;
        self
    }

    pub fn color(mut self, color: Rgb) -> Label {
        self.color = color;
        self
    }

    pub fn halo(mut self) -> Label {
        self.halo = true;
        self
    }

    pub fn on(mut self, background: Rgb) -> Label {
        self.background = background;
        self
    }

    pub fn vertical(mut self) -> Label {
        self.vertical = true;
        self
    }

    pub fn width(&self) -> f64 {
        text_width(&self.text, self.size, self.bold)
    }

    /// The box the text covers (with its halo, if any).
    pub fn bbox(&self) -> Rect {
        let (w, h) = (self.width(), self.size * LINE_HEIGHT);
        let start = match self.anchor {
            Anchor::Start => 0.0,
            Anchor::Middle => -w / 2.0,
            Anchor::End => -w,
        };
        // A halo widens the box by 2 px each side; the line height already leaves room above
        // and below, so lines of one note stacked at the line height never collide.
        let pad = if self.halo { 2.0 } else { 0.0 };
        if self.vertical {
            // Rotated a quarter turn counter-clockwise about (x, y): the run goes up the page.
            Rect::new(self.x - h / 2.0, self.y - start - w - pad, h, w + 2.0 * pad)
        } else {
            Rect::new(self.x + start - pad, self.y - h / 2.0, w + 2.0 * pad, h)
        }
    }
}

/// A line, a box, a polygon or a dot, in pixels.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Line {
        points: Vec<(f64, f64)>,
        color: Rgb,
        width: f64,
        opacity: f64,
        dashed: bool,
    },
    Rect {
        rect: Rect,
        fill: Option<(Rgb, f64)>,
        stroke: Option<(Rgb, f64)>,
    },
    Polygon {
        points: Vec<(f64, f64)>,
        color: Rgb,
        opacity: f64,
    },
    Circle {
        center: (f64, f64),
        radius: f64,
        fill: Rgb,
        opacity: f64,
    },
}

impl Shape {
    pub fn line(points: Vec<(f64, f64)>, color: Rgb, width: f64) -> Shape {
        Shape::Line {
            points,
            color,
            width,
            opacity: 1.0,
            dashed: false,
        }
    }

    pub fn filled(rect: Rect, color: Rgb) -> Shape {
        Shape::Rect {
            rect,
            fill: Some((color, 1.0)),
            stroke: None,
        }
    }

    /// A ✕ of half-size `half` centred on `center`: where a message died.
    pub fn cross(center: (f64, f64), half: f64, color: Rgb, opacity: f64) -> [Shape; 2] {
        let (x, y) = center;
        let stroke = |a: (f64, f64), b: (f64, f64)| Shape::Line {
            points: vec![a, b],
            color,
            width: 2.0,
            opacity,
            dashed: false,
        };
        [
            stroke((x - half, y - half), (x + half, y + half)),
            stroke((x - half, y + half), (x + half, y - half)),
        ]
    }

    /// A filled arrowhead whose tip is `tip`, pointing along `from → tip`.
    pub fn arrowhead(from: (f64, f64), tip: (f64, f64), color: Rgb, opacity: f64) -> Shape {
        let (dx, dy) = (tip.0 - from.0, tip.1 - from.1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let (ux, uy) = (dx / len, dy / len);
        let (bx, by) = (tip.0 - ux * 9.0, tip.1 - uy * 9.0);
        Shape::Polygon {
            points: vec![
                tip,
                (bx - uy * 4.0, by + ux * 4.0),
                (bx + uy * 4.0, by - ux * 4.0),
            ],
            color,
            opacity,
        }
    }

    fn translate(&mut self, dx: f64, dy: f64) {
        let shift = |p: &mut (f64, f64)| {
            p.0 += dx;
            p.1 += dy;
        };
        match self {
            Shape::Line { points, .. } | Shape::Polygon { points, .. } => {
                points.iter_mut().for_each(shift)
            }
            Shape::Rect { rect, .. } => {
                rect.x += dx;
                rect.y += dy;
            }
            Shape::Circle { center, .. } => shift(center),
        }
    }
}

/// What a key entry shows beside its words.
#[derive(Clone, Debug, PartialEq)]
pub enum Swatch {
    /// A stretch of line (a series, a lifeline).
    Line { color: Rgb, dashed: bool },
    /// A short arrow (a message).
    Arrow { color: Rgb, dashed: bool },
    /// A ✕ (a dropped message).
    Cross(Rgb),
    /// A filled box (a bar, a band, a cell); `outline` draws its border too.
    Fill { color: Rgb, outline: Option<Rgb> },
    /// A marker of a series.
    Marker { color: Rgb, shape: Marker },
    /// A line through markers (a measured series).
    LineMarker { color: Rgb, shape: Marker },
    /// A glyph or short text, in a colour (⏱, ⋮).
    Glyph { text: String, color: Rgb },
}

/// Marker shapes, so series differ by more than colour.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
}

impl Marker {
    pub const ALL: [Marker; 4] = [
        Marker::Circle,
        Marker::Square,
        Marker::Triangle,
        Marker::Diamond,
    ];

    /// The shape centred on `(x, y)`, about `r` pixels in radius.
    pub fn shape(self, (x, y): (f64, f64), r: f64, color: Rgb) -> Shape {
        match self {
            Marker::Circle => Shape::Circle {
                center: (x, y),
                radius: r,
                fill: color,
                opacity: 1.0,
            },
            Marker::Square => {
                Shape::filled(Rect::new(x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8), color)
            }
            Marker::Triangle => Shape::Polygon {
                points: vec![
                    (x, y - r * 1.2),
                    (x + r * 1.1, y + r * 0.8),
                    (x - r * 1.1, y + r * 0.8),
                ],
                color,
                opacity: 1.0,
            },
            Marker::Diamond => Shape::Polygon {
                points: vec![
                    (x, y - r * 1.25),
                    (x + r * 1.1, y),
                    (x, y + r * 1.25),
                    (x - r * 1.1, y),
                ],
                color,
                opacity: 1.0,
            },
        }
    }
}

/// One entry of a figure's key: what a colour or a glyph means.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyEntry {
    pub swatch: Swatch,
    pub text: String,
}

impl KeyEntry {
    pub fn new(swatch: Swatch, text: impl Into<String>) -> KeyEntry {
        KeyEntry {
            swatch,
            text: text.into(),
        }
    }
}

/// Keeps the boxes already taken, so that the next label goes where it collides with none.
/// Boxes are filed by horizontal bands of the figure, so a check looks only at its neighbours
/// (a 10,000-event diagram places hundreds of labels, each trying dozens of places).
#[derive(Clone, Debug, Default)]
pub struct Placer {
    bands: std::collections::HashMap<i64, Vec<Rect>>,
}

/// The height of a band of the placer's index.
const PLACER_BAND: f64 = 48.0;

impl Placer {
    pub fn new() -> Placer {
        Placer::default()
    }

    fn bands_of(rect: &Rect) -> std::ops::RangeInclusive<i64> {
        (rect.y / PLACER_BAND).floor() as i64..=(rect.bottom() / PLACER_BAND).floor() as i64
    }

    pub fn is_free(&self, rect: &Rect) -> bool {
        Self::bands_of(rect).all(|band| {
            self.bands
                .get(&band)
                .is_none_or(|taken| taken.iter().all(|t| !t.overlaps(rect)))
        })
    }

    pub fn take(&mut self, rect: Rect) {
        for band in Self::bands_of(&rect) {
            self.bands.entry(band).or_default().push(rect);
        }
    }

    /// The first candidate that collides with nothing taken.
    pub fn first_free<I: IntoIterator<Item = Rect>>(&self, candidates: I) -> Option<Rect> {
        candidates.into_iter().find(|r| self.is_free(r))
    }
}

/// Shapes under labels, in pixels: a figure before it is drawn.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scene {
    pub width: f64,
    pub height: f64,
    pub shapes: Vec<Shape>,
    pub labels: Vec<Label>,
}

/// What the handout review would object to in a scene.
#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    /// Two text boxes overlap (indexes into [`Scene::labels`]).
    Overlap(usize, usize),
    /// Text under [`TEXT_MIN_PX`] at the page width.
    TooSmall(usize),
    /// A text colour under 4.5:1 against its background.
    LowContrast(usize),
    /// Text outside the figure's bounds.
    Outside(usize),
}

impl Scene {
    pub fn new() -> Scene {
        Scene::default()
    }

    pub fn push(&mut self, shape: Shape) {
        self.shapes.push(shape);
    }

    pub fn label(&mut self, label: Label) {
        self.labels.push(label);
    }

    /// Lines of text set one under the other, the first centred on `y`; returns the boxes taken.
    pub fn lines(&mut self, lines: &[String], template: &Label) -> Rect {
        let step = template.size * LINE_HEIGHT;
        let mut bbox: Option<Rect> = None;
        for (i, line) in lines.iter().enumerate() {
            let label = Label {
                text: line.clone(),
                y: template.y + i as f64 * step,
                ..template.clone()
            };
            let b = label.bbox();
            bbox = Some(bbox.map_or(b, |r| r.union(&b)));
            self.labels.push(label);
        }
        bbox.unwrap_or_else(|| Rect::new(template.x, template.y, 0.0, 0.0))
    }

    /// Moves everything by `(dx, dy)`.
    pub fn translate(&mut self, dx: f64, dy: f64) {
        for shape in &mut self.shapes {
            shape.translate(dx, dy);
        }
        for label in &mut self.labels {
            label.x += dx;
            label.y += dy;
        }
    }

    /// The box holding every label.
    pub fn text_bounds(&self) -> Option<Rect> {
        self.labels
            .iter()
            .map(Label::bbox)
            .reduce(|a, b| a.union(&b))
    }

    /// The smallest text in the scene, in pixels at the page width: figures are never scaled
    /// down (a wide one scrolls), so this is the size it was laid out with.
    pub fn smallest_text_px(&self) -> f64 {
        self.labels
            .iter()
            .map(|l| l.size)
            .fold(f64::INFINITY, f64::min)
    }

    /// Everything the review would object to; empty for a figure that reads at a glance.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let boxes: Vec<Rect> = self.labels.iter().map(Label::bbox).collect();
        for (i, label) in self.labels.iter().enumerate() {
            if label.size < TEXT_MIN_PX {
                problems.push(Problem::TooSmall(i));
            }
            let background = if label.halo { WHITE } else { label.background };
            if label.color.contrast(background) < CONTRAST_MIN {
                problems.push(Problem::LowContrast(i));
            }
            let b = &boxes[i];
            if b.x < -0.5
                || b.y < -0.5
                || b.right() > self.width + 0.5
                || b.bottom() > self.height + 0.5
            {
                problems.push(Problem::Outside(i));
            }
        }
        // Sweep along x so that large diagrams stay fast.
        let mut order: Vec<usize> = (0..boxes.len()).collect();
        order.sort_by(|a, b| boxes[*a].x.total_cmp(&boxes[*b].x));
        for (k, &i) in order.iter().enumerate() {
            for &j in &order[k + 1..] {
                if boxes[j].x >= boxes[i].right() {
                    break;
                }
                if boxes[i].overlaps(&boxes[j]) {
                    problems.push(Problem::Overlap(i.min(j), i.max(j)));
                }
            }
        }
        problems
    }

    /// `Ok` when the scene reads at a glance: no [`Scene::problems`], nothing under
    /// [`TEXT_MIN_PX`]; otherwise what is wrong, in words.
    pub fn verify(&self) -> Result<(), String> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(self.describe(&problems))
        }
    }

    /// The problems in words, naming the texts involved: for assertion messages.
    pub fn describe(&self, problems: &[Problem]) -> String {
        let text = |i: usize| format!("{:?}", self.labels[i].text);
        problems
            .iter()
            .map(|p| match p {
                Problem::Overlap(a, b) => format!(
                    "{} {:?} overlaps {} {:?}",
                    text(*a),
                    self.labels[*a].bbox(),
                    text(*b),
                    self.labels[*b].bbox()
                ),
                Problem::TooSmall(i) => {
                    format!("{} is {} px", text(*i), self.labels[*i].size)
                }
                Problem::LowContrast(i) => format!("{} has low contrast", text(*i)),
                Problem::Outside(i) => format!("{} lies outside the figure", text(*i)),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Puts `title` and `key` above this content, sizes the figure to what it holds (no empty
    /// right margin), and returns the whole. The title wraps to the figure's width; the key flows
    /// in rows under it.
    pub fn with_header(mut self, title: &Title, key: &[KeyEntry]) -> Scene {
        const MARGIN: f64 = 12.0;
        let content_right = self
            .text_bounds()
            .map_or(self.width, |b| b.right())
            .max(self.width);
        // The title takes the room it needs, up to the cell's width: a narrow figure widens for
        // its title rather than break it over many lines.
        let title_lines = wrap(&title.text, TITLE_PX, true, CONTENT_WIDTH_PX - 2.0 * MARGIN);
        let title_width = title_lines
            .iter()
            .map(|l| text_width(l, TITLE_PX, true))
            .fold(0.0, f64::max);
        let width = content_right.max(title_width + 2.0 * MARGIN).max(360.0);
        let mut header = Scene::new();
        let template = Label::new("", MARGIN, MARGIN + TITLE_PX * LINE_HEIGHT / 2.0)
            .size(TITLE_PX)
            .bold()
            .color(if title.loud { RED } else { INK });
        let title_box = header.lines(&title_lines, &template);
        let mut y = title_box.bottom() + 6.0;
        if !key.is_empty() {
            y = key_rows(&mut header, key, MARGIN, y, width - MARGIN) + 4.0;
        }
        let header_right = header.text_bounds().map_or(0.0, |b| b.right());
        let dy = y + 6.0;
        self.translate(0.0, dy);
        self.height += dy;
        self.width = width.max(header_right + MARGIN).ceil();
        self.height = self.height.ceil();
        self.shapes.extend(header.shapes);
        self.labels.extend(header.labels);
        self
    }

    /// Draws the scene: shapes in order, then every label on top.
    pub fn figure(&self) -> Result<Figure, FigureError> {
        let (width, height) = (self.width.ceil() as u32, self.height.ceil() as u32);
        let figure = Figure::draw(width.max(1), height.max(1), |root| {
            let at = |(x, y): (f64, f64)| (x.round() as i32, y.round() as i32);
            for shape in &self.shapes {
                match shape {
                    Shape::Line {
                        points,
                        color,
                        width,
                        opacity,
                        dashed,
                    } => {
                        let style = color
                            .plotters()
                            .mix(*opacity)
                            .stroke_width(width.round().max(1.0) as u32);
                        let points: Vec<(i32, i32)> = points.iter().copied().map(at).collect();
                        if *dashed {
                            root.draw(&DashedPathElement::new(points, 5, 4, style))?;
                        } else {
                            root.draw(&PathElement::new(points, style))?;
                        }
                    }
                    Shape::Rect { rect, fill, stroke } => {
                        let corners = [at((rect.x, rect.y)), at((rect.right(), rect.bottom()))];
                        if let Some((color, opacity)) = fill {
                            root.draw(&Rectangle::new(
                                corners,
                                color.plotters().mix(*opacity).filled(),
                            ))?;
                        }
                        if let Some((color, width)) = stroke {
                            root.draw(&Rectangle::new(
                                corners,
                                color.plotters().stroke_width(width.round().max(1.0) as u32),
                            ))?;
                        }
                    }
                    Shape::Polygon {
                        points,
                        color,
                        opacity,
                    } => {
                        root.draw(&Polygon::new(
                            points.iter().copied().map(at).collect::<Vec<_>>(),
                            color.plotters().mix(*opacity).filled(),
                        ))?;
                    }
                    Shape::Circle {
                        center,
                        radius,
                        fill,
                        opacity,
                    } => {
                        root.draw(&Circle::new(
                            at(*center),
                            radius.round() as i32,
                            fill.plotters().mix(*opacity).filled(),
                        ))?;
                    }
                }
            }
            for label in &self.labels {
                if label.halo {
                    let b = label.bbox();
                    root.draw(&Rectangle::new(
                        [at((b.x, b.y)), at((b.right(), b.bottom()))],
                        WHITE.plotters().filled(),
                    ))?;
                }
                let h = match label.anchor {
                    Anchor::Start => HPos::Left,
                    Anchor::Middle => HPos::Center,
                    Anchor::End => HPos::Right,
                };
                let weight = if label.bold {
                    FontStyle::Bold
                } else {
                    FontStyle::Normal
                };
                let mut font = FontDesc::new(FontFamily::SansSerif, label.size * 1.24, weight);
                if label.vertical {
                    font = font.transform(FontTransform::Rotate270);
                }
                let font = font
                    .color(&label.color.plotters())
                    .pos(Pos::new(h, VPos::Center));
                root.draw(&Text::new(label.text.clone(), at((label.x, label.y)), font))?;
            }
            Ok(())
        })?;
        Ok(Figure::from_svg(tidy_font_sizes(figure.svg())))
    }
}

/// A figure's title. Builders that can say what a figure shows default to that; the ones that
/// cannot default to a loud placeholder, drawn in red, that asks for one.
#[derive(Clone, Debug, PartialEq)]
pub struct Title {
    pub text: String,
    /// A placeholder: drawn in red so that a handout without a real title is noticed.
    pub loud: bool,
}

impl Title {
    pub fn new(text: impl Into<String>) -> Title {
        Title {
            text: text.into(),
            loud: false,
        }
    }

    /// The placeholder for a figure nobody titled; `how` names the call that sets one.
    pub fn missing(how: &str) -> Title {
        Title {
            text: format!("Untitled figure: say what it shows with {how}"),
            loud: true,
        }
    }
}

/// plotters' SVG backend writes `font-size` as the given size divided by 1.24, which leaves
/// sizes such as `13.000000000000002`: the renderer gives it `px * 1.24` and this rounds what
/// comes back to hundredths of a pixel.
fn tidy_font_sizes(svg: &str) -> String {
    const ATTRIBUTE: &str = "font-size=\"";
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(at) = rest.find(ATTRIBUTE) {
        let (head, tail) = rest.split_at(at + ATTRIBUTE.len());
        out.push_str(head);
        let end = tail.find('"').unwrap_or(tail.len());
        match tail[..end].parse::<f64>() {
            Ok(size) => out.push_str(&format!("{}", (size * 100.0).round() / 100.0)),
            Err(_) => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Lays out key entries in rows from `(left, top)`, wrapping at `right`; returns the bottom.
fn key_rows(scene: &mut Scene, key: &[KeyEntry], left: f64, top: f64, right: f64) -> f64 {
    const SWATCH: f64 = 26.0;
    const GAP: f64 = 6.0;
    const SPACING: f64 = 18.0;
    let row_height = TEXT_PX * LINE_HEIGHT + 4.0;
    let (mut x, mut y) = (left, top + row_height / 2.0);
    for entry in key {
        let swatch = match &entry.swatch {
            Swatch::Glyph { text, .. } => SWATCH.max(text_width(text, TEXT_PX, false) + 4.0),
            _ => SWATCH,
        };
        let text_w = text_width(&entry.text, TEXT_PX, false);
        let entry_w = swatch + GAP + text_w;
        if x > left && x + entry_w > right {
            x = left;
            y += row_height;
        }
        draw_swatch(scene, &entry.swatch, x, y, swatch);
        scene.label(Label::new(entry.text.clone(), x + swatch + GAP, y).color(INK));
        x += entry_w + SPACING;
    }
    y + row_height / 2.0
}

fn draw_swatch(scene: &mut Scene, swatch: &Swatch, x: f64, y: f64, width: f64) {
    match swatch {
        Swatch::Line { color, dashed } => scene.push(Shape::Line {
            points: vec![(x, y), (x + width, y)],
            color: *color,
            width: 2.0,
            opacity: 1.0,
            dashed: *dashed,
        }),
        Swatch::Arrow { color, dashed } => {
            scene.push(Shape::Line {
                points: vec![(x, y), (x + width - 2.0, y)],
                color: *color,
                width: 2.0,
                opacity: 1.0,
                dashed: *dashed,
            });
            scene.push(Shape::arrowhead((x, y), (x + width, y), *color, 1.0));
        }
        Swatch::Cross(color) => {
            for s in Shape::cross((x + width / 2.0, y), 5.0, *color, 1.0) {
                scene.push(s);
            }
        }
        Swatch::Fill { color, outline } => scene.push(Shape::Rect {
            rect: Rect::new(x, y - 6.0, width, 12.0),
            fill: Some((*color, 1.0)),
            stroke: outline.map(|c| (c, 1.0)),
        }),
        Swatch::Marker { color, shape } => {
            scene.push(shape.shape((x + width / 2.0, y), 4.0, *color))
        }
        Swatch::LineMarker { color, shape } => {
            scene.push(Shape::line(vec![(x, y), (x + width, y)], *color, 2.0));
            scene.push(shape.shape((x + width / 2.0, y), 4.0, *color));
        }
        Swatch::Glyph { text, color } => scene.label(
            Label::new(text.clone(), x + width / 2.0, y)
                .anchor(Anchor::Middle)
                .color(*color),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_box_follows_its_anchor() {
        let l = Label::new("Get", 100.0, 50.0).size(10.0);
        let w = l.width();
        assert_eq!(l.bbox(), Rect::new(100.0, 43.75, w, 12.5));
        let haloed = l.clone().halo().bbox();
        assert_eq!(haloed, Rect::new(98.0, 43.75, w + 4.0, 12.5));
        assert_eq!(
            l.clone().anchor(Anchor::End).bbox().right(),
            100.0,
            "an end-anchored label ends at x"
        );
        let mid = l.clone().anchor(Anchor::Middle).bbox();
        assert!((mid.x + mid.width / 2.0 - 100.0).abs() < 1e-9);
        let up = l.vertical().anchor(Anchor::Middle).bbox();
        assert!((up.height - w).abs() < 1e-9 && (up.width - 12.5).abs() < 1e-9);
    }

    #[test]
    fn problems_name_overlaps_small_text_and_poor_contrast() {
        let mut scene = Scene::new();
        scene.width = 300.0;
        scene.height = 100.0;
        scene.label(Label::new("first", 10.0, 20.0));
        scene.label(Label::new("second", 20.0, 22.0));
        scene.label(Label::new("tiny", 200.0, 60.0).size(9.0));
        scene.label(Label::new("pale", 200.0, 80.0).color(Rgb(160, 160, 160)));
        scene.label(Label::new("off the edge", 290.0, 80.0));
        let problems = scene.problems();
        assert!(problems.contains(&Problem::Overlap(0, 1)), "{problems:?}");
        assert!(problems.contains(&Problem::TooSmall(2)));
        assert!(problems.contains(&Problem::LowContrast(3)));
        assert!(problems.contains(&Problem::Outside(4)));
        assert_eq!(problems.len(), 4, "{}", scene.describe(&problems));
    }

    #[test]
    fn the_header_sits_above_the_content_and_the_width_hugs_it() {
        let mut content = Scene::new();
        content.width = 400.0;
        content.height = 100.0;
        content.label(Label::new("data", 20.0, 10.0));
        let key = [
            KeyEntry::new(
                Swatch::Arrow {
                    color: super::super::style::BLUE,
                    dashed: false,
                },
                "message",
            ),
            KeyEntry::new(Swatch::Cross(RED), "dropped"),
        ];
        let scene = content.with_header(&Title::new("A title"), &key);
        let data = scene.labels.iter().find(|l| l.text == "data").unwrap();
        for l in scene.labels.iter().filter(|l| l.text != "data") {
            assert!(l.bbox().bottom() <= data.bbox().y, "{l:?} above the data");
        }
        assert_eq!(scene.width, 400.0);
        assert!(scene.problems().is_empty(), "{:?}", scene.problems());
        let svg = scene.figure().unwrap();
        assert!(svg.svg().contains("A title") && svg.svg().contains("dropped"));
    }

    #[test]
    fn a_missing_title_is_loud() {
        let t = Title::missing(".title(…)");
        assert!(t.loud && t.text.contains(".title(…)"));
    }

    #[test]
    fn the_renderer_writes_text_at_the_laid_out_size() {
        // plotters divides font sizes by 1.24; the renderer compensates, so 13 px is 13 px.
        let mut scene = Scene::new();
        scene.width = 100.0;
        scene.height = 40.0;
        scene.label(Label::new("x", 10.0, 20.0));
        let svg = scene.figure().unwrap().svg().to_string();
        assert!(svg.contains("font-size=\"13\""), "{svg}");
    }

    #[test]
    fn the_placer_skips_taken_boxes() {
        let mut placer = Placer::new();
        placer.take(Rect::new(0.0, 0.0, 10.0, 10.0));
        let got = placer.first_free([
            Rect::new(5.0, 5.0, 4.0, 4.0),
            Rect::new(12.0, 0.0, 4.0, 4.0),
        ]);
        assert_eq!(got, Some(Rect::new(12.0, 0.0, 4.0, 4.0)));
    }
}
