//! A polars DataFrame shown as an HTML table.

use super::columns::{CellValue, ColumnText, format_column};
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

    /// An HTML `<table>`: each column written by [`format_column`] (one precision per column),
    /// numbers right-aligned in tabular figures, text left-aligned (JupyterLab right-aligns
    /// every cell unless told otherwise), nulls empty. A table without a caption says so in red.
    pub fn to_html(&self) -> String {
        let mut html = String::from("<table class=\"pattern-table\">");
        match &self.caption {
            Some(c) => html.push_str(&format!(
                "<caption style=\"text-align:left;font-weight:bold\">{}</caption>",
                escape_html(c)
            )),
            None => html.push_str(
                "<caption style=\"text-align:left;font-weight:bold;color:#be1e23\">Untitled table: say what the rows are with .caption(\"…\")</caption>",
            ),
        }
        let columns: Vec<ColumnText> = self
            .frame
            .columns()
            .iter()
            .map(|column| {
                let values: Vec<CellValue> = (0..self.frame.height())
                    .map(|row| cell_value(column.get(row).unwrap_or(AnyValue::Null)))
                    .collect();
                format_column(&values)
            })
            .collect();
        let align = |numeric: bool| {
            if numeric {
                " style=\"text-align:right;font-variant-numeric:tabular-nums\""
            } else {
                " style=\"text-align:left\""
            }
        };
        html.push_str("<thead><tr>");
        for (name, column) in self.frame.get_column_names().iter().zip(&columns) {
            html.push_str(&format!(
                "<th{}>{}</th>",
                align(column.numeric),
                escape_html(name.as_str())
            ));
        }
        html.push_str("</tr></thead><tbody>");
        for row in 0..self.frame.height() {
            html.push_str("<tr>");
            for column in &columns {
                html.push_str(&format!(
                    "<td{}>{}</td>",
                    align(column.numeric),
                    escape_html(&column.cells[row])
                ));
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

fn cell_value(value: AnyValue<'_>) -> CellValue {
    match value {
        AnyValue::Null => CellValue::Null,
        AnyValue::Boolean(b) => CellValue::Bool(b),
        AnyValue::String(s) => CellValue::Text(s.to_string()),
        AnyValue::StringOwned(s) => CellValue::Text(s.to_string()),
        AnyValue::Float64(f) => CellValue::Float(f),
        AnyValue::Float32(f) => CellValue::Float(f64::from(f)),
        other if other.is_primitive_numeric() => match other.extract::<i64>() {
            Some(i) => CellValue::Int(i),
            None => CellValue::Text(other.to_string()),
        },
        other => CellValue::Text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_header_rows_and_escapes() {
        let frame = df!("config" => ["R=1 <W>", "R=2"], "stale %" => [12.5, 0.0]).unwrap();
        let html = Table::new(frame).caption("stale reads").to_html();
        let left = "style=\"text-align:left\"";
        let right = "style=\"text-align:right;font-variant-numeric:tabular-nums\"";
        assert!(html.contains(&format!("<th {left}>config</th><th {right}>stale %</th>")));
        assert!(html.contains(&format!(
            "<td {left}>R=1 &lt;W&gt;</td><td {right}>12.5</td>"
        )));
        assert!(
            html.contains(&format!("<td {right}>0.0</td>")),
            "one precision per column"
        );
        assert!(html.contains(">stale reads</caption>"));
        assert_eq!(html.matches("<tr>").count(), 3);
        assert!(
            Table::new(df!("a" => [1]).unwrap())
                .to_html()
                .contains("Untitled table")
        );
    }
}
