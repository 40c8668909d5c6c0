//! Putting idle workers to sleep and waking them: an event count with the
//! "no wake-up while someone searches" rule.
//!
//! The protocol, with its invariants and the reasoning for each ordering, is
//! written down in [`README.md`](https://github.com/delayed-rs/delayed/blob/main/executor/src/sleep/README.md)
//! beside this file; the step numbers (S1..S4, N1..N3, W1..W2) below refer to it.
//! The loom models in `loom_tests.rs` beside this file check it.

use crossbeam_utils::CachePadded;

use crate::sync::{fence, AtomicBool, AtomicU64, Condvar, Mutex, Ordering};

/// One searching worker in the low half of [`Sleep::state`].
const SEARCHING_ONE: u64 = 1;
/// One sleeping worker in the high half of [`Sleep::state`].
const SLEEPING_ONE: u64 = 1 << 32;
/// `+1 searching, -1 sleeping`, as a wrapping add (the sleeping half is >= 1).
const SLEEPING_TO_SEARCHING: u64 = SEARCHING_ONE.wrapping_sub(SLEEPING_ONE);
/// `-1 searching, +1 sleeping`, as a wrapping add (the searching half is >= 1).
const SEARCHING_TO_SLEEPING: u64 = SLEEPING_ONE.wrapping_sub(SEARCHING_ONE);

fn searching(state: u64) -> u64 {
    state & (SLEEPING_ONE - 1)
}

fn sleeping(state: u64) -> u64 {
    state >> 32
}

/// The sleep state of the whole pool.
pub(crate) struct Sleep {
    /// Number of searching workers (low 32 bits) and of sleeping workers
    /// (high 32 bits). Read without the lock by pushers (N1); changed only
    /// with `sleepers` locked, except by `start_searching`/`stop_searching`.
    state: CachePadded<AtomicU64>,
    /// The sleeping workers, most recent last. The lock orders every change
    /// of a worker between "listed" and "not listed".
    sleepers: Mutex<Vec<usize>>,
    workers: Box<[WorkerSleep]>,
}

/// One worker's part of the sleep state.
struct WorkerSleep {
    /// True while the worker is listed in `sleepers`. Written with the
    /// `sleepers` lock held; read without it by latch setters (W1).
    asleep: CachePadded<AtomicBool>,
    /// The wake-up token: set by an unpark, consumed by a park.
    token: Mutex<bool>,
    unpark: Condvar,
}

impl Sleep {
    pub(crate) fn new(workers: usize) -> Sleep {
        Sleep {
            state: CachePadded::new(AtomicU64::new(0)),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            workers: (0..workers)
                .map(|_| WorkerSleep {
                    asleep: CachePadded::new(AtomicBool::new(false)),
                    token: Mutex::new(false),
                    unpark: Condvar::new(),
                })
                .collect(),
        }
    }

    /// S1: the calling worker found no work in its own deque and starts
    /// searching the others.
    pub(crate) fn start_searching(&self) {
        // SeqCst: part of the single order of `state` changes that N1 reads.
        self.state.fetch_add(SEARCHING_ONE, Ordering::SeqCst);
    }

    /// S2: the calling worker stops searching, because it found work or
    /// because what it waited for happened. If it was the last searcher while
    /// others sleep, and jobs are still queued (`has_work`, the same re-scan
    /// as S3's), it wakes a replacement: pushes made while it searched did
    /// not wake anybody (N1), and this hands the search on. When nothing is
    /// left queued nobody is woken: the next push finds no searcher and
    /// wakes a sleeper itself.
    pub(crate) fn stop_searching(&self, has_work: impl Fn() -> bool) {
        // SeqCst: pairs with the load in N1 (a pusher that saw us searching
        // relies on this rule).
        let prev = self.state.fetch_sub(SEARCHING_ONE, Ordering::SeqCst);
        debug_assert!(searching(prev) >= 1);
        if searching(prev) == 1 && sleeping(prev) > 0 {
            // The decrement above is ordered before the re-scan below.
            // Pairs with the fence in `notify` (N1): either the pusher sees
            // no searcher and wakes a sleeper itself, or this re-scan sees
            // its job.
            fence(Ordering::SeqCst);
            if has_work() {
                self.wake_one();
            }
        }
    }

    /// S3, S4: the calling worker (counted as searching) announces that it
    /// sleeps, re-scans with `has_work`, and blocks unless the re-scan found
    /// something. It returns counted as searching again.
    pub(crate) fn sleep(&self, index: usize, has_work: impl Fn() -> bool) {
        let me = &self.workers[index];
        {
            let mut sleepers = self.sleepers.lock();
            sleepers.push(index);
            // SeqCst: pairs with the SeqCst load in `wake_worker` (W1), a
            // store-buffering pair with the latch.
            me.asleep.store(true, Ordering::SeqCst);
            // SeqCst: read by N1.
            self.state
                .fetch_add(SEARCHING_TO_SLEEPING, Ordering::SeqCst);
        }
        // S3: the announcement above is ordered before the re-scan below.
        // Pairs with the fence in `notify` (N1): either the pusher sees us
        // sleeping, or our re-scan sees its job.
        fence(Ordering::SeqCst);
        if !has_work() {
            self.park(index);
        }
        // S4: unlist ourselves unless a waker already did (and counted us
        // as searching).
        let mut sleepers = self.sleepers.lock();
        if me.asleep.load(Ordering::Relaxed) {
            Self::unlist(&mut sleepers, index);
            me.asleep.store(false, Ordering::Relaxed);
            self.state
                .fetch_add(SLEEPING_TO_SEARCHING, Ordering::SeqCst);
        }
    }

    /// N1..N3: called after a job was pushed. Wakes one sleeper, but only
    /// when nobody is searching (a searcher will find the job, or hand the
    /// search on by S2).
    #[inline]
    pub(crate) fn notify(&self) {
        // N1: pairs with the fence in `sleep` (S3).
        fence(Ordering::SeqCst);
        let state = self.state.load(Ordering::SeqCst);
        if searching(state) == 0 && sleeping(state) > 0 {
            self.wake_one();
        }
    }

    /// N2, N3: pop one sleeper, count it as searching, unpark it.
    #[cold]
    fn wake_one(&self) {
        let mut sleepers = self.sleepers.lock();
        // N2: re-check under the lock: a worker woken meanwhile searches.
        if searching(self.state.load(Ordering::SeqCst)) > 0 {
            return;
        }
        if let Some(index) = sleepers.pop() {
            self.workers[index].asleep.store(false, Ordering::Relaxed);
            self.state
                .fetch_add(SLEEPING_TO_SEARCHING, Ordering::SeqCst);
            drop(sleepers);
            // N3
            self.unpark(index);
        }
    }

    /// W1, W2: wake worker `index` if it sleeps; called by whoever set a
    /// latch that worker waits on, after the latch's SeqCst store.
    pub(crate) fn wake_worker(&self, index: usize) {
        let worker = &self.workers[index];
        // W1: this fence and the one in `sleep` (S3) order the latch store
        // before this load, and the owner's `asleep` store before its
        // re-scan: if this reads false, the re-scan sees the latch set.
        // (SeqCst stores and loads alone would do in C++20's model; the
        // fences also make the pair checkable by loom, which treats SeqCst
        // accesses as AcqRel.)
        fence(Ordering::SeqCst);
        if !worker.asleep.load(Ordering::SeqCst) {
            return;
        }
        let mut sleepers = self.sleepers.lock();
        if worker.asleep.load(Ordering::Relaxed) {
            Self::unlist(&mut sleepers, index);
            worker.asleep.store(false, Ordering::Relaxed);
            self.state
                .fetch_add(SLEEPING_TO_SEARCHING, Ordering::SeqCst);
            drop(sleepers);
            // W2
            self.unpark(index);
        }
    }

    /// Wakes every sleeper (shutdown).
    pub(crate) fn wake_all(&self) {
        let woken: Vec<usize> = {
            let mut sleepers = self.sleepers.lock();
            for &index in sleepers.iter() {
                self.workers[index].asleep.store(false, Ordering::Relaxed);
                self.state
                    .fetch_add(SLEEPING_TO_SEARCHING, Ordering::SeqCst);
            }
            sleepers.drain(..).collect()
        };
        for index in woken {
            self.unpark(index);
        }
    }

    fn unlist(sleepers: &mut Vec<usize>, index: usize) {
        if let Some(at) = sleepers.iter().position(|&i| i == index) {
            sleepers.remove(at);
        }
    }

    fn park(&self, index: usize) {
        let worker = &self.workers[index];
        let mut token = worker.token.lock();
        while !*token {
            worker.unpark.wait(&mut token);
        }
        *token = false;
    }

    fn unpark(&self, index: usize) {
        let worker = &self.workers[index];
        let mut token = worker.token.lock();
        *token = true;
        worker.unpark.notify_one();
    }

    /// Number of searching and of sleeping workers (for tests and stats).
    #[cfg(all(test, loom))]
    pub(crate) fn counts(&self) -> (u64, u64) {
        let state = self.state.load(Ordering::SeqCst);
        (searching(state), sleeping(state))
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
