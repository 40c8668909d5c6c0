//! What-if: the measured task times replayed through a list-scheduling
//! simulation for other numbers of workers.
//!
//! List scheduling (Graham): whenever a worker is free and a task is ready,
//! the worker starts the task that became ready first (ties: the earlier in
//! the profile's order). Tasks keep their measured times; scheduling itself
//! costs nothing, so the prediction is what the run would take if the
//! executor were free, and the measured run's overhead shows how far it is.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::time::Duration;

use super::human;
use super::profile::Profile;

/// The worker counts a what-if table shows by default: 1, 2, 4, … 64.
///
/// ```
/// assert_eq!(delayed::WHAT_IF_WORKERS, [1, 2, 4, 8, 16, 32, 64]);
/// ```
pub const WHAT_IF_WORKERS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

/// One row of a [`WhatIf`] table.
///
/// ```
/// use std::time::Duration;
/// let s = Duration::from_secs;
/// let t = delayed::Task { name: "t", key: 0, worker: 0, ready: s(0), start: s(0), end: s(3), inputs: &[] };
/// let row = delayed::Profile::from_tasks(1, s(3), [t]).what_if(&[2]).rows()[0];
/// assert_eq!(row, delayed::WhatIfRow { workers: 2, predicted: s(3), bound: s(3) });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WhatIfRow {
    /// Number of workers `P`.
    pub workers: usize,
    /// The simulated wall-clock time on `P` workers.
    pub predicted: Duration,
    /// The bound `max(T1 / P, T∞)`, which no schedule beats.
    pub bound: Duration,
}

/// Predicted times of a profiled graph on other numbers of workers: how many
/// CPUs are worth asking for (e.g. Slurm's `--cpus-per-task`).
///
/// Made by [`Profile::what_if`]; its `Display` is the table, with the run's
/// own time beside the row of its worker count.
///
/// ```
/// use std::time::Duration;
/// use delayed::{Profile, Task};
///
/// // Three independent tasks of 2 s, 2 s and 1 s, measured on one worker.
/// let s = Duration::from_secs;
/// let task = |start, end| Task { name: "t", key: 0, worker: 0, inputs: &[], ready: s(0), start: s(start), end: s(end) };
/// let profile = Profile::from_tasks(1, s(5), [task(0, 2), task(2, 4), task(4, 5)]);
/// let table = profile.what_if(&[1, 2, 3]);
/// assert_eq!(table.predicted(1), Some(s(5)));
/// assert_eq!(table.predicted(2), Some(s(3))); // 2 s | 2 s, then 1 s
/// assert_eq!(table.predicted(3), Some(s(2)));
/// assert_eq!(table.rows()[1].bound, Duration::from_millis(2500)); // max(5 / 2, 2)
/// println!("{table}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhatIf {
    rows: Vec<WhatIfRow>,
    work: Duration,
    measured: (usize, Duration),
}

impl WhatIf {
    /// The rows, in the order asked.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let s = Duration::from_secs;
    /// # let t = |start: u64, end: u64| delayed::Task {
    /// #     name: "t", key: 0, worker: 0, ready: s(0), start: s(start), end: s(end), inputs: &[],
    /// # };
    /// // Four independent tasks of 1 s, run on one worker.
    /// let profile = delayed::Profile::from_tasks(1, s(4), [t(0, 1), t(1, 2), t(2, 3), t(3, 4)]);
    /// let table = profile.what_if(&[1, 2, 4]);
    /// assert_eq!(table.rows().iter().map(|r| r.predicted).collect::<Vec<_>>(), [s(4), s(2), s(1)]);
    /// ```
    pub fn rows(&self) -> &[WhatIfRow] {
        &self.rows
    }

    /// The predicted time on `workers`, if that row was asked for.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let s = Duration::from_secs;
    /// # let t = |start: u64, end: u64| delayed::Task {
    /// #     name: "t", key: 0, worker: 0, ready: s(0), start: s(start), end: s(end), inputs: &[],
    /// # };
    /// // Four independent tasks of 1 s, run on one worker.
    /// let profile = delayed::Profile::from_tasks(1, s(4), [t(0, 1), t(1, 2), t(2, 3), t(3, 4)]);
    /// let table = profile.what_if(&[1, 2, 4]);
    /// assert_eq!((table.predicted(2), table.predicted(3)), (Some(s(2)), None));
    /// ```
    pub fn predicted(&self, workers: usize) -> Option<Duration> {
        self.rows
            .iter()
            .find(|r| r.workers == workers)
            .map(|r| r.predicted)
    }

    /// The run the profile measured: its workers and wall-clock time.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let s = Duration::from_secs;
    /// # let t = |start: u64, end: u64| delayed::Task {
    /// #     name: "t", key: 0, worker: 0, ready: s(0), start: s(start), end: s(end), inputs: &[],
    /// # };
    /// // Four independent tasks of 1 s, run on one worker.
    /// let profile = delayed::Profile::from_tasks(1, s(4), [t(0, 1), t(1, 2), t(2, 3), t(3, 4)]);
    /// let table = profile.what_if(&[1, 2, 4]);
    /// assert_eq!(table.measured(), (1, s(4)));
    /// ```
    pub fn measured(&self) -> (usize, Duration) {
        self.measured
    }
}

impl Profile {
    /// Replays the measured task times through a list-scheduling simulation
    /// for each worker count in `workers` (e.g. [`WHAT_IF_WORKERS`]).
    ///
    /// ```
    /// use delayed::{ComputeOptions, Graph, WHAT_IF_WORKERS};
    ///
    /// let g = Graph::new();
    /// let xs: Vec<_> = (0..8).map(|i| g.delayed("inc", move || i + 1)).collect();
    /// let total = g.task("sum", &xs, |v| v.into_iter().sum::<i32>());
    /// let out = total.compute_with(&ComputeOptions::new().profile(true))?;
    /// let table = out.profile.unwrap().what_if(&WHAT_IF_WORKERS);
    /// assert_eq!(table.rows().len(), 7);
    /// assert!(table.predicted(64) <= table.predicted(1));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    ///
    /// # Panics
    /// If a worker count is 0.
    pub fn what_if(&self, workers: &[usize]) -> WhatIf {
        let report = self.efficiency();
        let (work, span) = (report.work(), report.span());
        let rows = workers
            .iter()
            .map(|&p| {
                assert!(p > 0, "delayed: what-if for 0 workers");
                WhatIfRow {
                    workers: p,
                    predicted: Duration::from_nanos(simulate(self, p)),
                    bound: (work / p as u32).max(span),
                }
            })
            .collect();
        WhatIf {
            rows,
            work,
            measured: (self.workers(), self.wall()),
        }
    }
}

/// The makespan, in nanoseconds, of a list schedule of `profile`'s tasks
/// (measured durations) on `workers` workers.
pub(crate) fn simulate(profile: &Profile, workers: usize) -> u64 {
    let n = profile.len();
    // Successors as a compressed adjacency list, one entry per edge.
    let mut pending: Vec<u32> = (0..n).map(|i| profile.inputs(i).len() as u32).collect();
    let mut offsets = vec![0u32; n + 1];
    for &j in &profile.input_ids {
        offsets[j as usize + 1] += 1;
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut successors = vec![0u32; offsets[n] as usize];
    for i in 0..n {
        for &j in profile.inputs(i) {
            successors[fill[j as usize] as usize] = i as u32;
            fill[j as usize] += 1;
        }
    }

    let mut ready: VecDeque<u32> = (0..n as u32)
        .filter(|&i| pending[i as usize] == 0)
        .collect();
    // Running tasks by end time (then index, for a deterministic order).
    let mut running: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::with_capacity(workers.min(n));
    let (mut idle, mut now, mut makespan) = (workers, 0u64, 0u64);
    loop {
        while idle > 0 {
            let Some(k) = ready.pop_front() else { break };
            let end = now + profile.rows[k as usize].duration();
            running.push(Reverse((end, k)));
            idle -= 1;
        }
        let Some(Reverse((end, _))) = running.peek().copied() else {
            break;
        };
        now = end;
        makespan = makespan.max(end);
        // Every task ending now frees its worker before the next dispatch.
        while let Some(&Reverse((end, k))) = running.peek() {
            if end != now {
                break;
            }
            running.pop();
            idle += 1;
            let k = k as usize;
            for &s in &successors[offsets[k] as usize..offsets[k + 1] as usize] {
                pending[s as usize] -= 1;
                if pending[s as usize] == 0 {
                    ready.push_back(s);
                }
            }
        }
    }
    makespan
}

impl fmt::Display for WhatIf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "what if: the measured task times, list-scheduled on P workers"
        )?;
        write!(
            f,
            "  {:>7}  {:>10}  {:>10}  {:>8}  {:>10}",
            "workers", "predicted", "bound", "speed-up", "efficiency"
        )?;
        let serial = self.work.as_secs_f64();
        for row in &self.rows {
            let predicted = row.predicted.as_secs_f64();
            let speedup = if predicted > 0.0 {
                serial / predicted
            } else {
                1.0
            };
            write!(
                f,
                "\n  {:>7}  {:>10}  {:>10}  {:>7.2}x  {:>8.1} %",
                row.workers,
                human(row.predicted),
                human(row.bound),
                speedup,
                speedup / row.workers as f64 * 100.0
            )?;
            if row.workers == self.measured.0 {
                write!(f, "  (measured: {})", human(self.measured.1))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::diagnostics::Task;

    fn profile(tasks: &[(u64, &[u32])]) -> Profile {
        let s = Duration::from_secs;
        let mut start = 0;
        let tasks: Vec<Task<'_>> = tasks
            .iter()
            .map(|&(duration, inputs)| {
                let t = Task {
                    name: "t",
                    key: 0,
                    worker: 0,
                    ready: s(0),
                    start: s(start),
                    end: s(start + duration),
                    inputs,
                };
                start += duration;
                t
            })
            .collect();
        Profile::from_tasks(1, s(start), tasks)
    }

    #[test]
    fn a_diamond_on_one_two_and_three_workers() {
        // a(3), b(2), c(2), d(1) after a and b.
        let p = profile(&[(3, &[]), (2, &[]), (2, &[]), (1, &[0, 1])]);
        let sec = 1_000_000_000;
        assert_eq!(simulate(&p, 1), 8 * sec);
        // a, b at 0; c at 2 (b ends); d at 3 (a ends): ends at 4.
        assert_eq!(simulate(&p, 2), 4 * sec);
        assert_eq!(simulate(&p, 3), 4 * sec);
    }

    #[test]
    fn ready_order_decides_and_the_table_marks_the_measured_row() {
        // a(1) → c(4); b(2) on two workers: a, b; c at 1 → 5.
        let p = profile(&[(1, &[]), (2, &[]), (4, &[0])]);
        assert_eq!(simulate(&p, 2), 5_000_000_000);
        let table = p.what_if(&[1, 2]);
        let text = table.to_string();
        assert!(text.contains("(measured: 7.000 s)"), "{text}");
        assert_eq!(table.measured(), (1, Duration::from_secs(7)));
    }

    #[test]
    fn an_empty_profile_takes_no_time() {
        assert_eq!(simulate(&profile(&[]), 4), 0);
    }
}
