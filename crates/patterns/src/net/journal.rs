//! What a cluster's nodes report while they run: refused frames, failed disks, kills and
//! restarts. The runtime writes it and the cluster reads it, so it stands apart from both.

use std::sync::{Arc, Mutex};

/// One line of a cluster's journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub node: String,
    pub text: String,
}

/// What the nodes of a cluster report: refused frames, failed disks, kills and restarts.
#[derive(Clone, Debug, Default)]
pub struct Journal {
    entries: Arc<Mutex<Vec<JournalEntry>>>,
    echo: bool,
}

impl Journal {
    /// An empty journal; `echo` also prints each error on stderr as it is noted.
    pub(crate) fn new(echo: bool) -> Journal {
        Journal {
            entries: Arc::default(),
            echo,
        }
    }

    pub(crate) fn error(&self, node: &str, text: String) {
        if self.echo {
            eprintln!("[{node}] {text}");
        }
        self.note(node, text);
    }

    pub(crate) fn note(&self, node: &str, text: String) {
        let entry = JournalEntry {
            node: node.to_string(),
            text,
        };
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry);
    }

    /// Everything noted so far.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
