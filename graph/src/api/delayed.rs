//! `Delayed<T>`: a handle to the future result of one task.

use std::fmt;
use std::marker::PhantomData;

use super::compute;
use super::graph::{Graph, WeakGraph};
use super::handle_impls;
use crate::{Error, Executor};

/// The future result of a task in a [`Graph`]: nothing runs until it is
/// computed.
///
/// A `Delayed<T>` is a cheap handle (the graph and the task's key); cloning
/// it does not clone the task, and `T` need not be `Clone`.
///
/// ```
/// use delayed::{Delayed, Graph};
///
/// let g = Graph::new();
/// let x: Delayed<i64> = g.delayed("inc", || 1 + 1);
/// let y = g.task("double", &x, |v| v * 2);
/// assert_eq!(y.compute()?, 4);
/// assert_eq!(y.compute()?, 4); // each compute runs the tasks afresh
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// A handle is invariant in `T`: its task's output is stored as exactly a
/// `T` and handed back as one, so a `Delayed<T>` is never a `Delayed` of a
/// supertype of `T` (which, covariant, made a compute read a value as a
/// type it was not made as, and panic):
///
/// ```compile_fail,E0308
/// use delayed::{Delayed, Graph};
///
/// let g = Graph::new();
/// let f: Delayed<for<'a> fn(&'a str) -> usize> =
///     g.delayed("f", || (|s: &str| s.len()) as for<'a> fn(&'a str) -> usize);
/// let f2: Delayed<fn(&'static str) -> usize> = f;
/// ```
pub struct Delayed<T> {
    graph: Graph,
    id: u32,
    /// Invariant in `T` (see above); `Send` and `Sync` whatever `T` is.
    _output: PhantomData<fn(T) -> T>,
}

/// A [`Delayed`] that does not keep its graph alive, made by
/// [`Delayed::downgrade`].
///
/// ```
/// let g = delayed::Graph::new();
/// let x = g.delayed("x", || 1);
/// let weak = x.downgrade();
/// assert_eq!(weak.upgrade().map(|x| x.key()), Some(0));
/// drop((g, x));
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakDelayed<T> {
    graph: WeakGraph,
    id: u32,
    /// Invariant in `T`, as `Delayed<T>` (which `upgrade` makes).
    _output: PhantomData<fn(T) -> T>,
}

impl<T> WeakDelayed<T> {
    /// The handle, if its graph is still alive.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let weak = g.delayed("x", || 1).downgrade();
    /// assert_eq!(weak.upgrade().unwrap().compute()?, 1);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn upgrade(&self) -> Option<Delayed<T>> {
        self.graph
            .upgrade()
            .map(|graph| Delayed::new(graph, self.id))
    }
}

impl<T> Clone for WeakDelayed<T> {
    fn clone(&self) -> Self {
        WeakDelayed {
            graph: self.graph.clone(),
            id: self.id,
            _output: PhantomData,
        }
    }
}

impl<T> fmt::Debug for WeakDelayed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakDelayed")
            .field("key", &self.id)
            .field("graph", &self.graph)
            .finish()
    }
}

impl<T> Delayed<T> {
    /// The graph this task belongs to.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("x", || 1);
    /// let y = x.graph().task("y", &x, |v| v + 1);
    /// assert_eq!(g.len(), 2);
    /// # drop(y);
    /// ```
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// A handle that does not keep the graph alive: what a task of the same
    /// graph captures to compute this result without a reference cycle (see
    /// [`Graph`]'s "Reference cycles").
    ///
    /// ```
    /// let ex = delayed::Executor::builder().workers(1).build()?;
    /// let g = delayed::Graph::new();
    /// let base = g.delayed("base", || 10);
    /// let weak = base.downgrade();
    /// let outer = g.delayed("outer", move || {
    ///     let base = weak.upgrade().expect("alive while the graph computes");
    ///     base.compute().unwrap() + 1
    /// });
    /// assert_eq!(outer.compute_on(&ex)?, 11);
    /// let gone = g.downgrade();
    /// drop((g, base, outer));
    /// assert!(gone.upgrade().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn downgrade(&self) -> WeakDelayed<T> {
        WeakDelayed {
            graph: self.graph.downgrade(),
            id: self.id,
            _output: PhantomData,
        }
    }

    /// The task's key: its index in the graph, in the order tasks were added.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("x", || 1);
    /// let y = g.task("y", &x, |v| v + 1);
    /// assert_eq!((x.key(), y.key()), (0, 1));
    /// ```
    pub fn key(&self) -> usize {
        self.id as usize
    }

    /// The task's name, as given when it was added.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// assert_eq!(g.delayed("inc", || 1).name(), "inc");
    /// ```
    pub fn name(&self) -> &str {
        self.graph.store().name(self.id)
    }
}

impl<T: Send + Sync + 'static> Delayed<T> {
    /// Computes the result on the default executor ([`Executor::global`]),
    /// running only the tasks it depends on, each once.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("inc", || 1 + 1);
    /// assert_eq!(x.compute()?, 2);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    ///
    /// # Errors
    /// If a task panics or returns `Err` (the tasks not yet started are
    /// cancelled), or if the default executor cannot start.
    pub fn compute(&self) -> Result<T, Error> {
        compute::compute(self)
    }

    /// Computes the result on `executor`.
    ///
    /// ```
    /// use delayed::{Executor, Graph};
    ///
    /// let ex = Executor::builder().workers(2).build()?;
    /// let g = Graph::new();
    /// let x = g.delayed("inc", || 1 + 1);
    /// assert_eq!(x.compute_on(&ex)?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// If a task panics or returns `Err`.
    pub fn compute_on(&self, executor: &Executor) -> Result<T, Error> {
        compute::compute_on(self, executor)
    }

    /// Computes the result in the calling thread, one task at a time in a
    /// topological order (Dask's `scheduler="sync"`): for debugging, with a
    /// plain stack trace.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let here = std::thread::current().id();
    /// let x = g.delayed("where", move || std::thread::current().id() == here);
    /// assert!(x.compute_sync()?);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    ///
    /// # Errors
    /// If a task panics or returns `Err`.
    pub fn compute_sync(&self) -> Result<T, Error> {
        compute::compute_sync(self)
    }
}

handle_impls!(handle: Delayed, graph: Graph);
