//! A figure: an SVG drawn with plotters, shown inline.

use plotters::coord::Shift;
use plotters::prelude::*;
use std::fmt;
use std::path::Path;

/// Why a figure could not be drawn.
#[derive(Debug)]
pub struct FigureError(pub String);

impl fmt::Display for FigureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not draw the figure: {}", self.0)
    }
}

impl std::error::Error for FigureError {}

/// An SVG image, shown inline in a notebook and saved as a `.svg` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    svg: String,
}

impl Figure {
    /// Wraps SVG text drawn elsewhere.
    pub fn from_svg(svg: impl Into<String>) -> Figure {
        Figure { svg: svg.into() }
    }

    /// Draws a `width` × `height` figure with plotters.
    pub fn draw<F>(width: u32, height: u32, draw: F) -> Result<Figure, FigureError>
    where
        F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), Box<dyn std::error::Error>>,
    {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| FigureError(e.to_string()))?;
            draw(&root).map_err(|e| FigureError(e.to_string()))?;
            root.present().map_err(|e| FigureError(e.to_string()))?;
        }
        Ok(Figure { svg })
    }

    /// The SVG text, for saving or embedding elsewhere.
    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// Writes the SVG to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, &self.svg)
    }

    /// The HTML a notebook shows: the `<svg>` inline at its own size. A figure wider than the
    /// cell scrolls sideways instead of shrinking (`max-width: none` on the `<svg>` overrides
    /// JupyterLab's and the handout's `max-width: 100%`), so its text stays at the size it was
    /// laid out with ([`super::style::TEXT_MIN_PX`] at least).
    pub fn to_html(&self) -> String {
        let svg = match self.svg.strip_prefix("<svg ") {
            Some(rest) if !self.svg[..self.svg.find('>').unwrap_or(0)].contains("style=") => {
                format!("<svg style=\"max-width:none;height:auto\" {rest}")
            }
            _ => self.svg.clone(),
        };
        format!(
            "<div class=\"pattern-figure\" style=\"max-width:100%;overflow-x:auto\">{svg}</div>"
        )
    }

    /// The drawing's width in pixels, as its `<svg>` element says.
    pub fn width(&self) -> Option<f64> {
        let head = &self.svg[..self.svg.find('>')?];
        let at = head.find(" width=\"")? + " width=\"".len();
        head[at..].split('"').next()?.parse().ok()
    }

    /// evcxr's display hook.
    pub fn evcxr_display(&self) {
        super::emit("text/html", &self.to_html());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_keeps_the_svg_at_its_own_size_and_scrolls() {
        let figure = Figure::draw(1500, 100, |_| Ok(())).unwrap();
        assert_eq!(figure.width(), Some(1500.0));
        let html = figure.to_html();
        assert!(html.contains("overflow-x:auto"));
        assert!(
            html.contains("<svg style=\"max-width:none;height:auto\" "),
            "{html}"
        );
        assert_eq!(html.matches("<svg").count(), 1);
    }
}
