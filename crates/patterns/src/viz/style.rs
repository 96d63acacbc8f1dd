//! The page a figure is read on, and the sizes and colours every figure shares.
//!
//! Handouts are read on a page about 1,280 px wide (nbconvert's lab template), where an output
//! cell is [`CONTENT_WIDTH_PX`] wide. A figure is drawn at its own size and never scaled down: one
//! wider than the cell scrolls sideways ([`super::Figure::to_html`]), so its text keeps the size it
//! was laid out with, never under [`TEXT_MIN_PX`]. Every text colour here has a contrast of at least
//! 4.5:1 on white (WCAG 2.1, level AA for normal text); the tests check it.

use std::fmt;

/// The page width handouts are designed for.
pub const PAGE_WIDTH_PX: f64 = 1280.0;

/// The width a figure gets on a [`PAGE_WIDTH_PX`] page: the output cell measured 1,135 px in a
/// handout (headless Chromium, 1,280 px window: the page less the notebook's padding and the
/// prompt column), less room for a 17 px scroll bar and a few pixels of margin.
pub const CONTENT_WIDTH_PX: f64 = 1110.0;

/// No text in a figure is smaller than this, at the page width.
pub const TEXT_MIN_PX: f64 = 12.0;

/// Labels, notes, tick labels.
pub const TEXT_PX: f64 = 13.0;

/// Lane names and axis titles.
pub const HEADING_PX: f64 = 14.0;

/// A figure's title.
pub const TITLE_PX: f64 = 16.0;

/// The smallest contrast a text colour may have against the white page (WCAG 2.1 AA).
pub const CONTRAST_MIN: f64 = 4.5;

/// A colour, 8 bits per channel.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Relative luminance, as WCAG 2.1 defines it (sRGB channels linearised).
    pub fn luminance(self) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(self.0) + 0.7152 * linear(self.1) + 0.0722 * linear(self.2)
    }

    /// The contrast ratio of two colours, from 1 (same) to 21 (black on white).
    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// This colour mixed with white: `amount` 0 is the colour, 1 is white.
    pub fn tint(self, amount: f64) -> Rgb {
        let mix = |c: u8| (f64::from(c) + (255.0 - f64::from(c)) * amount.clamp(0.0, 1.0)).round();
        Rgb(mix(self.0) as u8, mix(self.1) as u8, mix(self.2) as u8)
    }

    /// Black or white, whichever reads better on this fill.
    pub fn text_on(self) -> Rgb {
        if self.contrast(INK) >= self.contrast(WHITE) {
            INK
        } else {
            WHITE
        }
    }

    pub(crate) fn plotters(self) -> plotters::style::RGBColor {
        plotters::style::RGBColor(self.0, self.1, self.2)
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

pub const WHITE: Rgb = Rgb(255, 255, 255);
/// Text and strong lines.
pub const INK: Rgb = Rgb(26, 26, 26);
/// Secondary text: tick labels, notes, units (7:1 on white).
pub const MUTED: Rgb = Rgb(85, 85, 85);
/// Lifelines, axes, grid lines: drawn, never written with.
pub const RULE: Rgb = Rgb(170, 170, 170);
pub const GRID: Rgb = Rgb(225, 225, 225);

/// Messages, the first series, entries in an order.
pub const BLUE: Rgb = Rgb(25, 95, 160);
/// Failures, drops, the culprit.
pub const RED: Rgb = Rgb(190, 30, 35);
/// Success, chosen entries.
pub const GREEN: Rgb = Rgb(25, 115, 45);
/// Unknown outcomes, pauses.
pub const ORANGE: Rgb = Rgb(170, 80, 0);
/// Timers, candidates.
pub const PURPLE: Rgb = Rgb(110, 60, 160);
pub const BROWN: Rgb = Rgb(125, 75, 45);
pub const TEAL: Rgb = Rgb(0, 110, 115);

/// Series colours, in order: all dark enough to write with.
pub const PALETTE: [Rgb; 6] = [BLUE, RED, GREEN, ORANGE, PURPLE, TEAL];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_matches_the_wcag_reference_values() {
        // Black on white is 21:1, a colour on itself 1:1, and #777 on white about 4.48:1 (the
        // classic "just fails AA" grey).
        assert!((INK.contrast(WHITE) - 17.4).abs() < 0.2);
        assert!((Rgb(0, 0, 0).contrast(WHITE) - 21.0).abs() < 1e-9);
        assert!((BLUE.contrast(BLUE) - 1.0).abs() < 1e-9);
        assert!((Rgb(0x77, 0x77, 0x77).contrast(WHITE) - 4.48).abs() < 0.01);
        // The old diagram grey (#828282) the handout review measured at about 3.9:1.
        assert!((Rgb(130, 130, 130).contrast(WHITE) - 3.9).abs() < 0.1);
    }

    #[test]
    fn every_text_colour_reads_on_white() {
        for colour in [INK, MUTED, BLUE, RED, GREEN, ORANGE, PURPLE, BROWN, TEAL] {
            assert!(
                colour.contrast(WHITE) >= CONTRAST_MIN,
                "{colour}: {:.2}:1",
                colour.contrast(WHITE)
            );
        }
    }

    #[test]
    fn text_on_a_fill_picks_the_readable_ink() {
        assert_eq!(BLUE.text_on(), WHITE);
        assert_eq!(BLUE.tint(0.8).text_on(), INK);
        for fill in PALETTE
            .iter()
            .flat_map(|c| [0.0, 0.3, 0.6, 0.9].map(|t| c.tint(t)))
        {
            assert!(fill.contrast(fill.text_on()) >= CONTRAST_MIN, "{fill}");
        }
        assert_eq!(RED.tint(1.0), WHITE);
    }
}
