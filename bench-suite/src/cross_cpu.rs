//! The round trip of a cache line between two CPUs, and a gate that holds a
//! measurement back while it is slow.
//!
//! Every two-worker run pays this round trip whenever a counter, a deque or
//! a job moves from one CPU to the other. On the 2-core development VM it
//! is about 65 ns, but for tens of seconds to minutes at a time it is about
//! 335 ns (the host, we think, then runs the two virtual CPUs on distant
//! cores), and every system's two-thread runs of the random DAG take twice
//! as long (`delayed` and rayon alike: 44 and 105 ns per task, sampled side
//! by side). Now and then it is about 28 ns for a moment (two threads of
//! one core, we guess). One-thread runs do not move lines between CPUs and
//! are not affected. A benchmark that compares 1 and 2 workers must not
//! compare a fast period with a slow one, so the `overhead` binary waits
//! for the round trip to be near the usual one (`Link::wait_for_near`)
//! before each measurement, and reports the probes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::affinity::allowed_cpus;

/// Round trips per probe: about 1.3 ms on a fast link, 7 ms on a slow one.
const TRIPS: u64 = 20_000;

/// A round trip over this multiple of the usual one counts as slow.
pub const SLOW: f64 = 2.5;

/// ns per round trip of a cache line between CPUs `a` and `b`: two threads
/// pinned there pass one atomic back and forth `trips` times. The calling
/// thread only waits, and keeps its CPU and affinity (pinning it, even for
/// a moment, left it on CPU `a`, beside a one-worker executor's worker:
/// that moved the benchmarks' graph building next to one-worker runs).
/// `None` if a thread cannot be pinned.
///
/// ```
/// use delayed_bench::{affinity::allowed_cpus, cross_cpu::round_trip_ns};
///
/// if let [a, b, ..] = allowed_cpus()[..] {
///     assert!(round_trip_ns(a, b, 1000).is_some_and(|ns| ns > 0.0));
/// }
/// ```
pub fn round_trip_ns(a: usize, b: usize, trips: u64) -> Option<f64> {
    let ball = Arc::new(AtomicU64::new(0));
    let gave_up = Arc::new(AtomicBool::new(false));
    let player = |cpu: usize, serve: bool| {
        let (ball, gave_up) = (Arc::clone(&ball), Arc::clone(&gave_up));
        std::thread::spawn(move || {
            if !pin_current_thread(cpu) {
                // Relaxed: only this flag is read through it.
                gave_up.store(true, Ordering::Relaxed);
                return None;
            }
            // Waits for the ball to read `want`; `false` if the other
            // player could not be pinned.
            let wait_for = |want: u64| loop {
                if ball.load(Ordering::Acquire) == want {
                    return true;
                }
                // Relaxed: as above.
                if gave_up.load(Ordering::Relaxed) {
                    return false;
                }
                std::hint::spin_loop();
            };
            let start = Instant::now();
            for trip in 0..trips {
                // Acquire/Release: the ball is the only data; the orderings
                // make each hand-off a full transfer of the line, as a
                // scheduler's counters and queues are.
                if serve {
                    ball.store(2 * trip + 1, Ordering::Release);
                    if !wait_for(2 * trip + 2) {
                        return None;
                    }
                } else {
                    if !wait_for(2 * trip + 1) {
                        return None;
                    }
                    ball.store(2 * trip + 2, Ordering::Release);
                }
            }
            Some(start.elapsed())
        })
    };
    let receiver = player(b, false);
    let server = player(a, true);
    let elapsed = server.join().ok().flatten();
    let received = receiver.join().ok().flatten();
    Some(elapsed?.as_nanos() as f64 / trips as f64).filter(|_| received.is_some())
}

/// Restricts the calling thread to `cpu`; `false` if the kernel refused.
fn pin_current_thread(cpu: usize) -> bool {
    // SAFETY: `cpu_set_t` is plain bits, valid when zeroed.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is initialised; CPU_SET ignores numbers past its size.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid `cpu_set_t` of the size passed; pid 0 is the
    // calling thread.
    unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) == 0 }
}

/// The link between the first two CPUs this process may use (those a
/// two-worker executor pins its workers to), probed before measurements.
pub struct Link {
    cpus: (usize, usize),
    probes: Vec<f64>,
    slow_starts: usize,
}

impl Link {
    /// The link of this process's first two CPUs; `None` with fewer than
    /// two, or where threads cannot be pinned.
    ///
    /// ```
    /// use std::time::Duration;
    /// use delayed_bench::cross_cpu::Link;
    ///
    /// if let Some(mut link) = Link::new() {
    ///     link.wait_for_near(Duration::from_millis(100));
    ///     assert!(link.usual_ns() > 0.0);
    ///     assert!(link.probes().len() >= 2); // `new` probes once
    /// }
    /// ```
    pub fn new() -> Option<Link> {
        let cpus = allowed_cpus();
        let (&a, &b) = (cpus.first()?, cpus.get(1)?);
        let mut link = Link {
            cpus: (a, b),
            probes: Vec::new(),
            slow_starts: 0,
        };
        link.probe()?;
        Some(link)
    }

    /// The two CPUs.
    pub fn cpus(&self) -> (usize, usize) {
        self.cpus
    }

    /// Measures the round trip once and keeps it.
    pub fn probe(&mut self) -> Option<f64> {
        let ns = round_trip_ns(self.cpus.0, self.cpus.1, TRIPS)?;
        self.probes.push(ns);
        Some(ns)
    }

    /// The usual round trip: the median of the faster half of the probes so
    /// far, ns (the fastest alone can be a rare moment on one core).
    pub fn usual_ns(&self) -> f64 {
        let mut sorted = self.probes.clone();
        sorted.sort_by(f64::total_cmp);
        crate::timing::median(&sorted[..sorted.len().div_ceil(2)])
    }

    /// Every probe, in order, ns.
    pub fn probes(&self) -> &[f64] {
        &self.probes
    }

    /// Waits, up to `patience`, for a round trip within `SLOW` times the
    /// usual one, probing every 500 ms. Returns whether it found one;
    /// a measurement that starts without one is counted (`slow_starts`).
    pub fn wait_for_near(&mut self, patience: Duration) -> bool {
        let start = Instant::now();
        loop {
            let Some(ns) = self.probe() else {
                return true; // cannot probe: nothing to wait for
            };
            if ns <= SLOW * self.usual_ns() {
                return true;
            }
            if start.elapsed() >= patience {
                self.slow_starts += 1;
                return false;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The median of the probes from the `since`-th on, ns.
    pub fn median_ns(&self, since: usize) -> f64 {
        crate::timing::median(&self.probes[since.min(self.probes.len())..])
    }

    /// Measurements that started on a slow link after waiting in vain.
    pub fn slow_starts(&self) -> usize {
        self.slow_starts
    }

    /// Probes from the `since`-th on over `SLOW` times the usual one
    /// (judged when asked, as the usual one is then best known).
    pub fn slow_probes(&self, since: usize) -> usize {
        let limit = SLOW * self.usual_ns();
        let probes = &self.probes[since.min(self.probes.len())..];
        probes.iter().filter(|&&ns| ns > limit).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_probes_are_judged_against_the_usual_round_trip() {
        let link = Link {
            cpus: (0, 1),
            // A moment on one core (28), the usual link, a slow period.
            probes: vec![65.0, 66.0, 28.0, 64.0, 335.0, 340.0, 67.0],
            slow_starts: 0,
        };
        assert_eq!(link.usual_ns(), 64.5);
        assert_eq!(link.slow_probes(0), 2);
        assert_eq!(link.slow_probes(5), 1);
        assert_eq!(link.median_ns(4), 335.0);
    }

    #[test]
    fn a_round_trip_takes_time_and_leaves_the_callers_affinity_alone() {
        let before = allowed_cpus();
        if let [a, b, ..] = before[..] {
            let ns = round_trip_ns(a, b, 1000).expect("two allowed CPUs can be pinned");
            assert!(ns > 0.0);
        }
        assert_eq!(allowed_cpus(), before);
    }

    #[test]
    fn a_cpu_outside_the_mask_gives_none_and_no_hang() {
        let cpus = allowed_cpus();
        let outside = (0..libc::CPU_SETSIZE as usize).find(|c| !cpus.contains(c));
        if let Some(outside) = outside {
            assert_eq!(round_trip_ns(cpus[0], outside, 1000), None);
            assert_eq!(round_trip_ns(outside, cpus[0], 1000), None);
        }
    }
}
