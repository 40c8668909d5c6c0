//! What one job of the parallel runner keeps to itself while it runs
//! (`parallel.rs`): the ready successors it holds back on a one-worker
//! executor, and the inputs of a shared node it ran but has not counted.

/// Ready successors a job keeps to itself on a one-worker executor, on the
/// stack (more go to the deque).
const KEPT: usize = 64;

/// The ready successors a job keeps to itself (`Parallel::run_from`).
pub(super) struct Kept {
    ids: [u32; KEPT],
    len: usize,
}

impl Kept {
    pub(super) fn new() -> Kept {
        Kept {
            ids: [0; KEPT],
            len: 0,
        }
    }

    /// Keeps `k`; `false` when full.
    #[inline]
    pub(super) fn push(&mut self, k: u32) -> bool {
        if self.len == KEPT {
            return false;
        }
        self.ids[self.len] = k;
        self.len += 1;
        true
    }

    /// The newest kept node.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<u32> {
        self.len = self.len.checked_sub(1)?;
        Some(self.ids[self.len])
    }
}

/// Inputs of one shared node that this job ran and has not counted yet
/// (`Parallel::count_input_or_hand_on`).
pub(super) struct Deferred {
    pub(super) node: u32,
    pub(super) count: u32,
}

impl Deferred {
    pub(super) const EMPTY: Deferred = Deferred { node: 0, count: 0 };
}
