//! `Plan`: the part of the graph one compute runs, in compressed arrays.
//!
//! Culling keeps the targets and their ancestors. Node ids are a topological
//! order (a node only names older nodes), so one backward scan from the
//! largest target marks every ancestor, and numbering the marked nodes in
//! increasing id order gives local indices that are topological too. Inputs
//! and successors are then compressed adjacency lists over local indices
//! (offsets + ids), built with a fixed number of allocations whatever the
//! graph's size.

use crate::store::Store;

/// `local[id]` of a node the run does not need.
const UNSEEN: u32 = u32::MAX;
/// `local[id]` of a needed node before it is numbered. Node ids stay below it
/// (`store::MAX_NODES`), so local indices never collide with either marker.
const NEEDED: u32 = u32::MAX - 1;

pub(crate) struct Plan {
    /// Node id of each local index, increasing: a topological order.
    nodes: Vec<u32>,
    /// `input_ids[input_offsets[k]..input_offsets[k + 1]]`: the inputs of
    /// local node `k`, in the order given to `Graph::task`, duplicates kept.
    input_offsets: Vec<u32>,
    input_ids: Vec<u32>,
    /// The same edges the other way: local node `k` is an input of each of
    /// `successor_ids[successor_offsets[k]..successor_offsets[k + 1]]`, once
    /// per edge.
    successor_offsets: Vec<u32>,
    successor_ids: Vec<u32>,
    /// Local nodes without inputs, where a run starts.
    roots: Vec<u32>,
    /// Local index of each target, in the order asked.
    targets: Vec<u32>,
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
            .expect("delayed: internal error: no target") as usize;
        let mut local = vec![UNSEEN; max + 1];
        for &target in targets {
            local[target as usize] = NEEDED;
        }

        // Mark ancestors: inputs have smaller ids, so scanning down visits
        // every consumer before its inputs.
        let (mut count, mut edges, mut sources) = (0usize, 0usize, 0usize);
        for id in (0..=max).rev() {
            if local[id] != NEEDED {
                continue;
            }
            let inputs = store.node(id as u32).inputs.as_slice();
            count += 1;
            edges += inputs.len();
            sources += usize::from(inputs.is_empty());
            for &input in inputs {
                local[input as usize] = NEEDED;
            }
        }
        assert!(
            edges < u32::MAX as usize,
            "delayed: a compute can run at most {} edges",
            u32::MAX - 1
        );

        // Number needed nodes in id order.
        let mut nodes = Vec::with_capacity(count);
        for (id, slot) in local.iter_mut().enumerate() {
            if *slot == NEEDED {
                *slot = nodes.len() as u32;
                nodes.push(id as u32);
            }
        }
        let targets: Vec<u32> = targets.iter().map(|&t| local[t as usize]).collect();

        // Inputs in local indices; count each node's out-edges on the way.
        let mut input_offsets = Vec::with_capacity(count + 1);
        let mut input_ids = Vec::with_capacity(edges);
        let mut successor_offsets = vec![0u32; count + 1];
        let mut roots = Vec::with_capacity(sources);
        input_offsets.push(0);
        for (k, &id) in nodes.iter().enumerate() {
            let inputs = store.node(id).inputs.as_slice();
            if inputs.is_empty() {
                roots.push(k as u32);
            }
            for &input in inputs {
                let input = local[input as usize];
                input_ids.push(input);
                successor_offsets[input as usize + 1] += 1;
            }
            input_offsets.push(input_ids.len() as u32);
        }

        // Successors: prefix sums of the out-degrees, then fill each list in
        // consumer order, using `local` (no longer needed) as the cursors.
        for k in 0..count {
            successor_offsets[k + 1] += successor_offsets[k];
        }
        local.truncate(count);
        local.copy_from_slice(&successor_offsets[..count]);
        let mut successor_ids = vec![0u32; edges];
        for k in 0..count {
            let inputs = &input_ids[input_offsets[k] as usize..input_offsets[k + 1] as usize];
            for &input in inputs {
                let cursor = &mut local[input as usize];
                successor_ids[*cursor as usize] = k as u32;
                *cursor += 1;
            }
        }

        let mut sorted = targets.clone();
        sorted.sort_unstable();
        if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
            panic!(
                "delayed: the result of task key {} is asked for twice in one compute",
                nodes[pair[0] as usize]
            );
        }

        Plan {
            nodes,
            input_offsets,
            input_ids,
            successor_offsets,
            successor_ids,
            roots,
            targets,
        }
    }

    /// Number of nodes the run executes.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Node id of local node `k`.
    pub(crate) fn node_id(&self, k: u32) -> u32 {
        self.nodes[k as usize]
    }

    /// Inputs of local node `k`, as local indices.
    pub(crate) fn inputs(&self, k: u32) -> &[u32] {
        let k = k as usize;
        &self.input_ids[self.input_offsets[k] as usize..self.input_offsets[k + 1] as usize]
    }

    /// Consumers of local node `k`, as local indices, once per edge.
    pub(crate) fn successors(&self, k: u32) -> &[u32] {
        let k = k as usize;
        &self.successor_ids
            [self.successor_offsets[k] as usize..self.successor_offsets[k + 1] as usize]
    }

    /// Number of out-edges of local node `k`.
    pub(crate) fn out_degree(&self, k: u32) -> u32 {
        let k = k as usize;
        self.successor_offsets[k + 1] - self.successor_offsets[k]
    }

    pub(crate) fn roots(&self) -> &[u32] {
        &self.roots
    }

    pub(crate) fn targets(&self) -> &[u32] {
        &self.targets
    }
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

        let plan = Plan::new(g.store(), &[c.id(), b.id()]);
        assert_eq!(plan.nodes, vec![0, 2, 3]);
        assert_eq!(plan.inputs(0), &[] as &[u32]);
        assert_eq!(plan.inputs(1), &[0, 0]);
        assert_eq!(plan.inputs(2), &[1, 0]);
        assert_eq!(plan.successors(0), &[1, 1, 2]);
        assert_eq!(plan.successors(1), &[2]);
        assert_eq!(plan.successors(2), &[] as &[u32]);
        assert_eq!(plan.out_degree(0), 3);
        assert_eq!(plan.roots(), &[0]);
        assert_eq!(plan.targets(), &[2, 1]);
    }

    #[test]
    #[should_panic(expected = "asked for twice")]
    fn a_target_asked_twice_panics() {
        let g = Graph::new();
        let a = g.delayed("a", || 1);
        Plan::new(g.store(), &[a.id(), a.id()]);
    }
}
