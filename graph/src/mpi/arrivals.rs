//! `Arrivals`: which local node a value arriving from another rank is the
//! output of. A message names the node by its id in the graph; the run
//! numbers it by its local index in this rank's plan. A rank sends the
//! values of one destination in about the order of their ids (its own
//! plan's order, a chain's exactly), so each source's external nodes are
//! kept in id order with a cursor just past the last one found: the next
//! value is most often there, and found with one comparison. A value out
//! of that order is found by a binary search of its source's list.
//!
//! Before, every value was looked up by a binary search over the whole
//! plan: on Task Bench's tree on 2 ranks, the search's dependent loads were
//! four fifths of the receiving worker's `Driver::value`, its largest
//! entry in `perf` (more than the tasks' kernel).

/// Per source rank, the local indices of the external nodes whose values
/// it sends here, in the order of their node ids (built with the routes,
/// `prepare.rs`).
#[derive(Default)]
pub(crate) struct BySource(Vec<Vec<u32>>);

impl BySource {
    /// Adds external node `k` (local index), whose value `source` sends.
    /// Called in the order of the plan's local indices, which is the order
    /// of node ids.
    pub(crate) fn push(&mut self, source: u32, k: u32) {
        let source = source as usize;
        if self.0.len() <= source {
            self.0.resize_with(source + 1, Vec::new);
        }
        self.0[source].push(k);
    }
}

/// `BySource` with a cursor per source, for one run.
pub(crate) struct Arrivals<'r> {
    by_source: &'r BySource,
    /// Per source: the position in its list after the last value found.
    next: Vec<usize>,
}

impl<'r> Arrivals<'r> {
    pub(crate) fn new(by_source: &'r BySource) -> Arrivals<'r> {
        Arrivals {
            by_source,
            next: vec![0; by_source.0.len()],
        }
    }

    /// The local index of node `id`, whose value came from `source`;
    /// `None` if `source` sends no such value here. `node_id` is the plan's
    /// (`Plan::node_id`): local index to node id.
    #[inline]
    pub(crate) fn find(
        &mut self,
        node_id: impl Fn(u32) -> u32,
        source: usize,
        id: u32,
    ) -> Option<u32> {
        let list = self.by_source.0.get(source)?;
        let next = self.next[source];
        let at = match list.get(next) {
            Some(&k) if node_id(k) == id => next,
            _ => list.binary_search_by_key(&id, |&k| node_id(k)).ok()?,
        };
        self.next[source] = at + 1;
        Some(list[at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Local index `k` is node `10 * k` (a culled plan's sparse ids);
    /// rank 1 sends nodes 0, 2, 4, 6 (local 0, 2, 4, 6), rank 2 sends 5.
    fn routes() -> BySource {
        let mut by_source = BySource::default();
        for k in [0, 2, 4, 6] {
            by_source.push(1, k);
        }
        by_source.push(2, 5);
        by_source
    }

    fn node_id(k: u32) -> u32 {
        10 * k
    }

    #[test]
    fn values_in_order_out_of_order_and_again_are_found() {
        let by_source = routes();
        let mut arrivals = Arrivals::new(&by_source);
        // In order, then a skip forward, a step back, the cursor after it.
        for (id, k) in [(0, 0), (20, 2), (60, 6), (40, 4), (60, 6), (50, 5)] {
            let source = if id == 50 { 2 } else { 1 };
            assert_eq!(arrivals.find(node_id, source, id), Some(k), "node {id}");
        }
    }

    #[test]
    fn a_value_its_source_does_not_send_here_is_none() {
        let by_source = routes();
        let mut arrivals = Arrivals::new(&by_source);
        // Node 50 comes from rank 2, not 1; node 30 is not external; rank 0
        // and rank 7 send nothing (7 is beyond every list).
        assert_eq!(arrivals.find(node_id, 1, 50), None);
        assert_eq!(arrivals.find(node_id, 1, 30), None);
        assert_eq!(arrivals.find(node_id, 0, 0), None);
        assert_eq!(arrivals.find(node_id, 7, 0), None);
        // A miss leaves the cursor usable.
        assert_eq!(arrivals.find(node_id, 1, 0), Some(0));
        assert_eq!(arrivals.find(node_id, 1, 20), Some(2));
    }
}
