//! How a column of a results table is written: every number of a column with the same number of
//! decimals (so "0" never stands beside "9.422"), large whole numbers with thousands separators,
//! numbers right-aligned and text left-aligned. Kept apart from polars so that it is tested
//! without the `tables` feature.

/// One value of a column.
#[derive(Clone, Debug, PartialEq)]
pub enum CellValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// A column ready to print.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnText {
    pub cells: Vec<String>,
    /// Numbers: right-aligned (and the header with them).
    pub numeric: bool,
}

/// The most decimals a column shows.
pub const DECIMALS_MAX: usize = 3;

/// The decimals a value needs, up to [`DECIMALS_MAX`]: 12.5 needs 1, 9.4217 needs 3, 2 needs 0.
fn decimals_needed(v: f64) -> usize {
    (0..DECIMALS_MAX)
        .find(|d| {
            let scale = 10f64.powi(*d as i32);
            ((v * scale).round() - v * scale).abs() < 1e-6 * scale.max(1.0)
        })
        .unwrap_or(DECIMALS_MAX)
}

/// `digits` with a comma every three digits from the right, when there are more than four.
fn group_thousands(digits: &str) -> String {
    if digits.len() <= 4 {
        return digits.to_string();
    }
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn number(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        };
    }
    let text = format!("{:.decimals$}", v.abs());
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let sign = if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "−"
    } else {
        ""
    };
    match fraction {
        Some(f) => format!("{sign}{}.{f}", group_thousands(whole)),
        None => format!("{sign}{}", group_thousands(whole)),
    }
}

/// Writes a column: numbers share one precision (the most any of them needs, at most three
/// decimals), nulls are empty, text stays as it is.
pub fn format_column(values: &[CellValue]) -> ColumnText {
    let numeric = values
        .iter()
        .any(|v| matches!(v, CellValue::Int(_) | CellValue::Float(_)))
        && values
            .iter()
            .all(|v| matches!(v, CellValue::Int(_) | CellValue::Float(_) | CellValue::Null));
    let decimals = values
        .iter()
        .filter_map(|v| match v {
            CellValue::Float(f) if f.is_finite() => Some(decimals_needed(*f)),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let cells = values
        .iter()
        .map(|v| match v {
            CellValue::Null => String::new(),
            CellValue::Bool(b) => b.to_string(),
            CellValue::Int(i) => number(*i as f64, if numeric { decimals } else { 0 }),
            CellValue::Float(f) => number(*f, decimals),
            CellValue::Text(t) => t.clone(),
        })
        .collect();
    ColumnText { cells, numeric }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CellValue::*;

    #[test]
    fn a_column_of_numbers_has_one_precision() {
        // The handout review: "0" beside "9.422".
        let c = format_column(&[Float(0.0), Float(9.4217), Float(12.5)]);
        assert_eq!(c.cells, ["0.000", "9.422", "12.500"]);
        assert!(c.numeric);
        let c = format_column(&[Float(0.5), Float(0.8), Float(0.95)]);
        assert_eq!(c.cells, ["0.50", "0.80", "0.95"]);
        let c = format_column(&[Float(100.0), Float(250.0)]);
        assert_eq!(c.cells, ["100", "250"]);
        let c = format_column(&[Int(3), Float(2.5), Null]);
        assert_eq!(c.cells, ["3.0", "2.5", ""]);
    }

    #[test]
    fn large_numbers_are_grouped_and_signs_are_minus_signs() {
        let c = format_column(&[Int(100_000), Int(1_234_567), Int(4_096), Int(-12_000)]);
        assert_eq!(c.cells, ["100,000", "1,234,567", "4096", "−12,000"]);
        assert_eq!(format_column(&[Float(-0.0001)]).cells, ["0.000"]);
        assert_eq!(
            format_column(&[Float(f64::NAN), Float(1.5)]).cells,
            ["NaN", "1.5"]
        );
    }

    #[test]
    fn text_is_text_and_is_not_aligned_as_a_number() {
        let c = format_column(&[Text("R=1 W=1 Off".into()), Text("R=2 W=2 Sync".into())]);
        assert!(!c.numeric);
        assert_eq!(c.cells[0], "R=1 W=1 Off");
        let mixed = format_column(&[Text("n/a".into()), Int(3)]);
        assert!(!mixed.numeric);
        assert_eq!(format_column(&[Bool(true)]).cells, ["true"]);
    }
}
