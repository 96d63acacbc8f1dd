//! A polars DataFrame shown as an HTML table.

use super::escape_html;
use polars::prelude::*;

/// A table of results. Build the DataFrame with polars (`df!`, group-by, sort) and wrap it.
#[derive(Clone, Debug)]
pub struct Table {
    frame: DataFrame,
    caption: Option<String>,
}

impl Table {
    /// Shows `frame` as it is: column names are the headers, so put units in them.
    pub fn new(frame: DataFrame) -> Table {
        Table {
            frame,
            caption: None,
        }
    }

    /// A caption above the table, saying what the rows are.
    pub fn caption(mut self, caption: impl Into<String>) -> Table {
        self.caption = Some(caption.into());
        self
    }

    /// The data, for assertions on what the table shows.
    pub fn frame(&self) -> &DataFrame {
        &self.frame
    }

    /// An HTML `<table>`; numbers right-aligned, nulls shown as empty cells.
    pub fn to_html(&self) -> String {
        let mut html = String::from("<table class=\"pattern-table\">");
        if let Some(c) = &self.caption {
            html.push_str(&format!("<caption>{}</caption>", escape_html(c)));
        }
        html.push_str("<thead><tr>");
        for name in self.frame.get_column_names() {
            html.push_str(&format!("<th>{}</th>", escape_html(name.as_str())));
        }
        html.push_str("</tr></thead><tbody>");
        let columns = self.frame.columns();
        for row in 0..self.frame.height() {
            html.push_str("<tr>");
            for column in columns {
                let value = column.get(row).unwrap_or(AnyValue::Null);
                let numeric = value.is_primitive_numeric();
                let text = match &value {
                    AnyValue::Null => String::new(),
                    AnyValue::String(s) => s.to_string(),
                    AnyValue::StringOwned(s) => s.to_string(),
                    AnyValue::Float64(f) => format_float(*f),
                    AnyValue::Float32(f) => format_float(*f as f64),
                    other => other.to_string(),
                };
                let align = if numeric {
                    " style=\"text-align:right\""
                } else {
                    ""
                };
                html.push_str(&format!("<td{align}>{}</td>", escape_html(&text)));
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table>");
        html
    }

    /// evcxr's display hook: the HTML table, and polars' text table for plain-text front ends.
    pub fn evcxr_display(&self) {
        super::emit("text/plain", &self.frame.to_string());
        super::emit("text/html", &self.to_html());
    }
}

fn format_float(f: f64) -> String {
    if f == f.trunc() && f.abs() < 1e15 {
        format!("{f:.0}")
    } else if f.abs() >= 0.01 {
        format!("{f:.3}")
    } else {
        format!("{f:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_header_rows_and_escapes() {
        let frame = df!("config" => ["R=1 <W>", "R=2"], "stale %" => [12.5, 0.0]).unwrap();
        let html = Table::new(frame).caption("stale reads").to_html();
        assert!(html.contains("<th>config</th><th>stale %</th>"));
        assert!(html.contains("<td>R=1 &lt;W&gt;</td><td style=\"text-align:right\">12.500</td>"));
        assert!(html.contains("<caption>stale reads</caption>"));
        assert_eq!(html.matches("<tr>").count(), 3);
    }
}
