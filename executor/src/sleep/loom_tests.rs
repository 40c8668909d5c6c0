//! loom models of the sleep protocol (`README.md` beside this file) and of
//! the latches built on it. Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p delayed-executor --lib --release loom`.
//!
//! The job queues are modelled by one atomic counter (push = `fetch_add`
//! Release, take = CAS Acquire), which is what the protocol relies on of
//! crossbeam's deques: a push is visible to a later scan. loom reports a
//! lost wake-up as a deadlock (every thread blocked).

use loom::sync::Arc;
use loom::thread;

use super::Sleep;
use crate::latch::{CountLatch, Latch, LockLatch};
use crate::sync::{AtomicBool, AtomicUsize, Ordering};

struct Model {
    sleep: Sleep,
    queued: AtomicUsize,
    ran: AtomicUsize,
    done: AtomicBool,
    jobs: usize,
    /// With `first_waits_for_second`: the first job to start blocks on it
    /// until the second starts.
    gate: Option<LockLatch>,
    started: AtomicUsize,
}

impl Model {
    /// `workers` workers, nothing queued yet, done after `jobs` jobs ran.
    fn new(workers: usize, jobs: usize) -> Model {
        Model {
            sleep: Sleep::new(workers),
            queued: AtomicUsize::new(0),
            ran: AtomicUsize::new(0),
            done: AtomicBool::new(false),
            jobs,
            gate: None,
            started: AtomicUsize::new(0),
        }
    }

    /// The first job to start waits until the second starts, as a job
    /// blocked on another would: only a second worker can run that one.
    fn first_waits_for_second(mut self) -> Model {
        self.gate = Some(LockLatch::new());
        self
    }

    fn take(&self) -> bool {
        let mut n = self.queued.load(Ordering::Acquire);
        while n > 0 {
            match self
                .queued
                .compare_exchange(n, n - 1, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(actual) => n = actual,
            }
        }
        false
    }

    fn push(&self) {
        self.queued.fetch_add(1, Ordering::Release);
        self.sleep.notify();
    }

    fn run_one(&self) {
        if let Some(gate) = &self.gate {
            if self.started.fetch_add(1, Ordering::Relaxed) == 0 {
                gate.wait();
            } else {
                // SAFETY: the gate lives in the model, which outlives both
                // jobs.
                unsafe { Latch::set(gate as *const LockLatch) };
            }
        }
        if self.ran.fetch_add(1, Ordering::AcqRel) + 1 == self.jobs {
            // Shutdown, as `Registry::terminate` does it.
            self.done.store(true, Ordering::SeqCst);
            self.sleep.wake_all();
        }
    }

    fn done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    /// A worker's main loop with `search_then_sleep` (one search round).
    fn worker(&self, index: usize) {
        loop {
            if self.take() {
                self.run_one();
                continue;
            }
            if self.done() {
                return;
            }
            self.sleep.start_searching(); // S1
            let found = loop {
                if self.take() {
                    self.sleep
                        .stop_searching(|| self.queued.load(Ordering::Acquire) > 0); // S2
                    break true;
                }
                if self.done() {
                    self.sleep
                        .stop_searching(|| self.queued.load(Ordering::Acquire) > 0); // S2
                    break false;
                }
                // S3, S4
                self.sleep.sleep(index, || {
                    self.queued.load(Ordering::Acquire) > 0 || self.done()
                });
            };
            if found {
                self.run_one();
            }
        }
    }
}

/// I1: two workers and an outside submitter pushing two jobs; every job
/// runs and every worker exits (no one is left parked).
#[test]
fn loom_no_lost_wakeup_with_two_workers_and_an_outside_submitter() {
    loom::model(|| two_workers_and_an_outside_submitter(Model::new(2, 2)));
}

/// S2's hand-over: an outside submitter pushes two jobs while the workers
/// may be anywhere in S1..S4, and the first job to start waits for the
/// second. That ends only if the second gets a worker of its own while the
/// first runs: whoever stops searching as the last searcher with a job
/// still queued must wake the sleeper (a pusher that saw it searching did
/// not). loom reports a stranded job as a deadlock.
#[test]
fn loom_a_job_queued_behind_the_last_searcher_gets_a_worker() {
    loom::model(|| two_workers_and_an_outside_submitter(Model::new(2, 2).first_waits_for_second()));
}

/// Two workers run `model` while the calling thread, from outside the pool,
/// pushes two jobs; both jobs run and every worker exits.
fn two_workers_and_an_outside_submitter(model: Model) {
    let model = Arc::new(model);
    let workers: Vec<_> = (0..2)
        .map(|i| {
            let m = Arc::clone(&model);
            thread::spawn(move || m.worker(i))
        })
        .collect();
    model.push();
    model.push();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(model.ran.load(Ordering::Relaxed), 2);
    // I3: everyone is unlisted at the end.
    assert_eq!(model.sleep.counts(), (0, 0));
}

/// I1 with a worker as the pusher: worker 0 pushes a job while worker 1
/// may be anywhere in S1..S4.
#[test]
fn loom_no_lost_wakeup_for_a_push_from_a_worker() {
    loom::model(|| {
        let model = Arc::new(Model::new(2, 1));
        let m = Arc::clone(&model);
        let sleeper = thread::spawn(move || m.worker(1));
        // Worker 0 pushes from inside a job and then itself idles.
        model.push();
        model.worker(0);
        sleeper.join().unwrap();
        assert_eq!(model.ran.load(Ordering::Relaxed), 1);
    });
}

/// I2: a worker waiting for a latch (S1..S4 with `done` = the latch) is
/// woken by the setter's W1/W2, as `SpinLatch::set` does it.
#[test]
fn loom_latch_set_wakes_its_sleeping_waiter() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(1));
        let latch = Arc::new(AtomicBool::new(false));
        let (s, l) = (Arc::clone(&sleep), Arc::clone(&latch));
        let setter = thread::spawn(move || {
            l.store(true, Ordering::SeqCst); // W1 (after L1)
            s.wake_worker(0); // W1, W2
        });
        // `wait_until` on worker 0.
        while !latch.load(Ordering::Acquire) {
            sleep.start_searching();
            if latch.load(Ordering::Acquire) {
                sleep.stop_searching(|| false);
                break;
            }
            sleep.sleep(0, || latch.load(Ordering::Acquire));
            sleep.stop_searching(|| false);
        }
        setter.join().unwrap();
        assert_eq!(sleep.counts(), (0, 0));
    });
}

/// A `CountLatch` waited on by a thread outside the pool and counted down
/// by two threads at once is released exactly once, after both.
#[test]
fn loom_count_latch_releases_after_the_last_decrement() {
    loom::model(|| {
        let latch = Arc::new(CountLatch::new(2));
        let seen = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (latch, seen) = (Arc::clone(&latch), Arc::clone(&seen));
                thread::spawn(move || {
                    seen.fetch_add(1, Ordering::Relaxed);
                    latch.decrement();
                })
            })
            .collect();
        latch.wait();
        // The AcqRel decrements and the latch's release/acquire make both
        // writes visible here.
        assert_eq!(seen.load(Ordering::Relaxed), 2);
        for t in threads {
            t.join().unwrap();
        }
    });
}

/// An unparking `CountLatch` (`CountLatch::new_unparking`) whose waiter
/// polls it and parks between looks, as `delayed::mpi`'s computing thread
/// does, counted down by two threads: the last release unparks the waiter
/// after the latch is set, so its look after the park sees it. Without the
/// unpark (or with it before the latch is set) the waiter can park for
/// good, which loom reports as a deadlock.
#[test]
fn loom_unparking_count_latch_wakes_a_parked_poller() {
    loom::model(|| {
        let latch = Arc::new(CountLatch::new_unparking(2));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let latch = Arc::clone(&latch);
                thread::spawn(move || latch.decrement())
            })
            .collect();
        while !latch.is_zero() {
            thread::park();
        }
        for t in threads {
            t.join().unwrap();
        }
    });
}
