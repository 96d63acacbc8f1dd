//! `patterns cluster`: a protocol on a real loopback cluster under a random workload, with nodes
//! killed and restarted on request; the history goes to a file for `patterns check`.
//!
//! Every protocol registers itself once in [`PROTOCOLS`]: a name, the `patterns check` model that
//! judges its histories, its variants (the first is the default, the correct form), and a function
//! that starts its cluster and runs the workload through [`run_workload`].
//!
//! Exit status: 0 the run finished and the history was written, 2 bad arguments or a cluster that
//! could not start, 1 the run failed midway.

use clap::Args;
use patterns::history::History;
use patterns::net::{Cluster, RunReport, Settings, Workload};
use patterns::node::{Node, NodeInit};
use patterns::protocols::counter::{CounterMix, CounterOp};
use patterns::protocols::generation_voting::{self, GenerationVoting, NextGeneration};
use patterns::protocols::kv::{KvMix, KvOp};
use patterns::protocols::multi_paxos;
use patterns::protocols::naive_replication::{Answer, NaiveReplication};
use patterns::protocols::paxos::{self, Command, Paxos};
use patterns::protocols::quorum_kv::{AsyncQuorumKv, Config, QuorumKv, ReadRepair, Versioning};
use patterns::protocols::raft;
use patterns::protocols::two_phase_commit::{self, AsyncServer, Server};
use patterns::sim::ClientPolicy;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `patterns cluster`.
#[derive(Args, Debug)]
pub struct ClusterArgs {
    /// The protocol to run (`--list` names them).
    #[arg(long, default_value = "quorum-kv")]
    pub protocol: String,
    /// Which form of the protocol (default: its correct form; `--list` names them).
    #[arg(long)]
    pub variant: Option<String>,
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Concurrent clients, each running one operation at a time.
    #[arg(long, default_value_t = 5)]
    pub clients: usize,
    /// Operations in total.
    #[arg(long, default_value_t = 1000)]
    pub ops: usize,
    /// Where to write the history (EDN, with `:time` in nanoseconds since the start).
    #[arg(long, required_unless_present = "list")]
    pub history: Option<PathBuf>,
    /// List the protocols and their variants, and exit.
    #[arg(long)]
    pub list: bool,
    /// Kill a random node this often and restart it from its files after half as long
    /// (e.g. `500ms`, `2s`).
    #[arg(long, value_parser = parse_duration)]
    pub kill_every: Option<Duration>,
    /// The wall duration of a tick (timers and timeouts count ticks).
    #[arg(long, default_value_t = 10)]
    pub tick_ms: u64,
    /// Syncs write to the operating system only, no fsync: faster, and unsafe if the machine
    /// loses power (a killed process loses nothing more).
    #[arg(long)]
    pub no_fsync: bool,
    /// Where the nodes keep their files (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The seed of the workload and of the nodes' random streams.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// What a protocol's run function gets.
pub struct Run<'a> {
    pub args: &'a ClusterArgs,
    pub variant: &'static str,
    pub settings: Settings,
}

/// A protocol `patterns cluster` can run.
pub struct Protocol {
    pub name: &'static str,
    pub about: &'static str,
    /// The `patterns check --model` its histories are judged with.
    pub model: &'static str,
    /// Its forms, the correct one first, each with what it is.
    pub variants: &'static [(&'static str, &'static str)],
    pub run: fn(&Run) -> Result<(History, RunReport), String>,
}

/// Every protocol of the workshop that runs on the network runtime. A Day 2 protocol adds one
/// entry here and one run function like [`quorum_kv`].
pub const PROTOCOLS: &[Protocol] = &[
    Protocol {
        name: "quorum-kv",
        about: "quorum reads and writes with read repair (day 1, lesson 4)",
        model: "kv",
        variants: QUORUM_KV_VARIANTS,
        run: quorum_kv,
    },
    Protocol {
        name: "quorum-kv-async",
        about: "the same store, its coordinator written as async code",
        model: "kv",
        variants: QUORUM_KV_VARIANTS,
        run: quorum_kv_async,
    },
    Protocol {
        name: "naive-replication",
        about: "a counter copied to every server without agreement (day 2, lesson 1)",
        model: "counters",
        variants: &[
            (
                "reply-first",
                "the reference: answer, then replicate (no correct form exists)",
            ),
            (
                "wait-for-acks",
                "answer once every other server acknowledged",
            ),
        ],
        run: naive_replication,
    },
    Protocol {
        name: "two-phase-commit",
        about: "two-phase execution of a replicated counter (day 2, lesson 1)",
        model: "counters",
        variants: TWO_PHASE_VARIANTS,
        run: |run| commit(run, "two-phase", false),
    },
    Protocol {
        name: "two-phase-commit-async",
        about: "the same, its coordinator written as async code",
        model: "counters",
        variants: TWO_PHASE_VARIANTS,
        run: |run| commit(run, "two-phase", true),
    },
    Protocol {
        name: "three-phase-commit",
        about: "three-phase commit, recovery fenced by epochs (day 2, lesson 1)",
        model: "counters",
        variants: THREE_PHASE_VARIANTS,
        run: |run| commit(run, "three-phase", false),
    },
    Protocol {
        name: "three-phase-commit-async",
        about: "the same, its coordinator written as async code",
        model: "counters",
        variants: THREE_PHASE_VARIANTS,
        run: |run| commit(run, "three-phase", true),
    },
    Protocol {
        name: "generation-voting",
        about: "generations by majority vote (day 2, lesson 2)",
        model: "tickets",
        variants: &[
            ("correct", "strict promises, synced before they are told"),
            (
                "no-persist",
                "promises in memory only: a killed voter forgets them",
            ),
            (
                "reply-before-persist",
                "promises told before they are synced",
            ),
            (
                "non-strict",
                "equal generations promised again, unsigned per-server counters",
            ),
        ],
        run: generation_voting,
    },
    Protocol {
        name: "paxos",
        about: "single-value Paxos with durable acceptors (day 2, lesson 3)",
        model: "write-once",
        variants: &[
            (
                "correct",
                "strict promises, synced answers, highest accepted value proposed",
            ),
            ("reply-before-persist", "acceptors answer before their sync"),
            (
                "ignore-accepted",
                "proposers propose their own value regardless",
            ),
            (
                "per-server-counter",
                "the reference's unsigned ballots 1, 2, 3 per server",
            ),
        ],
        run: paxos,
    },
    Protocol {
        name: "paxos-log",
        about: "one Paxos instance per log index under a key-value store (day 2, lesson 4)",
        model: "kv --nil-is-value",
        variants: &[
            (
                "correct",
                "start at the first index not known chosen, identity by request id",
            ),
            (
                "walk-from-start",
                "every request runs both phases from index 1",
            ),
            (
                "structural-identity",
                "equal commands taken for one another",
            ),
        ],
        run: paxos_log,
    },
    Protocol {
        name: "multi-paxos",
        about: "Multi-Paxos: whoever a client asks campaigns, then leads (day 2, lesson 5)",
        model: "kv --nil-is-value",
        variants: MULTI_PAXOS_VARIANTS,
        run: multi_paxos,
    },
    Protocol {
        name: "multi-paxos-heartbeats",
        about: "Multi-Paxos with heartbeats and random election timeouts (day 2, lesson 6)",
        model: "kv --nil-is-value",
        variants: MULTI_PAXOS_VARIANTS,
        run: multi_paxos_heartbeats,
    },
    Protocol {
        name: "raft",
        about: "Raft's replicated log under a key-value store (day 2, lesson 7)",
        model: "kv --nil-is-value",
        variants: RAFT_VARIANTS,
        run: raft,
    },
];

/// `run` with clients that follow redirects and retry an unanswered request `attempts` times
/// (same id, so a server applies it once).
fn retrying<'a>(run: &Run<'a>, attempts: u32) -> Run<'a> {
    let mut settings = run.settings.clone();
    settings.client_policy = ClientPolicy {
        attempt_timeout_ticks: 100,
        attempts,
        follow_redirects: true,
    };
    Run { settings, ..*run }
}

const MULTI_PAXOS_VARIANTS: &[(&str, &str)] = &[
    (
        "correct",
        "recover accepted values, fill holes, propose past the log",
    ),
    ("no-index-advance", "a new leader proposes from index 1"),
    (
        "unconditional-commit",
        "a follower commits whatever it accepted",
    ),
    ("no-gap-fill", "a new leader leaves holes"),
    ("no-recovery", "a new leader ignores accepted values"),
    (
        "stale-leader-reads",
        "a leader answers reads from its own store",
    ),
    (
        "name-sorted-timeouts",
        "the reference's stagger of election timeouts",
    ),
];

/// The Paxos log's clients retry an unanswered request (same id, so it is applied once).
fn paxos_log(run: &Run) -> Result<(History, RunReport), String> {
    let config = patterns::protocols::paxos_log::Explorer::default().config(run.variant);
    let run = retrying(run, 3);
    run_workload(
        &run,
        move |_| patterns::protocols::paxos_log::PaxosLog::new(config.clone()),
        kv_workload(&run),
    )
}

/// Multi-Paxos in one of its elections; clients follow redirects and retry while one runs.
fn multi_paxos_with(run: &Run, form: multi_paxos::Config) -> Result<(History, RunReport), String> {
    let config = form
        .variant(run.variant)
        .ok_or_else(|| format!("multi-paxos has no variant {:?}", run.variant))?;
    let run = retrying(run, 5);
    run_workload(
        &run,
        move |_| multi_paxos::MultiPaxos::new(config.clone()),
        kv_workload(&run),
    )
}

fn multi_paxos(run: &Run) -> Result<(History, RunReport), String> {
    let form = multi_paxos::Config::default().election(multi_paxos::Election::OnRequest);
    multi_paxos_with(run, form)
}

fn multi_paxos_heartbeats(run: &Run) -> Result<(History, RunReport), String> {
    multi_paxos_with(run, multi_paxos::Config::heartbeats())
}

const RAFT_VARIANTS: &[(&str, &str)] = &[
    (
        "correct",
        "Raft as the paper states it, reads by read index",
    ),
    ("log-reads", "reads through the log"),
    (
        "commit-old-term",
        "commits entries of earlier terms by counting replicas",
    ),
    (
        "no-election-restriction",
        "votes ignore the candidate's log",
    ),
    ("volatile-vote", "term and vote kept in memory only"),
    (
        "reads-anywhere",
        "every server answers reads from its own state",
    ),
    (
        "equal-timeouts",
        "every server waits the same election timeout",
    ),
];

/// Raft's clients follow redirects to the leader and retry an unanswered request (same id, so it
/// is applied once) while an election runs.
fn raft(run: &Run) -> Result<(History, RunReport), String> {
    let config = raft::Config::variant(run.variant)
        .ok_or_else(|| format!("raft has no variant {:?}", run.variant))?;
    let run = retrying(run, 5);
    run_workload(
        &run,
        move |_| raft::Raft::new(config.clone()),
        kv_workload(&run),
    )
}

const TWO_PHASE_VARIANTS: &[(&str, &str)] = &[
    (
        "correct",
        "a majority of accepts; prepared operations lock; presumed abort",
    ),
    (
        "all-participants",
        "the textbook's atomic commit: every participant must accept",
    ),
    (
        "abort-alone",
        "a participant that waited too long aborts alone",
    ),
    ("no-locks", "participants accept everything at once"),
];

const THREE_PHASE_VARIANTS: &[(&str, &str)] = &[
    (
        "correct",
        "a higher epoch from a majority; the highest-epoch proposal completed",
    ),
    ("largest-id-recovery", "the reference's stop-gap recovery"),
    ("no-fencing", "the right recovery rule without fencing"),
];

const QUORUM_KV_VARIANTS: &[(&str, &str)] = &[
    (
        "abd",
        "majorities, synchronous read repair, read-before-write versions: linearizable",
    ),
    (
        "lww",
        "majorities, synchronous read repair, wall-clock versions (last write wins)",
    ),
    (
        "no-repair",
        "majorities, wall-clock versions, no read repair",
    ),
    ("r1-w1", "R = W = 1: quorums that need not overlap"),
];

fn quorum_kv_config(nodes: usize, variant: &str) -> Config {
    let majority = Config::majority(nodes);
    match variant {
        "abd" => majority
            .read_repair(ReadRepair::Sync)
            .versioning(Versioning::ReadBeforeWrite),
        "lww" => majority.read_repair(ReadRepair::Sync),
        "r1-w1" => majority
            .quorums(1, 1)
            .unwrap_or_else(|_| Config::majority(nodes)),
        _ => majority,
    }
}

/// Unique written values keep the checker fast and every read attributable to one write.
fn kv_workload(run: &Run) -> Workload<KvOp> {
    let mix = KvMix {
        values: 0,
        ..KvMix::default()
    };
    shaped(run, Workload::new(run.args.ops, mix.generator()))
}

fn quorum_kv(run: &Run) -> Result<(History, RunReport), String> {
    let config = quorum_kv_config(run.args.nodes, run.variant);
    run_workload(
        run,
        move |_| QuorumKv::new(config.clone()),
        kv_workload(run),
    )
}

fn quorum_kv_async(run: &Run) -> Result<(History, RunReport), String> {
    let config = quorum_kv_config(run.args.nodes, run.variant);
    run_workload(
        run,
        move |_| AsyncQuorumKv::new(config.clone()),
        kv_workload(run),
    )
}

fn counter_workload(run: &Run) -> Workload<CounterOp> {
    shaped(
        run,
        Workload::new(run.args.ops, CounterMix::default().generator()),
    )
}

fn naive_replication(run: &Run) -> Result<(History, RunReport), String> {
    let answer = match run.variant {
        "wait-for-acks" => Answer::AfterEveryAck,
        _ => Answer::ReplyFirst,
    };
    run_workload(
        run,
        move |_| NaiveReplication::new(answer),
        counter_workload(run),
    )
}

/// Two- or three-phase commit (`correct` is the `form` itself), as a state machine or coroutines.
fn commit(run: &Run, form: &str, coroutines: bool) -> Result<(History, RunReport), String> {
    let name = if run.variant == "correct" {
        form
    } else {
        run.variant
    };
    let config = two_phase_commit::Config::variant(name)
        .ok_or_else(|| format!("{name} is not a form of {form} commit"))?;
    if coroutines {
        run_workload(
            run,
            move |_| AsyncServer::new(config.clone()),
            counter_workload(run),
        )
    } else {
        run_workload(
            run,
            move |_| Server::new(config.clone()),
            counter_workload(run),
        )
    }
}

fn generation_voting(run: &Run) -> Result<(History, RunReport), String> {
    let config = generation_voting::Explorer::default().config(run.variant);
    let workload = Workload::new(run.args.ops, |_| NextGeneration);
    run_workload(
        run,
        move |_| GenerationVoting::new(config),
        shaped(run, workload),
    )
}

/// Clients propose a few distinct commands; one is chosen, and every client must hear it.
fn paxos(run: &Run) -> Result<(History, RunReport), String> {
    let config = paxos::Explorer::default().config(run.variant);
    let mut proposed = 0;
    let workload = Workload::new(run.args.ops, move |_| {
        proposed += 1;
        Command::set("x", &format!("v{}", proposed % 5))
    });
    run_workload(
        run,
        move |_| Paxos::new(config.clone()),
        shaped(run, workload),
    )
}

/// A protocol's workload with the clients and the kills the arguments ask for.
pub fn shaped<O>(run: &Run, workload: Workload<O>) -> Workload<O> {
    let mut workload = workload.clients(run.args.clients);
    workload.kill_every = run.args.kill_every;
    workload
}

/// Starts the cluster, runs the workload, stops the cluster, returns the history.
pub fn run_workload<N: Node + 'static>(
    run: &Run,
    factory: impl Fn(&NodeInit) -> N + Send + Sync + 'static,
    workload: Workload<N::Operation>,
) -> Result<(History, RunReport), String> {
    let cluster = Cluster::start_with(run.args.nodes, run.settings.clone(), factory)
        .map_err(|e| e.to_string())?;
    let report = cluster.run(workload).map_err(|e| e.to_string())?;
    let history = cluster.history();
    cluster.stop();
    Ok((history, report))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "ms"), |at| text.split_at(at));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms or 2s"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        _ => return Err(format!("{text:?}: the unit must be ms or s")),
    };
    if duration.is_zero() {
        return Err("a duration must be longer than 0".into());
    }
    Ok(duration)
}

fn list() {
    for protocol in PROTOCOLS {
        println!(
            "{}  {} (check with --model {})",
            protocol.name, protocol.about, protocol.model
        );
        for (i, (variant, about)) in protocol.variants.iter().enumerate() {
            let default = if i == 0 { " (default)" } else { "" };
            println!("    --variant {variant}{default}: {about}");
        }
    }
}

/// Runs `patterns cluster`.
pub fn run(args: &ClusterArgs) -> ExitCode {
    if args.list {
        list();
        return ExitCode::SUCCESS;
    }
    let Some(path) = &args.history else {
        eprintln!("patterns cluster: --history FILE is required");
        return ExitCode::from(2);
    };
    let Some(protocol) = PROTOCOLS.iter().find(|p| p.name == args.protocol) else {
        let known: Vec<&str> = PROTOCOLS.iter().map(|p| p.name).collect();
        eprintln!(
            "patterns cluster: no protocol {:?} (known: {})",
            args.protocol,
            known.join(", ")
        );
        return ExitCode::from(2);
    };
    let variant = match &args.variant {
        None => protocol.variants[0].0,
        Some(name) => match protocol.variants.iter().find(|(v, _)| v == name) {
            Some((v, _)) => v,
            None => {
                let known: Vec<&str> = protocol.variants.iter().map(|(v, _)| *v).collect();
                eprintln!(
                    "patterns cluster: {} has no variant {name:?} (known: {})",
                    protocol.name,
                    known.join(", ")
                );
                return ExitCode::from(2);
            }
        },
    };
    if let Err(message) = check_args(args) {
        eprintln!("patterns cluster: {message}");
        return ExitCode::from(2);
    }
    let settings = Settings {
        tick: Duration::from_millis(args.tick_ms),
        fsync: !args.no_fsync,
        data_dir: args.data_dir.clone(),
        seed: args.seed,
        clients: (1..=args.clients).map(|i| format!("client-{i}")).collect(),
        log_to_stderr: true,
        ..Settings::default()
    };
    let run = Run {
        args,
        variant,
        settings,
    };
    let (history, report) = match (protocol.run)(&run) {
        Ok(done) => done,
        Err(message) => {
            eprintln!("patterns cluster: {message}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(path, history.to_edn_timed()) {
        eprintln!("patterns cluster: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!(
        "{} ({variant}) on {} nodes, {} clients: {} ok, {} fail, {} info, {} unavailable in {:.2} s \
         ({:.0} ops/s, p50 {:.1} ms, p99 {:.1} ms), {} kill(s)",
        protocol.name,
        args.nodes,
        args.clients,
        report.ok,
        report.fail,
        report.info,
        report.unavailable,
        report.elapsed.as_secs_f64(),
        report.operations_per_second(),
        report.latency_quantile(0.5).as_secs_f64() * 1e3,
        report.latency_quantile(0.99).as_secs_f64() * 1e3,
        report.kills,
    );
    println!(
        "history: {} ({} events); judge it with: patterns check --model {} {}",
        path.display(),
        history.len(),
        protocol.model,
        path.display()
    );
    ExitCode::SUCCESS
}

fn check_args(args: &ClusterArgs) -> Result<(), String> {
    if args.nodes == 0 || args.nodes > 64 {
        return Err(format!("--nodes {} must be between 1 and 64", args.nodes));
    }
    if args.clients == 0 || args.clients > 1000 {
        return Err(format!(
            "--clients {} must be between 1 and 1000",
            args.clients
        ));
    }
    if args.tick_ms == 0 {
        return Err("--tick-ms must be at least 1".into());
    }
    Ok(())
}
