//! `patterns`: the workshop's command line.

mod check;
mod disk;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "patterns",
    version,
    about = "Patterns of Distributed Systems, runnable"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a Jepsen history (EDN) for linearizability or sequential consistency.
    Check(check::CheckArgs),
    /// Day 1 disk lab: load a device, sample it like `iostat -x`, check L = λW.
    Disk(disk::DiskArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Disk(args) => disk::run(args),
    }
}
