//! Faults as values. Each fault is a [`Fault`]; [`super::Simulation::inject`] carries it out and
//! records it in the trace, and the scenario builder, the nemesis and the diagrams all use the same
//! values. Faults name processes by name, so a fault can be written down (in a table of tests, a
//! nemesis schedule, a story) before any simulation exists.
//!
//! | fault | what it does |
//! |---|---|
//! | `Partition`, `PartitionOneWay` | cut every link between two groups (both ways, or one way) |
//! | `Heal` | restore the links between two groups, both ways |
//! | `Isolate`, `Reconnect` | cut or restore every link of one process, to clients too |
//! | `HealAll` | every link back to the network's defaults; held messages released |
//! | `Hold`, `Release` | keep a link's messages, then deliver them (each after a fresh latency) |
//! | `Latency`, `DefaultLatency` | per-link or network-wide latency, fixed or a range; stays until changed |
//! | `Loss`, `DefaultLoss` | each message on the link (or anywhere) is lost with this probability |
//! | `Duplication` | each message on the link is delivered twice with this probability |
//! | `DelayKind` | extra ticks for one message type on a link (0 clears it) |
//! | `DropKind`, `ClearDrops` | drop every, or only the n-th, message of a type on a link; clear the rules |
//! | `Crash`, `Restart` | lose volatile state and unsynced writes (the oldest one torn, if asked); recover from storage |
//! | `Pause`, `Resume` | a stop-the-world pause: events wait, the clock runs |
//! | `HoldSync`, `CompleteSync` | a node's syncs stop completing (its writes stay at risk); complete them all now |
//! | `SetClock`, `SkewClock`, `ClockDrift`, `ResetClock` | skew a node's wall clock, make it drift, or put it right |
//!
//! A message's fate is decided when it is sent: a partition made later does not catch messages
//! already on the wire, as packets already past the switch still arrive. A crashed receiver loses
//! whatever arrives while it is down. Messages a node sends to itself are delivered in the same
//! tick and are never faulted.

use super::Latency;
use crate::node::Tick;
use serde::Serialize;
use std::fmt;

/// One change to the network, a node, its disk or its clock.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum Fault {
    Partition {
        a: Vec<String>,
        b: Vec<String>,
    },
    PartitionOneWay {
        from: Vec<String>,
        to: Vec<String>,
    },
    Heal {
        a: Vec<String>,
        b: Vec<String>,
    },
    Isolate {
        node: String,
    },
    Reconnect {
        node: String,
    },
    HealAll,
    Hold {
        from: String,
        to: String,
    },
    Release {
        from: String,
        to: String,
    },
    /// `None`: back to the network's default.
    Latency {
        from: String,
        to: String,
        latency: Option<Latency>,
    },
    DefaultLatency {
        latency: Latency,
    },
    /// `None`: back to the network's default.
    Loss {
        from: String,
        to: String,
        probability: Option<f64>,
    },
    DefaultLoss {
        probability: f64,
    },
    /// `None`: back to the network's default.
    Duplication {
        from: String,
        to: String,
        probability: Option<f64>,
    },
    DelayKind {
        kind: &'static str,
        from: String,
        to: String,
        extra_ticks: Tick,
    },
    /// `nth: None` drops every matching message, `Some(n)` only the n-th (from 1).
    DropKind {
        kind: &'static str,
        from: String,
        to: String,
        nth: Option<u64>,
    },
    ClearDrops {
        from: String,
        to: String,
    },
    Crash {
        node: String,
    },
    Restart {
        node: String,
        torn: bool,
    },
    Pause {
        node: String,
    },
    Resume {
        node: String,
    },
    HoldSync {
        node: String,
    },
    CompleteSync {
        node: String,
    },
    SetClock {
        node: String,
        millis: i64,
    },
    SkewClock {
        node: String,
        millis: i64,
    },
    /// 0.01 gains 1 %; the reading does not jump when the drift changes.
    ClockDrift {
        node: String,
        drift: f64,
    },
    /// The clock back to true time, without drift (it may jump backwards).
    ResetClock {
        node: String,
    },
}

fn names(group: &[String]) -> String {
    group.join(", ")
}

fn owned(group: &[&str]) -> Vec<String> {
    group.iter().map(|s| s.to_string()).collect()
}

impl Fault {
    pub fn partition(a: &[&str], b: &[&str]) -> Fault {
        Fault::Partition {
            a: owned(a),
            b: owned(b),
        }
    }

    pub fn partition_one_way(from: &[&str], to: &[&str]) -> Fault {
        Fault::PartitionOneWay {
            from: owned(from),
            to: owned(to),
        }
    }

    pub fn heal(a: &[&str], b: &[&str]) -> Fault {
        Fault::Heal {
            a: owned(a),
            b: owned(b),
        }
    }

    pub fn isolate(node: &str) -> Fault {
        Fault::Isolate { node: node.into() }
    }

    pub fn reconnect(node: &str) -> Fault {
        Fault::Reconnect { node: node.into() }
    }

    pub fn crash(node: &str) -> Fault {
        Fault::Crash { node: node.into() }
    }

    pub fn restart(node: &str) -> Fault {
        Fault::Restart {
            node: node.into(),
            torn: false,
        }
    }

    pub fn latency(from: &str, to: &str, latency: Option<Latency>) -> Fault {
        Fault::Latency {
            from: from.into(),
            to: to.into(),
            latency,
        }
    }

    pub fn loss(from: &str, to: &str, probability: Option<f64>) -> Fault {
        Fault::Loss {
            from: from.into(),
            to: to.into(),
            probability,
        }
    }

    pub fn skew_clock(node: &str, millis: i64) -> Fault {
        Fault::SkewClock {
            node: node.into(),
            millis,
        }
    }

    /// Whether the fault repairs rather than breaks (drawn as the end of a shaded stretch).
    pub fn is_repair(&self) -> bool {
        matches!(
            self,
            Fault::Heal { .. }
                | Fault::Reconnect { .. }
                | Fault::HealAll
                | Fault::Release { .. }
                | Fault::Restart { .. }
                | Fault::Resume { .. }
                | Fault::CompleteSync { .. }
                | Fault::ClearDrops { .. }
                | Fault::ResetClock { .. }
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Partition { a, b } => write!(f, "partition {} | {}", names(a), names(b)),
            Fault::PartitionOneWay { from, to } => {
                write!(f, "cut {} -> {}", names(from), names(to))
            }
            Fault::Heal { a, b } => write!(f, "heal {} | {}", names(a), names(b)),
            Fault::Isolate { node } => write!(f, "isolate {node}"),
            Fault::Reconnect { node } => write!(f, "reconnect {node}"),
            Fault::HealAll => write!(f, "heal all"),
            Fault::Hold { from, to } => write!(f, "hold {from} -> {to}"),
            Fault::Release { from, to } => write!(f, "release {from} -> {to}"),
            Fault::Latency { from, to, latency } => match latency {
                Some(l) => write!(f, "latency {from} -> {to}: {l}"),
                None => write!(f, "latency {from} -> {to}: default"),
            },
            Fault::DefaultLatency { latency } => write!(f, "latency everywhere: {latency}"),
            Fault::Loss {
                from,
                to,
                probability,
            } => match probability {
                Some(1.0) => write!(f, "drop everything {from} -> {to}"),
                Some(p) => write!(f, "loss {from} -> {to}: {p}"),
                None => write!(f, "loss {from} -> {to}: default"),
            },
            Fault::DefaultLoss { probability } => write!(f, "loss everywhere: {probability}"),
            Fault::Duplication {
                from,
                to,
                probability,
            } => match probability {
                Some(p) => write!(f, "duplicate {from} -> {to}: {p}"),
                None => write!(f, "duplicate {from} -> {to}: default"),
            },
            Fault::DelayKind {
                kind,
                from,
                to,
                extra_ticks,
            } => write!(f, "delay {kind} {from} -> {to} by {extra_ticks} ticks"),
            Fault::DropKind {
                kind,
                from,
                to,
                nth: None,
            } => write!(f, "drop {kind} {from} -> {to}"),
            Fault::DropKind {
                kind,
                from,
                to,
                nth: Some(n),
            } => write!(f, "drop {kind} #{n} {from} -> {to}"),
            Fault::ClearDrops { from, to } => write!(f, "clear drop rules {from} -> {to}"),
            Fault::Crash { node } => write!(f, "crash {node}"),
            Fault::Restart { node, torn: false } => write!(f, "restart {node}"),
            Fault::Restart { node, torn: true } => {
                write!(f, "restart {node} (oldest unsynced write torn)")
            }
            Fault::Pause { node } => write!(f, "pause {node}"),
            Fault::Resume { node } => write!(f, "resume {node}"),
            Fault::HoldSync { node } => write!(f, "hold {node}'s syncs"),
            Fault::CompleteSync { node } => write!(f, "complete {node}'s syncs"),
            Fault::SetClock { node, millis } => write!(f, "set {node}'s clock to {millis} ms"),
            Fault::SkewClock { node, millis } => write!(f, "skew {node}'s clock by {millis} ms"),
            Fault::ClockDrift { node, drift } => write!(f, "{node}'s clock drifts by {drift}"),
            Fault::ResetClock { node } => write!(f, "reset {node}'s clock"),
        }
    }
}

// ----- carrying faults out ---------------------------------------------------------------------

use super::wire::Wire;
use super::{DropReason, Event, SimError, Simulation, network::probability};
use crate::node::{Node, NodeStatus, ProcessId};

impl<N: Node> Simulation<N> {
    /// Carries out a fault and records it in the trace. A fault that cannot apply (an unknown
    /// process, restarting a running node, a probability above 1) changes nothing and says why.
    pub fn inject(&mut self, fault: Fault) -> Result<(), SimError> {
        self.apply(&fault)?;
        self.recorder.fault(self.now, &fault);
        Ok(())
    }

    fn group(&self, names: &[String]) -> Result<Vec<ProcessId>, SimError> {
        names.iter().map(|n| self.id(n)).collect()
    }

    fn sides(
        &self,
        a: &[String],
        b: &[String],
    ) -> Result<(Vec<ProcessId>, Vec<ProcessId>), SimError> {
        if a.is_empty() || b.is_empty() {
            return Err(SimError::InvalidPartition(
                "each side needs at least one process".into(),
            ));
        }
        let (a, b) = (self.group(a)?, self.group(b)?);
        if let Some(both) = a.iter().find(|p| b.contains(p)) {
            return Err(SimError::InvalidPartition(format!(
                "{} is on both sides",
                self.name(*both)
            )));
        }
        Ok((a, b))
    }

    fn link(&self, from: &str, to: &str) -> Result<(usize, usize), SimError> {
        Ok((self.id(from)?.index(), self.id(to)?.index()))
    }

    fn node_in(
        &self,
        name: &str,
        allowed: &[NodeStatus],
        action: &'static str,
    ) -> Result<usize, SimError> {
        let index = self.node_id(name)?.index();
        let status = self.hosts[index].status();
        if allowed.contains(&status) {
            Ok(index)
        } else {
            Err(SimError::InvalidState {
                name: name.to_string(),
                state: status.word(),
                action,
            })
        }
    }

    fn apply(&mut self, fault: &Fault) -> Result<(), SimError> {
        match fault {
            Fault::Partition { a, b } | Fault::Heal { a, b } => {
                let cut = matches!(fault, Fault::Partition { .. });
                let (a, b) = self.sides(a, b)?;
                for &x in &a {
                    for &y in &b {
                        self.wire.network.set_blocked(x.index(), y.index(), cut);
                        self.wire.network.set_blocked(y.index(), x.index(), cut);
                    }
                }
            }
            Fault::PartitionOneWay { from, to } => {
                let (a, b) = self.sides(from, to)?;
                for &x in &a {
                    for &y in &b {
                        self.wire.network.set_blocked(x.index(), y.index(), true);
                    }
                }
            }
            Fault::Isolate { node } | Fault::Reconnect { node } => {
                let cut = matches!(fault, Fault::Isolate { .. });
                let x = self.id(node)?.index();
                for y in (0..self.names.len()).filter(|&y| y != x) {
                    self.wire.network.set_blocked(x, y, cut);
                    self.wire.network.set_blocked(y, x, cut);
                }
            }
            Fault::HealAll => {
                let held = self.wire.held_links();
                self.wire.network.reset();
                for (from, to) in held {
                    let (mut out, wire) = self.outlets();
                    wire.release(&mut out, from, to);
                }
            }
            Fault::Hold { from, to } => {
                let (f, t) = self.link(from, to)?;
                self.wire.network.set_held(f, t, true);
            }
            Fault::Release { from, to } => {
                let (f, t) = self.link(from, to)?;
                if !self.wire.network.is_held(f, t) {
                    return Err(SimError::InvalidState {
                        name: format!("{from} -> {to}"),
                        state: "not held",
                        action: "release",
                    });
                }
                self.wire.network.set_held(f, t, false);
                let (mut out, wire) = self.outlets();
                wire.release(&mut out, ProcessId(f as u16), ProcessId(t as u16));
            }
            Fault::Latency { from, to, latency } => {
                let (f, t) = self.link(from, to)?;
                self.wire.network.set_latency(f, t, *latency);
            }
            Fault::DefaultLatency { latency } => self.wire.network.latency = *latency,
            Fault::Loss {
                from,
                to,
                probability: p,
            } => {
                let (f, t) = self.link(from, to)?;
                if let Some(p) = p {
                    probability("loss", *p)?;
                }
                self.wire.network.set_loss(f, t, *p);
            }
            Fault::DefaultLoss { probability: p } => {
                self.wire.network.loss = probability("loss", *p)?;
            }
            Fault::Duplication {
                from,
                to,
                probability: p,
            } => {
                let (f, t) = self.link(from, to)?;
                if let Some(p) = p {
                    probability("duplication", *p)?;
                }
                self.wire.network.set_duplication(f, t, *p);
            }
            Fault::DelayKind {
                kind,
                from,
                to,
                extra_ticks,
            } => {
                Self::check_kind(kind)?;
                let (f, t) = self.link(from, to)?;
                self.wire.network.delay_kind(f, t, kind, *extra_ticks);
            }
            Fault::DropKind {
                kind,
                from,
                to,
                nth,
            } => {
                Self::check_kind(kind)?;
                if *nth == Some(0) {
                    return Err(SimError::InvalidNth);
                }
                let (f, t) = self.link(from, to)?;
                self.wire.network.drop_kind(f, t, kind, *nth);
            }
            Fault::ClearDrops { from, to } => {
                let (f, t) = self.link(from, to)?;
                self.wire.network.clear_drops(f, t);
            }
            Fault::Crash { node } => {
                let index = self.node_in(node, &[NodeStatus::Up, NodeStatus::Paused], "crash")?;
                self.crash_node(index);
            }
            Fault::Restart { node, torn } => {
                let index = self.node_in(node, &[NodeStatus::Crashed], "restart")?;
                self.hosts[index].storage_mut().crash(*torn);
                self.start_node(index);
            }
            Fault::Pause { node } => {
                let index = self.node_in(node, &[NodeStatus::Up], "pause")?;
                self.hosts[index].set_paused(true);
            }
            Fault::Resume { node } => {
                let index = self.node_in(node, &[NodeStatus::Paused], "resume")?;
                self.hosts[index].set_paused(false);
                let waiting: Vec<Event<N>> = self.lanes[index].deferred.drain(..).collect();
                for event in waiting {
                    self.queue.push(self.now, event);
                }
            }
            Fault::HoldSync { node } => {
                let index = self.node_id(node)?.index();
                self.lanes[index].syncs_held = true;
            }
            Fault::CompleteSync { node } => {
                let index = self.node_id(node)?.index();
                self.lanes[index].syncs_held = false;
                let lane = &mut self.lanes[index];
                let (syncs, others): (Vec<_>, Vec<_>) = lane
                    .deferred
                    .drain(..)
                    .partition(|e| matches!(e, Event::SyncDone { .. }));
                lane.deferred = others;
                if self.hosts[index].status() == NodeStatus::Crashed {
                    return Ok(());
                }
                let upto = syncs
                    .iter()
                    .filter_map(|e| match e {
                        Event::SyncDone { upto, .. } => Some(*upto),
                        _ => None,
                    })
                    .max();
                if let Some(upto) = upto {
                    self.hosts[index].storage_mut().make_durable(upto);
                    self.with_host(index, |host, rt, _| host.synced(rt));
                }
            }
            Fault::SetClock { node, millis } => {
                let index = self.node_id(node)?.index();
                let delta = millis - self.clocks.millis(index, self.now);
                self.clocks.skew(index, delta);
            }
            Fault::SkewClock { node, millis } => {
                let index = self.node_id(node)?.index();
                self.clocks.skew(index, *millis);
            }
            Fault::ClockDrift { node, drift } => {
                let index = self.node_id(node)?.index();
                if !drift.is_finite() || *drift <= -1.0 {
                    return Err(SimError::InvalidProbability {
                        knob: "clock drift (> -1)",
                        value: *drift,
                    });
                }
                self.clocks.set_drift(index, *drift, self.now);
            }
            Fault::ResetClock { node } => {
                let index = self.node_id(node)?.index();
                self.clocks.reset(index);
            }
        }
        Ok(())
    }

    /// The node stops at once: volatile state, timers and messages waiting for a sync are gone;
    /// what arrives while it is down is lost. Its storage keeps the unsynced writes until a
    /// restart decides their fate.
    fn crash_node(&mut self, index: usize) {
        let node = ProcessId(index as u16);
        let lost = self.hosts[index].crash();
        let lane = &mut self.lanes[index];
        // Syncs held back for the node die with it; other deferred events too.
        lane.deferred.clear();
        lane.syncs_held = false;
        for action in lost {
            // Never sent: give them numbers so the trace shows what the crash swallowed.
            let (to, payload) = match action {
                crate::node::Action::Send { to, message } => {
                    (to, super::wire::Payload::<N>::Message(message))
                }
                crate::node::Action::Reply { request, reply } => {
                    (request.client, super::wire::Payload::Reply(request, reply))
                }
            };
            let (mut out, wire) = self.outlets();
            let id = wire.number();
            out.stats.sent += 1;
            out.recorder
                .send(out.now, id, (node, to), payload.kind(), || payload.text());
            Wire::lost(&mut out, id, DropReason::SenderCrashed);
        }
    }

    // ----- the named verbs -------------------------------------------------------------------

    /// Cuts every link between the two groups, both ways. Other links are unchanged, so clients
    /// not named keep reaching every node.
    pub fn partition(&mut self, a: &[&str], b: &[&str]) -> Result<(), SimError> {
        self.inject(Fault::partition(a, b))
    }

    /// Cuts the links from `from` to `to` only: `to` still reaches `from`.
    pub fn partition_one_way(&mut self, from: &[&str], to: &[&str]) -> Result<(), SimError> {
        self.inject(Fault::partition_one_way(from, to))
    }

    /// Restores the links between two groups, both ways.
    pub fn heal(&mut self, a: &[&str], b: &[&str]) -> Result<(), SimError> {
        self.inject(Fault::heal(a, b))
    }

    /// Cuts every link of `name`, to nodes and to clients, both ways.
    pub fn isolate(&mut self, name: &str) -> Result<(), SimError> {
        self.inject(Fault::isolate(name))
    }

    /// Restores every link of `name`, both ways.
    pub fn reconnect(&mut self, name: &str) -> Result<(), SimError> {
        self.inject(Fault::reconnect(name))
    }

    /// Whether messages from `from` to `to` are cut now.
    pub fn is_cut(&self, from: &str, to: &str) -> Result<bool, SimError> {
        let (f, t) = self.link(from, to)?;
        Ok(self.wire.network.is_blocked(f, t))
    }

    /// Every link back to the network's defaults: no partitions, drop rules, per-link latency,
    /// loss or duplication; held messages are released.
    pub fn heal_all(&mut self) {
        self.inject(Fault::HealAll)
            .expect("healing everything always applies");
    }

    /// Keeps the messages sent on `from -> to` from now on, until [`Simulation::release`].
    pub fn hold(&mut self, from: &str, to: &str) -> Result<(), SimError> {
        self.inject(Fault::Hold {
            from: from.into(),
            to: to.into(),
        })
    }

    /// Delivers the held messages of `from -> to` (each after a fresh latency) and stops holding.
    pub fn release(&mut self, from: &str, to: &str) -> Result<(), SimError> {
        self.inject(Fault::Release {
            from: from.into(),
            to: to.into(),
        })
    }

    /// Sets the latency of `from -> to` (`None`: back to the network's default).
    pub fn set_latency(
        &mut self,
        from: &str,
        to: &str,
        latency: Option<Latency>,
    ) -> Result<(), SimError> {
        self.inject(Fault::latency(from, to, latency))
    }

    /// Sets the latency of every link that has no per-link setting.
    pub fn set_default_latency(&mut self, latency: Latency) {
        self.inject(Fault::DefaultLatency { latency })
            .expect("a latency always applies");
    }

    /// Sets the loss probability of `from -> to` (`None`: back to the network's default).
    pub fn set_loss(&mut self, from: &str, to: &str, loss: Option<f64>) -> Result<(), SimError> {
        self.inject(Fault::loss(from, to, loss))
    }

    /// Sets the loss probability of every link that has no per-link setting.
    pub fn set_default_loss(&mut self, loss: f64) -> Result<(), SimError> {
        self.inject(Fault::DefaultLoss { probability: loss })
    }

    /// Sets the duplication probability of `from -> to` (`None`: back to the network's default).
    pub fn set_duplication(
        &mut self,
        from: &str,
        to: &str,
        duplication: Option<f64>,
    ) -> Result<(), SimError> {
        self.inject(Fault::Duplication {
            from: from.into(),
            to: to.into(),
            probability: duplication,
        })
    }

    /// Adds `extra_ticks` to every message of type `kind` on `from -> to` (0 clears it).
    pub fn delay_kind(
        &mut self,
        kind: crate::node::KindOf<N>,
        from: &str,
        to: &str,
        extra_ticks: Tick,
    ) -> Result<(), SimError> {
        use crate::node::Kind;
        self.inject(Fault::DelayKind {
            kind: kind.name(),
            from: from.into(),
            to: to.into(),
            extra_ticks,
        })
    }

    /// Drops every message of type `kind` sent on `from -> to` from now on.
    pub fn drop_kind(
        &mut self,
        kind: crate::node::KindOf<N>,
        from: &str,
        to: &str,
    ) -> Result<(), SimError> {
        use crate::node::Kind;
        self.inject(Fault::DropKind {
            kind: kind.name(),
            from: from.into(),
            to: to.into(),
            nth: None,
        })
    }

    /// Drops only the `nth` message of type `kind` sent on `from -> to` from now on (n ≥ 1).
    pub fn drop_nth(
        &mut self,
        kind: crate::node::KindOf<N>,
        from: &str,
        to: &str,
        nth: u64,
    ) -> Result<(), SimError> {
        use crate::node::Kind;
        self.inject(Fault::DropKind {
            kind: kind.name(),
            from: from.into(),
            to: to.into(),
            nth: Some(nth),
        })
    }

    /// Removes the drop rules of `from -> to`.
    pub fn clear_drops(&mut self, from: &str, to: &str) -> Result<(), SimError> {
        self.inject(Fault::ClearDrops {
            from: from.into(),
            to: to.into(),
        })
    }

    /// The node stops at once (see [`Fault::Crash`]).
    pub fn crash(&mut self, name: &str) -> Result<(), SimError> {
        self.inject(Fault::crash(name))
    }

    /// Restarts a crashed node from its durable storage: unsynced writes are lost.
    pub fn restart(&mut self, name: &str) -> Result<(), SimError> {
        self.inject(Fault::restart(name))
    }

    /// Restarts a crashed node with its oldest unsynced write torn: half of it reached the disk.
    pub fn restart_torn(&mut self, name: &str) -> Result<(), SimError> {
        self.inject(Fault::Restart {
            node: name.into(),
            torn: true,
        })
    }

    /// Stops the node without losing anything (a long GC pause, a frozen VM): events for it wait,
    /// its clock keeps running.
    pub fn pause(&mut self, name: &str) -> Result<(), SimError> {
        self.inject(Fault::Pause { node: name.into() })
    }

    /// Resumes a paused node: what waited is handled now, in arrival order.
    pub fn resume(&mut self, name: &str) -> Result<(), SimError> {
        self.inject(Fault::Resume { node: name.into() })
    }

    /// Sets a node's wall clock to `millis` now; it keeps advancing from there.
    pub fn set_clock(&mut self, name: &str, millis: i64) -> Result<(), SimError> {
        self.inject(Fault::SetClock {
            node: name.into(),
            millis,
        })
    }

    /// Moves a node's wall clock by `millis` (negative: back).
    pub fn skew_clock(&mut self, name: &str, millis: i64) -> Result<(), SimError> {
        self.inject(Fault::skew_clock(name, millis))
    }

    /// Makes a node's clock run fast (`drift` > 0) or slow (< 0) from now on: 0.01 gains 1 %.
    pub fn set_clock_drift(&mut self, name: &str, drift: f64) -> Result<(), SimError> {
        self.inject(Fault::ClockDrift {
            node: name.into(),
            drift,
        })
    }
}
