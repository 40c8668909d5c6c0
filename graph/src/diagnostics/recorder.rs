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

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use super::clock::Clock;
use super::profile::{Profile, ProfileBuilder, Row};

/// A moment of a run: ticks of its recorder's clock, plus one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(u64);

/// One node's record: 32 bytes, two per cache line.
#[repr(C, align(32))]
struct Record {
    ready: AtomicU64,
    start: AtomicU64,
    end: AtomicU64,
    worker: AtomicU64,
}

/// The per-node timestamps of one run (see the module's documentation).
pub(crate) struct Recorder {
    clock: Clock,
    records: Box<[Record]>,
}

impl Recorder {
    /// A recorder for a run of `nodes` nodes; the clock starts now.
    pub(crate) fn new(nodes: usize) -> Recorder {
        Recorder {
            records: zeroed_records(nodes),
            clock: Clock::start(),
        }
    }

    /// Number of nodes this recorder has room for.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// The time now.
    #[inline]
    pub(crate) fn now(&self) -> Stamp {
        Stamp(self.clock.now())
    }

    /// `k` became ready now: its last input finished, or it is a root at
    /// the start of the run.
    #[inline]
    pub(crate) fn ready(&self, k: u32) {
        self.ready_at(k, self.now());
    }

    /// `k` became ready at `at`: for the successors made ready by a node's
    /// end, `at` may be the [`Stamp`] that [`end`](Recorder::end) returned
    /// (saves reading the clock once per edge).
    #[inline]
    pub(crate) fn ready_at(&self, k: u32, at: Stamp) {
        self.records[k as usize]
            .ready
            .store(at.0, Ordering::Relaxed);
    }

    /// `k` starts now on worker `worker` (0 for the sync runner).
    #[inline]
    pub(crate) fn start(&self, k: u32, worker: usize) {
        let record = &self.records[k as usize];
        record.worker.store(worker as u64, Ordering::Relaxed);
        record.start.store(self.now().0, Ordering::Relaxed);
    }

    /// `k`'s task returned now; returns the time, for
    /// [`ready_at`](Recorder::ready_at).
    #[inline]
    pub(crate) fn end(&self, k: u32) -> Stamp {
        let now = self.now();
        self.records[k as usize].end.store(now.0, Ordering::Relaxed);
        now
    }

    /// After the run (every job finished): the profile, and the time since
    /// the recorder was made (the run's wall-clock time). `describe(k)` gives
    /// node `k`'s task name, key, and inputs as local indices (all below
    /// `k`); `workers` ran the run.
    ///
    /// A node that did not run (a failed or cancelled run) gets zero times.
    pub(crate) fn finish<'a>(
        self,
        describe: impl Fn(u32) -> (&'a str, usize, &'a [u32]),
        workers: usize,
    ) -> Profile {
        let (wall, calibration) = self.clock.stop();
        let mut builder = ProfileBuilder::with_capacity(self.records.len());
        let mut rows = into_rows(self.records);
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

/// `len` zeroed records without an initializing pass: the pages of a large
/// allocation are only touched when a node runs.
fn zeroed_records(len: usize) -> Box<[Record]> {
    let layout = Layout::array::<Record>(len).expect("delayed: profile too large");
    if layout.size() == 0 {
        let empty = NonNull::<Record>::dangling().as_ptr();
        // SAFETY: a zero-sized slice needs no allocation, only an aligned
        // non-null pointer, which `Box` then does not free.
        return unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(empty, len)) };
    }
    // SAFETY: the layout has a non-zero size.
    let data = unsafe { alloc::alloc_zeroed(layout) }.cast::<Record>();
    if data.is_null() {
        alloc::handle_alloc_error(layout);
    }
    // SAFETY: `data` is a fresh allocation of `layout` (what `Box<[Record]>`
    // frees with) holding `len` records of zeroed atomics, which are valid.
    unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn records_each_step_once_and_finishes_in_order() {
        let recorder = Recorder::new(3);
        assert_eq!(recorder.len(), 3);
        recorder.ready(0);
        recorder.ready(1);
        recorder.start(0, 1);
        let end0 = recorder.end(0);
        recorder.start(1, 0);
        let end1 = recorder.end(1);
        recorder.ready_at(2, end0.max(end1));
        recorder.start(2, 1);
        recorder.end(2);
        let names = ["a", "b", "c"];
        let inputs: [&[u32]; 3] = [&[], &[], &[0, 1]];
        let profile = recorder.finish(
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
        assert!(tasks[2].ready >= tasks[0].end && tasks[2].ready >= tasks[1].end);
        assert_eq!(profile.workers(), 2);
        assert!(Duration::from_nanos(profile.task(2).end.as_nanos() as u64) <= profile.wall());
    }

    #[test]
    fn an_empty_run_and_unrun_nodes_give_zero_times() {
        let empty = Recorder::new(0);
        assert_eq!(empty.finish(|_| ("", 0, &[]), 1).len(), 0);
        let recorder = Recorder::new(1);
        let profile = recorder.finish(|_| ("never", 0, &[]), 1);
        let task = profile.tasks().next().unwrap();
        assert_eq!((task.start, task.end), (Duration::ZERO, Duration::ZERO));
    }
}
