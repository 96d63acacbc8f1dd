//! Bytes on a disk, to scale: one bar per file or per moment (before and after recovery), every
//! bar on the same byte scale so that a 116-byte file looks a quarter of a 512-byte one, the
//! place recovery cuts marked, and the text on each run of bytes in the colour that reads on it.
//!
//! [`ByteBars::scene`] is a pure layout, unit-tested: a run's label sits inside it when it fits,
//! otherwise under the bar with a tick to its run, placed where it collides with nothing.

use super::axis::{Axis, Scale, draw_x_axis};
use super::scene::{Anchor, KeyEntry, Label, Placer, Scene, Shape, Swatch, Title};
use super::style::{BLUE, INK, MUTED, PURPLE, RED, RULE, Rgb, TEXT_PX, WHITE};
use super::text::{LINE_HEIGHT, Rect, text_width};
use super::{Figure, FigureError};

/// What a run of bytes holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ByteKind {
    /// A file or segment header.
    Header,
    /// A record (a log entry); neighbours alternate shades so their boundary shows.
    Record,
    /// Padding written on purpose.
    Padding,
    /// Zeros never written: preallocated space, the clean end.
    Free,
    /// Bytes that do not decode with nothing valid after them: a torn write, what recovery cuts.
    Torn,
    /// Bytes that do not decode with valid entries after them: damage, which recovery refuses
    /// to cut (it would lose acknowledged entries) and reports instead.
    Corrupt,
}

impl ByteKind {
    fn fill(self, alternate: bool) -> Rgb {
        match self {
            ByteKind::Header => Rgb(140, 140, 140),
            ByteKind::Record if alternate => BLUE.tint(0.55),
            ByteKind::Record => BLUE,
            ByteKind::Padding => Rgb(215, 215, 215),
            ByteKind::Free => Rgb(245, 245, 245),
            ByteKind::Torn => RED,
            ByteKind::Corrupt => PURPLE,
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            ByteKind::Header => "header",
            ByteKind::Record => "record",
            ByteKind::Padding => "padding",
            ByteKind::Free => "zeros (never written)",
            ByteKind::Torn => "torn tail: does not decode, recovery cuts it",
            ByteKind::Corrupt => "corrupt: valid entries follow, recovery refuses the log",
        }
    }
}

/// A run of bytes `start..end` and what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct ByteSpan {
    pub start: usize,
    pub end: usize,
    pub kind: ByteKind,
    /// What the run is called on the figure: `#3`, `hdr`.
    pub label: String,
}

impl ByteSpan {
    pub fn new(start: usize, end: usize, kind: ByteKind, label: impl Into<String>) -> ByteSpan {
        ByteSpan {
            start,
            end,
            kind,
            label: label.into(),
        }
    }
}

/// A write-ahead log segment's run of bytes, as recovery reads it
/// ([`crate::wal::segment_layout`]): `#3` for entry 3, a torn tail as [`ByteKind::Torn`],
/// damage followed by valid entries as [`ByteKind::Corrupt`].
impl From<&crate::wal::SegmentSpan> for ByteSpan {
    fn from(span: &crate::wal::SegmentSpan) -> ByteSpan {
        use crate::wal::SegmentPart;
        let (kind, label) = match &span.part {
            SegmentPart::Header => (ByteKind::Header, "header".to_string()),
            SegmentPart::Entry { index } => (ByteKind::Record, format!("#{index}")),
            SegmentPart::Padding => (ByteKind::Padding, "padding".into()),
            SegmentPart::Zeros => (ByteKind::Free, "zeros".into()),
            SegmentPart::Invalid { .. } => (ByteKind::Torn, "torn".into()),
            SegmentPart::Corrupt { .. } => (ByteKind::Corrupt, "corrupt".into()),
        };
        ByteSpan::new(span.start_bytes, span.end_bytes, kind, label)
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Bar {
    name: String,
    bytes: usize,
    spans: Vec<ByteSpan>,
    cut: Option<(usize, String)>,
}

/// Byte-scaled bars: one per file or moment, all on one scale.
///
/// ```
/// use patterns::viz::{ByteBars, ByteKind::*, ByteSpan};
/// let bars = ByteBars::new("Recovery cuts the torn tail: entries 1-3 stay")
///     .bar("after the crash", 512, [
///         ByteSpan::new(0, 32, Header, "hdr"), ByteSpan::new(32, 60, Record, "#1"),
///         ByteSpan::new(60, 88, Record, "#2"), ByteSpan::new(88, 116, Record, "#3"),
///         ByteSpan::new(116, 512, Torn, "#4, torn"),
///     ])
///     .cut("after the crash", 116, "recovery cuts here")
///     .bar("after recovery", 116, [
///         ByteSpan::new(0, 32, Header, "hdr"), ByteSpan::new(32, 60, Record, "#1"),
///         ByteSpan::new(60, 88, Record, "#2"), ByteSpan::new(88, 116, Record, "#3"),
///     ]);
/// assert!(bars.scene().unwrap().problems().is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct ByteBars {
    title: String,
    bars: Vec<Bar>,
    unknown_cuts: Vec<String>,
}

impl ByteBars {
    pub fn new(title: impl Into<String>) -> ByteBars {
        ByteBars {
            title: title.into(),
            bars: Vec::new(),
            unknown_cuts: Vec::new(),
        }
    }

    /// A bar of `bytes` bytes made of `spans`, named `name` (its moment or file).
    pub fn bar(
        mut self,
        name: impl Into<String>,
        bytes: usize,
        spans: impl IntoIterator<Item = ByteSpan>,
    ) -> ByteBars {
        self.bars.push(Bar {
            name: name.into(),
            bytes,
            spans: spans.into_iter().collect(),
            cut: None,
        });
        self
    }

    /// A bar of a write-ahead log segment's bytes as recovery reads them
    /// ([`crate::wal::segment_layout`]), with the place recovery cuts a torn tail marked.
    pub fn segment(self, name: impl Into<String>, bytes: &[u8]) -> ByteBars {
        let name = name.into();
        let spans: Vec<ByteSpan> = crate::wal::segment_layout(bytes)
            .iter()
            .map(ByteSpan::from)
            .collect();
        let torn = spans
            .iter()
            .find(|s| s.kind == ByteKind::Torn)
            .map(|s| s.start);
        let bars = self.bar(name.clone(), bytes.len(), spans);
        match torn {
            Some(at) => bars.cut(&name, at, "recovery cuts here"),
            None => bars,
        }
    }

    /// Marks byte offset `at` of the bar named `bar`: where recovery cuts the file.
    pub fn cut(mut self, bar: &str, at: usize, label: impl Into<String>) -> ByteBars {
        match self.bars.iter_mut().find(|b| b.name == bar) {
            Some(b) => b.cut = Some((at, label.into())),
            None => self.unknown_cuts.push(bar.to_string()),
        }
        self
    }

    fn check(&self) -> Result<usize, FigureError> {
        if let Some(name) = self.unknown_cuts.first() {
            return Err(FigureError(format!("no bar named {name} to cut")));
        }
        for bar in &self.bars {
            for s in &bar.spans {
                if s.start > s.end || s.end > bar.bytes {
                    return Err(FigureError(format!(
                        "{}: span {}..{} ({}) does not fit in {} bytes",
                        bar.name, s.start, s.end, s.label, bar.bytes
                    )));
                }
            }
        }
        self.bars
            .iter()
            .map(|b| b.bytes)
            .max()
            .filter(|m| *m > 0)
            .ok_or_else(|| FigureError("byte bars need a bar with at least one byte".into()))
    }

    /// The figure in pixels, with its title and key.
    pub fn scene(&self) -> Result<Scene, FigureError> {
        let most = self.check()?;
        const BAR: f64 = 30.0;
        let line = TEXT_PX * LINE_HEIGHT;
        let left = 12.0;
        let plot_width = (super::style::CONTENT_WIDTH_PX - left - 24.0).min(880.0);
        // One scale for every bar: the largest spans the plot.
        let px = |b: usize| left + b as f64 / most as f64 * plot_width;
        let mut scene = Scene::new();
        let mut placer = Placer::new();
        let mut used: Vec<ByteKind> = Vec::new();
        let mut y = 4.0;
        for bar in &self.bars {
            // The bar's name and size above it.
            let title = Label::new(
                format!("{} ({} bytes)", bar.name, bar.bytes),
                left,
                y + line / 2.0,
            )
            .bold()
            .color(INK);
            placer.take(title.bbox());
            scene.label(title);
            y += line + 4.0;
            let cut_room = if bar.cut.is_some() { line + 2.0 } else { 0.0 };
            let (top, bottom) = (y + cut_room, y + cut_room + BAR);
            // The bar's outline at its full size, then its runs.
            scene.push(Shape::Rect {
                rect: Rect::new(px(0), top, px(bar.bytes) - px(0), BAR),
                fill: None,
                stroke: Some((RULE, 1.0)),
            });
            let mut outside = Vec::new();
            let mut records = 0;
            for s in &bar.spans {
                if !used.contains(&s.kind) {
                    used.push(s.kind);
                }
                let alternate = s.kind == ByteKind::Record && {
                    records += 1;
                    records % 2 == 0
                };
                let fill = s.kind.fill(alternate);
                let rect = Rect::new(px(s.start), top, (px(s.end) - px(s.start)).max(1.0), BAR);
                scene.push(Shape::Rect {
                    rect,
                    fill: Some((fill, 1.0)),
                    stroke: Some((WHITE, 1.0)),
                });
                let label = Label::new(s.label.clone(), rect.x + rect.width / 2.0, top + BAR / 2.0)
                    .anchor(Anchor::Middle)
                    .color(fill.text_on())
                    .on(fill);
                if label.width() + 6.0 <= rect.width {
                    placer.take(label.bbox());
                    scene.label(label);
                } else if !s.label.is_empty() {
                    outside.push((rect.x + rect.width / 2.0, s.label.clone()));
                }
            }
            if let Some((at, text)) = &bar.cut {
                let x = px(*at);
                scene.push(Shape::Line {
                    points: vec![(x, top - 4.0), (x, bottom + 4.0)],
                    color: RED,
                    width: 2.0,
                    opacity: 1.0,
                    dashed: true,
                });
                let label = Label::new(format!("✂ {text} (byte {at})"), x, y + line / 2.0)
                    .anchor(if x > left + plot_width / 2.0 {
                        Anchor::End
                    } else {
                        Anchor::Start
                    })
                    .color(RED);
                let label = Label {
                    x: if label.anchor == Anchor::End {
                        x - 4.0
                    } else {
                        x + 4.0
                    },
                    ..label
                };
                placer.take(label.bbox());
                scene.label(label);
            }
            y = bottom;
            // Labels of runs too narrow to hold them: under the bar, in as many rows as needed.
            let mut rows_used = 0;
            for (cx, text) in outside {
                let w = text_width(&text, TEXT_PX, false);
                let row = (0..)
                    .find(|k| {
                        let label = Label::new(
                            text.clone(),
                            cx,
                            bottom + 6.0 + line / 2.0 + *k as f64 * line,
                        )
                        .anchor(Anchor::Middle);
                        let b = label.bbox();
                        placer.is_free(&b) && b.x >= 0.0
                    })
                    .expect("a free row exists below");
                let ly = bottom + 6.0 + line / 2.0 + row as f64 * line;
                let lx = cx.max(left + w / 2.0);
                let label = Label::new(text, lx, ly).anchor(Anchor::Middle).color(INK);
                scene.push(Shape::line(
                    vec![(cx, bottom), (cx, ly - line / 2.0)],
                    MUTED,
                    1.0,
                ));
                placer.take(label.bbox());
                scene.label(label);
                rows_used = rows_used.max(row + 1);
            }
            y += rows_used as f64 * line + 6.0 + 14.0;
        }
        // The byte axis, once, under every bar.
        let axis = Axis::new(
            Scale::Linear,
            0.0,
            most as f64,
            true,
            plot_width,
            TEXT_PX,
            true,
        );
        let figure_bottom = draw_x_axis(
            &mut scene,
            &axis,
            |b| left + b / most as f64 * plot_width,
            (px(0), px(most)),
            y,
            "bytes from the start of the file",
        );
        scene.width = left + plot_width + 24.0;
        scene.height = figure_bottom + 6.0;
        let mut key: Vec<KeyEntry> = [
            ByteKind::Header,
            ByteKind::Record,
            ByteKind::Padding,
            ByteKind::Free,
            ByteKind::Torn,
            ByteKind::Corrupt,
        ]
        .into_iter()
        .filter(|k| used.contains(k))
        .map(|k| {
            KeyEntry::new(
                Swatch::Fill {
                    color: k.fill(false),
                    outline: Some(RULE),
                },
                k.meaning(),
            )
        })
        .collect();
        if self.bars.iter().any(|b| b.cut.is_some()) {
            key.push(KeyEntry::new(
                Swatch::Line {
                    color: RED,
                    dashed: true,
                },
                "where recovery cuts",
            ));
        }
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
    use ByteKind::*;

    fn torn_write() -> ByteBars {
        let entries = |n: usize| {
            (0..n).map(|i| ByteSpan::new(32 + 28 * i, 60 + 28 * i, Record, format!("#{}", i + 1)))
        };
        let mut before: Vec<ByteSpan> = vec![ByteSpan::new(0, 32, Header, "hdr")];
        before.extend(entries(3));
        before.push(ByteSpan::new(116, 512, Torn, "#4: 600 bytes, torn"));
        let mut after: Vec<ByteSpan> = vec![ByteSpan::new(0, 32, Header, "hdr")];
        after.extend(entries(3));
        ByteBars::new("Recovery cuts the torn tail; entries 1 to 3 stay")
            .bar("on the platter after the crash", 512, before)
            .cut("on the platter after the crash", 116, "recovery cuts here")
            .bar("after recovery", 116, after)
    }

    /// The newest segment of a log of three synced entries, then `damage`: a fourth entry torn
    /// by a power failure ("torn"), or a byte of entry 2 flipped ("corrupt": entry 3 still
    /// decodes after it).
    fn segment(damage: &str) -> Vec<u8> {
        use crate::wal::crash::newest_segment_bytes;
        use crate::wal::{Log, LogConfig, SimulatedFileSystem, Tear, segment_file_name};
        use std::path::Path;
        use std::sync::Arc;
        let disk = Arc::new(SimulatedFileSystem::new());
        let mut log = Log::open("/wal", LogConfig::on(disk.clone())).unwrap();
        for text in ["one", "two", "six"] {
            log.append(text.as_bytes()).unwrap();
        }
        log.sync().unwrap();
        let dir = Path::new("/wal");
        if damage == "torn" {
            log.append(&[b'4'; 600]).unwrap();
            log.flush().unwrap();
            disk.restart(Tear::LastWrite);
        } else {
            let entry_2 = crate::wal::segment_layout(&newest_segment_bytes(&disk, dir).unwrap())
                .into_iter()
                .find(|s| s.part == crate::wal::SegmentPart::Entry { index: 2 })
                .unwrap();
            disk.corrupt(&dir.join(segment_file_name(1)), entry_2.end_bytes - 1, b"!");
        }
        newest_segment_bytes(&disk, dir).unwrap()
    }

    #[test]
    fn a_segment_bar_marks_the_cut_of_a_torn_tail_and_tells_corruption_apart() {
        // Claim: recovery cuts a torn tail (the bar says where) but refuses corruption, so the
        // two are drawn in different colours, each with its own line in the key.
        let torn = segment("torn");
        let bars = ByteBars::new("t").segment("torn", &torn);
        let cut_at = crate::wal::segment_layout(&torn)
            .iter()
            .find(|s| matches!(s.part, crate::wal::SegmentPart::Invalid { .. }))
            .unwrap()
            .start_bytes;
        assert_eq!(
            bars.bars[0].cut,
            Some((cut_at, "recovery cuts here".into()))
        );
        let texts = |b: &ByteBars| -> Vec<String> {
            b.scene()
                .unwrap()
                .labels
                .iter()
                .map(|l| l.text.clone())
                .collect()
        };
        assert!(texts(&bars).iter().any(|t| t.starts_with("torn tail")));
        let corrupt = ByteBars::new("c").segment("corrupt", &segment("corrupt"));
        assert_eq!(corrupt.bars[0].cut, None);
        let kinds: Vec<ByteKind> = corrupt.bars[0].spans.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [Header, Record, Corrupt]);
        let texts = texts(&corrupt);
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("corrupt: valid entries follow"))
        );
        assert!(!texts.iter().any(|t| t.starts_with("torn tail")));
        corrupt.scene().unwrap().verify().unwrap();
    }

    #[test]
    fn every_bar_shares_one_byte_scale() {
        // Entry #1 is 28 bytes in both bars, so it is as wide in both.
        let scene = torn_write().scene().unwrap();
        let widths: Vec<f64> = scene
            .labels
            .iter()
            .filter(|l| l.text == "#1")
            .filter_map(|l| {
                scene.shapes.iter().find_map(|s| match s {
                    Shape::Rect {
                        rect,
                        fill: Some(_),
                        ..
                    } if rect.x <= l.x
                        && l.x <= rect.right()
                        && rect.y <= l.y
                        && l.y <= rect.bottom() =>
                    {
                        Some(rect.width)
                    }
                    _ => None,
                })
            })
            .collect();
        assert_eq!(widths.len(), 2, "{widths:?}");
        assert!((widths[0] - widths[1]).abs() < 1e-9);
    }

    #[test]
    fn the_figure_reads_at_a_glance_with_the_cut_marked() {
        let scene = torn_write().scene().unwrap();
        scene.verify().unwrap();
        let texts: Vec<&str> = scene.labels.iter().map(|l| l.text.as_str()).collect();
        assert!(
            texts
                .iter()
                .any(|t| t.contains("recovery cuts here (byte 116)")),
            "{texts:?}"
        );
        for t in [
            "header",
            "record",
            "torn tail: does not decode, recovery cuts it",
            "where recovery cuts",
        ] {
            assert!(texts.contains(&t), "{t}: {texts:?}");
        }
        // Text on a dark run is light, on a light run dark: every label reads on its fill.
        for l in &scene.labels {
            assert!(l.color.contrast(l.background) >= 4.5, "{l:?}");
        }
    }

    #[test]
    fn narrow_runs_are_labelled_under_the_bar_without_collisions() {
        let spans: Vec<ByteSpan> = (0..40)
            .map(|i| ByteSpan::new(i * 3, i * 3 + 3, Record, format!("#{i}")))
            .collect();
        let scene = ByteBars::new("forty tiny records")
            .bar("segment", 4096, spans)
            .scene()
            .unwrap();
        scene.verify().unwrap();
        assert_eq!(
            scene
                .labels
                .iter()
                .filter(|l| l.text.starts_with('#'))
                .count(),
            40
        );
    }

    #[test]
    fn bad_spans_and_cuts_are_errors() {
        let e = ByteBars::new("t")
            .bar("a", 10, [ByteSpan::new(0, 20, Record, "x")])
            .figure()
            .unwrap_err();
        assert!(e.to_string().contains("does not fit in 10 bytes"));
        assert!(torn_write().cut("nope", 3, "x").figure().is_err());
        assert!(ByteBars::new("empty").figure().is_err());
    }
}
