//! `patterns disk`: the disk lab of day 1 from a terminal — load a device and watch it like
//! `iostat -x 1`, then check L = λW on the numbers.
//!
//! The reference's `disk_load.sh FILE BS SECONDS` takes positional arguments and checks none of
//! them; run with them in the wrong order it left a stray file named `4K.413` in its repository
//! (spec §2.1). Here every option is named and checked before anything is written, and a bad one
//! exits with status 2 and what was expected.

use clap::Args;
use patterns::disk::{
    DiskLabError, IoMode, IostatSample, LoadConfig, measure_with, parse_byte_size,
};
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `patterns disk`.
#[derive(Args)]
pub struct DiskArgs {
    /// Directory on the device to measure (its files are created and removed there).
    #[arg(long, default_value = ".")]
    path: PathBuf,
    /// Bytes per write: 512 to 16m, a multiple of 512 (4k, 64k, 1m).
    #[arg(long, default_value = "4k", value_parser = block_size)]
    block_size: usize,
    /// How long to load the device.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    seconds: u64,
    /// Concurrent writers (closed loop: each keeps one write in flight).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    writers: u64,
    /// Open loop instead: total writes per second, arriving as a Poisson process.
    #[arg(long)]
    rate: Option<f64>,
    /// Direct I/O, bypassing the page cache (the default; falls back when refused).
    #[arg(long, conflicts_with = "buffered")]
    direct: bool,
    /// Buffered writes, each followed by fdatasync.
    #[arg(long)]
    buffered: bool,
    /// Milliseconds between samples.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
}

fn block_size(text: &str) -> Result<usize, String> {
    parse_byte_size(text).map_err(|e| e.to_string())
}

/// Runs the lab and prints one line per sample as it is taken.
pub fn run(args: DiskArgs) -> ExitCode {
    let config = LoadConfig {
        block_size_bytes: args.block_size,
        writers: args.writers as usize,
        io_mode: if args.buffered {
            IoMode::BufferedSync
        } else {
            IoMode::Direct
        },
        rate_per_s: args.rate,
        ..LoadConfig::new(args.path, args.seconds * 1000)
    };
    let mut header_printed = false;
    let print_live = |sample: &IostatSample| {
        if !std::mem::replace(&mut header_printed, true) {
            println!("{}", IostatSample::HEADER);
        }
        println!("{sample}");
    };
    match measure_with(&config, args.interval_ms, print_live) {
        Ok(run) => {
            // The header and samples were printed live; print what follows them.
            let text = run.to_string();
            let printed = if run.samples.is_empty() {
                0
            } else {
                1 + run.samples.len()
            };
            for line in text.lines().skip(printed) {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("patterns disk: {error}");
            match error {
                DiskLabError::Io { .. } => ExitCode::FAILURE,
                _ => ExitCode::from(2),
            }
        }
    }
}
