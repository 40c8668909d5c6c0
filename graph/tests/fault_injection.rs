//! Fault injection: tasks that panic or fail at random points of random
//! DAGs, in nested computes, while other threads compute on the same
//! executor; an executor dropped while another thread computes on it; graphs
//! computed on a different executor from inside a task (pools whose threads
//! cannot be created, and panicking drops, are in `fault_pools_and_drops.rs`).
//! After each: the computes that did not fail return the
//! right values, every task ran at most once, every value made was dropped
//! (nothing leaks), the pool still works, and no thread is left behind.
//!
//! The protocols under test are written down in `graph/src/run/README.md`
//! (the run: steps 1 to 8 and its "Invariants", cited below as RUN-n and
//! RUN-inv) and `executor/src/sleep/README.md` (the sleep protocol, I1..I5,
//! the latch wake W1/W2 and L1). Seeds are fixed, so a failure replays:
//! every message names its seed.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use delayed::{Delayed, Error, Executor, Graph};

mod fault_support;
use fault_support::*;

/// A value that counts itself alive: the census of a trial must be back to
/// zero once the results are dropped (RUN-6, RUN-8, "Who frees what").
struct V {
    x: u64,
    live: Arc<AtomicI64>,
}

impl V {
    fn new(x: u64, live: &Arc<AtomicI64>) -> V {
        live.fetch_add(1, Ordering::Relaxed);
        V {
            x,
            live: Arc::clone(live),
        }
    }
}

impl Drop for V {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------
// Random DAGs with faults, and a sequential reference

/// What a node does besides adding up its inputs.
#[derive(Clone, Debug)]
enum Fault {
    None,
    /// Panics before reading its inputs.
    PanicFirst,
    /// Panics after reading its inputs.
    PanicAfterReading,
    /// Returns `Err`.
    Err,
    /// Computes a graph of its own on the same executor (or in the sync
    /// runner), then uses its result as `Use` says.
    Nested(Box<Spec>, Use),
}

#[derive(Clone, Copy, Debug)]
enum Use {
    /// `unwrap()` the inner result: an inner failure is a panic here.
    Unwrap,
    /// Return the inner `Err` as this task's error.
    Propagate,
    /// Replace an inner failure by a fixed value.
    Recover,
}

/// A random DAG: node `k`'s inputs are earlier nodes (duplicates allowed,
/// they are separate edges), so the node order is topological.
#[derive(Clone, Debug)]
struct Spec {
    seed: u64,
    inputs: Vec<Vec<usize>>,
    faults: Vec<Fault>,
    targets: Vec<usize>,
}

const RECOVERED: u64 = 7;

impl Spec {
    /// `n` nodes; about `fault_rate` per mille fail, `nest_rate` per mille
    /// compute an inner graph (down to `depth` levels).
    fn random(seed: u64, n: usize, fault_rate: u64, nest_rate: u64, depth: u32) -> Spec {
        let mut rng = Rng::new(seed);
        let mut inputs = Vec::with_capacity(n);
        let mut faults = Vec::with_capacity(n);
        for k in 0..n {
            let mut ins = Vec::new();
            if k > 0 && !rng.per_mille(150) {
                let count = 1 + rng.below(4) as usize;
                for _ in 0..count {
                    // Mostly recent nodes (deep graphs), sometimes any.
                    let i = if rng.per_mille(700) {
                        k - 1 - rng.below(k.min(8) as u64) as usize
                    } else {
                        rng.below(k as u64) as usize
                    };
                    ins.push(i);
                }
            }
            inputs.push(ins);
            let fault = if rng.per_mille(fault_rate) {
                match rng.below(3) {
                    0 => Fault::PanicFirst,
                    1 => Fault::PanicAfterReading,
                    _ => Fault::Err,
                }
            } else if depth > 0 && rng.per_mille(nest_rate) {
                let inner_n = 1 + rng.below(24) as usize;
                let inner = Spec::random(rng.next(), inner_n, fault_rate * 2, nest_rate, depth - 1);
                let use_ = match rng.below(3) {
                    0 => Use::Unwrap,
                    1 => Use::Propagate,
                    _ => Use::Recover,
                };
                Fault::Nested(Box::new(inner), use_)
            } else {
                Fault::None
            };
            faults.push(fault);
        }
        let mut targets = vec![n - 1];
        for _ in 0..rng.below(3) {
            let t = rng.below(n as u64) as usize;
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        Spec {
            seed,
            inputs,
            faults,
            targets,
        }
    }

    fn salt(&self, k: usize) -> u64 {
        (self.seed ^ (k as u64).wrapping_mul(0x2545_F491_4F6C_DD1D)).rotate_left(17)
    }

    /// The sequential reference: per node, `Some(value)`, or `None` when it
    /// fails or an ancestor fails.
    fn reference(&self) -> Vec<Option<u64>> {
        let mut values: Vec<Option<u64>> = Vec::with_capacity(self.inputs.len());
        for k in 0..self.inputs.len() {
            let mut sum = self.salt(k);
            let mut ok = true;
            for &i in &self.inputs[k] {
                match values[i] {
                    Some(v) => sum = sum.wrapping_add(v),
                    None => ok = false,
                }
            }
            let value = if !ok {
                None
            } else {
                match &self.faults[k] {
                    Fault::None => Some(sum),
                    Fault::PanicFirst | Fault::PanicAfterReading | Fault::Err => None,
                    Fault::Nested(inner, use_) => match (inner.result(), use_) {
                        (Some(v), _) => Some(sum.wrapping_add(v)),
                        (None, Use::Recover) => Some(sum.wrapping_add(RECOVERED)),
                        (None, _) => None,
                    },
                }
            };
            values.push(value);
        }
        values
    }

    /// The sum of the targets' values, or `None` if a target fails.
    fn result(&self) -> Option<u64> {
        let values = self.reference();
        self.targets
            .iter()
            .try_fold(0u64, |acc, &t| Some(acc.wrapping_add(values[t]?)))
    }

    /// The nodes the targets depend on (what the run keeps after culling,
    /// RUN-1).
    fn ancestors(&self) -> Vec<bool> {
        let mut needed = vec![false; self.inputs.len()];
        for &t in &self.targets {
            needed[t] = true;
        }
        for k in (0..self.inputs.len()).rev() {
            if needed[k] {
                for &i in &self.inputs[k] {
                    needed[i] = true;
                }
            }
        }
        needed
    }

    /// Keys of the tasks whose failure may be the one reported: needed
    /// nodes that fail themselves while all their inputs succeed (any of
    /// them may fail first; "first error wins").
    fn possible_failures(&self) -> HashSet<usize> {
        let values = self.reference();
        let needed = self.ancestors();
        (0..self.inputs.len())
            .filter(|&k| {
                needed[k]
                    && values[k].is_none()
                    && self.inputs[k].iter().all(|&i| values[i].is_some())
            })
            .collect()
    }
}

/// Where a trial computes.
#[derive(Clone)]
enum On {
    Executor(Executor),
    Sync,
}

/// Builds `spec` as a graph of `V`s, computes its targets, and checks the
/// outcome against the reference. Returns the sum of the targets' values,
/// or the compute's error.
fn trial(spec: &Spec, on: &On) -> Result<u64, Error> {
    let n = spec.inputs.len();
    let runs: Arc<Vec<AtomicU32>> = Arc::new((0..n).map(|_| AtomicU32::new(0)).collect());
    let live = Arc::new(AtomicI64::new(0));
    let g = Graph::new();
    let mut nodes: Vec<Delayed<V>> = Vec::with_capacity(n);
    for k in 0..n {
        let ins: Vec<Delayed<V>> = spec.inputs[k].iter().map(|&i| nodes[i].clone()).collect();
        let (runs, live, fault, salt) = (
            Arc::clone(&runs),
            Arc::clone(&live),
            spec.faults[k].clone(),
            spec.salt(k),
        );
        let on = on.clone();
        let seed = spec.seed;
        let body = move |inputs: &mut dyn Iterator<Item = &V>| -> Result<V, String> {
            runs[k].fetch_add(1, Ordering::Relaxed);
            if let Fault::PanicFirst = fault {
                panic!("{INJECTED}: node {k} of seed {seed}, before its inputs");
            }
            let sum = inputs.fold(salt, |acc, v| acc.wrapping_add(v.x));
            let value = match &fault {
                Fault::None => sum,
                Fault::PanicFirst => unreachable!(),
                Fault::PanicAfterReading => {
                    panic!("{INJECTED}: node {k} of seed {seed}, after its inputs")
                }
                Fault::Err => return Err(format!("{INJECTED}: node {k} of seed {seed}")),
                Fault::Nested(inner, use_) => match (trial(inner, &on), use_) {
                    (Ok(v), _) => sum.wrapping_add(v),
                    (Err(_), Use::Recover) => sum.wrapping_add(RECOVERED),
                    (Err(e), Use::Propagate) => return Err(format!("{INJECTED}: inner: {e}")),
                    (Err(e), Use::Unwrap) => panic!("{INJECTED}: inner: {e}"),
                },
            };
            Ok(V::new(value, &live))
        };
        let node = if ins.is_empty() {
            g.try_delayed(format!("n{k}"), move || body(&mut std::iter::empty()))
        } else {
            g.try_task(format!("n{k}"), &ins, move |vals| {
                body(&mut vals.into_iter())
            })
        };
        assert_eq!(node.key(), k);
        nodes.push(node);
    }
    let targets: Vec<Delayed<V>> = spec.targets.iter().map(|&t| nodes[t].clone()).collect();
    let result = match on {
        On::Executor(ex) => delayed::compute_on(&targets, ex),
        On::Sync => delayed::compute_sync(&targets),
    };
    let outcome = result.map(|vs| vs.iter().fold(0u64, |acc, v| acc.wrapping_add(v.x)));

    // Checks. A message here panics without the INJECTED marker, so a
    // nested check failure shows up as an unexpected error of the outer one.
    let seed = spec.seed;
    let needed = spec.ancestors();
    let reference = spec.reference();
    for k in 0..n {
        let r = runs[k].load(Ordering::Relaxed);
        // RUN-inv "A node runs at most once per run" (RUN-5: only the last
        // decrement of `pending` runs it).
        assert!(r <= 1, "seed {seed}: node {k} ran {r} times");
        // RUN-1: culled nodes never run.
        assert!(
            needed[k] || r == 0,
            "seed {seed}: node {k} is not needed but ran"
        );
        // RUN-4: a failed task decrements no successor, so nothing
        // downstream of a failure runs.
        let upstream_failed = spec.inputs[k].iter().any(|&i| reference[i].is_none());
        assert!(
            !upstream_failed || r == 0,
            "seed {seed}: node {k} ran although an input failed"
        );
    }
    match (&outcome, spec.result()) {
        (Ok(got), Some(want)) => {
            assert_eq!(*got, want, "seed {seed}: wrong result");
            // Nothing was cancelled: every needed node ran exactly once.
            for k in 0..n {
                assert_eq!(
                    runs[k].load(Ordering::Relaxed),
                    u32::from(needed[k]),
                    "seed {seed}: node {k}"
                );
            }
        }
        (Err(e), None) => {
            let key = e.task_key().expect("a task's error names its key");
            assert!(
                spec.possible_failures().contains(&key),
                "seed {seed}: error from node {key}, not one that may fail: {e}"
            );
            assert!(e.to_string().contains(INJECTED), "seed {seed}: {e}");
        }
        (got, want) => panic!("seed {seed}: got {got:?}, want {want:?}"),
    }
    // Nothing leaks: intermediates were dropped by their last consumer
    // (RUN-6), values left by a failure with the run (RUN-8), and the
    // targets' values with `outcome`'s vector above.
    assert_eq!(
        live.load(Ordering::Relaxed),
        0,
        "seed {seed}: values leaked"
    );
    outcome
}

/// Sizes 1 to `max`, most of them small.
fn random_size(rng: &mut Rng, max: u64) -> usize {
    match rng.below(10) {
        0 => 1,
        1..=6 => 1 + rng.below(64) as usize,
        7 | 8 => 1 + rng.below(600) as usize,
        _ => 1 + rng.below(max) as usize,
    }
}

// ---------------------------------------------------------------------------
// Tests

/// Random DAGs with random panics and errors, some nodes computing nested
/// graphs (which fail too), submitted by three threads at once to one
/// two-worker executor. Exercises RUN-3..RUN-8 under contention (first error
/// wins, cancellation, jobs popped after the cancel still end, RUN-7), the
/// sleep protocol's I1/I2 (workers sleeping and woken by the three outside
/// submitters through the injector, nested waits woken by W1/W2), and
/// nested computes on a worker (`wait_until` runs other jobs).
#[test]
fn random_faulty_dags_from_three_threads_on_one_executor() {
    quiet_injected_panics();
    within(120, "random faulty DAGs", || {
        let ex = pool("fi-rand-", 2);
        let on = On::Executor(ex.clone());
        let (mut ok, mut failed) = (0, 0);
        thread::scope(|s| {
            let handles: Vec<_> = (0..3u64)
                .map(|t| {
                    let on = on.clone();
                    s.spawn(move || {
                        let mut rng = Rng::new(0xFA17 + t);
                        let (mut ok, mut failed) = (0, 0);
                        for i in 0..250 {
                            let seed = t * 1_000_000 + i;
                            let n = random_size(&mut rng, 4000);
                            let fault_rate = [0, 1, 5, 20][rng.below(4) as usize];
                            let spec = Spec::random(seed, n, fault_rate, 20, 2);
                            match trial(&spec, &on) {
                                Ok(_) => ok += 1,
                                Err(_) => failed += 1,
                            }
                        }
                        (ok, failed)
                    })
                })
                .collect();
            for h in handles {
                let (o, f) = h.join().unwrap();
                ok += o;
                failed += f;
            }
        });
        // Both outcomes were exercised.
        eprintln!("random faulty DAGs: {ok} computes succeeded, {failed} failed as injected");
        assert!(ok > 20 && failed > 20, "ok {ok}, failed {failed}");
        still_works(&ex);
        drop((on, ex));
        no_thread_left("fi-rand-");
    });
}

/// The same on one worker, where every nested compute must run its inner
/// graph while it waits (no deadlock under failures either), and in the
/// sync runner, which must agree with the reference too.
#[test]
fn random_faulty_nested_dags_on_one_worker_and_in_sync_mode() {
    quiet_injected_panics();
    within(120, "nested faulty DAGs on one worker", || {
        let ex = pool("fi-one-", 1);
        let mut rng = Rng::new(0x0DE);
        for i in 0..200 {
            let n = random_size(&mut rng, 500);
            let spec = Spec::random(2_000_000 + i, n, 10, 80, 3);
            let parallel = trial(&spec, &On::Executor(ex.clone()));
            let sync = trial(&spec, &On::Sync);
            assert_eq!(parallel.is_ok(), sync.is_ok(), "seed {}", spec.seed);
        }
        still_works(&ex);
        drop(ex);
        no_thread_left("fi-one-");
    });
}

/// A slow graph computed on another thread while the test drops its own
/// handle to the executor (and the compute's thread later drops the last
/// one): the compute finishes right, and the last drop joins every worker
/// (`Executor` docs; the sleep protocol's shutdown: `terminate` wakes every
/// sleeper, and they exit once the queues are empty). Then the same with a
/// failure injected while the handle is dropped.
#[test]
fn an_executor_dropped_while_another_thread_computes_on_it() {
    quiet_injected_panics();
    within(60, "executor dropped during a compute", || {
        for fail in [false, true] {
            let ex = pool("fi-drop-", 3);
            let started = Arc::new(AtomicBool::new(false));
            let g = Graph::new();
            let runs = Arc::new(AtomicU32::new(0));
            let leaves: Vec<_> = (0..2000u64)
                .map(|i| {
                    let (started, runs) = (Arc::clone(&started), Arc::clone(&runs));
                    g.delayed("leaf", move || {
                        started.store(true, Ordering::Release);
                        runs.fetch_add(1, Ordering::Relaxed);
                        if fail && i == 1500 {
                            panic!("{INJECTED}: leaf 1500");
                        }
                        let spin = Instant::now();
                        while spin.elapsed() < Duration::from_micros(200) {}
                        i
                    })
                })
                .collect();
            let sum = g.task("sum", &leaves, |v| v.into_iter().sum::<u64>());
            let theirs = ex.clone();
            let computing = thread::spawn(move || {
                let result = sum.compute_on(&theirs);
                // `theirs` is the last handle: dropping it joins the workers.
                drop(theirs);
                result
            });
            while !started.load(Ordering::Acquire) {
                thread::yield_now();
            }
            drop(ex);
            let result = computing.join().unwrap();
            if fail {
                let err = result.unwrap_err();
                assert_eq!(err.task_name(), Some("leaf"));
                assert!(runs.load(Ordering::Relaxed) <= 2000);
            } else {
                assert_eq!(result.unwrap(), 1999 * 2000 / 2);
                assert_eq!(runs.load(Ordering::Relaxed), 2000);
            }
            // Joined by the drop above (a joined thread can linger in
            // /proc for an instant after its join returns, hence the poll).
            no_thread_left("fi-drop-");
        }
    });
}

/// A task computes a graph on a *different* executor: its worker waits with
/// a latch of its own registry (`WaiterLatch::Worker`, set from the other
/// pool's worker: L1, W1/W2) and keeps running its own pool's jobs. Random
/// faulty inner graphs; then a ping-pong A -> B -> A -> B with one worker
/// each, which only terminates if each waiting worker runs the jobs
/// injected into its own pool.
#[test]
fn tasks_computing_graphs_on_a_different_executor() {
    quiet_injected_panics();
    within(90, "cross-executor computes", || {
        let a = pool("fi-xa-", 2);
        let b = pool("fi-xb-", 2);
        let mut rng = Rng::new(0xC055);
        for i in 0..30 {
            let g = Graph::new();
            let specs: Vec<Spec> = (0..4)
                .map(|j| {
                    let n = random_size(&mut rng, 300);
                    Spec::random(3_000_000 + i * 10 + j, n, 10, 30, 1)
                })
                .collect();
            let outer: Vec<_> = specs
                .iter()
                .map(|spec| {
                    let (spec, b) = (spec.clone(), On::Executor(b.clone()));
                    g.delayed("outer", move || trial(&spec, &b).ok())
                })
                .collect();
            let got = delayed::compute_on(&outer, &a).unwrap();
            let want: Vec<Option<u64>> = specs.iter().map(Spec::result).collect();
            assert_eq!(got, want, "round {i}");
        }

        fn ping(depth: u32, here: Executor, there: Executor) -> u64 {
            if depth == 0 {
                return 1;
            }
            let g = Graph::new();
            let kids: Vec<_> = (0..2)
                .map(|_| {
                    let (here, there) = (here.clone(), there.clone());
                    // The kids run on `there` and compute on `here`.
                    g.delayed("ping", move || ping(depth - 1, there.clone(), here.clone()))
                })
                .collect();
            let sum = g.task("sum", &kids, |v| v.into_iter().sum::<u64>());
            sum.compute_on(&there).unwrap() + 1
        }
        let a1 = pool("fi-pa-", 1);
        let b1 = pool("fi-pb-", 1);
        assert_eq!(ping(4, a1.clone(), b1.clone()), 31);
        // And a failure deep in the ping-pong reaches the top as an error.
        let g = Graph::new();
        let (a2, b2) = (a1.clone(), b1.clone());
        let top = g.try_delayed("top", move || {
            let inner = Graph::new();
            let a3 = a2.clone();
            // Each level builds its own graph: a closure that captured a
            // `Delayed` of the graph it is stored in would make a reference
            // cycle, leaking that graph and the executor handles it holds.
            let mid = inner.try_delayed("mid", move || {
                let deepest = Graph::new();
                let bad = deepest.delayed("deep", || -> u64 { panic!("{INJECTED}: deep") });
                bad.compute_on(&a3)
            });
            mid.compute_on(&b2)
        });
        let err = top.compute_on(&a1).unwrap_err();
        assert_eq!(err.task_name(), Some("top"));
        assert!(err.to_string().contains("deep"), "{err}");
        // `top`'s closure holds handles to both pools.
        drop((top, g));

        for ex in [&a, &b, &a1, &b1] {
            still_works(ex);
        }
        drop((a, b, a1, b1));
        for prefix in ["fi-xa-", "fi-xb-", "fi-pa-", "fi-pb-"] {
            no_thread_left(prefix);
        }
    });
}
