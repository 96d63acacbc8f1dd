//! A seeded Monte Carlo fleet of disks that fail and are replaced, counting failures day by day —
//! the experiment behind reference lab §2.2, run instead of assumed, to check [`super::failures`].
//!
//! Each disk draws an exponential lifetime of mean MTTF; when it fails, a new disk takes its slot
//! and draws a fresh lifetime. Counting is per disk, so the fleet-level formulas (N/MTTF a day,
//! 1 − (1 − p)^N, MTTF/N) are what the simulation must *reproduce*, not what it is built from.

use super::{MathError, exponential, positive};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetSimulation {
    /// Disks in the fleet (kept constant by replacement).
    pub disks: u64,
    /// Mean time to failure of one disk.
    pub mttf_days: f64,
    /// How many days to watch.
    pub days: u32,
    /// The seed of the one random stream.
    pub seed: u64,
}

/// What the fleet did.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetRun {
    /// Failures counted on each day.
    pub failures_per_day: Vec<u32>,
    /// Mean gap between consecutive failures anywhere in the fleet.
    pub mean_days_between_failures: f64,
}

impl FleetRun {
    /// The mean number of failures a day (formula: N / MTTF).
    pub fn mean_failures_per_day(&self) -> f64 {
        let total: u64 = self.failures_per_day.iter().map(|&f| u64::from(f)).sum();
        total as f64 / self.failures_per_day.len() as f64
    }

    /// The fraction of days with at least one failure (formula: 1 − (1 − p)^N).
    pub fn fraction_of_days_with_a_failure(&self) -> f64 {
        let days_with = self.failures_per_day.iter().filter(|&&f| f > 0).count();
        days_with as f64 / self.failures_per_day.len() as f64
    }
}

/// Runs one simulation.
pub fn simulate_fleet(config: &FleetSimulation) -> Result<FleetRun, MathError> {
    positive("disks", config.disks as f64)?;
    let mttf = positive("mttf_days", config.mttf_days)?;
    let horizon = positive("days", f64::from(config.days))?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut failures_per_day = vec![0u32; config.days as usize];
    let mut failure_times = Vec::new();
    for _slot in 0..config.disks {
        let mut t = exponential(&mut rng, mttf);
        while t < horizon {
            failures_per_day[t as usize] += 1;
            failure_times.push(t);
            t += exponential(&mut rng, mttf);
        }
    }
    failure_times.sort_by(f64::total_cmp);
    let mean_days_between_failures = match (failure_times.first(), failure_times.last()) {
        (Some(first), Some(last)) if failure_times.len() > 1 => {
            (last - first) / (failure_times.len() - 1) as f64
        }
        _ => f64::INFINITY,
    };
    Ok(FleetRun {
        failures_per_day,
        mean_days_between_failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::failures::{
        any_failure_probability, daily_failure_probability, expected_failures, fleet_mtbf_days,
    };

    #[test]
    fn a_simulated_fleet_fails_as_often_as_the_formulas_say() {
        // Claim: for fleets of 100, 1000 and 10 000 disks with a 3-year MTTF, counted failures a
        // day, days with a failure and the gap between failures match the closed forms.
        let mttf = 1095.0;
        let p = daily_failure_probability(mttf).unwrap();
        for (disks, days, seed) in [
            (100u64, 20_000u32, 1u64),
            (1_000, 5_000, 2),
            (10_000, 2_000, 3),
        ] {
            let run = simulate_fleet(&FleetSimulation {
                disks,
                mttf_days: mttf,
                days,
                seed,
            })
            .unwrap();
            let expected = expected_failures(disks, 1.0, mttf).unwrap();
            let any = any_failure_probability(disks, p).unwrap();
            let gap = fleet_mtbf_days(disks, mttf).unwrap();
            assert!(
                (run.mean_failures_per_day() - expected).abs() / expected < 0.05,
                "{disks}: rate"
            );
            assert!(
                (run.fraction_of_days_with_a_failure() - any).abs() < 0.02,
                "{disks}: any"
            );
            assert!(
                (run.mean_days_between_failures - gap).abs() / gap < 0.05,
                "{disks}: gap"
            );
        }
    }

    #[test]
    fn one_seed_replays_the_same_fleet() {
        // Claim: the seed is the only source of randomness.
        let config = FleetSimulation {
            disks: 500,
            mttf_days: 1095.0,
            days: 100,
            seed: 9,
        };
        assert_eq!(simulate_fleet(&config), simulate_fleet(&config));
    }

    #[test]
    fn an_empty_fleet_or_a_zero_mttf_is_refused() {
        // Claim: nothing to count, or disks that die instantly, are configuration errors.
        let mut config = FleetSimulation {
            disks: 0,
            mttf_days: 1095.0,
            days: 10,
            seed: 1,
        };
        assert_eq!(simulate_fleet(&config).unwrap_err().parameter, "disks");
        config.disks = 10;
        config.mttf_days = 0.0;
        assert_eq!(simulate_fleet(&config).unwrap_err().parameter, "mttf_days");
        config.mttf_days = 1.0;
        config.days = 0;
        assert_eq!(simulate_fleet(&config).unwrap_err().parameter, "days");
    }
}
