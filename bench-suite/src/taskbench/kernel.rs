//! The work of one task and the value it outputs.
//!
//! The kernel is compute-bound: a dependent chain of `iterations`
//! multiply-adds on one `f64` (each step waits for the one before, so it
//! neither vectorises nor overlaps, and `black_box` keeps the compiler from
//! removing it). Its time is linear in `iterations`; [`calibrate`] measures
//! the ns per iteration once per machine, and a sweep point's useful work
//! is `tasks x iterations x ns per iteration`.
//!
//! Each task outputs a `u64` checksum of its point, its inputs (in the
//! order of [`Pattern::deps`]) and the kernel's result, so a run is checked
//! against the [`reference()`] computed sequentially.

use std::hint::black_box;
use std::time::Instant;

use super::pattern::Pattern;

/// Runs the kernel: `iterations` dependent multiply-adds.
///
/// ```
/// use delayed_bench::taskbench::kernel::kernel;
/// assert_eq!(kernel(0), 1.0);
/// assert!(kernel(1000) < 1.0);
/// ```
#[inline(never)]
pub fn kernel(iterations: u64) -> f64 {
    let (a, b) = (black_box(0.999_999_9_f64), black_box(1e-8_f64));
    let mut x = black_box(1.0_f64);
    for _ in 0..iterations {
        x = x * a + b;
    }
    black_box(x)
}

/// The output of point `(t, i)`: its inputs' outputs mixed with the point
/// and the kernel's result.
///
/// ```
/// use delayed_bench::taskbench::kernel::checksum;
/// assert_ne!(checksum(1, 0, [1, 2].into_iter(), 1.0), checksum(1, 0, [2, 1].into_iter(), 1.0));
/// ```
pub fn checksum(t: usize, i: usize, inputs: impl Iterator<Item = u64>, result: f64) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = ((t as u64) << 32 | i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for v in inputs {
        h = (h ^ v).wrapping_mul(PRIME).rotate_left(23);
    }
    h ^ result.to_bits()
}

/// The last step's outputs of the graph, computed sequentially, for the
/// runs to compare with (the kernel runs once: every task's result is the
/// same).
///
/// ```
/// use delayed_bench::taskbench::{kernel::reference, pattern::Pattern};
/// assert_eq!(reference(Pattern::Tree, 4, 2, 10).len(), 2);
/// ```
pub fn reference(pattern: Pattern, width: usize, steps: usize, iterations: u64) -> Vec<u64> {
    let result = kernel(iterations);
    let mut row: Vec<u64> = Vec::new();
    for t in 0..steps {
        row = (0..pattern.active(t, width))
            .map(|i| {
                let deps = pattern.deps(t, i, width);
                checksum(t, i, deps.iter().map(|&j| row[j]), result)
            })
            .collect();
    }
    row
}

/// Nanoseconds per kernel iteration on this thread: the fastest of
/// `rounds` runs of `2^22` iterations.
///
/// ```
/// let ns = delayed_bench::taskbench::kernel::calibrate(2);
/// assert!(ns > 0.0);
/// ```
pub fn calibrate(rounds: usize) -> f64 {
    const ITERATIONS: u64 = 1 << 22;
    kernel(ITERATIONS / 16);
    (0..rounds.max(1))
        .map(|_| {
            let start = Instant::now();
            kernel(ITERATIONS);
            start.elapsed().as_nanos() as f64 / ITERATIONS as f64
        })
        .fold(f64::INFINITY, f64::min)
}
