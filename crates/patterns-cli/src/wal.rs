//! `patterns wal recover DIR`: open a write-ahead log the way the server would, and report.

use clap::Subcommand;
use patterns::wal::{Log, LogConfig, WalError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `patterns wal ...`
#[derive(Subcommand)]
pub enum WalCommand {
    /// Open the log in DIR as a server would and report what recovery found. A torn tail (bad
    /// bytes with nothing valid after them) is cut; anything else that does not decode is
    /// reported with its segment and offset and left as it is. Exit status: 0 recovered, 1 the
    /// log is damaged or unreadable, 2 no log at DIR (nothing is created).
    Recover {
        /// The log directory.
        dir: PathBuf,
    },
}

/// Runs a `patterns wal` subcommand.
pub fn run(command: &WalCommand) -> ExitCode {
    match command {
        WalCommand::Recover { dir } => recover(dir),
    }
}

/// Opens (and so recovers) the log in `dir`: prints what recovery found and the segments; exits
/// non-zero with the reason when there is no log or it cannot be opened.
fn recover(dir: &Path) -> ExitCode {
    match Log::open_existing(dir, LogConfig::default()) {
        Ok(log) => {
            println!("{}", log.recovery());
            if log.is_empty() {
                println!("no entries (next index {})", log.next_index());
            } else {
                println!(
                    "entries {}..={} (durable up to {})",
                    log.first_index(),
                    log.last_index(),
                    log.durable_index()
                );
            }
            for s in log.segments() {
                println!("{}  {} entries  {} bytes", s.file_name, s.entries, s.bytes);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                WalError::NoLog { .. } | WalError::DirectoryIsAFile { .. } => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
