use super::*;
use crate::protocols::echo::{Echo, EchoServer};
use crate::sim::{Builder, Latency, TraceLevel};

fn tour() -> Trace {
    let mut sim = Builder::new()
        .client_timeout_ticks(12)
        .build(|_| EchoServer::new())
        .unwrap();
    sim.call("alice", "athens", Echo::relayed("hello"), 20)
        .unwrap();
    sim.partition(&["athens"], &["byzantium", "cyrene"])
        .unwrap();
    sim.call("bob", "athens", Echo::relayed("anyone?"), 40)
        .unwrap();
    sim.heal_all();
    sim.crash("byzantium").unwrap();
    sim.call("alice", "cyrene", Echo::new("still there?"), 40)
        .unwrap();
    sim.restart("byzantium").unwrap();
    sim.trace().clone()
}

#[test]
fn lanes_put_clients_left_of_nodes() {
    let layout = tour().diagram().layout();
    assert_eq!(
        layout.lanes,
        ["alice", "bob", "athens", "byzantium", "cyrene"]
    );
    assert_eq!(layout.client_lanes, 2);
}

#[test]
fn every_message_is_one_arrow_and_the_partitioned_ping_is_marked_dropped() {
    let layout = tour().diagram().layout();
    assert!(!layout.aggregated);
    // alice: echo, Ping, Pong, reply; bob: echo, Ping (dropped); alice again: echo, reply.
    assert_eq!(layout.arrows.len(), 8);
    let dropped: Vec<&Arrow> = layout
        .arrows
        .iter()
        .filter(|a| matches!(a.kind, ArrowKind::Dropped(_)))
        .collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(
        (
            dropped[0].label.as_str(),
            dropped[0].from_lane,
            dropped[0].to_lane
        ),
        ("Ping", 2, 3)
    );
    assert_eq!(dropped[0].kind, ArrowKind::Dropped(DropReason::Partition));
}

#[test]
fn crashes_partitions_and_operations_are_shaded() {
    let layout = tour().diagram().layout();
    let styles: Vec<(Option<usize>, BandStyle)> =
        layout.bands.iter().map(|b| (b.lane, b.style)).collect();
    assert!(
        styles.contains(&(Some(3), BandStyle::Crashed)),
        "{styles:?}"
    );
    assert!(styles.contains(&(None, BandStyle::Partition)));
    assert!(
        styles.contains(&(Some(1), BandStyle::Operation(EventType::Fail))),
        "bob's echo timed out"
    );
    assert_eq!(
        styles
            .iter()
            .filter(|s| **s == (Some(0), BandStyle::Operation(EventType::Ok)))
            .count(),
        2
    );
}

#[test]
fn quiet_ticks_get_no_row() {
    let layout = tour().diagram().layout();
    let ticks = &layout.row_ticks;
    assert!(ticks.windows(2).all(|w| w[0] < w[1]));
    assert!(
        !ticks.contains(&10),
        "nothing happens at tick 10 while bob waits: {ticks:?}"
    );
}

#[test]
fn a_window_keeps_only_its_ticks() {
    let layout = tour().diagram().window(0, 4).layout();
    assert_eq!(layout.row_ticks, [0, 1, 2, 3, 4]);
    // alice's round trip, and bob's request sent at tick 4 still on the wire when it ends.
    assert_eq!(layout.arrows.len(), 5);
    assert_eq!(
        layout
            .arrows
            .iter()
            .filter(|a| a.kind == ArrowKind::InFlight)
            .count(),
        1
    );
}

#[test]
fn a_large_run_aggregates_into_few_rows_and_weighted_arrows() {
    let mut sim = Builder::new()
        .latency(Latency::between(1, 4).unwrap())
        .trace(TraceLevel::Kinds)
        .build(|_| EchoServer::new())
        .unwrap();
    for i in 0..1_500 {
        let node = ["athens", "byzantium", "cyrene"][i % 3];
        sim.call("alice", node, Echo::relayed("x"), 50).unwrap();
    }
    assert!(sim.trace().events.len() > 10_000);
    let layout = sim.trace().diagram().layout();
    assert!(layout.aggregated);
    assert!(
        layout.row_ticks.len() <= 62,
        "{} rows",
        layout.row_ticks.len()
    );
    let total: usize = layout.arrows.iter().map(|a| a.count).sum();
    assert_eq!(total, 6_000, "every message is counted once");
    let svg = sim.trace().diagram().figure().unwrap();
    assert!(svg.svg().len() < 2_000_000);
}

// ----- layout rules on generated traces ------------------------------------------------------------

use crate::viz::scene::Shape;
use crate::viz::style::{CONTENT_WIDTH_PX, TEXT_MIN_PX};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A made-up trace that stresses the layout: messages that cross, skip lanes, get dropped
/// (at send, at a crashed receiver), duplicated or stay in flight; partitions, crashes, pauses
/// and knob changes; several timers and notes on one lane at one tick, some of them long.
/// `density` is the chance that a node sends at a tick.
fn generated(seed: u64, density: f64) -> Trace {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let nodes = rng.random_range(3..=5usize);
    let clients = rng.random_range(1..=3usize);
    let names: Vec<String> = ["athens", "byzantium", "cyrene", "delphi", "sparta"][..nodes]
        .iter()
        .map(|s| s.to_string())
        .chain(
            ["alice", "bob", "carol"][..clients]
                .iter()
                .map(|s| s.to_string()),
        )
        .collect();
    let node = |i: usize| ProcessId(i as u16);
    let client = |i: usize| ProcessId((nodes + i) as u16);
    let kinds = [
        "Get",
        "GetOk",
        "Set",
        "SetOk",
        "RequestVoteResponse",
        "Ping",
        "AppendEntries",
    ];
    let notes = [
        "write quorum timed out",
        "relay timed out",
        "stored minority_attempt_with_a_long_name at version 17",
        "read repair of byzantium",
        "became leader in term 4",
    ];
    let ticks = rng.random_range(12..40u64);
    let mut later: BTreeMap<Tick, Vec<TraceEvent>> = BTreeMap::new();
    let mut events = Vec::new();
    let mut next_message = 0u64;
    let mut crashed = vec![false; nodes];
    let mut busy = vec![false; clients];
    for tick in 0..ticks {
        if let Some(due) = later.remove(&tick) {
            for e in due {
                match e {
                    TraceEvent::Deliver { message, .. } if rng.random_bool(0.1) => {
                        events.push(TraceEvent::Drop {
                            tick,
                            message,
                            reason: DropReason::Crashed,
                        })
                    }
                    e => events.push(e),
                }
            }
        }
        // Faults now and then.
        if rng.random_bool(0.08) {
            let n = rng.random_range(0..nodes);
            let fault = if crashed[n] {
                crashed[n] = false;
                Fault::Restart {
                    node: names[n].clone(),
                    torn: false,
                }
            } else {
                crashed[n] = true;
                Fault::Crash {
                    node: names[n].clone(),
                }
            };
            events.push(TraceEvent::Fault { tick, fault });
        }
        if rng.random_bool(0.06) {
            let split = rng.random_range(1..nodes);
            events.push(TraceEvent::Fault {
                tick,
                fault: Fault::Partition {
                    a: names[..split].to_vec(),
                    b: names[split..nodes].to_vec(),
                },
            });
        }
        if rng.random_bool(0.05) {
            events.push(TraceEvent::Fault {
                tick,
                fault: Fault::HealAll,
            });
        }
        if rng.random_bool(0.03) {
            let n = rng.random_range(0..nodes);
            events.push(TraceEvent::Fault {
                tick,
                fault: Fault::SkewClock {
                    node: names[n].clone(),
                    millis: -50,
                },
            });
        }
        if rng.random_bool(0.04) {
            events.push(TraceEvent::Fault {
                tick,
                fault: Fault::Latency {
                    from: names[0].clone(),
                    to: names[1].clone(),
                    latency: Some(Latency::Fixed(8)),
                },
            });
        }
        // Clients invoke.
        for (c, busy) in busy.iter_mut().enumerate() {
            if !*busy && rng.random_bool(0.3) {
                *busy = true;
                let to = rng.random_range(0..nodes);
                let value = format!("[\"k{}\" \"v{}\"]", rng.random_range(0..3), tick);
                events.push(TraceEvent::Invoke {
                    tick,
                    client: client(c),
                    node: node(to),
                    f: "write",
                    value: value.clone(),
                });
                let message = next_message;
                next_message += 1;
                events.push(TraceEvent::Send {
                    tick,
                    message,
                    from: client(c),
                    to: node(to),
                    kind: "write",
                    payload: None,
                });
                later
                    .entry(tick + rng.random_range(1..4))
                    .or_default()
                    .push(TraceEvent::Deliver { tick: 0, message });
            } else if *busy && rng.random_bool(0.25) {
                *busy = false;
                let kind =
                    [EventType::Ok, EventType::Fail, EventType::Info][rng.random_range(0..3)];
                events.push(TraceEvent::Complete {
                    tick,
                    client: client(c),
                    kind,
                    value: format!("[\"k1\" \"v{tick}\"]"),
                });
            }
        }
        // Nodes send, set off timers, write notes.
        for (n, down) in crashed.iter().enumerate() {
            if *down {
                continue;
            }
            if rng.random_bool(0.15) {
                events.push(TraceEvent::Timer {
                    tick,
                    node: node(n),
                    timer: format!("RoundDeadline({})", rng.random_range(0..30)),
                });
            }
            for _ in 0..rng.random_range(0..3) {
                if rng.random_bool(0.2) {
                    events.push(TraceEvent::Annotate {
                        tick,
                        node: node(n),
                        text: notes[rng.random_range(0..notes.len())].to_string(),
                    });
                }
            }
            if !rng.random_bool(density) {
                continue;
            }
            for _ in 0..rng.random_range(1..4) {
                let to = if rng.random_bool(0.15) && clients > 0 {
                    client(rng.random_range(0..clients))
                } else {
                    node(rng.random_range(0..nodes))
                };
                let message = next_message;
                next_message += 1;
                events.push(TraceEvent::Send {
                    tick,
                    message,
                    from: node(n),
                    to,
                    kind: kinds[rng.random_range(0..kinds.len())],
                    payload: None,
                });
                match rng.random_range(0..10) {
                    0 => events.push(TraceEvent::Drop {
                        tick,
                        message,
                        reason: [DropReason::Partition, DropReason::Loss, DropReason::Rule]
                            [rng.random_range(0..3)],
                    }),
                    1 => events.push(TraceEvent::Drop {
                        tick,
                        message,
                        reason: DropReason::SenderCrashed,
                    }),
                    2 => {} // never arrives: in flight at the end
                    k => {
                        let at = tick + rng.random_range(1..7);
                        later
                            .entry(at)
                            .or_default()
                            .push(TraceEvent::Deliver { tick: 0, message });
                        if k == 3 {
                            later
                                .entry(at + rng.random_range(0..3))
                                .or_default()
                                .push(TraceEvent::Deliver { tick: 0, message });
                        }
                    }
                }
            }
        }
        // Deliveries were queued without their tick.
        for e in events.iter_mut().rev() {
            match e {
                TraceEvent::Deliver { tick: t, .. } if *t == 0 => *t = tick,
                TraceEvent::Drop { tick: t, .. } if *t == 0 => *t = tick,
                _ => {}
            }
        }
    }
    // Idle stretches: shift the second half later.
    let shift = rng.random_range(0..40);
    for e in events.iter_mut() {
        let t = e.tick();
        if t > ticks / 2 {
            set_tick(e, t + shift);
        }
    }
    Trace {
        names,
        node_count: nodes,
        events,
    }
}

fn set_tick(e: &mut TraceEvent, to: Tick) {
    match e {
        TraceEvent::Send { tick, .. }
        | TraceEvent::Deliver { tick, .. }
        | TraceEvent::Drop { tick, .. }
        | TraceEvent::Timer { tick, .. }
        | TraceEvent::Fault { tick, .. }
        | TraceEvent::Annotate { tick, .. }
        | TraceEvent::Invoke { tick, .. }
        | TraceEvent::Complete { tick, .. } => *tick = to,
    }
}

/// How many arrows the diagram had to leave unlabelled (its key says so).
fn unlabelled(scene: &Scene) -> usize {
    scene
        .labels
        .iter()
        .find(|l| l.text.contains("left unlabelled"))
        .map_or(0, |l| {
            l.text
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(usize::MAX)
        })
}

fn assert_reads_at_a_glance(scene: &Scene, what: &str) {
    scene.verify().unwrap_or_else(|e| panic!("{what}: {e}"));
    // Not only no problem: the smallest text is the minimum at most.
    assert!(scene.smallest_text_px() >= TEXT_MIN_PX);
}

#[test]
fn generated_traces_have_no_overlapping_text_and_no_small_text() {
    // Claim: on traces with crossing, dropped, duplicated and pending messages, partitions,
    // crashes and several notes on one lane at one tick, no two text boxes overlap, no text
    // is under 12 px, every text colour reads on its background, and nothing leaves the figure.
    for seed in 0..60 {
        let trace = generated(seed, 0.35);
        let scene = trace
            .diagram()
            .title(format!("seed {seed}"))
            .scene()
            .unwrap();
        assert_reads_at_a_glance(&scene, &format!("seed {seed}"));
        // Made-up traces crowd more than a lesson's window; one arrow, or one in fifty, may
        // go unlabelled (the key says how many), never a label printed over another.
        let arrows = trace.diagram().layout().arrows.len();
        assert!(
            unlabelled(&scene) <= (arrows / 50).max(1),
            "seed {seed}: {} of {arrows} arrows unlabelled",
            unlabelled(&scene)
        );
    }
}

#[test]
fn a_dense_trace_still_places_every_label() {
    // Every node sends at every tick: the densest a lesson's window gets.
    for seed in 0..10 {
        let trace = generated(1_000 + seed, 1.0);
        let diagram = trace.diagram().title("dense");
        let scene = diagram.scene().unwrap();
        assert_reads_at_a_glance(&scene, &format!("dense seed {seed}"));
        let arrows = diagram.layout().arrows.len();
        assert!(
            unlabelled(&scene) * 20 <= arrows,
            "dense seed {seed}: {} of {arrows} arrows unlabelled",
            unlabelled(&scene)
        );
    }
}

#[test]
fn a_diagram_of_five_nodes_and_three_clients_fits_the_page() {
    // Eight lanes fit a 1,280 px page without scrolling, so nothing is shrunk or hidden.
    for seed in 0..60 {
        let trace = generated(seed, 0.35);
        if trace.names.len() < 8 {
            continue;
        }
        let scene = trace.diagram().title("eight lanes").scene().unwrap();
        assert!(
            scene.width <= CONTENT_WIDTH_PX,
            "seed {seed}: {} px wide",
            scene.width
        );
    }
}

#[test]
fn notes_on_one_lane_and_tick_stack_and_wrap_without_losing_text() {
    let trace = Trace {
        names: vec!["athens".into(), "byzantium".into()],
        node_count: 2,
        events: vec![
            TraceEvent::Timer {
                tick: 3,
                node: ProcessId(0),
                timer: "RelayDeadline(3)".into(),
            },
            TraceEvent::Annotate {
                tick: 3,
                node: ProcessId(0),
                text: "relay timed out".into(),
            },
            TraceEvent::Annotate {
                tick: 3,
                node: ProcessId(0),
                text: "stored minority_attempt_that_has_a_very_long_name_indeed".into(),
            },
        ],
    };
    let scene = trace.diagram().title("stacked").scene().unwrap();
    assert_reads_at_a_glance(&scene, "stacked notes");
    let all: String = scene.labels.iter().map(|l| l.text.as_str()).collect();
    for text in ["RelayDeadline(3)", "relay timed out", "minority_attempt"] {
        assert!(
            all.replace(' ', "").contains(&text.replace(' ', "")),
            "{text} is shown whole"
        );
    }
    assert!(!all.contains('…'), "nothing is truncated");
    let timer = scene
        .labels
        .iter()
        .find(|l| l.text.contains("RelayDeadline"))
        .unwrap();
    let note = scene
        .labels
        .iter()
        .find(|l| l.text == "relay timed out")
        .unwrap();
    assert!(note.y > timer.y, "the second note sits under the first");
}

#[test]
fn a_dropped_message_ends_with_its_cross_just_short_of_its_target() {
    let layout = tour().diagram().layout();
    let scene = tour().diagram().title("t").scene().unwrap();
    let dropped = layout
        .arrows
        .iter()
        .find(|a| matches!(a.kind, ArrowKind::Dropped(_)))
        .unwrap();
    assert_eq!((dropped.from_lane, dropped.to_lane), (2, 3));
    // The lane x of byzantium: its name is centred on it.
    let byzantium = scene
        .labels
        .iter()
        .find(|l| l.text == "byzantium")
        .unwrap()
        .x;
    let athens = scene.labels.iter().find(|l| l.text == "athens").unwrap().x;
    let cross_centres: Vec<f64> = scene
        .shapes
        .iter()
        .filter_map(|s| match s {
            Shape::Line { points, width, .. } if points.len() == 2 && *width == 2.0 => {
                Some((points[0].0 + points[1].0) / 2.0)
            }
            _ => None,
        })
        .collect();
    assert!(
        cross_centres
            .iter()
            .any(|x| *x > athens && byzantium - x > 4.0 && byzantium - x < 20.0),
        "a ✕ just left of byzantium ({byzantium}): {cross_centres:?}"
    );
}

#[test]
fn idle_ticks_between_rows_show_as_a_labelled_gap() {
    // The lab bench's slow link: 8 ticks on athens → byzantium leave 7 idle ticks.
    let mut sim = Builder::new().build(|_| EchoServer::new()).unwrap();
    sim.set_latency("athens", "byzantium", Some(Latency::Fixed(8)))
        .unwrap();
    sim.call("bob", "athens", Echo::relayed("slowly"), 40)
        .unwrap();
    let diagram = sim.trace().diagram().title("slow");
    let layout = diagram.layout();
    let gaps: Vec<Tick> = (0..layout.row_ticks.len())
        .map(|r| layout.idle_ticks_after(r))
        .collect();
    assert!(
        gaps.contains(&7),
        "{gaps:?} for rows {:?}",
        layout.row_ticks
    );
    let scene = diagram.scene().unwrap();
    assert!(scene.labels.iter().any(|l| l.text == "⋮ 7 ticks"));
    assert_reads_at_a_glance(&scene, "slow link");
    // The row after the gap is further down than an ordinary row step.
    let y = |t: &str| scene.labels.iter().find(|l| l.text == t).unwrap().y;
    let slow_hop = y("t9") - y("t1");
    let quick_hop = y("t1") - y("t0");
    assert!(slow_hop > quick_hop + 20.0, "{slow_hop} vs {quick_hop}");
}

#[test]
fn partitions_shade_the_lanes_but_not_the_tick_column() {
    let scene = tour().diagram().title("t").scene().unwrap();
    let ticks_right = scene
        .labels
        .iter()
        .filter(|l| l.text.starts_with('t') && l.text[1..].parse::<u64>().is_ok())
        .map(|l| l.bbox().right())
        .fold(0.0, f64::max);
    let partition_left = scene
        .shapes
        .iter()
        .filter_map(|s| match s {
            Shape::Rect {
                rect,
                fill: Some((c, _)),
                ..
            // The band, not the key's swatch of it.
            } if *c == crate::viz::style::RED.tint(0.92) && rect.height > 20.0 => Some(rect.x),
            _ => None,
        })
        .fold(f64::INFINITY, f64::min);
    assert!(partition_left.is_finite(), "the partition is shaded");
    assert!(
        partition_left > ticks_right,
        "{partition_left} > {ticks_right}"
    );
}

// ----- highlight and focus -------------------------------------------------------------------------

fn two_keys() -> Trace {
    use crate::protocols::kv::KvOp;
    use crate::protocols::quorum_kv::{Config, QuorumKv};
    let mut sim = Builder::new()
        .build(|_| QuorumKv::new(Config::majority(3)))
        .unwrap();
    sim.call("alice", "athens", KvOp::write("x", "1"), 100)
        .unwrap();
    sim.call("bob", "cyrene", KvOp::write("y", "2"), 100)
        .unwrap();
    sim.call("alice", "byzantium", KvOp::read("x"), 100)
        .unwrap();
    sim.trace().clone()
}

#[test]
fn a_highlighted_operation_takes_every_message_it_caused() {
    // Claim: the read alice invoked is red with its request, the coordinator's Gets, the
    // replicas' answers and the reply; the writes before it are not.
    let trace = two_keys();
    let read_tick = trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Invoke {
                tick, f: "read", ..
            } => Some(*tick),
            _ => None,
        })
        .next()
        .unwrap();
    let layout = trace
        .diagram()
        .highlight_operation("alice", read_tick)
        .layout();
    let red: Vec<&str> = layout
        .arrows
        .iter()
        .filter(|a| a.emphasis == Emphasis::Highlight)
        .map(|a| a.label.as_str())
        .collect();
    assert!(red.contains(&"read") && red.contains(&"reply"), "{red:?}");
    assert!(red.iter().filter(|l| **l == "Get").count() >= 2, "{red:?}");
    assert!(red.contains(&"GetOk"), "{red:?}");
    assert!(!red.contains(&"write") && !red.contains(&"Set"), "{red:?}");
    for a in layout
        .arrows
        .iter()
        .filter(|a| a.emphasis == Emphasis::Highlight)
    {
        assert!(layout.row_ticks[a.from_row as usize] >= read_tick);
    }
    let red_marks = layout
        .marks
        .iter()
        .filter(|m| m.emphasis == Emphasis::Highlight)
        .count();
    assert_eq!(red_marks, 2, "its invocation and its completion");
    assert!(
        trace
            .diagram()
            .highlight_operation("alice", read_tick + 1000)
            .figure()
            .is_err(),
        "a highlight that names nothing is an error, not a silent no-op"
    );
}

#[test]
fn focusing_on_a_key_dims_or_drops_the_other_keys() {
    let trace = two_keys();
    let all = trace.diagram().layout();
    let dimmed = trace.diagram().focus_key("x").layout();
    let only = trace.diagram().only_key("x").layout();
    assert_eq!(dimmed.arrows.len(), all.arrows.len());
    let dim: Vec<&Arrow> = dimmed
        .arrows
        .iter()
        .filter(|a| a.emphasis == Emphasis::Dim)
        .collect();
    // bob's write of y: request, three Sets, at least two SetOks, the reply.
    assert!(dim.len() >= 6, "{}", dim.len());
    assert!(dim.iter().any(|a| a.label == "write"));
    assert_eq!(only.arrows.len(), all.arrows.len() - dim.len());
    assert!(only.row_ticks.len() < all.row_ticks.len());
    assert!(
        only.marks.iter().all(|m| !m.text.contains("\"y\"")),
        "{:?}",
        only.marks
    );
    let scene = trace
        .diagram()
        .focus_key("x")
        .title("x only")
        .scene()
        .unwrap();
    assert_reads_at_a_glance(&scene, "focus");
    assert!(
        !scene.labels.iter().any(|l| l.text.contains("\"y\"")),
        "dimmed operations carry no text"
    );
}

#[test]
fn every_diagram_has_a_title_and_a_key_for_what_it_draws() {
    let untitled = tour().diagram().scene().unwrap();
    assert!(
        untitled.labels[..]
            .iter()
            .any(|l| l.text.starts_with("Untitled figure")),
        "an untitled diagram says so"
    );
    let scene = tour().diagram().title("a tour").scene().unwrap();
    let texts: Vec<&str> = scene.labels.iter().map(|l| l.text.as_str()).collect();
    for entry in [
        "message, labelled with its type",
        "partition",
        "node down",
        "dropped: ✕ short of its target",
    ] {
        assert!(texts.contains(&entry), "key entry {entry}: {texts:?}");
    }
    assert!(
        !texts.contains(&"still in flight at the end"),
        "no entry for what is not drawn"
    );
}

/// Writes the generated diagrams as SVG for a look: `VIZ_DUMP=/tmp/d cargo test -p patterns
/// --lib dump_generated_diagrams -- --ignored`.
#[test]
#[ignore]
fn dump_generated_diagrams() {
    let dir = std::env::var("VIZ_DUMP").unwrap_or_else(|_| "target/viz-dump".into());
    std::fs::create_dir_all(&dir).unwrap();
    for seed in [17, 1, 2] {
        for (name, density) in [("generated", 0.35), ("dense", 1.0)] {
            let seed = if density == 1.0 { 1_000 + seed } else { seed };
            let figure = generated(seed, density)
                .diagram()
                .title(format!("{name} seed {seed}"))
                .figure()
                .unwrap();
            figure.save(format!("{dir}/{name}-{seed}.svg")).unwrap();
        }
    }
}

#[test]
fn the_lessons_diagrams_label_every_arrow() {
    // The lab bench's tour, a quorum run on two keys, and windows of random quorum runs (the
    // counterexample figure's shape): no problems, and no arrow left unlabelled.
    use crate::protocols::kv::random_kv_run;
    use crate::protocols::quorum_kv::{Config, QuorumKv};
    let mut traces = vec![tour(), two_keys()];
    for seed in 0..6 {
        let weak = Config::majority(3).quorums(1, 1).unwrap();
        let sim = random_kv_run(3, move |_| QuorumKv::new(weak.clone()), seed, 300).unwrap();
        traces.push(sim.trace().clone());
    }
    for (i, trace) in traces.iter().enumerate() {
        let last = trace.events.last().map_or(0, |e| e.tick());
        for from in (0..last).step_by(40) {
            let scene = trace
                .diagram()
                .window(from, from + 12)
                .title("a window")
                .scene()
                .unwrap();
            assert_reads_at_a_glance(&scene, &format!("trace {i} from {from}"));
            assert_eq!(unlabelled(&scene), 0, "trace {i} from {from}");
            assert!(
                scene.width <= CONTENT_WIDTH_PX,
                "trace {i}: {} px",
                scene.width
            );
        }
    }
}

#[test]
fn an_empty_trace_or_window_is_an_error_or_an_empty_figure_never_a_panic() {
    assert!(
        Trace::default()
            .diagram()
            .title("nothing")
            .figure()
            .is_err()
    );
    let scene = tour()
        .diagram()
        .window(10_000, 20_000)
        .title("quiet")
        .scene()
        .unwrap();
    scene.verify().unwrap();
}
