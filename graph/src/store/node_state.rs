//! `NodeState`: everything one run keeps for one node, in one 16-byte
//! record: the counters of steps 2, 5 and 6 (`README.md`) and the output
//! slot, four records to a cache line.
//!
//! Side by side because they are touched together. Counting a successor's
//! input (`done`) brings in the line its runner then writes its output to;
//! releasing an input (`reads`) touches the line a consumer read that
//! input from. Separate arrays cost a cache miss each on trees and random
//! DAGs, whose consumers lie far from their producers.

use std::sync::atomic::{AtomicU32, Ordering};

use super::value::Slot;

/// One node's state in one run, made by step 2 (`NodeState::new`, then
/// `add_read` per read to come).
pub(crate) struct NodeState {
    /// Inputs (edges) not finished yet: set before the first job is pushed
    /// (the number of input edges), then counted down by the inputs' runners;
    /// the node is ready when it reaches zero. Nobody counts it after that,
    /// so it then says whether the slot is full: `FULL` from the task's
    /// return until the value is taken, zero again afterwards (written by
    /// whoever owns the slot at that moment).
    pending: AtomicU32,
    /// Reads of the output still to come: set before the first job is pushed
    /// (one per out-edge in this run, plus one if the node is a target: the
    /// caller's read at the end), then counted down by the consumers.
    reads: AtomicU32,
    /// The node's output, from its task's return until its last consumer
    /// has finished (or, with nothing to drop, until the run's end).
    slot: Slot,
}

/// `NodeState::pending` of a node whose slot holds its output: above any
/// input count (a task takes fewer than 2^31 inputs).
const FULL: u32 = u32::MAX;

impl NodeState {
    /// Step 2: the state before the run starts of a node with `inputs`
    /// input edges: no read counted yet, an empty slot.
    #[inline]
    pub(crate) fn new(inputs: u32) -> NodeState {
        NodeState {
            pending: AtomicU32::new(inputs),
            reads: AtomicU32::new(0),
            slot: Slot::empty(),
        }
    }

    /// Step 2: one more read of the output to come (before the run starts).
    #[inline]
    pub(crate) fn add_read(&mut self) {
        *self.reads.get_mut() += 1;
    }

    /// Step 5: counts `count` finished inputs, all run by the calling
    /// thread; `true` when they were the last, so the node is ready and the
    /// caller must run it.
    #[inline]
    pub(crate) fn inputs_done(&self, count: u32) -> bool {
        // The Release publishes the outputs of all `count` producers, which
        // this thread ran; whoever counts the last input sees every input's.
        count_down(&self.pending, count)
    }

    /// Step 5: `inputs_done(count)` for a caller that has just looked at
    /// `pending()` and seen more than `count`: only the subtraction is left.
    #[inline]
    pub(crate) fn subtract_inputs(&self, count: u32) -> bool {
        subtract(&self.pending, count)
    }

    /// Step 5: inputs not counted yet (Acquire, as `count_down`'s load).
    /// One means that the caller's input is the last.
    #[inline]
    pub(crate) fn pending(&self) -> u32 {
        self.pending.load(Ordering::Acquire)
    }

    /// Step 6: counts one consumer done reading; `true` when it was the
    /// last, so the caller must empty the slot.
    #[inline]
    pub(crate) fn read_done(&self) -> bool {
        // The Release orders this consumer's reads before the drop; the last
        // one's Acquire sees all reads done.
        count_down(&self.reads, 1)
    }

    /// The output slot.
    #[inline]
    pub(crate) fn slot(&self) -> &Slot {
        &self.slot
    }

    /// Step 4: the slot was just filled by the node's runner.
    #[inline]
    pub(crate) fn mark_full(&self) {
        // Relaxed: read only by whoever later owns the slot (the computing
        // thread after every job ended, step 8), which the run orders after
        // this write; nobody counts `pending` once the node is ready.
        self.pending.store(FULL, Ordering::Relaxed);
    }

    /// Step 6: the slot was just emptied by the node's last consumer.
    #[inline]
    pub(crate) fn mark_empty(&self) {
        // Relaxed: as in `mark_full`; the last consumer owns the slot.
        self.pending.store(0, Ordering::Relaxed);
    }

    /// Whether the slot holds the node's output. Asked only by whoever owns
    /// the slot (the computing thread once every job ended, step 8).
    pub(crate) fn is_full(&self) -> bool {
        // Relaxed: as in `mark_full`.
        self.pending.load(Ordering::Relaxed) == FULL
    }
}

/// Counts `parties` parties done on `counter`, which holds the number of
/// parties not done yet, and says whether they were the last. Each party
/// counts once, so a count already at `parties`, seen with Acquire (which
/// pairs with the other parties' Release), means every other party is done:
/// the last ones need no read-modify-write, which saves an atomic
/// instruction per node on chains and trees (one input, one consumer each).
#[inline]
fn count_down(counter: &AtomicU32, parties: u32) -> bool {
    // Acquire pairs with the AcqRel decrements of the other parties.
    counter.load(Ordering::Acquire) == parties || subtract(counter, parties)
}

/// `count_down` without the look first.
#[inline]
fn subtract(counter: &AtomicU32, parties: u32) -> bool {
    // AcqRel: the Release publishes what these parties did before; the
    // Acquire of the last decrement sees what every other party did.
    counter.fetch_sub(parties, Ordering::AcqRel) == parties
}

// Two counters and a one-word slot: 16 bytes, four to a cache line.
const _: () = assert!(size_of::<NodeState>() == 16);
