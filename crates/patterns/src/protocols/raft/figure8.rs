//! The paper's Figure 8, replayed: why a leader may not commit an entry of an earlier term by
//! counting its replicas (§5.4.2).
//!
//! Five servers, `s1` to `s5`. The schedule is set by the election timeouts: `s5` waits 10 ticks,
//! `s1` 14, the others 1,000 (they never stand within the story), so each election below is won
//! by the server the figure names, and partitions and crashes do the rest:
//! - start: `s5` leads term 1; `x←1` is committed everywhere;
//! - (a) `s5` crashes; `s1` leads term 2 and replicates `x←2` (bob's write) to `s2` only;
//! - (b) `s1` crashes; `s5` restarts and leads term 3 with the votes of `s3` and `s4`, and takes
//!   `y←3` (carol's write) at the same index, on its own log only; then it crashes;
//! - (c) `s1` restarts and leads term 4; `x←2` reaches `s3`, so a majority stores it. Bob's retry
//!   reaches `s1` meanwhile. Counting replicas (the broken rule) commits `x←2` and answers bob;
//! - (d) `s1` crashes; `s5` restarts and wins term 5 with the votes of `s2`, `s3`, `s4` (its last
//!   term, 3, beats their 2) and overwrites index 2 everywhere. If `x←2` had been committed, it is
//!   lost: dave then reads `x = 1`;
//! - (e) instead of (d): in (c), `s1` also replicates an entry of its own term 4 (dave's `z←4`)
//!   to a majority before crashing; that entry is committed, and with it `x←2`. `s5` can no longer
//!   win: `s2` and `s3` hold a later last term than it.
//!
//! With the start-of-term no-op (§8), the schedule stops at (b): `s3` and `s4` already hold `s1`'s
//! no-op of term 2, so `s5` cannot be elected in term 3 at all.

use super::figures::{ServerLog, log_grid, server_logs};
use super::{Command, Config, Raft, ReadPath, invariants};
use crate::node::{NodeInit, RequestId, Tick};
use crate::protocols::kv::KvOp;
use crate::sim::{Builder, ClientPolicy, Fault, Latency, Observer, OpHandle, SimError, Simulation};
use crate::viz::LogGrid;

/// How the story ends after (c).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// (d): `s1` crashes with only the old entry replicated; `s5` wins and overwrites index 2.
    Overwrite,
    /// (e): `s1` first replicates an entry of its own term to a majority.
    CurrentTermEntry,
}

/// The logs after one step of the story.
#[derive(Clone, Debug)]
pub struct Step {
    /// `(a)`, `(b)`, ...
    pub name: &'static str,
    pub caption: String,
    pub tick: Tick,
    pub logs: Vec<ServerLog>,
}

/// A replayed Figure 8.
pub struct Figure8 {
    pub sim: Simulation<Raft>,
    pub steps: Vec<Step>,
    /// The first invariant broken, and when.
    pub violation: Option<(Tick, String)>,
    /// Why the story could not go on, if a step's election never happened.
    pub stopped: Option<String>,
    observer: Observer<Raft>,
    bob: Option<OpHandle>,
}

/// The five servers of the figure.
pub const SERVERS: [&str; 5] = ["s1", "s2", "s3", "s4", "s5"];

/// How long one step may wait for what it needs.
const STEP_BUDGET_TICKS: Tick = 300;

/// The story's client policy: each attempt waits 100 ticks, so bob's first attempt (sent to `s1`
/// in (a)) times out after `s1` leads again in (c), and his retry reaches it there.
const ATTEMPT_TIMEOUT_TICKS: Tick = 100;

/// Replays Figure 8 with `config` (its timeouts are set per server by the story; reads go through
/// the log, so that dave's read is an entry like the others).
pub fn figure8(config: Config, ending: Ending) -> Result<Figure8, SimError> {
    let mut story = Figure8::start(config)?;
    story.play(ending)?;
    Ok(story)
}

impl Figure8 {
    fn start(config: Config) -> Result<Figure8, SimError> {
        let config = config.reads(ReadPath::Log);
        let factory = move |init: &NodeInit| {
            let timeout = match init.name.as_str() {
                "s5" => 10,
                "s1" => 14,
                _ => 1_000,
            };
            Raft::new(config.clone().election_timeout_ticks(timeout, timeout))
        };
        let sim = Builder::new()
            .nodes(SERVERS)
            .clients(["alice", "bob", "carol", "dave"])
            .latency(Latency::Fixed(1))
            .client_policy(ClientPolicy {
                attempt_timeout_ticks: ATTEMPT_TIMEOUT_TICKS,
                attempts: 3,
                follow_redirects: true,
            })
            .build(factory)?;
        Ok(Figure8 {
            sim,
            steps: Vec::new(),
            violation: None,
            stopped: None,
            observer: invariants(),
            bob: None,
        })
    }

    /// The log grid of step `i`, entries overwritten since the step before outlined in red.
    pub fn grid(&self, i: usize) -> Option<LogGrid> {
        let step = self.steps.get(i)?;
        let before = i
            .checked_sub(1)
            .and_then(|j| self.steps.get(j))
            .map(|s| s.logs.as_slice());
        let title = format!("Figure 8 {}: {}", step.name, step.caption);
        Some(log_grid(&title, &step.logs, before))
    }

    /// Runs events until `done` holds (checking the invariants after each), at most `budget`
    /// ticks; `false` if the budget ran out.
    fn run_until(&mut self, budget: Tick, done: impl Fn(&Simulation<Raft>) -> bool) -> bool {
        let end = self.sim.now() + budget;
        loop {
            if done(&self.sim) {
                return true;
            }
            if self.sim.next_event_tick().is_none_or(|t| t > end) {
                self.sim.run_for(end.saturating_sub(self.sim.now()));
                return false;
            }
            self.sim.step();
            if self.violation.is_none() {
                if let Err(why) = (self.observer)(&self.sim) {
                    self.violation = Some((self.sim.now(), why));
                }
            }
        }
    }

    fn leads(sim: &Simulation<Raft>, name: &str) -> bool {
        sim.node(name).is_ok_and(|n| n.is_leader())
    }

    /// Whether `server`'s log holds the entry of `request`.
    fn holds(sim: &Simulation<Raft>, server: &str, request: RequestId) -> bool {
        sim.node(server).is_ok_and(|n| {
            n.log()
                .iter()
                .any(|e| matches!(&e.command, Command::Client { request: r, .. } if *r == request))
        })
    }

    fn request_of(&self, op: OpHandle) -> RequestId {
        RequestId {
            client: op.client,
            sequence: op.sequence,
        }
    }

    fn record(&mut self, name: &'static str, caption: &str) {
        self.steps.push(Step {
            name,
            caption: caption.to_string(),
            tick: self.sim.now(),
            logs: server_logs(&self.sim),
        });
    }

    /// Waits for `name` to lead; otherwise stops the story with `why`.
    fn elect(&mut self, name: &str, why: &str) -> bool {
        if self.run_until(STEP_BUDGET_TICKS, |s| Self::leads(s, name)) {
            return true;
        }
        self.stopped = Some(format!(
            "{name} was not elected within {STEP_BUDGET_TICKS} ticks: {why}"
        ));
        false
    }

    fn play(&mut self, ending: Ending) -> Result<(), SimError> {
        // Start: s5 leads term 1; x←1 is committed everywhere.
        if !self.elect("s5", "its timeout is the shortest") {
            return Ok(());
        }
        let alice = self.sim.invoke("alice", "s5", KvOp::write("x", "1"))?;
        let alice_request = self.request_of(alice);
        self.run_until(STEP_BUDGET_TICKS, |s| {
            SERVERS.iter().all(|n| {
                Self::holds(s, n, alice_request)
                    && s.node(n)
                        .is_ok_and(|r| r.last_applied() == r.log().len() as u64)
            })
        });
        self.record("start", "s5 led term 1; x←1 is committed everywhere");

        // (a) s1 leads term 2 and replicates x←2 to s2 only.
        self.sim.inject(Fault::crash("s5"))?;
        if !self.elect("s1", "s2, s3 and s4 wait 1,000 ticks") {
            return Ok(());
        }
        self.sim
            .inject(Fault::partition(&["s1"], &["s3", "s4", "s5"]))?;
        let bob = self.sim.invoke("bob", "s1", KvOp::write("x", "2"))?;
        let bob_invoked = self.sim.now();
        self.bob = Some(bob);
        let bob_request = self.request_of(bob);
        self.run_until(STEP_BUDGET_TICKS, |s| Self::holds(s, "s2", bob_request));
        self.record("(a)", "s1 leads term 2 and replicates x←2 to s2 only");

        // (b) s5 leads term 3 with the votes of s3 and s4, and takes y←3 at index 2.
        self.sim.inject(Fault::crash("s1"))?;
        self.sim.inject(Fault::restart("s5"))?;
        if !self.elect(
            "s5",
            "s3 and s4 hold an entry of a later term than s5's last (s1's no-op of term 2)",
        ) {
            self.record("(b)", "s5 cannot be elected");
            return Ok(());
        }
        self.sim
            .inject(Fault::partition(&["s5"], &["s1", "s2", "s3", "s4"]))?;
        let carol = self.sim.invoke("carol", "s5", KvOp::write("y", "3"))?;
        let carol_request = self.request_of(carol);
        // On s5's disk, so that it survives the crash.
        self.run_until(STEP_BUDGET_TICKS, |s| {
            Self::holds(s, "s5", carol_request)
                && s.storage("s5").is_ok_and(|d| d.unsynced_writes() == 0)
        });
        self.sim.inject(Fault::crash("s5"))?;
        self.record(
            "(b)",
            "s1 crashed; s5 led term 3 (votes of s3, s4) and took y←3 at index 2, alone",
        );

        // (c) s1 restarts, leads term 4, and x←2 reaches s3: a majority stores it.
        self.sim.inject(Fault::HealAll)?;
        self.sim.inject(Fault::partition(&["s1"], &["s4", "s5"]))?;
        self.sim.inject(Fault::restart("s1"))?;
        if !self.elect("s1", "s2 and s3 refused it") {
            return Ok(());
        }
        // Bob's first attempt went to s1 before it crashed; his retry reaches s1 now.
        let retried = bob_invoked + ATTEMPT_TIMEOUT_TICKS + 10;
        self.run_until(STEP_BUDGET_TICKS, |s| {
            Self::holds(s, "s3", bob_request) && s.now() >= retried
        });
        if ending == Ending::CurrentTermEntry {
            let dave = self.sim.invoke("dave", "s1", KvOp::write("z", "4"))?;
            let dave_request = self.request_of(dave);
            self.run_until(STEP_BUDGET_TICKS, |s| {
                ["s2", "s3"].iter().all(|n| Self::holds(s, n, dave_request))
                    && s.node("s1")
                        .is_ok_and(|n| n.last_applied() == n.log().len() as u64)
            });
            self.record(
                "(c)",
                "s1 leads term 4; x←2 and then z←4 (term 4) reach s2 and s3: a majority",
            );
        } else {
            self.record(
                "(c)",
                "s1 leads term 4; x←2 reaches s3: a majority (s1, s2, s3) stores it",
            );
        }

        // (d) or (e): s1 crashes; s5 restarts.
        self.sim.inject(Fault::crash("s1"))?;
        self.sim.inject(Fault::HealAll)?;
        self.sim.inject(Fault::restart("s5"))?;
        match ending {
            Ending::Overwrite => {
                if !self.elect("s5", "s2, s3 and s4 hold an entry of a later term") {
                    self.record("(d)", "s5 cannot be elected");
                    return Ok(());
                }
                let dave = self.sim.invoke("dave", "s5", KvOp::read("x"))?;
                self.run_until(STEP_BUDGET_TICKS, |s| {
                    s.is_done(dave)
                        && ["s2", "s3", "s4"]
                            .iter()
                            .all(|n| Self::holds(s, n, carol_request))
                });
                self.record(
                    "(d)",
                    "s1 crashed; s5 won term 5 (votes of s2, s3, s4) and overwrote index 2",
                );
            }
            Ending::CurrentTermEntry => {
                let elected = self.run_until(STEP_BUDGET_TICKS, |s| Self::leads(s, "s5"));
                self.record(
                    "(e)",
                    if elected {
                        "s1 crashed; s5 was elected anyway"
                    } else {
                        "s1 crashed; s5 is refused by s2 and s3, whose last term (4) is later"
                    },
                );
            }
        }
        // Let every client finish, so the history can be checked.
        self.sim.inject(Fault::restart("s1"))?;
        self.run_until(5 * STEP_BUDGET_TICKS, |s| !s.any_client_busy());
        Ok(())
    }

    /// How bob's write of `x←2` ended: `Some(true)` if it was acknowledged.
    pub fn bob_acknowledged(&self) -> Option<bool> {
        let op = self.bob?;
        self.sim
            .outcome(op)
            .map(|o| o.reply() == Some(&crate::protocols::kv::KvReply::Written))
    }
}
