//! The public API contract of DESIGN.md, and the semantics of a compute:
//! culling, shared nodes once, fresh reruns, a graph that grows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use delayed::{Delayed, Error, Executor, Graph};

fn inc(x: i64) -> i64 {
    x + 1
}

fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[test]
fn the_contract_example_runs() -> Result<(), Box<dyn std::error::Error>> {
    let g = Graph::new();
    let x: Delayed<i64> = g.delayed("inc", || inc(1));
    let y = g.delayed("inc", || inc(2));
    let z = g.task("add", (&x, &y), |(a, b)| add(*a, *b));
    let w = g.task("inc", &z, |v| v + 1);
    let xs: Vec<Delayed<i64>> = (1..=8).map(|i| g.delayed("inc", move || inc(i))).collect();
    let total = g.task("sum", &xs, |vals| vals.into_iter().sum::<i64>());
    let f = g.try_task("parse", &w, |v| v.to_string().parse::<u8>());

    assert_eq!(z.compute()?, 5);
    let ex = Executor::builder().workers(2).build()?;
    assert_eq!(total.compute_on(&ex)?, 44);
    let (a, b) = delayed::compute((&x, &z))?;
    assert_eq!((a, b), (2, 5));
    assert_eq!(f.compute()?, 6);
    let dot: String = total.to_dot();
    assert!(dot.contains("rankdir=BT"));
    let _: Error = g
        .try_task("bad", &w, |_| "x".parse::<u8>())
        .compute()
        .unwrap_err();
    Ok(())
}

#[test]
fn every_input_form_infers_its_closure_types() -> Result<(), Error> {
    let g = Graph::new();
    let a = g.delayed("a", || 1u8);
    let b = g.delayed("b", || 2u16);
    let c = g.delayed("c", || 3u32);
    let d = g.delayed("d", || 4u64);
    let e = g.delayed("e", || 5i8);
    let f = g.delayed("f", || 6i16);
    let h = g.delayed("h", || String::from("7"));
    let i = g.delayed("i", || vec![8i64]);

    let one = g.task("one", &a, |a| *a as u64);
    let t1 = g.task("t1", (&a,), |(a,)| *a as u64);
    let t2 = g.task("t2", (&a, &b), |(a, b)| *a as u64 + *b as u64);
    let t3 = g.task("t3", (&a, &b, &c), |(a, b, c)| {
        *a as u64 + *b as u64 + *c as u64
    });
    let t8 = g.task(
        "t8",
        (&a, &b, &c, &d, &e, &f, &h, &i),
        |(a, b, c, d, e, f, h, i)| {
            *a as i64
                + *b as i64
                + *c as i64
                + *d as i64
                + *e as i64
                + *f as i64
                + h.parse::<i64>().unwrap()
                + i[0]
        },
    );
    let list = vec![a.clone(), a.clone(), g.delayed("a2", || 9u8)];
    let from_vec = g.task("vec", &list, |vals| {
        vals.into_iter().map(|v| *v as u32).sum::<u32>()
    });
    let from_slice = g.task("slice", &list[1..], |vals| vals.len());
    let array = [b.clone(), b.clone()];
    let from_array = g.task("array", &array, |vals| {
        vals.iter().map(|v| *v as u32).sum::<u32>()
    });
    let fallible = g.try_task("try", (&a, &h), |(a, h)| h.parse::<u8>().map(|h| h + a));
    let no_inputs = g.try_delayed("try0", || "12".parse::<i32>());

    let got = delayed::compute((
        &one,
        &t1,
        &t2,
        &t3,
        &t8,
        &from_vec,
        &from_slice,
        &from_array,
    ))?;
    assert_eq!(got, (1, 1, 3, 6, 36, 11, 2, 4));
    assert_eq!(delayed::compute((&fallible, &no_inputs))?, (8, 12));
    Ok(())
}

#[test]
fn lists_of_results_compute_to_a_vec_in_order() -> Result<(), Error> {
    let g = Graph::new();
    let xs: Vec<_> = (0..100).map(|i| g.delayed("x", move || i * 2)).collect();
    let expected: Vec<i32> = (0..100).map(|i| i * 2).collect();
    assert_eq!(delayed::compute(&xs)?, expected);
    assert_eq!(delayed::compute(&xs[10..12])?, vec![20, 22]);
    assert_eq!(
        delayed::compute(&Vec::<Delayed<u8>>::new())?,
        Vec::<u8>::new()
    );
    Ok(())
}

/// A task body that counts its runs.
fn counted(counter: &Arc<AtomicUsize>, value: i64) -> impl Fn() -> i64 + Send + Sync + 'static {
    let counter = Arc::clone(counter);
    move || {
        counter.fetch_add(1, Ordering::Relaxed);
        value
    }
}

#[test]
fn compute_runs_only_the_ancestors_each_once() -> Result<(), Error> {
    let runs = Arc::new(AtomicUsize::new(0));
    let g = Graph::new();
    let shared = g.delayed("shared", counted(&runs, 1));
    let left = g.task("left", &shared, |v| v + 1);
    let right = g.task("right", &shared, |v| v + 2);
    let both = g.task("both", (&left, &right, &shared), |(l, r, s)| l + r + s);
    let unrelated = g.delayed("unrelated", counted(&runs, 100));
    let _consumer = g.task("consumer", (&unrelated, &both), |(u, b)| u + b);

    assert_eq!(both.compute()?, 6);
    assert_eq!(runs.load(Ordering::Relaxed), 1, "only `shared` ran, once");
    assert_eq!(delayed::compute((&left, &right))?, (2, 3));
    assert_eq!(
        runs.load(Ordering::Relaxed),
        2,
        "shared by both targets, run once"
    );
    Ok(())
}

#[test]
fn each_compute_runs_the_tasks_afresh() -> Result<(), Error> {
    let runs = Arc::new(AtomicUsize::new(0));
    let g = Graph::new();
    let x = g.delayed("x", counted(&runs, 5));
    let y = g.task("y", &x, |v| v * 2);
    for round in 1..=3 {
        assert_eq!(y.compute()?, 10);
        assert_eq!(runs.load(Ordering::Relaxed), round);
    }
    assert_eq!(y.compute_sync()?, 10);
    assert_eq!(runs.load(Ordering::Relaxed), 4);
    Ok(())
}

#[test]
fn a_graph_grows_after_a_compute() -> Result<(), Error> {
    let g = Graph::new();
    let x = g.delayed("x", || 1);
    assert_eq!(x.compute()?, 1);
    let clone = g.clone();
    let y = clone.task("y", &x, |v| v + 1);
    assert_eq!(g.len(), 2);
    assert_eq!(y.compute()?, 2);
    let z = y.graph().task("z", (&x, &y), |(a, b)| a + b);
    assert_eq!(z.compute()?, 3);
    Ok(())
}

#[test]
fn results_need_no_clone_and_are_moved_out() -> Result<(), Error> {
    struct NotClone(Vec<u8>);
    let g = Graph::new();
    let big = g.delayed("big", || NotClone(vec![7; 1000]));
    let len = g.task("len", &big, |b| b.0.len());
    let (big, len) = delayed::compute((&big, &len))?;
    assert_eq!((big.0.len(), len), (1000, 1000));
    Ok(())
}

#[test]
fn two_workers_run_independent_tasks_at_the_same_time() -> Result<(), Box<dyn std::error::Error>> {
    let ex = Executor::builder().workers(2).build()?;
    let barrier = Arc::new(Barrier::new(2));
    let g = Graph::new();
    let waiters: Vec<_> = (0..2)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            // Each task waits for the other: this finishes only if both run at once.
            g.delayed("meet", move || {
                barrier.wait();
                i
            })
        })
        .collect();
    assert_eq!(delayed::compute_on(&waiters, &ex)?, vec![0, 1]);
    Ok(())
}

#[test]
fn many_threads_compute_on_one_executor_at_once() -> Result<(), Box<dyn std::error::Error>> {
    let ex = Executor::builder().workers(2).build()?;
    let g = Graph::new();
    let root = g.delayed("root", || 1u64);
    let mut layer = vec![root];
    for _ in 0..20 {
        let next: Vec<_> = (0..layer.len().min(8) + 1)
            .map(|i| {
                g.task("sum", &layer, move |v| {
                    v.into_iter().sum::<u64>() + i as u64
                })
            })
            .collect();
        layer = next;
    }
    let top = g.task("top", &layer, |v| v.into_iter().sum::<u64>());
    let expected = top.compute_sync()?;
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..50 {
                    assert_eq!(top.compute_on(&ex).unwrap(), expected);
                }
            });
        }
    });
    Ok(())
}

#[test]
fn tasks_may_grow_the_graph_they_run_in() -> Result<(), Box<dyn std::error::Error>> {
    let ex = Executor::builder().workers(2).build()?;
    let g = Graph::new();
    // A weak handle: a `Graph` captured by its own task would be a cycle.
    let inner = g.downgrade();
    let x = g.delayed("grow", move || {
        // A task adds tasks to its own graph and computes them.
        let inner = inner.upgrade().expect("the graph is alive while it runs");
        let base = inner.delayed("base", || 20);
        let more = inner.task("more", &base, |v| v + 1);
        more.compute().unwrap() * 2
    });
    assert_eq!(x.compute_on(&ex)?, 42);
    assert_eq!(g.len(), 3);
    // No cycle: dropping the handles frees the graph.
    let gone = g.downgrade();
    drop((g, x));
    assert!(gone.upgrade().is_none(), "the graph leaked");
    Ok(())
}

#[test]
fn lists_of_references_are_inputs_like_lists_of_handles() -> Result<(), Error> {
    let g = Graph::new();
    let xs: Vec<_> = (1..=4i64).map(|k| g.delayed("x", move || k * 10)).collect();
    // Every other handle, by reference: a slice, a Vec and an array of them.
    let picked: Vec<&Delayed<i64>> = xs.iter().step_by(2).collect();
    let from_vec = g.task("vec", &picked, |v| {
        v.into_iter().copied().collect::<Vec<_>>()
    });
    let from_slice = g.task("slice", &picked[..], |v| v.into_iter().sum::<i64>());
    let from_array = g.task("array", &[&xs[3], &xs[0]], |v| {
        v.into_iter().copied().collect::<Vec<_>>()
    });
    assert_eq!(
        delayed::compute_sync((&from_vec, &from_slice, &from_array))?,
        (vec![10, 30], 40, vec![40, 10])
    );
    Ok(())
}

#[test]
#[should_panic(expected = "belongs to another Graph")]
fn references_from_another_graph_panic() {
    let (g1, g2) = (Graph::new(), Graph::new());
    let x = g1.delayed("x", || 1);
    g2.task("y", &[&x], |v| v.into_iter().sum::<i32>());
}

#[test]
#[should_panic(expected = "belongs to another Graph")]
fn inputs_from_another_graph_panic() {
    let (g1, g2) = (Graph::new(), Graph::new());
    let x = g1.delayed("x", || 1);
    g2.task("y", &x, |v| v + 1);
}

#[test]
#[should_panic(expected = "asked for twice")]
fn asking_twice_for_one_result_panics() {
    let g = Graph::new();
    let x = g.delayed("x", || 1);
    let _ = delayed::compute((&x, &x));
}

#[test]
fn handles_are_cheap_and_thread_safe() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Graph>();
    send_sync::<Delayed<std::sync::Mutex<i32>>>();
    send_sync::<Executor>();
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    error::<Error>();
    assert!(std::mem::size_of::<Delayed<[u8; 1024]>>() <= 16);
    assert!(std::mem::size_of::<Graph>() <= 8);
}

#[test]
fn debug_shows_names_and_keys() {
    let g = Graph::new();
    let x = g.delayed("inc", || 1);
    assert_eq!(format!("{x:?}"), "Delayed { name: \"inc\", key: 0 }");
    assert_eq!(format!("{g:?}"), "Graph { len: 1 }");
    assert_eq!(x.name(), "inc");
    let named = g.delayed(format!("step-{}", 3), || 2);
    assert_eq!(named.name(), "step-3");
}
