//! The arithmetic behind "why distribute": Little's Law and queueing (reference lab §2.1), failure
//! math at fleet scale (§2.2), and two seeded simulations that check the formulas against counted
//! events instead of trusting them.
//!
//! | file | answers |
//! |---|---|
//! | [`littles_law`] | how long is the queue, how fast do requests arrive, how long do they wait (L = λW) |
//! | [`queueing`] | how busy is a device, how fast can it go, where does latency explode (U = XS, M/M/1) |
//! | [`failures`] | how often something in a fleet breaks, and how replication answers it |
//! | [`queue_simulation`] | does a simulated M/M/1 queue really follow the hockey stick? |
//! | [`fleet_simulation`] | does a simulated fleet of disks really fail as often as the formulas say? |
//!
//! Every function takes plain `f64`s in the unit its parameter name ends with (`_s` seconds,
//! `_days` days, `_per_s` per second) and refuses input outside the law's domain with a
//! [`MathError`] that names the parameter, its value and what was expected: a utilization of 1.2
//! has no M/M/1 answer, and returning `inf` or a negative time would teach the wrong thing.

pub mod failures;
pub mod fleet_simulation;
pub mod littles_law;
pub mod queue_simulation;
pub mod queueing;

use std::fmt;

/// An input outside the domain of a law: which parameter, the value given, and what the law needs.
#[derive(Clone, Debug, PartialEq)]
pub struct MathError {
    /// The parameter's name, as in the function signature.
    pub parameter: &'static str,
    /// The value that was given.
    pub value: f64,
    /// The domain the law needs, and why, in words.
    pub expected: &'static str,
}

impl fmt::Display for MathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} = {} is out of range: expected {}",
            self.parameter, self.value, self.expected
        )
    }
}

impl std::error::Error for MathError {}

/// Accepts a finite `value > 0`: a rate or a duration that can be divided by.
pub(crate) fn positive(parameter: &'static str, value: f64) -> Result<f64, MathError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(MathError {
            parameter,
            value,
            expected: "a finite number greater than 0",
        })
    }
}

/// Accepts a finite `value >= 0`: a count or a length that may be empty.
pub(crate) fn non_negative(parameter: &'static str, value: f64) -> Result<f64, MathError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(MathError {
            parameter,
            value,
            expected: "a finite number of at least 0",
        })
    }
}

/// Accepts a probability in `[0, 1]`.
pub(crate) fn probability(parameter: &'static str, value: f64) -> Result<f64, MathError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(MathError {
            parameter,
            value,
            expected: "a probability between 0 and 1",
        })
    }
}

/// Accepts a utilization in `[0, 1)`: the domain where a queue has a steady state.
pub(crate) fn stable_utilization(parameter: &'static str, value: f64) -> Result<f64, MathError> {
    if (0.0..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(MathError {
            parameter,
            value,
            expected: "a utilization from 0 up to but not including 1 \
                       (at U >= 1 work arrives faster than it is served and the queue grows without bound)",
        })
    }
}

/// Accepts a utilization in `(0, 1]`: a target a device may be run at.
pub(crate) fn target_utilization(parameter: &'static str, value: f64) -> Result<f64, MathError> {
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(MathError {
            parameter,
            value,
            expected: "a utilization greater than 0 and at most 1 (0.7 means 70 % busy)",
        })
    }
}

/// One draw from an exponential distribution of the given mean, by inverse transform:
/// if U is uniform on [0, 1) then −mean·ln(1 − U) is exponential (Poisson inter-arrival times,
/// memoryless service times and disk lifetimes all come from here).
pub(crate) fn exponential(rng: &mut impl rand::Rng, mean: f64) -> f64 {
    let uniform: f64 = rng.random();
    -mean * (1.0 - uniform).ln()
}
