//! `patterns`: the workshop's command line.

mod check;
mod cluster;
mod disk;
mod explore;
mod wal;

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
    /// Check a history (Jepsen EDN or text log, Porcupine data) for linearizability or sequential consistency.
    Check(check::CheckArgs),
    /// Run a protocol on a real loopback cluster under a random workload; write its history.
    Cluster(cluster::ClusterArgs),
    /// Day 1 disk lab: load a device, sample it like `iostat -x`, check L = λW.
    Disk(disk::DiskArgs),
    /// Run a protocol under the nemesis for many seeds; draw the first counterexample.
    Explore(explore::ExploreArgs),
    /// Day 1 write-ahead log: open a log as a server would and report what recovery found.
    #[command(subcommand)]
    Wal(wal::WalCommand),
}

fn main() -> ExitCode {
    // Behave as a Unix filter: a closed pipe (`patterns explore ... | head`) ends the process
    // quietly instead of panicking on the next print.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Cluster(args) => cluster::run(&args),
        Command::Disk(args) => disk::run(args),
        Command::Explore(args) => explore::run(&args),
        Command::Wal(command) => wal::run(&command),
    }
}
