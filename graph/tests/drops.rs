//! Freeing of intermediates: each value is dropped once, as soon as its last
//! consumer has finished, and a long chain holds only a few values at a time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use delayed::{Executor, Graph};

/// Counts live values and remembers the most alive at once.
#[derive(Default)]
struct Census {
    live: AtomicUsize,
    peak: AtomicUsize,
    made: AtomicUsize,
}

struct Tracked {
    census: Arc<Census>,
    value: u64,
}

impl Tracked {
    fn new(census: &Arc<Census>, value: u64) -> Tracked {
        census.made.fetch_add(1, Ordering::SeqCst);
        let live = census.live.fetch_add(1, Ordering::SeqCst) + 1;
        census.peak.fetch_max(live, Ordering::SeqCst);
        Tracked {
            census: Arc::clone(census),
            value,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.census.live.fetch_sub(1, Ordering::SeqCst);
    }
}

fn runners() -> Vec<Option<Executor>> {
    let mut runners = vec![None];
    for workers in [1, 2, 4] {
        runners.push(Some(Executor::builder().workers(workers).build().unwrap()));
    }
    runners
}

fn compute<T: Send + Sync + 'static>(
    x: &delayed::Delayed<T>,
    ex: &Option<Executor>,
) -> Result<T, delayed::Error> {
    match ex {
        Some(ex) => x.compute_on(ex),
        None => x.compute_sync(),
    }
}

#[test]
fn a_long_chain_holds_at_most_two_values() {
    for ex in runners() {
        let census = Arc::new(Census::default());
        let g = Graph::new();
        let c = Arc::clone(&census);
        let mut last = g.delayed("start", move || Tracked::new(&c, 0));
        for _ in 0..10_000 {
            let c = Arc::clone(&census);
            last = g.task("step", &last, move |t| Tracked::new(&c, t.value + 1));
        }
        let result = compute(&last, &ex).unwrap();
        assert_eq!(result.value, 10_000);
        assert_eq!(census.made.load(Ordering::SeqCst), 10_001);
        assert_eq!(
            census.live.load(Ordering::SeqCst),
            1,
            "only the result is alive"
        );
        assert!(
            census.peak.load(Ordering::SeqCst) <= 2,
            "peak {:?}",
            census.peak
        );
        drop(result);
        assert_eq!(census.live.load(Ordering::SeqCst), 0);
    }
}

#[test]
fn a_shared_value_lives_until_its_last_consumer() {
    for ex in runners() {
        let census = Arc::new(Census::default());
        let g = Graph::new();
        let c = Arc::clone(&census);
        let shared = g.delayed("shared", move || Tracked::new(&c, 7));
        let readers: Vec<_> = (0..50)
            .map(|i| {
                g.task("read", (&shared, &shared), move |(a, b)| {
                    a.value + b.value + i
                })
            })
            .collect();
        let total = g.task("sum", &readers, |v| v.into_iter().sum::<u64>());
        assert_eq!(
            compute(&total, &ex).unwrap(),
            50 * 14 + (0..50).sum::<u64>()
        );
        assert_eq!(census.live.load(Ordering::SeqCst), 0);
        assert_eq!(census.made.load(Ordering::SeqCst), 1);
    }
}

/// A number has nothing to drop, so a run does not count its consumers;
/// one of them also reads a value that it must free (and so counts its
/// reads of that one). Every consumer gets the number, and the value is
/// freed once, by that consumer.
#[test]
fn numbers_beside_freed_values_reach_every_consumer() {
    for ex in runners() {
        let census = Arc::new(Census::default());
        let g = Graph::new();
        let number = g.delayed("number", || 5u64);
        let c = Arc::clone(&census);
        let tracked = g.delayed("tracked", move || Tracked::new(&c, 7));
        let mixed = g.task("mixed", (&number, &tracked), |(n, t)| n + t.value);
        let plain: Vec<_> = (0..20)
            .map(|i| g.task("plain", &number, move |n| n * i))
            .collect();
        let plain_sum = g.task("sum", &plain, |v| v.into_iter().sum::<u64>());
        let total = g.task("total", (&mixed, &plain_sum, &number), |(m, p, n)| {
            m + p + n
        });
        assert_eq!(compute(&total, &ex).unwrap(), 12 + 5 * 190 + 5);
        assert_eq!(census.live.load(Ordering::SeqCst), 0);
        assert_eq!(census.made.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn every_value_is_dropped_after_a_failure() {
    for ex in runners() {
        let census = Arc::new(Census::default());
        let g = Graph::new();
        let values: Vec<_> = (0..100)
            .map(|i| {
                let c = Arc::clone(&census);
                g.delayed("value", move || Tracked::new(&c, i))
            })
            .collect();
        let bad = g.task("bad", &values[..50], |_| -> u64 { panic!("fail") });
        let keep = g.task("keep", &values[50..], |v| v.len() as u64);
        let both = g.task("both", (&bad, &keep), |(a, b)| a + b);
        assert!(compute(&both, &ex).is_err());
        assert_eq!(census.live.load(Ordering::SeqCst), 0);
    }
}

#[test]
fn targets_are_moved_not_dropped_and_intermediates_are_freed() {
    for ex in runners() {
        let census = Arc::new(Census::default());
        let g = Graph::new();
        let c = Arc::clone(&census);
        let a = g.delayed("a", move || Tracked::new(&c, 1));
        let c = Arc::clone(&census);
        let b = g.task("b", &a, move |t| Tracked::new(&c, t.value + 1));
        let c = Arc::clone(&census);
        let d = g.task("d", &b, move |t| Tracked::new(&c, t.value + 1));
        let (a_out, d_out) = match &ex {
            Some(ex) => delayed::compute_on((&a, &d), ex).unwrap(),
            None => delayed::compute_sync((&a, &d)).unwrap(),
        };
        assert_eq!((a_out.value, d_out.value), (1, 3));
        assert_eq!(census.live.load(Ordering::SeqCst), 2, "b was freed");
    }
}

/// A sink with thousands of inputs: their counts are deferred by the jobs
/// that ran them (`run/README.md`, step 5) and added up when each job ends.
/// The sink still sees every value, runs once, and every value is dropped
/// once; also when one input fails, and then the sink never runs.
#[test]
fn a_sink_of_many_inputs_sees_each_once_and_frees_them() {
    const N: u64 = 5_000;
    for ex in runners() {
        for round in 0..10 {
            let census = Arc::new(Census::default());
            let sink_runs = Arc::new(AtomicUsize::new(0));
            let g = Graph::new();
            let failing = (round % 2 == 1).then_some(round * 397 % N);
            let leaves: Vec<_> = (0..N)
                .map(|i| {
                    let c = Arc::clone(&census);
                    g.try_delayed("leaf", move || {
                        if Some(i) == failing {
                            Err("this leaf fails")
                        } else {
                            Ok(Tracked::new(&c, i))
                        }
                    })
                })
                .collect();
            let runs = Arc::clone(&sink_runs);
            let sum = g.task("sum", &leaves, move |values| {
                runs.fetch_add(1, Ordering::SeqCst);
                values.into_iter().map(|t| t.value).sum::<u64>()
            });
            // A lost deferred count would hang the compute: fail instead.
            let (tx, rx) = std::sync::mpsc::channel();
            let on = ex.clone();
            std::thread::spawn(move || tx.send(compute(&sum, &on)));
            let result = rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("the compute never ended: a deferred count was lost");
            match failing {
                None => {
                    assert_eq!(result.unwrap(), N * (N - 1) / 2);
                    assert_eq!(census.made.load(Ordering::SeqCst), N as usize);
                    assert_eq!(sink_runs.load(Ordering::SeqCst), 1);
                }
                Some(_) => {
                    assert!(result.unwrap_err().to_string().contains("this leaf fails"));
                    assert_eq!(sink_runs.load(Ordering::SeqCst), 0);
                }
            }
            assert_eq!(census.live.load(Ordering::SeqCst), 0, "round {round}");
        }
    }
}

/// Dropping a graph whose first closure panics on drop still drops every
/// other closure (and frees the store), as a `Vec` would; the panic reaches
/// whoever dropped the graph. (The store's drop stopped at the panic: 136
/// of these 199 captured `Arc`s were never released.)
#[test]
fn a_closure_whose_drop_panics_does_not_leak_the_others() {
    struct Grenade;
    impl Drop for Grenade {
        fn drop(&mut self) {
            panic!("a closure's capture dropped badly");
        }
    }
    let marker = Arc::new(());
    let g = Graph::new();
    let grenade = Grenade;
    drop(g.delayed("grenade", move || {
        std::hint::black_box(&grenade);
        0
    }));
    for _ in 1..200 {
        let m = Arc::clone(&marker);
        drop(g.delayed("held", move || Arc::strong_count(&m)));
    }
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(g)));
    assert!(dropped.is_err(), "the panic reaches the caller");
    assert_eq!(
        Arc::strong_count(&marker),
        1,
        "every other closure was dropped"
    );
}

/// Closures of every size a graph keeps them by (a word: in the node's
/// record; up to 16 KiB: in a chunk of the graph's arena; larger: in a
/// block of the arena's of their own) run with what they captured, and each
/// capture is dropped once, when the graph goes, however many chunks the
/// arena grew to.
#[test]
fn closures_of_every_size_run_and_are_dropped_once_with_the_graph() {
    fn value(tracked: &Tracked) -> u64 {
        tracked.value
    }
    let census = Arc::new(Census::default());
    let g = Graph::new();
    let mut sum = g.delayed("zero", || 0u64);
    let mut expected = 0;
    for i in 0..3_000u64 {
        let tracked = Tracked::new(&census, i);
        sum = match i % 3 {
            // The `Arc` inside `Tracked` and a `u64`: two words.
            // (`value(&tracked)`: the closure captures all of `tracked`,
            // not just its `u64`.)
            0 => g.task("two words", &sum, move |s| s + value(&tracked)),
            1 => {
                let pad = [i; 12];
                g.task("arena", &sum, move |s| s + value(&tracked) + pad[11] - i)
            }
            _ if i % 30 == 2 => {
                let pad = [i; 2100];
                g.task("own block", &sum, move |s| {
                    s + value(&tracked) + pad[2099] - i
                })
            }
            _ => {
                let pad = [i; 200];
                g.task("chunk", &sum, move |s| s + value(&tracked) + pad[199] - i)
            }
        };
        expected += i;
    }
    for executor in runners() {
        assert_eq!(compute(&sum, &executor).unwrap(), expected);
    }
    let live = census.live.load(Ordering::SeqCst);
    assert_eq!(live, 3_000, "the graph holds every capture");
    drop(sum);
    drop(g);
    assert_eq!(census.live.load(Ordering::SeqCst), 0, "each dropped once");
    assert_eq!(census.made.load(Ordering::SeqCst), 3_000);
}

/// A graph drops only the closures that have something to drop, and skips
/// the pass over its nodes when none has: captures with drop glue among
/// plain ones, and one such capture alone at the end of a long plain chain,
/// are each dropped once with the graph.
#[test]
fn captures_to_drop_among_plain_closures_are_dropped_with_the_graph() {
    let marker = Arc::new(());
    let g = Graph::new();
    let mut x = g.delayed("zero", || 0u64);
    for i in 0..1_000u64 {
        x = if i % 7 == 3 {
            let m = Arc::clone(&marker);
            g.task("held", &x, move |v| v + Arc::strong_count(&m).min(1) as u64)
        } else {
            g.task("plain", &x, move |v| v + i % 2)
        };
    }
    let last = {
        let m = Arc::clone(&marker);
        g.task("last", &x, move |v| v + Arc::strong_count(&m).min(1) as u64)
    };
    let expected = (0..1_000u64)
        .map(|i| if i % 7 == 3 { 1 } else { i % 2 })
        .sum::<u64>()
        + 1;
    assert_eq!(last.compute().unwrap(), expected);
    assert_eq!(
        Arc::strong_count(&marker),
        1 + 143 + 1,
        "the graph holds them"
    );
    drop((x, last, g));
    assert_eq!(Arc::strong_count(&marker), 1, "each dropped once");

    let marker = Arc::new(());
    let g = Graph::new();
    let mut x = g.delayed("zero", || 0u64);
    for i in 0..1_000u64 {
        x = g.task("plain", &x, move |v| v + i);
    }
    let m = Arc::clone(&marker);
    let last = g.task("only one to drop", &x, move |v| {
        *v + Arc::strong_count(&m) as u64
    });
    drop((x, last, g));
    assert_eq!(Arc::strong_count(&marker), 1, "the last closure dropped");
}
