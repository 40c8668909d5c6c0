//! CPU-bound work of a set duration, for the scaling workload: an integer
//! loop whose iteration count is calibrated once against the clock.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// A calibrated amount of pure computation (no memory traffic, no syscalls).
#[derive(Clone, Copy, Debug)]
pub struct Spin {
    iterations: u64,
}

impl Spin {
    /// About `target` of work on this CPU: the best of several timed trials,
    /// so that preemption during calibration does not shorten the work.
    pub fn calibrate(target: Duration) -> Self {
        let trial = Spin {
            iterations: 100_000,
        };
        let best = (0..20)
            .map(|_| {
                let start = Instant::now();
                black_box(trial.run(1));
                start.elapsed()
            })
            .min()
            .unwrap_or(Duration::from_micros(1));
        let per_iteration = best.as_secs_f64() / trial.iterations as f64;
        Spin {
            iterations: ((target.as_secs_f64() / per_iteration) as u64).max(1),
        }
    }

    /// A spin of exactly `iterations` steps.
    pub fn with_iterations(iterations: u64) -> Self {
        Spin { iterations }
    }

    /// The iteration count.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// Does the work; the result depends on every step.
    #[inline(never)]
    pub fn run(&self, seed: u64) -> u64 {
        let mut x = seed | 1;
        for _ in 0..black_box(self.iterations) {
            // xorshift64: a dependent chain the compiler cannot shorten.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        x
    }
}
