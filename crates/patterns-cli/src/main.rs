//! `patterns`: the workshop's command line.

mod wal;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
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
    /// Write-ahead logs (day 1, lesson 3).
    #[command(subcommand)]
    Wal(WalCommand),
}

#[derive(Subcommand)]
enum WalCommand {
    /// Open the log in DIR as a server would (cutting a torn tail) and report what was found.
    Recover { dir: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Wal(WalCommand::Recover { dir }) => wal::recover(&dir),
    }
}
