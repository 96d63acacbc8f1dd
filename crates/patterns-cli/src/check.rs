//! `patterns check`: judge a history file with the checkers of `patterns::check`.
//!
//! Exit status: 0 valid, 1 invalid, 3 unknown (budget exhausted), 2 bad input (unreadable or
//! malformed file, a history that does not fit the model, bad arguments).

use clap::{Args, ValueEnum};
use patterns::check::{
    self, AppendString, CasRegister, Consistency, Counter, Etcd, Independent, MultiRegister, Mutex,
    Options, Register, Report, Set, TicketDispenser, Verdict, WriteOnce,
};
use patterns::history::{Format, History, Value, parse_value};
use serde_json::json;
use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

/// The models the command line knows.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelName {
    /// Knossos's register: :read, :write (starts at nil, or --initial).
    Register,
    /// Knossos's cas-register: :read, :write, :cas [old new]; a :fail never happened.
    CasRegister,
    /// Knossos's multi-register: :read and :write of maps, or :txn [[:read k v] [:write k v]].
    MultiRegister,
    /// Independent cas-registers, one per key: values are [key value] tuples (or a :key).
    Kv,
    /// etcd's key (Porcupine's etcd model): nil read = absent; a failed :cas means the compare was false; timeouts may or may not have happened.
    Etcd,
    /// Porcupine's kv model: a string per key (:key or [key value]) with :get, :put, :append.
    AppendKv,
    /// A counter: :add n (or :inc), :add-and-get n (returns the new value), :read.
    Counter,
    /// Independent counters, one per key: values are [key value] tuples (Day 2's counter service).
    Counters,
    /// Knossos's mutex: :acquire when free, :release when held.
    Mutex,
    /// Knossos's grow-only set: :add x, :read returning the whole set.
    Set,
    /// Unique, increasing tickets (generations, terms): :next returns a ticket above every one issued before.
    Tickets,
    /// A register written once (a consensus decision): :propose v returns the first value chosen; :read.
    WriteOnce,
}

/// The history file's format.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatName {
    /// Detected from the file's first line.
    Auto,
    /// EDN: a vector or list of operation maps, or one map per line (with :key or not).
    Edn,
    /// Jepsen's text log: `INFO  jepsen.util - 3 :invoke :cas [1 2]` lines (tab-separated).
    JepsenLog,
}

/// The property to check.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConsistencyName {
    Linearizable,
    Sequential,
}

/// Arguments of `patterns check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The object the history used.
    #[arg(long, value_enum)]
    pub model: ModelName,
    /// The initial value, in EDN (registers start at nil, counters at 0).
    #[arg(long)]
    pub initial: Option<String>,
    /// Which consistency property to check.
    #[arg(long, value_enum, default_value = "linearizable")]
    pub consistency: ConsistencyName,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Treat an `:ok` read of nil as the value nil (by default, as Knossos: unknown).
    #[arg(long)]
    pub nil_is_value: bool,
    /// Search steps per key before answering unknown.
    #[arg(long)]
    pub steps_max: Option<u64>,
    /// Wall time in seconds before answering unknown.
    #[arg(long)]
    pub time_limit_s: Option<u64>,
    /// Memory in MiB the search may hold (estimated) before answering unknown.
    #[arg(long)]
    pub memory_max_mib: Option<usize>,
    /// The history file's format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatName,
    /// Decide every key, instead of stopping at the first illegal one.
    #[arg(long)]
    pub all_keys: bool,
    /// The history: a file in EDN (vector, list, or one operation map per line) or Jepsen's text
    /// log, or `-` for stdin.
    pub file: String,
}

const EXIT_INVALID: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;
const EXIT_UNKNOWN: u8 = 3;

/// Runs `patterns check`.
pub fn run(args: &CheckArgs) -> ExitCode {
    match judge(args) {
        Ok(report) => {
            if args.json {
                println!("{}", to_json(&report));
            } else {
                println!("{}", report.explanation());
                if let Some(summary) = keys_summary(&report) {
                    println!("{summary}");
                }
            }
            match report.valid() {
                Some(true) => ExitCode::SUCCESS,
                Some(false) => ExitCode::from(EXIT_INVALID),
                None => ExitCode::from(EXIT_UNKNOWN),
            }
        }
        Err(message) => {
            eprintln!("patterns check: {message}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

fn read_history(file: &str, format: FormatName) -> Result<History, String> {
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the history from stdin: {e}"))?;
        text
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?
    };
    let format = match format {
        FormatName::Auto => Format::detect(&text),
        FormatName::Edn => Format::Edn,
        FormatName::JepsenLog => Format::JepsenLog,
    };
    format
        .parse(&text)
        .map_err(|e| format!("{file} (read as {format}): {e}"))
}

fn judge(args: &CheckArgs) -> Result<Report, String> {
    let history = read_history(&args.file, args.format)?;
    let initial = match &args.initial {
        Some(text) => Some(parse_value(text).map_err(|e| format!("--initial: {e}"))?),
        None => None,
    };
    let mut options = Options {
        nil_is_value: args.nil_is_value,
        all_keys: args.all_keys,
        ..Options::default()
    };
    if let Some(steps) = args.steps_max {
        options.steps_max = steps;
    }
    if let Some(seconds) = args.time_limit_s {
        options.time_limit = Some(Duration::from_secs(seconds));
    }
    if let Some(mib) = args.memory_max_mib {
        options.memory_max_bytes = mib.saturating_mul(1 << 20);
    }
    let consistency = match args.consistency {
        ConsistencyName::Linearizable => Consistency::Linearizable,
        ConsistencyName::Sequential => Consistency::Sequential,
    };
    let register = initial.clone().unwrap_or(Value::Nil);
    let report = match args.model {
        ModelName::Register => {
            check::check(&history, &Register::new(register), consistency, &options)
        }
        ModelName::CasRegister => {
            check::check(&history, &CasRegister::new(register), consistency, &options)
        }
        ModelName::MultiRegister => check::check(
            &history,
            &MultiRegister::new(register),
            consistency,
            &options,
        ),
        ModelName::Kv => {
            let kv = Independent::new(CasRegister::new(register));
            check::check(&history, &kv, consistency, &options)
        }
        ModelName::Etcd => check::check(&history, &Etcd, consistency, &options),
        ModelName::AppendKv => {
            let kv = Independent::new(AppendString);
            check::check(&history, &kv, consistency, &options)
        }
        ModelName::Counter | ModelName::Counters => {
            let start = match initial {
                None => 0,
                Some(Value::Int(n)) => n,
                Some(other) => {
                    return Err(format!(
                        "--initial: a counter starts at an integer, not {other}"
                    ));
                }
            };
            let counter = Counter { initial: start };
            match args.model {
                ModelName::Counters => {
                    check::check(&history, &Independent::new(counter), consistency, &options)
                }
                _ => check::check(&history, &counter, consistency, &options),
            }
        }
        ModelName::Mutex => check::check(&history, &Mutex, consistency, &options),
        ModelName::Set => check::check(&history, &Set, consistency, &options),
        ModelName::Tickets => check::check(&history, &TicketDispenser, consistency, &options),
        ModelName::WriteOnce => check::check(&history, &WriteOnce, consistency, &options),
    };
    report.map_err(|e| format!("{}: {e}", args.file))
}

/// The verdict as JSON: the explanation, the witness or violation, and the operations it names.
fn to_json(report: &Report) -> serde_json::Value {
    let mut out = json!({
        "valid": report.valid(),
        "model": report.model,
        "consistency": report.consistency,
        "operations": report.operations.len(),
        "partitions": report.partitions,
        "keys": report.keys.iter().map(|k| json!({
            "key": k.key.as_ref().map(Value::to_string),
            "valid": k.valid,
            "decided": k.decided,
            "steps": k.steps,
        })).collect::<Vec<_>>(),
        "steps": report.steps,
        "explanation": report.explanation(),
        "verdict": report.verdict,
    });
    if let Verdict::Illegal(v) = &report.verdict {
        let o = &report.operations[v.culprit];
        out["culprit"] = json!({
            "id": o.id,
            "process": o.process,
            "process_name": o.process_name,
            "f": o.f,
            "invoked": o.invoked.to_string(),
            "completed": o.completed.as_ref().map(Value::to_string),
            "invoke_index": o.invoke_index,
            "complete_index": o.complete_index,
            "key": o.key.as_ref().map(Value::to_string),
        });
        out["verdict"]["key"] = json!(v.key.as_ref().map(Value::to_string));
    }
    out
}

/// One line on the keys when there are several: which were illegal, unknown, or left undecided
/// because the check stopped at an illegal one.
fn keys_summary(report: &Report) -> Option<String> {
    if report.keys.len() < 2 {
        return None;
    }
    let list = |pick: &dyn Fn(&check::KeyVerdict) -> bool| -> Vec<String> {
        report
            .keys
            .iter()
            .filter(|k| pick(k))
            .map(|k| k.key.as_ref().map_or("-".into(), Value::to_string))
            .collect()
    };
    let illegal = list(&|k| k.valid == Some(false));
    let unknown = list(&|k| k.decided && k.valid.is_none());
    let stopped = list(&|k| !k.decided);
    let mut parts = vec![format!("{} keys", report.keys.len())];
    for (name, keys) in [
        ("illegal", illegal),
        ("unknown", unknown),
        (
            "not decided (stopped at the first illegal key; --all-keys decides them)",
            stopped,
        ),
    ] {
        if !keys.is_empty() {
            parts.push(format!("{name}: {}", keys.join(" ")));
        }
    }
    Some(format!("Keys: {}.", parts.join("; ")))
}
