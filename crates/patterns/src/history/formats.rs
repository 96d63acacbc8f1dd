//! The shapes histories ship in, told apart by their first lines.
//!
//! * **EDN** ([`parse_edn`]): a vector or list of operation maps (Knossos, our recorder), or maps
//!   one after another, one per line (Jepsen's `history.edn`; Porcupine's key-value data, whose
//!   `:key` becomes a `[key value]` tuple).
//! * **Jepsen's text log** ([`parse_jepsen_log`]): the lines Jepsen's `jepsen.util` logger prints
//!   as the test runs, `INFO  jepsen.util - 3 :invoke :cas [1 2]` (tab-separated), as Porcupine's etcd
//!   data and
//!   the linearizability-checker corpus have them. Other log lines are skipped.

use super::edn::{EdnError, parse_edn, parse_value};
use super::{Event, EventType, History, Position, Value};
use std::fmt;
use std::str::FromStr;

/// A history file's format.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// EDN: one vector or list of maps, or maps one after another.
    Edn,
    /// Jepsen's text log of `jepsen.util` lines.
    JepsenLog,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Edn => "edn",
            Format::JepsenLog => "jepsen-log",
        })
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "edn" => Ok(Format::Edn),
            "jepsen-log" => Ok(Format::JepsenLog),
            _ => Err(format!(
                "unknown history format `{s}` (expected edn or jepsen-log)"
            )),
        }
    }
}

/// The logger whose lines are operations.
const LOGGER: &str = "jepsen.util";

impl Format {
    /// The format of `text`, from its first line that is not blank or a comment: EDN starts
    /// with a bracket, a brace or `#`; anything else is read as a log (whose errors then say
    /// what an operation line looks like).
    pub fn detect(text: &str) -> Format {
        let first = text
            .lines()
            .map(str::trim_start)
            .find(|l| !l.is_empty() && !l.starts_with(';'));
        match first.and_then(|l| l.chars().next()) {
            Some('[' | '(' | '{' | '#') | None => Format::Edn,
            Some(_) => Format::JepsenLog,
        }
    }

    /// Reads `text` in this format.
    pub fn parse(self, text: &str) -> Result<History, EdnError> {
        match self {
            Format::Edn => parse_edn(text),
            Format::JepsenLog => parse_jepsen_log(text),
        }
    }
}

/// Reads a history in whichever format `text` is in ([`Format::detect`]).
pub fn parse_history(text: &str) -> Result<History, EdnError> {
    Format::detect(text).parse(text)
}

/// Reads Jepsen's text log: every line of the `jepsen.util` logger whose message is an operation
/// (`process :type :f value`, separated by tabs or spaces; the value is EDN and runs to the end
/// of the line) is an event; other lines (the test's own logging) are skipped, and so are the
/// nemesis's operations. A `jepsen.util` line that starts like an operation but is not a whole one
/// (cut short, an unknown `:type`, a value that is not EDN) is an error at its line and column.
pub fn parse_jepsen_log(text: &str) -> Result<History, EdnError> {
    let mut history = History::new();
    let mut saw_logger = false;
    for (index, line) in text.lines().enumerate() {
        let Some(at) = line.find(LOGGER) else {
            continue;
        };
        saw_logger = true;
        let mut cursor = Cursor {
            line,
            number: index + 1,
            pos: at + LOGGER.len(),
        };
        cursor.skip_blank();
        // `INFO  jepsen.util - 3 ...` (log4j) or `jepsen.util: 3 ...` (newer Jepsen).
        if !cursor.eat('-') && !cursor.eat(':') {
            continue;
        }
        cursor.skip_blank();
        let Some(event) = cursor.operation()? else {
            continue;
        };
        history.events.push(event);
    }
    if !saw_logger && !text.trim().is_empty() {
        let first = text.lines().position(|l| !l.trim().is_empty()).unwrap_or(0);
        let line = text.lines().nth(first).unwrap_or("");
        return Err(EdnError {
            line: first + 1,
            column: 1,
            expected: format!(
                "a history: EDN (`[`, `(` or `{{`) or Jepsen's log, with `{LOGGER}` lines"
            ),
            found: format!("`{}`", line.chars().take(30).collect::<String>()),
        });
    }
    Ok(history)
}

/// A position in one line of a log.
struct Cursor<'a> {
    line: &'a str,
    /// 1-based line number.
    number: usize,
    /// Byte offset in `line`.
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.line[self.pos..]
    }

    fn skip_blank(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// The next whitespace-separated field.
    fn field(&mut self) -> &'a str {
        self.skip_blank();
        let rest = self.rest();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    fn position(&self, at: usize) -> Position {
        Position {
            line: self.number,
            column: self.line[..at].chars().count() + 1,
        }
    }

    fn error(&self, at: usize, expected: &str, found: &str) -> EdnError {
        let p = self.position(at);
        EdnError {
            line: p.line,
            column: p.column,
            expected: expected.to_string(),
            found: if found.is_empty() {
                "the end of the line".to_string()
            } else {
                format!("`{}`", found.chars().take(30).collect::<String>())
            },
        }
    }

    /// The operation after the logger's name: `Ok(None)` for a message that is not one (it does
    /// not start with a process) or is the nemesis's.
    fn operation(&mut self) -> Result<Option<Event>, EdnError> {
        let start = self.pos;
        let process = self.field();
        // Not a number: the nemesis, or a message that is not an operation.
        let Ok(process) = process.parse::<u64>() else {
            return Ok(None);
        };
        self.skip_blank();
        let at = self.pos;
        let kind = match self.field() {
            ":invoke" => EventType::Invoke,
            ":ok" => EventType::Ok,
            ":fail" => EventType::Fail,
            ":info" => EventType::Info,
            other => {
                return Err(self.error(at, "the :type, one of :invoke, :ok, :fail, :info", other));
            }
        };
        self.skip_blank();
        let at = self.pos;
        let f = match self.field() {
            f if f.len() > 1 && f.starts_with(':') => f[1..].to_string(),
            other => {
                return Err(self.error(at, "the operation's :f, a keyword such as :read", other));
            }
        };
        self.skip_blank();
        let at = self.pos;
        let text = self.rest().trim_end();
        let value = if text.is_empty() {
            Value::Nil
        } else {
            parse_value(text).map_err(|e| {
                let mut e = e;
                // The value's own position is within the line, after the fields.
                e.column += self.line[..at].chars().count();
                e.line = self.number;
                e
            })?
        };
        Ok(Some(Event {
            process,
            process_name: None,
            kind,
            f,
            value,
            time: None,
            extra: Vec::new(),
            position: Some(self.position(start)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "INFO  jepsen.core - Running test\n\
        INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
        INFO  jepsen.util - 1   :invoke :cas    [1 2]\n\
        INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n\
        INFO  jepsen.util - 0\t:ok\t:read\t3\n\
        INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\n\
        INFO  jepsen.util - 2\t:info\t:write\t:timed-out\n";

    #[test]
    fn reads_jepsen_log_lines_tabs_or_spaces_and_skips_the_rest() {
        // Porcupine's etcd data: other loggers' lines and the nemesis are not operations.
        assert_eq!(Format::detect(LOG), Format::JepsenLog);
        let h = parse_history(LOG).unwrap();
        let shape: Vec<_> = h
            .events
            .iter()
            .map(|e| {
                (
                    e.process,
                    e.kind,
                    e.f.as_str(),
                    e.value.to_string(),
                    e.position,
                )
            })
            .collect();
        let at = |line| Some(Position { line, column: 21 });
        assert_eq!(
            shape,
            vec![
                (0, EventType::Invoke, "read", "nil".to_string(), at(2)),
                (1, EventType::Invoke, "cas", "[1 2]".to_string(), at(3)),
                (0, EventType::Ok, "read", "3".to_string(), at(5)),
                (1, EventType::Fail, "cas", "[1 2]".to_string(), at(6)),
                (2, EventType::Info, "write", ":timed-out".to_string(), at(7)),
            ]
        );
    }

    #[test]
    fn hostile_log_lines_are_errors_at_their_line_and_column() {
        // Cut short, an unknown :type, a value that is not EDN, a file that is not a history.
        let table: &[(&str, usize, usize, &str)] = &[
            ("INFO  jepsen.util - 0\t:invoke", 1, 30, ":f"),
            (
                "x\nINFO  jepsen.util - 0\t:done\t:read\tnil",
                2,
                23,
                "the :type",
            ),
            ("INFO  jepsen.util - 0\t:invoke\t:read\t[1 2", 1, 41, "`]`"),
            (
                "INFO  jepsen.util - 0\t:ok\t:read\t1.5",
                1,
                33,
                "an integer",
            ),
            ("INFO  jepsen.util - 0\t:ok\tread\t1", 1, 27, "a keyword"),
            ("hello\nworld", 1, 1, "a history"),
        ];
        for (text, line, column, expected) in table {
            let e = parse_history(text).unwrap_err();
            assert_eq!((e.line, e.column), (*line, *column), "{text}: {e}");
            assert!(e.to_string().contains(expected), "{text}: {e}");
        }
    }

    #[test]
    fn every_shape_is_detected_from_its_first_line() {
        for (text, format) in [
            ("[{:process 0 :type :ok :f :read}]", Format::Edn),
            (
                "\n; a comment\n({:process 0 :type :ok :f :read})",
                Format::Edn,
            ),
            (
                "{:process 0, :type :invoke, :f :get, :key \"6\", :value nil}",
                Format::Edn,
            ),
            (
                "#jepsen.history.Op{:process 0 :type :ok :f :read}",
                Format::Edn,
            ),
            ("", Format::Edn),
            (
                "INFO  jepsen.util - 0\t:invoke\t:read\tnil",
                Format::JepsenLog,
            ),
        ] {
            assert_eq!(Format::detect(text), format, "{text}");
            assert!(format.parse(text).is_ok(), "{text}");
        }
    }
}
