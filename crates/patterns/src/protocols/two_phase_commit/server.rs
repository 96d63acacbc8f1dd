//! The coordinators as a state machine: each round waits in a [`Pending`] entry, and whichever
//! handler the next reply reaches carries it on. The same coordinators as straight-line code are
//! in [`super::async_coordinator`].

use super::{
    Admission, CommitMessage, CommitTimer, CounterState, Decision, Epoch, Phases, Prepared,
    Promise, Replica, Step, TxId, Vote, Work, backoff, commit_message, decide, latest,
    needs_recovery, plan,
};
use super::{Config, Transaction, Votes};
use crate::node::majority;
use crate::node::{Context, Correlation, Node, Pending, ProcessId, Quorum, QuorumState, RequestId};
use crate::protocols::counter::{CounterOp, CounterReply};
use rand::Rng;

/// What a coordinator waits for.
#[derive(Clone, Debug)]
enum Round {
    /// A get: the committed states of a majority (two-phase: none holding an undecided
    /// operation; three-phase: with the proposals they hold).
    Read {
        request: RequestId,
        key: String,
        jitter: u64,
        quorum: Quorum<Held>,
    },
    /// Two-phase, phase one.
    Accept {
        request: RequestId,
        tx: Transaction,
        quorum: Quorum<CounterState>,
    },
    /// Three-phase, phase zero.
    Query {
        job: Box<Job>,
        epoch: Epoch,
        quorum: Quorum<Promise>,
    },
    /// Three-phase, phases one and two of a recovered or of the client's own proposal.
    Propose {
        job: Box<Job>,
        proposal: Box<Prepared>,
        quorum: Quorum<()>,
    },
    /// Three-phase: refused, waiting a little before the next try.
    Backoff { job: Box<Job> },
}

/// What a server reported holding for a counter: its committed state and its undecided proposal.
type Held = (CounterState, Option<Box<Prepared>>);

/// A three-phase client request in progress, across its rounds and tries.
#[derive(Clone, Debug)]
struct Job {
    request: RequestId,
    key: String,
    work: Work,
    /// Drawn from the server's seeded stream for this request: how long each backoff lasts.
    jitter: u64,
    tries: u32,
    /// The client's own transaction went out in an accept: failing now, it may still commit.
    proposed_own: bool,
}

impl Job {
    fn own(&self) -> Option<TxId> {
        match &self.work {
            Work::Increment(tx) => Some(tx.id),
            _ => None,
        }
    }
}

/// A server of the counter: a participant of every transaction, and the coordinator of those its
/// clients start, as a state machine.
#[derive(Clone, Debug)]
pub struct Server {
    replica: Replica,
    rounds: Pending<Round>,
}

impl Server {
    pub fn new(config: Config) -> Server {
        Server {
            replica: Replica::new(config),
            rounds: Pending::new(),
        }
    }

    /// The participant state and the coordinator's durable memory.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// The counter `key` on this server (`None`: nothing committed here).
    pub fn value(&self, key: &str) -> Option<i64> {
        self.replica.value(key)
    }

    /// Rounds this server coordinates that have not finished.
    pub fn rounds_in_flight(&self) -> usize {
        self.rounds.len()
    }

    fn config(&self) -> &Config {
        self.replica.config()
    }

    /// Sends to every server, this one included, peers first.
    fn ask_all(ctx: &mut Context<'_, Self>, message: CommitMessage) {
        ctx.broadcast(message.clone());
        ctx.send(ctx.id(), message);
    }

    // ----- gets ---------------------------------------------------------------------------------

    /// A get asks a majority what they hold. Nobody is fenced: only if an undecided proposal is
    /// reported (three-phase), which may have been decided, does the get take an epoch and
    /// complete it first.
    fn start_read(
        &mut self,
        ctx: &mut Context<'_, Self>,
        request: RequestId,
        key: String,
        jitter: u64,
    ) {
        let quorum = Quorum::majority(ctx.cluster_size());
        let round = Round::Read {
            request,
            key: key.clone(),
            jitter,
            quorum,
        };
        let correlation = self
            .rounds
            .insert(ctx, self.config().round_timeout_ticks, round);
        Server::ask_all(ctx, CommitMessage::Read { correlation, key });
    }

    fn on_read_response(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        correlation: Correlation,
        held: Held,
    ) {
        let Some(Round::Read { quorum, .. }) = self.rounds.get_mut(correlation) else {
            return;
        };
        if quorum.record(from, held, true) != QuorumState::Reached {
            return;
        }
        let Some(Round::Read {
            request,
            key,
            jitter,
            quorum,
        }) = self.rounds.remove(ctx, correlation)
        else {
            return;
        };
        let (base, pending) = reported(&quorum);
        let rule = self.config().recovery;
        if self.config().phases == Phases::Three && needs_recovery(&base, &pending, rule) {
            let job = Job::new(request, key, Work::Get, jitter);
            return self.query(ctx, job);
        }
        ctx.reply(request, CounterReply::Value { value: base.value });
    }

    // ----- two-phase ---------------------------------------------------------------------------

    fn start_accept(&mut self, ctx: &mut Context<'_, Self>, tx: Transaction) {
        let n = ctx.cluster_size();
        let votes = match self.config().votes {
            Votes::Majority => majority(n),
            Votes::All => n,
        };
        let prepared = Prepared::lock(tx.clone());
        let round = Round::Accept {
            request: tx.request,
            tx,
            quorum: Quorum::of(votes, n),
        };
        let correlation = self
            .rounds
            .insert(ctx, self.config().round_timeout_ticks, round);
        let accept = CommitMessage::Accept {
            correlation,
            prepared,
        };
        Server::ask_all(ctx, accept);
    }

    /// Enough participants accepted: decide on the newest state they reported.
    fn conclude_two_phase(
        &mut self,
        ctx: &mut Context<'_, Self>,
        request: RequestId,
        tx: Transaction,
        accepted: &Quorum<CounterState>,
    ) {
        let base = latest(accepted.accepted().values());
        match decide(&base, &tx) {
            Decision::Commit(next) => {
                let record = self.replica.decided(&tx, &next);
                ctx.storage().append_json(&record);
                let commit = commit_message(&tx, &next);
                for to in ctx.cluster() {
                    ctx.send_when_durable(to, commit.clone());
                }
                ctx.reply_when_durable(request, CounterReply::Incremented { value: next.value });
            }
            Decision::Duplicate(value) => {
                self.abort(ctx, &tx);
                ctx.reply(request, CounterReply::Incremented { value });
            }
            Decision::Stale => self.abort(ctx, &tx),
            Decision::Overflow => {
                self.abort(ctx, &tx);
                ctx.reply(request, CounterReply::failed("the counter would overflow"));
            }
        }
    }

    /// Decides abort: nothing to write (an undecided transaction is presumed aborted after a
    /// crash too), and every participant is told.
    fn abort(&mut self, ctx: &mut Context<'_, Self>, tx: &Transaction) {
        self.replica.finish(tx.id);
        let key = tx.key.clone();
        Server::ask_all(ctx, CommitMessage::Abort { key, tx: tx.id });
    }

    // ----- three-phase -------------------------------------------------------------------------

    /// Phase zero: a new epoch, promised by a majority, and what they hold.
    fn query(&mut self, ctx: &mut Context<'_, Self>, job: Box<Job>) {
        let epoch = self.replica.take_epoch(ctx.id(), ctx.incarnation());
        let key = job.key.clone();
        let quorum = Quorum::majority(ctx.cluster_size());
        let round = Round::Query { job, epoch, quorum };
        let correlation = self
            .rounds
            .insert(ctx, self.config().round_timeout_ticks, round);
        Server::ask_all(
            ctx,
            CommitMessage::Query {
                correlation,
                key,
                epoch,
            },
        );
    }

    /// The next step of a job, from the newest committed state and what is pending.
    fn step(
        &mut self,
        ctx: &mut Context<'_, Self>,
        mut job: Box<Job>,
        epoch: Epoch,
        base: &CounterState,
        pending: &[Prepared],
    ) {
        let rule = self.config().recovery;
        match plan(rule, epoch, base, pending, &mut job.work) {
            Step::Propose(proposal) => {
                if Some(proposal.tx.id) == job.own() {
                    job.proposed_own = true;
                } else {
                    ctx.annotate(format!("recovers {}", proposal.tx.id));
                }
                let quorum = Quorum::majority(ctx.cluster_size());
                let round = Round::Propose {
                    job,
                    proposal: Box::new(proposal.clone()),
                    quorum,
                };
                let correlation = self
                    .rounds
                    .insert(ctx, self.config().round_timeout_ticks, round);
                let prepared = proposal;
                Server::ask_all(
                    ctx,
                    CommitMessage::Accept {
                        correlation,
                        prepared,
                    },
                );
            }
            Step::Answer(reply) => {
                if let Some(tx) = job.own() {
                    self.replica.finish(tx);
                }
                if let Some(reply) = reply {
                    ctx.reply_when_durable(job.request, reply);
                }
            }
        }
    }

    /// A round failed (refused, or out of time): try again with a higher epoch after a random
    /// wait, or give up.
    fn retry(&mut self, ctx: &mut Context<'_, Self>, mut job: Box<Job>) {
        job.tries += 1;
        if job.tries <= self.config().tries {
            let wait = backoff(job.jitter, job.tries, self.config().backoff_ticks_max);
            self.rounds.insert(ctx, wait, Round::Backoff { job });
            return;
        }
        if let Some(tx) = job.own() {
            self.replica.finish(tx);
        }
        let reply = match (&job.work, job.proposed_own) {
            (Work::Dropped, _) => return,
            // Accepted somewhere, it may be completed by the next coordinator.
            (Work::Increment(_), true) => CounterReply::uncertain("refused or out of time"),
            _ => CounterReply::failed("refused or out of time before anything was accepted"),
        };
        ctx.reply(job.request, reply);
    }

    fn on_query_response(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        correlation: Correlation,
        promise: Promise,
    ) {
        let Some(Round::Query { quorum, .. }) = self.rounds.get_mut(correlation) else {
            return;
        };
        if let Promise::Refused { promised } = &promise {
            self.replica.saw_epoch(*promised);
        }
        let yes = matches!(promise, Promise::Promised { .. });
        match quorum.record(from, promise, yes) {
            QuorumState::Waiting => {}
            QuorumState::Impossible => {
                if let Some(Round::Query { job, .. }) = self.rounds.remove(ctx, correlation) {
                    self.retry(ctx, job);
                }
            }
            QuorumState::Reached => {
                if let Some(Round::Query { job, epoch, quorum }) =
                    self.rounds.remove(ctx, correlation)
                {
                    let (base, pending) = reported(&quorum);
                    self.step(ctx, job, epoch, &base, &pending);
                }
            }
        }
    }

    fn on_accept_response(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: ProcessId,
        correlation: Correlation,
        vote: Vote,
    ) {
        match self.rounds.get_mut(correlation) {
            Some(Round::Accept { quorum, .. }) => {
                let Vote::Accepted { committed } = vote else {
                    return;
                };
                if quorum.record(from, committed, true) == QuorumState::Reached {
                    if let Some(Round::Accept {
                        request,
                        tx,
                        quorum,
                    }) = self.rounds.remove(ctx, correlation)
                    {
                        self.conclude_two_phase(ctx, request, tx, &quorum);
                    }
                }
            }
            Some(Round::Propose { quorum, .. }) => {
                if let Vote::Refused { promised } = &vote {
                    self.replica.saw_epoch(*promised);
                }
                let yes = matches!(vote, Vote::Accepted { .. });
                match quorum.record(from, (), yes) {
                    QuorumState::Waiting => {}
                    QuorumState::Impossible => {
                        if let Some(Round::Propose { job, .. }) =
                            self.rounds.remove(ctx, correlation)
                        {
                            self.retry(ctx, job);
                        }
                    }
                    QuorumState::Reached => {
                        if let Some(Round::Propose { job, proposal, .. }) =
                            self.rounds.remove(ctx, correlation)
                        {
                            self.commit_proposal(ctx, job, proposal);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// A majority accepted a proposal: decide (durably), tell everyone, and go on with the job.
    fn commit_proposal(
        &mut self,
        ctx: &mut Context<'_, Self>,
        job: Box<Job>,
        proposal: Box<Prepared>,
    ) {
        let Some(accepted) = proposal.accepted else {
            return;
        };
        let record = self.replica.decided(&proposal.tx, &accepted.next);
        ctx.storage().append_json(&record);
        let commit = commit_message(&proposal.tx, &accepted.next);
        for to in ctx.cluster() {
            ctx.send_when_durable(to, commit.clone());
        }
        self.step(ctx, job, accepted.epoch, &accepted.next, &[]);
    }
}

impl Job {
    fn new(request: RequestId, key: String, work: Work, jitter: u64) -> Box<Job> {
        Box::new(Job {
            request,
            key,
            work,
            jitter,
            tries: 1,
            proposed_own: false,
        })
    }
}

/// The newest committed state and the undecided proposals a majority reported.
pub(crate) fn reported<R: Holds>(quorum: &Quorum<R>) -> (CounterState, Vec<Prepared>) {
    let held: Vec<(&CounterState, Option<&Prepared>)> =
        quorum.accepted().values().filter_map(Holds::held).collect();
    let base = latest(held.iter().map(|(c, _)| *c));
    let pending = held.iter().filter_map(|(_, p)| p.cloned()).collect();
    (base, pending)
}

/// A reply that tells what a server holds: the state machine keeps promises and read answers,
/// the coroutines whole messages.
pub(crate) trait Holds {
    fn held(&self) -> Option<(&CounterState, Option<&Prepared>)>;
}

impl Holds for Promise {
    fn held(&self) -> Option<(&CounterState, Option<&Prepared>)> {
        match self {
            Promise::Promised { committed, pending } => Some((committed, pending.as_deref())),
            Promise::Refused { .. } => None,
        }
    }
}

impl Holds for Held {
    fn held(&self) -> Option<(&CounterState, Option<&Prepared>)> {
        Some((&self.0, self.1.as_deref()))
    }
}

impl Holds for CommitMessage {
    fn held(&self) -> Option<(&CounterState, Option<&Prepared>)> {
        match self {
            CommitMessage::QueryResponse { promise, .. } => promise.held(),
            CommitMessage::ReadResponse {
                committed, pending, ..
            } => Some((committed, pending.as_deref())),
            _ => None,
        }
    }
}

impl Node for Server {
    type Message = CommitMessage;
    type Timer = CommitTimer;
    type Operation = CounterOp;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.rounds = Pending::new();
        self.replica.recover(ctx);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: CounterOp) {
        match self.replica.admit(request, &op) {
            Admission::Ignore => {}
            Admission::Answer(reply) => ctx.reply_when_durable(request, reply),
            Admission::Start => {
                // Random draws, in the order the coroutines make them too: a three-phase
                // request's backoff jitter, then an increment's transaction id.
                let three = self.config().phases == Phases::Three;
                let jitter = if three { ctx.rng().random() } else { 0 };
                let (key, delta) = match op {
                    CounterOp::Get { key } => return self.start_read(ctx, request, key, jitter),
                    CounterOp::Increment { key, delta } => (key, delta),
                };
                let id = TxId(ctx.rng().random());
                let tx = self
                    .replica
                    .begin(id, ctx.id(), request, key.clone(), delta);
                if three {
                    let job = Job::new(request, key, Work::Increment(tx), jitter);
                    self.query(ctx, job);
                } else {
                    self.start_accept(ctx, tx);
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: ProcessId, message: CommitMessage) {
        let Some(reply) = self.replica.on_participant_message(ctx, from, message) else {
            return;
        };
        // Coordinator side. Replies to finished or unknown rounds find nothing and are ignored.
        match reply {
            CommitMessage::AcceptResponse { correlation, vote } => {
                self.on_accept_response(ctx, from, correlation, vote);
            }
            CommitMessage::QueryResponse {
                correlation,
                promise,
            } => self.on_query_response(ctx, from, correlation, promise),
            CommitMessage::ReadResponse {
                correlation,
                committed,
                pending,
            } => self.on_read_response(ctx, from, correlation, (committed, pending)),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: CommitTimer) {
        let CommitTimer::Inquire { key } = timer;
        self.replica.on_inquire(ctx, key);
    }

    fn on_expired(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        match self.rounds.take_expired(correlation) {
            Some(Round::Read { request, .. }) => {
                ctx.reply(
                    request,
                    CounterReply::failed("no majority answered in time"),
                );
            }
            Some(Round::Accept { request, tx, .. }) => {
                ctx.annotate(format!("aborts {}: no majority accepted in time", tx.id));
                self.abort(ctx, &tx);
                ctx.reply(
                    request,
                    CounterReply::failed("aborted: no majority accepted in time"),
                );
            }
            Some(Round::Query { job, .. } | Round::Propose { job, .. }) => self.retry(ctx, job),
            Some(Round::Backoff { job }) => self.query(ctx, job),
            None => {}
        }
    }
}
