//! A seeded discrete-event simulation of one M/M/1 server: Poisson arrivals, exponential service,
//! FIFO. It measures what [`super::queueing`] predicts, so a notebook can draw theory, simulation
//! and a real disk on one hockey-stick chart.
//!
//! The queue length is measured as the time-average of the number in the system (the area under
//! N(t) divided by the window), independently of the response times, so the simulation also checks
//! Little's Law rather than assuming it. The first tenth of the customers warm the queue up from
//! empty and are not measured. One seed gives the same run, to the last bit.

use super::{MathError, exponential, positive, stable_utilization};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// What to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSimulation {
    /// Mean service time S of one request.
    pub service_time_s: f64,
    /// Offered load U = λ·S; arrivals come at λ = U / S.
    pub utilization: f64,
    /// Customers measured after the warm-up.
    pub customers: u64,
    /// The seed of the one random stream (arrivals and services).
    pub seed: u64,
}

/// What one simulation measured.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueRun {
    /// The offered utilization the run was configured with.
    pub utilization: f64,
    /// Mean time from arrival to departure (R).
    pub mean_response_time_s: f64,
    /// Mean time from arrival to the start of service (Wq).
    pub mean_queue_wait_s: f64,
    /// Time-average number of customers in the system (L), from the area under N(t).
    pub mean_queue_length: f64,
    /// Departures per second over the measured window (λ in steady state).
    pub throughput_per_s: f64,
    /// Fraction of the window the server was busy (measured U).
    pub busy_fraction: f64,
    /// Customers whose response time was measured.
    pub customers: u64,
}

/// Runs one simulation.
pub fn simulate_mm1(config: &QueueSimulation) -> Result<QueueRun, MathError> {
    let service_mean = positive("service_time_s", config.service_time_s)?;
    let u = stable_utilization("utilization", positive("utilization", config.utilization)?)?;
    positive("customers", config.customers as f64)?;
    let arrival_mean = service_mean / u;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);

    let warmup = config.customers / 10;
    let total = warmup + config.customers;
    // Arrival times of the customers in the system; the front one is in service.
    let mut in_system: VecDeque<f64> = VecDeque::new();
    let mut now = 0.0;
    let mut next_arrival = exponential(&mut rng, arrival_mean);
    let mut next_departure = f64::INFINITY;
    let mut service_start = 0.0;
    let mut departed = 0u64;
    let mut window_start = (warmup == 0).then_some(0.0);
    let (mut area, mut busy, mut response_sum, mut wait_sum, mut measured) =
        (0.0, 0.0, 0.0, 0.0, 0u64);

    while departed < total {
        let t = next_arrival.min(next_departure);
        if window_start.is_some() {
            area += in_system.len() as f64 * (t - now);
            if !in_system.is_empty() {
                busy += t - now;
            }
        }
        now = t;
        if next_arrival <= next_departure {
            in_system.push_back(now);
            if in_system.len() == 1 {
                service_start = now;
                next_departure = now + exponential(&mut rng, service_mean);
            }
            next_arrival = now + exponential(&mut rng, arrival_mean);
            continue;
        }
        let arrived = in_system
            .pop_front()
            .expect("a departure needs a customer in service");
        departed += 1;
        if window_start.is_some() {
            response_sum += now - arrived;
            wait_sum += service_start - arrived;
            measured += 1;
        } else if departed == warmup {
            window_start = Some(now);
        }
        next_departure = if in_system.is_empty() {
            f64::INFINITY
        } else {
            service_start = now;
            now + exponential(&mut rng, service_mean)
        };
    }
    let window = now - window_start.unwrap_or(0.0);
    Ok(QueueRun {
        utilization: u,
        mean_response_time_s: response_sum / measured as f64,
        mean_queue_wait_s: wait_sum / measured as f64,
        mean_queue_length: area / window,
        throughput_per_s: measured as f64 / window,
        busy_fraction: busy / window,
        customers: measured,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::queueing::{mm1_queue_length, mm1_response_time_s};

    fn run(utilization: f64, customers: u64, seed: u64) -> QueueRun {
        simulate_mm1(&QueueSimulation {
            service_time_s: 0.000_057,
            utilization,
            customers,
            seed,
        })
        .unwrap()
    }

    #[test]
    fn simulated_response_time_follows_mm1_theory_up_the_hockey_stick() {
        // Claim: for a fixed seed the simulated R and L agree with S/(1−U) and U/(1−U) — within
        // a tolerance that widens near saturation, where the sample mean converges slowly.
        let cases: [(f64, f64); 5] = [
            (0.1, 0.02),
            (0.39, 0.03),
            (0.5, 0.03),
            (0.7, 0.05),
            (0.9, 0.12),
        ];
        for (u, tolerance) in cases {
            let sim = run(u, 200_000, 7);
            let theory = mm1_response_time_s(0.000_057, u).unwrap();
            let error = (sim.mean_response_time_s - theory).abs() / theory;
            assert!(
                error < tolerance,
                "U = {u}: R {} vs {theory} ({error:.3})",
                sim.mean_response_time_s
            );
            let l_theory = mm1_queue_length(u).unwrap();
            assert!(
                (sim.mean_queue_length - l_theory).abs() / l_theory < tolerance,
                "U = {u}: L"
            );
            assert!(
                (sim.busy_fraction - u).abs() < 0.02,
                "U = {u}: busy {}",
                sim.busy_fraction
            );
        }
    }

    #[test]
    fn simulation_obeys_littles_law_measured_two_independent_ways() {
        // Claim: the time-average number in the system equals throughput × mean response time.
        for u in [0.3, 0.8] {
            let sim = run(u, 50_000, 11);
            let little = sim.throughput_per_s * sim.mean_response_time_s;
            assert!(
                (sim.mean_queue_length - little).abs() / little < 0.01,
                "U = {u}"
            );
        }
    }

    #[test]
    fn one_seed_replays_the_same_run_and_another_seed_differs() {
        // Claim: the seed is the only source of randomness.
        assert_eq!(run(0.7, 10_000, 3), run(0.7, 10_000, 3));
        assert_ne!(run(0.7, 10_000, 3), run(0.7, 10_000, 4));
    }

    #[test]
    fn a_saturated_or_empty_configuration_is_refused() {
        // Claim: U ≥ 1 has no steady state to measure, and U = 0 or zero customers nothing to measure.
        let mut config = QueueSimulation {
            service_time_s: 0.001,
            utilization: 1.0,
            customers: 10,
            seed: 1,
        };
        assert_eq!(simulate_mm1(&config).unwrap_err().parameter, "utilization");
        config.utilization = 0.0;
        assert_eq!(simulate_mm1(&config).unwrap_err().parameter, "utilization");
        config.utilization = 0.5;
        config.customers = 0;
        assert_eq!(simulate_mm1(&config).unwrap_err().parameter, "customers");
    }
}
