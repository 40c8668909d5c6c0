//! Executor-level fault injection: panics at random points of random trees
//! of nested `join`s and `scope`s, submitted from several threads at once
//! while `spawn`ed jobs (some panicking) load the same pool; the last
//! `Executor` handle dropped by one of the pool's own jobs, and by a job of
//! another pool. After each: every job ran exactly as often as it should
//! (once, or never when an ancestor panicked before forking it), panics
//! reach the caller, the pool still works, and no thread is left behind.
//!
//! The protocols under test are written down in `src/sleep/README.md`
//! (S1..S4, N0..N3, W1/W2, L1, invariants I1..I5). Seeds are fixed, so a
//! failure replays: messages name their seed.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, Once};
use std::thread;
use std::time::{Duration, Instant};

use delayed_executor::Executor;

// ---------------------------------------------------------------------------
// Support

/// xorshift64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn per_mille(&mut self, p: u64) -> bool {
        self.below(1000) < p
    }
}

/// Every injected panic starts with this; the hook keeps them off stderr and
/// lets every other panic through.
const INJECTED: &str = "injected fault";

fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("");
            if !message.starts_with(INJECTED) {
                default(info);
            }
        }));
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("")
}

/// Threads of this process whose name starts with `prefix`, with their
/// state and wait channel (names are cut to 15 bytes by the kernel).
fn threads(prefix: &str) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| {
            let path = t.ok()?.path();
            let name = std::fs::read_to_string(path.join("comm")).ok()?;
            let name = name.trim_end();
            if !name.starts_with(prefix) {
                return None;
            }
            let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
            let state = stat.rsplit(") ").next().unwrap_or("").split(' ').next();
            let wchan = std::fs::read_to_string(path.join("wchan")).unwrap_or_default();
            Some(format!(
                "{name} (state {}, wchan {wchan})",
                state.unwrap_or("?")
            ))
        })
        .collect()
}

/// Waits (up to 10 s) for every thread named `prefix*` to be gone.
fn no_thread_left(prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !threads(prefix).is_empty() {
        assert!(
            Instant::now() < deadline,
            "threads still alive after 10 s: {:?}",
            threads(prefix)
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// A pool whose threads are named `prefix<i>`. Returns once every worker
/// shows under that name in /proc (a thread names itself when it starts), so
/// that `no_thread_left` cannot pass before the threads even appeared.
fn pool(prefix: &'static str, workers: usize) -> Executor {
    let ex = Executor::builder()
        .workers(workers)
        .thread_name(move |i| format!("{prefix}{i}"))
        .build()
        .expect("a pool starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while threads(prefix).len() < workers {
        assert!(
            Instant::now() < deadline,
            "the workers of {prefix} never showed"
        );
        thread::sleep(Duration::from_millis(1));
    }
    ex
}

/// Runs `f` on another thread; a result later than `secs` is a hang.
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(value)) => {
            handle.join().unwrap();
            value
        }
        Ok(Err(payload)) => panic::resume_unwind(payload),
        Err(_) => panic!("{what}: no result after {secs} s (a hang)"),
    }
}

fn fib(ex: &Executor, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = ex.join(|| fib(ex, n - 1), || fib(ex, n - 2));
    a + b
}

// ---------------------------------------------------------------------------
// Random fork trees with faults

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    None,
    /// Panics before forking: its subtree never runs.
    Before,
    /// Panics after its children have all finished.
    After,
}

#[derive(Debug)]
enum Tree {
    Leaf {
        id: usize,
        panics: bool,
    },
    Join {
        fault: Fault,
        kids: Box<(Tree, Tree)>,
    },
    Scope {
        fault: Fault,
        kids: Vec<Tree>,
    },
}

impl Tree {
    fn random(rng: &mut Rng, depth: u32, fault_rate: u64, next_id: &mut usize) -> Tree {
        if depth == 0 || rng.per_mille(150) {
            let id = *next_id;
            *next_id += 1;
            return Tree::Leaf {
                id,
                panics: rng.per_mille(fault_rate),
            };
        }
        let fault = if rng.per_mille(fault_rate / 2) {
            if rng.below(2) == 0 {
                Fault::Before
            } else {
                Fault::After
            }
        } else {
            Fault::None
        };
        if rng.below(2) == 0 {
            let a = Tree::random(rng, depth - 1, fault_rate, next_id);
            let b = Tree::random(rng, depth - 1, fault_rate, next_id);
            Tree::Join {
                fault,
                kids: Box::new((a, b)),
            }
        } else {
            let n = 1 + rng.below(3);
            let kids = (0..n)
                .map(|_| Tree::random(rng, depth - 1, fault_rate, next_id))
                .collect();
            Tree::Scope { fault, kids }
        }
    }

    /// Runs the tree on `ex`: a panic anywhere propagates to the caller,
    /// after the forks it happened under have finished.
    fn run(&self, ex: &Executor, counts: &[AtomicU8]) {
        match self {
            Tree::Leaf { id, panics } => {
                counts[*id].fetch_add(1, Ordering::Relaxed);
                if *panics {
                    panic!("{INJECTED}: leaf {id}");
                }
            }
            Tree::Join { fault, kids } => {
                if *fault == Fault::Before {
                    panic!("{INJECTED}: before a join");
                }
                ex.join(|| kids.0.run(ex, counts), || kids.1.run(ex, counts));
                if *fault == Fault::After {
                    panic!("{INJECTED}: after a join");
                }
            }
            Tree::Scope { fault, kids } => {
                if *fault == Fault::Before {
                    panic!("{INJECTED}: before a scope");
                }
                ex.scope(|s| {
                    for kid in kids {
                        s.spawn(move |_| kid.run(ex, counts));
                    }
                });
                if *fault == Fault::After {
                    panic!("{INJECTED}: after a scope");
                }
            }
        }
    }

    /// Per leaf, how often it must run: 1, or 0 under a `Before` fault (a
    /// `join` and a `scope` wait for all their jobs before they raise a
    /// panic, so nothing else stops a leaf). Returns whether the tree
    /// panics.
    fn expect(&self, blocked: bool, want: &mut [u8]) -> bool {
        match self {
            Tree::Leaf { id, panics } => {
                want[*id] = u8::from(!blocked);
                !blocked && *panics
            }
            Tree::Join { fault, kids } => {
                let blocked_here = blocked || *fault == Fault::Before;
                let a = kids.0.expect(blocked_here, want);
                let b = kids.1.expect(blocked_here, want);
                !blocked && (*fault != Fault::None || a || b)
            }
            Tree::Scope { fault, kids } => {
                let blocked_here = blocked || *fault == Fault::Before;
                let mut any = false;
                for kid in kids {
                    any |= kid.expect(blocked_here, want);
                }
                !blocked && (*fault != Fault::None || any)
            }
        }
    }
}

/// One random tree on `ex` from the calling thread; checks the counts.
fn tree_trial(ex: &Executor, seed: u64, fault_rate: u64) -> bool {
    let mut rng = Rng::new(seed);
    let mut leaves = 0;
    let depth = 2 + rng.below(6) as u32;
    let tree = Tree::random(&mut rng, depth, fault_rate, &mut leaves);
    let counts: Vec<AtomicU8> = (0..leaves).map(|_| AtomicU8::new(0)).collect();
    let mut want = vec![0u8; leaves];
    let should_panic = tree.expect(false, &mut want);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| tree.run(ex, &counts)));
    // Every leaf ran exactly as often as it must: never twice, none lost.
    for (id, (count, want)) in counts.iter().zip(&want).enumerate() {
        let got = count.load(Ordering::Relaxed);
        assert_eq!(got, *want, "seed {seed}: leaf {id} ran {got} times");
    }
    match outcome {
        Ok(()) => assert!(!should_panic, "seed {seed}: a panic was lost"),
        Err(payload) => {
            assert!(should_panic, "seed {seed}: unexpected panic");
            assert!(
                panic_message(&*payload).starts_with(INJECTED),
                "seed {seed}: {}",
                panic_message(&*payload)
            );
        }
    }
    should_panic
}

// ---------------------------------------------------------------------------
// Tests

/// Four outside threads run random trees of nested joins and scopes with
/// panics at random points on one two-worker pool, while a fifth keeps
/// `spawn`ing jobs, a tenth of which panic (to the panic handler). Every
/// tree leaf and every spawned job runs exactly once; every injected panic
/// reaches its caller or the handler, exactly once. Exercises the injector
/// path (N1..N3 from outside), pushes from workers (N0), nested waits
/// (`wait_until`, W1/W2, I2) and sleeping between bursts (I1).
#[test]
fn random_panicking_fork_trees_from_several_threads_under_spawn_load() {
    quiet_injected_panics();
    within(120, "fork trees", || {
        let handled = Arc::new(AtomicUsize::new(0));
        let h = Arc::clone(&handled);
        let ex = Executor::builder()
            .workers(2)
            .thread_name(|i| format!("fx-tree-{i}"))
            .panic_handler(move |payload| {
                assert!(panic_message(&*payload).starts_with(INJECTED));
                h.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap();
        const SPAWNED: usize = 20_000;
        let spawned: Arc<Vec<AtomicU8>> =
            Arc::new((0..SPAWNED).map(|_| AtomicU8::new(0)).collect());
        let panicked = thread::scope(|s| {
            let loader = {
                let (ex, spawned) = (ex.clone(), Arc::clone(&spawned));
                s.spawn(move || {
                    for i in 0..SPAWNED {
                        let spawned = Arc::clone(&spawned);
                        ex.spawn(move || {
                            spawned[i].fetch_add(1, Ordering::Relaxed);
                            if i % 10 == 3 {
                                panic!("{INJECTED}: spawned {i}");
                            }
                        });
                        if i % 1000 == 0 {
                            thread::yield_now();
                        }
                    }
                })
            };
            let trees: Vec<_> = (0..4u64)
                .map(|t| {
                    let ex = &ex;
                    s.spawn(move || {
                        let mut panicked = 0;
                        for i in 0..150 {
                            let rate = [0, 20, 80][(i % 3) as usize];
                            panicked += usize::from(tree_trial(ex, t * 100_000 + i, rate));
                        }
                        panicked
                    })
                })
                .collect();
            loader.join().unwrap();
            trees.into_iter().map(|t| t.join().unwrap()).sum::<usize>()
        });
        assert!(panicked > 50, "only {panicked} trees panicked");
        // Spawned jobs run later: wait for them (a hang here is a lost job).
        let deadline = Instant::now() + Duration::from_secs(30);
        while spawned.iter().any(|c| c.load(Ordering::Relaxed) == 0) {
            let missing = spawned
                .iter()
                .filter(|c| c.load(Ordering::Relaxed) == 0)
                .count();
            assert!(
                Instant::now() < deadline,
                "{missing} spawned jobs never ran"
            );
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(fib(&ex, 20), 6765, "the pool still works");
        drop(ex);
        // The drop joined the workers: every job has finished.
        for (i, c) in spawned.iter().enumerate() {
            assert_eq!(c.load(Ordering::Relaxed), 1, "spawned job {i}");
        }
        assert_eq!(handled.load(Ordering::Relaxed), SPAWNED / 10);
        no_thread_left("fx-tree-");
    });
}

/// The last handle dropped by one of the pool's own jobs: the drop cannot
/// join its own thread, so the workers detach, finish every queued job and
/// exit on their own (Shutdown in `sleep/README.md`: `terminate` then
/// `wake_all`; a worker announcing sleep afterwards sees `terminating` in
/// its re-scan). Repeated, with jobs still queued behind the drop.
#[test]
fn the_last_handle_dropped_by_its_own_job() {
    within(60, "last handle dropped by own job", || {
        for round in 0..20 {
            let ex = pool("fx-self-", 2);
            let ran: Arc<Vec<AtomicU8>> = Arc::new((0..500).map(|_| AtomicU8::new(0)).collect());
            let dropped = Arc::new(AtomicBool::new(false));
            let ours_gone = Arc::new(AtomicBool::new(false));
            for i in 0..250 {
                let ran = Arc::clone(&ran);
                ex.spawn(move || {
                    ran[i].fetch_add(1, Ordering::Relaxed);
                });
            }
            let last = ex.clone();
            let (ran2, dropped2) = (Arc::clone(&ran), Arc::clone(&dropped));
            let ours_gone2 = Arc::clone(&ours_gone);
            ex.spawn(move || {
                // Wait until the test has dropped its handle, so that ours
                // is the last.
                while !ours_gone2.load(Ordering::Acquire) {
                    thread::yield_now();
                }
                // Queue more work behind us, then drop the last handle here.
                for i in 250..500 {
                    let ran = Arc::clone(&ran2);
                    last.spawn(move || {
                        ran[i].fetch_add(1, Ordering::Relaxed);
                    });
                }
                drop(last);
                dropped2.store(true, Ordering::Release);
            });
            drop(ex);
            ours_gone.store(true, Ordering::Release);
            // Every worker exits by itself once the queues are empty.
            no_thread_left("fx-self-");
            assert!(dropped.load(Ordering::Acquire), "round {round}");
            for (i, c) in ran.iter().enumerate() {
                assert_eq!(c.load(Ordering::Relaxed), 1, "round {round}: job {i}");
            }
        }
    });
}

/// The last handle of pool A dropped by a job running on pool B: B's worker
/// joins A's threads (it is not one of them), then goes on; both pools
/// end clean.
#[test]
fn the_last_handle_dropped_by_a_job_of_another_pool() {
    within(60, "last handle dropped on another pool", || {
        let b = pool("fx-b-", 2);
        for _ in 0..10 {
            let a = pool("fx-a-", 2);
            let sum = Arc::new(AtomicUsize::new(0));
            for i in 0..100 {
                let sum = Arc::clone(&sum);
                a.spawn(move || {
                    sum.fetch_add(i, Ordering::Relaxed);
                });
            }
            let (tx, rx) = mpsc::channel();
            b.spawn(move || {
                drop(a);
                tx.send(()).unwrap();
            });
            rx.recv().unwrap();
            // Joined by B's worker before it sent.
            no_thread_left("fx-a-");
            assert_eq!(sum.load(Ordering::Relaxed), 99 * 100 / 2);
        }
        assert_eq!(fib(&b, 18), 2584);
        drop(b);
        no_thread_left("fx-b-");
    });
}

/// A job waiting inside a nested scope on pool A for work on pool B that
/// panics: the waiting A worker keeps running A's jobs (its latch is set by
/// a B worker, W1/W2 across registries), the panic crosses both pools to
/// the caller, and both pools keep working. Several callers at once.
#[test]
fn panics_cross_pools_through_nested_scopes() {
    quiet_injected_panics();
    within(60, "cross-pool panics", || {
        let a = pool("fx-ca-", 2);
        let b = pool("fx-cb-", 1);
        let caught = Mutex::new(0usize);
        thread::scope(|s| {
            for t in 0..3u64 {
                let (a, b, caught) = (&a, &b, &caught);
                s.spawn(move || {
                    for i in 0..50u64 {
                        let ran = AtomicUsize::new(0);
                        let r = panic::catch_unwind(AssertUnwindSafe(|| {
                            a.scope(|sa| {
                                for j in 0..4u64 {
                                    let ran = &ran;
                                    sa.spawn(move |_| {
                                        b.scope(|sb| {
                                            sb.spawn(move |_| {
                                                ran.fetch_add(1, Ordering::Relaxed);
                                                if (t + i + j) % 7 == 0 {
                                                    panic!("{INJECTED}: on b");
                                                }
                                            });
                                        });
                                    });
                                }
                            })
                        }));
                        assert_eq!(ran.load(Ordering::Relaxed), 4);
                        let want = (0..4).any(|j| (t + i + j) % 7 == 0);
                        assert_eq!(r.is_err(), want, "caller {t}, round {i}");
                        *caught.lock().unwrap() += usize::from(r.is_err());
                    }
                });
            }
        });
        assert!(*caught.lock().unwrap() > 0);
        assert_eq!(fib(&a, 18), 2584);
        assert_eq!(fib(&b, 18), 2584);
        drop((a, b));
        no_thread_left("fx-ca-");
        no_thread_left("fx-cb-");
    });
}
