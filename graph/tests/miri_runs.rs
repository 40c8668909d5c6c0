//! Small multi-threaded runs (two workers) for Miri's data-race detector and
//! its aliasing checks (`scripts/sanitizers.sh` runs them under Tree Borrows
//! with several `-Zmiri-seed` values, and under ThreadSanitizer). Each case
//! is one path of `graph/src/run/README.md` through the unsafe code: boxed
//! values freed by their last consumer (step 6), duplicate inputs, a sink
//! with more than 64 inputs (deferred counts, step 5), a failure that leaves
//! values in slots (step 8), a nested compute (step 8's waiting worker), and
//! a compute while another thread adds tasks (the store's append protocol).
//!
//! Sizes are small so that Miri, an interpreter, runs them in seconds; they
//! also run natively with the other tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use delayed::{Executor, Graph};

fn two_workers() -> Executor {
    Executor::builder().workers(2).pin(false).build().unwrap()
}

/// A boxed value (three words) that counts its drops.
struct Counted {
    text: String,
    drops: Arc<AtomicUsize>,
}

impl Counted {
    fn new(text: String, drops: &Arc<AtomicUsize>) -> Counted {
        Counted {
            text,
            drops: Arc::clone(drops),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn boxed_values_are_freed_by_their_last_consumer() {
    let ex = two_workers();
    let drops = Arc::new(AtomicUsize::new(0));
    let g = Graph::new();
    let leaves: Vec<_> = (0..6)
        .map(|i| {
            let d = Arc::clone(&drops);
            g.delayed("leaf", move || Counted::new(format!("{i}"), &d))
        })
        .collect();
    // Each leaf read by two consumers, on either worker.
    let pairs: Vec<_> = (0..6)
        .map(|i| {
            let d = Arc::clone(&drops);
            g.task("pair", (&leaves[i], &leaves[(i + 1) % 6]), move |(a, b)| {
                Counted::new(format!("{}{}", a.text, b.text), &d)
            })
        })
        .collect();
    let total = g.task("total", &pairs, |ps| {
        ps.into_iter().map(|p| p.text.len()).sum::<usize>()
    });
    assert_eq!(total.compute_on(&ex).unwrap(), 12);
    assert_eq!(drops.load(Ordering::Relaxed), 12, "each value dropped once");
}

#[test]
fn duplicate_inputs_are_read_and_released_per_edge() {
    let ex = two_workers();
    let drops = Arc::new(AtomicUsize::new(0));
    let g = Graph::new();
    let d = Arc::clone(&drops);
    let x = g.delayed("x", move || Counted::new("ab".into(), &d));
    let twice = g.task("twice", (&x, &x), |(a, b)| a.text.len() + b.text.len());
    let list = g.task("list", &vec![x.clone(), x.clone(), x], |xs| {
        xs.into_iter().map(|c| c.text.len()).sum::<usize>()
    });
    let (a, b) = delayed::compute_on((&twice, &list), &ex).unwrap();
    assert_eq!((a, b), (4, 6));
    assert_eq!(drops.load(Ordering::Relaxed), 1, "x dropped once");
}

#[test]
fn a_sink_of_more_than_64_inputs_defers_its_counts() {
    let ex = two_workers();
    let g = Graph::new();
    let xs: Vec<_> = (0..80u64).map(|i| g.delayed("x", move || i)).collect();
    let boxed: Vec<_> = (0..70u64)
        .map(|i| g.delayed("s", move || i.to_string()))
        .collect();
    let sum = g.task("sum", &xs, |v| v.into_iter().sum::<u64>());
    let len = g.task("len", &boxed, |v| {
        v.into_iter().map(String::len).sum::<usize>()
    });
    assert_eq!(delayed::compute_on((&sum, &len), &ex).unwrap(), (3160, 130));
}

#[test]
fn a_failure_leaves_values_in_slots_that_are_dropped_once() {
    let ex = two_workers();
    let drops = Arc::new(AtomicUsize::new(0));
    let g = Graph::new();
    let held: Vec<_> = (0..4)
        .map(|i| {
            let d = Arc::clone(&drops);
            g.delayed("held", move || Counted::new(format!("{i}"), &d))
        })
        .collect();
    // It fails once every held value is made (it reads them all): a
    // failing root could cancel the run before a held task started, and
    // then fewer values were made (one run in CI, under load).
    let fails = g.try_task("fails", &held, |_| Err::<u64, _>("no"));
    // Consumers that never run: the held values stay in their slots.
    let lasts: Vec<_> = held
        .iter()
        .map(|h| g.task("last", (h, &fails), |(h, f)| h.text.len() as u64 + f))
        .collect();
    let sum = g.task("sum", &lasts, |v| v.into_iter().sum::<u64>());
    let err = sum.compute_on(&ex).unwrap_err();
    assert_eq!(err.task_name(), Some("fails"));
    assert_eq!(
        drops.load(Ordering::Relaxed),
        4,
        "each held value dropped once"
    );
}

#[test]
fn a_later_error_whose_drop_panics_is_dropped_inside_the_run() {
    #[derive(Debug)]
    struct BadErr;
    impl std::fmt::Display for BadErr {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("bad")
        }
    }
    impl std::error::Error for BadErr {}
    impl Drop for BadErr {
        fn drop(&mut self) {
            panic!("an error dropped badly");
        }
    }
    let ex = two_workers();
    let both = Arc::new(Barrier::new(2));
    let g = Graph::new();
    let failing: Vec<_> = (0..2)
        .map(|_| {
            let both = Arc::clone(&both);
            g.try_delayed("bad", move || {
                both.wait();
                Err::<u64, _>(BadErr)
            })
        })
        .collect();
    let sum = g.task("sum", &failing, |v| v.into_iter().sum::<u64>());
    let err = sum.compute_on(&ex).unwrap_err();
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(err)));
    assert!(dropped.is_err(), "the caller's error is the first one");
}

#[test]
fn a_task_computes_a_graph_on_its_own_executor() {
    let ex = two_workers();
    let g = Graph::new();
    let inner_ex = ex.clone();
    let outer: Vec<_> = (0..3u64)
        .map(|i| {
            let ex = inner_ex.clone();
            g.delayed("outer", move || {
                let inner = Graph::new();
                let a = inner.delayed("a", move || i.to_string());
                let b = inner.task("b", &a, move |s| s.len() as u64 + i);
                b.compute_on(&ex).unwrap()
            })
        })
        .collect();
    let sum = g.task("sum", &outer, |v| v.into_iter().sum::<u64>());
    assert_eq!(sum.compute_on(&ex).unwrap(), 3 + 3);
}

#[test]
fn a_compute_runs_while_another_thread_adds_tasks() {
    let ex = two_workers();
    let g = Graph::new();
    let root = g.delayed("root", || String::from("r"));
    let first = g.task("first", &root, |r| r.len());
    let adds = 40;
    std::thread::scope(|s| {
        let adder = s.spawn(|| {
            // Consumers of `root` beyond the three kept in its record, and
            // new nodes in new segments of the store.
            for i in 0..adds {
                g.task("more", &root, move |r| r.len() + i);
            }
        });
        for _ in 0..3 {
            assert_eq!(first.compute_on(&ex).unwrap(), 1);
        }
        adder.join().unwrap();
    });
    let last = g.task("last", &root, |r| r.len() * 2);
    assert_eq!(last.compute_on(&ex).unwrap(), 2);
}

/// Threads adding tasks to one graph at once (the store's writer lock):
/// every task lands once, with its own inputs, and each thread's chain,
/// also reading the other threads' first nodes, computes what a sequential
/// build would.
#[test]
fn threads_add_tasks_to_one_graph_at_once() {
    let ex = two_workers();
    let g = Graph::new();
    let seeds: Vec<_> = (0..3u64).map(|t| g.delayed("seed", move || t)).collect();
    let steps = if cfg!(miri) { 12 } else { 3_000 };
    let ends: Vec<_> = std::thread::scope(|s| {
        let builders: Vec<_> = (0..3)
            .map(|t| {
                let (g, seeds) = (&g, &seeds);
                s.spawn(move || {
                    let mut x = seeds[t].clone();
                    for i in 0..steps {
                        let other = &seeds[(t + 1 + i as usize) % 3];
                        x = g.task("step", (&x, other), move |(a, b)| a + b + i);
                    }
                    x
                })
            })
            .collect();
        builders.into_iter().map(|b| b.join().unwrap()).collect()
    });
    assert_eq!(g.len(), 3 + 3 * steps as usize);
    for (t, end) in ends.iter().enumerate() {
        let expected: u64 = t as u64 + (0..steps).map(|i| (t as u64 + 1 + i) % 3 + i).sum::<u64>();
        assert_eq!(end.compute_on(&ex).unwrap(), expected, "thread {t}'s chain");
    }
}
