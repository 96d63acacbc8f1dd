//! The two- and three-phase coordinators as straight-line `async` code (spec §2.6, the reference's
//! continuations example), beside the state machine of [`super::Server`].
//!
//! The participant side, the log and every rule ([`super::decide`], [`super::plan`],
//! [`super::latest`]) are the state machine's own; only the coordinator differs. Where
//! [`super::Server`] keeps a round in a [`Pending`](crate::node::Pending) entry and carries it on
//! from whichever handler the next reply reaches, a coroutine keeps the round in local variables
//! and reads top to bottom: ask, await a majority, decide, answer. Correlation ids, deadlines and
//! quorum counting are the same node interface's, and the random draws happen in the same
//! handlers, so both coordinators give the same runs seed by seed (the tests compare them).
//!
//! The two-phase coordinator has exactly one `.await`. [`super::hand_written`] writes out, by
//! hand, the state machine the compiler makes of it.

use super::hand_written::HandWritten;
use super::server::reported;
use super::{
    Admission, CommitMessage, CommitTimer, Config, Decision, Phases, Prepared, Promise, Replica,
    Step, Transaction, TxId, Vote, Votes, Work, backoff, commit_message, decide, latest,
    needs_recovery, plan,
};
use crate::exercise::attempt;
use crate::node::majority;
use crate::node::{AsyncContext, Context, Node, ProcessId, Quorum, QuorumState, RequestId, Shared};
use crate::protocols::counter::{CounterOp, CounterReply};
use rand::Rng;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

/// How the two-phase coordinator is written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Style {
    /// An `async fn`, turned into a state machine by the compiler.
    Async,
    /// The same state machine, written by hand ([`HandWritten`]).
    HandWritten,
}

/// A get coordinator written in a lesson, as straight-line `async` code: it asks the servers and
/// returns the client's answer. (A function returning a boxed future: an `async fn` is passed as
/// `|io, key| Box::pin(get(io, key))`.)
pub type GetCoordinator =
    fn(AsyncContext<AsyncServer>, String) -> Pin<Box<dyn Future<Output = CounterReply>>>;

/// A server whose coordinators run as coroutines. Its participant state is a [`Replica`] held in a
/// [`Shared`] handle, so the coroutines can reach it between two `.await`s.
pub struct AsyncServer {
    replica: Shared<Replica>,
    style: Style,
    get: Option<GetCoordinator>,
}

impl AsyncServer {
    pub fn new(config: Config) -> AsyncServer {
        AsyncServer {
            replica: Shared::new(Replica::new(config)),
            style: Style::Async,
            get: None,
        }
    }

    /// A server whose gets run `get`, a coordinator written in a lesson's exercise.
    pub fn with_get(config: Config, get: GetCoordinator) -> AsyncServer {
        AsyncServer {
            get: Some(get),
            ..AsyncServer::new(config)
        }
    }

    /// A two-phase server whose coordinator is the hand-written future of [`HandWritten`].
    pub fn hand_written(config: Config) -> AsyncServer {
        AsyncServer {
            style: Style::HandWritten,
            ..AsyncServer::new(config)
        }
    }

    /// Reads the participant state.
    pub fn replica<R>(&self, read: impl FnOnce(&Replica) -> R) -> R {
        self.replica.with(read)
    }

    /// The counter `key` on this server (`None`: nothing committed here).
    pub fn value(&self, key: &str) -> Option<i64> {
        self.replica.with(|r| r.value(key))
    }
}

/// Every server, peers first and this one last: the order the state machine asks them in.
pub(crate) fn everyone<N: Node>(io: &AsyncContext<N>) -> Vec<ProcessId> {
    let mut nodes = io.peers();
    nodes.push(io.id());
    nodes
}

/// A get: what a majority holds. Three-phase: if one reports an undecided proposal, complete
/// it first, as a coordinator with an epoch of its own.
async fn read(
    io: AsyncContext<AsyncServer>,
    replica: Shared<Replica>,
    request: RequestId,
    key: String,
    jitter: u64,
) {
    let config = replica.with(|r| r.config().clone());
    let asked = key.clone();
    let held = io
        .request(
            everyone(&io),
            config.round_timeout_ticks,
            move |correlation| CommitMessage::Read {
                correlation,
                key: asked.clone(),
            },
        )
        .quorum(Quorum::majority(io.cluster_size()), |reply| {
            matches!(reply, CommitMessage::ReadResponse { .. })
        })
        .await;
    if held.state() != QuorumState::Reached {
        return io.reply(
            request,
            CounterReply::failed("no majority answered in time"),
        );
    }
    let (base, pending) = reported(&held);
    if config.phases == Phases::Three && needs_recovery(&base, &pending, config.recovery) {
        return three_phase(io, replica, request, key, Work::Get, jitter).await;
    }
    io.reply(request, CounterReply::Value { value: base.value });
}

/// Runs a lesson's get coordinator and answers with what it returns. A panic in it (a `todo!()`)
/// is caught where it is polled and answered as a failure, so the run goes on.
async fn lesson_get(
    io: AsyncContext<AsyncServer>,
    request: RequestId,
    key: String,
    get: GetCoordinator,
) {
    let reply = match Caught(get(io.clone(), key)).await {
        Ok(reply) => reply,
        Err(why) => CounterReply::failed(&format!("the get panicked: {why}")),
    };
    io.reply(request, reply);
}

/// A future whose panics become an `Err` with the panic's message.
struct Caught<F>(F);

impl<F: Future + Unpin> Future for Caught<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let inner = &mut self.get_mut().0;
        match attempt(|| Pin::new(inner).poll(cx)) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(why) => Poll::Ready(Err(why)),
        }
    }
}

/// How many accepts a two-phase coordinator needs.
pub(crate) fn votes_needed(config: &Config, cluster_size: usize) -> usize {
    match config.votes {
        Votes::Majority => majority(cluster_size),
        Votes::All => cluster_size,
    }
}

/// The two-phase coordinator: phase one, one `.await`, then the decision.
async fn two_phase(
    io: AsyncContext<AsyncServer>,
    replica: Shared<Replica>,
    request: RequestId,
    tx: Transaction,
) {
    let (timeout, votes) = replica.with(|r| {
        let config = r.config();
        (
            config.round_timeout_ticks,
            votes_needed(config, io.cluster_size()),
        )
    });
    let prepared = Prepared::lock(tx.clone());
    let accepts = io
        .request(everyone(&io), timeout, move |correlation| {
            CommitMessage::Accept {
                correlation,
                prepared: prepared.clone(),
            }
        })
        .quorum(Quorum::of(votes, io.cluster_size()), accepts)
        .await;
    conclude(&io, &replica, request, &tx, &accepts);
}

/// Whether a reply is an accept.
pub(crate) fn accepts(reply: &CommitMessage) -> bool {
    matches!(
        reply,
        CommitMessage::AcceptResponse {
            vote: Vote::Accepted { .. },
            ..
        }
    )
}

/// After phase one: commit on the newest state the participants reported (decide, make it durable,
/// then answer), or abort.
pub(crate) fn conclude(
    io: &AsyncContext<AsyncServer>,
    replica: &Shared<Replica>,
    request: RequestId,
    tx: &Transaction,
    accepts: &Quorum<CommitMessage>,
) {
    if accepts.state() != QuorumState::Reached {
        io.annotate(format!("aborts {}: no majority accepted in time", tx.id));
        abort(io, replica, tx);
        return io.reply(
            request,
            CounterReply::failed("aborted: no majority accepted in time"),
        );
    }
    let base = latest(accepts.accepted().values().filter_map(|m| match m {
        CommitMessage::AcceptResponse {
            vote: Vote::Accepted { committed },
            ..
        } => Some(committed),
        _ => None,
    }));
    match decide(&base, tx) {
        Decision::Commit(next) => {
            let record = replica.with_mut(|r| r.decided(tx, &next));
            io.write(move |storage| {
                storage.append_json(&record);
            });
            let commit = commit_message(tx, &next);
            for to in io.cluster() {
                io.send_when_durable(to, commit.clone());
            }
            io.reply_when_durable(request, CounterReply::Incremented { value: next.value });
        }
        Decision::Duplicate(value) => {
            abort(io, replica, tx);
            io.reply(request, CounterReply::Incremented { value });
        }
        Decision::Stale => abort(io, replica, tx),
        Decision::Overflow => {
            abort(io, replica, tx);
            io.reply(request, CounterReply::failed("the counter would overflow"));
        }
    }
}

/// Decides abort (presumed: nothing to write) and tells every participant.
fn abort(io: &AsyncContext<AsyncServer>, replica: &Shared<Replica>, tx: &Transaction) {
    replica.with_mut(|r| r.finish(tx.id));
    let abort = CommitMessage::Abort {
        key: tx.key.clone(),
        tx: tx.id,
    };
    for to in everyone(io) {
        io.send(to, abort.clone());
    }
}

/// The three-phase coordinator: phase zero for a new epoch, then complete what is pending and the
/// client's own transaction; refused or out of time, try again with a higher epoch.
async fn three_phase(
    io: AsyncContext<AsyncServer>,
    replica: Shared<Replica>,
    request: RequestId,
    key: String,
    mut work: Work,
    jitter: u64,
) {
    let config = replica.with(|r| r.config().clone());
    let own = match &work {
        Work::Increment(tx) => Some(tx.id),
        _ => None,
    };
    let mut proposed_own = false;
    'tries: for tries in 1..=config.tries {
        if tries > 1 {
            // Refused or out of time: wait a random while, then try with a higher epoch.
            io.sleep(backoff(jitter, tries, config.backoff_ticks_max))
                .await;
        }
        // Phase zero: a majority promises the epoch and says what it holds.
        let epoch = replica.with_mut(|r| r.take_epoch(io.id(), io.incarnation()));
        let asked = key.clone();
        let mut query = io.request(everyone(&io), config.round_timeout_ticks, move |c| {
            CommitMessage::Query {
                correlation: c,
                key: asked.clone(),
                epoch,
            }
        });
        let mut promises = Quorum::majority(io.cluster_size());
        while promises.state() == QuorumState::Waiting {
            let Some((from, reply)) = query.next_reply().await else {
                break;
            };
            if let CommitMessage::QueryResponse {
                promise: Promise::Refused { promised },
                ..
            } = &reply
            {
                replica.with_mut(|r| r.saw_epoch(*promised));
            }
            let yes = matches!(
                reply,
                CommitMessage::QueryResponse {
                    promise: Promise::Promised { .. },
                    ..
                }
            );
            promises.record(from, reply, yes);
        }
        drop(query);
        if promises.state() != QuorumState::Reached {
            continue 'tries;
        }
        let (mut base, mut pending) = reported(&promises);
        // Phases one and two, for each proposal the rule names, until the client is answered.
        loop {
            let proposal = match plan(config.recovery, epoch, &base, &pending, &mut work) {
                Step::Answer(reply) => {
                    if let Some(tx) = own {
                        replica.with_mut(|r| r.finish(tx));
                    }
                    if let Some(reply) = reply {
                        io.reply_when_durable(request, reply);
                    }
                    return;
                }
                Step::Propose(proposal) => proposal,
            };
            if Some(proposal.tx.id) == own {
                proposed_own = true;
            } else {
                io.annotate(format!("recovers {}", proposal.tx.id));
            }
            let sent = proposal.clone();
            let mut accept = io.request(everyone(&io), config.round_timeout_ticks, move |c| {
                CommitMessage::Accept {
                    correlation: c,
                    prepared: sent.clone(),
                }
            });
            let mut votes = Quorum::majority(io.cluster_size());
            while votes.state() == QuorumState::Waiting {
                let Some((from, reply)) = accept.next_reply().await else {
                    break;
                };
                if let CommitMessage::AcceptResponse {
                    vote: Vote::Refused { promised },
                    ..
                } = &reply
                {
                    replica.with_mut(|r| r.saw_epoch(*promised));
                }
                let yes = accepts(&reply);
                votes.record(from, reply, yes);
            }
            drop(accept);
            if votes.state() != QuorumState::Reached {
                continue 'tries;
            }
            // Decide, make it durable, then tell everyone.
            let Some(accepted) = proposal.accepted else {
                return;
            };
            let record = replica.with_mut(|r| r.decided(&proposal.tx, &accepted.next));
            io.write(move |storage| {
                storage.append_json(&record);
            });
            let commit = commit_message(&proposal.tx, &accepted.next);
            for to in io.cluster() {
                io.send_when_durable(to, commit.clone());
            }
            base = accepted.next;
            pending.clear();
        }
    }
    if let Some(tx) = own {
        replica.with_mut(|r| r.finish(tx));
    }
    let reply = match (&work, proposed_own) {
        (Work::Dropped, _) => return,
        (Work::Increment(_), true) => CounterReply::uncertain("refused or out of time"),
        _ => CounterReply::failed("refused or out of time before anything was accepted"),
    };
    io.reply(request, reply);
}

impl Node for AsyncServer {
    type Message = CommitMessage;
    type Timer = CommitTimer;
    type Operation = CounterOp;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.replica.with_mut(|r| r.recover(ctx));
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, op: CounterOp) {
        let (admission, phases) = self
            .replica
            .with(|r| (r.admit(request, &op), r.config().phases));
        match admission {
            Admission::Ignore => return,
            Admission::Answer(reply) => return ctx.reply_when_durable(request, reply),
            Admission::Start => {}
        }
        let replica = self.replica.handle();
        // The state machine's random draws, in its order: a three-phase request's backoff
        // jitter, then an increment's transaction id.
        let jitter = match phases {
            Phases::Three => ctx.rng().random(),
            Phases::Two => 0,
        };
        let (key, delta) = match op {
            CounterOp::Get { key } => {
                if let Some(get) = self.get {
                    return ctx.spawn(move |io| lesson_get(io, request, key, get));
                }
                return ctx.spawn(|io| read(io, replica, request, key, jitter));
            }
            CounterOp::Increment { key, delta } => (key, delta),
        };
        let id = TxId(ctx.rng().random());
        let me = ctx.id();
        let tx = replica.with_mut(|r| r.begin(id, me, request, key.clone(), delta));
        match (phases, self.style) {
            (Phases::Two, Style::Async) => ctx.spawn(|io| two_phase(io, replica, request, tx)),
            (Phases::Two, Style::HandWritten) => {
                ctx.spawn(|io| HandWritten::new(io, replica, request, tx));
            }
            (Phases::Three, _) => {
                let work = Work::Increment(tx);
                ctx.spawn(|io| three_phase(io, replica, request, key, work, jitter));
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: ProcessId, message: CommitMessage) {
        let reply = self
            .replica
            .with_mut(|r| r.on_participant_message(ctx, from, message));
        // Coordinator side: the coroutine waiting on the round takes the reply; a reply to a
        // finished round finds nothing and is ignored.
        if let Some(
            reply @ (CommitMessage::AcceptResponse { correlation, .. }
            | CommitMessage::QueryResponse { correlation, .. }
            | CommitMessage::ReadResponse { correlation, .. }),
        ) = reply
        {
            ctx.resume(correlation, from, reply);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: CommitTimer) {
        let CommitTimer::Inquire { key } = timer;
        self.replica.with_mut(|r| r.on_inquire(ctx, key));
    }
}
