//! `Backoff`: how the computing thread waits for MPI without holding a
//! core for long: it polls, yielding its CPU between polls, for a while
//! after the last event, then sleeps between polls for longer and longer.

use std::thread;
use std::time::{Duration, Instant};

/// How long the computing thread keeps polling after the last event before
/// it starts to sleep. A chain that crosses ranks at every task sees its
/// next value well within this, so no hop waits for a sleep; a rank that
/// waits longer (a long task elsewhere) stops using its core. It yields
/// between polls, so a worker on the same core (ranks bound to one core)
/// runs at once.
const SPIN: Duration = Duration::from_millis(1);
/// The first and the longest sleep between two polls once spinning ended:
/// the most a value arriving after a long wait is delayed by.
const FIRST_SLEEP: Duration = Duration::from_micros(20);
const MAX_SLEEP: Duration = Duration::from_millis(1);

/// The waiting state of one loop of polls.
pub(crate) struct Backoff {
    last_event: Instant,
    sleep: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            last_event: Instant::now(),
            sleep: FIRST_SLEEP,
        }
    }

    /// Something happened: poll again at once, and keep polling.
    pub(crate) fn event(&mut self) {
        self.last_event = Instant::now();
        self.sleep = FIRST_SLEEP;
    }

    /// Nothing happened in this poll: yield the CPU, or sleep (woken early
    /// by `Thread::unpark`) once nothing has happened for a while.
    pub(crate) fn idle(&mut self) {
        if self.last_event.elapsed() < SPIN {
            thread::yield_now();
        } else {
            thread::park_timeout(self.sleep);
            self.sleep = (self.sleep * 2).min(MAX_SLEEP);
        }
    }
}
