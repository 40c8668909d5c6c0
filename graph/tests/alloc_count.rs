//! Allocation budget of a compute and memory per node, counted by a global
//! allocator: at most one heap allocation per task during a compute (small
//! outputs take none), and at most 48 bytes of graph per node: with a run's 16,
//! the 64 bytes per node of graph and compute that issue 15 asks for.
//!
//! Run with `--nocapture` to see the measured numbers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use delayed::{Delayed, Executor, Graph};

/// Counts allocations and live bytes of the whole process.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to `System`, only counting on the way.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counters are process-wide: one measurement at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The DAG shapes of the benchmarks, with no-op tasks of output `T`.
fn chain<T: Default + Send + Sync + 'static>(g: &Graph, n: usize) -> Delayed<T> {
    let mut last = g.delayed("start", T::default);
    for _ in 1..n {
        last = g.task("step", &last, |_| T::default());
    }
    last
}

/// A binary tree fanning out from one root, `depth` levels, and a sink.
fn tree(g: &Graph, depth: u32) -> Delayed<u64> {
    let mut level = vec![g.delayed("root", || 1u64)];
    for _ in 1..depth {
        level = level
            .iter()
            .flat_map(|parent| [g.task("l", parent, |v| *v), g.task("r", parent, |v| *v)])
            .collect();
    }
    g.task("sink", &level, |v| v.into_iter().sum::<u64>())
}

fn independent(g: &Graph, n: usize) -> Delayed<u64> {
    let tasks: Vec<_> = (0..n).map(|_| g.delayed("t", || 1u64)).collect();
    g.task("sink", &tasks, |v| v.len() as u64)
}

fn wavefront(g: &Graph, side: usize) -> Delayed<u64> {
    let mut above: Vec<Delayed<u64>> = Vec::with_capacity(side);
    for i in 0..side {
        let mut row: Vec<Delayed<u64>> = Vec::with_capacity(side);
        for j in 0..side {
            let node = match (i, j) {
                (0, 0) => g.delayed("w", || 1u64),
                (0, _) => g.task("w", &row[j - 1], |l| *l),
                (_, 0) => g.task("w", &above[0], |u| *u),
                _ => g.task("w", (&row[j - 1], &above[j]), |(l, u)| *l.max(u)),
            };
            row.push(node);
        }
        above = row;
    }
    above.pop().unwrap()
}

/// Allocations made while `f` runs.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let result = f();
    (result, ALLOCATIONS.load(Ordering::SeqCst) - before)
}

#[test]
fn compute_allocates_at_most_one_per_task() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    type Build = Box<dyn Fn(&Graph) -> Delayed<u64>>;
    let shapes: Vec<(&str, Build)> = vec![
        ("chain", Box::new(|g| chain::<u64>(g, 200_000))),
        ("tree", Box::new(|g| tree(g, 17))),
        ("independent", Box::new(|g| independent(g, 200_000))),
        ("wavefront", Box::new(|g| wavefront(g, 400))),
    ];
    for workers in [1, 2] {
        let ex = Executor::builder().workers(workers).build().unwrap();
        for (name, build) in &shapes {
            let g = Graph::new();
            let target = build(&g);
            let tasks = g.len();
            target.compute_on(&ex).unwrap(); // warm the deques up
            let (_, parallel) = allocations(|| target.compute_on(&ex).unwrap());
            let (_, sync) = allocations(|| target.compute_sync().unwrap());
            println!(
                "{name:12} {workers} worker(s): {tasks} tasks, {parallel} allocations \
                 ({:.5} per task), sync {sync}",
                parallel as f64 / tasks as f64
            );
            assert!(
                parallel <= tasks,
                "{name}: {parallel} allocations for {tasks} tasks"
            );
            assert!(
                sync <= tasks,
                "{name}: {sync} allocations for {tasks} tasks (sync)"
            );
        }
    }
}

#[test]
fn large_outputs_take_one_allocation_each() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ex = Executor::builder().workers(2).build().unwrap();
    let g = Graph::new();
    let last = chain::<[u64; 8]>(&g, 100_000);
    last.compute_on(&ex).unwrap();
    let (_, made) = allocations(|| last.compute_on(&ex).unwrap());
    println!("chain of [u64; 8]: {made} allocations for 100000 tasks");
    assert!(made <= 100_000 + 64, "{made}");
}

#[test]
fn a_graph_takes_at_most_48_bytes_per_node() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 1 << 20;
    type Build = Box<dyn Fn(&Graph)>;
    let shapes: Vec<(&str, Build)> = vec![
        ("chain of ()", Box::new(|g| drop(chain::<()>(g, N)))),
        (
            "wavefront 1024x1024",
            Box::new(|g| drop(wavefront(g, 1024))),
        ),
        (
            "independent + sink",
            Box::new(|g| drop(independent(g, N - 1))),
        ),
        (
            "closures capturing an i64",
            Box::new(|g| {
                for i in 0..N as i64 {
                    g.delayed("inc", move || i + 1);
                }
            }),
        ),
    ];
    for (name, build) in shapes {
        // The blocks the last shape's graph left for reuse would be taken
        // instead of allocated, and not counted: freed first.
        delayed::release_memory();
        let before = LIVE_BYTES.load(Ordering::SeqCst);
        let g = Graph::new();
        build(&g);
        let bytes = LIVE_BYTES.load(Ordering::SeqCst) - before;
        let per_node = bytes as f64 / g.len() as f64;
        println!("{name:26} {} nodes: {per_node:.1} bytes per node", g.len());
        assert!(per_node <= 48.0, "{name}: {per_node} bytes per node");
    }
}
