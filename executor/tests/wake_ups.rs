//! Invariant I5 of `src/sleep/README.md`: a job submitted to a sleeping
//! pool wakes one worker, and the worker that takes it wakes nobody else
//! when nothing else is queued (S2). Alone in its own test binary so that
//! no other test's work wakes the workers.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use delayed_executor::{Executor, Stats};

/// Polls `stats` until `ready` holds for them (or 10 s pass).
fn wait_for(ex: &Executor, ready: impl Fn(&Stats) -> bool) -> Stats {
    let start = Instant::now();
    loop {
        let stats = ex.stats();
        if ready(&stats) || start.elapsed() > Duration::from_secs(10) {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn one_job_on_a_sleeping_pool_wakes_one_worker() {
    let ex = Executor::builder().workers(2).build().unwrap();
    for round in 0..20 {
        // Both workers have searched and gone to sleep (a worker counts a
        // sleep just before it announces it; the nap covers the rest).
        wait_for(&ex, |s| s.workers.iter().all(|w| w.sleeps > 0));
        std::thread::sleep(Duration::from_millis(20));
        let before = ex.stats();
        let (tx, rx) = mpsc::channel();
        ex.spawn(move || tx.send(()).unwrap());
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the job ran");
        // The worker that ran it searches, then sleeps again.
        let ran = |s: &Stats| {
            s.workers
                .iter()
                .zip(&before.workers)
                .position(|(a, b)| a.jobs > b.jobs)
        };
        let after = wait_for(&ex, |s| {
            ran(s).is_some_and(|i| s.workers[i].sleeps > before.workers[i].sleeps)
        });
        let runner = ran(&after).expect("one worker ran the job");
        std::thread::sleep(Duration::from_millis(20));
        let after = ex.stats();
        let other = 1 - runner;
        assert_eq!(
            after.workers[other].sleeps, before.workers[other].sleeps,
            "round {round}: worker {other} was woken for a job worker {runner} took, with nothing else queued"
        );
        assert_eq!(after.workers[other].jobs, before.workers[other].jobs);
    }
}
