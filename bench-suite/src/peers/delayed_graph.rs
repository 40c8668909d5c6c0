//! A [`Dag`] as a `delayed` graph: one task per node, taking its inputs'
//! results, as a user of the library would write it. Inputs are passed by
//! reference (a tuple of `&Delayed` for up to four inputs, a slice of the
//! node list for the independent tasks' sink), so building clones no handle.

use delayed::{Delayed, Executor, Graph};

use crate::dag::{index, Dag};

/// A built graph and the result a compute asks for.
pub struct DelayedGraph {
    sink: Delayed<()>,
}

impl DelayedGraph {
    /// Adds one task per node of `dag` to a new `Graph`; each runs `task`
    /// with its node number. The handles of all but the sink are dropped
    /// before returning, as in a program that keeps only the result.
    pub fn build<F>(dag: &Dag, task: F) -> Self
    where
        F: Fn(u32) + Clone + Send + Sync + 'static,
    {
        let g = Graph::new();
        let inputs = dag.inputs();
        let mut nodes: Vec<Delayed<()>> = Vec::with_capacity(dag.nodes());
        for i in 0..index(dag.nodes()) {
            let t = task.clone();
            let ids = inputs.of(i);
            let d = |k: usize| &nodes[ids[k] as usize];
            let node = match ids.len() {
                0 => g.delayed("noop", move || t(i)),
                1 => g.task("noop", d(0), move |_| t(i)),
                2 => g.task("noop", (d(0), d(1)), move |_| t(i)),
                3 => g.task("noop", (d(0), d(1), d(2)), move |_| t(i)),
                4 => g.task("noop", (d(0), d(1), d(2), d(3)), move |_| t(i)),
                n if is_prefix(ids) => g.task("noop", &nodes[..n], move |_| t(i)),
                _ => {
                    let list: Vec<Delayed<()>> =
                        ids.iter().map(|&j| nodes[j as usize].clone()).collect();
                    g.task("noop", &list, move |_| t(i))
                }
            };
            nodes.push(node);
        }
        let sink = nodes.pop().expect("a Dag has at least one node");
        DelayedGraph { sink }
    }

    /// Computes the sink (so every node) on `ex`.
    ///
    /// # Panics
    /// If a task panics (the overhead tasks never do).
    pub fn compute_on(&self, ex: &Executor) {
        self.sink.compute_on(ex).expect("no-op tasks do not fail");
    }
}

/// Whether `ids` is `0, 1, ..., len - 1`: the inputs are a prefix of the
/// node list, which can be passed as a slice without cloning handles.
fn is_prefix(ids: &[u32]) -> bool {
    ids.iter().enumerate().all(|(k, &j)| j as usize == k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::Shape;

    /// `delayed` passes real values too: a sum over the graph's inputs, as
    /// the sequential loop computes it.
    #[test]
    fn values_flow_through_the_inputs() {
        let dag = Shape::Wavefront.dag(8);
        let g = Graph::new();
        let mut nodes: Vec<Delayed<u64>> = Vec::new();
        let mut expected = Vec::new();
        for i in 0..index(dag.nodes()) {
            let ids = dag.inputs().of(i);
            let own = u64::from(i) + 1;
            let value = own
                + ids
                    .iter()
                    .map(|&j| expected[j as usize])
                    .fold(0u64, u64::wrapping_add);
            expected.push(value);
            let list: Vec<Delayed<u64>> = ids.iter().map(|&j| nodes[j as usize].clone()).collect();
            nodes.push(g.task("sum", &list, move |vals| {
                own + vals.into_iter().fold(0u64, |a, &b| a.wrapping_add(b))
            }));
        }
        let ex = Executor::builder().workers(2).build().unwrap();
        assert_eq!(
            nodes.last().unwrap().compute_on(&ex).unwrap(),
            *expected.last().unwrap()
        );
    }
}
