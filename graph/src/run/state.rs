//! `RunState`: the per-node counters and output slots of one compute, and
//! the steps of running one node, shared by the parallel and the sync runner.
//!
//! The numbered steps referred to here are those of `README.md`.

use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::error::{catch_panic, drop_quietly, Error};
use super::observer::Observer;
use super::plan::{Plan, View};
use crate::store::{prefetch, Args, Node, NodeState, PooledArray, Store, Task, VTable, Value};

pub(crate) struct RunState<'a> {
    store: &'a Store,
    plan: &'a Plan,
    /// Per local node: its counters and output slot.
    nodes: PooledArray<NodeState>,
    /// Set by the first failure, or from outside the run (`cancel`): tasks
    /// not started yet are skipped. Owned by whoever started the run, so
    /// that a caller outside it (an async compute's future being dropped)
    /// can cancel it too.
    cancelled: &'a AtomicBool,
    /// The first failure.
    failure: Mutex<Option<Error>>,
}

/// Step 2's first pass: writes the record of every local node of `plan`
/// into `nodes` (one per node, `0..plan.len()`), its input count from the
/// store's column of counts; says whether an input's value may have
/// something to drop (then the reads must be counted).
///
/// For a whole plan, a tight loop over each segment of the column,
/// backwards (so the first nodes, where the run starts, stay in the
/// cache), that neither branches nor calls: a chain's pass took 21
/// instructions per node through `for_each_count_backwards`. Counts too
/// large for their byte (127 inputs or more) are completed afterwards.
fn first_pass(plan: &Plan, store: &Store, nodes: &mut [MaybeUninit<NodeState>]) -> bool {
    let Some(segments) = plan.whole_counts(store) else {
        let mut reads = false;
        plan.for_each_count_backwards(store, |k, count| {
            nodes[k as usize].write(NodeState::new(count.len()));
            reads |= count.has_values_to_drop();
        });
        return reads;
    };
    let (mut reads, mut saturated) = (false, false);
    for (start, counts) in segments.clone().rev() {
        let records = &mut nodes[start as usize..][..counts.len()];
        for (record, &count) in records.iter_mut().zip(counts).rev() {
            let len = count.len_or_saturated();
            record.write(NodeState::new(u32::from(len)));
            reads |= count.has_values_to_drop();
            saturated |= count.whole().is_none();
        }
    }
    if saturated {
        for (start, counts) in segments {
            for (i, &count) in counts.iter().enumerate() {
                if count.whole().is_none() {
                    let k = start + i as u32;
                    nodes[k as usize].write(NodeState::new(store.whole_count(k, count).len()));
                }
            }
        }
    }
    reads
}

impl<'a> RunState<'a> {
    /// Step 2: counters (input counts, consumer counts) and empty slots for
    /// every node of `plan`: one pass writes every record (into memory not
    /// zeroed first), and a second over the input lists counts the reads,
    /// where some input's value has something to drop.
    pub(crate) fn new(store: &'a Store, plan: &'a Plan, cancelled: &'a AtomicBool) -> RunState<'a> {
        RunState {
            store,
            plan,
            nodes: {
                let mut reads = false;
                // SAFETY: `first_pass` writes every record.
                let mut nodes = unsafe {
                    PooledArray::<NodeState>::written(plan.len(), |nodes| {
                        reads = first_pass(plan, store, nodes);
                    })
                };
                if reads {
                    plan.for_each_count_backwards(store, |k, count| {
                        // Reads of values with nothing to drop are not counted
                        // (`release_inputs`).
                        if count.has_values_to_drop() {
                            for &input in plan.inputs(store, k) {
                                nodes[input as usize].add_read();
                            }
                        }
                    });
                }
                for &target in plan.targets() {
                    nodes[target as usize].add_read();
                }
                nodes
            },
            cancelled,
            failure: Mutex::new(None),
        }
    }

    pub(crate) fn plan(&self) -> &'a Plan {
        self.plan
    }

    pub(crate) fn store(&self) -> &'a Store {
        self.store
    }

    /// What running local node `k` reads, looked up once.
    #[inline]
    pub(crate) fn view(&self, k: u32) -> View<'a> {
        self.plan.view(self.store, k)
    }

    /// Local node `k`'s record in the store (`Plan::record`).
    #[inline(always)]
    pub(crate) fn record(&self, k: u32) -> &'a Node {
        self.plan.record(self.store, k)
    }

    /// `view` of local node `k`, whose record (`record`) is at hand.
    #[inline(always)]
    pub(crate) fn view_of(&self, k: u32, node: &'a Node) -> View<'a> {
        self.plan.view_of(self.store, k, node)
    }

    /// Starts bringing the run records of local nodes `k..k + 4` (a cache
    /// line of them) and their graph records into the cache, for those of
    /// them that exist.
    #[inline]
    pub(crate) fn prefetch_four(&self, k: u32) {
        if let Some(node) = self.nodes.get(k as usize) {
            prefetch(node);
        }
        // Four 32-byte graph records fill two lines (segments start on a
        // line, and `k` is a multiple of four): the first and third
        // records' lines.
        for k in [k, k + 2] {
            if k < self.plan.len() as u32 {
                self.prefetch(k);
            }
        }
    }

    /// Starts bringing what running local node `k` reads into the cache.
    #[inline]
    pub(crate) fn prefetch(&self, k: u32) {
        // A record lies in one cache line (its segment starts on one).
        prefetch(self.record(k));
    }

    /// Local node `k`'s run record.
    #[inline]
    pub(crate) fn node_state(&self, k: u32) -> &NodeState {
        &self.nodes[k as usize]
    }

    /// The local index of a run record of this run.
    #[inline]
    pub(crate) fn index_of(&self, node: &NodeState) -> u32 {
        ((std::ptr::from_ref(node) as usize - self.nodes.as_ptr() as usize)
            / size_of::<NodeState>()) as u32
    }

    /// Step 4: runs the task of local node `k`, whose inputs have all
    /// finished, and stores its output. Returns `false`, running nothing,
    /// when the run is cancelled, and `false` when the task fails (which
    /// cancels the run). `id`, `task` and `inputs` are `k`'s, from
    /// `view(k)`: looked up once per node, and inlined into the runner's
    /// loop (passing the view through memory to an outlined call cost 10-20%
    /// on chains and wavefronts).
    ///
    /// # Safety
    /// Every input of `k` has finished (its output is stored and visible to
    /// this thread), `k` has not released its inputs, and nobody else runs
    /// `k` in this run.
    #[inline(always)]
    pub(crate) unsafe fn run_task(&self, k: u32, id: u32, task: Task<'_>, inputs: &[u32]) -> bool {
        // Relaxed: cancellation is advisory; a task that starts just after
        // the failure is harmless, and the failure itself is published by
        // the mutex.
        if self.cancelled.load(Ordering::Relaxed) {
            return false;
        }
        // SAFETY: every input slot is full and stays so until `k` releases
        // its inputs (the caller's contract), after this call.
        let args = unsafe { Args::new(&self.nodes, inputs) };
        match catch_panic(|| task.call(args)) {
            Ok(Ok(value)) => {
                let node = &self.nodes[k as usize];
                // SAFETY: the slot is empty (a node runs once), and only
                // `k`'s runner (us) touches it until it decrements its
                // successors' counters (step 5).
                unsafe { node.slot().put(value) };
                node.mark_full();
                true
            }
            Ok(Err(error)) => {
                self.fail(Error::failed(self.store.name(id), id as usize, error));
                false
            }
            Err(message) => {
                self.fail(Error::panicked(self.store.name(id), id as usize, message));
                false
            }
        }
    }

    /// Stores `value` as local node `k`'s output: the value of an external
    /// node, received from another rank (`parallel::Remote::deliver`).
    ///
    /// # Safety
    /// `k`'s slot is empty and nobody else touches it until it is
    /// published (the job that counts `k`'s successors is pushed after
    /// this); `value` has `k`'s output type.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the multi-node layer
    pub(crate) unsafe fn put(&self, k: u32, value: Value) {
        let node = &self.nodes[k as usize];
        // SAFETY: the caller's contract.
        unsafe { node.slot().put(value) };
        node.mark_full();
    }

    /// Step 4b, for observers that export: hands local node `k`'s output
    /// (just stored by `run_task`) to `observer.export`, and drops it at once
    /// when nothing here reads it. `false` when the export failed, which
    /// fails `k` and cancels the run.
    pub(crate) fn export<O: Observer>(&self, k: u32, task: Task<'_>, observer: &O) -> bool {
        let node = &self.nodes[k as usize];
        match observer.export(k, node.slot()) {
            Ok(true) => true,
            Ok(false) => {
                if task.output_vtable().has_drop() {
                    node.mark_empty();
                    // SAFETY: `k`'s runner (the caller) owns the slot until it
                    // counts `k`'s successors, and nothing here reads it.
                    let value = unsafe { node.slot().take_value(task.output_vtable()) };
                    self.drop_value(k, value);
                }
                true
            }
            Err(why) => {
                let id = self.plan.node_id(k);
                self.fail(Error::failed(self.store.name(id), id as usize, why));
                false
            }
        }
    }

    /// Whether the run was cancelled (by a failure here, or `cancel`).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the multi-node layer
    pub(crate) fn is_cancelled(&self) -> bool {
        // Relaxed: as in `run_task`.
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Step 5b: counts `count` finished inputs of local node `successor`,
    /// all run by the calling thread; `true` when they were the last, so the
    /// node is ready and the caller must run it.
    #[inline]
    pub(crate) fn inputs_done(&self, successor: u32, count: u32) -> bool {
        self.nodes[successor as usize].inputs_done(count)
    }

    /// Step 5b: `inputs_done(successor, count)` after `pending(successor)`
    /// was seen above `count`.
    #[inline]
    pub(crate) fn subtract_inputs(&self, successor: u32, count: u32) -> bool {
        self.nodes[successor as usize].subtract_inputs(count)
    }

    /// Step 5b: the inputs of local node `k` not counted yet.
    #[inline]
    pub(crate) fn pending(&self, k: u32) -> u32 {
        self.nodes[k as usize].pending()
    }

    /// Step 6: local node `k` has finished reading its inputs; the last
    /// consumer of each input drops that input's output. An output with
    /// nothing to drop (a number, `()`) is left in its slot: no consumer
    /// counts its read or empties it, and the slots are freed with the state.
    /// `task`, `inputs` and `to_drop` are `k`'s, from `view(k)`; when
    /// `to_drop` is `false`, no input has anything to drop, so nothing is
    /// even looked at.
    #[inline]
    pub(crate) fn release_inputs(&self, task: Task<'_>, inputs: &[u32], to_drop: bool) {
        if to_drop {
            self.release(task, inputs);
        }
    }

    /// `release_inputs` for inputs that may have something to drop. Which
    /// ones, and how to drop them, `k`'s own closure says from its input
    /// types (`Task::input_vtable`): looking it up in each producer's record was
    /// a cache miss per input edge on scattered graphs.
    fn release(&self, task: Task<'_>, inputs: &[u32]) {
        for (j, &input) in inputs.iter().enumerate() {
            // The type of the `Delayed` the input was given as: its
            // producer's output type.
            let output = task.input_vtable(j);
            if !output.has_drop() {
                continue;
            }
            let node = &self.nodes[input as usize];
            // `read_done` orders our reads of the input before the drop
            // by the last consumer, whichever it is.
            if node.read_done() {
                // SAFETY: the slot holds the input's output, of the type
                // `output` is for (it ran before its consumers, and only its
                // last consumer, us, empties it); every consumer has
                // finished reading (the count is zero), and the targets'
                // extra count keeps their slots full.
                let value = unsafe { node.slot().take_value(output) };
                node.mark_empty();
                self.drop_value(input, value);
            }
        }
    }

    /// The vtable of local node `k`'s output type, from its closure.
    #[inline]
    fn output(&self, k: u32) -> &'static VTable {
        let store = self.store;
        store.task(store.node(self.plan.node_id(k))).output_vtable()
    }

    /// Drops `value`, the output of local node `k`, inside `catch_unwind`:
    /// a panicking drop is a failure of `k`.
    fn drop_value(&self, k: u32, value: Value) {
        if let Err(message) = catch_panic(|| drop(value)) {
            let id = self.plan.node_id(k);
            let message = format!("dropping its output panicked: {message}");
            self.fail(Error::panicked(self.store.name(id), id as usize, message));
        }
    }

    /// Cancels the run without a failure of its own: tasks not started yet
    /// never start (step 4's early exit).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // another rank failed
    pub(crate) fn cancel(&self) {
        // Relaxed: as in `run_task`, cancellation is advisory.
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Records `error` if it is the first, and cancels the run. A later
    /// error is dropped here, inside `catch_unwind` (after the lock is
    /// released): it holds the task's own error, whose `Drop` is user code
    /// and may panic, which must not unwind into the job.
    pub(crate) fn fail(&self, error: Error) {
        let later = {
            let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
            match *failure {
                None => {
                    *failure = Some(error);
                    None
                }
                Some(_) => Some(error),
            }
        };
        self.cancelled.store(true, Ordering::Relaxed);
        if let Some(later) = later {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(later))) {
                drop_quietly(payload);
            }
        }
    }

    /// Step 8: the first failure, an error if the run was cancelled from
    /// outside, or the targets' outputs in the order asked.
    /// The caller has waited for every job, so nothing else touches the run.
    /// After a failure, the outputs whose consumers never ran are still in
    /// their slots: dropping the state drops them (`Drop`).
    pub(crate) fn finish(mut self) -> Result<Vec<Value>, Error> {
        let failure = self.failure.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(error) = failure.take() {
            return Err(error);
        }
        // Relaxed: every job has finished (the caller waited), which
        // ordered every store before this load.
        if self.cancelled.load(Ordering::Relaxed) {
            // Cancelled from outside (`cancel`), without a failure: some
            // targets may never have run.
            return Err(Error::cancelled());
        }
        let nodes = std::mem::take(&mut self.nodes);
        let outputs = self.plan.targets().iter().map(|&target| {
            let node = &nodes[target as usize];
            assert!(
                node.is_full(),
                "delayed: internal error: a target has no output"
            );
            node.mark_empty();
            // SAFETY: every job has finished (the caller waited), so this
            // thread alone touches the slot, which holds the target's
            // output, of the type its closure returns.
            unsafe { node.slot().take_value(self.output(target)) }
        });
        let outputs = outputs.collect();
        // Every other output was dropped by its last consumer (step 6), or
        // has nothing to drop: free the slots without a pass over a million.
        debug_assert!((0..nodes.len() as u32)
            .all(|k| !nodes[k as usize].is_full() || !self.output(k).has_drop()));
        drop(nodes);
        Ok(outputs)
    }
}

impl Drop for RunState<'_> {
    /// Drops the outputs left in slots (after a failure; none after a
    /// success, whose `finish` took the slots), on the computing thread,
    /// each inside `catch_unwind` as step 6 does: a panicking drop must not
    /// turn the compute's `Err` into a panic (or, with two of them, an
    /// abort); the first failure is what is reported.
    fn drop(&mut self) {
        for (k, node) in self.nodes.iter().enumerate() {
            if !node.is_full() {
                continue;
            }
            let output = self.output(k as u32);
            if output.has_drop() {
                node.mark_empty();
                // SAFETY: every job has finished (`run` waited before the
                // state is dropped), so this thread alone touches the slot,
                // which holds `k`'s output.
                let value = unsafe { node.slot().take_value(output) };
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(value))) {
                    drop_quietly(payload);
                }
            }
        }
    }
}

/// The slot protocol end to end in the sync runner, which needs no
/// executor threads, so that Miri can check the unsafe code of `Slot`,
/// `NodeState` and this file: inline and boxed values, numbers (never
/// emptied) beside values with destructors (emptied by their last
/// consumer), targets moved out, and values left by a failure dropped by
/// the state's `Drop`.
#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    use super::RunState;
    use crate::run::plan::Plan;
    use crate::Graph;

    /// Step 2's first pass gives every node its number of inputs, across
    /// the column's segments (64, 128, ... nodes) and for counts too large
    /// for their byte (127 inputs or more), in whole and culled plans.
    #[test]
    fn the_first_pass_counts_every_nodes_inputs() {
        let g = Graph::new();
        let leaves: Vec<_> = (0..700u64).map(|i| g.delayed("leaf", move || i)).collect();
        let mut sinks = Vec::new();
        for n in [0, 1, 2, 126, 127, 128, 300, 700] {
            sinks.push(g.task("sum", &leaves[..n], |xs| xs.into_iter().sum::<u64>()));
        }
        let last = g.task("last", &sinks, |xs| xs.into_iter().sum::<u64>());
        let store = g.store();
        let cancelled = AtomicBool::new(false);
        let whole = Plan::new(store, &[last.key() as u32]);
        let culled = Plan::new(store, &[sinks[5].key() as u32]);
        for (plan, nodes) in [(&whole, 700 + 9), (&culled, 128 + 1)] {
            assert_eq!(plan.len(), nodes);
            let state = RunState::new(store, plan, &cancelled);
            for k in 0..plan.len() as u32 {
                let inputs = plan.inputs(store, k).len() as u32;
                assert_eq!(state.node_state(k).pending(), inputs, "node {k}");
            }
        }
    }

    #[test]
    fn values_of_every_kind_flow_and_are_dropped_once() {
        let marker = Arc::new(());
        let g = Graph::new();
        let text = g.delayed("text", || String::from("ab"));
        let two = g.delayed("two", || 2u64);
        let m = Arc::clone(&marker);
        let held = g.delayed("held", move || Arc::clone(&m));
        let joined = g.task("joined", (&text, &two), |(t, n)| format!("{t}{n}"));
        let three = g.task("three", &two, |n| n + 1);
        let count = g.task("count", (&joined, &three, &held), |(j, n, h)| {
            (j.len() as u64 + n) * Arc::strong_count(h) as u64
        });
        let both = crate::compute_sync((&joined, &count)).unwrap();
        // `held`'s closure keeps one count, its output another while `count`
        // reads it.
        assert_eq!(both, (String::from("ab2"), (3 + 3) * 3));
        drop(g);
        drop((text, two, held, joined, three, count));
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "`held`'s output was dropped once"
        );
    }

    #[test]
    fn values_left_by_a_failure_are_dropped_once() {
        let marker = Arc::new(());
        let g = Graph::new();
        let m = Arc::clone(&marker);
        let held = g.delayed("held", move || (Arc::clone(&m), [0u64; 3]));
        let number = g.delayed("number", || 1u64);
        let failing = g.try_task("fails", &number, |_| -> Result<u64, String> {
            Err("no".into())
        });
        let last = g.task("last", (&held, &failing), |(h, f)| h.1[0] + f);
        assert!(last.compute_sync().is_err());
        drop((g, held, number, failing, last));
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "`held`'s output was dropped once"
        );
    }
}
