//! The programs of the lesson "Dask Delayed" (ACENET Summer School), in Rust.
//!
//! The lesson times three small programs whose tasks sleep for one unit
//! (1 s in the lesson): `delay` (`inc(1)`, `inc(2)`, `add`), `loop`
//! (8 × `inc` + `sum`) and `loop_flow` (10 × `double` if even else `inc`,
//! then `sum`). [`Workload`] builds each as a graph or runs it as a plain loop;
//! the examples `dask_delay`, `dask_loop` and `dask_loop_flow` and the
//! benchmarks use it, so all of them time the same work.
//!
//! ```
//! use delayed_bench::lesson::Workload;
//! use std::time::Duration;
//!
//! let g = delayed::Graph::new();
//! let total = Workload::Loop.build(&g, Duration::ZERO);
//! assert_eq!(total.compute()?, 44);
//! assert_eq!(Workload::Loop.serial(Duration::ZERO), 44);
//! # Ok::<(), delayed::Error>(())
//! ```

use std::thread;
use std::time::Duration;

use delayed::{Delayed, Graph};

mod cli;
pub use cli::{main, Cli, Report};

/// The lesson's task length: every task sleeps one second.
pub const UNIT: Duration = Duration::from_secs(1);

/// The lesson's `inc`: sleeps `unit`, returns `x + 1`.
///
/// ```
/// assert_eq!(delayed_bench::lesson::inc(1, std::time::Duration::ZERO), 2);
/// ```
pub fn inc(x: i64, unit: Duration) -> i64 {
    thread::sleep(unit);
    x + 1
}

/// The lesson's `add`: sleeps `unit`, returns `x + y`.
///
/// ```
/// assert_eq!(delayed_bench::lesson::add(2, 3, std::time::Duration::ZERO), 5);
/// ```
pub fn add(x: i64, y: i64, unit: Duration) -> i64 {
    thread::sleep(unit);
    x + y
}

/// The lesson's `double`: sleeps `unit`, returns `2 * x`.
///
/// ```
/// assert_eq!(delayed_bench::lesson::double(4, std::time::Duration::ZERO), 8);
/// ```
pub fn double(x: i64, unit: Duration) -> i64 {
    thread::sleep(unit);
    2 * x
}

/// The lesson's `is_even` (no sleep: it decides which task to build).
///
/// ```
/// assert!(delayed_bench::lesson::is_even(4) && !delayed_bench::lesson::is_even(3));
/// ```
pub fn is_even(x: i64) -> bool {
    x % 2 == 0
}

/// One of the lesson's three programs.
///
/// ```
/// use delayed_bench::lesson::Workload;
///
/// for w in Workload::ALL {
///     let g = delayed::Graph::new();
///     let result = w.build(&g, std::time::Duration::ZERO);
///     assert_eq!(g.len(), w.tasks());
///     assert_eq!(result.compute()?, w.expected());
/// }
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// `x = inc(1)`, `y = inc(2)`, `z = add(x, y)`: prints `result=5`.
    Delay,
    /// `sum(inc(i) for i in 1..=8)`: prints `total=44`.
    Loop,
    /// `sum(double(i) if is_even(i) else inc(i) for i in 1..=10)`: prints `total=90`.
    LoopFlow,
}

impl Workload {
    /// The three programs, in the lesson's order.
    ///
    /// ```
    /// assert_eq!(delayed_bench::lesson::Workload::ALL.len(), 3);
    /// ```
    pub const ALL: [Workload; 3] = [Workload::Delay, Workload::Loop, Workload::LoopFlow];

    /// The name used in `shared/reference/lesson-published.csv`.
    ///
    /// ```
    /// assert_eq!(delayed_bench::lesson::Workload::LoopFlow.name(), "loop_flow");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Workload::Delay => "delay",
            Workload::Loop => "loop",
            Workload::LoopFlow => "loop_flow",
        }
    }

    /// The inputs of the lesson's loops.
    fn data(self) -> std::ops::RangeInclusive<i64> {
        match self {
            Workload::Delay => 1..=2,
            Workload::Loop => 1..=8,
            Workload::LoopFlow => 1..=10,
        }
    }

    /// Builds the program's graph in `g`, with tasks sleeping `unit`, and
    /// returns its result (nothing runs yet).
    ///
    /// ```
    /// use delayed_bench::lesson::Workload;
    ///
    /// let g = delayed::Graph::new();
    /// let z = Workload::Delay.build(&g, std::time::Duration::from_millis(1));
    /// assert_eq!(z.name(), "add");
    /// assert_eq!(z.compute()?, 5);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn build(self, g: &Graph, unit: Duration) -> Delayed<i64> {
        match self {
            Workload::Delay => {
                let x = g.delayed("inc", move || inc(1, unit));
                let y = g.delayed("inc", move || inc(2, unit));
                g.task("add", (&x, &y), move |(x, y)| add(*x, *y, unit))
            }
            Workload::Loop | Workload::LoopFlow => {
                let results: Vec<Delayed<i64>> = self
                    .data()
                    .map(|x| {
                        if self == Workload::Loop || !is_even(x) {
                            g.delayed("inc", move || inc(x, unit))
                        } else {
                            g.delayed("double", move || double(x, unit))
                        }
                    })
                    .collect();
                g.task("sum", &results, |values| values.into_iter().sum::<i64>())
            }
        }
    }

    /// Runs the program as a plain loop in this thread (the lesson's serial
    /// version).
    ///
    /// ```
    /// use delayed_bench::lesson::Workload;
    /// assert_eq!(Workload::LoopFlow.serial(std::time::Duration::ZERO), 90);
    /// ```
    pub fn serial(self, unit: Duration) -> i64 {
        match self {
            Workload::Delay => add(inc(1, unit), inc(2, unit), unit),
            Workload::Loop => self.data().map(|x| inc(x, unit)).sum(),
            Workload::LoopFlow => self
                .data()
                .map(|x| {
                    if is_even(x) {
                        double(x, unit)
                    } else {
                        inc(x, unit)
                    }
                })
                .sum(),
        }
    }

    /// The result the lesson prints: 5, 44 or 90.
    ///
    /// ```
    /// assert_eq!(delayed_bench::lesson::Workload::Loop.expected(), 44);
    /// ```
    pub fn expected(self) -> i64 {
        match self {
            Workload::Delay => 5,
            Workload::Loop => 44,
            Workload::LoopFlow => 90,
        }
    }

    /// The word before the result in the lesson's output: `result` or `total`.
    ///
    /// ```
    /// assert_eq!(delayed_bench::lesson::Workload::Delay.label(), "result");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            Workload::Delay => "result",
            Workload::Loop | Workload::LoopFlow => "total",
        }
    }

    /// Number of tasks [`build`](Workload::build) adds: 3, 9 and 11.
    ///
    /// ```
    /// assert_eq!(delayed_bench::lesson::Workload::LoopFlow.tasks(), 11);
    /// ```
    pub fn tasks(self) -> usize {
        match self {
            Workload::Delay => 3,
            Workload::Loop => 9,
            Workload::LoopFlow => 11,
        }
    }

    /// The least wall-clock time the graph can take on `cpus` CPUs: the
    /// sleeping tasks in waves of `cpus`, then `add` (one more unit) for
    /// `delay`; `sum` does not sleep.
    ///
    /// ```
    /// use delayed_bench::lesson::{Workload, UNIT};
    /// use std::time::Duration;
    ///
    /// assert_eq!(Workload::Delay.ideal(1, UNIT), Duration::from_secs(3));
    /// assert_eq!(Workload::Delay.ideal(2, UNIT), Duration::from_secs(2));
    /// assert_eq!(Workload::Loop.ideal(2, UNIT), Duration::from_secs(4));
    /// assert_eq!(Workload::Loop.ideal(4, UNIT), Duration::from_secs(2));
    /// assert_eq!(Workload::LoopFlow.ideal(4, UNIT), Duration::from_secs(3));
    /// ```
    pub fn ideal(self, cpus: usize, unit: Duration) -> Duration {
        let cpus = cpus.max(1) as u32;
        let parallel = self.data().count() as u32;
        let waves = parallel.div_ceil(cpus);
        match self {
            Workload::Delay => unit * (waves + 1),
            Workload::Loop | Workload::LoopFlow => unit * waves,
        }
    }
}
