//! `patterns wal recover DIR`: open a write-ahead log the way the server would, and report.

use patterns::wal::{Log, LogConfig};
use std::path::Path;
use std::process::ExitCode;

/// Opens (and so recovers) the log in `dir`: prints what recovery found and the segments; exits
/// non-zero with the reason when the log cannot be opened.
pub fn recover(dir: &Path) -> ExitCode {
    match Log::open(dir, LogConfig::default()) {
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
            ExitCode::FAILURE
        }
    }
}
