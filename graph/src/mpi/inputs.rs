//! What a task of a multi-node graph can take as inputs: the forms of
//! [`crate::inputs`], with `delayed::mpi::Delayed` handles.
//!
//! | `inputs` given to [`Graph::task`](super::Graph::task) | the closure receives |
//! |---|---|
//! | `&Delayed<A>` | `&A` |
//! | `(&Delayed<A>, &Delayed<B>, ...)`, up to 8 | `(&A, &B, ...)` |
//! | `&[Delayed<A>]`, `&Vec<Delayed<A>>`, `&[Delayed<A>; N]` | [`Values<A>`](crate::Values): iterates `&A` in order |

use super::{Delayed, Graph};
use crate::inputs::{List, One, Shape};
use crate::store::{any_has_drop, InputIds};

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

/// The ids of `inputs`, marked with whether their values may have something
/// to drop (as `delayed::Graph` does).
pub(crate) fn marked_ids<I: Inputs>(graph: &Graph, inputs: &I) -> InputIds {
    inputs
        .input_ids(graph)
        .with_values_to_drop(const { any_has_drop(<I::Shape as Shape>::INPUT_OUTPUTS) })
}

/// Checks that `input` belongs to `graph`.
fn id_in<A>(graph: &Graph, input: &Delayed<A>) -> u32 {
    assert!(
        input.graph().same(graph),
        "delayed::mpi: input {input:?} belongs to another Graph"
    );
    input.id()
}

impl<A> sealed::Inputs for &Delayed<A> {}
impl<A: Send + Sync + 'static> Inputs for &Delayed<A> {
    type Shape = One<A>;

    fn input_ids(&self, graph: &Graph) -> InputIds {
        InputIds::from(&[id_in(graph, self)][..])
    }
}

impl<A> sealed::Inputs for &[Delayed<A>] {}
impl<A: Send + Sync + 'static> Inputs for &[Delayed<A>] {
    type Shape = List<A>;

    fn input_ids(&self, graph: &Graph) -> InputIds {
        self.iter().map(|input| id_in(graph, input)).collect()
    }
}

impl<A> sealed::Inputs for &Vec<Delayed<A>> {}
impl<A: Send + Sync + 'static> Inputs for &Vec<Delayed<A>> {
    type Shape = List<A>;

    fn input_ids(&self, graph: &Graph) -> InputIds {
        self.as_slice().input_ids(graph)
    }
}

impl<A, const N: usize> sealed::Inputs for &[Delayed<A>; N] {}
impl<A: Send + Sync + 'static, const N: usize> Inputs for &[Delayed<A>; N] {
    type Shape = List<A>;

    fn input_ids(&self, graph: &Graph) -> InputIds {
        self.as_slice().input_ids(graph)
    }
}

/// `Inputs` for the tuple of `&Delayed`s of some types, whose shape is the
/// tuple of those types (as on one node).
macro_rules! tuple_inputs {
    ($(($A:ident, $k:tt)),+) => {
        impl<$($A),+> sealed::Inputs for ($(&Delayed<$A>,)+) {}
        impl<$($A: Send + Sync + 'static),+> Inputs for ($(&Delayed<$A>,)+) {
            type Shape = ($($A,)+);

            fn input_ids(&self, graph: &Graph) -> InputIds {
                InputIds::from(&[$(id_in(graph, self.$k)),+][..])
            }
        }
    };
}

tuple_inputs!((A, 0));
tuple_inputs!((A, 0), (B, 1));
tuple_inputs!((A, 0), (B, 1), (C, 2));
tuple_inputs!((A, 0), (B, 1), (C, 2), (D, 3));
tuple_inputs!((A, 0), (B, 1), (C, 2), (D, 3), (E, 4));
tuple_inputs!((A, 0), (B, 1), (C, 2), (D, 3), (E, 4), (F, 5));
tuple_inputs!((A, 0), (B, 1), (C, 2), (D, 3), (E, 4), (F, 5), (G, 6));
tuple_inputs!(
    (A, 0),
    (B, 1),
    (C, 2),
    (D, 3),
    (E, 4),
    (F, 5),
    (G, 6),
    (H, 7)
);
