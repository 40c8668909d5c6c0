//! `Placement`: where each task runs, computed from an earlier run's
//! profile by list scheduling over ranks × workers, with a cost for every
//! edge that crosses ranks: what the default placement cannot guess from
//! the graph alone (tasks of very different lengths).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::Profile;

/// A placement of tasks on ranks, learnt from a profile, for
/// [`ComputeOptions::placement`](super::ComputeOptions::placement).
///
/// [`from_profile`](Placement::from_profile) list-schedules the profile's
/// tasks with their measured times on the profile's ranks and workers
/// (HEFT: tasks by their longest path to the end, each where it would
/// finish first, counting `edge` for each input that comes from another
/// rank), and keeps each task's rank. The same profile gives the same
/// placement on every rank. Hints given with [`Graph::on`](super::Graph::on)
/// still win; tasks the profile does not have get the default placement.
///
/// ```
/// use std::time::Duration;
/// use delayed::{Profile, Task};
/// use delayed::mpi::Placement;
///
/// let ms = Duration::from_millis;
/// let task = |name, worker, start, end, inputs| Task {
///     name, key: 0, worker, ready: ms(start), start: ms(start), end: ms(end), inputs,
/// };
/// // Measured on 2 ranks of 1 worker: a slow task and three quick ones, all
/// // on rank 0 (worker 0), then their sum.
/// let profile = Profile::from_tasks(2, ms(42), [
///     task("slow", 0, 0, 30, &[]),
///     task("quick", 0, 30, 34, &[]),
///     task("quick", 0, 34, 38, &[]),
///     task("quick", 0, 38, 42, &[]),
///     task("sum", 0, 42, 42, &[0, 1, 2, 3]),
/// ])
/// .with_ranks(&[1, 1]);
/// let placement = Placement::from_profile(&profile, Duration::from_micros(5));
/// // The slow task alone on one rank, the quick ones on the other.
/// assert_ne!(placement.rank_of(0), placement.rank_of(1));
/// assert_eq!(placement.rank_of(1), placement.rank_of(3));
/// assert!(placement.predicted() < ms(31));
/// ```
#[derive(Clone)]
pub struct Placement {
    /// (task key, rank), sorted by key.
    ranks: Arc<[(u64, u32)]>,
    predicted: Duration,
    workers_per_rank: Vec<usize>,
    edge: Duration,
}

impl Placement {
    /// The placement of `profile`'s tasks that list scheduling finds on
    /// its ranks and workers, `edge` being the cost of an input that
    /// crosses ranks (`results/distributed.md` measures it).
    ///
    /// ```
    /// use std::time::Duration;
    /// let profile = delayed::Profile::from_tasks(1, Duration::ZERO, []);
    /// let placement = delayed::mpi::Placement::from_profile(&profile, Duration::ZERO);
    /// assert_eq!(placement.predicted(), Duration::ZERO);
    /// ```
    pub fn from_profile(profile: &Profile, edge: Duration) -> Placement {
        let workers_per_rank = workers_per_rank(profile);
        let n = profile.len();
        let edge_ns = ns(edge);
        let duration: Vec<u64> = profile.tasks().map(|t| ns(t.duration())).collect();
        let mut successors = vec![Vec::new(); n];
        let mut pending = vec![0u32; n];
        for (i, task) in profile.tasks().enumerate() {
            for &j in task.inputs {
                successors[j as usize].push(i as u32);
            }
            pending[i] = task.inputs.len() as u32;
        }
        // Each task's longest path to the end, counting an edge cost on each
        // step: the priority (tasks come in a topological order).
        let mut upward = vec![0u64; n];
        for i in (0..n).rev() {
            let after = successors[i]
                .iter()
                .map(|&s| upward[s as usize] + edge_ns)
                .max()
                .unwrap_or(0);
            upward[i] = duration[i] + after;
        }
        let mut ready: BinaryHeap<(u64, Reverse<u32>)> = (0..n as u32)
            .filter(|&i| pending[i as usize] == 0)
            .map(|i| (upward[i as usize], Reverse(i)))
            .collect();
        let mut free: Vec<Vec<u64>> = workers_per_rank.iter().map(|&w| vec![0; w]).collect();
        let mut rank_of = vec![0u32; n];
        let mut finish = vec![0u64; n];
        while let Some((_, Reverse(i))) = ready.pop() {
            let i = i as usize;
            let inputs = profile.task(i).inputs;
            let mut best = (u64::MAX, 0usize, 0usize);
            for (rank, workers) in free.iter().enumerate() {
                let data = inputs
                    .iter()
                    .map(|&j| {
                        let cross = rank_of[j as usize] as usize != rank;
                        finish[j as usize] + if cross { edge_ns } else { 0 }
                    })
                    .max()
                    .unwrap_or(0);
                for (worker, &at) in workers.iter().enumerate() {
                    let end = at.max(data) + duration[i];
                    if end < best.0 {
                        best = (end, rank, worker);
                    }
                }
            }
            let (end, rank, worker) = best;
            rank_of[i] = rank as u32;
            finish[i] = end;
            free[rank][worker] = end;
            for &s in &successors[i] {
                pending[s as usize] -= 1;
                if pending[s as usize] == 0 {
                    ready.push((upward[s as usize], Reverse(s)));
                }
            }
        }
        let mut ranks: Vec<(u64, u32)> = profile
            .tasks()
            .zip(&rank_of)
            .map(|(t, &r)| (t.key as u64, r))
            .collect();
        ranks.sort_unstable();
        Placement {
            ranks: ranks.into(),
            predicted: Duration::from_nanos(finish.iter().copied().max().unwrap_or(0)),
            workers_per_rank,
            edge,
        }
    }

    /// The rank of the task with key `key`, if the profile had it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let profile = delayed::Profile::from_tasks(1, Duration::ZERO, []);
    /// let placement = delayed::mpi::Placement::from_profile(&profile, Duration::ZERO);
    /// assert_eq!(placement.rank_of(0), None);
    /// ```
    pub fn rank_of(&self, key: usize) -> Option<usize> {
        self.ranks
            .binary_search_by_key(&(key as u64), |&(k, _)| k)
            .ok()
            .map(|i| self.ranks[i].1 as usize)
    }

    /// The time the schedule takes with the measured task times: what a
    /// compute on this placement should take, plus the runtime's own cost.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = Duration::from_secs;
    /// let t = delayed::Task { name: "a", key: 0, worker: 0, ready: s(0), start: s(0), end: s(2), inputs: &[] };
    /// let profile = delayed::Profile::from_tasks(1, s(2), [t]);
    /// let placement = delayed::mpi::Placement::from_profile(&profile, Duration::ZERO);
    /// assert_eq!(placement.predicted(), s(2));
    /// ```
    pub fn predicted(&self) -> Duration {
        self.predicted
    }

    /// Number of tasks placed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let profile = delayed::Profile::from_tasks(1, Duration::ZERO, []);
    /// assert!(delayed::mpi::Placement::from_profile(&profile, Duration::ZERO).is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.ranks.len()
    }

    /// Whether `self` and `other` are clones of one placement (a compute
    /// keeps what it prepared for the next one with the same placement).
    pub(crate) fn same(&self, other: &Placement) -> bool {
        Arc::ptr_eq(&self.ranks, &other.ranks)
    }

    /// Whether no task is placed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let profile = delayed::Profile::from_tasks(1, Duration::ZERO, []);
    /// assert_eq!(delayed::mpi::Placement::from_profile(&profile, Duration::ZERO).len(), 0);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.ranks.is_empty()
    }
}

/// The workers of each rank of `profile` (one rank on one node).
fn workers_per_rank(profile: &Profile) -> Vec<usize> {
    let starts = &profile.rank_starts;
    if starts.is_empty() {
        return vec![profile.workers()];
    }
    starts
        .iter()
        .enumerate()
        .map(|(r, &first)| {
            let end = starts
                .get(r + 1)
                .copied()
                .unwrap_or(profile.workers() as u32);
            (end - first) as usize
        })
        .collect()
}

fn ns(d: Duration) -> u64 {
    d.as_nanos().try_into().unwrap_or(u64::MAX)
}

impl fmt::Debug for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Placement")
            .field("tasks", &self.len())
            .field("workers_per_rank", &self.workers_per_rank)
            .field("edge", &self.edge)
            .field("predicted", &self.predicted)
            .finish()
    }
}

impl fmt::Display for Placement {
    /// One line: tasks, ranks × workers, edge cost, predicted time.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "placement of {} tasks on {} rank(s) (workers {:?}), {:?} per cross-rank edge: \
             predicted {:?}",
            self.len(),
            self.workers_per_rank.len(),
            self.workers_per_rank,
            self.edge,
            self.predicted
        )
    }
}
