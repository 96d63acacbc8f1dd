//! The extended statistics of `iostat -x`, computed from two readings of `/proc/diskstats`
//! exactly as sysstat does (`iostat.c` `write_ext_stat`, `rd_stats.c` `compute_ext_disk_stats`),
//! and the Little's Law check of reference lab §2.1 Q1 on them.
//!
//! | column | formula over the interval Δt | meaning |
//! |---|---|---|
//! | `r/s`, `w/s` | Δcompleted / Δt | throughput X (λ in steady state) |
//! | `r_await`, `w_await` | Δ(time of requests) / Δcompleted, 0 if none completed | response time W, ms |
//! | `aqu-sz` | Δweighted_io_ms / Δt / 1000 | mean requests in flight, L |
//! | `%util` | Δio_ms / Δt / 10 | busy fraction U, in % |
//!
//! A counter that went backwards (a wrap, a device removed and added) counts as no change, as in
//! sysstat. Since Linux 5.7 the kernel computes `weighted_io_ms` as the sum of the times
//! of the requests it completed (`block/genhd.c`, `diskstats_show`) — the area argument that
//! proves Little's Law — so the check holds
//! up to rounding and to requests that straddle the interval's edges; on older kernels it
//! integrated the in-flight count over time, and the check was an independent measurement.

use super::diskstats::DiskCounters;
use crate::math::littles_law;

/// One line of `iostat -x`: a device over one interval.
#[derive(Clone, Debug, PartialEq)]
pub struct IostatSample {
    pub device: String,
    pub interval_s: f64,
    pub reads_per_s: f64,
    pub writes_per_s: f64,
    pub discards_per_s: f64,
    pub flushes_per_s: f64,
    pub read_kb_per_s: f64,
    pub write_kb_per_s: f64,
    /// Mean time of a completed read, queueing included (`r_await`).
    pub read_await_ms: f64,
    /// Mean time of a completed write, queueing included (`w_await`).
    pub write_await_ms: f64,
    /// Mean time of a completed flush (`f_await`).
    pub flush_await_ms: f64,
    /// Mean number of requests in flight (`aqu-sz`).
    pub queue_size: f64,
    /// Percent of the interval with at least one request in flight (`%util`).
    pub utilization_percent: f64,
    /// Little's Law on this interval, over every kind of request.
    pub little: LittleCheck,
}

/// L measured against λ·W predicted, over one interval.
#[derive(Clone, Debug, PartialEq)]
pub struct LittleCheck {
    /// L: `aqu-sz`.
    pub queue_length: f64,
    /// λ: completions per second of reads, writes, discards and flushes.
    pub arrival_rate_per_s: f64,
    /// W: mean time of those completions, in seconds.
    pub response_time_s: f64,
    /// λ·W.
    pub predicted_queue_length: f64,
}

impl LittleCheck {
    /// |L − λW| / max(L, λW): 0 when the law holds exactly; 0 for an idle interval.
    pub fn relative_error(&self) -> f64 {
        let scale = self.queue_length.max(self.predicted_queue_length);
        if scale == 0.0 {
            0.0
        } else {
            (self.queue_length - self.predicted_queue_length).abs() / scale
        }
    }
}

/// Growth of a counter between two readings; a counter that went backwards counts as 0, as in
/// sysstat.
fn growth(previous: u64, current: u64) -> f64 {
    current.saturating_sub(previous) as f64
}

/// Time per completion in ms, 0 when nothing completed (sysstat prints 0.00, not NaN).
fn await_ms(time_ms: f64, completed: f64) -> f64 {
    if completed > 0.0 {
        time_ms / completed
    } else {
        0.0
    }
}

impl IostatSample {
    /// The `iostat -x` line for the interval of `interval_s` seconds between two readings of the
    /// same device.
    pub fn between(
        previous: &DiskCounters,
        current: &DiskCounters,
        interval_s: f64,
    ) -> IostatSample {
        let per_s = |delta: f64| {
            if interval_s > 0.0 {
                delta / interval_s
            } else {
                0.0
            }
        };
        let reads = growth(previous.reads_completed, current.reads_completed);
        let writes = growth(previous.writes_completed, current.writes_completed);
        let discards = growth(previous.discards_completed, current.discards_completed);
        let flushes = growth(previous.flushes_completed, current.flushes_completed);
        let read_ms = growth(previous.read_ms, current.read_ms);
        let write_ms = growth(previous.write_ms, current.write_ms);
        let discard_ms = growth(previous.discard_ms, current.discard_ms);
        let flush_ms = growth(previous.flush_ms, current.flush_ms);
        let queue_size = per_s(growth(previous.weighted_io_ms, current.weighted_io_ms)) / 1000.0;

        let completed = reads + writes + discards + flushes;
        let arrival_rate_per_s = per_s(completed);
        let response_time_s =
            await_ms(read_ms + write_ms + discard_ms + flush_ms, completed) / 1000.0;
        let little = LittleCheck {
            queue_length: queue_size,
            arrival_rate_per_s,
            response_time_s,
            predicted_queue_length: littles_law::queue_length(arrival_rate_per_s, response_time_s)
                .unwrap_or(0.0),
        };
        IostatSample {
            device: current.name.clone(),
            interval_s,
            reads_per_s: per_s(reads),
            writes_per_s: per_s(writes),
            discards_per_s: per_s(discards),
            flushes_per_s: per_s(flushes),
            // Sectors are 512 bytes whatever the device's block size: two per KiB.
            read_kb_per_s: per_s(growth(previous.sectors_read, current.sectors_read)) / 2.0,
            write_kb_per_s: per_s(growth(previous.sectors_written, current.sectors_written)) / 2.0,
            read_await_ms: await_ms(read_ms, reads),
            write_await_ms: await_ms(write_ms, writes),
            flush_await_ms: await_ms(flush_ms, flushes),
            queue_size,
            utilization_percent: per_s(growth(previous.io_ms, current.io_ms)) / 10.0,
            little,
        }
    }

    /// S = U / X: the device's service time per request in seconds (lab §2.1 Q2), or `None`
    /// when nothing completed.
    pub fn service_time_s(&self) -> Option<f64> {
        let completed_per_s = self.little.arrival_rate_per_s;
        (completed_per_s > 0.0).then(|| self.utilization_percent / 100.0 / completed_per_s)
    }

    /// The header line matching [`IostatSample`]'s `Display`.
    pub const HEADER: &'static str = "Device          r/s       w/s     f/s     wkB/s  r_await  w_await  aqu-sz  %util |      L     λ·W";
}

impl std::fmt::Display for IostatSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<10} {:>8.2} {:>9.2} {:>7.2} {:>9.1} {:>8.3} {:>8.3} {:>7.2} {:>6.1} | {:>6.3} {:>7.3}",
            self.device,
            self.reads_per_s,
            self.writes_per_s,
            self.flushes_per_s,
            self.write_kb_per_s,
            self.read_await_ms,
            self.write_await_ms,
            self.queue_size,
            self.utilization_percent,
            self.little.queue_length,
            self.little.predicted_queue_length,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::diskstats::parse_diskstats;

    /// Two readings of one device, two seconds apart (20-field kernel).
    /// Between them: 20 reads taking 60 ms in all, 13 700 writes taking 3 836 ms in all,
    /// 4 flushes taking 8 ms, 109 600 sectors written, 780 ms busy, 3 904 ms weighted.
    const BEFORE: &str =
        " 254 0 vda 1000 0 8000 500 100000 10 800000 20000 0 50000 70000 0 0 0 0 50 100\n";
    const AFTER: &str =
        " 254 0 vda 1020 0 8160 560 113700 10 909600 23836 1 50780 73904 0 0 0 0 54 108\n";

    #[test]
    fn two_readings_give_the_hand_computed_iostat_line() {
        // Claim: each column follows sysstat's formula (values computed by hand from the deltas).
        let before = &parse_diskstats(BEFORE).unwrap()[0];
        let after = &parse_diskstats(AFTER).unwrap()[0];
        let s = IostatSample::between(before, after, 2.0);
        let cases: [(&str, f64, f64); 10] = [
            ("r/s = 20 / 2", s.reads_per_s, 10.0),
            ("w/s = 13 700 / 2", s.writes_per_s, 6850.0),
            ("f/s = 4 / 2", s.flushes_per_s, 2.0),
            (
                "wkB/s = 109 600 sectors / 2 / 2",
                s.write_kb_per_s,
                27_400.0,
            ),
            ("r_await = 60 / 20", s.read_await_ms, 3.0),
            ("w_await = 3836 / 13 700", s.write_await_ms, 0.28),
            ("f_await = 8 / 4", s.flush_await_ms, 2.0),
            ("aqu-sz = 3904 / 2 / 1000", s.queue_size, 1.952),
            ("%util = 780 / 2 / 10", s.utilization_percent, 39.0),
            (
                "λ = (20 + 13 700 + 4) / 2",
                s.little.arrival_rate_per_s,
                6862.0,
            ),
        ];
        for (column, actual, expected) in cases {
            assert!((actual - expected).abs() < 1e-9, "{column}: {actual}");
        }
        // W = (60 + 3836 + 8) ms / 13 724 requests; λ·W = 3904 ms / 2 s = 1.952 = aqu-sz.
        assert!((s.little.predicted_queue_length - 1.952).abs() < 1e-9);
        assert!(s.little.relative_error() < 1e-9);
        // S = U / X = 0.39 / 6862 per second.
        assert!((s.service_time_s().unwrap() - 0.39 / 6862.0).abs() < 1e-12);
    }

    #[test]
    fn an_idle_interval_and_a_counter_that_went_backwards_read_as_zero_not_nan() {
        // Claim: no completions ⇒ 0 awaits (as sysstat prints), and a wrapped or reset counter
        // contributes nothing rather than a huge or negative rate.
        let before = &parse_diskstats(AFTER).unwrap()[0];
        let idle = IostatSample::between(before, before, 1.0);
        assert_eq!(
            (idle.writes_per_s, idle.write_await_ms, idle.queue_size),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(
            (idle.little.relative_error(), idle.service_time_s()),
            (0.0, None)
        );
        let after = &parse_diskstats(BEFORE).unwrap()[0];
        let reset = IostatSample::between(before, after, 1.0);
        assert_eq!((reset.writes_per_s, reset.utilization_percent), (0.0, 0.0));
    }
}
