//! `RunState`: the per-node counters and output slots of one compute, and
//! the steps of running one node, shared by the parallel and the sync runner.
//!
//! The numbered steps referred to here are those of `README.md`.

use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use super::plan::{Plan, Successors};
use super::zeroed::{zeroed, Zeroable};
use crate::args::Args;
use crate::error::{panic_message, Error};
use crate::store::Store;
use crate::value::{Slot, Value};

pub(crate) struct RunState<'a> {
    store: &'a Store,
    plan: &'a Plan,
    /// Per local node, side by side so that one cache line serves both.
    counters: Box<[Counters]>,
    /// Per local node: its output, from its task's return until its last
    /// consumer has finished.
    slots: Box<[Slot]>,
    /// Set by the first failure: tasks not started yet are skipped.
    cancelled: AtomicBool,
    /// The first failure.
    failure: Mutex<Option<Error>>,
}

/// Both counters start at zero, so the array comes from zeroed memory
/// (then `inputs` is filled in).
struct Counters {
    /// Inputs (edges) finished so far: the node is ready when this reaches
    /// its number of inputs.
    done: AtomicU32,
    /// Number of inputs (edges), copied from the plan when the run starts:
    /// `input_done` reads it beside `done`, on the same cache line, instead
    /// of the node's input list (a cache miss per edge on trees and random
    /// DAGs, whose consumers lie far from their producers). Written before
    /// the first job is pushed, read-only afterwards.
    inputs: u32,
    /// Reads of the output still to come: set before the first job is pushed
    /// (one per out-edge in this run, plus one if the node is a target: the
    /// caller's read at the end), then counted down by the consumers.
    consumers: AtomicU32,
}

// SAFETY: atomic and plain integers, for which zero is valid.
unsafe impl Zeroable for Counters {}

/// Counts one more of `total` parties done on `counter` (counting up from
/// zero) and says whether it was the last. Each party counts once, so a
/// count already at `total - 1`, seen with Acquire (which pairs with the
/// other parties' Release), means every other party is done: the last one
/// needs no read-modify-write, which saves an atomic instruction per node on
/// chains and trees (one input each).
#[inline]
fn count_up(counter: &AtomicU32, total: u32) -> bool {
    // Acquire pairs with the AcqRel increments of the other parties.
    // AcqRel: the Release publishes what this party did before; the Acquire
    // of the last increment sees what every other party did.
    counter.load(Ordering::Acquire) == total - 1
        || counter.fetch_add(1, Ordering::AcqRel) == total - 1
}

/// Counts one party done on `counter` (counting down to zero, as `count_up`
/// counts up) and says whether it was the last.
#[inline]
fn count_down(counter: &AtomicU32) -> bool {
    // Orderings as in `count_up`.
    counter.load(Ordering::Acquire) == 1 || counter.fetch_sub(1, Ordering::AcqRel) == 1
}

impl<'a> RunState<'a> {
    /// Step 2: counters (input counts, consumer counts) and empty slots for
    /// every node of `plan`, in one pass over the input lists.
    pub(crate) fn new(store: &'a Store, plan: &'a Plan) -> RunState<'a> {
        RunState {
            store,
            plan,
            counters: {
                let mut counters: Box<[Counters]> = zeroed(plan.len());
                for k in 0..plan.len() as u32 {
                    let inputs = plan.inputs(store, k);
                    counters[k as usize].inputs = inputs.len() as u32;
                    for &input in inputs {
                        *counters[input as usize].consumers.get_mut() += 1;
                    }
                }
                for &target in plan.targets() {
                    *counters[target as usize].consumers.get_mut() += 1;
                }
                counters
            },
            slots: zeroed(plan.len()),
            cancelled: AtomicBool::new(false),
            failure: Mutex::new(None),
        }
    }

    pub(crate) fn plan(&self) -> &'a Plan {
        self.plan
    }

    pub(crate) fn store(&self) -> &'a Store {
        self.store
    }

    /// Consumers of local node `k` in this run, once per edge.
    #[inline]
    pub(crate) fn successors(&self, k: u32) -> Successors<'a> {
        self.plan.successors(self.store, k)
    }

    /// Step 4: runs the task of local node `k`, whose inputs have all
    /// finished, and stores its output. Returns `false`, running nothing,
    /// when the run is cancelled, and `false` when the task fails (which
    /// cancels the run).
    ///
    /// # Safety
    /// Every input of `k` has finished (its output is stored and visible to
    /// this thread), `k` has not released its inputs, and nobody else runs
    /// `k` in this run.
    pub(crate) unsafe fn execute(&self, k: u32) -> bool {
        // Relaxed: cancellation is advisory; a task that starts just after
        // the failure is harmless, and the failure itself is published by
        // the mutex.
        if self.cancelled.load(Ordering::Relaxed) {
            return false;
        }
        let id = self.plan.node_id(k);
        let task = self.store.task(id);
        // SAFETY: every input slot is full and stays so until `k` releases
        // its inputs (the caller's contract), after this call.
        let args = unsafe { Args::new(&self.slots, self.plan.inputs(self.store, k)) };
        match catch_unwind(AssertUnwindSafe(|| task(args))) {
            Ok(Ok(value)) => {
                // SAFETY: only `k`'s runner (us) touches `k`'s slot until it
                // decrements its successors' counters (step 5).
                unsafe { self.slots[k as usize].put(value) };
                true
            }
            Ok(Err(error)) => {
                self.fail(Error::failed(self.store.name(id), id as usize, error));
                false
            }
            Err(payload) => {
                let message = panic_message(&*payload);
                drop_quietly(payload);
                self.fail(Error::panicked(self.store.name(id), id as usize, message));
                false
            }
        }
    }

    /// Step 5b: counts one finished input of local node `successor`; `true`
    /// when that was the last, so the node is ready and the caller must run it.
    #[inline]
    pub(crate) fn input_done(&self, successor: u32) -> bool {
        let counters = &self.counters[successor as usize];
        // Our output is published by the Release of `count_up`; whoever
        // counts the last input sees every input's.
        count_up(&counters.done, counters.inputs)
    }

    /// Step 6: local node `k` has finished reading its inputs; the last
    /// consumer of each input drops that input's output.
    pub(crate) fn release_inputs(&self, k: u32) {
        for &input in self.plan.inputs(self.store, k) {
            // `count_down` orders our reads of the input before the drop by
            // the last consumer, whichever it is.
            if count_down(&self.counters[input as usize].consumers) {
                // SAFETY: every consumer has finished reading (the count is
                // zero), the producer finished before any of them started,
                // and the targets' extra count keeps their slots full.
                let value = unsafe { self.slots[input as usize].take() };
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(value))) {
                    let id = self.plan.node_id(input);
                    let message =
                        format!("dropping its output panicked: {}", panic_message(&*payload));
                    drop_quietly(payload);
                    self.fail(Error::panicked(self.store.name(id), id as usize, message));
                }
            }
        }
    }

    /// Records `error` if it is the first, and cancels the run.
    fn fail(&self, error: Error) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if failure.is_none() {
            *failure = Some(error);
        }
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Step 8: the first failure, or the targets' outputs in the order asked.
    /// The caller has waited for every job, so nothing else touches the run.
    pub(crate) fn finish(mut self) -> Result<Vec<Value>, Error> {
        let failure = self.failure.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(error) = failure.take() {
            // Outputs whose consumers never ran are still in their slots.
            // Drop each under `catch_unwind`, as step 6 does: a panicking
            // drop must not turn the compute's `Err` into a panic (or, with
            // two of them, an abort); the first failure is what is reported.
            for slot in self.slots.iter() {
                // SAFETY: every job has finished (the caller waited), so
                // this thread alone touches the slots.
                if let Some(value) = unsafe { slot.take() } {
                    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(value))) {
                        drop_quietly(payload);
                    }
                }
            }
            return Err(error);
        }
        let mut slots = std::mem::take(&mut self.slots);
        let outputs = self.plan.targets().iter().map(|&target| {
            // SAFETY: every job has finished (the caller waited), so this
            // thread alone touches the slots.
            unsafe { slots[target as usize].take() }
                .expect("delayed: internal error: a target has no output")
        });
        let outputs = outputs.collect();
        // Every other output was dropped by its last consumer (step 6), so
        // the slots are empty: free them without a pass over a million.
        debug_assert!(slots.iter_mut().all(Slot::is_empty));
        let slots = Box::into_raw(slots) as *mut [ManuallyDrop<Slot>];
        // SAFETY: `ManuallyDrop<Slot>` has the layout of `Slot`, and the
        // pointer comes from `Box::into_raw`; nothing in the slots needs a drop.
        drop(unsafe { Box::from_raw(slots) });
        Ok(outputs)
    }
}

/// Drops a panic payload, whose own drop might panic again (as std does).
fn drop_quietly(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(again);
    }
}
