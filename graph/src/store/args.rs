//! How a running task sees its inputs: output `Slot`s and the `Args` view.
//!
//! A run keeps one `Slot` per node for that node's output. The runner writes a
//! slot once, when its task returns, and reads or empties it only as the run
//! protocol allows (`run/README.md`). A task's closure never sees slots: it
//! gets `Args`, a view of its input slots that hands out `&A` for the
//! duration of the call.

use super::node_state::NodeState;

/// The error a `try_task` closure returns, boxed.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The input values of one running task: its input ids (as indices into the
/// run's slots), in the order they were given to `Graph::task`.
///
/// Made only by the runner, handed to a node's closure, which turns it into
/// the argument its user closure expects (`Shape::refs`).
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Args<'a> {
    nodes: &'a [NodeState],
    inputs: &'a [u32],
}

impl<'a> Args<'a> {
    /// # Safety
    /// Every slot named in `inputs` is full, and stays full and unwritten for `'a`.
    pub(crate) unsafe fn new(nodes: &'a [NodeState], inputs: &'a [u32]) -> Args<'a> {
        Args { nodes, inputs }
    }

    pub(crate) fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Input `k`, as an `A`.
    ///
    /// # Safety
    /// Input `k` has type `A`: the task was built from a `Delayed<A>` in
    /// that place (`Inputs::input_ids` takes the ids from the handles, and a
    /// `Delayed<A>` names a node whose closure returns an `A`). Slots do not
    /// keep their type (`Slot`), so this is not checked.
    ///
    /// # Panics
    /// If `k` is out of range (an internal error).
    #[inline]
    pub(crate) unsafe fn get<A: Send + Sync + 'static>(&self, k: usize) -> &'a A {
        let slot = self.nodes[self.inputs[k] as usize].slot();
        // SAFETY: the slot is full and unwritten for 'a (`Args::new`), and
        // holds an `A` (the caller's contract).
        unsafe { slot.get::<A>() }
    }
}
