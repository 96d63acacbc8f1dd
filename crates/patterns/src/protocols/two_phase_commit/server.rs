//! The coordinators as a state machine: each round waits in a [`Pending`] entry, and whichever
//! handler the next reply reaches carries it on. The same coordinators as straight-line code are
//! in [`super::async_coordinator`].

use super::{
    Admission, CommitMessage, CommitTimer, CounterState, Decision, Epoch, Phases, Prepared,
    Promise, Replica, Step, TxId, Vote, Work, commit_message, decide, latest, plan,
};
use super::{Config, Transaction, Votes};
use crate::node::majority;
use crate::node::{Context, Correlation, Node, Pending, ProcessId, Quorum, QuorumState, RequestId};
use crate::protocols::counter::{CounterOp, CounterReply};
use rand::Rng;

/// What a coordinator waits for.
#[derive(Clone, Debug)]
enum Round {
    /// Two-phase get: the committed states of a majority, none holding an undecided operation.
    Read {
        request: RequestId,
        quorum: Quorum<CounterState>,
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
}

/// A three-phase client request in progress, across its rounds and tries.
#[derive(Clone, Debug)]
struct Job {
    request: RequestId,
    key: String,
    work: Work,
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

    // ----- two-phase ---------------------------------------------------------------------------

    fn start_two_phase(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: CounterOp) {
        let n = ctx.cluster_size();
        let timeout = self.config().round_timeout_ticks;
        match op {
            CounterOp::Get { key } => {
                let quorum = Quorum::majority(n);
                let correlation = self
                    .rounds
                    .insert(ctx, timeout, Round::Read { request, quorum });
                Server::ask_all(ctx, CommitMessage::Read { correlation, key });
            }
            CounterOp::Increment { key, delta } => {
                let id = TxId(ctx.rng().random());
                let tx = self.replica.begin(id, ctx.id(), request, key, delta);
                let votes = match self.config().votes {
                    Votes::Majority => majority(n),
                    Votes::All => n,
                };
                let prepared = Prepared::lock(tx.clone());
                let quorum = Quorum::of(votes, n);
                let round = Round::Accept {
                    request,
                    tx,
                    quorum,
                };
                let correlation = self.rounds.insert(ctx, timeout, round);
                Server::ask_all(
                    ctx,
                    CommitMessage::Accept {
                        correlation,
                        prepared,
                    },
                );
            }
        }
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

    fn start_three_phase(
        &mut self,
        ctx: &mut Context<'_, Self>,
        request: RequestId,
        op: CounterOp,
    ) {
        let key = op.key().to_string();
        let work = match op {
            CounterOp::Get { .. } => Work::Get,
            CounterOp::Increment { key, delta } => {
                let id = TxId(ctx.rng().random());
                Work::Increment(self.replica.begin(id, ctx.id(), request, key, delta))
            }
        };
        let job = Box::new(Job {
            request,
            key,
            work,
            tries: 1,
            proposed_own: false,
        });
        self.query(ctx, job);
    }

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

    /// A round failed (refused, or out of time): try again with a higher epoch, or give up.
    fn retry(&mut self, ctx: &mut Context<'_, Self>, mut job: Box<Job>) {
        job.tries += 1;
        if job.tries <= self.config().tries {
            return self.query(ctx, job);
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
                    let (committed, pending) = promised(&quorum);
                    self.step(ctx, job, epoch, &latest(&committed), &pending);
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

/// The committed states and the pending operations of a phase zero's promises.
pub(crate) fn promised<R>(quorum: &Quorum<R>) -> (Vec<CounterState>, Vec<Prepared>)
where
    R: AsPromise,
{
    let mut committed = Vec::new();
    let mut pending = Vec::new();
    for reply in quorum.accepted().values() {
        if let Some(Promise::Promised {
            committed: c,
            pending: p,
        }) = reply.as_promise()
        {
            committed.push(c.clone());
            pending.extend(p.as_deref().cloned());
        }
    }
    (committed, pending)
}

/// A reply that may be a promise: the state machine counts promises, the coroutines messages.
pub(crate) trait AsPromise {
    fn as_promise(&self) -> Option<&Promise>;
}

impl AsPromise for Promise {
    fn as_promise(&self) -> Option<&Promise> {
        Some(self)
    }
}

impl AsPromise for CommitMessage {
    fn as_promise(&self) -> Option<&Promise> {
        match self {
            CommitMessage::QueryResponse { promise, .. } => Some(promise),
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
            Admission::Start => match self.config().phases {
                Phases::Two => self.start_two_phase(ctx, request, op),
                Phases::Three => self.start_three_phase(ctx, request, op),
            },
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
            } => {
                let Some(Round::Read { quorum, .. }) = self.rounds.get_mut(correlation) else {
                    return;
                };
                if quorum.record(from, committed, true) == QuorumState::Reached {
                    if let Some(Round::Read { request, quorum }) =
                        self.rounds.remove(ctx, correlation)
                    {
                        let value = latest(quorum.accepted().values()).value;
                        ctx.reply(request, CounterReply::Value { value });
                    }
                }
            }
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
            None => {}
        }
    }
}
