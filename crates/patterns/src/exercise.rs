//! Exercises in the lessons: the learner writes a function or chooses a value, and a *check cell*
//! judges it, printing `not yet: …` with a hint until it is right.
//!
//! A check must never panic: in an evcxr cell a panic can take the notebook's variables with it,
//! and the learner's first version is `todo!()`. A check cell therefore calls the learner's code
//! through [`attempt`], which turns a panic (a `todo!()`, an index out of range, a failed
//! assertion) into an `Err` holding its message, printed by nobody.
//!
//! ```
//! use patterns::exercise::{attempt, NOT_YET};
//! fn majority(replicas: usize) -> usize { todo!() }
//! match attempt(|| majority(5)) {
//!     Err(why) => println!("{NOT_YET} `majority` panicked ({why}): write its body"),
//!     Ok(3) => println!("majority(5) = 3, right"),
//!     Ok(other) => println!("{NOT_YET} majority(5) is 3, not {other}"),
//! }
//! # assert!(attempt(|| majority(5)).is_err());
//! ```
//!
//! The notebook harness runs each lesson twice over: with the answers of the instructor appendix
//! filled in (no cell may then print a line starting with [`NOT_YET`]), and as the learner gets it
//! (`scripts/notebooks.py check --learner`: every check cell must print one).

use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

/// How a check cell's verdict line starts while the exercise is unanswered or wrong.
pub const NOT_YET: &str = "not yet:";

/// Runs `work` (the learner's code), returning its value, or the message of the panic it raised.
///
/// The panic is not printed: a check cell says what it means instead. While `work` runs, panics
/// on every thread are silent (the panic hook is process-wide), so run only the learner's code
/// here.
pub fn attempt<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    // One attempt at a time, so two threads do not restore each other's hooks.
    static HOOK: Mutex<()> = Mutex::new(());
    let _one = HOOK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let outcome = panic::catch_unwind(AssertUnwindSafe(work));
    panic::set_hook(previous);
    outcome.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_a_value_passes_through() {
        // Claim: todo!(), panic!("...") with a formatted message, and a plain value each come
        // back as the check cell needs them, and the hook in place before is restored.
        let unanswered: fn() -> u32 = || todo!();
        assert_eq!(
            attempt(unanswered).unwrap_err(),
            "not yet implemented".to_string()
        );
        let index = 7;
        assert_eq!(
            attempt(|| panic!("index {index} is out of range")).unwrap_err(),
            "index 7 is out of range"
        );
        assert_eq!(attempt(|| 3), Ok(3));
        // A panic outside `attempt` still unwinds as usual afterwards.
        assert!(panic::catch_unwind(|| panic!("still a panic")).is_err());
    }
}
