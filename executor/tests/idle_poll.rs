//! `Executor::with_idle_poll` (protocol in `src/idle_poll/README.md`): idle
//! workers call the poll; what it schedules runs on the polling worker;
//! nothing calls it after it returns; its panic comes back; a pool with
//! nothing to do stops polling and sleeps.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use delayed_executor::Executor;

/// Waits (yielding) until `cond`, for at most 10 s.
fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(10), "never: {what}");
        std::thread::yield_now();
    }
}

/// A job the poll spawns goes to the polling worker's own deque, and that
/// worker runs it. With one worker nobody else could: a search loop that
/// looked only at the injector and other deques would never run it.
#[test]
fn a_job_scheduled_by_the_poll_runs_on_the_polling_worker() {
    let ex = Executor::builder().workers(1).build().unwrap();
    let spawned = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let poll = || {
        if spawned.swap(true, Ordering::Relaxed) {
            return false;
        }
        let polled_on = ex.current_worker_index().expect("a worker polls");
        let tx = tx.lock().unwrap().clone();
        let ex2 = ex.clone();
        ex.spawn(move || {
            tx.send((polled_on, ex2.current_worker_index())).unwrap();
        });
        true
    };
    let (polled_on, ran_on) = ex.with_idle_poll(&poll, || {
        ex.spawn(|| {}); // wakes a worker, which then searches and polls
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the job ran")
    });
    assert_eq!(Some(polled_on), ran_on);
}

/// One caller at a time: a poll is never entered while another thread is
/// inside it, with several workers idle at once.
#[test]
fn only_one_thread_is_inside_the_poll_at_a_time() {
    let ex = Executor::builder().workers(2).build().unwrap();
    let inside = AtomicUsize::new(0);
    let calls = AtomicUsize::new(0);
    let overlap = AtomicBool::new(false);
    let poll = || {
        if inside.fetch_add(1, Ordering::SeqCst) != 0 {
            overlap.store(true, Ordering::SeqCst);
        }
        std::thread::yield_now();
        calls.fetch_add(1, Ordering::Relaxed);
        inside.fetch_sub(1, Ordering::SeqCst);
        true // progress: keep both workers polling
    };
    ex.with_idle_poll(&poll, || {
        ex.scope(|s| {
            s.spawn(|_| {});
            s.spawn(|_| {});
        });
        wait_for("1000 polls", || calls.load(Ordering::Relaxed) >= 1000);
    });
    assert!(!overlap.load(Ordering::SeqCst));
}

/// A poll that panics is called no more, and its panic is raised again by
/// `with_idle_poll` once the body returns; the pool goes on working.
#[test]
fn the_panic_of_a_poll_comes_back_from_with_idle_poll() {
    let ex = Executor::builder().workers(1).build().unwrap();
    let calls = AtomicUsize::new(0);
    let poll = || -> bool {
        calls.fetch_add(1, Ordering::Relaxed);
        panic!("the poll failed");
    };
    let caught = catch_unwind(AssertUnwindSafe(|| {
        ex.with_idle_poll(&poll, || {
            ex.spawn(|| {});
            wait_for("a poll", || calls.load(Ordering::Relaxed) > 0);
            ex.join(|| (), || ());
        })
    }));
    let payload = caught.expect_err("the poll's panic is raised again");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the poll failed"));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(ex.join(|| 1, || 2), (1, 2));
}

/// With nothing to run and a poll that finds nothing, the workers poll for
/// a while (1 ms after they began to search) and then sleep: the count of
/// calls stops growing.
#[test]
fn an_idle_pool_stops_polling_and_sleeps() {
    let ex = Executor::builder().workers(2).build().unwrap();
    let calls = AtomicUsize::new(0);
    let poll = || {
        calls.fetch_add(1, Ordering::Relaxed);
        false
    };
    ex.with_idle_poll(&poll, || {
        ex.scope(|s| {
            s.spawn(|_| {});
            s.spawn(|_| {});
        });
        wait_for("a poll", || calls.load(Ordering::Relaxed) > 0);
        std::thread::sleep(Duration::from_millis(300));
        let settled = calls.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(calls.load(Ordering::Relaxed), settled, "still polling");
        // Woken by work, the workers poll again.
        ex.scope(|s| s.spawn(|_| {}));
        wait_for("a poll after waking", || {
            calls.load(Ordering::Relaxed) > settled
        });
    });
}
