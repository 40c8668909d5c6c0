//! What a task of a multi-node graph can take as inputs: the forms of
//! [`crate::inputs`], with `delayed::mpi::Delayed` handles.
//!
//! | `inputs` given to [`Graph::task`](super::Graph::task) | the closure receives |
//! |---|---|
//! | `&Delayed<A>` | `&A` |
//! | `(&Delayed<A>, &Delayed<B>, ...)`, up to 8 | `(&A, &B, ...)` |
//! | `&[Delayed<A>]`, `&Vec<Delayed<A>>`, `&[Delayed<A>; N]` | [`Values<A>`](crate::Values): iterates `&A` in order |
//! | `&[&Delayed<A>]`, `&Vec<&Delayed<A>>`, `&[&Delayed<A>; N]` | [`Values<A>`](crate::Values), the same |

use super::{Delayed, Graph};
use crate::api::inputs_impls;
use crate::inputs::Shape;
use crate::store::InputIds;

mod sealed {
    pub trait Inputs {}
}

/// The inputs of a task of a multi-node graph: a `&Delayed`, a tuple of
/// them, or a list of them, as on one node. Implemented only by this crate.
///
/// ```no_run
/// let cluster = delayed::mpi::Cluster::init()?;
/// let g = cluster.graph();
/// let (x, y) = (g.delayed("x", || 1i64), g.delayed("y", || 2i64));
/// let xs = vec![x.clone(), y.clone()];
/// let a = g.task("inc", &x, |v| v + 1);
/// let b = g.task("add", (&x, &y), |(a, b)| a + b);
/// let c = g.task("sum", &xs, |vals| vals.into_iter().sum::<i64>());
/// assert_eq!(delayed::mpi::compute((&a, &b, &c))?, (2, 3, 3));
/// # Ok::<(), delayed::Error>(())
/// ```
pub trait Inputs: sealed::Inputs {
    /// What the closure receives, as for [`crate::Inputs`].
    type Shape: Shape;

    /// The ids of the input nodes, in order, after checking that they
    /// belong to `graph`.
    #[doc(hidden)]
    fn input_ids(&self, graph: &Graph) -> InputIds;
}

/// The argument a task's closure receives for inputs `I`, borrowed for `'a`.
pub type Refs<'a, I> = <<I as Inputs>::Shape as Shape>::Refs<'a>;

inputs_impls!(
    inputs: Inputs,
    sealed: sealed::Inputs,
    handle: Delayed,
    graph: Graph,
    api: "delayed::mpi",
);
