//! The simulator's contract, one claim per test: each fault and knob, determinism, crash and
//! restart durability, client histories, and the errors bad input gets.

use patterns::history::{EventType, Value};
use patterns::message_kinds;
use patterns::node::{
    Context, Node, NodeStatus, Operation, ProcessId, RequestId, Seen, StorageError,
};
use patterns::protocols::echo::{Echo, EchoServer};
use patterns::protocols::kv::{KvOp, KvReply};
use patterns::sim::{
    Builder, ClientPolicy, DropReason, Fault, Latency, NemesisConfig, Outcome, RandomRun, RunPlan,
    SimError, Simulation, TraceEvent, TraceLevel,
};
use serde::{Deserialize, Serialize};

// ----- a small durable register to exercise storage, timers and broadcasts ------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Op {
    Write(String),
    Read,
    /// Sets the alarm timer (restarting it if pending).
    Arm(u64),
    Disarm,
}

impl Operation for Op {
    type Reply = Option<String>;

    fn invocation(&self) -> (&'static str, Value) {
        match self {
            Op::Write(v) => ("write", Value::str(v)),
            Op::Read => ("read", Value::Nil),
            Op::Arm(t) => ("arm", Value::Int(*t as i64)),
            Op::Disarm => ("disarm", Value::Nil),
        }
    }

    fn completion(&self, reply: &Option<String>) -> (EventType, Value) {
        match self {
            Op::Read => (EventType::Ok, reply.clone().into()),
            other => (EventType::Ok, other.invocation().1),
        }
    }

    fn is_read_only(&self) -> bool {
        matches!(self, Op::Read)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Wire {
    Note(String),
}

message_kinds!(Wire => WireKind { Note });

#[derive(Clone, Debug, PartialEq)]
struct Alarm;

#[derive(Default)]
struct Register {
    /// Reply only once the write is synced.
    durable: bool,
    value: Option<String>,
    heard: Vec<(ProcessId, String)>,
    alarms: u32,
    corrupt_on_start: bool,
}

impl Node for Register {
    type Message = Wire;
    type Timer = Alarm;
    type Operation = Op;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match ctx.storage().get_json::<String>("value") {
            Ok(v) => self.value = v,
            Err(StorageError::Corrupt { .. }) => self.corrupt_on_start = true,
        }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, from: ProcessId, note: Wire) {
        let Wire::Note(text) = note;
        self.heard.push((from, text));
    }

    fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: Alarm) {
        self.alarms += 1;
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: Op) {
        match op {
            Op::Write(v) => {
                ctx.storage().put_json("value", &v);
                self.value = Some(v.clone());
                ctx.broadcast(Wire::Note(v.clone()));
                if self.durable {
                    ctx.reply_when_durable(request, Some(v));
                } else {
                    ctx.reply(request, Some(v));
                }
            }
            Op::Read => ctx.reply(request, self.value.clone()),
            Op::Arm(after) => {
                ctx.set_timer(Alarm, after);
                ctx.reply(request, None);
            }
            Op::Disarm => {
                ctx.cancel_timer(Alarm);
                ctx.reply(request, None);
            }
        }
    }
}

fn register_cluster(builder: Builder) -> Simulation<Register> {
    builder
        .build(|_| Register::default())
        .expect("valid cluster")
}

fn durable_cluster(builder: Builder) -> Simulation<Register> {
    builder
        .build(|_| Register {
            durable: true,
            ..Register::default()
        })
        .expect("valid cluster")
}

fn write(v: &str) -> Op {
    Op::Write(v.to_string())
}

/// Ticks at which each message of `kind` was delivered to `to`.
fn deliveries(sim: &Simulation<Register>, kind: &str, to: &str) -> Vec<u64> {
    let to = sim.id(to).unwrap();
    let events = &sim.trace().events;
    let sent: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Send {
                message,
                to: t,
                kind: k,
                tick,
                ..
            } if *t == to && *k == kind => Some((*message, *tick)),
            _ => None,
        })
        .collect();
    events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Deliver { tick, message } if sent.iter().any(|(m, _)| m == message) => {
                Some(*tick)
            }
            _ => None,
        })
        .collect()
}

fn drops(sim: &Simulation<Register>) -> Vec<DropReason> {
    sim.trace()
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Drop { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

// ----- the echo example ----------------------------------------------------------------------------

#[test]
fn echo_round_trip_records_an_invoke_and_an_ok() {
    // Reference §3.2 #18: a client's echo comes back unchanged.
    let mut sim = Builder::new()
        .clients(["client-1"])
        .build(|_| EchoServer::new())
        .unwrap();
    let outcome = sim
        .call("client-1", "athens", Echo::new("hello"), 10)
        .unwrap();
    assert_eq!(outcome.reply(), Some(&"hello".to_string()));
    assert_eq!(
        sim.history().to_edn(),
        "[{:process 0, :process-name \"client-1\", :type :invoke, :f :echo, :value \"hello\"} \
         {:process 0, :process-name \"client-1\", :type :ok, :f :echo, :value \"hello\"}]"
    );
}

#[test]
fn a_round_trip_takes_two_latencies() {
    // Default latency is one tick each way: invoke at 0, request at 1, reply at 2.
    let mut sim = Builder::new().build(|_| EchoServer::new()).unwrap();
    let outcome = sim.call("alice", "athens", Echo::new("x"), 10).unwrap();
    assert_eq!(
        outcome,
        &Outcome::Replied {
            reply: "x".into(),
            tick: 2
        }
    );
    let relayed = sim.call("bob", "athens", Echo::relayed("y"), 10).unwrap();
    assert_eq!(
        relayed,
        &Outcome::Replied {
            reply: "y".into(),
            tick: 6
        },
        "relay adds a round trip"
    );
}

// ----- ordering and latency ------------------------------------------------------------------------

#[test]
fn events_of_the_same_tick_run_in_the_order_they_were_scheduled() {
    // The reference's heap returned equal-tick messages scrambled (spec §5.1 item 2); ours are FIFO.
    let mut sim = register_cluster(Builder::new().nodes(["a", "b", "c", "d", "e"]));
    sim.call("alice", "a", write("v"), 10).unwrap();
    let order: Vec<String> = sim
        .node("b")
        .unwrap()
        .heard
        .iter()
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(order, ["v"]);
    let trace = &sim.trace().events;
    let sends: Vec<u64> = trace
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Send {
                message,
                kind: "Note",
                ..
            } => Some(*message),
            _ => None,
        })
        .collect();
    let delivered: Vec<u64> = trace
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Deliver { message, .. } if sends.contains(message) => Some(*message),
            _ => None,
        })
        .collect();
    assert_eq!(sends.len(), 4);
    assert_eq!(delivered, sends, "deliveries of one tick follow send order");
}

#[test]
fn a_fixed_link_latency_delays_only_that_link() {
    let mut sim = register_cluster(Builder::new());
    sim.set_latency("athens", "byzantium", Some(Latency::Fixed(7)))
        .unwrap();
    sim.call("alice", "athens", write("v"), 20).unwrap();
    sim.run_for(10);
    assert_eq!(
        deliveries(&sim, "Note", "byzantium"),
        [8],
        "sent at tick 1, 7 ticks on the wire"
    );
    assert_eq!(deliveries(&sim, "Note", "cyrene"), [2]);
}

#[test]
fn a_delay_set_late_in_a_run_still_applies() {
    // The reference compared the delay with the absolute network tick, so a delay installed after
    // tick N did nothing (spec §1.7, §5.1 item 1). Ours holds from whenever it is set.
    let mut sim = register_cluster(Builder::new());
    sim.run_for(500);
    sim.set_latency("athens", "cyrene", Some(Latency::Fixed(40)))
        .unwrap();
    sim.call("alice", "athens", write("v"), 20).unwrap();
    sim.run_for(100);
    assert_eq!(deliveries(&sim, "Note", "cyrene"), [541]);
}

#[test]
fn a_random_latency_stays_within_its_range_and_varies() {
    let mut sim = register_cluster(
        Builder::new()
            .latency(Latency::between(2, 9).unwrap())
            .seed(3),
    );
    for i in 0..40 {
        sim.call("alice", "athens", write(&i.to_string()), 50)
            .unwrap();
    }
    sim.run_for(20);
    let sends: Vec<(u64, u64)> = sim
        .trace()
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Send {
                message,
                tick,
                kind: "Note",
                ..
            } => Some((*message, *tick)),
            _ => None,
        })
        .collect();
    let latencies: Vec<u64> = sim
        .trace()
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Deliver { message, tick } => sends
                .iter()
                .find(|(m, _)| m == message)
                .map(|(_, t)| tick - t),
            _ => None,
        })
        .collect();
    assert_eq!(latencies.len(), 80);
    assert!(
        latencies.iter().all(|l| (2..=9).contains(l)),
        "{latencies:?}"
    );
    assert!(
        latencies.iter().min() < latencies.iter().max(),
        "latencies vary"
    );
}

#[test]
fn a_type_delay_holds_back_only_that_type() {
    let mut sim = register_cluster(Builder::new());
    sim.delay_kind(WireKind::Note, "athens", "byzantium", 100)
        .unwrap();
    let outcome = sim.call("alice", "athens", write("v"), 20).unwrap();
    assert_eq!(
        outcome.reply(),
        Some(&Some("v".into())),
        "the reply is not delayed"
    );
    sim.run_for(200);
    assert_eq!(deliveries(&sim, "Note", "byzantium"), [102]);
    sim.delay_kind(WireKind::Note, "athens", "byzantium", 0)
        .unwrap();
    sim.call("alice", "athens", write("w"), 20).unwrap();
    sim.run_for(5);
    assert_eq!(
        deliveries(&sim, "Note", "byzantium").len(),
        2,
        "0 clears the delay"
    );
}

// ----- loss, duplication, drop rules ---------------------------------------------------------------

#[test]
fn a_lossy_link_loses_about_its_probability_and_nothing_else() {
    let mut sim = register_cluster(Builder::new().seed(11).client_timeout_ticks(10));
    sim.set_loss("athens", "byzantium", Some(0.3)).unwrap();
    for i in 0..200 {
        sim.call("alice", "athens", write(&i.to_string()), 20)
            .unwrap();
    }
    sim.run_for(5);
    let lost = drops(&sim)
        .iter()
        .filter(|r| **r == DropReason::Loss)
        .count();
    assert!(
        (40..=80).contains(&lost),
        "about 30% of 200 lost, got {lost}"
    );
    assert_eq!(
        sim.node("cyrene").unwrap().heard.len(),
        200,
        "the other link loses nothing"
    );
    assert_eq!(sim.node("byzantium").unwrap().heard.len(), 200 - lost);
}

#[test]
fn full_duplication_delivers_every_message_twice() {
    let mut sim = register_cluster(Builder::new());
    sim.set_duplication("athens", "cyrene", Some(1.0)).unwrap();
    sim.call("alice", "athens", write("v"), 20).unwrap();
    sim.run_for(5);
    assert_eq!(sim.node("cyrene").unwrap().heard.len(), 2);
    assert_eq!(sim.node("byzantium").unwrap().heard.len(), 1);
}

#[test]
fn a_drop_rule_drops_every_message_of_its_type() {
    let mut sim = register_cluster(Builder::new());
    sim.drop_kind(WireKind::Note, "athens", "cyrene").unwrap();
    for v in ["a", "b", "c"] {
        sim.call("alice", "athens", write(v), 20).unwrap();
    }
    sim.run_for(5);
    assert!(sim.node("cyrene").unwrap().heard.is_empty());
    assert_eq!(drops(&sim), [DropReason::Rule; 3]);
    sim.clear_drops("athens", "cyrene").unwrap();
    sim.call("alice", "athens", write("d"), 20).unwrap();
    sim.run_for(5);
    assert_eq!(
        sim.node("cyrene").unwrap().heard.len(),
        1,
        "cleared rules drop nothing"
    );
}

#[test]
fn an_nth_rule_drops_only_the_nth_message() {
    let mut sim = register_cluster(Builder::new());
    sim.drop_nth(WireKind::Note, "athens", "cyrene", 2).unwrap();
    for v in ["a", "b", "c"] {
        sim.call("alice", "athens", write(v), 20).unwrap();
    }
    sim.run_for(5);
    let heard: Vec<&str> = sim
        .node("cyrene")
        .unwrap()
        .heard
        .iter()
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(heard, ["a", "c"]);
}

// ----- partitions ----------------------------------------------------------------------------------

#[test]
fn a_partition_cuts_both_ways_between_groups_only() {
    let mut sim = register_cluster(Builder::new());
    sim.partition(&["athens", "byzantium"], &["cyrene"])
        .unwrap();
    assert!(sim.is_cut("athens", "cyrene").unwrap() && sim.is_cut("cyrene", "athens").unwrap());
    assert!(!sim.is_cut("athens", "byzantium").unwrap());
    assert!(
        !sim.is_cut("alice", "cyrene").unwrap(),
        "clients not named keep their links"
    );
    sim.call("alice", "athens", write("a"), 20).unwrap();
    sim.call("bob", "cyrene", write("c"), 20).unwrap();
    sim.run_for(5);
    assert!(sim.node("cyrene").unwrap().heard.is_empty());
    let athens_heard: Vec<&str> = sim
        .node("athens")
        .unwrap()
        .heard
        .iter()
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(
        athens_heard.is_empty(),
        "cyrene's note did not reach athens: {athens_heard:?}"
    );
    assert_eq!(sim.node("byzantium").unwrap().heard.len(), 1);
    sim.heal(&["athens", "byzantium"], &["cyrene"]).unwrap();
    assert!(!sim.is_cut("cyrene", "athens").unwrap());
}

#[test]
fn a_one_way_partition_cuts_one_direction() {
    let mut sim = register_cluster(Builder::new());
    sim.partition_one_way(&["athens"], &["cyrene"]).unwrap();
    sim.call("alice", "athens", write("a"), 20).unwrap();
    sim.call("bob", "cyrene", write("c"), 20).unwrap();
    sim.run_for(5);
    assert!(
        sim.node("cyrene")
            .unwrap()
            .heard
            .iter()
            .all(|(_, v)| v != "a")
    );
    assert!(
        sim.node("athens")
            .unwrap()
            .heard
            .iter()
            .any(|(_, v)| v == "c")
    );
}

#[test]
fn isolation_cuts_clients_too_and_reconnect_restores_everything() {
    let mut sim = register_cluster(Builder::new().client_timeout_ticks(10));
    sim.isolate("athens").unwrap();
    let outcome = sim.call("alice", "athens", write("a"), 50).unwrap().clone();
    assert!(matches!(outcome, Outcome::TimedOut { tick: 10 }));
    sim.reconnect("athens").unwrap();
    let outcome = sim.call("alice", "athens", write("b"), 50).unwrap();
    assert_eq!(outcome.reply(), Some(&Some("b".into())));
}

#[test]
fn messages_already_on_the_wire_survive_a_later_partition() {
    // The contract the DDIA §10.6 race relies on: fate is decided at send time.
    let mut sim = register_cluster(Builder::new());
    sim.set_latency("athens", "cyrene", Some(Latency::Fixed(10)))
        .unwrap();
    sim.call("alice", "athens", write("v"), 20).unwrap();
    sim.partition(&["athens"], &["cyrene"]).unwrap();
    sim.run_for(20);
    assert_eq!(sim.node("cyrene").unwrap().heard.len(), 1);
}

#[test]
fn a_held_link_keeps_messages_until_released() {
    let mut sim = register_cluster(Builder::new());
    sim.hold("athens", "cyrene").unwrap();
    sim.call("alice", "athens", write("a"), 20).unwrap();
    sim.call("alice", "athens", write("b"), 20).unwrap();
    sim.run_for(50);
    assert!(sim.node("cyrene").unwrap().heard.is_empty());
    sim.release("athens", "cyrene").unwrap();
    sim.run_for(2);
    let heard: Vec<&str> = sim
        .node("cyrene")
        .unwrap()
        .heard
        .iter()
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(heard, ["a", "b"]);
    assert!(matches!(
        sim.release("athens", "cyrene"),
        Err(SimError::InvalidState { .. })
    ));
}

#[test]
fn heal_all_restores_defaults_and_releases_held_messages() {
    let mut sim = register_cluster(Builder::new());
    sim.partition(&["athens"], &["byzantium"]).unwrap();
    sim.drop_kind(WireKind::Note, "athens", "cyrene").unwrap();
    sim.set_latency("byzantium", "cyrene", Some(Latency::Fixed(50)))
        .unwrap();
    sim.hold("cyrene", "athens").unwrap();
    sim.call("bob", "cyrene", write("held"), 20).unwrap();
    sim.heal_all();
    sim.run_for(2);
    assert_eq!(
        sim.node("athens").unwrap().heard.len(),
        1,
        "held note released"
    );
    sim.call("alice", "athens", write("x"), 20).unwrap();
    sim.call("bob", "byzantium", write("y"), 20).unwrap();
    sim.run_for(3);
    assert!(
        sim.node("byzantium")
            .unwrap()
            .heard
            .iter()
            .any(|(_, v)| v == "x"),
        "partition healed"
    );
    assert!(
        sim.node("cyrene")
            .unwrap()
            .heard
            .iter()
            .any(|(_, v)| v == "x"),
        "drop rule removed"
    );
    assert!(
        sim.node("cyrene")
            .unwrap()
            .heard
            .iter()
            .any(|(_, v)| v == "y"),
        "latency reset"
    );
}

// ----- crash, restart, pause -----------------------------------------------------------------------

#[test]
fn a_crashed_node_loses_what_arrives_and_restarts_from_synced_storage() {
    let mut sim = durable_cluster(Builder::new());
    sim.call("alice", "athens", write("synced"), 20).unwrap();
    assert_eq!(
        sim.storage("athens").unwrap().unsynced_writes(),
        0,
        "replied only after the sync"
    );
    sim.crash("athens").unwrap();
    assert!(matches!(
        sim.node("athens"),
        Err(SimError::InvalidState { .. })
    ));
    sim.call("bob", "byzantium", write("while-down"), 20)
        .unwrap();
    sim.run_for(3);
    assert!(drops(&sim).contains(&DropReason::Crashed));
    sim.restart("athens").unwrap();
    let athens = sim.node("athens").unwrap();
    assert_eq!(athens.value.as_deref(), Some("synced"));
    assert!(athens.heard.is_empty(), "volatile state is gone");
}

#[test]
fn unsynced_writes_are_lost_in_a_crash() {
    let mut sim = register_cluster(Builder::new());
    sim.call("alice", "athens", write("never-synced"), 20)
        .unwrap();
    sim.crash("athens").unwrap();
    sim.restart("athens").unwrap();
    assert_eq!(sim.node("athens").unwrap().value, None);
}

#[test]
fn a_torn_write_is_seen_as_corrupt_after_restart() {
    let mut sim = register_cluster(Builder::new());
    sim.call("alice", "athens", write("half-written"), 20)
        .unwrap();
    sim.crash("athens").unwrap();
    sim.restart_torn("athens").unwrap();
    assert!(sim.node("athens").unwrap().corrupt_on_start);
}

#[test]
fn a_reply_waiting_for_its_sync_dies_with_a_crash() {
    // Durable before reply: a crash between the write and its sync loses both, and the client
    // never hears a success it could not rely on.
    let mut sim = durable_cluster(
        Builder::new()
            .sync_latency_ticks(5)
            .client_timeout_ticks(30),
    );
    let op = sim.invoke("alice", "athens", write("v")).unwrap();
    sim.run_for(2);
    sim.crash("athens").unwrap();
    sim.run_until_done(op, 50).unwrap();
    assert!(matches!(sim.outcome(op), Some(Outcome::TimedOut { .. })));
    assert!(drops(&sim).contains(&DropReason::SenderCrashed));
    sim.restart("athens").unwrap();
    assert_eq!(sim.node("athens").unwrap().value, None);
}

#[test]
fn a_paused_node_handles_what_waited_when_resumed_while_its_clock_ran() {
    let mut sim = register_cluster(Builder::new());
    sim.pause("cyrene").unwrap();
    sim.call("alice", "athens", write("v"), 20).unwrap();
    sim.run_for(30);
    assert!(sim.node("cyrene").unwrap().heard.is_empty());
    assert_eq!(sim.clock_millis("cyrene").unwrap(), 1000 + sim.now() as i64);
    sim.resume("cyrene").unwrap();
    sim.run_for(1);
    assert_eq!(sim.node("cyrene").unwrap().heard.len(), 1);
    assert_eq!(sim.status("cyrene").unwrap(), NodeStatus::Up);
}

// ----- timers --------------------------------------------------------------------------------------

#[test]
fn a_timer_fires_once_restarts_when_set_again_and_can_be_cancelled() {
    let mut sim = register_cluster(Builder::new());
    sim.call("alice", "athens", Op::Arm(10), 20).unwrap(); // set at tick 1, due at 11
    sim.run_for(5); // tick 7
    sim.call("alice", "athens", Op::Arm(10), 20).unwrap(); // restarted at tick 8, due at 18
    sim.run_for(5); // tick 14
    assert_eq!(
        sim.node("athens").unwrap().alarms,
        0,
        "the first deadline was replaced"
    );
    sim.run_for(10);
    assert_eq!(sim.node("athens").unwrap().alarms, 1);
    sim.call("alice", "athens", Op::Arm(10), 20).unwrap();
    sim.call("alice", "athens", Op::Disarm, 20).unwrap();
    sim.run_for(30);
    assert_eq!(sim.node("athens").unwrap().alarms, 1, "cancelled");
}

#[test]
fn timers_die_with_a_crash() {
    let mut sim = register_cluster(Builder::new());
    sim.call("alice", "athens", Op::Arm(10), 20).unwrap();
    sim.crash("athens").unwrap();
    sim.restart("athens").unwrap();
    sim.run_for(30);
    assert_eq!(sim.node("athens").unwrap().alarms, 0);
}

// ----- clocks --------------------------------------------------------------------------------------

#[test]
fn clocks_start_at_1000_and_can_be_set_skewed_and_drift() {
    let mut sim = register_cluster(Builder::new());
    sim.run_for(100);
    assert_eq!(sim.clock_millis("athens").unwrap(), 1100);
    sim.set_clock("athens", 5000).unwrap();
    sim.skew_clock("byzantium", -50).unwrap();
    sim.set_clock_drift("cyrene", 0.5).unwrap();
    assert_eq!(
        sim.clock_millis("cyrene").unwrap(),
        1100,
        "changing drift does not jump"
    );
    sim.run_for(100);
    assert_eq!(sim.clock_millis("athens").unwrap(), 5100);
    assert_eq!(sim.clock_millis("byzantium").unwrap(), 1150);
    assert_eq!(sim.clock_millis("cyrene").unwrap(), 1250);
}

// ----- clients and histories -----------------------------------------------------------------------

#[test]
fn a_timed_out_write_is_info_and_a_timed_out_read_is_fail() {
    let mut sim = register_cluster(Builder::new().client_timeout_ticks(10));
    sim.isolate("athens").unwrap();
    sim.call("alice", "athens", write("w"), 20).unwrap();
    sim.call("bob", "athens", Op::Read, 20).unwrap();
    let kinds: Vec<(u64, EventType)> = sim
        .history()
        .events
        .iter()
        .map(|e| (e.process, e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (0, EventType::Invoke),
            (0, EventType::Info),
            (1, EventType::Invoke),
            (1, EventType::Fail)
        ]
    );
}

#[test]
fn after_info_a_client_continues_as_a_new_process() {
    // Knossos keeps an :info operation open forever, so its process may not invoke again.
    let mut sim = register_cluster(Builder::new().client_timeout_ticks(10));
    sim.isolate("athens").unwrap();
    sim.call("alice", "athens", write("w"), 20).unwrap();
    sim.reconnect("athens").unwrap();
    sim.call("alice", "athens", write("x"), 20).unwrap();
    let processes: Vec<u64> = sim.history().events.iter().map(|e| e.process).collect();
    assert_eq!(processes, [0, 0, 1, 1]);
}

#[test]
fn a_late_reply_is_dropped_as_stale() {
    let mut sim = register_cluster(Builder::new().client_timeout_ticks(5));
    sim.set_latency("athens", "alice", Some(Latency::Fixed(20)))
        .unwrap();
    let op = sim.invoke("alice", "athens", Op::Read).unwrap();
    sim.run_for(30);
    assert!(matches!(
        sim.outcome(op),
        Some(Outcome::TimedOut { tick: 5 })
    ));
    assert!(drops(&sim).contains(&DropReason::Stale));
}

#[test]
fn a_client_runs_one_operation_at_a_time() {
    let mut sim = register_cluster(Builder::new());
    sim.invoke("alice", "athens", Op::Read).unwrap();
    assert_eq!(
        sim.invoke("alice", "byzantium", Op::Read),
        Err(SimError::ClientBusy {
            client: "alice".into()
        })
    );
}

#[test]
fn run_until_reports_what_it_waited_for_and_the_last_events() {
    let mut sim = register_cluster(Builder::new().client_timeout_ticks(1_000));
    sim.isolate("athens").unwrap();
    let op = sim.invoke("alice", "athens", write("w")).unwrap();
    let err = sim.run_until_done(op, 50).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("waited 50 ticks") && text.contains("alice's operation"),
        "{text}"
    );
    assert!(text.contains("dropped (partition)"), "{text}");
    assert_eq!(sim.now(), 50);
}

// ----- determinism ---------------------------------------------------------------------------------

fn chaotic_run(seed: u64) -> (u64, String) {
    let mut sim = register_cluster(
        Builder::new()
            .seed(seed)
            .latency(Latency::between(1, 6).unwrap())
            .loss(0.1)
            .duplication(0.05),
    );
    for i in 0..30 {
        let node = ["athens", "byzantium", "cyrene"][i % 3];
        let _ = sim.call(["alice", "bob"][i % 2], node, write(&format!("v{i}")), 50);
        if i == 10 {
            sim.partition(&["athens"], &["byzantium", "cyrene"])
                .unwrap();
        }
        if i == 20 {
            sim.heal_all();
        }
    }
    sim.run_for(20);
    (sim.trace().stable_hash(), sim.history().to_edn())
}

#[test]
fn the_same_seed_gives_the_same_run_byte_for_byte() {
    assert_eq!(chaotic_run(42), chaotic_run(42));
}

#[test]
fn another_seed_gives_another_run() {
    assert_ne!(chaotic_run(42).0, chaotic_run(43).0);
}

#[test]
fn a_trace_can_be_switched_off_without_changing_the_run() {
    let run = |level| {
        let mut sim = register_cluster(Builder::new().seed(9).trace(level).loss(0.2));
        for i in 0..20 {
            let _ = sim.call("alice", "athens", write(&i.to_string()), 200);
        }
        sim.history().to_edn()
    };
    assert_eq!(run(TraceLevel::Off), run(TraceLevel::Full));
}

// ----- bad input -----------------------------------------------------------------------------------

#[test]
fn bad_input_gets_an_error_that_says_what_was_wrong() {
    let mut sim = register_cluster(Builder::new());
    let unknown = sim.crash("delphi").unwrap_err().to_string();
    assert!(
        unknown.contains("\"delphi\"") && unknown.contains("athens"),
        "{unknown}"
    );
    sim.crash("athens").unwrap();
    assert_eq!(
        sim.crash("athens").unwrap_err().to_string(),
        "cannot crash \"athens\": it is crashed"
    );
    assert!(matches!(
        sim.restart("byzantium"),
        Err(SimError::InvalidState { .. })
    ));
    assert!(matches!(
        sim.resume("byzantium"),
        Err(SimError::InvalidState { .. })
    ));
    assert_eq!(
        Latency::between(9, 2).unwrap_err().to_string(),
        "a delay range needs min <= max, got 9..=2 ticks"
    );
    assert!(
        sim.partition(&[], &["cyrene"])
            .unwrap_err()
            .to_string()
            .contains("at least one")
    );
    assert!(
        sim.partition(&["cyrene"], &["cyrene"])
            .unwrap_err()
            .to_string()
            .contains("both sides")
    );
    assert_eq!(
        sim.drop_nth(WireKind::Note, "byzantium", "cyrene", 0),
        Err(SimError::InvalidNth)
    );
    assert!(matches!(
        sim.set_loss("byzantium", "cyrene", Some(1.5)),
        Err(SimError::InvalidProbability { .. })
    ));
    assert!(matches!(
        sim.invoke("athens", "byzantium", Op::Read),
        Err(SimError::WrongRole { .. })
    ));
    assert!(matches!(
        sim.invoke("alice", "bob", Op::Read),
        Err(SimError::WrongRole { .. })
    ));
    let duplicate = Builder::new()
        .nodes(["a", "a"])
        .build(|_| Register::default());
    assert!(matches!(duplicate, Err(SimError::DuplicateName(_))));
    let empty = Builder::new()
        .nodes(Vec::<String>::new())
        .build(|_| Register::default());
    assert!(matches!(empty, Err(SimError::NoNodes)));
    assert!(matches!(
        Builder::new().loss(-0.1).build(|_| Register::default()),
        Err(SimError::InvalidProbability { .. })
    ));
}

// ----- randomized runs -----------------------------------------------------------------------------

fn nemesis_schedule(seed: u64) -> Vec<(u64, Fault)> {
    let mut sim = register_cluster(Builder::new().seed(seed));
    let mut nemesis = patterns::sim::Nemesis::new(&sim, NemesisConfig::default());
    for _ in 0..500 {
        nemesis.step(&mut sim).unwrap();
        sim.run_for(1);
    }
    nemesis.schedule().to_vec()
}

#[test]
fn the_nemesis_schedule_depends_only_on_its_seed() {
    // tickloom's fault-injecting runner tests: seed 123 twice gives one schedule; 456 another.
    let a = nemesis_schedule(123);
    assert_eq!(a, nemesis_schedule(123));
    assert_ne!(a, nemesis_schedule(456));
    assert!(
        a.iter().filter(|(_, f)| *f == Fault::HealAll).count() >= 12,
        "heals every 40 ticks"
    );
    assert!(
        a.iter().any(|(_, f)| matches!(f, Fault::Latency { .. })),
        "{a:?}"
    );
}

// ----- the second edition: typed faults, held syncs, clients that retry and follow redirects ---

#[test]
fn a_misspelt_kind_in_a_hand_written_fault_is_refused() {
    let mut sim = register_cluster(Builder::new());
    let typo = Fault::DropKind {
        kind: "Nte",
        from: "athens".into(),
        to: "cyrene".into(),
        nth: None,
    };
    let err = sim.inject(typo).unwrap_err();
    assert!(matches!(err, SimError::UnknownKind { .. }), "{err}");
    assert!(
        err.to_string().contains("Note"),
        "names the real kinds: {err}"
    );
    assert!(
        !sim.trace()
            .events
            .iter()
            .any(|e| matches!(e, TraceEvent::Fault { .. })),
        "a refused fault is not recorded"
    );
}

#[test]
fn held_syncs_keep_durable_replies_back_and_die_with_a_crash() {
    let mut sim = durable_cluster(Builder::new());
    sim.inject(Fault::HoldSync {
        node: "athens".into(),
    })
    .unwrap();
    let op = sim.invoke("alice", "athens", write("x")).unwrap();
    sim.run_for(20);
    assert!(
        !sim.is_done(op),
        "the reply waits for a sync that cannot complete"
    );
    assert_eq!(sim.storage("athens").unwrap().unsynced_writes(), 1);
    sim.inject(Fault::CompleteSync {
        node: "athens".into(),
    })
    .unwrap();
    sim.run_until_done(op, 10).unwrap();
    assert_eq!(sim.storage("athens").unwrap().unsynced_writes(), 0);
    sim.inject(Fault::HoldSync {
        node: "athens".into(),
    })
    .unwrap();
    let lost = sim.invoke("alice", "athens", write("y")).unwrap();
    sim.run_for(5);
    sim.crash("athens").unwrap();
    sim.restart("athens").unwrap();
    assert!(
        !sim.syncs_held("athens").unwrap(),
        "a restart starts without held syncs"
    );
    sim.run_until_done(lost, 200).unwrap();
    let read = sim.call("bob", "athens", Op::Read, 20).unwrap();
    assert_eq!(
        read.reply(),
        Some(&Some("x".to_string())),
        "the unsynced y died"
    );
}

/// A key-value node where only `leader` serves: the others redirect. Retries are answered once.
#[derive(Clone, Default)]
struct Led {
    leader: Option<ProcessId>,
    silent: bool,
    answered: patterns::node::IdempotentReceiver<KvReply>,
    applied: u32,
}

impl Node for Led {
    type Message = Wire;
    type Timer = ();
    type Operation = KvOp;

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: ProcessId, _: Wire) {}

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: KvOp) {
        if self.silent {
            return;
        }
        if self.leader != Some(ctx.id()) {
            let leader = self.leader;
            return ctx.reply(request, KvReply::NotLeader { leader });
        }
        match self.answered.seen(request) {
            Seen::Answered(reply) => ctx.reply(request, reply.clone()),
            Seen::New => {
                self.applied += 1;
                let reply = match op {
                    KvOp::Read { .. } => KvReply::Value(None),
                    _ => KvReply::Written,
                };
                self.answered.answer(request, reply.clone());
                ctx.reply(request, reply);
            }
            Seen::InProgress | Seen::Stale => {}
        }
    }
}

fn led(leader: Option<u16>, silent: &'static [&'static str], attempts: u32) -> Simulation<Led> {
    Builder::new()
        .client_policy(ClientPolicy {
            attempt_timeout_ticks: 20,
            attempts,
            follow_redirects: true,
        })
        .build(move |init| Led {
            leader: leader.map(ProcessId),
            silent: silent.contains(&init.name.as_str()),
            ..Led::default()
        })
        .unwrap()
}

#[test]
fn a_client_follows_a_redirect_to_the_leader_and_records_one_operation() {
    let mut sim = led(Some(2), &[], 3);
    let done = sim
        .call("alice", "athens", KvOp::write("k", "v"), 100)
        .unwrap();
    assert_eq!(done.reply(), Some(&KvReply::Written));
    let kinds: Vec<EventType> = sim.history().events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventType::Invoke, EventType::Ok]);
    assert_eq!(sim.node("cyrene").unwrap().applied, 1);
    assert!(
        sim.trace().events.iter().any(
            |e| matches!(e, TraceEvent::Annotate { text, .. } if text.starts_with("redirected"))
        )
    );
}

#[test]
fn redirects_alone_prove_nothing_ran_but_an_unanswered_attempt_may_have() {
    // Nobody leads: three redirects, and the write certainly never ran: :fail.
    let mut sim = led(None, &[], 3);
    let done = sim
        .call("alice", "athens", KvOp::write("k", "v"), 200)
        .unwrap();
    assert!(matches!(
        done.reply(),
        Some(KvReply::NotLeader { leader: None })
    ));
    assert_eq!(sim.history().events[1].kind, EventType::Fail);
    // athens swallows the first attempt: it may have run, whatever the redirects say: :info.
    let mut sim = led(None, &["athens"], 3);
    sim.call("alice", "athens", KvOp::write("k", "v"), 200)
        .unwrap();
    assert_eq!(sim.history().events[1].kind, EventType::Info);
    // A read that may have run changed nothing: :fail.
    let mut sim = led(None, &["athens"], 3);
    sim.call("alice", "athens", KvOp::read("k"), 200).unwrap();
    assert_eq!(sim.history().events[1].kind, EventType::Fail);
}

#[test]
fn a_retry_keeps_its_request_id_so_the_leader_applies_it_once() {
    let mut sim = led(Some(2), &[], 3);
    sim.set_loss("cyrene", "alice", Some(1.0)).unwrap();
    let op = sim
        .invoke("alice", "cyrene", KvOp::write("k", "v"))
        .unwrap();
    sim.run_for(5);
    assert_eq!(
        sim.node("cyrene").unwrap().applied,
        1,
        "applied; the reply was lost"
    );
    sim.set_loss("cyrene", "alice", None).unwrap();
    let done = sim.run_until_done(op, 200).unwrap().clone();
    assert_eq!(done.reply(), Some(&KvReply::Written));
    assert_eq!(
        sim.node("cyrene").unwrap().applied,
        1,
        "the retry was recognised"
    );
    assert_eq!(
        sim.history().len(),
        2,
        "one operation, however many attempts"
    );
}

#[test]
fn the_full_nemesis_crashes_restarts_and_skews_and_the_heal_puts_everything_right() {
    let sim = durable_cluster(Builder::new().seed(7).clients(["alice", "bob", "carol"]));
    let plan = RunPlan {
        ticks: 400,
        settle_ticks: 1_000,
        nemesis: Some(NemesisConfig {
            fault_probability: 0.2,
            ..NemesisConfig::everything()
        }),
    };
    let mut count = 0;
    let mut run = RandomRun::new(
        sim,
        move |_| {
            count += 1;
            write(&format!("v{count}"))
        },
        plan,
    );
    run.finish().unwrap();
    let schedule = run.schedule();
    let has = |f: fn(&Fault) -> bool| schedule.iter().any(|(_, x)| f(x));
    assert!(has(|f| matches!(f, Fault::Crash { .. })), "{schedule:?}");
    assert!(has(|f| matches!(f, Fault::Restart { .. })));
    assert!(has(|f| matches!(f, Fault::SkewClock { .. })));
    assert!(has(|f| matches!(f, Fault::Duplication { .. })));
    for node in ["athens", "byzantium", "cyrene"] {
        assert_eq!(run.sim.status(node).unwrap(), NodeStatus::Up, "{node}");
        assert!(!run.sim.clock_is_skewed(node).unwrap(), "{node}");
    }
    assert!(!run.sim.any_client_busy());
}

// ----- scenarios that fail keep their run ----------------------------------------------------------

#[test]
fn a_failed_scenario_keeps_its_run_and_its_diagram_names_the_step_and_marks_the_operation() {
    // `play` keeps the run a failed claim stopped: a notebook draws it, then asserts. The diagram's
    // title names the failed step and its tick, and the operation invoked before it is in red.
    use patterns::sim::Scenario;
    use patterns::viz::Emphasis;
    let run = Scenario::new("an isolated node answers")
        .invoke("alice", "athens", Echo::new("hello"))
        .isolate("cyrene")
        .invoke("alice", "cyrene", Echo::new("hello?"))
        .expect("alice hears back", |run| run.last_reply("alice").is_some())
        .play(Builder::new(), |_| EchoServer::new())
        .unwrap();
    let failure = run.failure().expect("cyrene cannot answer");
    assert_eq!(
        (failure.step, failure.description.as_str()),
        (4, "expect alice hears back")
    );
    assert!(!run.passed());
    let (invoked_at, _) = run.story()[2];
    let diagram = run.diagram("an isolated node answers");
    let figure = diagram.figure().unwrap();
    let svg = figure.svg();
    let title = format!(
        "✗ an isolated node answers: step 4 failed at t{} (expect alice hears back)",
        failure.tick
    );
    assert!(svg.contains(&title), "{title}");
    let layout = diagram.layout();
    let highlighted: Vec<f64> = layout
        .marks
        .iter()
        .filter(|m| m.emphasis == Emphasis::Highlight)
        .map(|m| m.row)
        .collect();
    let row = layout
        .row_ticks
        .iter()
        .position(|t| *t == invoked_at)
        .unwrap() as f64;
    assert!(highlighted.contains(&row), "{highlighted:?} at row {row}");
    // A scenario that passes is titled as given, with nothing in red.
    let passed = Scenario::new("athens answers")
        .invoke("alice", "athens", Echo::new("hello"))
        .expect("alice hears back", |run| run.last_reply("alice").is_some())
        .play(Builder::new(), |_| EchoServer::new())
        .unwrap();
    assert!(passed.passed());
    let layout = passed.diagram("athens answers").layout();
    assert!(
        layout
            .marks
            .iter()
            .all(|m| m.emphasis != Emphasis::Highlight)
    );
}
