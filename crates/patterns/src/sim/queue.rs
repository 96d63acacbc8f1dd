//! The event queue: every event of a run (a delivery, a timer, a storage sync, a client deadline)
//! ordered by `(tick, sequence)`, where the sequence counts up as events are scheduled. Events of
//! the same tick therefore run in the order they were scheduled (FIFO), never in a heap's arbitrary
//! order (the reference's §5.1 item 2).

use crate::node::Tick;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Scheduled<E> {
    tick: Tick,
    sequence: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.tick, self.sequence) == (other.tick, other.sequence)
    }
}
impl<E> Eq for Scheduled<E> {}
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Scheduled<E> {
    /// Reversed, so that std's max-heap pops the earliest `(tick, sequence)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.tick, other.sequence).cmp(&(self.tick, self.sequence))
    }
}

impl<E: Clone> Clone for Scheduled<E> {
    fn clone(&self) -> Self {
        Scheduled {
            tick: self.tick,
            sequence: self.sequence,
            event: self.event.clone(),
        }
    }
}

/// Events waiting for their tick, earliest first, FIFO within a tick.
pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Scheduled<E>>,
    next_sequence: u64,
}

impl<E: Clone> Clone for EventQueue<E> {
    fn clone(&self) -> Self {
        EventQueue {
            heap: self.heap.clone(),
            next_sequence: self.next_sequence,
        }
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> EventQueue<E> {
        EventQueue {
            heap: BinaryHeap::new(),
            next_sequence: 0,
        }
    }

    pub fn push(&mut self, tick: Tick, event: E) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.heap.push(Scheduled {
            tick,
            sequence,
            event,
        });
    }

    pub fn pop(&mut self) -> Option<(Tick, E)> {
        self.heap.pop().map(|s| (s.tick, s.event))
    }

    /// The tick of the next event, if any.
    pub fn next_tick(&self) -> Option<Tick> {
        self.heap.peek().map(|s| s.tick)
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_tick_first_and_fifo_within_a_tick() {
        let mut q = EventQueue::new();
        for (tick, name) in [(2, "c"), (1, "a"), (2, "d"), (1, "b"), (0, "first")] {
            q.push(tick, name);
        }
        let order: Vec<&str> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["first", "a", "b", "c", "d"]);
    }
}
