//! The efficiency report: how close a run came to the best possible time.
//!
//! Work `T1` is the sum of the task times; span `T∞` the longest chain of
//! dependent tasks by measured times (the critical path). No schedule on `P`
//! workers beats `max(T1 / P, T∞)` (the work and span laws), so that bound
//! divided by the achieved time says how much of the possible speed the run
//! got; the rest is overhead (scheduling, and tasks waiting for a worker).

use std::fmt;
use std::time::Duration;

use super::human;
use super::profile::{Profile, Task};

/// The critical path of `profile` by measured task times: its length and its
/// tasks, first to last.
pub(crate) fn critical_path(profile: &Profile) -> (u64, Vec<u32>) {
    let n = profile.len();
    // longest[i]: the longest chain of tasks ending with i, i included.
    let mut longest = vec![0u64; n];
    // before[i]: the input on that chain, u32::MAX for none.
    let mut before = vec![u32::MAX; n];
    let mut last = None::<(u64, usize)>;
    for (i, row) in profile.rows.iter().enumerate() {
        let mut best = (0, u32::MAX);
        for &j in profile.inputs(i) {
            if longest[j as usize] > best.0 || best.1 == u32::MAX {
                best = (longest[j as usize], j);
            }
        }
        longest[i] = best.0 + row.duration();
        before[i] = best.1;
        if last.map_or(true, |(length, _)| longest[i] >= length) {
            last = Some((longest[i], i));
        }
    }
    let Some((length, mut i)) = last else {
        return (0, Vec::new());
    };
    let mut path = vec![i as u32];
    while before[i] != u32::MAX {
        i = before[i] as usize;
        path.push(i as u32);
    }
    path.reverse();
    (length, path)
}

/// How close a run came to the best possible time on its workers: work,
/// span (critical path), the bound `max(T1 / P, T∞)`, the achieved time,
/// efficiency (bound / achieved) and overhead (achieved − bound).
///
/// Made by [`Profile::efficiency`]; its `Display` is the report.
///
/// ```
/// use std::time::Duration;
/// use delayed::{Profile, Task};
///
/// // The lesson's loop on 4 workers, as measured: 8 `inc`s of 1 s in two
/// // waves, then `sum`, which takes no time.
/// let s = |ms: u64| Duration::from_millis(ms);
/// let incs: Vec<Task> = (0..8u64)
///     .map(|i| Task {
///         name: "inc", key: i as usize, worker: i as usize % 4, inputs: &[],
///         ready: s(0), start: s(i / 4 * 1000), end: s(i / 4 * 1000 + 1000),
///     })
///     .collect();
/// let inputs: Vec<u32> = (0..8).collect();
/// let sum = Task {
///     name: "sum", key: 8, worker: 0, inputs: &inputs,
///     ready: s(2000), start: s(2000), end: s(2000),
/// };
/// let profile = Profile::from_tasks(4, s(2004), incs.into_iter().chain([sum]));
/// let report = profile.efficiency();
/// assert_eq!(report.work(), s(8000));
/// assert_eq!(report.span(), s(1000));
/// assert_eq!(report.bound(), s(2000));
/// assert_eq!(report.achieved(), s(2004));
/// assert!((report.efficiency() - 2000.0 / 2004.0).abs() < 1e-9);
/// assert_eq!(report.overhead(), s(4));
/// assert_eq!(report.critical_path().map(|t| t.name).collect::<Vec<_>>(), ["inc", "sum"]);
/// println!("{report}");
/// ```
#[derive(Clone, Debug)]
pub struct EfficiencyReport<'p> {
    profile: &'p Profile,
    work: Duration,
    span: Duration,
    path: Vec<u32>,
}

impl Profile {
    /// `bound / achieved`, in `0..=1` (1 for a run that took no time).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let s = Duration::from_secs;
    /// # let t = |start: u64, end: u64, inputs: &'static [u32]| delayed::Task {
    /// #     name: "t", key: 0, worker: 0, ready: s(start), start: s(start), end: s(end), inputs,
    /// # };
    /// // a (2 s) and b (1 s) side by side, then c (1 s): 4 s of work on 2 workers in 3 s.
    /// let profile = delayed::Profile::from_tasks(2, s(3), [t(0, 2, &[]), t(0, 1, &[]), t(2, 3, &[0, 1])]);
    /// let report = profile.efficiency();
    /// assert_eq!(report.efficiency(), 1.0);
    /// ```
    pub fn efficiency(&self) -> EfficiencyReport<'_> {
        let (span, path) = critical_path(self);
        EfficiencyReport {
            profile: self,
            work: self.work(),
            span: Duration::from_nanos(span),
            path,
        }
    }
}

impl<'p> EfficiencyReport<'p> {
    /// Number of workers `P` the bound is for: the run's.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let s = Duration::from_secs;
    /// # let t = |start: u64, end: u64, inputs: &'static [u32]| delayed::Task {
    /// #     name: "t", key: 0, worker: 0, ready: s(start), start: s(start), end: s(end), inputs,
    /// # };
    /// // a (2 s) and b (1 s) side by side, then c (1 s): 4 s of work on 2 workers in 3 s.
    /// let profile = delayed::Profile::from_tasks(2, s(3), [t(0, 2, &[]), t(0, 1, &[]), t(2, 3, &[0, 1])]);
    /// let report = profile.efficiency();
    /// assert_eq!(report.workers(), 2);
    /// ```
    pub fn workers(&self) -> usize {
        self.profile.workers()
    }

    /// Work `T1`: the sum of the task times.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let s = Duration::from_secs;
    /// # let t = |start: u64, end: u64, inputs: &'static [u32]| delayed::Task {
    /// #     name: "t", key: 0, worker: 0, ready: s(start), start: s(start), end: s(end), inputs,
    /// # };
    /// // a (2 s) and b (1 s) side by side, then c (1 s): 4 s of work on 2 workers in 3 s.
    /// let profile = delayed::Profile::from_tasks(2, s(3), [t(0, 2, &[]), t(0, 1, &[]), t(2, 3, &[0, 1])]);
    /// let report = profile.efficiency();
    /// assert_eq!(report.work(), s(4));
    /// ```
    pub fn work(&self) -> Duration {
        self.work
    }

    /// Span `T∞`: the length of the critical path by measured task times.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let s = Duration::from_secs;
    /// # let t = |start: u64, end: u64, inputs: &'static [u32]| delayed::Task {
    /// #     name: "t", key: 0, worker: 0, ready: s(start), start: s(start), end: s(end), inputs,
    /// # };
    /// // a (2 s) and b (1 s) side by side, then c (1 s): 4 s of work on 2 workers in 3 s.
    /// let profile = delayed::Profile::from_tasks(2, s(3), [t(0, 2, &[]), t(0, 1, &[]), t(2, 3, &[0, 1])]);
    /// let report = profile.efficiency();
    /// assert_eq!(report.span(), s(3)); // a, then c
    /// ```
    pub fn span(&self) -> Duration {
        self.span
    }

    /// The tasks of the critical path, first to last.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let s = Duration::from_secs;
    /// # let t = |start: u64, end: u64, inputs: &'static [u32]| delayed::Task {
    /// #     name: "t", key: 0, worker: 0, ready: s(start), start: s(start), end: s(end), inputs,
    /// # };
    /// // a (2 s) and b (1 s) side by side, then c (1 s): 4 s of work on 2 workers in 3 s.
    /// let profile = delayed::Profile::from_tasks(2, s(3), [t(0, 2, &[]), t(0, 1, &[]), t(2, 3, &[0, 1])]);
    /// let report = profile.efficiency();
    /// assert_eq!(report.critical_path().map(|t| t.start).collect::<Vec<_>>(), [s(0), s(2)]);
    /// ```
    pub fn critical_path(&self) -> impl ExactSizeIterator<Item = Task<'p>> + '_ {
        self.path.iter().map(|&i| self.profile.task(i as usize))
    }

    /// The least time any schedule on `P` workers can take:
    /// `max(T1 / P, T∞)`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let s = Duration::from_secs;
    /// # let t = |start: u64, end: u64, inputs: &'static [u32]| delayed::Task {
    /// #     name: "t", key: 0, worker: 0, ready: s(start), start: s(start), end: s(end), inputs,
    /// # };
    /// // a (2 s) and b (1 s) side by side, then c (1 s): 4 s of work on 2 workers in 3 s.
    /// let profile = delayed::Profile::from_tasks(2, s(3), [t(0, 2, &[]), t(0, 1, &[]), t(2, 3, &[0, 1])]);
    /// let report = profile.efficiency();
    /// assert_eq!(report.bound(), s(3)); // max(4 / 2, 3)
    /// ```
    pub fn bound(&self) -> Duration {
        (self.work / self.workers().max(1) as u32).max(self.span)
    }

    /// The run's wall-clock time.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let s = Duration::from_secs;
    /// # let t = |start: u64, end: u64, inputs: &'static [u32]| delayed::Task {
    /// #     name: "t", key: 0, worker: 0, ready: s(start), start: s(start), end: s(end), inputs,
    /// # };
    /// // a (2 s) and b (1 s) side by side, then c (1 s): 4 s of work on 2 workers in 3 s.
    /// let profile = delayed::Profile::from_tasks(2, s(3), [t(0, 2, &[]), t(0, 1, &[]), t(2, 3, &[0, 1])]);
    /// let report = profile.efficiency();
    /// assert_eq!(report.achieved(), s(3));
    /// ```
    pub fn achieved(&self) -> Duration {
        self.profile.wall()
    }

    /// `bound / achieved`, in `0..=1` (1 for a run that took no time).
    pub fn efficiency(&self) -> f64 {
        if self.achieved().is_zero() {
            return 1.0;
        }
        (self.bound().as_secs_f64() / self.achieved().as_secs_f64()).min(1.0)
    }

    /// `achieved - bound`: time lost to scheduling and to tasks waiting for a
    /// worker (zero if the run met the bound).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let s = Duration::from_secs;
    /// # let t = |start: u64, end: u64, inputs: &'static [u32]| delayed::Task {
    /// #     name: "t", key: 0, worker: 0, ready: s(start), start: s(start), end: s(end), inputs,
    /// # };
    /// // a (2 s) and b (1 s) side by side, then c (1 s): 4 s of work on 2 workers in 3 s.
    /// let profile = delayed::Profile::from_tasks(2, s(3), [t(0, 2, &[]), t(0, 1, &[]), t(2, 3, &[0, 1])]);
    /// let report = profile.efficiency();
    /// assert_eq!(report.overhead(), Duration::ZERO);
    /// ```
    pub fn overhead(&self) -> Duration {
        self.achieved().saturating_sub(self.bound())
    }
}

/// Describes a critical path: every task for a short one, else its ends.
fn describe_path(report: &EfficiencyReport<'_>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    const HEAD: usize = 3;
    const TAIL: usize = 2;
    let n = report.path.len();
    let step = |i: usize| {
        let t = report.profile.task(report.path[i] as usize);
        format!("{} #{}", t.name, t.key)
    };
    let steps: Vec<String> = if n <= HEAD + TAIL + 1 {
        (0..n).map(step).collect()
    } else {
        let mut steps: Vec<String> = (0..HEAD).map(step).collect();
        steps.push(format!("… {} more …", n - HEAD - TAIL));
        steps.extend((n - TAIL..n).map(step));
        steps
    };
    write!(f, "{} task(s): {}", n, steps.join(" → "))
}

impl fmt::Display for EfficiencyReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.workers();
        write!(
            f,
            "efficiency of {} tasks on {p} worker(s)",
            self.profile.len()
        )?;
        let ranks = self.profile.ranks();
        if ranks > 1 {
            write!(f, " of {ranks} ranks")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "  work T1              {:>10}  sum of task times",
            human(self.work)
        )?;
        write!(
            f,
            "  span T∞              {:>10}  critical path, ",
            human(self.span)
        )?;
        describe_path(self, f)?;
        writeln!(f)?;
        writeln!(
            f,
            "  bound max(T1/P, T∞)  {:>10}  T1/P = {} for P = {p}",
            human(self.bound()),
            human(self.work / p.max(1) as u32)
        )?;
        writeln!(f, "  achieved             {:>10}", human(self.achieved()))?;
        writeln!(
            f,
            "  efficiency           {:>8.1} %  bound / achieved",
            self.efficiency() * 100.0
        )?;
        write!(
            f,
            "  overhead             {:>10}  achieved − bound",
            human(self.overhead())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(worker: usize, start: u64, end: u64, inputs: &[u32]) -> Task<'_> {
        let s = Duration::from_secs;
        Task {
            name: "t",
            key: 0,
            worker,
            ready: s(start),
            start: s(start),
            end: s(end),
            inputs,
        }
    }

    #[test]
    fn the_critical_path_follows_the_longest_inputs() {
        // a(1) → c(5) → e(1); b(3) → d(1) → e; e needs c and d.
        let p = Profile::from_tasks(
            2,
            Duration::from_secs(7),
            [
                task(0, 0, 1, &[]),
                task(1, 0, 3, &[]),
                task(0, 1, 6, &[0]),
                task(1, 3, 4, &[1]),
                task(0, 6, 7, &[2, 3]),
            ],
        );
        let (length, path) = critical_path(&p);
        assert_eq!(length, 7_000_000_000);
        assert_eq!(path, [0, 2, 4]);
        let report = p.efficiency();
        assert_eq!(report.work(), Duration::from_secs(11));
        assert_eq!(report.bound(), Duration::from_secs(7));
        assert_eq!(report.efficiency(), 1.0);
        assert_eq!(report.overhead(), Duration::ZERO);
        let text = report.to_string();
        assert!(text.contains("3 task(s): t #0 → t #0 → t #0"), "{text}");
    }

    #[test]
    fn an_empty_profile_has_an_empty_path() {
        let p = Profile::from_tasks(1, Duration::ZERO, []);
        assert_eq!(critical_path(&p), (0, vec![]));
        assert_eq!(p.efficiency().efficiency(), 1.0);
    }

    #[test]
    fn long_paths_are_shortened_in_the_report() {
        let inputs: Vec<[u32; 1]> = (0..100).map(|i| [i]).collect();
        let tasks = (0..100u64).map(|i| {
            let inputs: &[u32] = if i == 0 { &[] } else { &inputs[i as usize - 1] };
            task(0, i, i + 1, inputs)
        });
        let p = Profile::from_tasks(1, Duration::from_secs(100), tasks);
        let text = p.efficiency().to_string();
        assert!(
            text.contains("100 task(s)") && text.contains("… 95 more …"),
            "{text}"
        );
    }
}
