//! `Backoff`: how the computing thread waits between polls of MPI without
//! holding a core for long. Two ways:
//!
//! - **`Backoff::spinning`**, for a collective at the start or end of a
//!   compute (`comm.rs`): the computing thread is the only one waiting, so
//!   it polls, yielding its CPU between polls, for 1 ms after the last
//!   event, then sleeps between polls for longer and longer.
//! - **`Backoff::sleeping`**, for the exchange during a run (`driver.rs`):
//!   the executor's idle workers poll then, so the computing thread does
//!   not spin, which would take the core of a worker on the same CPU (but
//!   for the first 20 µs of a run, yielding: `driver.rs`, `FIRST_SPIN`,
//!   so that a small compute ends before it sleeps). Its
//!   polls are the fallback for when every worker is busy (it sends their
//!   exports in batches) or asleep (it receives what wakes them): it sleeps
//!   longer and longer, up to a millisecond, and briefly only while exports
//!   wait; an export into an empty outbox wakes it (`exchange.rs`), and so
//!   does the end of the run (its count of outstanding work is an
//!   unparking `CountLatch`, `run/parallel.rs`).

use std::thread;
use std::time::{Duration, Instant};

/// How long a spinning backoff keeps polling after the last event before it
/// starts to sleep.
const SPIN: Duration = Duration::from_millis(1);
/// The first sleep, and the sleep after a poll that left exports waiting.
const FIRST_SLEEP: Duration = Duration::from_micros(20);
/// The longest sleep between two polls: the most a value arriving after a
/// long wait is delayed by while every worker sleeps.
const MAX_SLEEP: Duration = Duration::from_millis(1);

/// The waiting state of one loop of polls.
pub(crate) struct Backoff {
    /// How long to keep yielding instead of sleeping after an event.
    spin: Duration,
    last_event: Instant,
    sleep: Duration,
}

impl Backoff {
    /// Polls, yielding, for 1 ms after the last event, then sleeps.
    pub(crate) fn spinning() -> Backoff {
        Backoff {
            spin: SPIN,
            last_event: Instant::now(),
            sleep: FIRST_SLEEP,
        }
    }

    /// Sleeps between every two polls.
    pub(crate) fn sleeping() -> Backoff {
        Backoff {
            spin: Duration::ZERO,
            ..Backoff::spinning()
        }
    }

    /// Something happened (sleeping: exports wait): poll again at once if
    /// spinning, else soon.
    pub(crate) fn event(&mut self) {
        self.last_event = Instant::now();
        self.sleep = FIRST_SLEEP;
        if self.spin.is_zero() {
            thread::park_timeout(self.sleep);
        }
    }

    /// Nothing happened in this poll: yield the CPU while spinning, else
    /// sleep, longer each time.
    pub(crate) fn idle(&mut self) {
        if self.last_event.elapsed() < self.spin {
            thread::yield_now();
        } else {
            thread::park_timeout(self.sleep);
            self.sleep = (self.sleep * 2).min(MAX_SLEEP);
        }
    }
}
