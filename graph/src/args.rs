//! How a running task sees its inputs: output `Slot`s and the `Args` view.
//!
//! A run keeps one `Slot` per node for that node's output. The runner writes a
//! slot once, when its task returns, and reads or empties it only as the run
//! protocol allows (`run/README.md`). A task's closure never sees slots: it
//! gets `Args`, a view of its input slots that hands out `&A` for the
//! duration of the call.

use std::cell::UnsafeCell;

use crate::value::Value;

/// The error a `try_task` closure returns, boxed.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A node's closure with its types erased: reads its inputs from `Args`,
/// returns its output.
pub(crate) type TaskFn = Box<dyn Fn(Args<'_>) -> Result<Value, BoxError> + Send + Sync>;

/// One node's output during a run.
pub(crate) struct Slot(UnsafeCell<Option<Value>>);

// SAFETY: the run protocol orders every access: one write (before the
// producer's Release decrement of its successors' counters), shared reads
// (after a consumer's Acquire decrement made it ready), one removal (by the
// last consumer, after the AcqRel decrement of the consumer count, or by the
// owner of the run after every job has finished). `Value` is `Send + Sync`.
unsafe impl Sync for Slot {}

impl Slot {
    pub(crate) fn empty() -> Slot {
        Slot(UnsafeCell::new(None))
    }

    /// Stores the output.
    ///
    /// # Safety
    /// No other thread accesses this slot during the call.
    pub(crate) unsafe fn put(&self, value: Value) {
        // SAFETY: exclusive access, by the caller's contract.
        unsafe { *self.0.get() = Some(value) }
    }

    /// Removes the output, if any.
    ///
    /// # Safety
    /// No other thread accesses this slot during the call, and no reference
    /// from `get` is alive.
    pub(crate) unsafe fn take(&self) -> Option<Value> {
        // SAFETY: exclusive access, by the caller's contract.
        unsafe { (*self.0.get()).take() }
    }

    /// The output.
    ///
    /// # Safety
    /// The slot is full, and nobody calls `put` or `take` while the returned
    /// reference is alive.
    unsafe fn get(&self) -> &Value {
        // SAFETY: no writer while the reference lives, by the caller's contract.
        let value = unsafe { &*self.0.get() };
        value
            .as_ref()
            .expect("delayed: internal error: a task read an empty slot")
    }
}

/// The input values of one running task: its input ids (as indices into the
/// run's slots), in the order they were given to `Graph::task`.
///
/// Made only by the runner, handed to a node's closure, which turns it into
/// the argument its user closure expects (`Shape::refs`).
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Args<'a> {
    slots: &'a [Slot],
    inputs: &'a [u32],
}

impl<'a> Args<'a> {
    /// # Safety
    /// Every slot named in `inputs` is full, and stays full and unwritten for `'a`.
    pub(crate) unsafe fn new(slots: &'a [Slot], inputs: &'a [u32]) -> Args<'a> {
        Args { slots, inputs }
    }

    pub(crate) fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Input `k`, which has type `A` (the `Delayed<A>` it was built from).
    ///
    /// # Panics
    /// If `k` is out of range (an internal error).
    pub(crate) fn get<A: 'static>(&self, k: usize) -> &'a A {
        let slot = &self.slots[self.inputs[k] as usize];
        // SAFETY: the slot is full and unwritten for 'a (`Args::new`).
        unsafe { slot.get() }.get::<A>()
    }
}
