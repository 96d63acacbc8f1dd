//! Everything a notebook shows: figures (plotters SVG), tables, message sequence diagrams, the
//! timelines of checked histories.
//!
//! Display follows evcxr's protocol: a cell whose last expression is a value with an
//! `evcxr_display` method prints `EVCXR_BEGIN_CONTENT <mime>`, the content, `EVCXR_END_CONTENT`.
//! Figures are sent as `text/html` holding the `<svg>` itself, which JupyterLab and nbconvert both
//! keep inline (nbconvert would turn `image/svg+xml` into a base64 `<img>`).

mod axis;
mod bytes;
mod chart;
mod columns;
mod figure;
mod grid;
mod leader;
mod scene;
mod sequence;
pub mod style;
#[cfg(feature = "tables")]
mod table;
mod text;
mod timeline;

pub use axis::{Axis, AxisTick, Scale, format_number};
pub use bytes::{ByteBars, ByteKind, ByteSpan};
pub use chart::Chart;
pub use columns::{CellValue, ColumnText, DECIMALS_MAX, format_column};
pub use figure::{Figure, FigureError};
pub use grid::{CELL_TEXT_MAX, CellGrid, EntryState, LogEntry, LogGrid};
pub use leader::{LeaderChart, Role, RoleSpan};
pub use scene::{Anchor, KeyEntry, Label, Marker, Placer, Problem, Scene, Shape, Swatch, Title};
pub use sequence::{
    Arrow, ArrowKind, Band, BandStyle, Emphasis, Layout, Mark, MarkStyle, NetworkNote,
    SequenceDiagram,
};
#[cfg(feature = "tables")]
pub use table::Table;
pub use text::{Rect, text_width, wrap};
pub use timeline::{
    BarRole, TIMELINE_OPERATIONS_MAX, Timeline, TimelineBar, TimelineLayout, timeline,
    timeline_layout,
};

/// Shows a figure inline, or in plain text why it could not be drawn: every figure builder's
/// `evcxr_display`.
pub(crate) fn show(figure: Result<Figure, FigureError>) {
    match figure {
        Ok(figure) => figure.evcxr_display(),
        Err(e) => emit("text/plain", &e.to_string()),
    }
}

/// Prints one evcxr display block. evcxr keeps the last block of each MIME type in a cell.
pub fn emit(mime: &str, content: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT");
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
