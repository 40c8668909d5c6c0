//! loom models of the run's counter protocol (`README.md` beside this file,
//! steps 3 to 8, and its "Invariants"). Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --target-dir target/loom -p delayed --lib loom`.
//!
//! The real runner uses `std` atomics, so the model *mirrors* it with loom's
//! types, keeping every ordering as it is in the code:
//!
//! | model | mirrors |
//! |---|---|
//! | `Run::execute` | `state.rs`, `RunState::execute` (step 4; `cancelled` Relaxed) |
//! | `Run::input_done` | `state.rs`, `RunState::input_done` (step 5; `pending` AcqRel) |
//! | `Run::release_inputs` | `state.rs`, `RunState::release_inputs` (step 6; `consumers` AcqRel) |
//! | `Run::fail` | `state.rs`, `RunState::fail` (mutex, then `cancelled` Relaxed) |
//! | `Run::finish` | `state.rs`, `RunState::finish` and the drop of the state (step 8) |
//! | `job`, `Run::seed`, `Run::run_from`, `Run::spawn` | `parallel.rs`, `execute`, `Parallel::seed`, `Parallel::run_from`, `Parallel::spawn` (steps 3, 5, 7) |
//! | `Run::active` | the real `delayed_executor::raw::CountLatch` (loom-built with the executor) |
//!
//! A push followed by a steal is modelled as a new loom thread per job: the
//! deque's push/steal gives the same happens-before edge as a spawn, and a
//! thread per job lets every pushed job run concurrently with every other,
//! the weakest case. The output slots are loom `UnsafeCell`s, so loom
//! checks that every write, read and removal of a slot is ordered as the
//! README says ("A slot is written once, before a Release decrement; read
//! only after the Acquire decrement that made its consumer ready; emptied
//! only after its `consumers` count reached zero (or after every job
//! ended)"): a missing happens-before edge is reported as a causality
//! violation. `loom_the_model_catches_a_relaxed_pending_decrement` shows that
//! it does.
//!
//! If the orderings in `state.rs` or `parallel.rs` change, change them here.

use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

use delayed_executor::raw::CountLatch;

/// A node's output: its value, and the node it belongs to, whose drop counter
/// it bumps when dropped.
struct Out {
    node: usize,
    value: u64,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Out {
    fn drop(&mut self) {
        self.drops[self.node].fetch_add(1, Ordering::Relaxed);
    }
}

/// A plan (`plan.rs`): local nodes in topological order with their inputs;
/// successors, roots and consumer counts are derived as `Plan::new` and
/// `RunState::new` derive them.
struct Spec {
    inputs: Vec<Vec<u32>>,
    targets: Vec<u32>,
    /// The node whose task fails (panics or returns `Err`), if any.
    failing: Option<u32>,
}

impl Spec {
    fn len(&self) -> usize {
        self.inputs.len()
    }

    fn successors(&self, k: u32) -> Vec<u32> {
        let mut out = Vec::new();
        for (s, inputs) in self.inputs.iter().enumerate() {
            for &i in inputs {
                if i == k {
                    out.push(s as u32);
                }
            }
        }
        out
    }

    fn roots(&self) -> Vec<u32> {
        (0..self.len() as u32)
            .filter(|&k| self.inputs[k as usize].is_empty())
            .collect()
    }

    /// The value node `k` computes: 1 + the sum of its inputs' values.
    fn expected(&self, k: u32) -> u64 {
        1 + self.inputs[k as usize]
            .iter()
            .map(|&i| self.expected(i))
            .sum::<u64>()
    }
}

/// The ordering of the `pending` decrement: `AcqRel` as in the code; the
/// sensitivity test weakens it.
struct Orderings {
    pending: Ordering,
}

const REAL: Orderings = Orderings {
    pending: Ordering::AcqRel,
};

/// One run: `RunState` plus `Parallel`, and the model's own counters.
struct Run {
    spec: Spec,
    orderings: Orderings,
    successors: Vec<Vec<u32>>,
    roots: Vec<u32>,
    pending: Vec<AtomicU32>,
    consumers: Vec<AtomicU32>,
    slots: Vec<UnsafeCell<Option<Out>>>,
    cancelled: AtomicBool,
    failure: Mutex<Option<u32>>,
    active: CountLatch,
    /// The model's: how many times each node's task started.
    runs: Vec<AtomicUsize>,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Run {
    /// Step 2 (`RunState::new`) and the start of step 3 (`parallel::run`:
    /// `active` starts at the number of roots).
    fn new(spec: Spec, orderings: Orderings) -> Run {
        let n = spec.len();
        let successors: Vec<Vec<u32>> = (0..n as u32).map(|k| spec.successors(k)).collect();
        let roots = spec.roots();
        let pending = (0..n)
            .map(|k| AtomicU32::new(spec.inputs[k].len() as u32))
            .collect();
        let consumers = (0..n)
            .map(|k| {
                let as_target = spec.targets.iter().filter(|&&t| t as usize == k).count();
                AtomicU32::new((successors[k].len() + as_target) as u32)
            })
            .collect();
        Run {
            active: CountLatch::new(roots.len()),
            successors,
            roots,
            pending,
            consumers,
            slots: (0..n).map(|_| UnsafeCell::new(None)).collect(),
            cancelled: AtomicBool::new(false),
            failure: Mutex::new(None),
            runs: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            drops: Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect()),
            spec,
            orderings,
        }
    }

    /// `RunState::execute` (step 4). The caller owns `k` (made the last
    /// decrement of its `pending`, or `k` is a root run by the seed).
    fn execute(&self, k: u32) -> bool {
        if self.cancelled.load(Ordering::Relaxed) {
            return false;
        }
        self.runs[k as usize].fetch_add(1, Ordering::Relaxed);
        // The task reads its inputs (`Args`): shared reads of full slots.
        let mut value = 1;
        for &i in &self.spec.inputs[k as usize] {
            value += self.slots[i as usize].with(|slot| {
                // SAFETY (of the real code, checked here by loom): the input
                // finished before our Acquire decrement made `k` ready.
                unsafe { (*slot).as_ref() }
                    .expect("an input's slot is full when its consumer runs")
                    .value
            });
        }
        if self.spec.failing == Some(k) {
            self.fail(k);
            return false;
        }
        let out = Out {
            node: k as usize,
            value,
            drops: Arc::clone(&self.drops),
        };
        // `Slot::put`: only `k`'s runner touches the slot until step 5.
        self.slots[k as usize].with_mut(|slot| {
            // SAFETY: exclusive, as loom checks.
            let old = unsafe { (*slot).replace(out) };
            assert!(old.is_none(), "a slot is written once");
        });
        true
    }

    /// `RunState::input_done` (step 5).
    fn input_done(&self, successor: u32) -> bool {
        self.pending[successor as usize].fetch_sub(1, self.orderings.pending) == 1
    }

    /// `RunState::release_inputs` (step 6).
    fn release_inputs(&self, k: u32) {
        for &input in &self.spec.inputs[k as usize] {
            if self.consumers[input as usize].fetch_sub(1, Ordering::AcqRel) == 1 {
                // `Slot::take`: every consumer has finished reading.
                let value = self.slots[input as usize].with_mut(|slot| {
                    // SAFETY: exclusive, as loom checks.
                    unsafe { (*slot).take() }
                });
                assert!(value.is_some(), "an output is dropped once");
                drop(value);
            }
        }
    }

    /// `RunState::fail`.
    fn fail(&self, k: u32) {
        let mut failure = self.failure.lock().unwrap();
        if failure.is_none() {
            *failure = Some(k);
        }
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// `Parallel::seed` (step 3): push roots 1.. (counted already), run root 0.
    fn seed(self: &Arc<Self>) {
        for &root in &self.roots[1..] {
            push(self, root);
        }
        self.run_from(self.roots[0]);
    }

    /// `Parallel::spawn` (step 5): count, then push.
    fn spawn(self: &Arc<Self>, k: u32) {
        self.active.increment();
        push(self, k);
    }

    /// `Parallel::run_from` (steps 4 to 6 along ready successors).
    fn run_from(self: &Arc<Self>, mut k: u32) {
        loop {
            if !self.execute(k) {
                return;
            }
            let mut next = None;
            for &successor in &self.successors[k as usize] {
                if self.input_done(successor) {
                    if next.is_none() {
                        next = Some(successor);
                    } else {
                        self.spawn(successor);
                    }
                }
            }
            self.release_inputs(k);
            match next {
                Some(successor) => k = successor,
                None => return,
            }
        }
    }

    /// `RunState::finish` and the drop of the state (step 8), on the
    /// computing thread after `active.wait()`: the failure, or the targets'
    /// values; then every slot still full is dropped with the state.
    fn finish(&self) -> Result<Vec<u64>, u32> {
        let failure = *self.failure.lock().unwrap();
        let result = match failure {
            Some(k) => Err(k),
            None => Ok(self
                .spec
                .targets
                .iter()
                .map(|&t| {
                    self.slots[t as usize]
                        // SAFETY: every job has ended (loom checks the order).
                        .with_mut(|slot| unsafe { (*slot).take() })
                        .expect("a target has its output")
                        .value
                })
                .collect()),
        };
        // Dropping the state: the slots still full are freed here. After a
        // success none is (step 6 freed every intermediate value, step 8
        // took the targets').
        let mut left = 0;
        for slot in &self.slots {
            // SAFETY: as above.
            if slot.with_mut(|slot| unsafe { (*slot).take() }).is_some() {
                left += 1;
            }
        }
        if result.is_ok() {
            assert_eq!(left, 0, "after a success every intermediate value was freed");
        }
        result
    }
}

/// `Registry::push` followed by a steal: the job runs on another thread.
fn push(run: &Arc<Run>, k: u32) {
    let run = Arc::clone(run);
    thread::spawn(move || job(&run, k));
}

/// `parallel::execute`: the seed or a node, then step 7's decrement as the
/// job's last access to the run.
fn job(run: &Arc<Run>, index: u32) {
    if index == run.spec.len() as u32 {
        run.seed();
    } else {
        run.run_from(index);
    }
    run.active.decrement();
}

/// `parallel::run` and `run::run`: push the seed, wait for `active`, finish.
/// Then checks, after every job ended: each node ran at most once (exactly
/// once after a success), each value made was dropped exactly once, and
/// the results are right.
fn check(spec: Spec, orderings: Orderings) {
    let failing = spec.failing;
    let n = spec.len();
    let expected: Vec<u64> = spec.targets.iter().map(|&t| spec.expected(t)).collect();
    let run = Arc::new(Run::new(spec, orderings));
    // The seed's own count is root 0's, already in `active` (step 3).
    push(&run, n as u32);
    run.active.wait();
    let result = run.finish();
    let made: Vec<usize> = (0..n)
        .map(|k| run.runs[k].load(Ordering::Relaxed))
        .collect();
    for (k, &runs) in made.iter().enumerate() {
        assert!(runs <= 1, "node {k} ran {runs} times");
        // A node that ran and did not fail made one value; it was dropped
        // once, by its last consumer or by `finish`.
        let made_value = runs == 1 && failing != Some(k as u32);
        let drops = run.drops[k].load(Ordering::Relaxed);
        assert_eq!(drops, usize::from(made_value), "drops of node {k}'s output");
    }
    match (failing, result) {
        (None, Ok(values)) => {
            assert_eq!(values, expected);
            assert!(made.iter().all(|&r| r == 1), "every node ran: {made:?}");
        }
        (Some(f), Err(k)) => assert_eq!(f, k, "the failure reported is the task's"),
        (failing, result) => panic!("failing {failing:?} gave {result:?}"),
    }
}

fn model(spec: impl Fn() -> Spec + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    // Bounded so each model finishes in seconds even without the variable.
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(move || check(spec(), REAL));
}

/// Two roots `a`, `b` feeding `c`: the seed runs `a` while `b` runs on
/// another thread; their decrements of `pending[c]` race, and exactly one
/// of them runs `c` (Invariants: "A node runs at most once per run"), which
/// sees both outputs (step 5's AcqRel); `active` starts at 2 (step 3) and
/// the computing thread reads `c` only after both jobs ended (step 7).
#[test]
fn loom_two_roots_finishing_at_once_schedule_their_consumer_once() {
    model(|| Spec {
        inputs: vec![vec![], vec![], vec![0, 1]],
        targets: vec![2],
        failing: None,
    });
}

/// A diamond `r -> x, y -> z`: `x` runs inline after `r`, `y` is spawned
/// (step 5); the two finish at once, so
/// - exactly one of them makes the last decrement of `pending[z]` and runs
///   `z` (step 5; Invariants: "A node runs at most once per run");
/// - both release `r` at once, and exactly one of them drops `r`'s output,
///   after both have read it (step 6: `consumers[r]` = 2, AcqRel);
/// - `x`'s and `y`'s outputs are dropped by `z`, `z`'s by the caller.
#[test]
fn loom_diamond_schedules_the_join_once_and_drops_the_shared_input_once() {
    model(|| Spec {
        inputs: vec![vec![], vec![0], vec![0], vec![1, 2]],
        targets: vec![3],
        failing: None,
    });
}

/// The same diamond with `r` also a target: its consumer count includes the
/// caller's read (step 2), so neither `x` nor `y` drops it and the caller
/// gets it (step 8).
#[test]
fn loom_a_target_read_by_two_consumers_is_kept_for_the_caller() {
    model(|| Spec {
        inputs: vec![vec![], vec![0], vec![0], vec![1, 2]],
        targets: vec![0, 3],
        failing: None,
    });
}

/// The diamond with `x` failing while `y` may run: `z` never runs (step 4:
/// a failed task decrements no successor), the run still ends (step 7: every
/// job decrements `active` once, also after the cancel), and the values
/// left in slots (`r`'s, `y`'s if it ran) are dropped once, by the caller
/// (step 8, "Who frees what").
#[test]
fn loom_a_failure_cancels_and_every_value_is_still_dropped_once() {
    model(|| Spec {
        inputs: vec![vec![], vec![0], vec![0], vec![1, 2]],
        targets: vec![3],
        failing: Some(1),
    });
}

/// The model is not vacuous: with a Relaxed decrement of `pending` (no
/// Release to publish an input's output, no Acquire to see it) loom finds
/// the consumer reading a slot whose write it has no happens-before edge
/// to.
#[test]
#[should_panic]
fn loom_the_model_catches_a_relaxed_pending_decrement() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        check(
            Spec {
                inputs: vec![vec![], vec![], vec![0, 1]],
                targets: vec![2],
                failing: None,
            },
            Orderings {
                pending: Ordering::Relaxed,
            },
        )
    });
}
