//! TLA+ values as TLC prints them in a trace, read back into data.
//!
//! TLC writes every value of a state in a fixed, normalised syntax: `TRUE`, `42`, `"text"`, a
//! model value's bare name (`n1`), sets `{a, b}`, sequences and tuples `<<a, b>>`, records
//! `[from |-> n1, gen |-> 1]` and other functions `(n1 :> 0 @@ n2 :> 0)`. A function whose domain
//! is `1..n` is a sequence and prints as one; a function whose domain is strings is a record and
//! prints as one; an integer interval may print as `1..3`. Long values wrap over several lines.
//! [`parse_value`] reads all of that; anything else is an error that says where and what, never a
//! panic (nesting is bounded, integers are checked).

use std::fmt;

/// A TLA+ value from a TLC trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Str(String),
    /// A model value of the .cfg (`Nodes = {n1, n2, n3}`), by name.
    ModelValue(String),
    /// A set, elements in TLC's printed order. `1..3` is read as `{1, 2, 3}`.
    Set(Vec<Value>),
    /// A sequence or tuple `<<a, b>>`: the function on `1..n`. `<<>>` is also the empty function.
    Seq(Vec<Value>),
    /// A record, fields in printed order.
    Record(Vec<(String, Value)>),
    /// Any other function, `(k :> v @@ ...)`, pairs in printed order.
    Function(Vec<(Value, Value)>),
}

/// Why a value could not be read: where (a character offset into the text) and what was
/// expected there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueError {
    pub offset: usize,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at character {}: expected {}, found {}",
            self.offset, self.expected, self.found
        )
    }
}

impl std::error::Error for ValueError {}

/// Reads one TLA+ value, as TLC prints it, from the whole of `text` (surrounding whitespace and
/// line breaks are fine).
pub fn parse_value(text: &str) -> Result<Value, ValueError> {
    let mut reader = Reader {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let value = reader.value()?;
    reader.skip_blank();
    if reader.pos < reader.chars.len() {
        return Err(reader.error("the end of the value"));
    }
    Ok(value)
}

impl Value {
    /// The model value or string `name` as a key: what `f[n1]` looks up.
    fn matches_key(&self, key: &str) -> bool {
        matches!(self, Value::ModelValue(name) | Value::Str(name) if name == key)
    }

    /// `f[key]` for a key written as text: a record's field, or a function's value at the model
    /// value or string `key` (`memPromised["n1"]` finds `n1 :> 0`), or a sequence's element at
    /// the 1-based index `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Record(fields) => fields.iter().find(|(f, _)| f == key).map(|(_, v)| v),
            Value::Function(pairs) => pairs
                .iter()
                .find(|(k, _)| k.matches_key(key) || k.to_string() == key)
                .map(|(_, v)| v),
            Value::Seq(items) => key
                .parse::<usize>()
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| items.get(i)),
            _ => None,
        }
    }

    /// `f[arg]` for any argument value: functions by key, records by string, sequences by index.
    pub fn apply(&self, arg: &Value) -> Option<&Value> {
        match (self, arg) {
            (Value::Function(pairs), _) => pairs.iter().find(|(k, _)| k == arg).map(|(_, v)| v),
            (Value::Record(fields), Value::Str(name)) => {
                fields.iter().find(|(f, _)| f == name).map(|(_, v)| v)
            }
            (Value::Seq(items), Value::Int(i)) => usize::try_from(*i)
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| items.get(i)),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A string's text or a model value's name.
    pub fn as_name(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::ModelValue(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of a set or a sequence.
    pub fn elements(&self) -> Option<&[Value]> {
        match self {
            Value::Set(items) | Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Does this set contain `element`?
    pub fn contains(&self, element: &Value) -> bool {
        matches!(self, Value::Set(items) if items.contains(element))
    }

    /// The value as an ordered set of key/value pairs if it is a function of any shape (a record,
    /// a sequence, `(k :> v @@ ...)`): what a diff walks through.
    fn pairs(&self) -> Option<Vec<(Value, &Value)>> {
        match self {
            Value::Record(fields) => Some(
                fields
                    .iter()
                    .map(|(f, v)| (Value::Str(f.clone()), v))
                    .collect(),
            ),
            Value::Function(pairs) => Some(pairs.iter().map(|(k, v)| (k.clone(), v)).collect()),
            Value::Seq(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (Value::Int(i as i64 + 1), v))
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// One difference between two values, found by [`diff`]: at `path` (the function arguments that
/// lead to it, e.g. `[n1]` for `memPromised[n1]`), `before` became `after`. A set's element that
/// appeared has no `before`; one that went has no `after`; likewise a function's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub path: Vec<Value>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl fmt::Display for Difference {
    /// As a table of changes reads it, after the variable's name: `[a1].promised: 0 → 1` (a
    /// function's argument in brackets, a record's field after a dot), `: + x` for a set element
    /// or key that appeared, `: - x` for one that went.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.path {
            match step {
                Value::Str(field) => write!(f, ".{field}")?,
                other => write!(f, "[{other}]")?,
            }
        }
        match (&self.before, &self.after) {
            (Some(before), Some(after)) => write!(f, ": {before} → {after}"),
            (None, Some(after)) => write!(f, ": + {after}"),
            (Some(before), None) => write!(f, ": - {before}"),
            (None, None) => f.write_str(": unchanged"),
        }
    }
}

/// What changed from `before` to `after`, as precisely as the shapes allow: through functions,
/// records and sequences key by key, sets element by element, and otherwise the whole value.
/// This is how a replay recovers an action's arguments, which TLC's trace does not print: a
/// `ReceivePrepare` step whose only memory change is `memPromised[n1]: 0 -> 1` was
/// `ReceivePrepare(n1, 1)`.
pub fn diff(before: &Value, after: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    diff_into(&mut Vec::new(), before, after, &mut out);
    out
}

fn diff_into(path: &mut Vec<Value>, before: &Value, after: &Value, out: &mut Vec<Difference>) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Set(old), Value::Set(new)) => {
            for gone in old.iter().filter(|v| !new.contains(v)) {
                out.push(Difference {
                    path: path.clone(),
                    before: Some(gone.clone()),
                    after: None,
                });
            }
            for came in new.iter().filter(|v| !old.contains(v)) {
                out.push(Difference {
                    path: path.clone(),
                    before: None,
                    after: Some(came.clone()),
                });
            }
        }
        _ => match (before.pairs(), after.pairs()) {
            (Some(old), Some(new)) => {
                for (key, old_value) in &old {
                    path.push(key.clone());
                    match new.iter().find(|(k, _)| k == key) {
                        Some((_, new_value)) => diff_into(path, old_value, new_value, out),
                        None => out.push(Difference {
                            path: path.clone(),
                            before: Some((*old_value).clone()),
                            after: None,
                        }),
                    }
                    path.pop();
                }
                for (key, new_value) in new.iter().filter(|(k, _)| !old.iter().any(|(o, _)| o == k))
                {
                    path.push(key.clone());
                    out.push(Difference {
                        path: path.clone(),
                        before: None,
                        after: Some((*new_value).clone()),
                    });
                    path.pop();
                }
            }
            _ => out.push(Difference {
                path: path.clone(),
                before: Some(before.clone()),
                after: Some(after.clone()),
            }),
        },
    }
}

/// TLC's own syntax, so `parse_value(&v.to_string())` gives `v` back.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, items: &[Value]) -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        }
        match self {
            Value::Bool(true) => f.write_str("TRUE"),
            Value::Bool(false) => f.write_str("FALSE"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        '\r' => f.write_str("\\r")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            Value::ModelValue(name) => f.write_str(name),
            Value::Set(items) => {
                f.write_str("{")?;
                list(f, items)?;
                f.write_str("}")
            }
            Value::Seq(items) => {
                f.write_str("<<")?;
                list(f, items)?;
                f.write_str(">>")
            }
            Value::Record(fields) => {
                f.write_str("[")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name} |-> {value}")?;
                }
                f.write_str("]")
            }
            Value::Function(pairs) if pairs.is_empty() => f.write_str("<<>>"),
            Value::Function(pairs) => {
                f.write_str("(")?;
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" @@ ")?;
                    }
                    write!(f, "{key} :> {value}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// Deeper than any value a model checker prints; the bound keeps hostile input from exhausting
/// the stack.
const MAX_DEPTH: usize = 200;
/// The largest interval `a..b` expanded into a set.
const MAX_INTERVAL: i64 = 1 << 16;

struct Reader {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        let mut ahead = self.chars[self.pos..].iter();
        s.chars().all(|c| ahead.next() == Some(&c))
    }

    fn skip_blank(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_blank();
        if self.starts_with(token) {
            self.pos += token.chars().count();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), ValueError> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.error(&format!("`{token}`")))
        }
    }

    fn error(&self, expected: &str) -> ValueError {
        let found = match self.peek() {
            None => "the end of the text".to_string(),
            Some(_) => {
                let snippet: String = self.chars[self.pos..].iter().take(12).collect();
                format!("{snippet:?}")
            }
        };
        ValueError {
            offset: self.pos,
            expected: expected.to_string(),
            found,
        }
    }

    fn value(&mut self) -> Result<Value, ValueError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("values nested at most {MAX_DEPTH} deep")));
        }
        let value = self.value_inner();
        self.depth -= 1;
        value
    }

    fn value_inner(&mut self) -> Result<Value, ValueError> {
        self.skip_blank();
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                Ok(Value::Set(self.items("}")?))
            }
            Some('<') if self.starts_with("<<") => {
                self.pos += 2;
                Ok(Value::Seq(self.items(">>")?))
            }
            Some('[') => self.record(),
            Some('(') => self.function(),
            Some('"') => self.string(),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.int()?;
                if self.eat("..") {
                    let end = self.int()?;
                    return self.interval(start, end);
                }
                Ok(Value::Int(start))
            }
            Some(c) if c.is_alphabetic() || c == '_' => {
                let name = self.name();
                Ok(match name.as_str() {
                    "TRUE" => Value::Bool(true),
                    "FALSE" => Value::Bool(false),
                    _ => Value::ModelValue(name),
                })
            }
            _ => Err(self.error("a value")),
        }
    }

    /// Comma-separated values up to `close`.
    fn items(&mut self, close: &str) -> Result<Vec<Value>, ValueError> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.value()?);
            if self.eat(close) {
                return Ok(items);
            }
            if !self.eat(",") {
                return Err(self.error(&format!("`,` or `{close}`")));
            }
        }
    }

    fn record(&mut self) -> Result<Value, ValueError> {
        self.expect("[")?;
        let mut fields = Vec::new();
        if self.eat("]") {
            return Ok(Value::Record(fields));
        }
        loop {
            self.skip_blank();
            if !self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                return Err(self.error("a field name"));
            }
            let field = self.name();
            self.expect("|->")?;
            fields.push((field, self.value()?));
            if self.eat("]") {
                return Ok(Value::Record(fields));
            }
            if !self.eat(",") {
                return Err(self.error("`,` or `]`"));
            }
        }
    }

    /// `(k :> v @@ k :> v)`, or a parenthesised value.
    fn function(&mut self) -> Result<Value, ValueError> {
        self.expect("(")?;
        let first = self.value()?;
        if self.eat(")") {
            return Ok(first);
        }
        self.expect(":>")?;
        let mut pairs = vec![(first, self.value()?)];
        loop {
            if self.eat(")") {
                return Ok(Value::Function(pairs));
            }
            if !self.eat("@@") {
                return Err(self.error("`@@` or `)`"));
            }
            let key = self.value()?;
            self.expect(":>")?;
            pairs.push((key, self.value()?));
        }
    }

    fn string(&mut self) -> Result<Value, ValueError> {
        self.pos += 1; // the opening quote
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("`\"` closing the string")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(Value::Str(text));
                }
                Some('\\') => {
                    self.pos += 1;
                    let escaped = match self.peek() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('f') => '\u{c}',
                        Some(c @ ('"' | '\\')) => c,
                        _ => return Err(self.error("an escape: \\\" \\\\ \\n \\t \\r or \\f")),
                    };
                    text.push(escaped);
                    self.pos += 1;
                }
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn int(&mut self) -> Result<i64, ValueError> {
        self.skip_blank();
        let start = self.pos;
        let negative = self.peek() == Some('-');
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == digits_start {
            return Err(self.error("digits"));
        }
        // A TLA+ identifier may start with digits (`1a`); TLC never prints one as a value.
        if self.peek().is_some_and(|c| c.is_alphabetic() || c == '_') {
            self.pos = start;
            return Err(self.error("a number"));
        }
        let digits: String = self.chars[start..self.pos].iter().collect();
        digits.parse::<i64>().map_err(|_| ValueError {
            offset: start,
            expected: "an integer that fits in 64 bits".to_string(),
            found: digits.clone(),
        })
    }

    fn interval(&self, start: i64, end: i64) -> Result<Value, ValueError> {
        if end < start {
            return Ok(Value::Set(Vec::new()));
        }
        if end
            .checked_sub(start)
            .is_none_or(|span| span >= MAX_INTERVAL)
        {
            return Err(ValueError {
                offset: self.pos,
                expected: format!("an interval of at most {MAX_INTERVAL} integers"),
                found: format!("{start}..{end}"),
            });
        }
        Ok(Value::Set((start..=end).map(Value::Int).collect()))
    }

    fn name(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mv(name: &str) -> Value {
        Value::ModelValue(name.to_string())
    }

    #[test]
    fn every_shape_tlc_prints() {
        let cases: &[(&str, Value)] = &[
            ("TRUE", Value::Bool(true)),
            ("-12", Value::Int(-12)),
            (
                "\"a \\\"b\\\" \\\\ c\\n\"",
                Value::Str("a \"b\" \\ c\n".into()),
            ),
            ("n1", mv("n1")),
            ("{}", Value::Set(vec![])),
            ("<<>>", Value::Seq(vec![])),
            (
                "1..3",
                Value::Set(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
            ),
            ("3..1", Value::Set(vec![])),
            (
                "<<1, \"x\">>",
                Value::Seq(vec![Value::Int(1), Value::Str("x".into())]),
            ),
            (
                "[from |-> n1, gen |-> 1]",
                Value::Record(vec![
                    ("from".into(), mv("n1")),
                    ("gen".into(), Value::Int(1)),
                ]),
            ),
            (
                "(n1 :> 0 @@ n2 :> 1)",
                Value::Function(vec![(mv("n1"), Value::Int(0)), (mv("n2"), Value::Int(1))]),
            ),
            (
                "(n1 :> {})",
                Value::Function(vec![(mv("n1"), Value::Set(vec![]))]),
            ),
            ("(7)", Value::Int(7)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_value(text).as_ref(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn values_wrapped_over_lines_as_tlc_wraps_them() {
        let text = "( n1 :> {[gen |-> 1, readValue |-> 0], [gen |-> 2, readValue |-> 0]} @@\n  n2 :> {} @@\n  n3 :> {} )";
        let value = parse_value(text).unwrap();
        assert_eq!(
            value.get("n1").and_then(Value::elements).map(<[_]>::len),
            Some(2)
        );
        assert_eq!(value.get("n3"), Some(&Value::Set(vec![])));
    }

    #[test]
    fn lookups_by_key_field_and_index() {
        let v = parse_value("(n1 :> [a |-> <<10, 20>>] @@ \"s\" :> 2 @@ 3 :> TRUE)").unwrap();
        assert_eq!(
            v.get("n1")
                .and_then(|r| r.get("a"))
                .and_then(|s| s.get("2")),
            Some(&Value::Int(20))
        );
        assert_eq!(v.get("s"), Some(&Value::Int(2)));
        assert_eq!(v.get("3"), Some(&Value::Bool(true)));
        assert_eq!(v.apply(&Value::Int(3)), Some(&Value::Bool(true)));
        assert_eq!(v.get("n9"), None);
        assert_eq!(Value::Int(1).get("x"), None);
        let s = parse_value("<<5>>").unwrap();
        assert_eq!(
            (s.get("0"), s.get("1"), s.get("-1")),
            (None, Some(&Value::Int(5)), None)
        );
        assert_eq!(s.apply(&Value::Int(0)), None);
        assert_eq!(s.apply(&Value::Int(-3)), None);
    }

    #[test]
    fn bad_text_is_an_error_that_says_where() {
        for text in [
            "",
            "{1,",
            "{1 2}",
            "[a |-> ]",
            "[a = 1]",
            "(n1 :> 0 @ n2 :> 1)",
            "\"open",
            "\"\\q\"",
            "<<1",
            "1..",
            "1..999999999",
            "99999999999999999999",
            "-",
            "1a",
            "}",
            "(1 :>)",
            "TRUE FALSE",
            "[|-> 1]",
            "-9223372036854775808..9223372036854775807",
        ] {
            let err = parse_value(text).expect_err(text);
            assert!(err.offset <= text.chars().count(), "{text}: {err}");
        }
        let err = parse_value("{1, 2 3}").unwrap_err();
        assert_eq!((err.offset, err.expected.as_str()), (6, "`,` or `}`"));
    }

    #[test]
    fn nesting_is_bounded_instead_of_overflowing_the_stack() {
        let deep = "{".repeat(100_000);
        assert!(parse_value(&deep).unwrap_err().expected.contains("nested"));
        let fine = format!("{}{}", "{".repeat(50), "}".repeat(50));
        assert!(parse_value(&fine).is_ok());
    }

    #[test]
    fn diff_finds_the_changed_cell_and_the_added_element() {
        let before = parse_value("[mem |-> (n1 :> 0 @@ n2 :> 0), sent |-> {1}]").unwrap();
        let after = parse_value("[mem |-> (n1 :> 0 @@ n2 :> 3), sent |-> {1, 2}]").unwrap();
        assert_eq!(
            diff(&before, &after),
            vec![
                Difference {
                    path: vec![Value::Str("mem".into()), mv("n2")],
                    before: Some(Value::Int(0)),
                    after: Some(Value::Int(3)),
                },
                Difference {
                    path: vec![Value::Str("sent".into())],
                    before: None,
                    after: Some(Value::Int(2)),
                },
            ]
        );
        let shown: Vec<String> = diff(&before, &after)
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(shown, [".mem[n2]: 0 → 3", ".sent: + 2"]);
        assert!(diff(&before, &before).is_empty());
        let shape_change = diff(&Value::Int(1), &Value::Str("1".into()));
        assert_eq!(shape_change.len(), 1);
        let key_gone = diff(
            &parse_value("(a :> 1 @@ b :> 2)").unwrap(),
            &parse_value("(a :> 1 @@ c :> 2)").unwrap(),
        );
        assert_eq!(key_gone.len(), 2);
        assert_eq!(
            (key_gone[0].after.as_ref(), key_gone[1].before.as_ref()),
            (None, None)
        );
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            "[ -~\\n\\t]{0,6}".prop_map(Value::Str),
            "[a-z][a-z0-9_]{0,4}"
                .prop_filter("a keyword", |s| s != "TRUE" && s != "FALSE")
                .prop_map(Value::ModelValue),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Set),
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Seq),
                prop::collection::vec(("[a-z][a-zA-Z0-9]{0,4}", inner.clone()), 1..4)
                    .prop_map(Value::Record),
                prop::collection::vec((inner.clone(), inner), 1..4).prop_map(Value::Function),
            ]
        })
    }

    proptest! {
        #[test]
        fn printing_then_reading_gives_the_value_back(value in arb_value()) {
            prop_assert_eq!(parse_value(&value.to_string()), Ok(value));
        }

        #[test]
        fn any_text_reads_or_errs_without_panicking(text in "[ -~\\n]{0,40}") {
            let _ = parse_value(&text);
        }

        #[test]
        fn tlc_alphabet_soup_never_panics(text in "[{}<>\\[\\]()|,:@.\\-0-9a-z\" \\n]{0,60}") {
            let _ = parse_value(&text);
        }
    }
}
