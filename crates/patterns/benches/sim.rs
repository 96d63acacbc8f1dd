//! How fast is the bench? Ping-pong (two nodes, N round trips) and broadcast (one node fans out to
//! n−1 peers and waits for every ack, N rounds), in messages and simulated ticks per second of
//! wall time; then the same ping-pong on turmoil, in the same run, and the ratio.
//!
//! `cargo bench --bench sim` (full sizes) or `BENCH_QUICK=1 cargo bench --bench sim` (seconds).

use patterns::history::{EventType, Value};
use patterns::message_kinds;
use patterns::node::{Context, Node, Operation, ProcessId, RequestId};
use patterns::sim::{Builder, TraceLevel};
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Wire {
    Ping(u64),
    Pong(u64),
}

message_kinds!(Wire => WireKind { Ping, Pong });

#[derive(Clone, Debug, Serialize, Deserialize)]
struct NoOp;

impl Operation for NoOp {
    type Reply = ();
    fn invocation(&self) -> (&'static str, Value) {
        ("noop", Value::Nil)
    }
    fn completion(&self, _: &()) -> (EventType, Value) {
        (EventType::Ok, Value::Nil)
    }
    fn is_read_only(&self) -> bool {
        true
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Start;

/// Node 0 drives the workload: with one peer it is ping-pong, with many a broadcast.
struct Driver {
    rounds: u64,
    acks: usize,
}

impl Driver {
    fn round(&self, ctx: &mut Context<'_, Self>, round: u64) {
        ctx.broadcast(Wire::Ping(round));
    }
}

impl Node for Driver {
    type Message = Wire;
    type Timer = Start;
    type Operation = NoOp;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.id() == ProcessId(0) {
            ctx.set_timer(Start, 1);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: Start) {
        self.round(ctx, 1);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: ProcessId, message: Wire) {
        match message {
            Wire::Ping(r) => ctx.send(from, Wire::Pong(r)),
            Wire::Pong(r) => {
                self.acks += 1;
                if self.acks == ctx.peers().len() && r < self.rounds {
                    self.acks = 0;
                    self.round(ctx, r + 1);
                }
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, _: NoOp) {
        ctx.reply(request, ());
    }
}

struct Measured {
    messages: u64,
    ticks: u64,
    seconds: f64,
}

fn run_simulator(nodes: usize, rounds: u64, trace: TraceLevel) -> Measured {
    let names: Vec<String> = (0..nodes).map(|i| format!("n{i}")).collect();
    let mut sim = Builder::new()
        .nodes(names)
        .clients(Vec::<String>::new())
        .trace(trace)
        .build(move |_| Driver { rounds, acks: 0 })
        .expect("valid cluster");
    let start = Instant::now();
    sim.run_until_quiet(u64::MAX / 2)
        .expect("the workload ends");
    let seconds = start.elapsed().as_secs_f64();
    let messages = sim.stats().delivered;
    assert_eq!(
        messages,
        rounds * 2 * (nodes as u64 - 1),
        "every message delivered"
    );
    Measured {
        messages,
        ticks: sim.now(),
        seconds,
    }
}

fn run_turmoil(round_trips: u64) -> Measured {
    use std::net::{IpAddr, Ipv4Addr};
    let mut sim = turmoil::Builder::new()
        .min_message_latency(std::time::Duration::from_millis(1))
        .max_message_latency(std::time::Duration::from_millis(1))
        .simulation_duration(std::time::Duration::from_secs(u32::MAX as u64))
        .build();
    sim.host("pong", || async {
        let socket =
            turmoil::net::UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9000)).await?;
        let mut buf = [0u8; 16];
        loop {
            let (n, from) = socket.recv_from(&mut buf).await?;
            socket.send_to(&buf[..n], from).await?;
        }
    });
    sim.client("ping", async move {
        let socket =
            turmoil::net::UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9001)).await?;
        let pong = turmoil::lookup("pong");
        let mut buf = [0u8; 16];
        for i in 0..round_trips {
            socket.send_to(&i.to_le_bytes(), (pong, 9000)).await?;
            socket.recv_from(&mut buf).await?;
        }
        Ok(())
    });
    let start = Instant::now();
    sim.run().expect("turmoil ping-pong completes");
    let seconds = start.elapsed().as_secs_f64();
    Measured {
        messages: round_trips * 2,
        ticks: sim.elapsed().as_millis() as u64,
        seconds,
    }
}

/// A 10,000-event trace drawn whole (aggregated) and a 300-event window (every arrow): the
/// diagram must render in well under a second either way.
fn diagram_timings() {
    use patterns::protocols::echo::{Echo, EchoServer};
    let mut sim = Builder::new()
        .trace(TraceLevel::Kinds)
        .build(|_| EchoServer::new())
        .expect("valid cluster");
    let mut i = 0;
    while sim.trace().events.len() < 10_000 {
        let node = ["athens", "byzantium", "cyrene"][i % 3];
        sim.call("alice", node, Echo::relayed("x"), 50)
            .expect("echo completes");
        i += 1;
    }
    let events = sim.trace().events.len();
    println!("\n| diagram | events | wall ms | SVG KiB |");
    println!("|---|---:|---:|---:|");
    for (label, diagram) in [
        ("whole trace (aggregated)", sim.trace().diagram()),
        (
            "window of 40 ticks (every arrow)",
            sim.trace().diagram().window(1_000, 1_040),
        ),
    ] {
        let start = Instant::now();
        let figure = diagram.figure().expect("the diagram draws");
        let ms = start.elapsed().as_secs_f64() * 1e3;
        println!(
            "| {label} | {events} | {ms:.1} | {} |",
            figure.svg().len() / 1024
        );
    }
}

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let round_trips: u64 = if quick { 20_000 } else { 1_000_000 };
    let turmoil_round_trips: u64 = if quick { 2_000 } else { 20_000 };
    let broadcast_rounds: u64 = if quick { 2_000 } else { 50_000 };

    println!(
        "\nSimulator throughput{}\n",
        if quick {
            " (BENCH_QUICK: small sizes)"
        } else {
            ""
        }
    );
    println!("| workload | runtime | trace | messages | wall ms | messages/s | ticks/s |");
    println!("|---|---|---|---:|---:|---:|---:|");
    let row = |workload: &str, runtime: &str, trace: &str, m: &Measured| {
        println!(
            "| {workload} | {runtime} | {trace} | {} | {:.1} | {:.0} | {:.0} |",
            m.messages,
            m.seconds * 1e3,
            m.messages as f64 / m.seconds,
            m.ticks as f64 / m.seconds
        );
    };
    let ours = run_simulator(2, round_trips, TraceLevel::Off);
    row("ping-pong", "patterns::sim", "off", &ours);
    let traced = run_simulator(2, round_trips / 10, TraceLevel::Kinds);
    row("ping-pong", "patterns::sim", "kinds", &traced);
    for nodes in [5, 25] {
        let m = run_simulator(nodes, broadcast_rounds, TraceLevel::Off);
        row(&format!("broadcast n={nodes}"), "patterns::sim", "off", &m);
    }
    let theirs = run_turmoil(turmoil_round_trips);
    row("ping-pong", "turmoil 0.7 (UDP)", "-", &theirs);
    let ratio = (ours.messages as f64 / ours.seconds) / (theirs.messages as f64 / theirs.seconds);
    println!("\npatterns::sim vs turmoil, ping-pong messages/s: {ratio:.0}× (target ≥ 10×)");
    println!(
        "target ≥ 5,000,000 delivered messages/s on one core: {:.1} M/s",
        ours.messages as f64 / ours.seconds / 1e6
    );
    diagram_timings();
}
