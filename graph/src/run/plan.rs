//! `Plan`: the part of the graph one compute runs.
//!
//! Culling keeps the targets and their ancestors. Node ids are a topological
//! order (a node only names older nodes), so the ancestors of a set of
//! targets are found by scanning ids downwards from the largest target.
//!
//! *Whole* plans need every node up to the largest target, `max` (computing
//! a graph's final result, the common case). A node below `max` is needed if
//! it is a target or has a consumer up to `max` (by induction from the top),
//! so one pass over the nodes' newest out-edges decides it. A whole plan
//! allocates nothing per node: local index = node id, and inputs, out-edges
//! and roots are read from the store, which keeps them as the graph grows.
//!
//! *Culled* plans need only some nodes: they are numbered in id order (local
//! indices, topological too), and their inputs and successors are copied,
//! renumbered, into compressed adjacency lists (offsets + ids), with a fixed
//! number of allocations whatever the graph's size.

use crate::store::{Consumers, InputCount, Node, ShortCount, Store, Task};

/// A compressed adjacency list: the list of `k` is
/// `ids[offsets[k]..offsets[k + 1]]`.
pub(crate) struct Csr {
    pub(crate) offsets: Vec<u32>,
    pub(crate) ids: Vec<u32>,
}

impl Csr {
    #[inline]
    fn list(&self, k: u32) -> &[u32] {
        let k = k as usize;
        &self.ids[self.offsets[k] as usize..self.offsets[k + 1] as usize]
    }
}

/// Every node a plan names is published, and the thread that made the
/// plan (or took it for another store of the same shape) loaded a number
/// of nodes above them (`Plan::new`, `Plan::culled`, `Plan::publish_in`):
/// what `Store::published_node` asks of the threads that run the plan
/// (they get it from that one with the jobs the executor hands them).
pub(crate) struct Plan {
    /// Number of nodes the run executes.
    len: u32,
    /// `None` for a whole plan (local index = node id, nodes `0..len`).
    culled: Option<Culled>,
    /// Local index of each target, in the order asked.
    targets: Vec<u32>,
}

struct Culled {
    /// Node id of each local index, increasing: a topological order.
    nodes: Vec<u32>,
    /// Inputs of each local node as local indices, in the order given to
    /// `Graph::task`, duplicates kept.
    inputs: Csr,
    /// Consumers of each local node, once per edge, in the order of the
    /// store's consumer lists (`Store::consumers`) or increasing.
    successors: Csr,
    /// Local nodes without inputs, where a run starts.
    roots: Vec<u32>,
}

/// The consumers of a node in a run, once per edge.
/// What running one local node reads (`Plan::view`).
pub(crate) struct View<'a> {
    /// The node's id in the graph.
    pub(crate) id: u32,
    pub(crate) task: Task<'a>,
    /// Its inputs, as local indices, once per edge.
    pub(crate) inputs: &'a [u32],
    /// Whether an input's value may have something to drop
    /// (`InputIds::has_values_to_drop`): if not, step 6 has nothing to do.
    pub(crate) inputs_to_drop: bool,
    /// Its consumers in this run, as local indices, once per edge.
    pub(crate) successors: Successors<'a>,
}

pub(crate) enum Successors<'a> {
    Whole(Consumers<'a>),
    Culled(std::slice::Iter<'a, u32>),
}

impl Iterator for Successors<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match self {
            Successors::Whole(consumers) => consumers.next(),
            Successors::Culled(ids) => ids.next().copied(),
        }
    }
}

/// One bit per node id: needed by the run or not.
struct Marks(Vec<u64>);

impl Marks {
    fn new(len: usize) -> Marks {
        Marks(vec![0; len.div_ceil(64)])
    }

    fn set(&mut self, id: u32) {
        self.0[id as usize / 64] |= 1 << (id % 64);
    }

    #[inline]
    fn get(&self, id: u32) -> bool {
        self.0[id as usize / 64] & (1 << (id % 64)) != 0
    }
}

impl Plan {
    /// Plans the run of `targets` (node ids of `store`, not empty).
    ///
    /// # Panics
    /// If a target is asked for twice, or the run has `u32::MAX` edges or more.
    pub(crate) fn new(store: &Store, targets: &[u32]) -> Plan {
        let max = *targets
            .iter()
            .max()
            .expect("delayed: internal error: no target");
        // The plan's invariant (above): every node it names is at most `max`.
        published(store, max);
        let mut is_target = Marks::new(max as usize + 1);
        for &target in targets {
            if is_target.get(target) {
                panic!(
                    "delayed: the result of task key {target} is asked for twice in one compute"
                );
            }
            is_target.set(target);
        }
        let whole = needs_every_node(store, targets, &is_target, max);
        if whole {
            return Plan {
                len: max + 1,
                culled: None,
                targets: targets.to_vec(),
            };
        }
        let culled = Culled::new(store, &is_target, max);
        let targets: Vec<u32> = targets
            .iter()
            .map(|t| culled.nodes.partition_point(|id| id < t) as u32)
            .collect();
        Plan {
            len: culled.nodes.len() as u32,
            culled: Some(culled),
            targets,
        }
    }

    /// Plans the part of a run that one rank of a multi-node compute does:
    /// the nodes `local` (ids, increasing), each of whose inputs is local or
    /// in `external` (ids, increasing, none local): nodes whose values come
    /// from outside the run (`parallel::Remote::deliver`). External nodes
    /// have no inputs here and are not roots. `targets` are local ids.
    ///
    /// The tests' way to make such a plan; the multi-node layer builds its
    /// lists in one go from its placement (`mpi/rank_plan.rs`) and hands
    /// them to `Plan::culled`.
    #[cfg(test)]
    pub(crate) fn partial(store: &Store, local: &[u32], external: &[u32], targets: &[u32]) -> Plan {
        let mut nodes: Vec<u32> = local.iter().chain(external).copied().collect();
        nodes.sort_unstable();
        let index = |id: u32| nodes.binary_search(&id).expect("a node of the plan") as u32;
        let mut inputs = Csr {
            offsets: vec![0],
            ids: Vec::new(),
        };
        let mut roots = Vec::new();
        for (k, &id) in nodes.iter().enumerate() {
            if local.contains(&id) {
                inputs
                    .ids
                    .extend(store.inputs(id).iter().map(|&input| index(input)));
                if store.inputs(id).is_empty() {
                    roots.push(k as u32);
                }
            }
            inputs.offsets.push(inputs.ids.len() as u32);
        }
        let successors = reverse(&inputs, nodes.len(), inputs.ids.len());
        let targets = targets.iter().map(|&t| index(t)).collect();
        Plan::culled(store, nodes, inputs, successors, roots, targets)
    }

    /// A culled plan of the nodes `nodes` (ids, increasing), with their
    /// `inputs` and `successors` (local indices, once per edge; an
    /// external node has no inputs), the local nodes without inputs
    /// (`roots`, increasing) and the local index of each target.
    ///
    /// # Panics
    /// If the plan has `u32::MAX` edges or more.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the multi-node layer, and tests
    pub(crate) fn culled(
        store: &Store,
        nodes: Vec<u32>,
        inputs: Csr,
        successors: Csr,
        roots: Vec<u32>,
        targets: Vec<u32>,
    ) -> Plan {
        if let Some(&max) = nodes.last() {
            // The plan's invariant (above): every node it names is at most `max`.
            published(store, max);
        }
        debug_assert!(nodes.windows(2).all(|pair| pair[0] < pair[1]));
        debug_assert_eq!(inputs.offsets.len(), nodes.len() + 1);
        debug_assert_eq!(successors.offsets.len(), nodes.len() + 1);
        debug_assert_eq!(inputs.ids.len(), successors.ids.len());
        assert!(
            inputs.ids.len() < u32::MAX as usize,
            "delayed: a compute can run at most {} edges",
            u32::MAX - 1
        );
        Plan {
            len: nodes.len() as u32,
            culled: Some(Culled {
                nodes,
                inputs,
                successors,
                roots,
            }),
            targets,
        }
    }

    /// The local index of node `id`, if the run has it.
    #[cfg(test)]
    pub(crate) fn local_index(&self, id: u32) -> Option<u32> {
        match &self.culled {
            Some(culled) => culled.nodes.binary_search(&id).ok().map(|k| k as u32),
            None => (id < self.len).then_some(id),
        }
    }

    /// Whether the plan is whole: it names no list of its own, and reads
    /// every node's from the store.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the multi-node layer
    pub(crate) fn is_whole(&self) -> bool {
        self.culled.is_none()
    }

    /// Makes the plan's invariant (above) hold for `store`, which has the
    /// nodes the plan names: a plan kept from another graph of the same
    /// shape (`mpi/reuse.rs`) runs on `store` after this.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the multi-node layer
    pub(crate) fn publish_in(&self, store: &Store) {
        if let Some(k) = self.len.checked_sub(1) {
            published(store, self.node_id(k));
        }
    }

    /// Number of ids in the plan's own lists: its inputs and successors,
    /// once per edge (none for a whole plan).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the multi-node layer
    pub(crate) fn listed_edges(&self) -> usize {
        self.culled
            .as_ref()
            .map_or(0, |c| c.inputs.ids.len() + c.successors.ids.len())
    }

    /// Number of nodes the run executes.
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// Node id of local node `k`.
    #[inline]
    pub(crate) fn node_id(&self, k: u32) -> u32 {
        match &self.culled {
            Some(culled) => culled.nodes[k as usize],
            None => k,
        }
    }

    /// Inputs of local node `k`, as local indices, once per edge.
    #[inline]
    pub(crate) fn inputs<'s>(&'s self, store: &'s Store, k: u32) -> &'s [u32] {
        match &self.culled {
            Some(culled) => culled.inputs.list(k),
            None => store.inputs(k),
        }
    }

    /// Calls `f(k, input count of k)` once for every local node `k` in
    /// `0..self.len()` (`RunState::new` relies on that), from the last to
    /// the first: a pass that runs before the nodes do leaves the
    /// first ones, where the run starts, in the cache. Reads the store's
    /// column of counts (a byte per node), not the node records.
    pub(crate) fn for_each_count_backwards(
        &self,
        store: &Store,
        mut f: impl FnMut(u32, InputCount),
    ) {
        match &self.culled {
            // A culled plan keeps every input of the nodes it keeps (they
            // are their ancestors), so the counts are the store's.
            Some(culled) => (0..self.len)
                .rev()
                .for_each(|k| f(k, store.count(culled.nodes[k as usize]))),
            None => {
                // A segment of the column at a time, so the inner loop is
                // over a slice (node `start + i` is the slice's `i`-th).
                for (start, counts) in store.counts_of_first(self.len as usize).rev() {
                    for (i, &count) in counts.iter().enumerate().rev() {
                        let k = start + i as u32;
                        f(k, store.whole_count(k, count));
                    }
                }
            }
        }
    }

    /// For a whole plan, the store's column of input counts of its nodes,
    /// as the segments' slices with the local index of each slice's first
    /// node (`Store::counts_of_first`); `None` for a culled plan. A count
    /// byte that is saturated (`ShortCount::whole`) is completed by
    /// `Store::whole_count`.
    pub(crate) fn whole_counts<'s>(
        &self,
        store: &'s Store,
    ) -> Option<impl DoubleEndedIterator<Item = (u32, &'s [ShortCount])> + Clone + 's> {
        self.culled
            .is_none()
            .then(|| store.counts_of_first(self.len as usize))
    }

    /// Local node `k`'s record in `store`, the store the plan was made
    /// from (as for every method here taking one: `RunState` holds both).
    #[inline(always)]
    pub(crate) fn record<'s>(&self, store: &'s Store, k: u32) -> &'s Node {
        // SAFETY: the plan's nodes are published in the store it was made
        // from, and this thread has seen them so (the plan's invariant).
        unsafe { store.published_node(self.node_id(k)) }
    }

    /// What running local node `k` reads, looked up once: its node id,
    /// closure, inputs and consumers (as local indices, once per edge).
    #[inline(always)]
    pub(crate) fn view<'s>(&'s self, store: &'s Store, k: u32) -> View<'s> {
        self.view_of(store, k, self.record(store, k))
    }

    /// `view` of local node `k`, whose record (`record`) is at hand: a
    /// runner that located it to prefetch it does not locate it again.
    /// Always inlined: as a call, the `View` it returns went back through
    /// memory and a chain's task took 22 ns instead of 15.4 (`profile_dag`,
    /// `results/overhead-breakdown.md`).
    #[inline(always)]
    pub(crate) fn view_of<'s>(&'s self, store: &'s Store, k: u32, node: &'s Node) -> View<'s> {
        match &self.culled {
            Some(culled) => {
                let id = culled.nodes[k as usize];
                View {
                    id,
                    task: store.task(node),
                    inputs: culled.inputs.list(k),
                    inputs_to_drop: node.inputs_to_drop(),
                    successors: Successors::Culled(culled.successors.list(k).iter()),
                }
            }
            None => View {
                id: k,
                task: store.task(node),
                inputs: node.inputs(),
                inputs_to_drop: node.inputs_to_drop(),
                successors: Successors::Whole(store.consumers_of(node, self.len - 1)),
            },
        }
    }

    /// Number of local nodes without inputs.
    pub(crate) fn roots(&self, store: &Store) -> usize {
        match &self.culled {
            Some(culled) => culled.roots.len(),
            None => store.roots_below(self.len),
        }
    }

    /// The `i`-th local node without inputs.
    pub(crate) fn root(&self, store: &Store, i: usize) -> u32 {
        match &self.culled {
            Some(culled) => culled.roots[i],
            None => store.root(i),
        }
    }

    pub(crate) fn targets(&self) -> &[u32] {
        &self.targets
    }
}

/// Loads the store's number of nodes, which must be above `max` (node
/// `max` is a target's or an input's, so it exists): the plan's invariant.
fn published(store: &Store, max: u32) {
    assert!(
        (max as usize) < store.len(),
        "delayed: internal error: a node of the plan is not in the graph"
    );
}

/// Whether running `targets` (largest `max`) needs every node up to `max`:
/// each node below `max` is a target or has a consumer up to `max`.
fn needs_every_node(store: &Store, targets: &[u32], is_target: &Marks, max: u32) -> bool {
    let (len, sinks) = store.len_and_sinks();
    if max as usize + 1 == len {
        // The common case, computing the newest node: every consumer is at
        // most `max`, so a node below `max` is unneeded exactly when it is a
        // sink and not a target. `max` is a sink itself (nothing is newer),
        // so every other sink must be a target. O(targets), not O(nodes).
        let target_sinks = targets
            .iter()
            .filter(|&&t| t != max && !store.has_consumer(t))
            .count();
        return sinks == target_sinks + 1;
    }
    // Newer nodes exist, whose edges do not count: look at every node.
    (0..max).all(|id| is_target.get(id) || store.consumers(id, max).next().is_some())
}

impl Culled {
    /// Numbers the ancestors of the targets marked in `is_target` (all at
    /// most `max`) and copies their inputs and successors.
    fn new(store: &Store, is_target: &Marks, max: u32) -> Culled {
        let mut marks = Marks::new(max as usize + 1);
        let (mut count, mut edges) = (0usize, 0usize);
        for id in (0..=max).rev() {
            if is_target.get(id) || marks.get(id) {
                marks.set(id);
                let inputs = store.inputs(id);
                count += 1;
                edges += inputs.len();
                for &input in inputs {
                    marks.set(input);
                }
            }
        }
        assert!(
            edges < u32::MAX as usize,
            "delayed: a compute can run at most {} edges",
            u32::MAX - 1
        );
        let (nodes, inputs) = renumber(store, &marks, max, count, edges);
        let successors = reverse(&inputs, count, edges);
        let roots = (0..count as u32)
            .filter(|&k| inputs.list(k).is_empty())
            .collect();
        Culled {
            nodes,
            inputs,
            successors,
            roots,
        }
    }
}

/// The successor lists of the `count` nodes whose input lists are `inputs`.
fn reverse(inputs: &Csr, count: usize, edges: usize) -> Csr {
    // Out-degrees, then their running sums: `offsets[j]` = end of `j`'s list.
    let mut offsets = vec![0u32; count + 1];
    for &input in &inputs.ids {
        offsets[input as usize] += 1;
    }
    let mut sum = 0;
    for offset in &mut offsets[..count] {
        sum += *offset;
        *offset = sum;
    }
    offsets[count] = sum;
    // Fill each list from its end, consumers in decreasing order, so the
    // lists come out increasing and `offsets[j]` ends at `j`'s start.
    let mut ids = vec![0u32; edges];
    for k in (0..count as u32).rev() {
        for &input in inputs.list(k).iter().rev() {
            let end = &mut offsets[input as usize];
            *end -= 1;
            ids[*end as usize] = k;
        }
    }
    Csr { offsets, ids }
}

/// Numbers the `count` marked nodes in id order and copies their inputs in
/// local indices; returns the node ids and the inputs.
fn renumber(store: &Store, marks: &Marks, max: u32, count: usize, edges: usize) -> (Vec<u32>, Csr) {
    let mut nodes = Vec::with_capacity(count);
    let mut local = vec![u32::MAX; max as usize + 1];
    for id in 0..=max {
        if marks.get(id) {
            local[id as usize] = nodes.len() as u32;
            nodes.push(id);
        }
    }
    let mut offsets = Vec::with_capacity(count + 1);
    let mut ids = Vec::with_capacity(edges);
    offsets.push(0);
    for &id in &nodes {
        ids.extend(store.inputs(id).iter().map(|&input| local[input as usize]));
        offsets.push(ids.len() as u32);
    }
    (nodes, Csr { offsets, ids })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Graph;

    fn successors(plan: &Plan, store: &Store, k: u32) -> Vec<u32> {
        let mut list: Vec<u32> = plan.view(store, k).successors.collect();
        list.sort_unstable();
        list
    }

    #[test]
    fn culls_to_ancestors_in_topological_order() {
        let g = Graph::new();
        let a = g.delayed("a", || 1); // 0
        let unused = g.delayed("unused", || 2); // 1
        let b = g.task("b", (&a, &a), |(x, y)| x + y); // 2: duplicate input
        let c = g.task("c", (&b, &a), |(x, y)| x * y); // 3
        let _later = g.task("later", &unused, |x| *x); // 4

        let store = g.store();
        let plan = Plan::new(store, &[c.id(), b.id()]);
        assert_eq!(
            plan.culled.as_ref().map(|c| c.nodes.clone()),
            Some(vec![0, 2, 3])
        );
        assert_eq!(plan.len(), 3);
        assert_eq!(plan.inputs(store, 0), &[] as &[u32]);
        assert_eq!(plan.inputs(store, 1), &[0, 0]);
        assert_eq!(plan.inputs(store, 2), &[1, 0]);
        assert_eq!(successors(&plan, store, 0), vec![1, 1, 2]);
        assert_eq!(successors(&plan, store, 1), vec![2]);
        assert_eq!(successors(&plan, store, 2), Vec::<u32>::new());
        assert_eq!((plan.roots(store), plan.root(store, 0)), (1, 0));
        assert_eq!(plan.targets(), &[2, 1]);
        assert_eq!(plan.node_id(2), 3);
    }

    #[test]
    fn a_run_of_every_node_reads_the_store() {
        let g = Graph::new();
        let a = g.delayed("a", || 1); // 0
        let b = g.delayed("b", || 2); // 1
        let c = g.task("c", (&b, &a, &b), |(x, y, z)| x + y + z); // 2
        let d = g.task("d", &a, |x| *x); // 3
        let _later = g.task("later", (&c, &d), |(x, y)| x + y); // 4, not asked for
        let store = g.store();
        let plan = Plan::new(store, &[d.id(), c.id()]);
        assert!(plan.culled.is_none());
        assert_eq!(plan.len(), 4);
        assert_eq!(plan.inputs(store, 2), &[1, 0, 1]);
        assert_eq!(
            successors(&plan, store, 0),
            vec![2, 3],
            "4 is beyond the run"
        );
        assert_eq!(successors(&plan, store, 1), vec![2, 2]);
        assert_eq!(plan.roots(store), 2);
        assert_eq!((plan.root(store, 0), plan.root(store, 1)), (0, 1));
        assert_eq!(plan.targets(), &[3, 2]);
        assert_eq!(plan.node_id(3), 3);
    }

    #[test]
    fn the_newest_node_is_planned_whole_only_when_no_other_sink_is_left_out() {
        let g = Graph::new();
        let a = g.delayed("a", || 1); // 0
        let b = g.delayed("b", || 2); // 1: a sink unless asked for
        let c = g.task("c", &a, |x| *x); // 2: the newest node
        let store = g.store();
        assert!(Plan::new(store, &[c.id(), b.id()]).culled.is_none());
        let plan = Plan::new(store, &[c.id()]);
        assert_eq!(
            plan.culled.as_ref().map(|c| c.nodes.clone()),
            Some(vec![0, 2])
        );
        // Once `b` has a consumer, computing the newest node needs everything.
        let d = g.task("d", (&c, &b), |(x, y)| x + y); // 3
        assert!(Plan::new(g.store(), &[d.id()]).culled.is_none());
        assert_eq!(d.compute().unwrap(), 3);
    }

    #[test]
    #[should_panic(expected = "asked for twice")]
    fn a_target_asked_twice_panics() {
        let g = Graph::new();
        let a = g.delayed("a", || 1);
        Plan::new(g.store(), &[a.id(), a.id()]);
    }
}
