//! `release_memory`: giving back what dropped graphs left for reuse.

/// Frees the memory that dropped graphs left for the next ones to reuse,
/// and returns how many bytes that was.
///
/// A graph's large blocks (its node records and their columns, in blocks
/// of 64 KiB and more) are not returned to the allocator when the graph is
/// dropped: up to 64 MiB of them per process wait for the next graph, so
/// that a program building graph after graph (a time-step loop) reuses
/// pages it already has instead of faulting in fresh ones from the kernel
/// (on the development machine, a 2^20-node chain then builds in 29 ns per
/// node instead of 47). A compute's per-node state (16 bytes a node) waits
/// there too, for the next compute. With the `mpi` feature, so do the
/// per-task vectors of a dropped `delayed::mpi::Graph` (24 bytes a task, up
/// to 64 MiB). Call this when no more graphs will be built or computed
/// soon, or before measuring memory.
///
/// ```
/// let g = delayed::Graph::new();
/// let mut x = g.delayed("zero", || 0u64);
/// for _ in 0..100_000 {
///     x = g.task("inc", &x, |v| v + 1);
/// }
/// drop((x, g));
/// // The chain's large blocks were kept for the next graph; freed here.
/// assert!(delayed::release_memory() > 0);
/// assert_eq!(delayed::release_memory(), 0, "nothing left to give back");
/// ```
pub fn release_memory() -> usize {
    crate::store::release_segments() + crate::store::release_kept_above()
}
