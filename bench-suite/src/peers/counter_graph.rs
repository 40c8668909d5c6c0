//! What a hand-written scheduler needs to run a [`Dag`] by counting: each
//! node's successors and its number of inputs. The rayon peers and the naive
//! pool share it; building it is their "build" time.

use std::sync::atomic::AtomicU32;

use crate::dag::{index, Adjacency, Dag};

/// Successor lists, input counts and the nodes that are ready at the start.
#[derive(Debug)]
pub struct CounterGraph {
    successors: Adjacency,
    input_counts: Vec<u32>,
    roots: Vec<u32>,
    sink: u32,
}

impl CounterGraph {
    /// Walks `dag` once to build the successor lists and input counts.
    pub fn new(dag: &Dag) -> Self {
        let inputs = dag.inputs();
        let input_counts: Vec<u32> = (0..index(dag.nodes())).map(|i| inputs.degree(i)).collect();
        let roots = (0..index(dag.nodes()))
            .filter(|&i| input_counts[i as usize] == 0)
            .collect();
        CounterGraph {
            successors: dag.successors(),
            input_counts,
            roots,
            sink: dag.sink(),
        }
    }

    /// The number of nodes.
    pub fn nodes(&self) -> usize {
        self.input_counts.len()
    }

    /// The successors of node `i`.
    #[inline]
    pub fn successors(&self, i: u32) -> &[u32] {
        self.successors.of(i)
    }

    /// The nodes without inputs, ready when a run starts.
    pub fn roots(&self) -> &[u32] {
        &self.roots
    }

    /// The graph's only sink: when it has run, every node has.
    pub fn sink(&self) -> u32 {
        self.sink
    }

    /// Fresh per-run counters: each node's number of inputs not yet done.
    pub fn pending(&self) -> Vec<AtomicU32> {
        self.input_counts
            .iter()
            .map(|&c| AtomicU32::new(c))
            .collect()
    }

    /// Bytes held by the lists.
    pub fn heap_bytes(&self) -> usize {
        self.successors.heap_bytes() + (self.input_counts.capacity() + self.roots.capacity()) * 4
    }
}
