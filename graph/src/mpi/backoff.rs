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
//!
//! How much longer: each sleep is a sixteenth of the time waited so far
//! (`SLEEP_SHARE`), between 20 µs and 1 ms. What a wait ends on (the last
//! rank joining a collective, a value arriving while every worker sleeps)
//! is then seen at most about 6 % of the wait late, where doubling each
//! sleep saw it up to as late again as the whole wait: on 4 ranks sharing
//! 2 CPUs, the ranks of one CPU, their graphs built, waited 1-2 ms in the
//! first collective for those of the other, and slept through up to 1 ms
//! of it with both CPUs idle (`perf sched timehist`; Task Bench's tree at
//! 1024 iterations, 1.7 µs tasks: 8.3-9.0 ms per compute with doubling,
//! 6.6-6.9 ms so, the hand-written floor 4.5). It costs more wake-ups
//! early in a wait: about 16 in the first 320 µs and 45 more to reach a
//! millisecond, against 6 for doubling; beyond that, one a millisecond as
//! before. So a run's computing thread sleeps so only while no worker
//! polls (`idle`); while workers poll, it has nothing to add and each
//! wake-up takes a CPU a worker needs, and its sleep doubles
//! (`idle_while_others_poll`, `driver.rs`).

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
/// A sleep is at most this fraction (one in `SLEEP_SHARE`) of the time
/// waited so far, so that a wait ends at most about 6 % late.
const SLEEP_SHARE: u32 = 16;

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
    /// When the wait began: the next sleep is a share of the time since.
    started: Instant,
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
            started: now,
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
            started: now,
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

    /// Nothing happened in this poll, and other threads poll meanwhile
    /// (the executor's workers, during a run): sleep twice as long as last
    /// time, up to `MAX_SLEEP` (but yield during `FIRST_SPIN`).
    pub(crate) fn idle_while_others_poll(&mut self) {
        if Instant::now() < self.yield_until {
            thread::yield_now();
        } else {
            thread::park_timeout(self.sleep);
            self.sleep = (self.sleep * 2).min(MAX_SLEEP);
        }
    }

    /// Nothing happened in this poll: yield the CPU while spinning, else
    /// sleep, longer as the wait goes on (a share of it, `SLEEP_SHARE`).
    pub(crate) fn idle(&mut self) {
        match self.idle_action(Instant::now()) {
            None => thread::yield_now(),
            Some(sleep) => {
                thread::park_timeout(sleep);
                self.sleep = next_sleep(self.started.elapsed());
            }
        }
    }

    /// What `idle` does at `now`: yield (`None`), or sleep this long: the
    /// sleep set last (`FIRST_SLEEP` after an event), but never more than
    /// the share of the wait. While workers polled, `idle_while_others_poll`
    /// doubled the sleep up to `MAX_SLEEP`; once they stop (they sleep 1 ms
    /// after their last progress), the first `idle` slept that long, a
    /// millisecond where the share 2.5 ms into a run is 156 µs, and a value
    /// arriving then waited for it.
    fn idle_action(&self, now: Instant) -> Option<Duration> {
        if now < self.yield_until || now.duration_since(self.last_event) < self.spin {
            return None;
        }
        Some(self.sleep.min(next_sleep(now.duration_since(self.started))))
    }
}

/// The sleep after a poll that found nothing, `waited` into the wait.
fn next_sleep(waited: Duration) -> Duration {
    (waited / SLEEP_SHARE).clamp(FIRST_SLEEP, MAX_SLEEP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_is_a_share_of_the_wait_between_its_bounds() {
        assert_eq!(next_sleep(Duration::ZERO), FIRST_SLEEP);
        assert_eq!(next_sleep(Duration::from_micros(160)), FIRST_SLEEP);
        assert_eq!(
            next_sleep(Duration::from_micros(800)),
            Duration::from_micros(50)
        );
        assert_eq!(
            next_sleep(Duration::from_millis(8)),
            Duration::from_micros(500)
        );
        assert_eq!(next_sleep(Duration::from_millis(16)), MAX_SLEEP);
        assert_eq!(next_sleep(Duration::from_secs(60)), MAX_SLEEP);
    }

    #[test]
    fn while_others_poll_the_sleep_doubles() {
        let mut backoff = Backoff::sleeping();
        backoff.yield_until = Instant::now();
        backoff.idle_while_others_poll();
        assert_eq!(backoff.sleep, FIRST_SLEEP * 2);
        for _ in 0..8 {
            backoff.idle_while_others_poll();
        }
        assert_eq!(backoff.sleep, MAX_SLEEP);
    }

    #[test]
    fn once_others_stop_polling_the_sleep_is_a_share_of_the_wait_again() {
        let mut backoff = Backoff::sleeping();
        backoff.yield_until = Instant::now();
        for _ in 0..8 {
            backoff.idle_while_others_poll();
        }
        assert_eq!(backoff.sleep, MAX_SLEEP);
        let now = backoff.started + Duration::from_micros(2500);
        let share = next_sleep(Duration::from_micros(2500));
        assert!(share < MAX_SLEEP);
        assert_eq!(backoff.idle_action(now), Some(share));
        // After an event, the short sleep it set, not the share.
        backoff.sleep = FIRST_SLEEP;
        assert_eq!(backoff.idle_action(now), Some(FIRST_SLEEP));
        // While it yields, no sleep.
        backoff.yield_until = now + Duration::from_micros(1);
        assert_eq!(backoff.idle_action(now), None);
    }

    #[test]
    fn a_sleeping_backoff_sleeps_a_share_of_the_wait() {
        let mut backoff = Backoff::sleeping();
        // Past `FIRST_SPIN`, whatever the scheduler did meanwhile.
        backoff.yield_until = backoff.started;
        std::thread::sleep(Duration::from_millis(2));
        backoff.idle();
        // At least 2 ms (plus the 20 µs slept) waited: at least 125 µs,
        // where doubling gave 40.
        assert!(
            backoff.sleep >= Duration::from_micros(125),
            "{:?}",
            backoff.sleep
        );
        assert!(backoff.sleep <= MAX_SLEEP);
    }
}
