//! The profile of a multi-node compute: each rank records its own tasks
//! with the single-node recorder; at the end every rank gathers every
//! rank's times and merges them into one `Profile` over all the ranks'
//! workers, the same on every rank (so every rank can learn the same
//! `Placement` from it).

use std::time::Duration;

use mpi::topology::SimpleCommunicator;
use serde::{Deserialize, Serialize};

use super::comm::all_gather_bytes;
use super::exchange::Routes;
use super::needed::Needed;
use crate::store::Store;
use crate::{Profile, Task};

/// One rank's tasks as they cross to rank 0: times in nanoseconds from the
/// compute's start (the end of its first collective).
#[derive(Serialize, Deserialize)]
pub(crate) struct RankTimes {
    workers: u32,
    wall: u64,
    /// Per task of this rank: node id, ready, start, end, worker.
    tasks: Vec<(u32, u64, u64, u64, u32)>,
}

fn ns(d: Duration) -> u64 {
    d.as_nanos().try_into().unwrap_or(u64::MAX)
}

impl RankTimes {
    /// The tasks of `local`, this rank's profile (by local index, keys the
    /// node ids), whose recorder started `recorder_start` after the
    /// compute's start; external nodes (other ranks' tasks) left out.
    pub(crate) fn of(
        local: &Profile,
        routes: &Routes,
        recorder_start: Duration,
        wall: Duration,
        workers: usize,
    ) -> RankTimes {
        let shift = |d: Duration| ns(d + recorder_start);
        let tasks = local
            .tasks()
            .enumerate()
            .filter(|&(k, _)| routes.source(k as u32).is_none())
            .map(|(_, t)| {
                (
                    t.key as u32,
                    shift(t.ready),
                    shift(t.start),
                    shift(t.end),
                    t.worker as u32,
                )
            })
            .collect();
        RankTimes {
            workers: workers as u32,
            wall: ns(wall),
            tasks,
        }
    }
}

/// Gathers every rank's `times` (a collective) and merges them into the
/// compute's profile, the same on every rank: the tasks of `needed` in
/// their order, the workers of rank `r` numbered after
/// those of the ranks before it.
pub(crate) fn merge_profiles(
    comm: &SimpleCommunicator,
    store: &Store,
    needed: &Needed,
    times: &RankTimes,
) -> Profile {
    let mine = postcard::to_allocvec(times).expect("times encode");
    let all = all_gather_bytes(comm, &mine);
    let ranks: Vec<RankTimes> = all
        .iter()
        .map(|bytes| postcard::from_bytes(bytes).expect("a rank's times decode"))
        .collect();
    let workers: Vec<usize> = ranks.iter().map(|r| r.workers as usize).collect();
    let first: Vec<usize> = workers
        .iter()
        .scan(0, |sum, &w| {
            let start = *sum;
            *sum += w;
            Some(start)
        })
        .collect();
    let mut rows = vec![(0u64, 0u64, 0u64, 0usize); needed.len()];
    for (rank, times) in ranks.iter().enumerate() {
        for &(id, ready, start, end, worker) in &times.tasks {
            let i = needed.index(id);
            let start_ = start.max(ready);
            rows[i] = (
                ready.min(start_),
                start_,
                end.max(start_),
                first[rank] + worker as usize,
            );
        }
    }
    let index = |id: u32| needed.index(id) as u32;
    let inputs: Vec<Vec<u32>> = needed
        .ids()
        .map(|id| store.inputs(id).iter().map(|&input| index(input)).collect())
        .collect();
    let wall = ranks.iter().map(|r| r.wall).max().unwrap_or(0);
    let tasks = needed.ids().enumerate().map(|(i, id)| {
        let (ready, start, end, worker) = rows[i];
        Task {
            name: store.name(id),
            key: id as usize,
            worker,
            ready: Duration::from_nanos(ready),
            start: Duration::from_nanos(start),
            end: Duration::from_nanos(end),
            inputs: &inputs[i],
        }
    });
    let total = workers.iter().sum();
    Profile::from_tasks(total, Duration::from_nanos(wall), tasks).with_ranks(&workers)
}
