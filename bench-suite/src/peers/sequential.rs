//! The sequential loop: every node in index order, which is a topological
//! order for every [`Dag`]. The floor any parallel system is measured from.

use crate::dag::{index, Dag};

/// Runs `task` on every node of `dag`, in order, in the calling thread.
pub fn run<F: Fn(u32)>(dag: &Dag, task: &F) {
    for i in 0..index(dag.nodes()) {
        task(i);
    }
}
