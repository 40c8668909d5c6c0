//! `Recorder`: what the runner writes while a profiled compute runs.
//!
//! One record per node of the run (by local index `k`), allocated up front
//! from zeroed memory, each field written once by the one thread that owns
//! that step of the node (README of `run/`: the thread that counts a node's
//! last input makes it ready; the thread that runs it writes start, worker
//! and end). Plain `Relaxed` stores, no locks, no allocation during the run:
//! the run's own synchronisation (the job pushes, the final latch) orders
//! them before [`Recorder::finish`] reads them on the computing thread.
//!
//! Times are ticks of a [`Clock`] started with the recorder (the CPU's
//! time-stamp counter where it is invariant), plus one, so that zero means
//! "not written"; [`Recorder::finish`] turns them into nanoseconds.
//!
//! A node becomes ready on the thread that ran its last input, right after
//! that input's end (the run's protocol: whoever counts the last input owns
//! the node). So [`Recorder::ready`] reuses the time of the last
//! [`Recorder::end`] of the same recorder on the calling thread, kept in a
//! thread-local, instead of reading the clock again; only the roots, made
//! ready before anything ended, read it. Two clock reads per task.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use super::clock::Clock;
use super::profile::{Profile, ProfileBuilder, Row};
use crate::store::{zeroed, Zeroable};

/// One node's record: 32 bytes. (Eight-byte aligned, so that a large table
/// comes from `calloc`: zero pages the kernel maps only when touched.)
#[repr(C)]
struct Record {
    ready: AtomicU64,
    start: AtomicU64,
    end: AtomicU64,
    worker: AtomicU64,
}

// SAFETY: four atomic integers, for which zero is valid.
unsafe impl Zeroable for Record {}

/// Numbers recorders, so that a thread's last end is only reused by its own.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The id of the recorder of this thread's last `end`, and its time.
    static LAST_END: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// The per-node timestamps of one run (see the module's documentation).
pub(crate) struct Recorder {
    clock: Clock,
    id: u64,
    records: Box<[Record]>,
}

impl Recorder {
    /// A recorder with room for `nodes` nodes (the run's, or more: unused
    /// room costs no memory until touched); the clock starts now.
    pub(crate) fn new(nodes: usize) -> Recorder {
        Recorder {
            records: zeroed(nodes),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            clock: Clock::start(),
        }
    }

    /// Number of nodes this recorder has room for.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// `k` became ready: at the last end of this run on this thread (its
    /// last input's), or now for a root.
    #[inline]
    pub(crate) fn ready(&self, k: u32) {
        let (id, last_end) = LAST_END.with(Cell::get);
        let at = if id == self.id {
            last_end
        } else {
            self.clock.now()
        };
        self.records[k as usize].ready.store(at, Ordering::Relaxed);
    }

    /// `k` starts now on worker `worker` (0 for the sync runner).
    #[inline]
    pub(crate) fn start(&self, k: u32, worker: usize) {
        let record = &self.records[k as usize];
        record.worker.store(worker as u64, Ordering::Relaxed);
        record.start.store(self.clock.now(), Ordering::Relaxed);
    }

    /// `k`'s task returned (or failed) now.
    #[inline]
    pub(crate) fn end(&self, k: u32) {
        let now = self.clock.now();
        self.records[k as usize].end.store(now, Ordering::Relaxed);
        LAST_END.with(|last| last.set((self.id, now)));
    }

    /// How many nodes, from 0 on, have started: after a successful run,
    /// the run's number of nodes.
    pub(crate) fn started(&self) -> usize {
        (self.records.iter())
            .position(|r| r.start.load(Ordering::Relaxed) == 0)
            .unwrap_or(self.records.len())
    }

    /// After the run (every job finished): the profile of nodes `0..nodes`.
    /// `describe(k)` gives node `k`'s task name, key, and inputs as local
    /// indices (all below `k`); `workers` ran the run. The profile's wall
    /// time runs from the recorder's making to this call.
    ///
    /// A node that did not run (a failed or cancelled run) gets zero times.
    ///
    /// # Panics
    /// If `nodes` is more than the recorder has room for.
    pub(crate) fn finish<'a>(
        self,
        nodes: usize,
        describe: impl Fn(u32) -> (&'a str, usize, &'a [u32]),
        workers: usize,
    ) -> Profile {
        let (wall, calibration) = self.clock.stop();
        let mut builder = ProfileBuilder::with_capacity(nodes);
        let mut rows = into_rows(self.records);
        if rows.len() > nodes {
            let mut fewer = rows.into_vec();
            fewer.truncate(nodes);
            rows = fewer.into_boxed_slice();
        }
        assert_eq!(
            rows.len(),
            nodes,
            "delayed: a recorder has room for fewer nodes"
        );
        for (k, row) in rows.iter_mut().enumerate() {
            let (name, key, inputs) = describe(k as u32);
            let name = builder.describe(k, name, key, inputs);
            let start = calibration.nanos(row.start);
            let end = calibration.nanos(row.end).max(start);
            let ready = calibration.nanos(row.ready).min(start);
            *row = Row::new([ready, start, end], row.meta as u32, name);
        }
        builder.build(rows, workers, wall)
    }
}

/// The records, every job of the run finished, as rows to fill in place.
fn into_rows(records: Box<[Record]>) -> Box<[Row]> {
    const _: () = assert!(
        size_of::<Record>() == size_of::<Row>() && align_of::<Record>() == align_of::<Row>()
    );
    let raw = Box::into_raw(records) as *mut [Row];
    // SAFETY: `Record` and `Row` are both `repr(C)` structs of four 8-byte
    // fields with the same size and alignment (checked above), and an
    // `AtomicU64` has the same in-memory representation as a `u64`; the box
    // is owned, so nothing else accesses the atomics any more.
    unsafe { Box::from_raw(raw) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn records_each_step_once_and_finishes_in_order() {
        let recorder = Recorder::new(5);
        assert_eq!(recorder.len(), 5);
        recorder.ready(0);
        recorder.ready(1);
        recorder.start(0, 1);
        recorder.end(0);
        recorder.start(1, 0);
        std::thread::sleep(Duration::from_millis(2));
        recorder.end(1);
        // Made ready by 1's end, on this thread: at that time.
        recorder.ready(2);
        recorder.start(2, 1);
        recorder.end(2);
        assert_eq!(recorder.started(), 3);
        let names = ["a", "b", "c"];
        let inputs: [&[u32]; 3] = [&[], &[], &[0, 1]];
        let profile = recorder.finish(
            3,
            |k| (names[k as usize], 10 + k as usize, inputs[k as usize]),
            2,
        );
        let tasks: Vec<_> = profile.tasks().collect();
        assert_eq!(tasks.len(), 3);
        assert_eq!(tasks[2].name, "c");
        assert_eq!(tasks[2].key, 12);
        assert_eq!(tasks[2].inputs, &[0, 1]);
        assert_eq!((tasks[0].worker, tasks[1].worker), (1, 0));
        for t in &tasks {
            assert!(t.ready <= t.start && t.start <= t.end, "{t:?}");
        }
        assert_eq!(tasks[2].ready, tasks[1].end);
        assert!(tasks[1].duration() >= Duration::from_millis(2));
        assert_eq!(profile.workers(), 2);
        assert!(tasks[2].end <= profile.wall());
    }

    #[test]
    fn another_recorders_end_is_not_reused() {
        let first = Recorder::new(1);
        first.start(0, 0);
        first.end(0);
        std::thread::sleep(Duration::from_millis(2));
        let second = Recorder::new(1);
        second.ready(0);
        second.start(0, 0);
        second.end(0);
        let profile = second.finish(1, |_| ("root", 0, &[]), 1);
        assert!(
            profile.task(0).ready < Duration::from_millis(1),
            "read now, not reused"
        );
    }

    #[test]
    fn an_empty_run_and_unrun_nodes_give_zero_times() {
        let empty = Recorder::new(0);
        assert_eq!(empty.started(), 0);
        assert_eq!(empty.finish(0, |_| ("", 0, &[]), 1).len(), 0);
        let recorder = Recorder::new(1);
        let profile = recorder.finish(1, |_| ("never", 0, &[]), 1);
        let task = profile.tasks().next().unwrap();
        assert_eq!((task.start, task.end), (Duration::ZERO, Duration::ZERO));
    }

    #[test]
    fn room_beyond_the_run_is_dropped() {
        let recorder = Recorder::new(10);
        recorder.ready(0);
        recorder.start(0, 0);
        recorder.end(0);
        assert_eq!(recorder.started(), 1);
        assert_eq!(recorder.finish(1, |_| ("x", 7, &[]), 1).len(), 1);
    }
}
