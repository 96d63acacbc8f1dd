//! EDN text for history values, printed the way Clojure's `pr-str` prints them.

use super::Value;

/// Appends the EDN form of `value` to `out`: strings quoted with `"` and `\` escaped, `nil`,
/// keywords with their colon, vectors in `[...]` separated by one space, maps as `{k v, k v}`.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Str(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Value::Keyword(k) => {
            out.push(':');
            out.push_str(k);
        }
        Value::Vector(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, k);
                out.push(' ');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{EventType, History};

    #[test]
    fn prints_the_reference_fixture_byte_for_byte() {
        // Spec Appendix A.4, the shortest fixture: two processes numbered by first appearance.
        let mut h = History::new();
        h.record("client1", EventType::Invoke, "write", "v0", Some(1));
        h.record("client1", EventType::Ok, "write", "v0", Some(4));
        h.record("client2", EventType::Invoke, "read", Value::Nil, Some(5));
        h.record("client2", EventType::Ok, "read", "v0", Some(5));
        assert_eq!(
            h.to_edn(),
            "[{:process 0, :process-name \"client1\", :type :invoke, :f :write, :value \"v0\"} \
             {:process 0, :process-name \"client1\", :type :ok, :f :write, :value \"v0\"} \
             {:process 1, :process-name \"client2\", :type :invoke, :f :read, :value nil} \
             {:process 1, :process-name \"client2\", :type :ok, :f :read, :value \"v0\"}]"
        );
    }

    #[test]
    fn escapes_strings_and_nests_tuples() {
        let mut out = String::new();
        write_value(
            &mut out,
            &Value::Vector(vec![
                Value::str("k\"1"),
                Value::Nil,
                Value::Keyword("x".into()),
            ]),
        );
        assert_eq!(out, "[\"k\\\"1\" nil :x]");
    }
}
