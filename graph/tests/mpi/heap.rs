//! The `kept_heap` case: after `Cluster::init`, memory a rank frees stays
//! in its heap for the next graph (`graph/src/mpi/heap.rs`).

use crate::cases::{ensure, Outcome};

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
