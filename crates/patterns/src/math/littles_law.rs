//! Little's Law, L = λ·W: in any stable system, the mean number of requests inside equals the rate
//! at which they arrive times the mean time each one spends inside (J. D. C. Little, "A Proof for
//! the Queuing Formula L = λW", Operations Research 9(3), 1961).
//!
//! It needs no assumption about arrival or service distributions, which is why it can check an
//! `iostat` line (reference lab §2.1, Q1): `aqu-sz` is L, `r/s + w/s` is λ and `await` is W. Know
//! any two and the third follows; one function per unknown.

use super::{MathError, non_negative, positive};

/// L = λ·W: the mean number of requests in the system (queued or in service) — `aqu-sz` in iostat.
///
/// Lab §2.1 Q1: 6836 writes/s × 0.14 ms = 0.957, which `iostat` printed as `aqu-sz 0.96`.
///
/// ```
/// let l = patterns::math::littles_law::queue_length(6836.0, 0.000_14).unwrap();
/// assert!((l - 0.957).abs() < 0.001);
/// ```
pub fn queue_length(arrival_rate_per_s: f64, response_time_s: f64) -> Result<f64, MathError> {
    Ok(non_negative("arrival_rate_per_s", arrival_rate_per_s)?
        * non_negative("response_time_s", response_time_s)?)
}

/// λ = L / W: the throughput a system sustains with `queue_length` requests inside, each staying
/// `response_time_s` (e.g. N closed-loop clients that each wait W get at most N / W per second).
pub fn arrival_rate_per_s(queue_length: f64, response_time_s: f64) -> Result<f64, MathError> {
    Ok(non_negative("queue_length", queue_length)? / positive("response_time_s", response_time_s)?)
}

/// W = L / λ: the mean time a request spends inside, from the queue length and the arrival rate
/// (how long a request waits when the queue holds L at rate λ).
pub fn response_time_s(queue_length: f64, arrival_rate_per_s: f64) -> Result<f64, MathError> {
    Ok(non_negative("queue_length", queue_length)?
        / positive("arrival_rate_per_s", arrival_rate_per_s)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unknown_is_recovered_from_the_other_two() {
        // Claim: the three forms are one law — solving for any unknown gives back the value the
        // other two were computed from (the reference's iostat line, then a round trip).
        let cases: [(f64, f64, f64); 3] = [
            // (λ per s, W s, L) — lab §2.1 Q1: 6836 w/s, 0.14 ms ⇒ 0.957 ≈ aqu-sz 0.96
            (6836.0, 0.000_14, 0.957_04),
            // a web tier: 200 requests/s staying 50 ms keeps 10 in flight
            (200.0, 0.05, 10.0),
            // nothing arrives, nothing queues
            (0.0, 0.01, 0.0),
        ];
        for (lambda, w, l) in cases {
            assert!(
                (queue_length(lambda, w).unwrap() - l).abs() < 1e-6,
                "L for {lambda} {w}"
            );
            if l > 0.0 {
                assert!((arrival_rate_per_s(l, w).unwrap() - lambda).abs() < 1e-6);
                assert!((response_time_s(l, lambda).unwrap() - w).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn negative_and_zero_divisors_are_refused_with_the_parameter_named() {
        // Claim: a negative rate or a zero time is an error that names the parameter, never NaN or inf.
        let err = queue_length(-1.0, 0.1).unwrap_err();
        assert_eq!(err.parameter, "arrival_rate_per_s");
        assert!(err.to_string().contains("at least 0"), "{err}");
        assert_eq!(
            arrival_rate_per_s(1.0, 0.0).unwrap_err().parameter,
            "response_time_s"
        );
        assert_eq!(
            response_time_s(1.0, 0.0).unwrap_err().parameter,
            "arrival_rate_per_s"
        );
        assert_eq!(
            response_time_s(f64::NAN, 1.0).unwrap_err().parameter,
            "queue_length"
        );
    }
}
