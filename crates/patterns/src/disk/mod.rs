//! The disk lab (reference lab §2.1): load a real device, watch it as `iostat -x` does, and check
//! Little's Law, L = λ·W, on its own numbers.
//!
//! | file | holds |
//! |---|---|
//! | [`diskstats`] | `/proc/diskstats` parsing, and which device backs a directory |
//! | [`iostat`] | sysstat's `iostat -x` formulas over two readings, and the L = λW check |
//! | [`load`] | writers: direct I/O (or buffered + fdatasync), closed or open loop |
//!
//! [`measure`] runs the writers and samples the device while they run. It needs Linux: anywhere
//! else it returns [`DiskLabError::DiskstatsUnavailable`], whose message says what to do instead.

pub mod diskstats;
pub mod iostat;
pub mod load;

pub use diskstats::{DiskCounters, locate_device, parse_diskstats, read_diskstats};
pub use iostat::{IostatSample, LittleCheck};
pub use load::{IoMode, LoadConfig, LoadReport, generate_load, parse_byte_size};

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Why the disk lab cannot run, or cannot run as asked.
#[derive(Debug)]
pub enum DiskLabError {
    /// `/proc/diskstats` cannot be read: not Linux, or /proc is not mounted.
    DiskstatsUnavailable { path: PathBuf, reason: String },
    /// `/proc/diskstats` holds a line this parser does not understand.
    MalformedDiskstats {
        line_number: usize,
        line: String,
        reason: String,
    },
    /// The directory is on a filesystem without a block device of its own.
    NoBlockDevice { path: PathBuf, filesystem: String },
    /// A parameter outside what a run can honour.
    InvalidConfig {
        parameter: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A file operation failed.
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl fmt::Display for DiskLabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskLabError::DiskstatsUnavailable { path, reason } => write!(
                f,
                "cannot read {} ({reason}): the disk lab reads Linux's per-device I/O counters. \
                 On macOS run `iostat -d -w 1` beside a `dd` load instead; in a container, \
                 run on the host or mount /proc",
                path.display()
            ),
            DiskLabError::MalformedDiskstats {
                line_number,
                line,
                reason,
            } => {
                write!(f, "/proc/diskstats line {line_number} ({line:?}): {reason}")
            }
            DiskLabError::NoBlockDevice { path, filesystem } => write!(
                f,
                "{} is on {filesystem}, which has no block device in /proc/diskstats \
                 (tmpfs, overlay and network filesystems have none): pass --path with a \
                 directory on a disk-backed filesystem (see `df` or `findmnt`)",
                path.display()
            ),
            DiskLabError::InvalidConfig {
                parameter,
                value,
                expected,
            } => {
                write!(
                    f,
                    "{parameter} = {value} is not allowed: expected {expected}"
                )
            }
            DiskLabError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for DiskLabError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DiskLabError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// One run of the lab: what the device showed, interval by interval and overall, and what the
/// writers measured themselves.
#[derive(Clone, Debug)]
pub struct DiskRun {
    /// The `/proc/diskstats` name of the device measured.
    pub device: String,
    /// One `iostat -x` line per sampling interval.
    pub samples: Vec<IostatSample>,
    /// The same columns over the whole run.
    pub overall: IostatSample,
    pub load: LoadReport,
}

impl fmt::Display for DiskRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", IostatSample::HEADER)?;
        for sample in &self.samples {
            writeln!(f, "{sample}")?;
        }
        writeln!(f, "{}  (whole run)", self.overall)?;
        let little = &self.overall.little;
        writeln!(
            f,
            "Little's Law: L = aqu-sz = {:.3}; λ·W = {:.0}/s × {:.3} ms = {:.3} ({:.1} % apart)",
            little.queue_length,
            little.arrival_rate_per_s,
            little.response_time_s * 1000.0,
            little.predicted_queue_length,
            little.relative_error() * 100.0
        )?;
        if let Some(s) = self.overall.service_time_s() {
            writeln!(f, "service time S = U / X = {:.4} ms", s * 1000.0)?;
        }
        let load = &self.load;
        write!(
            f,
            "writers saw {} writes of {} B by {} writer(s), {:.0} writes/s, {:.3} ms each ({:?})",
            load.writes,
            load.block_size_bytes,
            load.writers,
            load.writes_per_s(),
            load.mean_response_time_s * 1000.0,
            load.io_mode
        )?;
        if let Some(reason) = &load.fallback_reason {
            write!(f, "\nnote: {reason}")?;
        }
        Ok(())
    }
}

/// One reading of a device's counters and when it was taken.
#[derive(Clone)]
struct Reading {
    counters: DiskCounters,
    at: Instant,
}

impl Reading {
    fn sample_until(&self, later: &Reading) -> IostatSample {
        let interval_s = (later.at - self.at).as_secs_f64();
        IostatSample::between(&self.counters, &later.counters, interval_s)
    }
}

/// Runs the load of `config` on the device under `config.dir` and samples that device every
/// `sample_interval_ms`, handing each sample to `on_sample` as it is taken (a command line prints
/// them live). A last, shorter interval is kept when it covers at least half an interval.
pub fn measure_with(
    config: &LoadConfig,
    sample_interval_ms: u64,
    mut on_sample: impl FnMut(&IostatSample),
) -> Result<DiskRun, DiskLabError> {
    config.validate()?;
    if sample_interval_ms == 0 {
        return Err(DiskLabError::InvalidConfig {
            parameter: "sample_interval_ms",
            value: "0".into(),
            expected: "an interval of at least 1 ms",
        });
    }
    let device = locate_device(&config.dir)?;
    let read_device = || -> Result<Reading, DiskLabError> {
        let at = Instant::now();
        let counters = read_diskstats()?
            .into_iter()
            .find(|d| (d.major, d.minor) == (device.major, device.minor))
            .ok_or_else(|| DiskLabError::NoBlockDevice {
                path: config.dir.clone(),
                filesystem: format!("device {} (gone from /proc/diskstats)", device.name),
            })?;
        Ok(Reading { counters, at })
    };
    let interval = Duration::from_millis(sample_interval_ms);
    let first = read_device()?;
    let mut previous = first.clone();
    let mut samples = Vec::new();
    let load = std::thread::scope(|scope| -> Result<LoadReport, DiskLabError> {
        let writers = scope.spawn(|| generate_load(config));
        while !writers.is_finished() {
            let due = previous.at + interval;
            let now = Instant::now();
            if now < due {
                // Short naps, so that the end of the load is noticed promptly.
                std::thread::sleep((due - now).min(Duration::from_millis(10)));
                continue;
            }
            let current = read_device()?;
            let sample = previous.sample_until(&current);
            on_sample(&sample);
            samples.push(sample);
            previous = current;
        }
        writers
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;
    let last = read_device()?;
    if last.at - previous.at >= interval / 2 {
        let sample = previous.sample_until(&last);
        on_sample(&sample);
        samples.push(sample);
    }
    let overall = first.sample_until(&last);
    Ok(DiskRun {
        device: device.name,
        samples,
        overall,
        load,
    })
}

/// [`measure_with`] without live output.
pub fn measure(config: &LoadConfig, sample_interval_ms: u64) -> Result<DiskRun, DiskLabError> {
    measure_with(config, sample_interval_ms, |_| {})
}

/// One point of a device's response-time curve, in units of its own service time so that it
/// sits on the same axes as M/M/1 theory and the queue simulation.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePoint {
    /// U = X·S: the throughput achieved times the service time.
    pub utilization: f64,
    /// R / S: the mean response time (from each write's due time) over the service time.
    pub response_in_service_times: f64,
    /// The writers' own report for this point.
    pub load: LoadReport,
}

/// The hockey stick of a real device: first a closed-loop run of one writer measures the service
/// time S as the application sees it (one write in flight, nothing queued); then, for each target
/// utilization U, one writer runs an open loop at λ = U / S with Poisson arrivals — the M/M/1
/// setting — and the point is (X·S, R/S). Uses only the writers' clocks, so it runs without
/// `/proc/diskstats` too.
///
/// On a shared or busy machine the points scatter above theory: CPU contention and sleep overshoot
/// delay writes just as a slower device would.
pub fn response_curve(
    dir: impl Into<PathBuf>,
    utilizations: &[f64],
    duration_ms_each: u64,
) -> Result<(f64, Vec<CurvePoint>), DiskLabError> {
    let closed = LoadConfig {
        file_size_bytes: 16 << 20,
        ..LoadConfig::new(dir, duration_ms_each)
    };
    let baseline = generate_load(&closed)?;
    let service_time_s = baseline.mean_response_time_s;
    if baseline.writes == 0 || service_time_s <= 0.0 {
        return Err(DiskLabError::InvalidConfig {
            parameter: "duration_ms_each",
            value: duration_ms_each.to_string(),
            expected: "long enough for the closed-loop run to complete a write",
        });
    }
    let mut points = Vec::with_capacity(utilizations.len());
    for (index, &utilization) in utilizations.iter().enumerate() {
        if !(utilization > 0.0 && utilization < 1.0) {
            return Err(DiskLabError::InvalidConfig {
                parameter: "utilizations",
                value: utilization.to_string(),
                expected: "target utilizations strictly between 0 and 1",
            });
        }
        let open = LoadConfig {
            rate_per_s: Some(utilization / service_time_s),
            seed: closed.seed + 1 + index as u64,
            ..closed.clone()
        };
        let load = generate_load(&open)?;
        points.push(CurvePoint {
            utilization: load.writes_per_s() * service_time_s,
            response_in_service_times: load.mean_response_time_s / service_time_s,
            load,
        });
    }
    Ok((service_time_s, points))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_measurement_samples_the_device_under_the_directory_or_says_why_not() {
        // Claim: on a Linux disk the run yields samples and a whole-run line for the device
        // under the directory; where there is no such device (a container, tmpfs, another OS)
        // the error explains what to do instead. No assertion on speed.
        let dir = tempfile::tempdir().unwrap();
        let config = LoadConfig {
            file_size_bytes: 64 << 10,
            ..LoadConfig::new(dir.path(), 120)
        };
        match measure(&config, 50) {
            Ok(run) => {
                assert!(!run.samples.is_empty());
                assert!(run.load.writes > 0);
                assert!(run.overall.interval_s > 0.0);
                assert!(run.to_string().contains("Little's Law"));
            }
            Err(
                error @ (DiskLabError::NoBlockDevice { .. }
                | DiskLabError::DiskstatsUnavailable { .. }),
            ) => {
                assert!(
                    error.to_string().contains("instead") || error.to_string().contains("--path")
                );
            }
            Err(other) => panic!("unexpected failure: {other}"),
        }
    }

    #[test]
    fn a_response_curve_has_one_point_per_target_and_refuses_saturation() {
        // Claim: each target utilization yields a measured point in service-time units (no
        // assertion on its value: that is the device's and the machine's business), and a
        // target of 1 or more is refused before any write.
        let dir = tempfile::tempdir().unwrap();
        let (service_time_s, points) = response_curve(dir.path(), &[0.3, 0.6], 40).unwrap();
        assert!(service_time_s > 0.0);
        assert_eq!(points.len(), 2);
        assert!(
            points
                .iter()
                .all(|p| p.response_in_service_times > 0.0 && p.load.writes > 0)
        );
        let error = response_curve(dir.path(), &[1.0], 20)
            .unwrap_err()
            .to_string();
        assert!(error.contains("strictly between 0 and 1"), "{error}");
    }
}
