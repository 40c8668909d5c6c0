//! Whole-pool behaviour: borrowing, exactly-once, nesting, panics, shutdown.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

use delayed_executor::{raw::CountLatch, BuildErrorKind, Executor};

fn pool(n: usize) -> Executor {
    Executor::builder().workers(n).build().expect("pool")
}

#[test]
fn scope_jobs_borrow_from_the_caller() {
    let ex = pool(2);
    let mut out = vec![0usize; 64];
    let input: Vec<usize> = (0..64).collect();
    ex.scope(|s| {
        for (o, i) in out.iter_mut().zip(&input) {
            s.spawn(move |_| *o = i * 2);
        }
    });
    assert_eq!(out, input.iter().map(|i| i * 2).collect::<Vec<_>>());
}

#[test]
fn a_million_spawned_jobs_each_run_exactly_once() {
    const N: usize = 1_000_000;
    for workers in [1, 2] {
        let ex = pool(workers);
        let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
        let (tx, rx) = mpsc::channel();
        let done = Arc::new(AtomicUsize::new(0));
        for i in 0..N {
            let runs = Arc::clone(&runs);
            let done = Arc::clone(&done);
            let tx = tx.clone();
            ex.spawn(move || {
                runs[i].fetch_add(1, Ordering::Relaxed);
                if done.fetch_add(1, Ordering::AcqRel) + 1 == N {
                    tx.send(()).unwrap();
                }
            });
        }
        rx.recv().unwrap();
        assert!(
            runs.iter().all(|r| r.load(Ordering::Relaxed) == 1),
            "{workers} workers"
        );
    }
}

#[test]
fn a_million_scoped_jobs_each_run_exactly_once() {
    const N: usize = 1_000_000;
    let ex = pool(2);
    let runs: Vec<AtomicUsize> = (0..N).map(|_| AtomicUsize::new(0)).collect();
    ex.scope(|s| {
        for r in &runs {
            s.spawn(move |_| {
                r.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    assert!(runs.iter().all(|r| r.load(Ordering::Relaxed) == 1));
}

fn fib(ex: &Executor, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = ex.join(|| fib(ex, n - 1), || fib(ex, n - 2));
    a + b
}

#[test]
fn nested_scopes_and_joins_inside_jobs_finish_with_one_and_two_workers() {
    for workers in [1, 2] {
        let ex = pool(workers);
        let total = AtomicUsize::new(0);
        ex.scope(|s| {
            for _ in 0..8 {
                s.spawn(|_| {
                    // A scope inside a job, and joins inside that.
                    ex.scope(|inner| {
                        for _ in 0..4 {
                            inner.spawn(|_| {
                                total.fetch_add(fib(&ex, 15) as usize, Ordering::Relaxed);
                            });
                        }
                    });
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 32 * 610, "{workers} workers");
        assert_eq!(fib(&ex, 22), 17711);
    }
}

#[test]
fn a_count_latch_waited_on_inside_a_job_runs_other_jobs_meanwhile() {
    // One worker: the job that waits must run the jobs it waits for itself.
    let ex = pool(1);
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = ex.join(
        || {
            let latch = Arc::new(CountLatch::new(3));
            for _ in 0..3 {
                let (latch, hits) = (Arc::clone(&latch), Arc::clone(&hits));
                ex.spawn(move || {
                    hits.fetch_add(1, Ordering::Relaxed);
                    latch.decrement();
                });
            }
            latch.wait();
            hits.load(Ordering::Relaxed)
        },
        || (),
    );
    assert_eq!(seen.0, 3);
}

#[test]
fn panics_propagate_and_the_pool_keeps_working() {
    let ex = pool(2);
    let r = panic::catch_unwind(AssertUnwindSafe(|| ex.join(|| 1, || panic!("right side"))));
    let msg = r.unwrap_err().downcast::<&str>().unwrap();
    assert_eq!(*msg, "right side");

    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        ex.join(
            || panic!("left side"),
            || std::thread::sleep(std::time::Duration::from_millis(5)),
        )
    }));
    assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "left side");

    let ran = AtomicUsize::new(0);
    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        ex.scope(|s| {
            for i in 0..100 {
                let ran = &ran;
                s.spawn(move |_| {
                    ran.fetch_add(1, Ordering::Relaxed);
                    if i == 50 {
                        panic!("job 50");
                    }
                });
            }
        })
    }));
    assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "job 50");
    // The scope waited for all jobs before raising the panic.
    assert_eq!(ran.load(Ordering::Relaxed), 100);

    // Spawned ('static) panics go to the handler; the pool goes on.
    let (tx, rx) = mpsc::channel::<String>();
    let tx = std::sync::Mutex::new(tx);
    let ex2 = Executor::builder()
        .workers(2)
        .panic_handler(move |p| {
            let msg = p
                .downcast::<&str>()
                .map(|s| s.to_string())
                .unwrap_or_default();
            tx.lock().unwrap().send(msg).unwrap();
        })
        .build()
        .unwrap();
    ex2.spawn(|| panic!("spawned"));
    assert_eq!(rx.recv().unwrap(), "spawned");
    assert_eq!(fib(&ex, 18), 2584);
    assert_eq!(fib(&ex2, 18), 2584);
}

#[test]
fn dropping_the_last_handle_finishes_queued_work_and_joins_every_thread() {
    let ex = Executor::builder()
        .workers(2)
        .thread_name(|i| format!("drop-test-{i}"))
        .build()
        .unwrap();
    // One job per worker (each waits for the other at the barrier, so the
    // two run on different workers) leaves a thread-local whose destructor
    // runs as its thread exits, slowly: a drop that did not join would
    // return before it counts.
    let exited = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(2));
    for _ in 0..2 {
        let exited = Arc::clone(&exited);
        let barrier = Arc::clone(&barrier);
        ex.spawn(move || {
            ON_EXIT.with(|slot| *slot.borrow_mut() = Some(CountOnExit(exited)));
            barrier.wait();
        });
    }
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..1000 {
        let done = Arc::clone(&done);
        ex.spawn(move || {
            done.fetch_add(1, Ordering::Relaxed);
        });
    }
    let probe = Arc::new(());
    let weak = Arc::downgrade(&probe);
    let clone = ex.clone();
    drop(ex);
    clone.spawn(move || drop(probe));
    drop(clone);
    // Every queued job ran before drop returned, the thread that ran the
    // last one has let go of its captures, and both threads had exited.
    assert_eq!(done.load(Ordering::Relaxed), 1000);
    assert!(weak.upgrade().is_none());
    assert_eq!(exited.load(Ordering::SeqCst), 2);
    // No thread named drop-test-* is left in this process. The kernel
    // removes a thread's /proc entry just after it wakes the joiner, so the
    // entries are given a moment to go (a missing join is caught above).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut names = thread_names();
    while names.iter().any(|n| n.starts_with("drop-test")) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
        names = thread_names();
    }
    assert!(
        !names.iter().any(|n| n.starts_with("drop-test")),
        "{names:?}"
    );
}

thread_local! {
    static ON_EXIT: RefCell<Option<CountOnExit>> = const { RefCell::new(None) };
}

/// Counts its thread's exit, after a pause long enough that a caller which
/// did not wait for the thread would look first.
struct CountOnExit(Arc<AtomicUsize>);

impl Drop for CountOnExit {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(50));
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn bad_worker_counts_are_errors_not_panics() {
    let zero = Executor::builder().workers(0).build().unwrap_err();
    assert_eq!(zero.kind(), &BuildErrorKind::ZeroWorkers);
    let absurd = Executor::builder().workers(1 << 40).build().unwrap_err();
    assert!(matches!(
        absurd.kind(),
        BuildErrorKind::TooManyWorkers { .. }
    ));
    assert!(absurd.to_string().contains("one worker per CPU"));
}

#[test]
fn an_impossible_stack_size_is_an_error_and_leaves_no_thread() {
    let err = Executor::builder()
        .workers(2)
        .thread_name(|i| format!("nostack-{i}"))
        .stack_size(usize::MAX / 2)
        .build()
        .unwrap_err();
    assert!(
        matches!(err.kind(), BuildErrorKind::Spawn { worker: 0, .. }),
        "{err}"
    );
    assert!(!thread_names().iter().any(|n| n.starts_with("nostack")));
}

#[test]
fn more_workers_than_cpus_wrap_round_robin() {
    let ex = Executor::builder().workers(4).build().unwrap();
    let cpus = ex.cpus().to_vec();
    // Make sure every worker has started (and pinned itself): all four
    // meet at a barrier, which needs four distinct workers.
    let barrier = Barrier::new(4);
    ex.scope(|s| {
        for _ in 0..4 {
            s.spawn(|_| {
                barrier.wait();
            });
        }
    });
    let stats = ex.stats();
    for (i, w) in stats.workers.iter().enumerate() {
        assert_eq!(w.cpu, Some(cpus[i % cpus.len()]), "worker {i}");
    }
}

#[test]
fn each_pinned_worker_runs_on_exactly_one_cpu() {
    let n = Executor::builder().build().unwrap().cpus().len().min(8);
    let ex = Executor::builder().workers(n).build().unwrap();
    let barrier = Barrier::new(n);
    let masks = std::sync::Mutex::new(Vec::new());
    ex.scope(|s| {
        for _ in 0..n {
            s.spawn(|_| {
                barrier.wait();
                let me = ex.current_worker_index().unwrap();
                masks.lock().unwrap().push((me, thread_mask()));
            });
        }
    });
    let mut masks = masks.into_inner().unwrap();
    masks.sort();
    assert_eq!(masks.len(), n);
    for (i, mask) in masks {
        assert_eq!(mask, vec![ex.cpus()[i % ex.cpus().len()]], "worker {i}");
    }

    // pin(false) leaves the thread's mask as the process's.
    let unpinned = Executor::builder().workers(1).pin(false).build().unwrap();
    let mask = unpinned.join(thread_mask, || ()).0;
    assert_eq!(mask, unpinned.cpus());
}

fn thread_mask() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity
    // writes at most size_of::<cpu_set_t>() bytes into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set),
            0
        );
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

#[test]
fn many_threads_use_one_pool_at_once() {
    let ex = pool(2);
    std::thread::scope(|s| {
        for t in 0..4 {
            let ex = &ex;
            s.spawn(move || {
                for _ in 0..50 {
                    assert_eq!(fib(ex, 12), 144, "thread {t}");
                }
            });
        }
    });
}

#[test]
fn a_job_can_use_a_different_executor() {
    let a = pool(1);
    let b = pool(1);
    let r = a.join(|| b.join(|| fib(&b, 10), || a.current_worker_index()), || 1);
    assert_eq!(r, ((55, None), 1));
}

/// A panic payload whose own drop panics: the executor must drop it
/// without unwinding into a worker (which would abort).
struct PanickyPayload;

impl Drop for PanickyPayload {
    fn drop(&mut self) {
        panic!("payload drop");
    }
}

#[test]
fn payloads_whose_drop_panics_do_not_take_the_pool_down() {
    let ex = pool(2);
    // Spawned without a handler: the payload is dropped by the worker.
    ex.spawn(|| std::panic::panic_any(PanickyPayload));
    // Two panicking scope jobs: the second payload is dropped by the scope.
    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        ex.scope(|s| {
            s.spawn(|_| std::panic::panic_any(1u8));
            s.spawn(|_| std::panic::panic_any(PanickyPayload));
        })
    }));
    // Whichever came first is raised; forget it so its drop cannot panic here.
    std::mem::forget(r.unwrap_err());
    assert_eq!(fib(&ex, 15), 610);
}
