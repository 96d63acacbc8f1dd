//! `patterns explore`: run a protocol's correct form or a broken variant under the nemesis for many
//! seeds, judge every run (invariants, linearizability, liveness), and draw the first
//! counterexample.
//!
//! Exit status: 0 nothing failed (with `--all-variants`: the correct forms passed and every broken
//! variant was caught), 1 a run failed (or a broken variant was not caught), 3 some run could not
//! be decided by the checker and none failed, 2 bad arguments.

use clap::Args;
use patterns::explore::{Findings, Protocol, Settings};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `patterns explore`.
#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// The protocol (`--list` names them).
    pub protocol: Option<String>,
    /// Which form to run (`--list` names them; default: the protocol's first, its correct form
    /// where it has one).
    #[arg(long)]
    pub variant: Option<String>,
    /// How many seeds to run.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    pub first_seed: u64,
    /// Every variant of the protocol (or of every protocol, without one): the correct form for
    /// `--seeds` seeds, each broken variant from its known failing seed for at most
    /// `--broken-seeds` seeds, until it is caught.
    #[arg(long)]
    pub all_variants: bool,
    /// Seeds a broken variant gets with `--all-variants`.
    #[arg(long, default_value_t = 200)]
    pub broken_seeds: u64,
    /// With `--all-variants`, search broken variants from `--first-seed`, not from their recorded
    /// failing seeds (to show each is caught within `--broken-seeds`).
    #[arg(long)]
    pub from_seed_zero: bool,
    /// List the protocols and their variants.
    #[arg(long)]
    pub list: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print messages per operation, latency and the longest unavailability.
    #[arg(long)]
    pub stats: bool,
    /// Draw the first counterexample as it failed, without shrinking it.
    #[arg(long)]
    pub no_shrink: bool,
    /// Where the counterexample's diagram, timeline and history go.
    #[arg(long, default_value = "target/explore")]
    pub out: PathBuf,
}

fn list(catalog: &[Box<dyn Protocol>]) {
    for protocol in catalog {
        println!("{}: {}", protocol.name(), protocol.summary());
        for v in protocol.variants() {
            let kind = if v.broken { "broken" } else { "correct" };
            println!("  {:<22} {kind:<8} {}", v.name, v.summary);
        }
    }
}

/// Saves the counterexample's files and returns the diagram's path.
fn save(findings: &Findings, out: &Path) -> std::io::Result<Option<PathBuf>> {
    let Some(first) = &findings.first else {
        return Ok(None);
    };
    std::fs::create_dir_all(out)?;
    let stem = format!(
        "{}-{}-seed{}",
        findings.protocol, findings.variant.name, first.seed
    );
    let diagram = out.join(format!("{stem}.svg"));
    std::fs::write(&diagram, &first.diagram_svg)?;
    if let Some(timeline) = &first.timeline_svg {
        std::fs::write(out.join(format!("{stem}-timeline.svg")), timeline)?;
    }
    std::fs::write(out.join(format!("{stem}.edn")), &first.history_edn)?;
    Ok(Some(diagram))
}

fn print_text(findings: &Findings, diagram: Option<&Path>, stats: bool) {
    let f = findings;
    println!(
        "{} ({}): {} runs from seed {}, {} failed, {} unknown",
        f.protocol,
        f.variant.name,
        f.runs,
        f.first_seed,
        f.failing_seeds.len(),
        f.unknown_seeds.len()
    );
    if let Some(first) = &f.first {
        println!("  first failing seed {}: {}", first.seed, first.property);
        if let Some(tick) = first.tick {
            println!("  at tick {tick}");
        }
        println!(
            "  {} (patterns explore {} --variant {} --first-seed {} --seeds 1)",
            first.replay, f.protocol, f.variant.name, first.seed
        );
        let s = &first.shrink;
        println!(
            "  shrunk: {} → {} ticks, {} → {} operations, {} → {} faults ({} replays)",
            s.ticks.0, s.ticks.1, s.operations.0, s.operations.1, s.faults.0, s.faults.1, s.replays
        );
        if let Some(path) = diagram {
            println!("  diagram: {}", path.display());
        }
    }
    if stats {
        let s = &f.stats;
        let ticks = |t: Option<u64>| t.map_or("-".to_string(), |t| t.to_string());
        println!(
            "  {:.1} messages per completed operation ({} completed); latency p50 {} p99 {} ticks; longest unavailability {} ticks",
            s.messages_per_operation,
            s.completed_operations,
            ticks(s.latency_p50_ticks),
            ticks(s.latency_p99_ticks),
            s.longest_unavailability_ticks
        );
    }
}

/// One search, printed and saved; its exit status.
fn search_one(
    protocol: &dyn Protocol,
    variant: &str,
    settings: &Settings,
    args: &ExploreArgs,
) -> Result<(Findings, u8), String> {
    let findings = protocol
        .search(variant, settings)
        .map_err(|e| e.to_string())?;
    let diagram = save(&findings, &args.out)
        .map_err(|e| format!("cannot write to {}: {e}", args.out.display()))?;
    if args.json {
        let diagram = diagram.as_ref().map(|p| p.display().to_string());
        println!("{}", json!({ "findings": findings, "diagram": diagram }));
    } else {
        print_text(&findings, diagram.as_deref(), args.stats);
    }
    let status = if !findings.failing_seeds.is_empty() {
        1
    } else if !findings.unknown_seeds.is_empty() {
        3
    } else {
        0
    };
    Ok((findings, status))
}

fn run_all(catalog: &[Box<dyn Protocol>], args: &ExploreArgs) -> Result<u8, String> {
    let chosen: Vec<&Box<dyn Protocol>> = catalog
        .iter()
        .filter(|p| args.protocol.as_deref().is_none_or(|name| p.name() == name))
        .collect();
    let mut worst = 0;
    for protocol in chosen {
        for variant in protocol.variants() {
            let settings = if variant.broken {
                Settings {
                    first_seed: match variant.failing_seed {
                        Some(seed) if !args.from_seed_zero => seed,
                        _ => args.first_seed,
                    },
                    seeds: args.broken_seeds,
                    shrink: !args.no_shrink,
                    stop_at_first: true,
                }
            } else {
                Settings {
                    first_seed: args.first_seed,
                    seeds: args.seeds,
                    shrink: !args.no_shrink,
                    stop_at_first: false,
                }
            };
            let (findings, status) = search_one(protocol.as_ref(), variant.name, &settings, args)?;
            let expected = match (variant.broken, findings.failing_seeds.is_empty(), status) {
                (true, false, _) => 0,
                (true, true, _) => {
                    println!("  NOT CAUGHT: the broken variant passed every seed");
                    1
                }
                (false, _, status) => status,
            };
            worst = worst.max(expected);
        }
    }
    Ok(worst)
}

pub fn run(args: &ExploreArgs) -> ExitCode {
    let catalog = patterns::protocols::catalog();
    if args.list {
        list(&catalog);
        return ExitCode::SUCCESS;
    }
    if args.seeds == 0 {
        eprintln!("patterns explore: --seeds must be at least 1");
        return ExitCode::from(2);
    }
    if let Some(name) = &args.protocol {
        if !catalog.iter().any(|p| p.name() == name) {
            let known: Vec<&str> = catalog.iter().map(|p| p.name()).collect();
            eprintln!(
                "patterns explore: no protocol {name:?}; known: {}",
                known.join(", ")
            );
            return ExitCode::from(2);
        }
    }
    let result = if args.all_variants {
        run_all(&catalog, args)
    } else {
        let Some(name) = &args.protocol else {
            eprintln!("patterns explore: name a protocol (or --list, or --all-variants)");
            return ExitCode::from(2);
        };
        let protocol = catalog
            .iter()
            .find(|p| p.name() == name)
            .expect("checked above");
        let settings = Settings {
            first_seed: args.first_seed,
            seeds: args.seeds,
            shrink: !args.no_shrink,
            stop_at_first: false,
        };
        let variants = protocol.variants();
        let variant = match &args.variant {
            Some(name) => name.as_str(),
            None => variants.first().map_or("correct", |v| v.name),
        };
        search_one(protocol.as_ref(), variant, &settings, args).map(|(_, status)| status)
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(why) => {
            eprintln!("patterns explore: {why}");
            ExitCode::from(2)
        }
    }
}
