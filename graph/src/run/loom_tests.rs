//! loom models of the run's counter protocol (`README.md` beside this file,
//! steps 3 to 8, and its "Invariants"). Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --target-dir target/loom -p delayed --lib loom`.
//!
//! The real runner uses `std` atomics, so the model *mirrors* it with loom's
//! types, keeping every ordering as it is in the code:
//!
//! | model | mirrors |
//! |---|---|
//! | `count_down` | `../store/node_state.rs`, `count_down`: an Acquire load that sees the last count skips the read-modify-write; else an AcqRel RMW |
//! | `Run::execute` | `state.rs`, `RunState::run_task` (step 4; `cancelled` Relaxed) |
//! | `Run::new` | `state.rs`, `RunState::new` (step 2: each node's pending count, its input edges, and consumer count, out-edges + targets, set before the first job starts) |
//! | `Run::input_done` | `../store/node_state.rs`, `NodeState::input_done` (step 5; `count_down` on the node's `pending`, from its number of input edges) |
//! | `Run::release_inputs` | `state.rs`, `RunState::release_inputs`, and `NodeState::read_done` (step 6; `count_down` on `reads`) |
//! | `Run::fail` | `state.rs`, `RunState::fail` (mutex, then `cancelled` Relaxed) |
//! | `Run::finish` | `state.rs`, `RunState::finish` and the drop of the state (step 8) |
//! | a slot's `Option` | `Slot` plus `NodeState::mark_full`/`mark_empty` (the code's slot keeps no "full" of its own; `pending` says it once the node has run, written only by the slot's owner) |
//! | `count_input`, `flush`, `finish_deferred`, `Run::inputs_done` | `parallel.rs`, `Parallel::count_input_or_hand_on`/`defer`, `flush`, `finish_deferred`, and `NodeState::inputs_done` (step 5's deferred counts of shared successors; the `model_deferred` models treat every multi-input node as shared) |
//! | `execute`, `run_roots`, `run_from`, `spawn` | `parallel.rs`, `node_job`/`range_job`, `Parallel::run_roots` (at grain 1, what graphs this small get), `Parallel::run_from`, `Parallel::spawn` (steps 3, 5, 7) |
//! | `Run::active` | the real `delayed_executor::raw::CountLatch` (loom-built with the executor) |
//!
//! A push followed by a steal is modelled as a new loom thread per job: the
//! deque's push/steal gives the same happens-before edge as a spawn (which
//! is also what orders the job record's Relaxed pointer store in
//! `Parallel::push` before its load in `node_job`), and a thread per job lets
//! every pushed job run concurrently with every other, the weakest case.
//! The output slots are loom `UnsafeCell`s, so loom checks that every
//! write, read and removal of a slot is ordered as the README's
//! "Invariants" say ("A slot is written once, before a Release decrement;
//! read only after the Acquire (load or decrement) that made its consumer
//! ready; emptied only after its last read was counted (or after every job
//! ended)"): a missing happens-before edge is reported as a causality
//! violation. The `loom_the_model_catches_*` tests show that it does: weaken
//! any of the four orderings of `count_down` (two per counter) to Relaxed and loom
//! reports the race.
//!
//! If the counters or orderings in `state.rs` or `parallel.rs` change,
//! change them here (this mirrors the working tree of the graph crate as of
//! the "values with nothing to drop are never emptied" version).

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
    /// Nothing to drop (`Slot::needs_drop` is false): the run never
    /// empties it.
    plain: bool,
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
    /// The nodes whose output has nothing to drop (a number): never
    /// emptied during the run, and their reads are not counted (step 6).
    plain: Vec<u32>,
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

    /// `InputIds::has_values_to_drop`: whether an input of `k` has something to drop.
    fn to_drop(&self, k: u32) -> bool {
        self.inputs[k as usize]
            .iter()
            .any(|i| !self.plain.contains(i))
    }

    /// The value node `k` computes: 1 + the sum of its inputs' values.
    fn expected(&self, k: u32) -> u64 {
        1 + self.inputs[k as usize]
            .iter()
            .map(|&i| self.expected(i))
            .sum::<u64>()
    }
}

/// The orderings of `count_down` on each counter, as in the code (the same
/// function serves both); the sensitivity tests weaken one at a time.
#[derive(Clone, Copy)]
struct Orderings {
    pending_load: Ordering,
    pending_rmw: Ordering,
    consumers_load: Ordering,
    consumers_rmw: Ordering,
}

const REAL: Orderings = Orderings {
    pending_load: Ordering::Acquire,
    pending_rmw: Ordering::AcqRel,
    consumers_load: Ordering::Acquire,
    consumers_rmw: Ordering::AcqRel,
};

/// `parallel.rs`'s `SHARED`, which graphs this small never reach.
const SHARED: u32 = 64;

/// `../store/node_state.rs`, `count_down`: one party done, counting down; the last?
fn count_down(counter: &AtomicU32, load: Ordering, rmw: Ordering) -> bool {
    counter.load(load) == 1 || counter.fetch_sub(1, rmw) == 1
}

/// One run: `RunState` plus `Parallel`, and the model's own counters.
struct Run {
    spec: Spec,
    orderings: Orderings,
    successors: Vec<Vec<u32>>,
    roots: Vec<u32>,
    /// Per node: inputs (edges) not finished yet, from its number of inputs.
    pending: Vec<AtomicU32>,
    /// Per node: reads of its output still to come, set by its runner.
    consumers: Vec<AtomicU32>,
    slots: Vec<UnsafeCell<Option<Out>>>,
    cancelled: AtomicBool,
    failure: Mutex<Option<u32>>,
    active: CountLatch,
    /// `parallel.rs`'s `SHARED`: a successor with more inputs than this
    /// left has its counts deferred. The code's 64 never applies to graphs
    /// this small; the deferral models use 1 (every multi-input node).
    shared: u32,
    /// The model's: how many times each node's task started.
    runs: Vec<AtomicUsize>,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Run {
    /// Step 2 (`RunState::new`: counters, consumer counts, empty slots) and the start
    /// of step 3 (`parallel::run`: `active` counts the first root range).
    fn new(spec: Spec, orderings: Orderings, shared: u32) -> Run {
        let n = spec.len();
        let successors: Vec<Vec<u32>> = (0..n as u32).map(|k| spec.successors(k)).collect();
        let roots = spec.roots();
        // Only consumers with an input to drop count their reads.
        let consumers = (0..n as u32)
            .map(|k| {
                let targets = spec.targets.iter().filter(|&&t| t == k).count();
                let counted = successors[k as usize]
                    .iter()
                    .filter(|&&s| spec.to_drop(s))
                    .count();
                AtomicU32::new((counted + targets) as u32)
            })
            .collect();
        Run {
            active: CountLatch::new(1),
            successors,
            roots,
            pending: (0..n)
                .map(|k| AtomicU32::new(spec.inputs[k].len() as u32))
                .collect(),
            consumers,
            slots: (0..n).map(|_| UnsafeCell::new(None)).collect(),
            cancelled: AtomicBool::new(false),
            failure: Mutex::new(None),
            runs: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            drops: Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect()),
            spec,
            orderings,
            shared,
        }
    }

    /// `RunState::run_task` (step 4). The caller owns `k` (counted its last
    /// input, or `k` is a root run by its range job).
    fn execute(&self, k: u32) -> bool {
        if self.cancelled.load(Ordering::Relaxed) {
            return false;
        }
        self.runs[k as usize].fetch_add(1, Ordering::Relaxed);
        // The task reads its inputs (`Args`): shared reads of full slots.
        let mut value = 1;
        for &i in &self.spec.inputs[k as usize] {
            value += self.slots[i as usize].with(|slot| {
                // SAFETY: the input finished before the Acquire that made
                // `k` ready (the real code's argument; loom checks it here).
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
            plain: self.spec.plain.contains(&k),
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

    /// `NodeState::inputs_done` (step 5): `count` inputs at once.
    fn inputs_done(&self, successor: u32, count: u32) -> bool {
        let o = self.orderings;
        let pending = &self.pending[successor as usize];
        pending.load(o.pending_load) == count || pending.fetch_sub(count, o.pending_rmw) == count
    }

    /// `RunState::release_inputs` (step 6).
    fn release_inputs(&self, k: u32) {
        if !self.spec.to_drop(k) {
            return;
        }
        for &input in &self.spec.inputs[k as usize] {
            // `Slot::needs_drop`: a shared read of the full slot.
            let plain = self.slots[input as usize].with(|slot| {
                // SAFETY: full until every job ended, or until after this
                // consumer's count below (loom checks it).
                unsafe { (*slot).as_ref() }
                    .expect("an input's slot is full until its reads are counted")
                    .plain
            });
            if plain {
                continue;
            }
            let o = self.orderings;
            if count_down(
                &self.consumers[input as usize],
                o.consumers_load,
                o.consumers_rmw,
            ) {
                // `Slot::take_value`: every consumer has finished reading.
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
        // success only plain ones are (step 6 freed every other
        // intermediate value, step 8 took the targets').
        let mut left = 0;
        for slot in &self.slots {
            // SAFETY: as above.
            if let Some(out) = slot.with_mut(|slot| unsafe { (*slot).take() }) {
                left += usize::from(!out.plain);
            }
        }
        if result.is_ok() {
            assert_eq!(
                left, 0,
                "after a success every intermediate value was freed"
            );
        }
        result
    }
}

/// `Parallel::run_roots` (step 3) with the grain of a graph this small
/// (one root): halve the range, counting and pushing the upper half, then
/// run the one root left.
fn run_roots(run: &Arc<Run>, start: usize, mut end: usize, deferred: &mut Deferred) {
    while end - start > 1 {
        let mid = start + (end - start) / 2;
        run.active.increment();
        push(run, Job::Roots(mid, end));
        end = mid;
    }
    for i in start..end {
        run_from(run, run.roots[i], deferred);
    }
}

/// `parallel.rs`, `Deferred`: (node, inputs run and not counted yet).
type Deferred = (u32, u32);

/// `Parallel::count_input_or_hand_on` and `Parallel::defer` (step 5).
fn count_input(run: &Arc<Run>, successor: u32, deferred: &mut Deferred) -> bool {
    if deferred.1 > 0 && deferred.0 == successor {
        deferred.1 += 1;
        return false;
    }
    let pending = run.pending[successor as usize].load(run.orderings.pending_load);
    if pending == 1 {
        true
    } else if pending > run.shared {
        if let Some(ready) = flush(run, deferred) {
            spawn(run, ready);
        }
        *deferred = (successor, 1);
        false
    } else {
        // `NodeState::subtract_inputs`: the look above was not the last.
        run.pending[successor as usize].fetch_sub(1, run.orderings.pending_rmw) == 1
    }
}

/// `Parallel::flush`.
fn flush(run: &Arc<Run>, deferred: &mut Deferred) -> Option<u32> {
    let (node, count) = std::mem::take(deferred);
    (count > 0 && run.inputs_done(node, count)).then_some(node)
}

/// `Parallel::finish_deferred`.
fn finish_deferred(run: &Arc<Run>, deferred: &mut Deferred) {
    while let Some(ready) = flush(run, deferred) {
        run_from(run, ready, deferred);
    }
}

/// `Parallel::spawn` (step 5): count, then push.
fn spawn(run: &Arc<Run>, k: u32) {
    run.active.increment();
    push(run, Job::Node(k));
}

/// `Parallel::run_from` (steps 4 to 6 along ready successors).
fn run_from(run: &Arc<Run>, mut k: u32, deferred: &mut Deferred) {
    loop {
        if !run.execute(k) {
            return;
        }
        let mut next = None;
        for &successor in &run.successors[k as usize] {
            if count_input(run, successor, deferred) {
                if next.is_none() {
                    next = Some(successor);
                } else {
                    spawn(run, successor);
                }
            }
        }
        run.release_inputs(k);
        match next {
            Some(successor) => k = successor,
            None => return,
        }
    }
}

/// A job: a node's, or a range of roots (start..end in root order).
#[derive(Clone, Copy)]
enum Job {
    Node(u32),
    Roots(usize, usize),
}

/// `Registry::push` followed by a steal: the job runs on another thread.
fn push(run: &Arc<Run>, job: Job) {
    let run = Arc::clone(run);
    thread::spawn(move || execute(&run, job));
}

/// `parallel::node_job` and `parallel::range_job`: a node or a range of
/// roots, then step 7's decrement as the job's last access to the run.
fn execute(run: &Arc<Run>, job: Job) {
    let mut deferred = (0, 0);
    match job {
        Job::Node(k) => run_from(run, k, &mut deferred),
        Job::Roots(start, end) => run_roots(run, start, end, &mut deferred),
    }
    finish_deferred(run, &mut deferred);
    run.active.decrement();
}

/// `parallel::run` and `run::run`: push the first root range, wait for `active`, finish.
/// Then checks, after every job ended: each node ran at most once (exactly
/// once after a success), each value made was dropped exactly once, and
/// the results are right. `shared` is the threshold of shared successors
/// (`SHARED` in the code; 1 in the deferral models).
fn check(spec: Spec, orderings: Orderings, shared: u32) {
    let failing = spec.failing;
    let n = spec.len();
    let expected: Vec<u64> = spec.targets.iter().map(|&t| spec.expected(t)).collect();
    let run = Arc::new(Run::new(spec, orderings, shared));
    // The first range's count is already in `active` (step 3).
    let roots = run.roots.len();
    push(&run, Job::Roots(0, roots));
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
    model_with(spec, SHARED);
}

/// `model` with the threshold of shared successors set to `shared`.
fn model_with(spec: impl Fn() -> Spec + Sync + Send + 'static, shared: u32) {
    let mut builder = loom::model::Builder::new();
    // Bounded so each model finishes in seconds even without the variable.
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(move || check(spec(), REAL, shared));
}

/// Two roots `a`, `b` feeding `c`: the first range job runs `a` while `b`'s range runs on
/// another thread; their counts of `c`'s inputs race (either may take the
/// load shortcut of `count_down`), and exactly one of them runs `c`
/// (Invariants: "A node runs at most once per run"), which sees both
/// outputs (step 5); `active` starts at 2 (step 3) and the computing thread
/// reads `c` only after both jobs ended (step 7).
#[test]
fn loom_two_roots_finishing_at_once_schedule_their_consumer_once() {
    model(|| Spec {
        inputs: vec![vec![], vec![], vec![0, 1]],
        targets: vec![2],
        failing: None,
        plain: vec![],
    });
}

/// A diamond `r -> x, y -> z`: `x` runs inline after `r`, `y` is spawned
/// (step 5); the two finish at once, so
/// - exactly one of them counts `z`'s last input and runs `z` (step 5;
///   Invariants: "A node runs at most once per run");
/// - both release `r` at once, and exactly one of them drops `r`'s output,
///   after both have read it (step 6: `consumers[r]` = 2, `count_down`);
/// - `x`'s and `y`'s outputs are dropped by `z`, `z`'s by the caller.
#[test]
fn loom_diamond_schedules_the_join_once_and_drops_the_shared_input_once() {
    model(|| Spec {
        inputs: vec![vec![], vec![0], vec![0], vec![1, 2]],
        targets: vec![3],
        failing: None,
        plain: vec![],
    });
}

/// A fork `r -> x, y` with `x` and `y` both targets: the two consumers of
/// `r` release it at once and meet nowhere else, so only `count_down`
/// orders the other's read of `r` before the drop by the last (step 6).
#[test]
fn loom_two_consumers_that_never_meet_drop_their_input_once() {
    model(fork);
}

/// Duplicate edges (`c` takes `a` twice and `b` once): the thread that ran
/// `a` counts two of `c`'s three inputs, and releases `a` twice, so the
/// load shortcut of `count_down` meets a count it moved itself
/// (Plan: "one entry per edge, duplicate inputs kept").
#[test]
fn loom_duplicate_edges_count_once_each() {
    model(|| Spec {
        inputs: vec![vec![], vec![], vec![0, 0, 1]],
        targets: vec![2],
        failing: None,
        plain: vec![],
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
        plain: vec![],
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
        plain: vec![],
    });
}

/// Values with nothing to drop beside one with something (step 6): `r`
/// (plain) feeds `x`, which also reads `t` (to drop), and `y`, which reads
/// only `r`; `z` joins them. `x` counts its read of `t` and drops it, skips
/// `r` after looking at its slot, and `y` reads `r` at the same time: loom
/// checks that nobody empties `r`'s slot while `y` reads it, and that `t`
/// is dropped once.
#[test]
fn loom_plain_values_are_read_by_every_consumer_and_never_emptied() {
    model(|| Spec {
        inputs: vec![vec![], vec![], vec![0, 1], vec![0], vec![2, 3]],
        targets: vec![4],
        failing: None,
        plain: vec![0, 3],
    });
}

/// `model` with every multi-input node *shared*: each input count is
/// deferred by the job that ran the input and added at the job's end
/// (`Parallel::count_input_or_hand_on`, `flush`, `finish_deferred`).
fn model_deferred(spec: impl Fn() -> Spec + Sync + Send + 'static) {
    model_with(spec, 1);
}

/// Three roots feeding one sink, each root in its own job, every input
/// count deferred: the three flushes race (one may take the load shortcut
/// for its whole count), exactly one runs the sink, which sees all three
/// outputs.
#[test]
fn loom_deferred_counts_of_a_shared_sink_run_it_once() {
    model_deferred(|| Spec {
        inputs: vec![vec![], vec![], vec![], vec![0, 1, 2]],
        targets: vec![3],
        failing: None,
        plain: vec![],
    });
}

/// A root feeding a shared node twice and another node once (`c` takes
/// `a` twice): the job defers two counts of `c` together, and the flush of
/// `c` when `a`'s job ends meets `b`'s flush.
#[test]
fn loom_deferred_counts_add_up_duplicate_edges() {
    model_deferred(|| Spec {
        inputs: vec![vec![], vec![], vec![0, 0, 1]],
        targets: vec![2],
        failing: None,
        plain: vec![],
    });
}

/// The diamond with deferred counts and a failure on one side: the run
/// still ends and every value is dropped once.
#[test]
fn loom_deferred_counts_with_a_failure_still_end_the_run() {
    model_deferred(|| Spec {
        inputs: vec![vec![], vec![0], vec![0], vec![1, 2]],
        targets: vec![3],
        failing: Some(2),
        plain: vec![],
    });
}

/// Deferred counts without Release: the flush of one input does not
/// publish its output to the thread that runs the sink.
#[test]
#[should_panic(expected = "Causality violation")]
fn loom_the_model_catches_a_relaxed_deferred_count() {
    let o = Orderings {
        pending_rmw: Ordering::Relaxed,
        ..REAL
    };
    weakened_with(o, two_roots, 1);
}

/// The model is not vacuous: weaken one ordering of `count_down` on
/// either counter to Relaxed and loom finds a slot access with no
/// happens-before edge to the access it conflicts with.
fn weakened(orderings: Orderings, spec: fn() -> Spec) {
    weakened_with(orderings, spec, SHARED);
}

/// `weakened` with the threshold of shared successors set to `shared`.
fn weakened_with(orderings: Orderings, spec: fn() -> Spec, shared: u32) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(move || check(spec(), orderings, shared));
}

fn two_roots() -> Spec {
    Spec {
        inputs: vec![vec![], vec![], vec![0, 1]],
        targets: vec![2],
        failing: None,
        plain: vec![],
    }
}

fn fork() -> Spec {
    Spec {
        inputs: vec![vec![], vec![0], vec![0]],
        targets: vec![1, 2],
        failing: None,
        plain: vec![],
    }
}

fn diamond() -> Spec {
    Spec {
        inputs: vec![vec![], vec![0], vec![0], vec![1, 2]],
        targets: vec![3],
        failing: None,
        plain: vec![],
    }
}

/// The last input seen by `pending`'s load without Acquire: the consumer
/// reads the other input's slot unordered after its write.
#[test]
#[should_panic(expected = "Causality violation")]
fn loom_the_model_catches_a_relaxed_pending_load() {
    let o = Orderings {
        pending_load: Ordering::Relaxed,
        ..REAL
    };
    weakened(o, two_roots);
}

/// `pending`'s decrement without Release: the input's output is not
/// published to the thread that counts the last input.
#[test]
#[should_panic(expected = "Causality violation")]
fn loom_the_model_catches_a_relaxed_pending_decrement() {
    let o = Orderings {
        pending_rmw: Ordering::Relaxed,
        ..REAL
    };
    weakened(o, two_roots);
}

/// `consumers`' load without Acquire: the last consumer of the fork's `r`
/// drops it unordered after the other consumer's read. (In the diamond loom
/// does not find this one: there the two consumers also count `z`'s
/// inputs, and loom, which does not explore every execution that Relaxed
/// allows, never lets the later consumer's Relaxed load see the earlier
/// one's decrement without also ordering them through `z`. A passing model
/// is evidence, not proof; these tests say which weakenings each model
/// does catch.)
#[test]
#[should_panic(expected = "Causality violation")]
fn loom_the_model_catches_a_relaxed_consumers_load() {
    let o = Orderings {
        consumers_load: Ordering::Relaxed,
        ..REAL
    };
    weakened(o, fork);
}

/// `consumers`' decrement without Release: a consumer's read of `r` is not
/// ordered before the drop by the other.
#[test]
#[should_panic(expected = "Causality violation")]
fn loom_the_model_catches_a_relaxed_consumers_decrement() {
    let o = Orderings {
        consumers_rmw: Ordering::Relaxed,
        ..REAL
    };
    weakened(o, diamond);
}
