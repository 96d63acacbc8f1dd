//! Echo: the smallest protocol, the first thing to run on the bench (reference §2.4, "Echo
//! example"). A client asks a node to echo a text; with `relay`, the node first has a peer echo it,
//! so a run shows client messages and node-to-node messages, and what faults do to each.

use crate::history::{EventType, Value};
use crate::message_kinds;
use crate::node::{Context, Correlation, Node, Operation, Pending, ProcessId, RequestId};
use serde::{Deserialize, Serialize};

/// The client's request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Echo {
    pub text: String,
    /// Bounce the text off a peer before answering.
    pub relay: bool,
}

impl Echo {
    pub fn new(text: &str) -> Echo {
        Echo {
            text: text.to_string(),
            relay: false,
        }
    }

    pub fn relayed(text: &str) -> Echo {
        Echo {
            text: text.to_string(),
            relay: true,
        }
    }
}

impl Operation for Echo {
    type Reply = String;

    fn invocation(&self) -> (&'static str, Value) {
        ("echo", Value::str(&self.text))
    }

    fn completion(&self, reply: &String) -> (EventType, Value) {
        (EventType::Ok, Value::str(reply))
    }

    fn is_read_only(&self) -> bool {
        true
    }
}

/// Between nodes: a ping carrying the text, and the pong that returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EchoMessage {
    Ping {
        correlation: Correlation,
        text: String,
    },
    Pong {
        correlation: Correlation,
        text: String,
    },
}

message_kinds!(EchoMessage => EchoKind { Ping, Pong });

/// A node that echoes.
#[derive(Clone, Debug, Default)]
pub struct EchoServer {
    relaying: Pending<RequestId>,
}

impl EchoServer {
    pub fn new() -> EchoServer {
        EchoServer::default()
    }

    /// How many relayed requests wait for their pong.
    pub fn relaying(&self) -> usize {
        self.relaying.len()
    }
}

/// How long a relay waits for its pong before it gives up (the client's own timeout is longer).
pub const RELAY_TIMEOUT_TICKS: u64 = 20;

impl Node for EchoServer {
    type Message = EchoMessage;
    type Timer = ();
    type Operation = Echo;

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: ProcessId, message: EchoMessage) {
        match message {
            EchoMessage::Ping { correlation, text } => {
                ctx.send(from, EchoMessage::Pong { correlation, text })
            }
            EchoMessage::Pong { correlation, text } => {
                // A pong after the deadline finds nothing: the client was already told.
                if let Some(request) = self.relaying.remove(ctx, correlation) {
                    ctx.reply(request, text);
                }
            }
        }
    }

    fn on_expired(&mut self, ctx: &mut Context<'_, Self>, correlation: Correlation) {
        if let Some(request) = self.relaying.take_expired(correlation) {
            ctx.annotate("relay timed out");
            ctx.reply(request, String::from("(no echo from peer)"));
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestId, echo: Echo) {
        let peer = ctx.peers().first().copied();
        match peer {
            Some(peer) if echo.relay => {
                let correlation = self.relaying.insert(ctx, RELAY_TIMEOUT_TICKS, request);
                ctx.send(
                    peer,
                    EchoMessage::Ping {
                        correlation,
                        text: echo.text,
                    },
                );
            }
            _ => ctx.reply(request, echo.text),
        }
    }
}
