//! EDN text for histories: values printed the way Clojure's `pr-str` prints them, and a reader for
//! the histories Jepsen, Knossos and Porcupine write (spec §1.13).
//!
//! The reader is our own small recursive-descent parser over the EDN subset histories use; every
//! error names the line and column and what was expected there, because a learner's first history
//! file is usually hand-written.

use super::{Event, EventType, History, Position, Value};
use std::fmt;

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

// ---------------------------------------------------------------------------------------------
// Reading: Jepsen, Knossos and Porcupine histories.
// ---------------------------------------------------------------------------------------------

/// Why EDN text could not be read as a history: where (1-based line and column, counted in
/// characters), what the reader expected there, and what it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdnError {
    pub line: usize,
    pub column: usize,
    /// What would have been accepted here, e.g. `a map (one operation)`.
    pub expected: String,
    /// What the text held instead, e.g. `"]"` or `end of input`.
    pub found: String,
}

impl fmt::Display for EdnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: expected {}, found {}",
            self.line, self.column, self.expected, self.found
        )
    }
}

impl std::error::Error for EdnError {}

/// Reads a history in any of the shapes Jepsen, Knossos and Porcupine ship: one vector or list of
/// operation maps, or maps one after another (Jepsen's `history.edn` has one per line).
///
/// Keys `:process`, `:type`, `:f` are required; `:value` defaults to `nil`; `:time`,
/// `:process-name` are kept in their fields; `:index` is dropped (it is the event's position, which
/// the history keeps by order); `:key`, when there is one (Porcupine's key-value data), makes the
/// value a `[key value]` tuple, the shape of Jepsen's independent keys, so that one model reads
/// both; every other key is kept in [`Event::extra`]. Events of the
/// `:nemesis` process are skipped: faults are not client operations. Tagged literals such as
/// `#jepsen.history.Op{...}` are read as their untagged form; floating-point numbers and characters
/// are refused (no history value needs them).
pub fn parse_edn(text: &str) -> Result<History, EdnError> {
    let mut reader = Reader::new(text);
    let mut history = History::new();
    reader.skip_blank(0)?;
    match reader.peek() {
        Some(open @ ('[' | '(')) => {
            let close = if open == '[' { ']' } else { ')' };
            reader.pos += 1;
            loop {
                reader.skip_blank(0)?;
                match reader.peek() {
                    Some(c) if c == close => {
                        reader.pos += 1;
                        break;
                    }
                    Some('{') | Some('#') => reader.read_event_into(&mut history)?,
                    _ => {
                        return Err(reader.error(&format!(
                            "a map (one operation) or `{close}` closing the history"
                        )));
                    }
                }
            }
            reader.skip_blank(0)?;
            if reader.peek().is_some() {
                return Err(reader.error("end of input after the history's closing bracket"));
            }
        }
        _ => loop {
            reader.skip_blank(0)?;
            if reader.peek().is_none() {
                break;
            }
            reader.read_event_into(&mut history)?;
        },
    }
    Ok(history)
}

/// Reads one EDN value, such as the `--initial 0` or `--initial '"x"'` of the command line.
pub fn parse_value(text: &str) -> Result<Value, EdnError> {
    let mut reader = Reader::new(text);
    let value = reader.read_value(0)?;
    reader.skip_blank(0)?;
    if reader.peek().is_some() {
        return Err(reader.error("end of input after one value"));
    }
    Ok(value)
}

/// Deeper nesting than any history needs is refused, so hostile input cannot overflow the stack
/// (histories nest four or five deep: a transaction's micro-operations, in a vector, in a map).
/// Each level costs a few KiB of stack in a debug build; 64 levels fit in 512 KiB.
const NESTING_MAX: usize = 64;

struct Reader<'a> {
    text: &'a str,
    /// Byte offset of the next character.
    pos: usize,
    /// The last offset located, its line and the offset where that line starts: events are
    /// located in order, so each is found by scanning on from the one before.
    located: (usize, usize, usize),
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Reader<'a> {
        Reader {
            text,
            pos: 0,
            located: (0, 1, 0),
        }
    }

    /// The line and column of byte offset `at`, in time proportional to the distance from the
    /// offset located before.
    fn locate(&mut self, at: usize) -> Position {
        let (mut from, mut line, mut line_start) = self.located;
        if at < from {
            (from, line, line_start) = (0, 1, 0);
        }
        for (i, &b) in self.text.as_bytes()[from..at].iter().enumerate() {
            if b == b'\n' {
                line += 1;
                line_start = from + i + 1;
            }
        }
        self.located = (at, line, line_start);
        Position {
            line,
            column: self.text[line_start..at].chars().count() + 1,
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Line and column (1-based, in characters) of byte offset `at`.
    fn position(&self, at: usize) -> (usize, usize) {
        let before = &self.text[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    fn error_at(&self, at: usize, expected: &str, found: String) -> EdnError {
        let (line, column) = self.position(at);
        EdnError {
            line,
            column,
            expected: expected.to_string(),
            found,
        }
    }

    /// An error at the current position, naming the text found there.
    fn error(&self, expected: &str) -> EdnError {
        let found = match self.peek() {
            None => "end of input".to_string(),
            Some(_) => {
                let snippet: String = self.text[self.pos..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .take(20)
                    .collect();
                format!("`{snippet}`")
            }
        };
        self.error_at(self.pos, expected, found)
    }

    /// Skips whitespace, commas (whitespace in EDN), `;` comments and `#_` discarded forms. A
    /// discarded form is read one level deeper than `depth`, so `[#_[#_[...` nests as deep as it
    /// looks and meets the same limit.
    fn skip_blank(&mut self, depth: usize) -> Result<(), EdnError> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() || c == ',' => self.pos += c.len_utf8(),
                Some(';') => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                Some('#') if self.text[self.pos..].starts_with("#_") => {
                    self.pos += 2;
                    self.read_value(depth + 1)?;
                }
                _ => return Ok(()),
            }
        }
    }

    fn read_event_into(&mut self, history: &mut History) -> Result<(), EdnError> {
        let start = self.pos;
        let value = self.read_value(0)?;
        let Value::Map(entries) = value else {
            return Err(self.error_at(
                start,
                "a map (one operation)",
                format!("`{}`", shorten(&value.to_string())),
            ));
        };
        let position = self.locate(start);
        if let Some(event) = event_from_map(entries, position).map_err(|(expected, found)| {
            let mut e = self.error_at(start, &expected, found);
            e.expected = format!("{} in the operation starting here", e.expected);
            e
        })? {
            history.events.push(event);
        }
        Ok(())
    }

    fn read_value(&mut self, depth: usize) -> Result<Value, EdnError> {
        if depth > NESTING_MAX {
            return Err(self.error(&format!("at most {NESTING_MAX} levels of nesting")));
        }
        self.skip_blank(depth)?;
        let start = self.pos;
        match self.peek() {
            None => Err(self.error("a value")),
            Some('[') => {
                self.pos += 1;
                Ok(Value::Vector(self.read_items(']', depth)?))
            }
            Some('(') => {
                self.pos += 1;
                Ok(Value::Vector(self.read_items(')', depth)?))
            }
            Some('{') => {
                self.pos += 1;
                let items = self.read_items('}', depth)?;
                if items.len() % 2 == 1 {
                    return Err(self.error_at(
                        start,
                        "a map with an even number of forms (key value pairs)",
                        format!("{} forms", items.len()),
                    ));
                }
                let mut items = items.into_iter();
                let mut entries = Vec::new();
                while let (Some(k), Some(v)) = (items.next(), items.next()) {
                    entries.push((k, v));
                }
                Ok(Value::Map(entries))
            }
            Some('"') => self.read_string(),
            Some(':') => {
                self.pos += 1;
                let name = self.read_token();
                if name.is_empty() {
                    return Err(self.error("a keyword name after `:`"));
                }
                Ok(Value::Keyword(name.to_string()))
            }
            Some('#') => {
                self.pos += 1;
                match self.peek() {
                    Some('{') => {
                        self.pos += 1;
                        Ok(Value::Vector(self.read_items('}', depth)?))
                    }
                    Some(c) if is_token_char(c) => {
                        // A tagged literal: the tag names a reader function we do not have; the
                        // form after it carries the data.
                        self.read_token();
                        self.read_value(depth + 1)
                    }
                    _ => Err(self.error("a set `#{...}`, a discard `#_` or a tagged literal")),
                }
            }
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() => self.read_number_or_symbol(),
            Some(c) if is_token_char(c) => {
                let token = self.read_token();
                match token {
                    "nil" => Ok(Value::Nil),
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => Err(self.error_at(
                        start,
                        "a value (nil, true, false, an integer, a string, a keyword, a vector, a list, a set or a map)",
                        format!("the symbol `{}`", shorten(token)),
                    )),
                }
            }
            Some(_) => Err(self.error(
                "a value (nil, true, false, an integer, a string, a keyword, a vector, a list, a set or a map)",
            )),
        }
    }

    fn read_items(&mut self, close: char, depth: usize) -> Result<Vec<Value>, EdnError> {
        let mut items = Vec::new();
        loop {
            self.skip_blank(depth)?;
            match self.peek() {
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                None => return Err(self.error(&format!("`{close}` or another form"))),
                Some(c @ (']' | ')' | '}')) => {
                    return Err(self.error(&format!("`{close}` or another form, not `{c}`")));
                }
                Some(_) => items.push(self.read_value(depth + 1)?),
            }
        }
    }

    /// A symbol or keyword name: everything up to a delimiter.
    fn read_token(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !is_token_char(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.text[start..self.pos]
    }

    fn read_number_or_symbol(&mut self) -> Result<Value, EdnError> {
        let start = self.pos;
        let token = self.read_token();
        let digits = token.strip_suffix('N').unwrap_or(token);
        if let Ok(n) = digits.parse::<i64>() {
            return Ok(Value::Int(n));
        }
        let unsigned = token.trim_start_matches(['-', '+']);
        if unsigned.is_empty() || !unsigned.starts_with(|c: char| c.is_ascii_digit()) {
            // `-` and `+` alone, or `-foo`, are symbols.
            return Err(self.error_at(
                start,
                "a value (nil, true, false, an integer, a string, a keyword, a vector, a list, a set or a map)",
                format!("the symbol `{}`", shorten(token)),
            ));
        }
        Err(self.error_at(
            start,
            "an integer that fits in 64 bits (histories hold no floating-point numbers)",
            format!("`{}`", shorten(token)),
        ))
    }

    fn read_string(&mut self) -> Result<Value, EdnError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let escape_at = self.pos;
            match self.bump() {
                None => {
                    return Err(self.error_at(
                        start,
                        "a closing `\"` for the string starting here",
                        "end of input".to_string(),
                    ));
                }
                Some('"') => return Ok(Value::Str(out)),
                Some('\\') => match self.bump() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('u') => {
                        let hex: String = self.text[self.pos..].chars().take(4).collect();
                        let code = (hex.len() == 4)
                            .then(|| u32::from_str_radix(&hex, 16).ok())
                            .flatten()
                            .and_then(char::from_u32);
                        match code {
                            Some(c) => {
                                out.push(c);
                                self.pos += 4;
                            }
                            None => {
                                return Err(self.error_at(
                                    escape_at,
                                    "four hex digits of a character after `\\u`",
                                    format!("`{}`", shorten(&hex)),
                                ));
                            }
                        }
                    }
                    other => {
                        return Err(self.error_at(
                            escape_at,
                            "an escape (\\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX)",
                            other.map_or("end of input".to_string(), |c| format!("`\\{c}`")),
                        ));
                    }
                },
                Some(c) => out.push(c),
            }
        }
    }
}

fn is_token_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, ',' | ';' | '"' | '(' | ')' | '[' | ']' | '{' | '}'))
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 40 {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(40).collect::<String>())
    }
}

/// `Ok(None)`: a nemesis event, skipped. `Err((expected, found))`: what the map lacked.
fn event_from_map(
    entries: Vec<(Value, Value)>,
    position: Position,
) -> Result<Option<Event>, (String, String)> {
    let mut process = None;
    let mut kind = None;
    let mut f = None;
    let mut value = Value::Nil;
    let mut time = None;
    let mut process_name = None;
    let mut independent_key = None;
    let mut extra = Vec::new();
    for (key, v) in entries {
        let Value::Keyword(key) = key else {
            return Err((
                "keyword keys such as :process".to_string(),
                format!("the key `{}`", shorten(&key.to_string())),
            ));
        };
        match key.as_str() {
            "process" => match v {
                Value::Int(n) if n >= 0 => process = Some(n as u64),
                Value::Keyword(k) if k == "nemesis" => return Ok(None),
                other => {
                    return Err((
                        ":process to be a non-negative integer or :nemesis".to_string(),
                        format!("`{}`", shorten(&other.to_string())),
                    ));
                }
            },
            "type" => {
                kind = Some(match &v {
                    Value::Keyword(k) if k == "invoke" => EventType::Invoke,
                    Value::Keyword(k) if k == "ok" => EventType::Ok,
                    Value::Keyword(k) if k == "fail" => EventType::Fail,
                    Value::Keyword(k) if k == "info" => EventType::Info,
                    other => {
                        return Err((
                            ":type to be one of :invoke, :ok, :fail, :info".to_string(),
                            format!("`{}`", shorten(&other.to_string())),
                        ));
                    }
                })
            }
            "f" => match v {
                Value::Keyword(name) | Value::Str(name) => f = Some(name),
                other => {
                    return Err((
                        ":f to be a keyword such as :read".to_string(),
                        format!("`{}`", shorten(&other.to_string())),
                    ));
                }
            },
            "value" => value = v,
            "time" => match v {
                Value::Int(n) if n >= 0 => time = Some(n as u64),
                other => {
                    return Err((
                        ":time to be a non-negative integer".to_string(),
                        format!("`{}`", shorten(&other.to_string())),
                    ));
                }
            },
            "index" => {}
            "key" => independent_key = Some(v),
            "process-name" => match v {
                Value::Str(name) | Value::Keyword(name) => process_name = Some(name),
                other => {
                    return Err((
                        ":process-name to be a string".to_string(),
                        format!("`{}`", shorten(&other.to_string())),
                    ));
                }
            },
            _ => extra.push((key, v)),
        }
    }
    if let Some(key) = independent_key {
        value = Value::tuple(key, value);
    }
    let missing = |key: &str| (format!("a {key} key"), "none".to_string());
    Ok(Some(Event {
        process: process.ok_or_else(|| missing(":process"))?,
        process_name,
        kind: kind.ok_or_else(|| missing(":type"))?,
        f: f.ok_or_else(|| missing(":f"))?,
        value,
        time,
        extra,
        position: Some(position),
    }))
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

#[cfg(test)]
mod reader_tests {
    use super::*;
    use proptest::prelude::*;

    fn event(process: u64, kind: EventType, f: &str, value: Value) -> Event {
        Event {
            process,
            process_name: None,
            kind,
            f: f.to_string(),
            value,
            time: None,
            extra: Vec::new(),
            position: None,
        }
    }

    /// The events without where they were read, to compare with events built by hand.
    fn unplaced(mut h: History) -> History {
        for e in &mut h.events {
            e.position = None;
        }
        h
    }

    #[test]
    fn reads_a_vector_a_list_and_one_map_per_line_alike() {
        // The three shapes Jepsen, Knossos and Porcupine ship describe the same history.
        let expected = vec![
            event(0, EventType::Invoke, "write", Value::Int(1)),
            event(0, EventType::Ok, "write", Value::Int(1)),
        ];
        for text in [
            "[{:process 0, :type :invoke, :f :write, :value 1} {:process 0, :type :ok, :f :write, :value 1}]",
            "({:process 0 :type :invoke :f :write :value 1}\n {:process 0 :type :ok :f :write :value 1})",
            "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n",
            "; a comment\n#_{:ignored 1} {:index 0 :process 0, :type :invoke, :f :write, :value 1}\n\
             #jepsen.history.Op{:index 1 :process 0, :type :ok, :f :write, :value 1}",
        ] {
            assert_eq!(
                unplaced(parse_edn(text).unwrap()).events,
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn skips_nemesis_events_and_keeps_unknown_keys() {
        // Faults are not client operations; keys the checker does not use survive reading.
        let h = parse_edn(
            "[{:process :nemesis, :type :info, :f :start, :value nil}\n\
              {:process 3, :type :invoke, :f :cas, :value [1 2], :time 17, :node \"n1\"}]",
        )
        .unwrap();
        assert_eq!(h.len(), 1);
        let e = &h.events[0];
        assert_eq!((e.process, e.time), (3, Some(17)));
        assert_eq!(e.value, Value::Vector(vec![Value::Int(1), Value::Int(2)]));
        assert_eq!(e.extra, vec![("node".to_string(), Value::str("n1"))]);
    }

    #[test]
    fn reads_one_value_and_nothing_after_it() {
        // The command line's `--initial` takes one EDN value.
        assert_eq!(parse_value(" 0 "), Ok(Value::Int(0)));
        assert_eq!(parse_value("\"x\""), Ok(Value::str("x")));
        assert!(
            parse_value("0 1")
                .unwrap_err()
                .expected
                .contains("end of input")
        );
    }

    #[test]
    fn reads_sets_escapes_and_big_integers() {
        // `#{}` sets read as vectors; string escapes and `N` integers are EDN, not errors.
        let h =
            parse_edn(r#"[{:process 1 :type :ok :f :read :value [#{1 2} "a\"b\u0041" 5N -3]}]"#)
                .unwrap();
        assert_eq!(
            h.events[0].value,
            Value::Vector(vec![
                Value::Vector(vec![Value::Int(1), Value::Int(2)]),
                Value::str("a\"bA"),
                Value::Int(5),
                Value::Int(-3),
            ])
        );
    }

    #[test]
    fn errors_name_the_line_the_column_and_what_was_expected() {
        // A learner's typo is located precisely, with what would have been accepted there.
        let table: &[(&str, usize, usize, &str)] = &[
            // a missing closing bracket
            (
                "[{:process 0 :type :ok :f :read}\n",
                2,
                1,
                "`]` closing the history",
            ),
            // a bad :type
            (
                "{:process 0 :type :done :f :read}",
                1,
                1,
                ":type to be one of",
            ),
            // missing :f, on the second line
            (
                "{:process 0 :type :ok :f :r}\n  {:process 0 :type :ok}",
                2,
                3,
                "a :f key",
            ),
            // not a map inside the vector
            (
                "[{:process 0 :type :ok :f :r} 42]",
                1,
                31,
                "a map (one operation)",
            ),
            // a float
            (
                "{:process 0 :type :ok :f :r :value 1.5}",
                1,
                36,
                "an integer",
            ),
            // an unterminated string
            (
                "{:process 0 :type :ok :f :r :value \"abc}",
                1,
                36,
                "a closing `\"`",
            ),
            // an odd map
            ("{:process 0 :type}", 1, 1, "an even number of forms"),
            // a negative process
            (
                "{:process -1 :type :ok :f :r}",
                1,
                1,
                ":process to be a non-negative integer",
            ),
            // trailing text after the history
            ("[] x", 1, 4, "end of input after"),
        ];
        for (text, line, column, expected) in table {
            let e = parse_edn(text).unwrap_err();
            assert_eq!((e.line, e.column), (*line, *column), "{text}: {e}");
            assert!(e.expected.contains(expected), "{text}: {e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("line {line}, column {column}"))
            );
        }
    }

    #[test]
    fn a_key_of_any_edn_type_makes_the_value_a_key_value_tuple() {
        // Porcupine's kv data (`:key "6"`) reads as Jepsen's independent tuples, whatever the
        // key's type; the key may come before or after the value.
        for key in [
            "\"6\"", "6", ":k", "nil", "true", "[1 :a]", "{:a 1}", "#{1}", "\"\"",
        ] {
            let text = format!(
                "{{:process 0, :type :invoke, :f :get, :key {key}, :value nil}}\n\
                 {{:process 0, :type :ok, :value \"x 0 0 y\", :f :get, :key {key}}}"
            );
            let h = parse_edn(&text).unwrap_or_else(|e| panic!("{key}: {e}"));
            let key = parse_value(key).unwrap();
            assert_eq!(h.events[0].value, Value::tuple(key.clone(), Value::Nil));
            assert_eq!(h.events[1].value, Value::tuple(key, Value::str("x 0 0 y")));
            assert!(h.events.iter().all(|e| e.extra.is_empty()));
        }
    }

    #[test]
    fn hostile_nesting_is_an_error_never_a_stack_overflow() {
        // Issue 10, item 6: each `#_` used to restart the depth count, so `[#_` repeated 10,000
        // times overflowed the stack. Every shape of deep nesting is refused at the same limit,
        // in histories and in single values (`--initial`), on a thread with a small stack.
        let deep = |unit: &str, n: usize| unit.repeat(n);
        let inputs = [
            deep("[#_", 10_000),
            deep("[", 100_000),
            deep("#_", 100_000),
            deep("#_[", 100_000),
            deep("#tag ", 100_000),
            deep("{:a ", 100_000),
            deep("#{", 100_000),
            deep("(", 100_000),
            format!(
                "{{:process 0 :type :ok :f :r :value {}}}",
                deep("[#_[]", 50_000)
            ),
        ];
        std::thread::Builder::new()
            .stack_size(512 << 10)
            .spawn(move || {
                for text in &inputs {
                    assert!(parse_edn(text).is_err());
                    let e = parse_value(text).unwrap_err();
                    assert!(e.expected.contains("levels of nesting"), "{e}");
                }
                // Nesting up to the limit is fine, discards included.
                let fine = format!("{}0{}", deep("[#_[] ", 60), deep("]", 60));
                assert!(parse_value(&fine).is_ok());
            })
            .unwrap()
            .join()
            .unwrap();
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<String>().prop_map(Value::Str),
            "[a-z][a-z0-9-]{0,6}".prop_map(Value::Keyword),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Vector),
                prop::collection::vec((inner.clone(), inner), 0..3).prop_map(Value::Map),
            ]
        })
    }

    fn arb_event() -> impl Strategy<Value = Event> {
        (
            0u64..1000,
            prop::option::of(any::<String>()),
            prop_oneof![
                Just(EventType::Invoke),
                Just(EventType::Ok),
                Just(EventType::Fail),
                Just(EventType::Info)
            ],
            "[a-z][a-z-]{0,6}",
            arb_value(),
        )
            .prop_map(|(process, process_name, kind, f, value)| Event {
                process,
                process_name,
                kind,
                f,
                value,
                time: None,
                extra: Vec::new(),
                position: None,
            })
    }

    proptest! {
        #[test]
        fn reading_what_we_print_gives_back_the_history(events in prop::collection::vec(arb_event(), 0..8)) {
            // parse_edn is the inverse of History::to_edn (which prints no :time).
            let h = History { events };
            prop_assert_eq!(unplaced(parse_edn(&h.to_edn()).unwrap()), h.clone());
            let timed = unplaced(parse_edn(&h.to_edn_timed()).unwrap());
            prop_assert_eq!(timed, h);
        }

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            // Fuzzing: any input is a history or an error, never a panic.
            let _ = parse_edn(&text);
        }

        #[test]
        fn edn_looking_text_never_panics(text in r#"[\[\]{}()#_:;,"\\ \na-z0-9.+-]{0,60}"#) {
            // Fuzzing closer to the grammar, where the interesting paths are.
            if let Err(e) = parse_edn(&text) {
                prop_assert!(e.line >= 1 && e.column >= 1);
            }
        }
    }
}
