//! What a task can take as inputs, and what its closure receives for them.
//!
//! | `inputs` given to [`Graph::task`](crate::Graph::task) | the closure receives |
//! |---|---|
//! | `&Delayed<A>` | `&A` |
//! | `(&Delayed<A>, &Delayed<B>, ...)`, up to 8 | `(&A, &B, ...)` |
//! | `&[Delayed<A>]`, `&Vec<Delayed<A>>`, `&[Delayed<A>; N]` | [`Values<A>`]: iterates `&A` in order |
//! | `&[&Delayed<A>]`, `&Vec<&Delayed<A>>`, `&[&Delayed<A>; N]` | [`Values<A>`], the same |
//!
//! The closure's argument type is [`Refs<'a, I>`], a generic associated type,
//! so closures need no type annotations:
//!
//! ```
//! use delayed::Graph;
//!
//! let g = Graph::new();
//! let x = g.delayed("one", || 1i64);
//! let y = g.delayed("two", || 2i64);
//! let xs = vec![x.clone(), y.clone()];
//! let a = g.task("inc", &x, |v| v + 1);
//! let b = g.task("add", (&x, &y), |(a, b)| a + b);
//! let c = g.task("sum", &xs, |vals| vals.into_iter().sum::<i64>());
//! // A list of references: the handles gathered without a clone each.
//! let d = g.task("sum", &[&x, &y, &a], |vals| vals.into_iter().sum::<i64>());
//! assert_eq!(delayed::compute_sync((&a, &b, &c, &d))?, (2, 3, 3, 5));
//! # Ok::<(), delayed::Error>(())
//! ```

use std::iter::FusedIterator;
use std::marker::PhantomData;

use super::delayed::Delayed;
use super::graph::Graph;
use super::inputs_impls;
use crate::store::{Args, InputIds, InputTypes, Output, VTable};

mod sealed {
    pub trait Inputs {}
    pub trait Shape {}
}

/// The inputs of a task: a `&Delayed`, a tuple of them, or a list of them.
///
/// See the [module documentation](self) for what each form gives the
/// closure. Implemented only by this crate.
pub trait Inputs: sealed::Inputs {
    /// The `'static` description of these inputs, which fixes the closure's
    /// argument type [`Refs`].
    type Shape: Shape;

    /// The ids of the input nodes, in order, after checking that they belong
    /// to `graph`.
    #[doc(hidden)]
    fn input_ids(&self, graph: &Graph) -> InputIds;
}

/// How a task's inputs turn into its closure's argument.
///
/// Implemented only by this crate.
pub trait Shape: sealed::Shape + 'static {
    /// The closure's argument: references into the run's input values,
    /// valid during the call.
    type Refs<'a>;

    /// Reads the argument from the task's input values.
    #[doc(hidden)]
    fn refs(args: Args<'_>) -> Self::Refs<'_>;

    /// The value types of the inputs, in order; a list's one entry stands
    /// for all its inputs. What a run needs to drop an input's value
    /// (`Task::input_vtable`), and to know whether it must count its reads.
    #[doc(hidden)]
    const INPUT_OUTPUTS: &'static [&'static VTable];
}

// Every shape gives its closure's input types (`TaskFn::new`).
impl<S: Shape> InputTypes for S {
    const OUTPUTS: &'static [&'static VTable] = S::INPUT_OUTPUTS;
}

/// The argument a task's closure receives for inputs `I`, borrowed for `'a`.
///
/// ```
/// use delayed::{inputs::Refs, Delayed};
///
/// fn add<'a>((a, b): Refs<'a, (&Delayed<i64>, &Delayed<i64>)>) -> i64 {
///     a + b
/// }
/// let g = delayed::Graph::new();
/// let (x, y) = (g.delayed("x", || 1i64), g.delayed("y", || 2i64));
/// assert_eq!(g.task("add", (&x, &y), add).compute_sync()?, 3);
/// # Ok::<(), delayed::Error>(())
/// ```
pub type Refs<'a, I> = <<I as Inputs>::Shape as Shape>::Refs<'a>;

/// The shape of a single input `A`: the closure gets `&A`.
pub struct One<A>(PhantomData<fn() -> A>);

impl<A> sealed::Shape for One<A> {}
impl<A: Send + Sync + 'static> Shape for One<A> {
    type Refs<'a> = &'a A;

    fn refs(args: Args<'_>) -> &A {
        // SAFETY: the one input is the `Delayed<A>` the task was built from.
        unsafe { args.get(0) }
    }

    const INPUT_OUTPUTS: &'static [&'static VTable] = &[Output::<A>::VTABLE];
}

/// The shape of a list of inputs of type `A`: the closure gets [`Values<A>`].
pub struct List<A>(PhantomData<fn() -> A>);

impl<A> sealed::Shape for List<A> {}
impl<A: Send + Sync + 'static> Shape for List<A> {
    type Refs<'a> = Values<'a, A>;

    fn refs(args: Args<'_>) -> Values<'_, A> {
        Values {
            args,
            _values: PhantomData,
        }
    }

    const INPUT_OUTPUTS: &'static [&'static VTable] = &[Output::<A>::VTABLE];
}

inputs_impls!(
    inputs: Inputs,
    sealed: sealed::Inputs,
    handle: Delayed,
    graph: Graph,
    api: "delayed",
);

/// Implements `Shape` for a tuple of types: the shape of the tuple of
/// `&Delayed`s of those types (`inputs_impls!`).
macro_rules! tuple_shapes {
    ($(($A:ident, $k:tt)),+) => {
        impl<$($A),+> sealed::Shape for ($($A,)+) {}
        impl<$($A: Send + Sync + 'static),+> Shape for ($($A,)+) {
            type Refs<'a> = ($(&'a $A,)+);

            fn refs(args: Args<'_>) -> Self::Refs<'_> {
                // SAFETY: input `$k` is the `Delayed<$A>` in place `$k` of
                // the tuple the task was built from.
                unsafe { ($(args.get::<$A>($k),)+) }
            }

            const INPUT_OUTPUTS: &'static [&'static VTable] = &[$(Output::<$A>::VTABLE),+];
        }
    };
}

tuple_shapes!((A, 0));
tuple_shapes!((A, 0), (B, 1));
tuple_shapes!((A, 0), (B, 1), (C, 2));
tuple_shapes!((A, 0), (B, 1), (C, 2), (D, 3));
tuple_shapes!((A, 0), (B, 1), (C, 2), (D, 3), (E, 4));
tuple_shapes!((A, 0), (B, 1), (C, 2), (D, 3), (E, 4), (F, 5));
tuple_shapes!((A, 0), (B, 1), (C, 2), (D, 3), (E, 4), (F, 5), (G, 6));
tuple_shapes!(
    (A, 0),
    (B, 1),
    (C, 2),
    (D, 3),
    (E, 4),
    (F, 5),
    (G, 6),
    (H, 7)
);

/// The values of a list input, in the order of the list, borrowed for the
/// duration of the task's call.
///
/// ```
/// use delayed::Graph;
///
/// let g = Graph::new();
/// let xs: Vec<_> = (1..=4i64).map(|i| g.delayed("x", move || i)).collect();
/// let stats = g.task("stats", &xs, |vals| {
///     let max = vals.iter().max().copied();
///     (vals.len(), vals.get(0).copied(), max, vals.into_iter().sum::<i64>())
/// });
/// assert_eq!(stats.compute_sync()?, (4, Some(1), Some(4), 10));
/// # Ok::<(), delayed::Error>(())
/// ```
pub struct Values<'a, A> {
    args: Args<'a>,
    _values: PhantomData<&'a A>,
}

impl<A> Clone for Values<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for Values<'_, A> {}

impl<'a, A: Send + Sync + 'static> Values<'a, A> {
    /// Number of values.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let xs = [g.delayed("x", || 1u8), g.delayed("y", || 2u8)];
    /// assert_eq!(g.task("n", &xs, |vals| vals.len()).compute_sync()?, 2);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// Whether the list is empty.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let xs: Vec<delayed::Delayed<u8>> = Vec::new();
    /// assert!(g.task("none", &xs, |vals| vals.is_empty()).compute_sync()?);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `index`, if there is one.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let xs = [g.delayed("x", || 1u8), g.delayed("y", || 2u8)];
    /// let second = g.task("second", &xs, |vals| vals.get(1).copied());
    /// assert_eq!(second.compute_sync()?, Some(2));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn get(&self, index: usize) -> Option<&'a A> {
        // SAFETY: every input of a list task is a `Delayed<A>` of the list
        // it was built from.
        (index < self.len()).then(|| unsafe { self.args.get(index) })
    }

    /// Iterates over the values, in order.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let xs = [g.delayed("x", || 1u8), g.delayed("y", || 2u8)];
    /// let v = g.task("collect", &xs, |vals| vals.iter().copied().collect::<Vec<_>>());
    /// assert_eq!(v.compute_sync()?, vec![1, 2]);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn iter(&self) -> ValuesIter<'a, A> {
        ValuesIter {
            values: *self,
            front: 0,
            back: self.len(),
        }
    }
}

impl<'a, A: Send + Sync + 'static> IntoIterator for Values<'a, A> {
    type Item = &'a A;
    type IntoIter = ValuesIter<'a, A>;

    fn into_iter(self) -> ValuesIter<'a, A> {
        self.iter()
    }
}

impl<'a, A: Send + Sync + 'static> IntoIterator for &Values<'a, A> {
    type Item = &'a A;
    type IntoIter = ValuesIter<'a, A>;

    fn into_iter(self) -> ValuesIter<'a, A> {
        self.iter()
    }
}

/// Iterator over [`Values`], made by [`Values::iter`].
///
/// ```
/// let g = delayed::Graph::new();
/// let xs = [g.delayed("x", || 1u8), g.delayed("y", || 2u8)];
/// let last = g.task("last", &xs, |vals| vals.iter().next_back().copied());
/// assert_eq!(last.compute_sync()?, Some(2));
/// # Ok::<(), delayed::Error>(())
/// ```
pub struct ValuesIter<'a, A> {
    values: Values<'a, A>,
    front: usize,
    back: usize,
}

impl<'a, A: Send + Sync + 'static> Iterator for ValuesIter<'a, A> {
    type Item = &'a A;

    fn next(&mut self) -> Option<&'a A> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        // SAFETY: as in `Values::get`.
        Some(unsafe { self.values.args.get(self.front - 1) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl<A: Send + Sync + 'static> DoubleEndedIterator for ValuesIter<'_, A> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        // SAFETY: as in `Values::get`.
        Some(unsafe { self.values.args.get(self.back) })
    }
}

impl<A: Send + Sync + 'static> ExactSizeIterator for ValuesIter<'_, A> {}
impl<A: Send + Sync + 'static> FusedIterator for ValuesIter<'_, A> {}
