//! The memory cases: after `Cluster::init`, memory a rank frees stays in
//! its heap for the next graph (`kept_heap`, `graph/src/mpi/heap.rs`); a
//! dropped graph's per-task vectors wait for the next graph, and
//! `delayed::release_memory` frees them (`kept_columns`,
//! `graph/src/mpi/kept_columns.rs`).

use delayed::mpi::Cluster;

use crate::cases::{ensure, Outcome};

/// Tasks of the `kept_columns` case: more than the 2^18 entries that were
/// the most kept before.
const KEPT_TASKS: u64 = 300_000;

/// Builds a chain of `KEPT_TASKS` tasks with `Cluster::graph` and, in the
/// same shape, with `delayed::Graph`, dropping each, and checks that
/// `release_memory` frees the multi-node graph's per-task vectors (an entry
/// and a hash, 24 bytes a task) beyond what the one-node graph of the same
/// tasks leaves, and then nothing more.
pub(crate) fn kept_columns(cluster: &Cluster) -> Outcome {
    delayed::release_memory();
    let g = cluster.graph();
    let mut x = g.delayed("zero", || 0u64);
    for _ in 1..KEPT_TASKS {
        x = g.task("inc", &x, |v: &u64| v + 1);
    }
    drop((x, g));
    let multi = delayed::release_memory();
    let g = delayed::Graph::new();
    let mut x = g.delayed("zero", || 0u64);
    for _ in 1..KEPT_TASKS {
        x = g.task("inc", &x, |v: &u64| v + 1);
    }
    drop((x, g));
    let one = delayed::release_memory();
    let columns = KEPT_TASKS as usize * 24;
    ensure(multi >= one + columns, || {
        format!(
            "a dropped multi-node graph of {KEPT_TASKS} tasks left {multi} bytes to free, one \
             node's {one}: its {columns} bytes of entries and hashes were not kept"
        )
    })?;
    let again = delayed::release_memory();
    ensure(again == 0, || {
        format!("release_memory freed {again} more bytes the second time")
    })
}

/// Frees 8 MiB of small blocks and a 2 MiB one, and checks with glibc's
/// `mallinfo2` that the heap kept the small ones' memory (glibc's default
/// gives back all but 128 KiB of it) and that the large one came from the
/// heap, not a mapping of its own. With `DELAYED_MPI_KEEP_HEAP=0` or a
/// `MALLOC_*_` setting in the job, glibc's policy is the user's: nothing to
/// check.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn kept_heap() -> Outcome {
    let user_set = std::env::var(delayed::mpi::KEEP_HEAP_ENV).is_ok_and(|v| v.trim() == "0")
        || std::env::vars().any(|(name, value)| {
            (name.starts_with("MALLOC_") && name.ends_with('_'))
                || (name == "GLIBC_TUNABLES" && value.contains("glibc.malloc."))
        });
    if user_set {
        return Ok(());
    }
    // SAFETY: `mallinfo2` only reads the main arena's statistics.
    let mapped_before = unsafe { libc::mallinfo2() }.hblkhd;
    let large = vec![1u8; 2 << 20];
    // SAFETY: as above.
    let mapped_with_large = unsafe { libc::mallinfo2() }.hblkhd;
    drop(std::hint::black_box(large));
    let small: Vec<Box<[u8; 2048]>> = (0..4096).map(|_| Box::new([1u8; 2048])).collect();
    // Freed newest first, so that they merge into the top of the heap.
    for block in small.into_iter().rev() {
        drop(std::hint::black_box(block));
    }
    // SAFETY: as above.
    let kept = unsafe { libc::mallinfo2() }.keepcost;
    ensure(mapped_with_large == mapped_before, || {
        format!("a 2 MiB block was mapped apart: {mapped_before} -> {mapped_with_large} bytes")
    })?;
    ensure(kept >= 4 << 20, || {
        format!("8 MiB freed, but the heap's top keeps only {kept} bytes")
    })
}

/// Not glibc: nothing is set, nothing to check.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn kept_heap() -> Outcome {
    Ok(())
}
