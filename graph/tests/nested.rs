//! `compute()` from inside a running task: never deadlocks, even on one worker.

use delayed::{Executor, Graph};

/// A task that builds and computes a graph of `width` tasks on `ex`.
fn nested_sum(ex: &Executor, width: u64) -> u64 {
    let g = Graph::new();
    let parts: Vec<_> = (0..width).map(|i| g.delayed("part", move || i)).collect();
    let sum = g.task("sum", &parts, |v| v.into_iter().sum::<u64>());
    sum.compute_on(ex).unwrap()
}

#[test]
fn nested_compute_on_one_worker_does_not_deadlock() {
    let ex = Executor::builder().workers(1).build().unwrap();
    let g = Graph::new();
    let outer: Vec<_> = (0..8)
        .map(|_| {
            let ex = ex.clone();
            g.delayed("outer", move || nested_sum(&ex, 10))
        })
        .collect();
    let total = g.task("total", &outer, |v| v.into_iter().sum::<u64>());
    assert_eq!(total.compute_on(&ex).unwrap(), 8 * 45);
}

#[test]
fn nested_compute_several_levels_deep() {
    fn level(ex: Executor, depth: u32) -> u64 {
        if depth == 0 {
            return 1;
        }
        let g = Graph::new();
        let kids: Vec<_> = (0..3)
            .map(|_| {
                let ex = ex.clone();
                g.delayed("kid", move || level(ex.clone(), depth - 1))
            })
            .collect();
        let sum = g.task("sum", &kids, |v| v.into_iter().sum::<u64>());
        sum.compute_on(&ex).unwrap()
    }
    for workers in [1, 2, 4] {
        let ex = Executor::builder().workers(workers).build().unwrap();
        assert_eq!(level(ex, 4), 81);
    }
}

#[test]
fn nested_compute_on_the_default_executor_and_in_sync_mode() {
    let g = Graph::new();
    let x = g.delayed("outer", || {
        let inner = Graph::new();
        let y = inner.delayed("inner", || 20);
        let z = inner.task("inc", &y, |v| v + 1);
        z.compute().unwrap() + z.compute_sync().unwrap()
    });
    assert_eq!(x.compute().unwrap(), 42);
    assert_eq!(x.compute_sync().unwrap(), 42);
}

#[test]
fn nested_compute_of_the_same_graph() {
    let ex = Executor::builder().workers(1).build().unwrap();
    let g = Graph::new();
    let base = g.delayed("base", || 10);
    // Weak handles: a `Delayed` or `Executor` captured by a task of its own
    // graph would be a cycle (the graph, and that pool's threads, leaked).
    let base_again = base.downgrade();
    let inner_ex = ex.clone();
    let outer = g.delayed("outer", move || {
        let base = base_again
            .upgrade()
            .expect("alive while the graph computes");
        base.compute_on(&inner_ex).unwrap() + 1
    });
    let both = g.task("both", (&base, &outer), |(b, o)| b + o);
    assert_eq!(both.compute_on(&ex).unwrap(), 21);
    let gone = g.downgrade();
    drop((g, base, outer, both));
    assert!(gone.upgrade().is_none(), "the graph leaked");
}
