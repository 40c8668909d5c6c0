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
//!   for the first 20 µs, yielding, `FIRST_SPIN`, so that a small compute
//!   ends before it sleeps). Its
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

/// How long a sleeping backoff yields instead of sleeping, from its start
/// (a run's). A small compute ends within it: parked, the thread's CPU may
/// go idle, and on a VM an idle CPU takes tens of microseconds to wake. A
/// graph of one task per rank and a sink, computed again and again
/// (`distributed --only small`, 2-core VM): 21.4 -> 7.9 µs per compute on
/// 1 rank, 34.4 -> 17.7 on 2. Longer runs lose 20 µs of the computing
/// thread's yields at most.
const FIRST_SPIN: Duration = Duration::from_micros(20);

/// The waiting state of one loop of polls.
pub(crate) struct Backoff {
    /// How long to keep yielding instead of sleeping after an event.
    spin: Duration,
    last_event: Instant,
    sleep: Duration,
    /// Until when to yield instead of sleeping, whatever happened.
    yield_until: Instant,
}

impl Backoff {
    /// Polls, yielding, for 1 ms after the last event, then sleeps.
    pub(crate) fn spinning() -> Backoff {
        let now = Instant::now();
        Backoff {
            spin: SPIN,
            last_event: now,
            sleep: FIRST_SLEEP,
            yield_until: now,
        }
    }

    /// Sleeps between every two polls, after `FIRST_SPIN` of yielding.
    pub(crate) fn sleeping() -> Backoff {
        let now = Instant::now();
        Backoff {
            spin: Duration::ZERO,
            last_event: now,
            sleep: FIRST_SLEEP,
            yield_until: now + FIRST_SPIN,
        }
    }

    /// Something happened (sleeping: exports wait): poll again at once if
    /// spinning, else soon.
    pub(crate) fn event(&mut self) {
        let now = Instant::now();
        self.last_event = now;
        self.sleep = FIRST_SLEEP;
        if now < self.yield_until {
            thread::yield_now();
        } else if self.spin.is_zero() {
            thread::park_timeout(self.sleep);
        }
    }

    /// Nothing happened in this poll: yield the CPU while spinning, else
    /// sleep, longer each time.
    pub(crate) fn idle(&mut self) {
        let now = Instant::now();
        if now < self.yield_until || now.duration_since(self.last_event) < self.spin {
            thread::yield_now();
        } else {
            thread::park_timeout(self.sleep);
            self.sleep = (self.sleep * 2).min(MAX_SLEEP);
        }
    }
}
