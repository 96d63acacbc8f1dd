//! What the compiler makes of one `.await` (spec §2.6, the reference's `StateMachineDemo`), written
//! out by hand.
//!
//! The two-phase coordinator of [`super::async_coordinator`] is an `async fn` with one suspension
//! point:
//!
//! ```text
//! let prepared = Prepared::lock(tx.clone());                       // label 0: start
//! let accepts = io.request(everyone(&io), timeout, |c| Accept { .. })
//!     .quorum(Quorum::of(votes, n), accepts)
//!     .await;                                                      // label 1: suspended here
//! conclude(&io, &replica, request, &tx, &accepts);                 // label 2: returned
//! ```
//!
//! The compiler turns it into an enum with one variant per label, each holding exactly the local
//! variables that are still needed after that point, and a `poll` that runs from the current label
//! to the next suspension point. [`HandWritten`] is that enum and that `poll`. Spawned in place of
//! the `async fn` ([`super::AsyncServer::hand_written`]) it gives the same run, message for
//! message: nothing is hidden in `async`, only written for you.

use super::async_coordinator::{accepts, conclude, everyone, votes_needed};
use super::{AsyncServer, CommitMessage, Prepared, Replica, Transaction};
use crate::node::{AsyncContext, Quorum, QuorumState, RequestId, Round, Shared};
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

/// The two-phase coordinator as the state machine behind its `async fn`.
pub enum HandWritten {
    /// Label 0: not polled yet. Only the arguments are alive.
    Start {
        io: AsyncContext<AsyncServer>,
        replica: Shared<Replica>,
        request: RequestId,
        tx: Transaction,
    },
    /// Label 1: suspended at the `.await`. The round and the quorum it fills are alive too; the
    /// message it sent is not (nothing after the `.await` uses it).
    AwaitingAccepts {
        io: AsyncContext<AsyncServer>,
        replica: Shared<Replica>,
        request: RequestId,
        tx: Transaction,
        round: Round<AsyncServer>,
        quorum: Quorum<CommitMessage>,
    },
    /// Label 2: returned. Polling again is a bug.
    Done,
}

impl HandWritten {
    pub fn new(
        io: AsyncContext<AsyncServer>,
        replica: Shared<Replica>,
        request: RequestId,
        tx: Transaction,
    ) -> HandWritten {
        HandWritten::Start {
            io,
            replica,
            request,
            tx,
        }
    }

    /// The label the coordinator stands at: 0, 1 or 2.
    pub fn label(&self) -> u8 {
        match self {
            HandWritten::Start { .. } => 0,
            HandWritten::AwaitingAccepts { .. } => 1,
            HandWritten::Done => 2,
        }
    }
}

impl Future for HandWritten {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Every field is `Unpin`, so the future may be moved between polls and taken apart here.
        let this = self.get_mut();
        loop {
            match std::mem::replace(this, HandWritten::Done) {
                HandWritten::Start {
                    io,
                    replica,
                    request,
                    tx,
                } => {
                    // The code before the `.await`, up to the future it awaits.
                    let (timeout, votes) = replica.with(|r| {
                        let config = r.config();
                        (
                            config.round_timeout_ticks,
                            votes_needed(config, io.cluster_size()),
                        )
                    });
                    let prepared = Prepared::lock(tx.clone());
                    let round = io.request(everyone(&io), timeout, move |correlation| {
                        CommitMessage::Accept {
                            correlation,
                            prepared: prepared.clone(),
                        }
                    });
                    let quorum = Quorum::of(votes, io.cluster_size());
                    *this = HandWritten::AwaitingAccepts {
                        io,
                        replica,
                        request,
                        tx,
                        round,
                        quorum,
                    };
                }
                HandWritten::AwaitingAccepts {
                    io,
                    replica,
                    request,
                    tx,
                    mut round,
                    mut quorum,
                } => {
                    // The awaited future (`Round::quorum`), inlined: take replies while there are
                    // any; with none yet, store every live variable and return Pending. The
                    // round's inbox keeps the waker, and a reply or the deadline wakes us.
                    while quorum.state() == QuorumState::Waiting {
                        let next = pin!(round.next_reply()).poll(cx);
                        match next {
                            Poll::Pending => {
                                *this = HandWritten::AwaitingAccepts {
                                    io,
                                    replica,
                                    request,
                                    tx,
                                    round,
                                    quorum,
                                };
                                return Poll::Pending;
                            }
                            Poll::Ready(None) => break, // the deadline passed
                            Poll::Ready(Some((from, reply))) => {
                                let yes = accepts(&reply);
                                quorum.record(from, reply, yes);
                            }
                        }
                    }
                    // The `.await` statement ends: its temporaries (the round) are dropped, then
                    // the code after it runs to the end of the function.
                    drop(round);
                    conclude(&io, &replica, request, &tx, &quorum);
                    return Poll::Ready(());
                }
                HandWritten::Done => panic!("a finished coordinator was polled again"),
            }
        }
    }
}
