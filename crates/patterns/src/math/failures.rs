//! Failure math: why, at scale, something is always broken (reference lab §2.2), and how much a
//! quorum of replicas buys back.
//!
//! A disk with mean time to failure MTTF is modelled with an exponential lifetime (constant hazard
//! 1/MTTF, the flat bottom of the bathtub curve; Schroeder & Gibson, "Disk failures in the real
//! world", FAST 2007, measure real fleets against it). One disk almost never fails on a given day;
//! ten thousand of them almost always have one failure that day. Replication answers this: a write
//! acknowledged by a majority survives as long as a majority is up, and [`quorum_availability`]
//! says how often that is.

use super::{MathError, positive, probability};

/// p = 1 − e^(−t / MTTF): the probability that one device fails within `period_days`.
///
/// The reference's `failure_math.py` uses p = t / MTTF, the first-order term of this series; they
/// agree while the period is short against the MTTF and part ways when it is not (t / MTTF passes 1
/// for a period longer than the MTTF, a probability above 1).
pub fn failure_probability(period_days: f64, mttf_days: f64) -> Result<f64, MathError> {
    let t = positive("period_days", period_days)?;
    Ok(1.0 - (-t / positive("mttf_days", mttf_days)?).exp())
}

/// The probability that one device fails on a given day.
///
/// Lab §2.2: MTTF 3 years = 1095 days ⇒ 0.0913 % a day.
pub fn daily_failure_probability(mttf_days: f64) -> Result<f64, MathError> {
    failure_probability(1.0, mttf_days)
}

/// 1 − (1 − p)^N: the probability that at least one of `fleet_size` independent devices, each
/// failing with probability `failure_probability` in a period, fails in that period.
///
/// Lab §2.2: 10 000 disks at 0.0913 % a day ⇒ 99.99 % of days see a failure.
pub fn any_failure_probability(
    fleet_size: u64,
    failure_probability: f64,
) -> Result<f64, MathError> {
    let p = probability("failure_probability", failure_probability)?;
    // (1 − p)^N through logarithms: exact for the tiny p and huge N of fleets, where powi loses digits.
    Ok(-((fleet_size as f64) * (-p).ln_1p()).exp_m1())
}

/// N · t / MTTF: the mean number of failures in a fleet of `fleet_size` devices over `period_days`,
/// each failed device being replaced (so the fleet size stays N).
///
/// Lab §2.2: 10 000 disks, MTTF 1095 days ⇒ ≈ 9.13 failures a day.
pub fn expected_failures(
    fleet_size: u64,
    period_days: f64,
    mttf_days: f64,
) -> Result<f64, MathError> {
    Ok(fleet_size as f64 * positive("period_days", period_days)?
        / positive("mttf_days", mttf_days)?)
}

/// MTTF / N: the mean time between two failures anywhere in a fleet of `fleet_size` devices.
///
/// Lab §2.2: 10 000 disks, MTTF 1095 days ⇒ 0.1095 days ≈ 2.6 hours.
pub fn fleet_mtbf_days(fleet_size: u64, mttf_days: f64) -> Result<f64, MathError> {
    let mttf = positive("mttf_days", mttf_days)?;
    Ok(mttf / positive("fleet_size", fleet_size as f64)?)
}

/// Σ_{k=q}^{n} C(n, k) a^k (1 − a)^(n−k): the probability that at least `quorum` of `replicas`
/// independent replicas, each up with probability `replica_availability`, are up — i.e. that a
/// quorum system can still answer (the *Quorum* pattern).
pub fn quorum_availability(
    replicas: u32,
    quorum: u32,
    replica_availability: f64,
) -> Result<f64, MathError> {
    let a = probability("replica_availability", replica_availability)?;
    positive("replicas", f64::from(replicas))?;
    if quorum == 0 || quorum > replicas {
        return Err(MathError {
            parameter: "quorum",
            value: f64::from(quorum),
            expected: "a quorum from 1 up to the number of replicas",
        });
    }
    let n = replicas;
    let mut binomial = 1.0; // C(n, k), built up as k grows
    let mut total = 0.0;
    for k in 0..=n {
        if k > 0 {
            binomial = binomial * f64::from(n - k + 1) / f64::from(k);
        }
        if k >= quorum {
            total += binomial * a.powi(k as i32) * (1.0 - a).powi((n - k) as i32);
        }
    }
    Ok(total.min(1.0))
}

/// The smallest majority of `cluster_size` nodes: any two majorities share a node, which is what
/// every quorum-based protocol of the workshop relies on (the *Quorum* pattern).
pub fn majority(cluster_size: usize) -> usize {
    cluster_size / 2 + 1
}

/// [`quorum_availability`] with a majority quorum ([`majority`]): how available a
/// Paxos or Raft group of `replicas` is.
pub fn majority_availability(replicas: u32, replica_availability: f64) -> Result<f64, MathError> {
    quorum_availability(
        replicas,
        majority(replicas as usize) as u32,
        replica_availability,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_sizes() {
        // n: 1 2 3 4 5 6 7 → majority 1 2 2 3 3 4 4. Two majorities of 4 must share a node: 3 + 3 > 4.
        let table = [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)];
        for (n, m) in table {
            assert_eq!(majority(n), m, "majority of {n}");
        }
    }

    /// The reference lab's disk: MTTF 3 years.
    const LAB_MTTF_DAYS: f64 = 3.0 * 365.0;

    #[test]
    fn reference_lab_fleet_numbers_have_the_reference_answers() {
        // Claim: the formulas reproduce reference lab §2.2: 0.0913 % a day per disk; for 10 000
        // disks 99.99 % of days see a failure, ≈ 9.13 a day, one every ≈ 2.6 hours.
        let p = daily_failure_probability(LAB_MTTF_DAYS).unwrap();
        let cases: [(&str, f64, f64, f64); 7] = [
            ("p per day", p, 0.000_913, 1e-6),
            ("reference's p = 1/MTTF", 1.0 / LAB_MTTF_DAYS, p, 1e-6),
            (
                "P(any of 10 000)",
                any_failure_probability(10_000, p).unwrap(),
                0.999_892,
                1e-6,
            ),
            (
                "failures a day",
                expected_failures(10_000, 1.0, LAB_MTTF_DAYS).unwrap(),
                9.13,
                0.01,
            ),
            (
                "hours between",
                fleet_mtbf_days(10_000, LAB_MTTF_DAYS).unwrap() * 24.0,
                2.63,
                0.01,
            ),
            // the README's extra points: 100 disks ⇒ 8.7 %, 1000 ⇒ 60 % of days
            (
                "P(any of 100)",
                any_failure_probability(100, p).unwrap(),
                0.087,
                0.001,
            ),
            (
                "P(any of 1000)",
                any_failure_probability(1_000, p).unwrap(),
                0.599,
                0.001,
            ),
        ];
        for (what, actual, expected, tolerance) in cases {
            assert!(
                (actual - expected).abs() <= tolerance,
                "{what}: {actual} vs {expected}"
            );
        }
    }

    #[test]
    fn quorum_availability_matches_hand_computed_binomials() {
        // Claim: the binomial sum gives the hand-computed availability of each quorum system.
        let cases: [(u32, u32, f64, f64); 6] = [
            (1, 1, 0.99, 0.99),      // one copy: as available as the disk
            (3, 2, 0.99, 0.999_702), // 3·a²(1−a) + a³
            (5, 3, 0.9, 0.991_44),   // 10·.9³·.1² + 5·.9⁴·.1 + .9⁵
            (3, 3, 0.99, 0.970_299), // write-all is *less* available than one copy
            (3, 1, 0.9, 0.999),      // read-one: 1 − 0.1³
            (2, 2, 0.0, 0.0),        // nothing is ever up
        ];
        for (n, q, a, expected) in cases {
            let actual = quorum_availability(n, q, a).unwrap();
            assert!(
                (actual - expected).abs() < 1e-9,
                "{q} of {n} at {a}: {actual}"
            );
        }
        assert!((majority_availability(3, 0.99).unwrap() - 0.999_702).abs() < 1e-9);
    }

    #[test]
    fn bad_failure_inputs_are_refused_with_what_was_expected() {
        // Claim: zero or negative MTTFs and periods, probabilities outside [0, 1] and impossible
        // quorums are errors naming the parameter, not NaN.
        assert_eq!(
            daily_failure_probability(0.0).unwrap_err().parameter,
            "mttf_days"
        );
        assert_eq!(
            failure_probability(-1.0, 10.0).unwrap_err().parameter,
            "period_days"
        );
        let p = any_failure_probability(10, 1.5).unwrap_err();
        assert!(p.to_string().contains("between 0 and 1"), "{p}");
        assert_eq!(
            fleet_mtbf_days(0, 1095.0).unwrap_err().parameter,
            "fleet_size"
        );
        assert_eq!(
            quorum_availability(3, 4, 0.9).unwrap_err().parameter,
            "quorum"
        );
        assert_eq!(
            quorum_availability(3, 0, 0.9).unwrap_err().parameter,
            "quorum"
        );
        assert_eq!(
            majority_availability(0, 0.9).unwrap_err().parameter,
            "replicas"
        );
        assert_eq!(
            quorum_availability(3, 2, f64::NAN).unwrap_err().parameter,
            "replica_availability"
        );
    }
}
