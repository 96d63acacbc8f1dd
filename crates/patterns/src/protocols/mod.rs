//! The protocols, one module per family, each read top to bottom: the problem and the rule (with
//! the paper and the pattern's name), the state, the messages, the rules as small pure functions,
//! then the handlers. Each has its correct form and its classic broken variants as switches in its
//! `Config`.
//!
//! | module | pattern |
//! |---|---|
//! | [`echo`] | the smallest protocol: a request bounced off a peer |
//! | [`kv`] | the client vocabulary every key-value protocol shares: read, write, compare-and-set |
//! | [`quorum_kv`] | *Quorum*, *Versioned Value*, read repair (Dynamo) |

pub mod echo;
pub mod kv;
pub mod quorum_kv;

/// Every protocol `patterns explore` knows, in lesson order.
pub fn catalog() -> Vec<Box<dyn crate::explore::Protocol>> {
    vec![Box::new(quorum_kv::Explorer)]
}
