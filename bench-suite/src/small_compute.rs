//! Small computes: a graph of two no-op tasks and their sum, computed again
//! and again from a thread outside the pool, as a program that computes one
//! small graph per step of its loop does; against rayon's `install` of a
//! `join` of the same two closures. What a compute costs here is the
//! hand-off to the pool's threads and back, not the tasks.

use std::hint::black_box;
use std::time::Instant;

use delayed::{Executor, Graph};
use rayon::ThreadPool;

/// What is computed again and again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmallCompute {
    /// A new `delayed` graph each time (built, then computed).
    DelayedRebuilt,
    /// One `delayed` graph, built once and computed each time.
    DelayedAgain,
    /// `rayon::ThreadPool::install` of a `rayon::join` of the two tasks.
    RayonInstall,
}

impl SmallCompute {
    /// Every kind, in the order of the table's columns.
    pub const ALL: [SmallCompute; 3] = [
        SmallCompute::DelayedRebuilt,
        SmallCompute::DelayedAgain,
        SmallCompute::RayonInstall,
    ];
}

/// A `delayed` executor and a rayon pool of the same size.
pub struct SmallPools {
    ex: Executor,
    rayon: ThreadPool,
}

impl SmallPools {
    /// Both pools with `workers` threads (`delayed`'s pinned, as by default).
    ///
    /// # Panics
    /// If a pool cannot start its threads.
    ///
    /// ```
    /// use delayed_bench::small_compute::{SmallCompute, SmallPools};
    ///
    /// let pools = SmallPools::new(1);
    /// for what in SmallCompute::ALL {
    ///     assert!(pools.us_per_compute(what, 10) > 0.0);
    /// }
    /// ```
    pub fn new(workers: usize) -> SmallPools {
        SmallPools {
            ex: Executor::builder()
                .workers(workers)
                .build()
                .expect("the delayed pool starts"),
            rayon: rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .build()
                .expect("the rayon pool starts"),
        }
    }

    /// Microseconds per compute of `what`, over `computes` of them.
    ///
    /// # Panics
    /// If a compute gives a wrong sum (it never does).
    pub fn us_per_compute(&self, what: SmallCompute, computes: usize) -> f64 {
        let start = Instant::now();
        match what {
            SmallCompute::DelayedRebuilt => {
                for i in 0..computes as u64 {
                    let g = Graph::new();
                    let sum = sum_of_two(&g, i);
                    assert_eq!(sum.compute_on(&self.ex).ok(), Some(2 * i + 1));
                }
            }
            SmallCompute::DelayedAgain => {
                let g = Graph::new();
                let sum = sum_of_two(&g, 7);
                for _ in 0..computes {
                    assert_eq!(sum.compute_on(&self.ex).ok(), Some(15));
                }
            }
            SmallCompute::RayonInstall => {
                for i in 0..computes as u64 {
                    let (a, b) = self
                        .rayon
                        .install(|| rayon::join(|| black_box(i), || black_box(i + 1)));
                    assert_eq!(a + b, 2 * i + 1);
                }
            }
        }
        start.elapsed().as_secs_f64() * 1e6 / computes as f64
    }
}

/// Tasks `i` and `i + 1`, and their sum.
fn sum_of_two(g: &Graph, i: u64) -> delayed::Delayed<u64> {
    let a = g.delayed("a", move || black_box(i));
    let b = g.delayed("b", move || black_box(i + 1));
    g.task("sum", (&a, &b), |(a, b)| a + b)
}
