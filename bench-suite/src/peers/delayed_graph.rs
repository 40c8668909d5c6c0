//! A [`Dag`] as a `delayed` graph: one task per node, taking its inputs'
//! results, as a user of the library would write it. Inputs are passed by
//! reference (a tuple of `&Delayed` for up to four inputs, a slice of the
//! node list for the independent tasks' sink), so building clones no handle.
//!
//! Each task returns `()`, or an [`Owned`]: a value with a destructor, whose
//! consumers the run counts so that the last one drops it.

use delayed::{Delayed, Executor, Graph};

use crate::dag::{index, Dag};

/// A built graph and the result a compute asks for.
pub enum DelayedGraph {
    /// Tasks returning `()`.
    Unit(Delayed<()>),
    /// Tasks returning an [`Owned`].
    Owned(Delayed<Owned>),
}

/// A task's result with a destructor (that allocates nothing): the run
/// counts its consumers and the last one drops it, as for a `Vec` or a
/// `String`, without the allocator's cost in the numbers.
pub struct Owned(u32);

impl Drop for Owned {
    fn drop(&mut self) {
        std::hint::black_box(self.0);
    }
}

/// What a benchmark task returns.
trait Output: Send + Sync + 'static {
    fn of(node: u32) -> Self;
}

impl Output for () {
    fn of(_: u32) {}
}

impl Output for Owned {
    fn of(node: u32) -> Owned {
        Owned(node)
    }
}

impl DelayedGraph {
    /// Adds one task per node of `dag` to a new `Graph`; each runs `task`
    /// with its node number and returns `()`, or an [`Owned`] if `owned`.
    /// The handles of all but the sink are dropped before returning, as in
    /// a program that keeps only the result.
    pub fn build<F>(dag: &Dag, task: F, owned: bool) -> Self
    where
        F: Fn(u32) + Clone + Send + Sync + 'static,
    {
        if owned {
            DelayedGraph::Owned(build(dag, task))
        } else {
            DelayedGraph::Unit(build(dag, task))
        }
    }

    /// Computes the sink (so every node) on `ex`.
    ///
    /// # Panics
    /// If a task panics (the overhead tasks never do).
    pub fn compute_on(&self, ex: &Executor) {
        let done = match self {
            DelayedGraph::Unit(sink) => sink.compute_on(ex).map(drop),
            DelayedGraph::Owned(sink) => sink.compute_on(ex).map(drop),
        };
        done.expect("no-op tasks do not fail");
    }
}

/// `DelayedGraph::build` for tasks returning `T`.
fn build<T: Output, F>(dag: &Dag, task: F) -> Delayed<T>
where
    F: Fn(u32) + Clone + Send + Sync + 'static,
{
    let g = Graph::new();
    let inputs = dag.inputs();
    let mut nodes: Vec<Delayed<T>> = Vec::with_capacity(dag.nodes());
    for i in 0..index(dag.nodes()) {
        let t = task.clone();
        let run = move || {
            t(i);
            T::of(i)
        };
        let ids = inputs.of(i);
        let d = |k: usize| &nodes[ids[k] as usize];
        let node = match ids.len() {
            0 => g.delayed("noop", run),
            1 => g.task("noop", d(0), move |_| run()),
            2 => g.task("noop", (d(0), d(1)), move |_| run()),
            3 => g.task("noop", (d(0), d(1), d(2)), move |_| run()),
            4 => g.task("noop", (d(0), d(1), d(2), d(3)), move |_| run()),
            n if is_prefix(ids) => g.task("noop", &nodes[..n], move |_| run()),
            _ => {
                let list: Vec<Delayed<T>> =
                    ids.iter().map(|&j| nodes[j as usize].clone()).collect();
                g.task("noop", &list, move |_| run())
            }
        };
        nodes.push(node);
    }
    nodes.pop().expect("a Dag has at least one node")
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
