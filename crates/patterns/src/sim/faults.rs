//! Fault injection: the network's links, the nodes' lives, the nodes' clocks. Each fault is a pair
//! of verbs (partition/heal, hold/release, crash/restart, pause/resume) whose contract is listed in
//! the table of the [`crate::sim`] module documentation.

use super::network::probability;
use super::{
    AwaitingSync, Event, Fault, Latency, NodeStatus, SimError, Simulation, TraceEvent, TraceLevel,
};
use super::{DropReason, NodeInit};
use crate::node::{Node, ProcessId, Tick};

impl<N: Node> Simulation<N> {
    // ----- network faults ----------------------------------------------------------------------

    fn group(&self, names: &[&str]) -> Result<Vec<ProcessId>, SimError> {
        names.iter().map(|n| self.id(n)).collect()
    }

    fn check_sides(
        &self,
        a: &[&str],
        b: &[&str],
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

    /// Cuts every link between the two groups, both ways. Other links are unchanged, so clients
    /// not named keep reaching every node.
    pub fn partition(&mut self, a: &[&str], b: &[&str]) -> Result<(), SimError> {
        let (a, b) = self.check_sides(a, b)?;
        for &x in &a {
            for &y in &b {
                self.network.set_blocked(x.index(), y.index(), true);
                self.network.set_blocked(y.index(), x.index(), true);
            }
        }
        self.record_fault(Fault::Partition {
            one_way: false,
            from: a,
            to: b,
        });
        Ok(())
    }

    /// Cuts the links from `from` to `to` only: `to` still reaches `from`.
    pub fn partition_one_way(&mut self, from: &[&str], to: &[&str]) -> Result<(), SimError> {
        let (a, b) = self.check_sides(from, to)?;
        for &x in &a {
            for &y in &b {
                self.network.set_blocked(x.index(), y.index(), true);
            }
        }
        self.record_fault(Fault::Partition {
            one_way: true,
            from: a,
            to: b,
        });
        Ok(())
    }

    /// Restores the links between two groups, both ways.
    pub fn heal(&mut self, a: &[&str], b: &[&str]) -> Result<(), SimError> {
        let (a, b) = self.check_sides(a, b)?;
        for &x in &a {
            for &y in &b {
                self.network.set_blocked(x.index(), y.index(), false);
                self.network.set_blocked(y.index(), x.index(), false);
            }
        }
        let names = |g: &[ProcessId]| {
            g.iter()
                .map(|p| self.name(*p).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let description = format!("heal {} | {}", names(&a), names(&b));
        self.record_fault(Fault::Knob { description });
        Ok(())
    }

    /// Cuts every link of `name`, to nodes and to clients, both ways.
    pub fn isolate(&mut self, name: &str) -> Result<(), SimError> {
        let x = self.id(name)?;
        for y in 0..self.names.len() {
            if y != x.index() {
                self.network.set_blocked(x.index(), y, true);
                self.network.set_blocked(y, x.index(), true);
            }
        }
        self.record_fault(Fault::Isolate { node: x });
        Ok(())
    }

    /// Restores every link of `name`, both ways.
    pub fn reconnect(&mut self, name: &str) -> Result<(), SimError> {
        let x = self.id(name)?;
        for y in 0..self.names.len() {
            self.network.set_blocked(x.index(), y, false);
            self.network.set_blocked(y, x.index(), false);
        }
        self.record_fault(Fault::Reconnect { node: x });
        Ok(())
    }

    /// Whether messages from `from` to `to` are cut now.
    pub fn is_cut(&self, from: &str, to: &str) -> Result<bool, SimError> {
        Ok(self
            .network
            .is_blocked(self.id(from)?.index(), self.id(to)?.index()))
    }

    /// Every link back to the network's defaults: no partitions, drop rules, per-link latency,
    /// loss or duplication; held messages are released.
    pub fn heal_all(&mut self) {
        let held: Vec<(ProcessId, ProcessId)> = self.held.keys().copied().collect();
        self.network.reset();
        for (from, to) in held {
            self.release_link(from, to);
        }
        self.record_fault(Fault::HealAll);
    }

    /// Keeps the messages sent on `from -> to` from now on, until [`Simulation::release`].
    pub fn hold(&mut self, from: &str, to: &str) -> Result<(), SimError> {
        let (f, t) = (self.id(from)?, self.id(to)?);
        self.network.set_held(f.index(), t.index(), true);
        self.record_fault(Fault::Hold { from: f, to: t });
        Ok(())
    }

    /// Delivers the held messages of `from -> to` (each after a fresh latency) and stops holding.
    pub fn release(&mut self, from: &str, to: &str) -> Result<(), SimError> {
        let (f, t) = (self.id(from)?, self.id(to)?);
        if !self.network.is_held(f.index(), t.index()) {
            return Err(SimError::InvalidState {
                name: format!("{from} -> {to}"),
                state: "not held",
                action: "release",
            });
        }
        self.network.set_held(f.index(), t.index(), false);
        self.release_link(f, t);
        self.record_fault(Fault::Release { from: f, to: t });
        Ok(())
    }

    fn release_link(&mut self, from: ProcessId, to: ProcessId) {
        for (id, payload) in self.held.remove(&(from, to)).unwrap_or_default() {
            let after =
                self.network
                    .release_latency(from.index(), to.index(), &mut self.network_rng);
            self.deliver_at(self.now + after, id, from, to, payload);
        }
    }

    /// Sets the latency of `from -> to` (`None`: back to the network's default).
    pub fn set_latency(
        &mut self,
        from: &str,
        to: &str,
        latency: Option<Latency>,
    ) -> Result<(), SimError> {
        let (f, t) = (self.id(from)?, self.id(to)?);
        self.network.set_latency(f.index(), t.index(), latency);
        self.record_fault(Fault::Knob {
            description: format!("latency {from} -> {to}: {latency:?}"),
        });
        Ok(())
    }

    /// Adds `extra_ticks` to every message of type `kind` on `from -> to` (0 clears it).
    pub fn delay_kind(
        &mut self,
        kind: &str,
        from: &str,
        to: &str,
        extra_ticks: Tick,
    ) -> Result<(), SimError> {
        let (f, t) = (self.id(from)?, self.id(to)?);
        self.network
            .delay_kind(f.index(), t.index(), kind, extra_ticks);
        self.record_fault(Fault::Knob {
            description: format!("delay {kind} {from} -> {to} by {extra_ticks}"),
        });
        Ok(())
    }

    /// Sets the loss probability of `from -> to` (`None`: back to the network's default).
    pub fn set_loss(&mut self, from: &str, to: &str, loss: Option<f64>) -> Result<(), SimError> {
        let (f, t) = (self.id(from)?, self.id(to)?);
        if let Some(p) = loss {
            probability("loss", p)?;
        }
        self.network.set_loss(f.index(), t.index(), loss);
        self.record_fault(Fault::Knob {
            description: format!("loss {from} -> {to}: {loss:?}"),
        });
        Ok(())
    }

    /// Sets the loss probability of every link that has no per-link setting.
    pub fn set_default_loss(&mut self, loss: f64) -> Result<(), SimError> {
        self.network.loss = probability("loss", loss)?;
        self.record_fault(Fault::Knob {
            description: format!("loss everywhere: {loss}"),
        });
        Ok(())
    }

    /// Sets the latency of every link that has no per-link setting.
    pub fn set_default_latency(&mut self, latency: Latency) {
        self.network.latency = latency;
        self.record_fault(Fault::Knob {
            description: format!("latency everywhere: {latency:?}"),
        });
    }

    /// Sets the duplication probability of `from -> to` (`None`: back to the network's default).
    pub fn set_duplication(
        &mut self,
        from: &str,
        to: &str,
        duplication: Option<f64>,
    ) -> Result<(), SimError> {
        let (f, t) = (self.id(from)?, self.id(to)?);
        if let Some(p) = duplication {
            probability("duplication", p)?;
        }
        self.network
            .set_duplication(f.index(), t.index(), duplication);
        self.record_fault(Fault::Knob {
            description: format!("duplication {from} -> {to}: {duplication:?}"),
        });
        Ok(())
    }

    /// Drops every message of type `kind` sent on `from -> to` from now on.
    pub fn drop_kind(&mut self, kind: &str, from: &str, to: &str) -> Result<(), SimError> {
        let (f, t) = (self.id(from)?, self.id(to)?);
        self.network.drop_kind(f.index(), t.index(), kind, None);
        self.record_fault(Fault::Knob {
            description: format!("drop {kind} {from} -> {to}"),
        });
        Ok(())
    }

    /// Drops only the `nth` message of type `kind` sent on `from -> to` from now on (n ≥ 1).
    pub fn drop_nth(&mut self, kind: &str, from: &str, to: &str, nth: u64) -> Result<(), SimError> {
        let (f, t) = (self.id(from)?, self.id(to)?);
        if nth == 0 {
            return Err(SimError::InvalidNth);
        }
        self.network
            .drop_kind(f.index(), t.index(), kind, Some(nth));
        self.record_fault(Fault::Knob {
            description: format!("drop {kind} #{nth} {from} -> {to}"),
        });
        Ok(())
    }

    /// Removes the drop rules of `from -> to`.
    pub fn clear_drops(&mut self, from: &str, to: &str) -> Result<(), SimError> {
        let (f, t) = (self.id(from)?, self.id(to)?);
        self.network.clear_drops(f.index(), t.index());
        self.record_fault(Fault::Knob {
            description: format!("clear drop rules {from} -> {to}"),
        });
        Ok(())
    }

    // ----- node faults -------------------------------------------------------------------------

    fn expect_status(
        &self,
        name: &str,
        allowed: &[NodeStatus],
        action: &'static str,
    ) -> Result<ProcessId, SimError> {
        let id = self.node_id(name)?;
        let status = self.nodes[id.index()].status;
        if allowed.contains(&status) {
            Ok(id)
        } else {
            Err(SimError::InvalidState {
                name: name.to_string(),
                state: status.word(),
                action,
            })
        }
    }

    /// The node stops at once: its volatile state, timers and unsent "when durable" messages are
    /// gone; what arrives while it is down is lost. Its storage keeps the unsynced writes until
    /// [`Simulation::restart`] decides their fate.
    pub fn crash(&mut self, name: &str) -> Result<(), SimError> {
        let id = self.expect_status(name, &[NodeStatus::Up, NodeStatus::Paused], "crash")?;
        let slot = &mut self.nodes[id.index()];
        slot.status = NodeStatus::Crashed;
        slot.state = None;
        slot.timers.clear();
        slot.incarnation += 1;
        slot.deferred.clear();
        let lost: Vec<AwaitingSync<N>> = slot.awaiting_sync.drain(..).collect();
        self.record_fault(Fault::Crash { node: id });
        for a in lost {
            // Never sent: give them ids so the trace shows what the crash swallowed.
            let message = self.next_message;
            self.next_message += 1;
            if self.trace_level != TraceLevel::Off {
                let kind = Self::kind_of(&a.payload);
                let payload =
                    (self.trace_level == TraceLevel::Full).then(|| Self::payload_text(&a.payload));
                self.trace.events.push(TraceEvent::Send {
                    tick: self.now,
                    message,
                    from: id,
                    to: a.to,
                    kind,
                    payload,
                });
            }
            self.record_drop(message, DropReason::SenderCrashed);
        }
        Ok(())
    }

    /// Restarts a crashed node from its durable storage: unsynced writes are lost.
    pub fn restart(&mut self, name: &str) -> Result<(), SimError> {
        self.restart_with(name, false)
    }

    /// Restarts a crashed node with its oldest unsynced write torn: half of it reached the disk.
    pub fn restart_torn(&mut self, name: &str) -> Result<(), SimError> {
        self.restart_with(name, true)
    }

    fn restart_with(&mut self, name: &str, torn: bool) -> Result<(), SimError> {
        let id = self.expect_status(name, &[NodeStatus::Crashed], "restart")?;
        let init = NodeInit {
            id,
            name: name.to_string(),
            peers: self.nodes[id.index()].peers.clone(),
        };
        let node = (self.factory)(&init);
        let slot = &mut self.nodes[id.index()];
        slot.storage.crash(torn);
        slot.sync_requested = slot.storage.written();
        slot.state = Some(node);
        slot.status = NodeStatus::Up;
        self.record_fault(Fault::Restart { node: id, torn });
        self.dispatch(id, |node, ctx| node.on_start(ctx));
        Ok(())
    }

    /// Stops the node without losing anything (a long GC pause, a frozen VM): events for it wait,
    /// its clock keeps running.
    pub fn pause(&mut self, name: &str) -> Result<(), SimError> {
        let id = self.expect_status(name, &[NodeStatus::Up], "pause")?;
        self.nodes[id.index()].status = NodeStatus::Paused;
        self.record_fault(Fault::Pause { node: id });
        Ok(())
    }

    /// Resumes a paused node: what waited is handled now, in arrival order.
    pub fn resume(&mut self, name: &str) -> Result<(), SimError> {
        let id = self.expect_status(name, &[NodeStatus::Paused], "resume")?;
        let slot = &mut self.nodes[id.index()];
        slot.status = NodeStatus::Up;
        let waiting: Vec<Event<N>> = slot.deferred.drain(..).collect();
        self.record_fault(Fault::Resume { node: id });
        for event in waiting {
            self.schedule(self.now, event);
        }
        Ok(())
    }

    /// Sets a node's wall clock to `millis` now; it keeps advancing from there.
    pub fn set_clock(&mut self, name: &str, millis: i64) -> Result<(), SimError> {
        let id = self.node_id(name)?;
        let delta = millis - self.clock_of(id);
        self.nodes[id.index()].clock_offset_millis += delta;
        self.record_fault(Fault::Knob {
            description: format!("clock of {name} set to {millis} ms"),
        });
        Ok(())
    }

    /// Moves a node's wall clock by `millis` (negative: back).
    pub fn skew_clock(&mut self, name: &str, millis: i64) -> Result<(), SimError> {
        let id = self.node_id(name)?;
        self.nodes[id.index()].clock_offset_millis += millis;
        self.record_fault(Fault::Knob {
            description: format!("clock of {name} skewed by {millis} ms"),
        });
        Ok(())
    }

    /// Makes a node's clock run fast (`drift` > 0) or slow (< 0) from now on: 0.01 gains 1 %.
    /// The reading does not jump when the drift changes.
    pub fn set_clock_drift(&mut self, name: &str, drift: f64) -> Result<(), SimError> {
        let id = self.node_id(name)?;
        if !drift.is_finite() || drift <= -1.0 {
            return Err(SimError::InvalidProbability {
                knob: "clock drift (> -1)",
                value: drift,
            });
        }
        let before = self.clock_of(id);
        self.nodes[id.index()].clock_drift = drift;
        let after = self.clock_of(id);
        self.nodes[id.index()].clock_offset_millis += before - after;
        self.record_fault(Fault::Knob {
            description: format!("clock of {name} drifts by {drift}"),
        });
        Ok(())
    }
}
