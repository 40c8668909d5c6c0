//! `compute_async` from tokio: many computes awaited at once, cancellation
//! by dropping the future (tasks not started never run, nothing leaks), and
//! a failing task surfacing as `Err`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use delayed::{Delayed, Executor, Graph};

/// How long a test waits for something that must happen before it calls
/// that a hang: a failure, not a timing (it happens in milliseconds).
const HANG: Duration = Duration::from_secs(60);

/// Captured by a task: holds `keep` for it, and when dropped, drops it and
/// then sends once on `freed`, which says that the graph holding the task
/// has been freed.
struct DropSignal {
    keep: Option<Arc<()>>,
    freed: Mutex<mpsc::Sender<()>>,
}

impl DropSignal {
    fn new(keep: Option<Arc<()>>, freed: mpsc::Sender<()>) -> DropSignal {
        DropSignal {
            keep,
            freed: Mutex::new(freed),
        }
    }
}

impl Drop for DropSignal {
    fn drop(&mut self) {
        drop(self.keep.take());
        let _ = self.freed.lock().unwrap().send(());
    }
}

/// The lesson's loop over `n` numbers: `sum(i + 1 for i in 1..=n)`.
fn inc_sum(g: &Graph, n: i64) -> Delayed<i64> {
    let xs: Vec<_> = (1..=n).map(|i| g.delayed("inc", move || i + 1)).collect();
    g.task("sum", &xs, |v| v.into_iter().sum::<i64>())
}

fn expected(n: i64) -> i64 {
    (1..=n).map(|i| i + 1).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_computes_are_awaited_at_once() {
    for workers in [1, 2, 3] {
        let ex = Executor::builder().workers(workers).build().unwrap();
        // A graph per request, each awaited in its own tokio task.
        let handles: Vec<_> = (1..=64)
            .map(|n| {
                let ex = ex.clone();
                tokio::spawn(async move {
                    let g = Graph::new();
                    let total = inc_sum(&g, n);
                    (n, total.compute_on_async(&ex).await.unwrap())
                })
            })
            .collect();
        for handle in handles {
            let (n, total) = handle.await.unwrap();
            assert_eq!(total, expected(n), "{workers} workers, n = {n}");
        }
        // One shared graph, the same targets computed by many futures at
        // once: each compute runs the tasks afresh.
        let g = Graph::new();
        let total = inc_sum(&g, 100);
        let doubled = g.task("double", &total, |t| 2 * t);
        let futures: Vec<_> = (0..32)
            .map(|_| delayed::compute_on_async((&total, &doubled), &ex))
            .collect();
        for future in futures {
            assert_eq!(future.await.unwrap(), (expected(100), 2 * expected(100)));
        }
    }
}

#[tokio::test]
async fn the_default_executor_and_lists_compute_async() {
    let g = Graph::new();
    let xs: Vec<_> = (0..10).map(|i| g.delayed("x", move || i * i)).collect();
    let squares = delayed::compute_async(&xs).await.unwrap();
    assert_eq!(squares, (0..10).map(|i| i * i).collect::<Vec<_>>());
    assert_eq!(xs[3].compute_async().await.unwrap(), 9);
    let none: Vec<Delayed<i32>> = Vec::new();
    assert_eq!(
        delayed::compute_async(&none).await.unwrap(),
        Vec::<i32>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_future_cancels_the_run() {
    for workers in [1, 2] {
        let ex = Executor::builder().workers(workers).build().unwrap();
        let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (freed_tx, freed_rx) = mpsc::channel();
        let ran = Arc::new(AtomicUsize::new(0));
        // Every value the run computes holds a clone of `live`.
        let live = Arc::new(());
        let mut future = {
            let g = Graph::new();
            let signal = DropSignal::new(Some(Arc::clone(&live)), freed_tx);
            let release = Mutex::new(release_rx);
            let gate = g.delayed("gate", move || {
                started_tx.send(()).unwrap();
                release.lock().unwrap().recv().unwrap();
                Arc::clone(signal.keep.as_ref().unwrap())
            });
            let mut last = gate;
            for _ in 0..10 {
                let ran = Arc::clone(&ran);
                last = g.task("after", &last, move |v| {
                    ran.fetch_add(1, Ordering::Relaxed);
                    Arc::clone(v)
                });
            }
            last.compute_on_async(&ex)
            // The test's graph handles end here: the future holds the last.
        };
        // Poll the future (which starts the run) until the gate has started.
        tokio::select! {
            biased;
            _ = &mut future => panic!("the gate is still closed"),
            started = started_rx.recv() => started.unwrap(),
        }
        drop(future);
        release_tx.send(()).unwrap();
        // The run ends, and its job drops the last handle of the graph.
        tokio::task::spawn_blocking(move || freed_rx.recv_timeout(HANG))
            .await
            .unwrap()
            .expect("the cancelled run ended and freed its graph");
        assert_eq!(ran.load(Ordering::Relaxed), 0, "{workers} workers");
        assert_eq!(Arc::strong_count(&live), 1, "a computed value leaked");
        // The executor still computes.
        assert_eq!(
            inc_sum(&Graph::new(), 8)
                .compute_on_async(&ex)
                .await
                .unwrap(),
            44
        );
    }
}

#[test]
fn a_future_dropped_before_its_first_poll_runs_nothing() {
    let ran = Arc::new(AtomicUsize::new(0));
    let (freed_tx, freed_rx) = mpsc::channel();
    let future = {
        let g = Graph::new();
        let signal = DropSignal::new(None, freed_tx);
        let counter = Arc::clone(&ran);
        let x = g.delayed("x", move || {
            let _ = &signal;
            counter.fetch_add(1, Ordering::Relaxed)
        });
        x.compute_async()
    };
    drop(future);
    // The future held the graph's last handle: freed now, nothing spawned.
    assert!(freed_rx.try_recv().is_ok());
    assert_eq!(ran.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_task_surfaces_as_err() {
    let ex = Executor::builder().workers(2).build().unwrap();
    let g = Graph::new();
    let x = g.delayed("x", || 1);
    let boom = g.task("boom", &x, |_: &i32| -> i32 { panic!("kaboom") });
    let after = g.task("after", &boom, |v| v + 1);
    let err = after.compute_on_async(&ex).await.unwrap_err();
    assert_eq!(err.task_name(), Some("boom"));
    assert_eq!(err.panic_message(), Some("kaboom"));
    assert!(err.to_string().contains("boom"), "{err}");

    let parse = g.try_task("parse", &x, |_| "x".parse::<u8>());
    let err = parse.compute_on_async(&ex).await.unwrap_err();
    assert_eq!(err.task_name(), Some("parse"));
    assert!(std::error::Error::source(&err).is_some());

    // The executor and the graph stay usable.
    assert_eq!(x.compute_on_async(&ex).await.unwrap(), 1);
}

#[tokio::test]
#[should_panic(expected = "asked for twice")]
async fn a_target_asked_twice_panics_in_the_awaiting_task() {
    let g = Graph::new();
    let x = g.delayed("x", || 1);
    let _ = delayed::compute_async((&x, &x)).await;
}

#[test]
fn the_async_service_example_answers_each_request() {
    // Built next to the test binaries by a whole `cargo test -p delayed`.
    let program = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("examples/async_service")))
        .filter(|path| path.exists());
    let Some(program) = program else {
        eprintln!("async_service is not built (run the whole `cargo test -p delayed`); skipped");
        return;
    };
    let output = std::process::Command::new(program).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let expected: Vec<String> = (1..=8)
        .map(|k| format!("{} {}", 8 * k, expected(8 * k)))
        .collect();
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected);
}
