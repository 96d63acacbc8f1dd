//! Every kind of figure the workshop draws, written to a folder as SVG files and one HTML page
//! that shows them at the handouts' page width: the page to look at when the drawing code
//! changes.
//!
//! ```text
//! cargo run -p patterns --example gallery -- /tmp/gallery
//! ```

use patterns::check::{self, Independent, Register};
use patterns::history::Value;
use patterns::protocols::echo::{Echo, EchoServer};
use patterns::protocols::kv::{KvOp, random_kv_run};
use patterns::protocols::quorum_kv::{Config, QuorumKv, ReplicaKind};
use patterns::sim::{Builder, Latency, Scenario, ScenarioRun, explore};
use patterns::viz::{
    ByteBars, CellGrid, Chart, EntryState, Figure, LeaderChart, LogEntry, LogGrid, Role, Scale,
    style,
};
use patterns::wal::crash::newest_segment_bytes;
use patterns::wal::{Log, LogConfig, SimulatedFileSystem, Tear};
use std::error::Error;
use std::path::Path;
use std::sync::Arc;

fn charts() -> Result<Vec<(&'static str, Figure)>, Box<dyn Error>> {
    let curve = |s: f64| {
        (0..95)
            .map(move |p| p as f64 / 100.0)
            .map(move |u| (u, s / (1.0 - u)))
    };
    let response = Chart::new("Response time grows without bound as a server fills up")
        .x_label("utilization (fraction of time busy)")
        .y_label("mean response time (ms)")
        .line("2 ms per request", curve(2.0))
        .line("5 ms per request", curve(5.0))
        .figure()?;
    let theory: Vec<(f64, f64)> = (0..=95)
        .map(|p| p as f64 / 100.0)
        .map(|u| (u, 1.0 / (1.0 - u)))
        .collect();
    let simulated: Vec<(f64, f64)> = (1..10)
        .map(|i| i as f64 / 10.0)
        .map(|u| (u, 1.02 / (1.0 - u)))
        .collect();
    let hockey = Chart::new("Response time against utilization")
        .x_label("utilization U")
        .y_label("response time R / service time S")
        .y_scale(Scale::Log)
        .line("M/M/1 theory: 1 / (1 − U)", theory)
        .points("simulation (seeded)", simulated)
        .figure()?;
    let mttf_days = 3.0 * 365.0;
    let fleet = Chart::new("Failures a day grow with the fleet (MTTF 3 years)")
        .x_label("disks in the fleet")
        .y_label("failures per day")
        .x_scale(Scale::Log)
        .y_scale(Scale::Log)
        .line(
            "formula: N / MTTF",
            (0..=40)
                .map(|i| 10f64.powf(1.0 + i as f64 / 10.0))
                .map(|n| (n, n / mttf_days)),
        )
        .points(
            "Monte Carlo (seeded)",
            [100.0, 1_000.0, 10_000.0].map(|n| (n, n / mttf_days * 1.03)),
        )
        .figure()?;
    let minutes = 525_600.0;
    let replicas = Chart::new("Unavailability against replication factor (each node up 99 %)")
        .x_label("replicas n")
        .y_label("minutes unavailable per year")
        .y_scale(Scale::Log)
        .line(
            "a majority must answer",
            (1..=9).map(|n| (n as f64, minutes * 0.01f64.powi(n / 2 + 1))),
        )
        .line(
            "all n must answer",
            (1..=9).map(|n| (n as f64, minutes * (1.0 - 0.99f64.powi(n)))),
        )
        .figure()?;
    let batches = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0];
    let group = Chart::new("Group commit: throughput against batch size")
        .x_label("entries per fsync")
        .y_label("entries/s")
        .x_scale(Scale::Log)
        .y_scale(Scale::Log)
        .line(
            "log, group commit",
            batches.map(|b| (b, 300.0 * b / (1.0 + b / 400.0))),
        )
        .line(
            "disk alone, same cadence",
            batches.map(|b| (b, 320.0 * b / (1.0 + b / 500.0))),
        )
        .figure()?;
    Ok(vec![
        ("chart-response", response),
        ("chart-hockey-stick", hockey),
        ("chart-fleet", fleet),
        ("chart-replicas", replicas),
        ("chart-group-commit", group),
    ])
}

fn lab_bench() -> Result<Vec<(&'static str, Figure)>, Box<dyn Error>> {
    let mut sim = Builder::new().build(|_| EchoServer::new())?;
    sim.call("alice", "athens", Echo::relayed("hello"), 20)?;
    let relayed = sim.trace().diagram().title("a relayed echo").figure()?;
    let start = sim.now();
    sim.set_latency("athens", "byzantium", Some(Latency::Fixed(8)))?;
    sim.call("bob", "athens", Echo::relayed("slowly"), 40)?;
    let slow = sim
        .trace()
        .diagram()
        .window(start, sim.now())
        .title("8 ticks on athens → byzantium")
        .figure()?;
    sim.set_latency("athens", "byzantium", None)?;
    let start = sim.now();
    sim.partition(&["athens"], &["byzantium", "cyrene"])?;
    sim.call("alice", "athens", Echo::relayed("anyone?"), 40)?;
    sim.heal_all();
    let cut = sim
        .trace()
        .diagram()
        .window(start, sim.now())
        .title("athens cut off")
        .figure()?;
    let start = sim.now();
    sim.crash("byzantium")?;
    sim.call("bob", "byzantium", Echo::new("are you there?"), 200)?;
    sim.restart("byzantium")?;
    sim.call("bob", "byzantium", Echo::new("welcome back"), 20)?;
    let crash = sim
        .trace()
        .diagram()
        .window(start, sim.now())
        .title("byzantium crashes and restarts")
        .figure()?;
    // A long run drawn whole: arrows aggregate per link and time bucket.
    let mut long = Builder::new()
        .latency(Latency::between(1, 4)?)
        .trace(patterns::sim::TraceLevel::Kinds)
        .build(|_| EchoServer::new())?;
    for i in 0..1_500 {
        long.call(
            "alice",
            ["athens", "byzantium", "cyrene"][i % 3],
            Echo::relayed("x"),
            50,
        )?;
    }
    let aggregated = long
        .trace()
        .diagram()
        .title("1,500 relayed echoes: arrows aggregated per link and time bucket")
        .figure()?;
    Ok(vec![
        ("lab-aggregated", aggregated),
        ("lab-relayed-echo", relayed),
        ("lab-slow-link", slow),
        ("lab-cut-off", cut),
        ("lab-crash", crash),
    ])
}

const FIVE: [&str; 5] = ["athens", "byzantium", "cyrene", "delphi", "sparta"];

fn quorums() -> Result<Vec<(&'static str, Figure)>, Box<dyn Error>> {
    let mut sim = Builder::new().build(|_| QuorumKv::new(Config::majority(3)))?;
    sim.call(
        "alice",
        "athens",
        KvOp::write("title", "Microservices"),
        100,
    )?;
    sim.call("bob", "cyrene", KvOp::read("title"), 100)?;
    let quorum = sim
        .trace()
        .diagram()
        .title("W = 2 of 3, then R = 2 of 3")
        .figure()?;

    let run: ScenarioRun<QuorumKv> = Scenario::new("split brain prevented")
        .partition(&["athens", "byzantium"], &["cyrene", "delphi", "sparta"])
        .invoke("alice", "athens", KvOp::write("ledger", "minority_attempt"))
        .invoke("bob", "cyrene", KvOp::write("ledger", "majority_success"))
        .run(Builder::new().nodes(FIVE), |_| {
            QuorumKv::new(Config::majority(5))
        })?;
    let split = run
        .sim
        .trace()
        .diagram()
        .title("2 | 3: only the majority decides")
        .figure()?;

    let config = Config::majority(3).round_timeout_ticks(400);
    let run: ScenarioRun<QuorumKv> = Scenario::new("DDIA 10.6")
        .invoke("writer", "athens", KvOp::write("key", "x=0"))
        .run_for(5)
        .delay_kind(ReplicaKind::Set, "athens", "byzantium", 100)
        .delay_kind(ReplicaKind::Set, "athens", "cyrene", 100)
        .start("writer", "athens", KvOp::write("key", "x=1"))
        .run_for(3)
        .partition(&["byzantium"], &["cyrene"])
        .invoke("alice", "byzantium", KvOp::read("key"))
        .reconnect("byzantium")
        .partition(&["byzantium"], &["athens"])
        .invoke("bob", "byzantium", KvOp::read("key"))
        .await_op("writer")
        .run(
            Builder::new()
                .clients(["writer", "alice", "bob"])
                .client_timeout_ticks(500),
            move |_| QuorumKv::new(config.clone()),
        )?;
    let ddia = run
        .sim
        .trace()
        .diagram()
        .window(5, 30)
        .title("alice sees x=1, then bob sees x=0")
        .figure()?;

    let register = Register::new(Value::Nil);
    let model = Independent::new(register.clone());
    let weak = Config::majority(3).quorums(1, 1)?;
    let found = explore(
        0..50,
        |seed| {
            let c = weak.clone();
            random_kv_run(3, move |_| QuorumKv::new(c.clone()), seed, 300).unwrap()
        },
        |sim| check::linearizable(sim.history(), &model).is_ok_and(|r| r.is_ok()),
    );
    let (_, bad) = found
        .counterexample
        .ok_or("R = W = 1 fails within 50 seeds")?;
    let report = check::linearizable(bad.history(), &model)?;
    let culprit = report.culprit().ok_or("a culprit")?.clone();
    let tick = bad.history().events[culprit.invoke_index].time.unwrap_or(0);
    let client = culprit.process_name.clone().unwrap_or_default();
    let key = match &culprit.key {
        Some(Value::Str(k)) => k.clone(),
        _ => String::new(),
    };
    let before = bad
        .trace()
        .diagram()
        .window(tick.saturating_sub(6), tick + 6)
        .figure()?;
    let after = bad
        .trace()
        .diagram()
        .window(tick.saturating_sub(6), tick + 6)
        .focus_key(&key)
        .highlight_operation(&client, tick)
        .title(format!(
            "R = W = 1: {client}'s {} is stale",
            culprit.label()
        ))
        .figure()?;
    let timeline = report.timeline()?;
    Ok(vec![
        ("quorum-w2-r2", quorum),
        ("quorum-split-brain", split),
        ("quorum-ddia", ddia),
        ("quorum-counterexample-untitled", before),
        ("quorum-counterexample", after),
        ("quorum-counterexample-timeline", timeline),
    ])
}

fn new_figures() -> Result<Vec<(&'static str, Figure)>, Box<dyn Error>> {
    let disk = Arc::new(SimulatedFileSystem::new());
    let mut log = Log::open("/wal", LogConfig::on(disk.clone()))?;
    for x in 1..=3 {
        log.append(format!("set x={x}").as_bytes())?;
    }
    log.sync()?;
    log.append(&[b'4'; 600])?;
    log.flush()?;
    disk.restart(Tear::LastWrite);
    let crashed = newest_segment_bytes(&disk, "/wal".as_ref()).ok_or("a segment")?;
    let log = Log::open("/wal", LogConfig::on(disk.clone()))?;
    let recovered = newest_segment_bytes(&disk, "/wal".as_ref()).ok_or("a segment")?;
    let kept = log.read_all()?.len();
    let torn = ByteBars::new(format!("Recovery cuts the torn tail: {kept} entries stay"))
        .segment("on the platter after the crash", &crashed)
        .segment("after recovery", &recovered)
        .figure()?;

    let n = 3;
    let stale = [[33.0, 21.5, 0.0], [20.1, 0.0, 0.0], [0.0, 0.0, 0.0]];
    let mut grid = CellGrid::new("Stale reads (%) by R and W: none once R + W > N (N = 3)")
        .rows("R", (1..=n).map(|r| format!("R = {r}")))
        .columns("W", (1..=n).map(|w| format!("W = {w}")))
        .class(
            "overlap",
            "R + W > N: quorums overlap",
            style::GREEN.tint(0.55),
        )
        .class(
            "miss",
            "R + W ≤ N: a read may miss the last write",
            style::RED.tint(0.75),
        );
    for r in 1..=n {
        for w in 1..=n {
            let class = if r + w > n { "overlap" } else { "miss" };
            grid = grid.cell(r - 1, w - 1, format!("{:.1} %", stale[r - 1][w - 1]), class);
        }
    }
    let grid = grid.figure()?;

    use EntryState::{Accepted, Chosen};
    // Multi-Paxos after a leader change: slot 3 is a hole the new leader fills with a no-op.
    let slots = |accepted: &[(u64, u64, &str)], chosen_upto: u64| -> Vec<LogEntry> {
        accepted
            .iter()
            .map(|&(slot, ballot, command)| {
                let state = if slot <= chosen_upto {
                    Chosen
                } else {
                    Accepted
                };
                LogEntry::new(slot, ballot, command, state)
            })
            .collect()
    };
    let log_grid = LogGrid::new("Multi-Paxos: the new leader (ballot 5) fills slot 3 with a no-op")
        .term_word("ballot")
        .replica(
            "athens",
            slots(
                &[(1, 2, "SET a=1"), (2, 2, "SET b=2"), (4, 2, "SET d=4")],
                2,
            ),
        )
        .replica(
            "byzantium",
            slots(
                &[
                    (1, 2, "SET a=1"),
                    (2, 2, "SET b=2"),
                    (3, 5, "no-op"),
                    (4, 5, "SET d=4"),
                ],
                4,
            ),
        )
        .replica(
            "cyrene",
            slots(
                &[
                    (1, 2, "SET a=1"),
                    (2, 2, "SET b=2"),
                    (3, 5, "no-op"),
                    (4, 5, "SET d=4"),
                    (5, 5, "SET e=5"),
                ],
                4,
            ),
        )
        .commit_index("athens", 2)
        .commit_index("byzantium", 4)
        .commit_index("cyrene", 4)
        .highlight("athens", 4)
        .figure()?;

    // A leader cut off by a partition keeps believing; the majority elects another.
    let mut chart = LeaderChart::new(
        "sparta, cut off in term 1, is deposed by term 2's leader",
        120,
    )
    .nodes(["athens", "byzantium", "cyrene", "delphi", "sparta"]);
    for node in ["athens", "byzantium", "cyrene", "delphi"] {
        chart = chart.change(node, 0, Role::Follower, 1);
    }
    let leader = chart
        .change("sparta", 0, Role::Leader, 1)
        .change("cyrene", 50, Role::Candidate, 2)
        .change("cyrene", 53, Role::Leader, 2)
        .change("athens", 52, Role::Follower, 2)
        .change("byzantium", 52, Role::Follower, 2)
        .change("sparta", 95, Role::Follower, 2)
        .down("delphi", 70)
        .change("delphi", 100, Role::Follower, 2)
        .figure()?;
    Ok(vec![
        ("bytes-torn-write", torn),
        ("grid-r-by-w", grid),
        ("grid-log", log_grid),
        ("leader-chart", leader),
    ])
}

fn main() -> Result<(), Box<dyn Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "gallery".to_string());
    let out = Path::new(&out);
    std::fs::create_dir_all(out)?;
    let mut figures = Vec::new();
    figures.extend(charts()?);
    figures.extend(lab_bench()?);
    figures.extend(quorums()?);
    figures.extend(new_figures()?);
    let mut page = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>viz gallery</title>\
         <style>body{width:1110px;margin:0 0 0 90px;font-family:sans-serif}</style></head><body>",
    );
    for (name, figure) in &figures {
        figure.save(out.join(format!("{name}.svg")))?;
        page.push_str(&format!("<h3>{name}</h3>{}", figure.to_html()));
    }
    page.push_str("</body></html>");
    std::fs::write(out.join("index.html"), page)?;
    println!("{} figures in {}", figures.len(), out.display());
    Ok(())
}
