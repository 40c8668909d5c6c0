//! Failures: a panic or an `Err` ends the compute with an `Error` naming the
//! task; tasks not started are cancelled, dependents never run, and the
//! executor stays usable.

use std::error::Error as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use delayed::{Executor, Graph};

fn executors() -> Vec<Executor> {
    [1, 2, 4]
        .iter()
        .map(|&n| Executor::builder().workers(n).build().unwrap())
        .collect()
}

#[test]
fn a_panic_names_the_task_and_carries_its_message() {
    for ex in executors() {
        let g = Graph::new();
        let x = g.delayed("fine", || 1);
        let bad = g.task("explode", &x, |v| -> i32 { panic!("boom at {v}") });
        let err = bad.compute_on(&ex).unwrap_err();
        assert_eq!(
            err.to_string(),
            "task 'explode' (key 1) panicked: boom at 1"
        );
        assert_eq!(err.task_name(), Some("explode"));
        assert_eq!(err.task_key(), Some(1));
        assert_eq!(err.panic_message(), Some("boom at 1"));
        assert!(err.source().is_none());
    }
}

#[test]
fn an_err_names_the_task_and_is_the_source() {
    #[derive(Debug)]
    struct Mine(u32);
    impl std::fmt::Display for Mine {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "mine {}", self.0)
        }
    }
    impl std::error::Error for Mine {}

    for ex in executors() {
        let g = Graph::new();
        let x = g.delayed("x", || 7u32);
        let bad = g.try_task("check", &x, |v| if *v > 5 { Err(Mine(*v)) } else { Ok(*v) });
        let err = bad.compute_on(&ex).unwrap_err();
        assert_eq!(err.to_string(), "task 'check' (key 1) failed: mine 7");
        let source = err.source().expect("the task's error is the source");
        assert_eq!(source.downcast_ref::<Mine>().map(|m| m.0), Some(7));
        assert_eq!(err.panic_message(), None);
    }
}

#[test]
fn string_errors_box_too() {
    let g = Graph::new();
    let x = g.try_delayed("s", || -> Result<u8, String> { Err("plain text".into()) });
    let err = x.compute_sync().unwrap_err();
    assert_eq!(err.to_string(), "task 's' (key 0) failed: plain text");
}

#[test]
fn dependents_of_a_failed_task_never_run() {
    for ex in executors() {
        let ran = Arc::new(AtomicUsize::new(0));
        let g = Graph::new();
        let bad = g.delayed("bad", || -> u64 { panic!("no") });
        let mut last = bad.clone();
        for _ in 0..100 {
            let ran = Arc::clone(&ran);
            last = g.task("after", &last, move |v| {
                ran.fetch_add(1, Ordering::Relaxed);
                v + 1
            });
        }
        assert!(last.compute_on(&ex).is_err());
        assert!(last.compute_sync().is_err());
        assert_eq!(ran.load(Ordering::Relaxed), 0);
    }
}

#[test]
fn tasks_not_started_are_cancelled() {
    // One worker runs root 0 first (the seed runs it before the pushed roots),
    // so its failure cancels every other root, still queued.
    let ex = Executor::builder().workers(1).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let g = Graph::new();
    let mut roots = vec![g.delayed("first", || -> u64 { panic!("first fails") })];
    for _ in 0..1000 {
        let ran = Arc::clone(&ran);
        roots.push(g.delayed("other", move || {
            ran.fetch_add(1, Ordering::Relaxed);
            1
        }));
    }
    let sum = g.task("sum", &roots, |v| v.into_iter().sum::<u64>());
    let err = sum.compute_on(&ex).unwrap_err();
    assert_eq!(err.task_name(), Some("first"));
    assert_eq!(ran.load(Ordering::Relaxed), 0);

    // The sync runner stops at the first failure too.
    assert!(sum.compute_sync().is_err());
    assert_eq!(ran.load(Ordering::Relaxed), 0);
}

#[test]
fn the_first_error_wins_and_the_executor_stays_usable() {
    for ex in executors() {
        let g = Graph::new();
        let failing: Vec<_> = (0..64)
            .map(|i| g.try_delayed("fail", move || Err::<u8, _>(format!("error {i}"))))
            .collect();
        let all = g.task("all", &failing, |v| v.len());
        for _ in 0..20 {
            let err = all.compute_on(&ex).unwrap_err();
            assert_eq!(err.task_name(), Some("fail"));
            assert!(err.to_string().contains("failed: error "), "{err}");
        }
        let fine = g.delayed("fine", || 5);
        let doubled = g.task("double", &fine, |v| v * 2);
        assert_eq!(doubled.compute_on(&ex).unwrap(), 10);
    }
}

#[test]
fn a_panicking_drop_is_reported_not_an_abort() {
    struct Grenade;
    impl Drop for Grenade {
        fn drop(&mut self) {
            panic!("dropped badly");
        }
    }
    let ex = Executor::builder().workers(2).build().unwrap();
    let g = Graph::new();
    let grenade = g.delayed("grenade", || Grenade);
    let after = g.task("after", &grenade, |_| 1);
    let err = after.compute_on(&ex).unwrap_err();
    assert_eq!(err.task_name(), Some("grenade"));
    assert!(err
        .to_string()
        .contains("dropping its output panicked: dropped badly"));
    assert_eq!(g.delayed("next", || 2).compute_on(&ex).unwrap(), 2);
}

/// An error whose `Drop` panics, counting its drops.
#[derive(Debug)]
struct BadErr(Arc<AtomicUsize>);

impl std::fmt::Display for BadErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bad error")
    }
}

impl std::error::Error for BadErr {}

impl Drop for BadErr {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
        panic!("an error dropped badly");
    }
}

/// Two tasks fail at once (a barrier holds each until both run, one per
/// worker), so one error is not the first and is dropped by the run. Its
/// panicking drop used to run outside `catch_unwind`, in a job, and abort
/// the process ("a job unwound into the scheduler").
#[test]
fn a_later_error_whose_drop_panics_is_not_an_abort() {
    let ex = Executor::builder().workers(2).build().unwrap();
    for _ in 0..10 {
        let drops = Arc::new(AtomicUsize::new(0));
        let both = Arc::new(std::sync::Barrier::new(2));
        let g = Graph::new();
        let failing: Vec<_> = (0..2)
            .map(|_| {
                let (drops, both) = (Arc::clone(&drops), Arc::clone(&both));
                g.try_delayed("bad", move || {
                    both.wait();
                    Err::<u64, _>(BadErr(Arc::clone(&drops)))
                })
            })
            .collect();
        let sum = g.task("sum", &failing, |v| v.into_iter().sum::<u64>());
        let err = sum.compute_on(&ex).unwrap_err();
        assert_eq!(err.task_name(), Some("bad"));
        assert_eq!(
            drops.load(Ordering::Relaxed),
            1,
            "the later error was dropped"
        );
        // The first error is the caller's, with its panicking drop.
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(err)));
        assert!(dropped.is_err());
        assert_eq!(drops.load(Ordering::Relaxed), 2);
        assert_eq!(g.delayed("next", || 2).compute_on(&ex).unwrap(), 2);
    }
}

#[test]
fn a_default_executor_that_cannot_start_is_an_error_not_a_panic() {
    // The default executor is built once per process, so the check runs in
    // a child process with a malformed worker count.
    const CHILD: &str = "DELAYED_TEST_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let g = Graph::new();
        let err = g.delayed("x", || 1).compute().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot start the default executor: "),
            "{err}"
        );
        assert!(err.source().is_some());
        assert_eq!(err.task_name(), None);
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_default_executor_that_cannot_start_is_an_error_not_a_panic",
        ])
        .env(CHILD, "1")
        .env("DELAYED_NUM_WORKERS", "zero")
        .status()
        .unwrap();
    assert!(status.success());
}
