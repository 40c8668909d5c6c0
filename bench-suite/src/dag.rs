//! A task graph as plain data: `n` nodes numbered in a topological order,
//! each with the list of its inputs, stored as a compressed adjacency list.
//!
//! Every shape in [`crate::shapes`] produces a [`Dag`]; every system in
//! [`crate::peers`] runs one. Keeping the graph as data, apart from any
//! system, is what lets all of them run the very same graph.

/// A compressed adjacency list (CSR): the neighbours of node `i` are
/// `targets[offsets[i]..offsets[i + 1]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjacency {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl Adjacency {
    /// Builds an adjacency list from the neighbour list of each node, in order.
    pub fn from_lists<I, L>(lists: I) -> Self
    where
        I: IntoIterator<Item = L>,
        L: IntoIterator<Item = u32>,
    {
        let mut offsets = vec![0];
        let mut targets = Vec::new();
        for list in lists {
            targets.extend(list);
            offsets.push(index(targets.len()));
        }
        Adjacency { offsets, targets }
    }

    /// The number of nodes.
    pub fn nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The number of edges.
    pub fn edges(&self) -> usize {
        self.targets.len()
    }

    /// The neighbours of node `i`.
    #[inline]
    pub fn of(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.targets[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// The number of neighbours of node `i`.
    #[inline]
    pub fn degree(&self, i: u32) -> u32 {
        let i = i as usize;
        self.offsets[i + 1] - self.offsets[i]
    }

    /// The same edges, reversed: if `j` is a neighbour of `i` here, `i` is a
    /// neighbour of `j` in the result. Neighbours stay in ascending order of
    /// source node.
    pub fn reversed(&self) -> Adjacency {
        let n = self.nodes();
        let mut counts = vec![0u32; n + 1];
        for &t in &self.targets {
            counts[t as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let offsets = counts.clone();
        let mut next = counts;
        let mut targets = vec![0u32; self.targets.len()];
        for i in 0..n {
            let i = index(i);
            for &t in self.of(i) {
                let slot = &mut next[t as usize];
                targets[*slot as usize] = i;
                *slot += 1;
            }
        }
        Adjacency { offsets, targets }
    }

    /// Bytes held by the two arrays.
    pub fn heap_bytes(&self) -> usize {
        (self.offsets.capacity() + self.targets.capacity()) * size_of::<u32>()
    }
}

/// A directed acyclic graph of tasks. Node `i`'s inputs all have numbers below
/// `i`, so `0..n` is a topological order, and the last node is the only sink
/// (every shape here ends in one node that depends, directly or not, on all
/// others, the node a `compute()` asks for).
#[derive(Clone, Debug)]
pub struct Dag {
    name: String,
    inputs: Adjacency,
}

impl Dag {
    /// Wraps an input list as a graph.
    ///
    /// # Panics
    /// If a node names an input that does not come before it, or if a node
    /// other than the last one has no successor.
    pub fn new(name: impl Into<String>, inputs: Adjacency) -> Self {
        let n = inputs.nodes();
        assert!(n > 0, "a graph has at least one node");
        let mut has_successor = vec![false; n];
        for i in 0..index(n) {
            for &input in inputs.of(i) {
                assert!(
                    input < i,
                    "node {i} names input {input}, not an earlier node"
                );
                has_successor[input as usize] = true;
            }
        }
        if let Some(sink) = has_successor[..n - 1].iter().position(|&s| !s) {
            panic!("node {sink} is a second sink; only the last node may be one");
        }
        Dag {
            name: name.into(),
            inputs,
        }
    }

    /// The shape's name, as the tables print it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of nodes (tasks).
    pub fn nodes(&self) -> usize {
        self.inputs.nodes()
    }

    /// The number of edges (input relations).
    pub fn edges(&self) -> usize {
        self.inputs.edges()
    }

    /// The inputs of every node.
    pub fn inputs(&self) -> &Adjacency {
        &self.inputs
    }

    /// The successors of every node (the reversed inputs), which is what a
    /// system that runs the graph by counting pending inputs walks.
    pub fn successors(&self) -> Adjacency {
        self.inputs.reversed()
    }

    /// The only sink, the last node.
    pub fn sink(&self) -> u32 {
        index(self.nodes() - 1)
    }

    /// The length of the longest path, in nodes (the critical path).
    pub fn depth(&self) -> usize {
        let mut depth = vec![0u32; self.nodes()];
        for i in 0..index(self.nodes()) {
            let longest_input = self.inputs.of(i).iter().map(|&j| depth[j as usize]).max();
            depth[i as usize] = longest_input.unwrap_or(0) + 1;
        }
        depth.last().copied().unwrap_or(0) as usize
    }
}

/// A node number as stored (`u32`, which halves the graph's memory).
///
/// # Panics
/// If `i` does not fit in 32 bits.
pub fn index(i: usize) -> u32 {
    u32::try_from(i).expect("graphs here have fewer than 2^32 nodes and edges")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diamond() -> Dag {
        Dag::new(
            "diamond",
            Adjacency::from_lists([vec![], vec![0], vec![0], vec![1, 2]]),
        )
    }

    #[test]
    fn counts_and_neighbours() {
        let dag = diamond();
        assert_eq!(dag.nodes(), 4);
        assert_eq!(dag.edges(), 4);
        assert_eq!(dag.inputs().of(3), &[1, 2]);
        assert_eq!(dag.sink(), 3);
        assert_eq!(dag.depth(), 3);
    }

    #[test]
    fn successors_reverse_the_inputs() {
        let succ = diamond().successors();
        assert_eq!(succ.of(0), &[1, 2]);
        assert_eq!(succ.of(1), &[3]);
        assert_eq!(succ.of(2), &[3]);
        assert_eq!(succ.of(3), &[] as &[u32]);
        assert_eq!(succ.reversed(), diamond().inputs().clone());
    }

    #[test]
    #[should_panic(expected = "not an earlier node")]
    fn rejects_a_forward_input() {
        Dag::new("bad", Adjacency::from_lists([vec![1], vec![]]));
    }

    #[test]
    #[should_panic(expected = "second sink")]
    fn rejects_two_sinks() {
        Dag::new("bad", Adjacency::from_lists([vec![], vec![], vec![0]]));
    }
}
