//! `Needed`: the tasks one multi-node compute runs (step 1 of `README.md`),
//! the targets and their ancestors, numbered in id order, with a flat map
//! from node id to that number, so that the steps after it (fingerprint,
//! placement, this rank's plan) look a task up by indexing, never by
//! searching.
//!
//! When the compute needs every node up to its largest target (computing a
//! graph's final result, the common case), the list is the prefix
//! `0..=max`: nothing is allocated per node, and an id is its own number.
//! That case is found in O(targets) when the largest target is the newest
//! node, as `Plan::new` finds it on one node (`../run/plan.rs`).

use crate::store::Store;

/// The culled tasks of one compute, increasing (a topological order).
#[derive(PartialEq)]
pub(crate) struct Needed {
    /// Number of tasks.
    len: u32,
    /// Their ids, and each id's number (`u32::MAX` if not needed); both
    /// empty when the tasks are the prefix `0..len`.
    ids: Vec<u32>,
    index: Vec<u32>,
}

impl Needed {
    /// The targets (not empty) and their ancestors.
    ///
    /// # Panics
    /// If a target is asked for twice (as on one node).
    pub(crate) fn of(store: &Store, targets: &[u32]) -> Needed {
        let max = *targets.iter().max().expect("a target");
        let mut marked = vec![0u64; (max as usize + 1).div_ceil(64)];
        let is = |marked: &[u64], id: u32| marked[id as usize / 64] & (1 << (id % 64)) != 0;
        for &target in targets {
            assert!(
                !is(&marked, target),
                "delayed: the result of task key {target} is asked for twice in one compute"
            );
            marked[target as usize / 64] |= 1 << (target % 64);
        }
        if every_node_up_to(store, targets, max) {
            return Needed::prefix(max + 1);
        }
        let mut count = 0u32;
        for id in (0..=max).rev() {
            if is(&marked, id) {
                count += 1;
                for &input in store.inputs(id) {
                    marked[input as usize / 64] |= 1 << (input % 64);
                }
            }
        }
        if count == max + 1 {
            return Needed::prefix(max + 1);
        }
        let mut ids = Vec::with_capacity(count as usize);
        let mut index = vec![u32::MAX; max as usize + 1];
        for id in (0..=max).filter(|&id| is(&marked, id)) {
            index[id as usize] = ids.len() as u32;
            ids.push(id);
        }
        Needed {
            len: count,
            ids,
            index,
        }
    }

    /// The tasks `0..len`.
    fn prefix(len: u32) -> Needed {
        Needed {
            len,
            ids: Vec::new(),
            index: Vec::new(),
        }
    }

    /// Number of tasks.
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the tasks are every node up to the largest target.
    pub(crate) fn is_prefix(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id of task number `i`.
    #[inline]
    pub(crate) fn id(&self, i: usize) -> u32 {
        if self.is_prefix() {
            i as u32
        } else {
            self.ids[i]
        }
    }

    /// The number of the task with id `id`, which is needed.
    #[inline]
    pub(crate) fn index(&self, id: u32) -> usize {
        if self.is_prefix() {
            debug_assert!(id < self.len, "task key {id} is not needed");
            id as usize
        } else {
            let i = self.index[id as usize];
            debug_assert!(i != u32::MAX, "task key {id} is not needed");
            i as usize
        }
    }

    /// The number of the task with id `id`, if it is needed; `id` is at
    /// most the largest.
    #[inline]
    pub(crate) fn find(&self, id: u32) -> Option<usize> {
        if self.is_prefix() {
            debug_assert!(id < self.len, "task key {id} is above the largest");
            Some(id as usize)
        } else {
            let i = self.index[id as usize];
            (i != u32::MAX).then_some(i as usize)
        }
    }

    /// The ids, increasing.
    pub(crate) fn ids(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        (0..self.len()).map(|i| self.id(i))
    }

    /// The largest id.
    pub(crate) fn max(&self) -> u32 {
        self.id(self.len() - 1)
    }
}

/// Whether `targets` (all distinct, the largest `max`) need every node up
/// to `max`, decided in O(targets) when `max` is the newest node: then a
/// node below `max` is unneeded exactly when nothing reads it and it is not
/// a target, so every sink but `max` must be a target. `false` when newer
/// nodes exist (the caller's scan decides).
fn every_node_up_to(store: &Store, targets: &[u32], max: u32) -> bool {
    let (len, sinks) = store.len_and_sinks();
    if max as usize + 1 != len {
        return false;
    }
    let target_sinks = targets
        .iter()
        .filter(|&&t| t != max && !store.has_consumer(t))
        .count();
    sinks == target_sinks + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Graph;

    #[test]
    fn a_final_result_needs_the_prefix_and_a_culled_one_is_indexed() {
        let g = Graph::new();
        let a = g.delayed("a", || 1); // 0
        let unused = g.delayed("unused", || 2); // 1
        let b = g.task("b", &a, |x| x + 1); // 2
        let whole = Needed::of(g.store(), &[b.id(), unused.id()]);
        assert!(whole.is_prefix());
        assert_eq!(whole.ids().collect::<Vec<_>>(), vec![0, 1, 2]);
        let culled = Needed::of(g.store(), &[b.id()]);
        assert!(!culled.is_prefix());
        assert_eq!(culled.ids().collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!((culled.index(0), culled.index(2), culled.max()), (0, 1, 2));
        // Not the newest node: the scan decides, and finds the prefix.
        let _later = g.task("later", &b, |x| x + 1); // 3
        let scanned = Needed::of(g.store(), &[b.id(), unused.id()]);
        assert!(scanned.is_prefix());
        assert_eq!(scanned.len(), 3);
    }

    #[test]
    #[should_panic(expected = "asked for twice")]
    fn a_target_asked_twice_panics() {
        let g = Graph::new();
        let a = g.delayed("a", || 1);
        Needed::of(g.store(), &[a.id(), a.id()]);
    }
}
