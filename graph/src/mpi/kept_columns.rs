//! `KeptColumns`: the multi-node layer's per-node vectors of a dropped
//! graph (its entries and its tasks' hashes), kept by its cluster for the
//! next graph to fill.
//!
//! They are plain vectors, which a graph grew from empty by doubling: a
//! program that builds a graph per step (an iterative solver, Task Bench's
//! runs) paid the `realloc`s and their copies on every graph. For Task
//! Bench's tree on 4 ranks (4000 tasks), that was about 70 of the 406
//! instructions per task of a rank's build and drop (`callgrind`, 20
//! builds). The store's own columns grow in segments, without copying
//! (`store/append_vec.rs`), and reuse their large ones
//! (`store/segment_pool.rs`).

use std::sync::Mutex;

use super::graph::NodeMeta;

/// The most entries a kept pair of vectors may have room for: 4 MiB of
/// entries and 2 MiB of hashes. Larger ones are freed: a graph that large
/// regrows them at a cost small beside its build.
const MAX_KEPT: usize = 1 << 18;

/// The vectors of the last graph dropped, if kept.
pub(crate) struct KeptColumns {
    kept: Mutex<Option<(Vec<NodeMeta>, Vec<u64>)>>,
}

impl KeptColumns {
    /// Nothing kept yet.
    pub(crate) const fn new() -> KeptColumns {
        KeptColumns {
            kept: Mutex::new(None),
        }
    }

    /// Empty vectors for a new graph's entries and hashes: the kept ones,
    /// else new ones.
    pub(crate) fn take(&self) -> (Vec<NodeMeta>, Vec<u64>) {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner()).take();
        kept.unwrap_or_default()
    }

    /// Keeps a dropped graph's vectors, emptied, for the next `take`,
    /// unless they have room for more than `MAX_KEPT` entries, or a pair
    /// at least as large is kept.
    pub(crate) fn give(&self, mut metas: Vec<NodeMeta>, mut hashes: Vec<u64>) {
        if metas.capacity() > MAX_KEPT || hashes.capacity() > MAX_KEPT {
            return;
        }
        metas.clear();
        hashes.clear();
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let room = |m: &Vec<NodeMeta>, h: &Vec<u64>| m.capacity() + h.capacity();
        let larger = match &*kept {
            Some((m, h)) => room(m, h) < room(&metas, &hashes),
            None => true,
        };
        if larger {
            *kept = Some((metas, hashes));
        }
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
        columns.give(Vec::with_capacity(MAX_KEPT + 1), Vec::new());
        assert_eq!(columns.take().0.capacity(), 0, "too large to keep");
    }
}
