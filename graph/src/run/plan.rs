//! `Plan`: the part of the graph one compute runs, in compressed arrays.
//!
//! Culling keeps the targets and their ancestors. Node ids are a topological
//! order (a node only names older nodes), so one backward scan from the
//! largest target marks every ancestor, and numbering the marked nodes in
//! increasing id order gives local indices that are topological too.
//!
//! When every node up to the largest target is needed (computing a graph's
//! final result, the common case), local indices are the node ids and the
//! inputs are read from the store as they are; otherwise they are copied,
//! renumbered, into a compressed adjacency list. Successors are always a
//! compressed adjacency list (offsets + ids), built with a fixed number of
//! allocations whatever the graph's size.

use crate::store::Store;

/// A compressed adjacency list: the list of `k` is
/// `ids[offsets[k]..offsets[k + 1]]`.
struct Csr {
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

impl Csr {
    fn list(&self, k: u32) -> &[u32] {
        let k = k as usize;
        &self.ids[self.offsets[k] as usize..self.offsets[k + 1] as usize]
    }
}

pub(crate) struct Plan {
    /// Node id of each local index, increasing; `None` when the run needs
    /// every node up to the largest target, so that local index = node id.
    nodes: Option<Vec<u32>>,
    /// Inputs of each local node as local indices, in the order given to
    /// `Graph::task`, duplicates kept; `None` with `nodes` (read the store).
    inputs: Option<Csr>,
    /// Number of inputs (edges) of each local node.
    in_degree: Vec<u32>,
    /// Consumers of each local node, once per edge, in increasing order.
    successors: Csr,
    /// Local nodes without inputs, where a run starts.
    roots: Vec<u32>,
    /// Local index of each target, in the order asked.
    targets: Vec<u32>,
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

    fn get(&self, id: u32) -> bool {
        self.0[id as usize / 64] & (1 << (id % 64)) != 0
    }
}

impl Plan {
    /// Culls `store` to the ancestors of `targets` (node ids, not empty).
    ///
    /// # Panics
    /// If a target is asked for twice, or the run has `u32::MAX` edges or more.
    pub(crate) fn new(store: &Store, targets: &[u32]) -> Plan {
        let max = *targets
            .iter()
            .max()
            .expect("delayed: internal error: no target");
        let mut marks = Marks::new(max as usize + 1);
        for &target in targets {
            marks.set(target);
        }

        // Mark ancestors: inputs have smaller ids, so scanning down visits
        // every consumer before its inputs.
        let (mut count, mut edges) = (0usize, 0usize);
        for id in (0..=max).rev() {
            if marks.get(id) {
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

        let (nodes, inputs, targets) = if count == max as usize + 1 {
            (None, None, targets.to_vec())
        } else {
            let (nodes, inputs, targets) = renumber(store, &marks, count, edges, targets);
            (Some(nodes), Some(inputs), targets)
        };
        let mut plan = Plan {
            nodes,
            inputs,
            in_degree: Vec::new(),
            successors: Csr {
                offsets: Vec::new(),
                ids: Vec::new(),
            },
            roots: Vec::new(),
            targets,
        };
        plan.link(store, count, edges);
        plan.check_targets();
        plan
    }

    /// Fills `in_degree`, `roots` and `successors` from the inputs.
    fn link(&mut self, store: &Store, count: usize, edges: usize) {
        // Out-degrees, then their running sums: `offsets[j]` = end of `j`'s list.
        let mut offsets = vec![0u32; count + 1];
        let mut in_degree = Vec::with_capacity(count);
        for k in 0..count as u32 {
            let inputs = self.inputs(store, k);
            in_degree.push(inputs.len() as u32);
            for &input in inputs {
                offsets[input as usize] += 1;
            }
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
            for &input in self.inputs(store, k).iter().rev() {
                let end = &mut offsets[input as usize];
                *end -= 1;
                ids[*end as usize] = k;
            }
        }
        let roots = in_degree.iter().enumerate().filter(|(_, &d)| d == 0);
        self.roots = roots.map(|(k, _)| k as u32).collect();
        self.in_degree = in_degree;
        self.successors = Csr { offsets, ids };
    }

    fn check_targets(&self) {
        let mut sorted = self.targets.clone();
        sorted.sort_unstable();
        if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
            panic!(
                "delayed: the result of task key {} is asked for twice in one compute",
                self.node_id(pair[0])
            );
        }
    }

    /// Number of nodes the run executes.
    pub(crate) fn len(&self) -> usize {
        self.in_degree.len()
    }

    /// Node id of local node `k`.
    pub(crate) fn node_id(&self, k: u32) -> u32 {
        match &self.nodes {
            Some(nodes) => nodes[k as usize],
            None => k,
        }
    }

    /// Inputs of local node `k`, as local indices, once per edge.
    pub(crate) fn inputs<'s>(&'s self, store: &'s Store, k: u32) -> &'s [u32] {
        match &self.inputs {
            Some(inputs) => inputs.list(k),
            None => store.inputs(k),
        }
    }

    /// Number of inputs (edges) of local node `k`.
    pub(crate) fn in_degree(&self, k: u32) -> u32 {
        self.in_degree[k as usize]
    }

    /// Consumers of local node `k`, as local indices, once per edge.
    pub(crate) fn successors(&self, k: u32) -> &[u32] {
        self.successors.list(k)
    }

    pub(crate) fn roots(&self) -> &[u32] {
        &self.roots
    }

    pub(crate) fn targets(&self) -> &[u32] {
        &self.targets
    }
}

/// Numbers the `count` marked nodes in id order and copies their inputs in
/// local indices; returns the node ids, the inputs and the local targets.
fn renumber(
    store: &Store,
    marks: &Marks,
    count: usize,
    edges: usize,
    targets: &[u32],
) -> (Vec<u32>, Csr, Vec<u32>) {
    let len = marks.0.len() * 64;
    let mut nodes = Vec::with_capacity(count);
    let mut local = vec![u32::MAX; len.min(store.len())];
    for id in 0..local.len() as u32 {
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
    let targets = targets.iter().map(|&t| local[t as usize]).collect();
    (nodes, Csr { offsets, ids }, targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Graph;

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
        assert_eq!(plan.nodes, Some(vec![0, 2, 3]));
        assert_eq!(plan.inputs(store, 0), &[] as &[u32]);
        assert_eq!(plan.inputs(store, 1), &[0, 0]);
        assert_eq!(plan.inputs(store, 2), &[1, 0]);
        assert_eq!(plan.in_degree, vec![0, 2, 2]);
        assert_eq!(plan.successors(0), &[1, 1, 2]);
        assert_eq!(plan.successors(1), &[2]);
        assert_eq!(plan.successors(2), &[] as &[u32]);
        assert_eq!(plan.roots(), &[0]);
        assert_eq!(plan.targets(), &[2, 1]);
        assert_eq!(plan.node_id(2), 3);
    }

    #[test]
    fn a_run_of_every_node_reads_inputs_in_place() {
        let g = Graph::new();
        let a = g.delayed("a", || 1); // 0
        let b = g.delayed("b", || 2); // 1
        let c = g.task("c", (&b, &a, &b), |(x, y, z)| x + y + z); // 2
        let d = g.task("d", &a, |x| *x); // 3
        let store = g.store();
        let plan = Plan::new(store, &[d.id(), c.id()]);
        assert!(plan.nodes.is_none() && plan.inputs.is_none());
        assert_eq!(plan.inputs(store, 2), &[1, 0, 1]);
        assert_eq!(plan.successors(0), &[2, 3]);
        assert_eq!(plan.successors(1), &[2, 2]);
        assert_eq!(plan.roots(), &[0, 1]);
        assert_eq!(plan.targets(), &[3, 2]);
        assert_eq!(plan.node_id(3), 3);
    }

    #[test]
    #[should_panic(expected = "asked for twice")]
    fn a_target_asked_twice_panics() {
        let g = Graph::new();
        let a = g.delayed("a", || 1);
        Plan::new(g.store(), &[a.id(), a.id()]);
    }
}
