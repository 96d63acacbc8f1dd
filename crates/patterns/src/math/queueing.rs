//! Operational laws and the M/M/1 queue: how busy a device is, how fast it can go, and why its
//! latency explodes as it approaches 100 % busy (reference lab §2.1, Q2–Q6).
//!
//! The utilization law U = X·S holds for any device measured over an interval (Denning & Buzen,
//! "The Operational Analysis of Queueing Network Models", ACM Computing Surveys 10(3), 1978). The
//! M/M/1 formulas add assumptions — Poisson arrivals, exponential service, one server, FIFO — and
//! in exchange predict the *shape* of latency against load: R = S / (1 − U), the hockey stick.
//! [`super::queue_simulation`] checks that shape by simulation, and the disk lab on a real device.

use super::{MathError, non_negative, positive, stable_utilization, target_utilization};

/// U = X·S (utilization law): the fraction of time a device is busy when it completes
/// `throughput_per_s` requests that each take `service_time_s`. A result above 1 means the device
/// cannot keep up with that throughput.
pub fn utilization(throughput_per_s: f64, service_time_s: f64) -> Result<f64, MathError> {
    Ok(non_negative("throughput_per_s", throughput_per_s)?
        * non_negative("service_time_s", service_time_s)?)
}

/// S = U / X: the service time of one request, from the measured utilization (`%util / 100`) and
/// throughput (`r/s + w/s`) — the device's own time per request, without queueing.
///
/// Lab §2.1 Q2: 39 % busy at 6836 writes/s ⇒ S = 0.39 / 6836 ≈ 57 µs.
pub fn service_time_s(utilization: f64, throughput_per_s: f64) -> Result<f64, MathError> {
    Ok(target_utilization("utilization", utilization)?
        / positive("throughput_per_s", throughput_per_s)?)
}

/// X_max = 1 / S: the throughput at which the device is busy all the time (U = 1). Nothing runs
/// faster; in practice nothing should run this close (see [`mm1_response_time_s`]).
///
/// Lab §2.1 Q3: S = 0.057 ms ⇒ ≈ 17 544 IOPS.
pub fn max_throughput_per_s(service_time_s: f64) -> Result<f64, MathError> {
    Ok(1.0 / positive("service_time_s", service_time_s)?)
}

/// X = U_target / S: the throughput that keeps the device at `utilization_target`, where the
/// queueing delay is still a small multiple of the service time.
///
/// Lab §2.1 Q4: at 70 % and S = 0.057 ms ⇒ ≈ 12 280 IOPS.
pub fn safe_throughput_per_s(
    service_time_s: f64,
    utilization_target: f64,
) -> Result<f64, MathError> {
    Ok(
        target_utilization("utilization_target", utilization_target)?
            / positive("service_time_s", service_time_s)?,
    )
}

/// Wq = S·U / (1 − U): the mean time a request waits in the queue of an M/M/1 device before its
/// service starts.
///
/// Lab §2.1 Q5: at U = 0.95 and S = 0.057 ms, Wq = 1.08 ms — nineteen service times of waiting.
pub fn mm1_queue_wait_s(service_time_s: f64, utilization: f64) -> Result<f64, MathError> {
    let u = stable_utilization("utilization", utilization)?;
    Ok(positive("service_time_s", service_time_s)? * u / (1.0 - u))
}

/// R = S / (1 − U) = S + Wq: the mean response time of an M/M/1 device — the hockey stick: it
/// doubles at 50 %, is 3.3× at 70 %, 20× at 95 %, and has no bound as U → 1.
///
/// Lab §2.1 Q5: at U = 0.95 and S = 0.057 ms, R = 1.14 ms, 8× the 0.14 ms measured at 39 %.
pub fn mm1_response_time_s(service_time_s: f64, utilization: f64) -> Result<f64, MathError> {
    let u = stable_utilization("utilization", utilization)?;
    Ok(positive("service_time_s", service_time_s)? / (1.0 - u))
}

/// L = U / (1 − U): the mean number of requests in an M/M/1 system, waiting or in service — what
/// iostat's `aqu-sz` would show. Equals λ·R (Little's Law with λ = U/S).
pub fn mm1_queue_length(utilization: f64) -> Result<f64, MathError> {
    let u = stable_utilization("utilization", utilization)?;
    Ok(u / (1.0 - u))
}

/// ⌈load / per-device throughput⌉: how many devices carry `load_per_s` when each may run at
/// `throughput_per_device_per_s` (usually a [`safe_throughput_per_s`], not the maximum).
///
/// Lab §2.1 Q6: 30 000 IOPS at ≈ 12 280 safe IOPS per disk ⇒ 2.44 ⇒ 3 disks.
pub fn devices_needed(load_per_s: f64, throughput_per_device_per_s: f64) -> Result<u64, MathError> {
    let ratio = non_negative("load_per_s", load_per_s)?
        / positive("throughput_per_device_per_s", throughput_per_device_per_s)?;
    // A ratio like 3.0000000000000004 is 3 devices, not 4: forgive float rounding below 1e-9.
    Ok((ratio - 1e-9).ceil().max(0.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference lab's service time, rounded as its answers are (0.057 ms).
    const LAB_SERVICE_TIME_S: f64 = 0.000_057;

    fn close(actual: f64, expected: f64, relative: f64) -> bool {
        (actual - expected).abs() <= relative * expected.abs()
    }

    #[test]
    fn reference_lab_capacity_questions_have_the_reference_answers() {
        // Claim: the laws reproduce the worked answers of reference lab §2.1, Q2–Q5.
        let cases: [(&str, f64, f64); 6] = [
            (
                "Q2 S = 0.39 / 6836",
                service_time_s(0.39, 6836.0).unwrap(),
                0.000_057_05,
            ),
            (
                "Q3 X_max = 1 / S",
                max_throughput_per_s(LAB_SERVICE_TIME_S).unwrap(),
                17_544.0,
            ),
            // The unrounded chain gives 6836 / 0.39 = 17 528: the reference rounds S first.
            (
                "Q3 unrounded",
                max_throughput_per_s(0.39 / 6836.0).unwrap(),
                17_528.2,
            ),
            (
                "Q4 70 % of X_max",
                safe_throughput_per_s(LAB_SERVICE_TIME_S, 0.7).unwrap(),
                12_280.7,
            ),
            (
                "Q5 Wq at 95 %",
                mm1_queue_wait_s(LAB_SERVICE_TIME_S, 0.95).unwrap(),
                0.001_083,
            ),
            (
                "Q5 R at 95 %",
                mm1_response_time_s(LAB_SERVICE_TIME_S, 0.95).unwrap(),
                0.001_14,
            ),
        ];
        for (question, actual, expected) in cases {
            assert!(
                close(actual, expected, 1e-3),
                "{question}: {actual} vs {expected}"
            );
        }
    }

    #[test]
    fn devices_needed_rounds_up_and_forgives_float_noise() {
        // Claim: a fractional device is a whole device (Q6: 30 000 / 12 280 = 2.44 ⇒ 3), and an
        // exact multiple is not rounded up by float noise.
        let cases: [(f64, f64, u64); 5] = [
            (30_000.0, 12_280.0, 3), // lab Q6
            (30_000.0, 10_000.0, 3), // exact multiple
            (0.3, 0.1, 3),           // 2.9999999999999996 in floats
            (0.7, 0.1, 7),           // 6.999999999999999 in floats
            (0.0, 100.0, 0),         // no load, no devices
        ];
        for (load, per_device, devices) in cases {
            assert_eq!(
                devices_needed(load, per_device).unwrap(),
                devices,
                "{load} / {per_device}"
            );
        }
    }

    #[test]
    fn mm1_obeys_littles_law_and_the_utilization_law() {
        // Claim: L = U/(1−U) equals λ·R with λ = U/S, and R = S + Wq, at every stable utilization.
        for u in [0.1, 0.39, 0.5, 0.7, 0.9, 0.99] {
            let s = LAB_SERVICE_TIME_S;
            let lambda = u / s;
            let r = mm1_response_time_s(s, u).unwrap();
            assert!(
                close(mm1_queue_length(u).unwrap(), lambda * r, 1e-12),
                "U = {u}"
            );
            assert!(
                close(r, s + mm1_queue_wait_s(s, u).unwrap(), 1e-12),
                "U = {u}"
            );
            assert!(close(utilization(lambda, s).unwrap(), u, 1e-12));
        }
    }

    #[test]
    fn saturated_and_nonsensical_inputs_are_refused_with_what_was_expected() {
        // Claim: U ≥ 1 has no M/M/1 answer, and zero or negative rates and times are errors that
        // say what the law needs — never inf, NaN or a negative time.
        let saturated = mm1_response_time_s(0.001, 1.0).unwrap_err();
        assert_eq!(saturated.parameter, "utilization");
        assert!(
            saturated.to_string().contains("grows without bound"),
            "{saturated}"
        );
        assert!(mm1_queue_wait_s(0.001, 1.5).is_err());
        assert!(mm1_queue_length(-0.1).is_err());
        assert_eq!(
            mm1_response_time_s(0.0, 0.5).unwrap_err().parameter,
            "service_time_s"
        );
        assert_eq!(
            max_throughput_per_s(-1.0).unwrap_err().parameter,
            "service_time_s"
        );
        assert_eq!(
            service_time_s(0.4, 0.0).unwrap_err().parameter,
            "throughput_per_s"
        );
        assert_eq!(
            service_time_s(39.0, 10.0).unwrap_err().parameter,
            "utilization"
        );
        assert_eq!(
            safe_throughput_per_s(0.001, 0.0).unwrap_err().parameter,
            "utilization_target"
        );
        assert_eq!(
            devices_needed(1.0, 0.0).unwrap_err().parameter,
            "throughput_per_device_per_s"
        );
        assert_eq!(
            utilization(-5.0, 0.001).unwrap_err().parameter,
            "throughput_per_s"
        );
    }
}
