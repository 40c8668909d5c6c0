//! `KeptColumns`: the multi-node layer's per-node vectors of a dropped
//! graph (its entries and its tasks' hashes), kept for the process's next
//! graph to fill.
//!
//! They are plain vectors, which a graph grew from empty by doubling: a
//! program that builds a graph per step (an iterative solver, Task Bench's
//! runs) paid the `realloc`s and their copies on every graph. For Task
//! Bench's tree on 4 ranks (4000 tasks), that was about 70 of the 406
//! instructions per task of a rank's build and drop (`callgrind`, 20
//! builds). The store's own columns grow in segments, without copying
//! (`store/append_vec.rs`), and reuse their large ones
//! (`store/segment_pool.rs`).
//!
//! Vectors are kept up to `MAX_KEPT_BYTES` together, the budget of the
//! store's pool: a graph of a million tasks (24 MiB of entries and hashes)
//! is kept too. Up to 2^18 entries only, as before, a rank rebuilding a
//! chain of 2^20 tasks took 49-50 ns per task, against 22-37 with them
//! kept (a scratch loop on one rank, median of 10 builds, 3 alternated
//! rounds): freed, the next graph's vectors grew again from the heap, each
//! doubling a copy into pages the kernel had to fault in. Like the store's
//! pool, they are one per process (a process initialises MPI once), and
//! [`release_memory`](crate::release_memory) frees them (`Cluster::init`
//! registers `release` with the store layer, `store/kept_above.rs`).
//!
//! A process's first graph still grows them from empty. Asking for huge
//! pages for them as they grew (`MADV_HUGEPAGE`, as the store's fresh
//! segments do) made that first build slower, not faster: a chain of 2^20
//! tasks, median of 8 alternated fresh processes, 44.0 -> 54.6 ns per task,
//! Task Bench's tree at 2^20 38.3 -> 46.2 (2026-12-08).

use std::sync::Mutex;

use super::graph::NodeMeta;

/// The most bytes a kept pair of vectors may have room for: 64 MiB, the
/// store's pool's budget (`store/segment_pool.rs`), about 2.8 million
/// tasks' entries and hashes. Larger ones are freed: a graph that large
/// regrows them at a cost small beside its build.
const MAX_KEPT_BYTES: usize = 64 << 20;

/// The vectors the process's dropped graphs left: one pair, the largest.
static PROCESS: KeptColumns = KeptColumns::new();

/// The vectors of the last graph dropped, if kept.
pub(crate) struct KeptColumns {
    kept: Mutex<Option<(Vec<NodeMeta>, Vec<u64>)>>,
}

/// The bytes a pair of vectors has room for.
fn room(metas: &Vec<NodeMeta>, hashes: &Vec<u64>) -> usize {
    metas.capacity() * size_of::<NodeMeta>() + hashes.capacity() * size_of::<u64>()
}

/// Frees the vectors the process's dropped graphs left; the bytes freed.
pub(crate) fn release() -> usize {
    PROCESS.release()
}

impl KeptColumns {
    /// Nothing kept yet.
    pub(crate) const fn new() -> KeptColumns {
        KeptColumns {
            kept: Mutex::new(None),
        }
    }

    /// The process's kept vectors, which every graph of every `Cluster`
    /// handle shares.
    pub(crate) fn process() -> &'static KeptColumns {
        &PROCESS
    }

    /// Empty vectors for a new graph's entries and hashes: the kept ones,
    /// else new ones.
    pub(crate) fn take(&self) -> (Vec<NodeMeta>, Vec<u64>) {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner()).take();
        kept.unwrap_or_default()
    }

    /// Keeps a dropped graph's vectors, emptied, for the next `take`,
    /// unless they have room for more than `MAX_KEPT_BYTES`, or a pair at
    /// least as large is kept.
    pub(crate) fn give(&self, mut metas: Vec<NodeMeta>, mut hashes: Vec<u64>) {
        if room(&metas, &hashes) > MAX_KEPT_BYTES {
            return;
        }
        metas.clear();
        hashes.clear();
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let larger = match &*kept {
            Some((m, h)) => room(m, h) < room(&metas, &hashes),
            None => true,
        };
        if larger {
            *kept = Some((metas, hashes));
        }
    }

    /// Frees what is kept; the bytes freed.
    fn release(&self) -> usize {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner()).take();
        kept.map_or(0, |(metas, hashes)| room(&metas, &hashes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpi::codec::codec_of;

    fn meta() -> NodeMeta {
        NodeMeta {
            codec: codec_of::<u64>(),
            rank: None,
        }
    }

    #[test]
    fn a_dropped_graphs_vectors_come_back_empty_with_their_room() {
        let columns = KeptColumns::new();
        let (mut metas, mut hashes) = columns.take();
        assert_eq!(
            (metas.capacity(), hashes.capacity()),
            (0, 0),
            "nothing kept yet"
        );
        metas.extend((0..100).map(|_| meta()));
        hashes.extend(0..100);
        let at = (metas.as_ptr(), hashes.as_ptr());
        columns.give(metas, hashes);
        let (metas, hashes) = columns.take();
        assert_eq!((metas.as_ptr(), hashes.as_ptr()), at, "the same vectors");
        assert!(metas.is_empty() && hashes.is_empty());
        assert!(metas.capacity() >= 100 && hashes.capacity() >= 100);
        assert_eq!(columns.take().0.capacity(), 0, "taken once");
    }

    #[test]
    fn the_larger_pair_is_kept_and_huge_ones_are_freed() {
        let columns = KeptColumns::new();
        columns.give(Vec::with_capacity(50), Vec::with_capacity(50));
        columns.give(Vec::with_capacity(10), Vec::with_capacity(10));
        assert_eq!(
            columns.take().0.capacity(),
            50,
            "the smaller pair was not kept"
        );
        // Room for a million tasks is kept; beyond the budget, not.
        columns.give(Vec::with_capacity(1 << 20), Vec::with_capacity(1 << 20));
        assert_eq!(columns.take().0.capacity(), 1 << 20, "a million kept");
        let over = MAX_KEPT_BYTES / size_of::<NodeMeta>() + 1;
        columns.give(Vec::with_capacity(over), Vec::new());
        assert_eq!(columns.take().0.capacity(), 0, "too large to keep");
    }

    #[test]
    fn release_frees_what_is_kept_and_says_how_much() {
        let columns = KeptColumns::new();
        assert_eq!(columns.release(), 0, "nothing kept");
        columns.give(Vec::with_capacity(100), Vec::with_capacity(50));
        assert_eq!(
            columns.release(),
            100 * size_of::<NodeMeta>() + 50 * size_of::<u64>()
        );
        assert_eq!(columns.take().0.capacity(), 0, "freed, not kept");
    }
}
