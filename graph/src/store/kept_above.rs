//! Memory that a layer above the store keeps for reuse, freed by
//! [`release_memory`](crate::release_memory) with the segment pool.
//!
//! The multi-node layer keeps a dropped graph's per-task vectors for the
//! next graph (`mpi/kept_columns.rs`). `release_memory` belongs to the
//! public API, a layer below the multi-node one, so it cannot name them
//! (`src/README.md`): the multi-node layer registers how to free them
//! here, in the lowest layer, when MPI is initialised.

use std::sync::OnceLock;

/// Frees what the layer above keeps; the bytes freed. Set once per process.
static RELEASE: OnceLock<fn() -> usize> = OnceLock::new();

/// Registers `release` as the way to free what a layer above keeps. A
/// second registration is ignored: the one layer that keeps memory
/// registers once per process.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the multi-node layer
pub(crate) fn register(release: fn() -> usize) {
    _ = RELEASE.set(release);
}

/// Frees what the registered layer keeps, if one registered; the bytes
/// freed.
pub(crate) fn release() -> usize {
    RELEASE.get().map_or(0, |release| release())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registered_release_runs_and_its_bytes_are_counted() {
        fn kept() -> usize {
            24
        }
        register(kept);
        assert_eq!(release(), 24);
        // A second registration is ignored.
        register(|| 0);
        assert_eq!(release(), 24);
    }
}
