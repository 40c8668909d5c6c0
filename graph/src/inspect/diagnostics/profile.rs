//! `Profile`: when each task of one run became ready, started and ended, and
//! on which worker.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

/// One task of a [`Profile`]: what ran, where, and when (times from the start
/// of the run, monotonic).
///
/// Read from [`Profile::tasks`]; also what [`Profile::from_tasks`] builds a
/// profile from (for planning with estimated times, or for tests).
///
/// ```
/// use std::time::Duration;
/// use delayed::{ComputeOptions, Graph};
///
/// let g = Graph::new();
/// let x = g.delayed("load", || 20);
/// let y = g.task("double", &x, |v| v * 2);
/// let out = y.compute_with(&ComputeOptions::new().sync(true).profile(true))?;
/// let profile = out.profile.unwrap();
/// let double = profile.tasks().find(|t| t.name == "double").unwrap();
/// assert_eq!(double.key, y.key());
/// assert_eq!(double.inputs, &[0]); // the index of `load` in the profile
/// assert!(double.ready <= double.start && double.start <= double.end);
/// assert_eq!(double.duration(), double.end - double.start);
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task<'a> {
    /// The task's name, as given to [`Graph::task`](crate::Graph::task).
    pub name: &'a str,
    /// Its node's key ([`Delayed::key`](crate::Delayed::key)).
    pub key: usize,
    /// The worker that ran it, `0..workers` (0 in sync mode).
    pub worker: usize,
    /// When its last input finished (a task without inputs: the start of the run).
    pub ready: Duration,
    /// When its closure was called.
    pub start: Duration,
    /// When its closure returned.
    pub end: Duration,
    /// Its inputs, as indices in the profile's task list (each below this
    /// task's own index: the list is in a topological order), once per edge.
    pub inputs: &'a [u32],
}

impl Task<'_> {
    /// How long the task ran: `end - start`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = delayed::Task {
    ///     name: "inc", key: 0, worker: 0, inputs: &[],
    ///     ready: Duration::ZERO, start: Duration::from_millis(2), end: Duration::from_millis(5),
    /// };
    /// assert_eq!(t.duration(), Duration::from_millis(3));
    /// assert_eq!(t.latency(), Duration::from_millis(2));
    /// ```
    pub fn duration(&self) -> Duration {
        self.end.saturating_sub(self.start)
    }

    /// How long it waited between becoming ready and starting: `start - ready`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = delayed::Task {
    ///     name: "inc", key: 0, worker: 0, inputs: &[],
    ///     ready: Duration::from_millis(1), start: Duration::from_millis(4), end: Duration::from_millis(5),
    /// };
    /// assert_eq!(t.latency(), Duration::from_millis(3));
    /// ```
    pub fn latency(&self) -> Duration {
        self.start.saturating_sub(self.ready)
    }
}

/// One task's times, in nanoseconds from the start of the run, with its
/// worker and name index. The same layout as the recorder's records, which
/// become the rows in place.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct Row {
    pub(crate) ready: u64,
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// The worker in the low 32 bits, the name's index in the high 32.
    pub(crate) meta: u64,
}

impl Row {
    pub(crate) fn new(times: [u64; 3], worker: u32, name: u32) -> Row {
        let [ready, start, end] = times;
        Row {
            ready,
            start,
            end,
            meta: worker as u64 | (name as u64) << 32,
        }
    }

    #[inline]
    pub(crate) fn duration(&self) -> u64 {
        self.end - self.start
    }

    #[inline]
    pub(crate) fn worker(&self) -> u32 {
        self.meta as u32
    }

    #[inline]
    pub(crate) fn name(&self) -> u32 {
        (self.meta >> 32) as u32
    }
}

/// What one profiled compute recorded: per task, its name and key, the worker
/// that ran it, and when it became ready, started and ended; plus the number
/// of workers and the run's wall-clock time.
///
/// Get one from [`Delayed::compute_with`](crate::Delayed::compute_with) with
/// [`ComputeOptions::profile`](crate::ComputeOptions::profile); then ask for
/// the [efficiency report](Profile::efficiency), a [what-if
/// table](Profile::what_if), a [trace](Profile::write_trace) or a coloured
/// [picture](crate::Delayed::visualize_with).
///
/// ```
/// use delayed::{ComputeOptions, Executor, Graph};
///
/// let ex = Executor::builder().workers(2).build()?;
/// let g = Graph::new();
/// let xs: Vec<_> = (0..4).map(|i| g.delayed("inc", move || i + 1)).collect();
/// let total = g.task("sum", &xs, |v| v.into_iter().sum::<i32>());
/// let out = total.compute_with(&ComputeOptions::new().executor(&ex).profile(true))?;
/// assert_eq!(out.value, 10);
/// let profile = out.profile.expect("asked for");
/// assert_eq!((profile.len(), profile.workers()), (5, 2));
/// assert!(profile.tasks().all(|t| t.worker < 2));
/// assert!(profile.work() <= profile.wall() * 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Profile {
    pub(crate) workers: usize,
    pub(crate) wall: Duration,
    pub(crate) names: Vec<Box<str>>,
    pub(crate) rows: Box<[Row]>,
    /// The key of each task; `None` when task `i`'s key is `i` (a run of a
    /// whole graph).
    pub(crate) keys: Option<Vec<u64>>,
    /// The inputs of task `i` are `input_ids[input_offsets[i]..input_offsets[i + 1]]`.
    pub(crate) input_offsets: Vec<u32>,
    pub(crate) input_ids: Vec<u32>,
    /// The first worker of each rank, for a profile of a multi-node
    /// compute (`with_ranks`); empty for one node.
    pub(crate) rank_starts: Vec<u32>,
}

fn ns(d: Duration) -> u64 {
    d.as_nanos().try_into().unwrap_or(u64::MAX)
}

impl Profile {
    /// A profile from tasks given in a topological order (each task's
    /// `inputs` are indices of earlier tasks), run by `workers` workers in
    /// `wall`: to plan with estimated task times before running, or to test.
    ///
    /// ```
    /// use std::time::Duration;
    /// use delayed::{Profile, Task};
    ///
    /// let s = Duration::from_secs;
    /// let task = |name, worker, start, end, inputs| Task {
    ///     name, key: 0, worker, ready: s(0), start: s(start), end: s(end), inputs,
    /// };
    /// let profile = Profile::from_tasks(2, s(3), [
    ///     task("a", 0, 0, 2, &[]),
    ///     task("b", 1, 0, 1, &[]),
    ///     task("c", 0, 2, 3, &[0, 1]),
    /// ]);
    /// assert_eq!(profile.work(), s(4));
    /// assert_eq!(profile.efficiency().span(), s(3)); // a, then c
    /// ```
    ///
    /// # Panics
    /// If a task's input is not an earlier task, its times are not
    /// `ready <= start <= end`, or its worker is not below `workers`.
    pub fn from_tasks<'a>(
        workers: usize,
        wall: Duration,
        tasks: impl IntoIterator<Item = Task<'a>>,
    ) -> Profile {
        let tasks = tasks.into_iter();
        let mut builder = ProfileBuilder::with_capacity(tasks.size_hint().0);
        let mut rows = Vec::with_capacity(tasks.size_hint().0);
        for (i, t) in tasks.enumerate() {
            assert!(
                t.inputs.iter().all(|&j| (j as usize) < i),
                "delayed: task {i} ({}) has an input that is not an earlier task: {:?}",
                t.name,
                t.inputs
            );
            assert!(
                t.ready <= t.start && t.start <= t.end,
                "delayed: task {i} ({}) has times not in the order ready <= start <= end",
                t.name
            );
            assert!(
                t.worker < workers,
                "delayed: task {i} ({}) ran on worker {}, but there are {workers} workers",
                t.name,
                t.worker
            );
            let name = builder.describe(i, t.name, t.key, t.inputs);
            let times = [ns(t.ready), ns(t.start), ns(t.end)];
            rows.push(Row::new(times, t.worker as u32, name));
        }
        builder.build(rows.into_boxed_slice(), workers, wall)
    }

    /// This profile as one of a multi-node compute: its workers are those of
    /// the ranks in turn, `workers_per_rank[r]` of rank `r` (worker `w` of
    /// rank `r` is worker `w` plus the workers of the ranks before it).
    /// A multi-node compute's profile (`delayed::mpi`) comes this way.
    ///
    /// ```
    /// use std::time::Duration;
    /// use delayed::{Profile, Task};
    ///
    /// let s = Duration::from_secs;
    /// let task = |name, worker, start, end, inputs| Task {
    ///     name, key: 0, worker, ready: s(start), start: s(start), end: s(end), inputs,
    /// };
    /// let profile = Profile::from_tasks(3, s(2), [
    ///     task("a", 0, 0, 1, &[]),
    ///     task("b", 2, 0, 1, &[]),
    ///     task("c", 1, 1, 2, &[0, 1]),
    /// ])
    /// .with_ranks(&[2, 1]);
    /// assert_eq!(profile.ranks(), 2);
    /// assert_eq!((profile.rank(0), profile.rank(1), profile.rank(2)), (0, 1, 0));
    /// assert!(profile.to_chrome_trace().contains("\"name\":\"rank 1\""));
    /// ```
    ///
    /// # Panics
    /// If the ranks' workers do not add up to the profile's.
    pub fn with_ranks(mut self, workers_per_rank: &[usize]) -> Profile {
        assert_eq!(
            workers_per_rank.iter().sum::<usize>(),
            self.workers,
            "delayed: the ranks' workers must add up to the profile's"
        );
        let mut first = 0;
        self.rank_starts = workers_per_rank
            .iter()
            .map(|&w| {
                let start = first;
                first += w as u32;
                start
            })
            .collect();
        self
    }

    /// Number of ranks whose workers ran the tasks: 1 on one node.
    ///
    /// ```
    /// let p = delayed::Profile::from_tasks(2, std::time::Duration::ZERO, []);
    /// assert_eq!(p.ranks(), 1);
    /// ```
    pub fn ranks(&self) -> usize {
        self.rank_starts.len().max(1)
    }

    /// The rank that ran task `i` (0 on one node).
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = delayed::Task {
    ///     name: "a", key: 0, worker: 1, ready: Duration::ZERO,
    ///     start: Duration::ZERO, end: Duration::ZERO, inputs: &[],
    /// };
    /// let p = delayed::Profile::from_tasks(2, Duration::ZERO, [t]);
    /// assert_eq!(p.rank(0), 0);
    /// assert_eq!(p.with_ranks(&[1, 1]).rank(0), 1);
    /// ```
    ///
    /// # Panics
    /// If there is no task `i`.
    pub fn rank(&self, i: usize) -> usize {
        self.rank_of_worker(self.rows[i].worker())
    }

    /// The rank of global worker `worker`, and its first worker.
    pub(crate) fn rank_of_worker(&self, worker: u32) -> usize {
        self.rank_starts
            .partition_point(|&first| first <= worker)
            .saturating_sub(1)
    }

    /// Number of tasks.
    ///
    /// ```
    /// let p = delayed::Profile::from_tasks(1, std::time::Duration::ZERO, []);
    /// assert_eq!(p.len(), 0);
    /// assert!(p.is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no task ran.
    ///
    /// ```
    /// let p = delayed::Profile::from_tasks(2, std::time::Duration::ZERO, []);
    /// assert!(p.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Number of workers of the run (1 in sync mode).
    ///
    /// ```
    /// let p = delayed::Profile::from_tasks(4, std::time::Duration::ZERO, []);
    /// assert_eq!(p.workers(), 4);
    /// ```
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Wall-clock time of the run, from its first task becoming ready to the
    /// caller getting its results.
    ///
    /// ```
    /// let p = delayed::Profile::from_tasks(1, std::time::Duration::from_secs(2), []);
    /// assert_eq!(p.wall(), std::time::Duration::from_secs(2));
    /// ```
    pub fn wall(&self) -> Duration {
        self.wall
    }

    /// Task `i` (`i < len()`), in the profile's topological order.
    ///
    /// ```
    /// use delayed::{ComputeOptions, Graph};
    /// let g = Graph::new();
    /// let x = g.delayed("x", || 1);
    /// let profile = x.compute_with(&ComputeOptions::new().profile(true))?.profile.unwrap();
    /// assert_eq!(profile.task(0).name, "x");
    /// # Ok::<(), delayed::Error>(())
    /// ```
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn task(&self, i: usize) -> Task<'_> {
        let row = &self.rows[i];
        Task {
            name: self.name(row),
            key: self.key(i) as usize,
            worker: row.worker() as usize,
            ready: Duration::from_nanos(row.ready),
            start: Duration::from_nanos(row.start),
            end: Duration::from_nanos(row.end),
            inputs: self.inputs(i),
        }
    }

    /// The tasks, in a topological order (inputs before their consumers).
    ///
    /// ```
    /// use delayed::{ComputeOptions, Graph};
    /// let g = Graph::new();
    /// let xs: Vec<_> = (0..3).map(|i| g.delayed("x", move || i)).collect();
    /// let out = delayed::compute_with(&xs, &ComputeOptions::new().profile(true))?;
    /// let profile = out.profile.unwrap();
    /// assert_eq!(profile.tasks().filter(|t| t.name == "x").count(), 3);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn tasks(&self) -> impl ExactSizeIterator<Item = Task<'_>> + '_ {
        (0..self.len()).map(|i| self.task(i))
    }

    /// The work `T1`: the sum of the task times.
    ///
    /// ```
    /// let p = delayed::Profile::from_tasks(1, std::time::Duration::ZERO, []);
    /// assert_eq!(p.work(), std::time::Duration::ZERO);
    /// ```
    pub fn work(&self) -> Duration {
        Duration::from_nanos(self.rows.iter().map(Row::duration).sum())
    }

    /// The distribution of ready-to-start latencies, in nanoseconds: how long
    /// ready tasks waited for a worker (including the scheduler's own delay).
    ///
    /// ```
    /// use delayed::{ComputeOptions, Graph};
    /// let g = Graph::new();
    /// let xs: Vec<_> = (0..100).map(|i| g.delayed("x", move || i)).collect();
    /// let profile = delayed::compute_with(&xs, &ComputeOptions::new().profile(true))?
    ///     .profile
    ///     .unwrap();
    /// let latency = profile.latency_histogram();
    /// assert_eq!(latency.len(), 100);
    /// println!("median {} ns, p99 {} ns", latency.value_at_quantile(0.5), latency.value_at_quantile(0.99));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn latency_histogram(&self) -> Histogram<u64> {
        // Three significant digits from 1 ns up; the histogram grows as needed.
        let mut histogram = Histogram::new(3).expect("3 significant digits are valid");
        for row in &self.rows {
            // A growing histogram only fails to record when out of memory.
            let _ = histogram.record(row.start - row.ready);
        }
        histogram
    }

    /// The inputs of task `i`, as task indices.
    #[inline]
    pub(crate) fn inputs(&self, i: usize) -> &[u32] {
        &self.input_ids[self.input_offsets[i] as usize..self.input_offsets[i + 1] as usize]
    }

    /// The name of a row.
    pub(crate) fn name(&self, row: &Row) -> &str {
        &self.names[row.name() as usize]
    }

    /// The key of task `i`.
    #[inline]
    pub(crate) fn key(&self, i: usize) -> u64 {
        self.keys.as_ref().map_or(i as u64, |keys| keys[i])
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("tasks", &self.len())
            .field("workers", &self.workers)
            .field("wall", &self.wall)
            .field("work", &self.work())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Profile`]'s names, keys and inputs task by task, interning
/// task names; the rows of times come separately.
pub(crate) struct ProfileBuilder<'a> {
    names: Vec<Box<str>>,
    index: HashMap<&'a str, u32>,
    /// The last name seen and its index: consecutive tasks often share one.
    last: Option<(&'a str, u32)>,
    /// `None` while every key so far equals its task's index.
    keys: Option<Vec<u64>>,
    input_offsets: Vec<u32>,
    input_ids: Vec<u32>,
}

impl<'a> ProfileBuilder<'a> {
    pub(crate) fn with_capacity(tasks: usize) -> Self {
        let mut input_offsets = Vec::with_capacity(tasks + 1);
        input_offsets.push(0);
        ProfileBuilder {
            names: Vec::new(),
            index: HashMap::new(),
            last: None,
            keys: None,
            input_offsets,
            input_ids: Vec::with_capacity(tasks),
        }
    }

    /// Adds task `i` (the next one): its name, key and inputs; returns the
    /// name's index.
    pub(crate) fn describe(&mut self, i: usize, name: &'a str, key: usize, inputs: &[u32]) -> u32 {
        let name = match self.last {
            Some((last, index)) if std::ptr::eq(last, name) || last == name => index,
            _ => {
                let names = &mut self.names;
                let index = *self.index.entry(name).or_insert_with(|| {
                    names.push(name.into());
                    (names.len() - 1) as u32
                });
                self.last = Some((name, index));
                index
            }
        };
        match &mut self.keys {
            Some(keys) => keys.push(key as u64),
            None if key != i => {
                let mut keys: Vec<u64> = (0..i as u64).collect();
                keys.push(key as u64);
                self.keys = Some(keys);
            }
            None => {}
        }
        self.input_ids.extend_from_slice(inputs);
        let offset = u32::try_from(self.input_ids.len())
            .expect("delayed: a profile holds fewer than 2^32 edges");
        self.input_offsets.push(offset);
        name
    }

    /// The profile of `rows`, one per task described.
    pub(crate) fn build(self, rows: Box<[Row]>, workers: usize, wall: Duration) -> Profile {
        debug_assert_eq!(rows.len() + 1, self.input_offsets.len());
        Profile {
            workers,
            wall,
            names: self.names,
            rows,
            keys: self.keys,
            input_offsets: self.input_offsets,
            input_ids: self.input_ids,
            rank_starts: Vec::new(),
        }
    }
}
