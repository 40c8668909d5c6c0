//! `Graph`: the handle through which tasks are added.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Weak};

use super::delayed::Delayed;
use super::inputs::{Inputs, Refs, Shape};
use super::task_builders;
use crate::store::{any_has_drop, Args, BoxError, InputIds, InputTypes, Store};

/// A lazy task graph: a cheap, cloneable handle to shared, append-only storage.
///
/// Adding a task runs nothing: it stores the closure and returns a
/// [`Delayed`] handle to the task's future result. Clones of a `Graph` share
/// the same tasks, and any thread may add tasks at any time, also while a
/// compute of the same graph runs.
///
/// ```
/// use delayed::Graph;
///
/// let g = Graph::new();
/// let x = g.delayed("inc", || 1 + 1);
/// let y = g.delayed("inc", || 2 + 1);
/// let z = g.task("add", (&x, &y), |(a, b)| a + b);
/// assert_eq!(g.len(), 3);
/// assert_eq!(z.compute()?, 5);
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Reference cycles
///
/// The graph owns its tasks' closures. A closure that captures the `Graph`
/// itself, or a [`Delayed`] of it (to grow or compute its own graph from
/// inside a task), makes a cycle, as with `Rc`: the graph, and whatever its
/// closures hold (an [`Executor`](crate::Executor) handle, say), is never
/// freed. Capture a [`WeakGraph`] (or a [`WeakDelayed`](crate::WeakDelayed),
/// from [`Delayed::downgrade`]) instead and upgrade it in the task:
///
/// ```
/// let g = delayed::Graph::new();
/// let weak = g.downgrade();
/// let grows = g.delayed("grows", move || {
///     let g = weak.upgrade().expect("the graph is alive while it computes");
///     g.delayed("inner", || 20).compute().unwrap() + 1
/// });
/// assert_eq!(grows.compute()?, 21);
/// let gone = g.downgrade();
/// drop((g, grows));
/// assert!(gone.upgrade().is_none(), "no cycle: the graph was freed");
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone)]
pub struct Graph {
    store: Arc<Store>,
}

/// A handle to a [`Graph`] that does not keep it alive, made by
/// [`Graph::downgrade`]: what a task captures to reach its own graph
/// without a reference cycle.
///
/// ```
/// let g = delayed::Graph::new();
/// let weak = g.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(g);
/// assert!(weak.upgrade().is_none());
/// ```
#[derive(Clone)]
pub struct WeakGraph {
    store: Weak<Store>,
}

impl WeakGraph {
    /// The graph, if some `Graph` or `Delayed` handle still keeps it alive.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// assert_eq!(g.downgrade().upgrade().map(|g| g.len()), Some(0));
    /// ```
    pub fn upgrade(&self) -> Option<Graph> {
        self.store.upgrade().map(|store| Graph { store })
    }
}

impl fmt::Debug for WeakGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakGraph")
            .field("alive", &(self.store.strong_count() > 0))
            .finish()
    }
}

impl Graph {
    /// An empty graph.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// assert!(g.is_empty());
    /// ```
    pub fn new() -> Graph {
        Graph {
            store: Arc::new(Store::new()),
        }
    }

    /// A handle that does not keep the graph alive (see "Reference
    /// cycles" above).
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let weak = g.downgrade();
    /// weak.upgrade().unwrap().delayed("added through the weak handle", || 1);
    /// assert_eq!(g.len(), 1);
    /// ```
    pub fn downgrade(&self) -> WeakGraph {
        WeakGraph {
            store: Arc::downgrade(&self.store),
        }
    }

    /// Number of tasks in the graph.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// g.delayed("one", || 1);
    /// assert_eq!(g.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the graph has no task.
    ///
    /// ```
    /// assert!(delayed::Graph::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // `delayed`, `try_delayed`, `task` and `try_task` (`task_builders.rs`).
    task_builders! {
        output: [Send + Sync + 'static],
        /// Adds a task without inputs that returns `f()`.
        ///
        /// `name` labels the task in errors and pictures (Dask uses the function's name).
        ///
        /// ```
        /// let g = delayed::Graph::new();
        /// let x = g.delayed("answer", || 42);
        /// assert_eq!(x.compute()?, 42);
        /// # Ok::<(), delayed::Error>(())
        /// ```
        ///
        /// The closure and its result cross threads, so both must be `Send`,
        /// `Sync` and `'static`:
        ///
        /// ```compile_fail
        /// let g = delayed::Graph::new();
        /// let rc = std::rc::Rc::new(1);
        /// g.delayed("rc", move || *rc); // Rc is neither Send nor Sync
        /// ```
        ///
        /// ```compile_fail
        /// let g = delayed::Graph::new();
        /// let local = 5;
        /// g.delayed("borrow", || local + 1); // borrows a local: not 'static
        /// ```
        ///
        /// ```compile_fail
        /// let g = delayed::Graph::new();
        /// g.delayed("rc", || std::rc::Rc::new(1)); // the result is not Send
        /// ```
        ///
        /// ```compile_fail
        /// let g = delayed::Graph::new();
        /// let cell = std::cell::Cell::new(1);
        /// g.delayed("cell", move || cell.get()); // Cell is not Sync
        /// ```
        fn delayed;

        /// Adds a task without inputs that may fail: an `Err` from `f` ends the
        /// compute with an [`Error`](crate::Error) whose `source()` is that error.
        ///
        /// ```
        /// let g = delayed::Graph::new();
        /// let port = g.try_delayed("port", || "80a".parse::<u16>());
        /// assert!(port.compute().is_err());
        /// ```
        fn try_delayed;

        /// Adds a task that computes `f` from the results of `inputs`.
        ///
        /// `inputs` is a `&Delayed<A>` (`f` gets `&A`), a tuple of up to 8
        /// `&Delayed`s (`f` gets a tuple of references), or a list: `&[Delayed<A>]`,
        /// `&Vec<Delayed<A>>` or `&[Delayed<A>; N]` (`f` gets [`Values<A>`](crate::Values),
        /// whose `into_iter()` yields `&A` in order). See [`inputs`](crate::inputs).
        ///
        /// ```
        /// let g = delayed::Graph::new();
        /// let x = g.delayed("x", || 2i64);
        /// let y = g.delayed("y", || 3i64);
        /// let sq = g.task("square", &x, |v| v * v);
        /// let add = g.task("add", (&sq, &y), |(a, b)| a + b);
        /// let xs = vec![x, y, sq, add.clone()];
        /// let sum = g.task("sum", &xs, |vals| vals.into_iter().sum::<i64>());
        /// assert_eq!(delayed::compute((&add, &sum))?, (7, 16));
        /// # Ok::<(), delayed::Error>(())
        /// ```
        ///
        /// # Panics
        /// If an input belongs to another `Graph`.
        fn task;

        /// Adds a task that may fail: like [`task`](Graph::task), but `f` returns
        /// a `Result`, and an `Err` ends the compute with an
        /// [`Error`](crate::Error) whose `source()` is that error.
        ///
        /// ```
        /// let g = delayed::Graph::new();
        /// let text = g.delayed("text", || String::from("42"));
        /// let n = g.try_task("parse", &text, |t| t.parse::<u8>());
        /// assert_eq!(n.compute()?, 42);
        /// # Ok::<(), delayed::Error>(())
        /// ```
        ///
        /// # Panics
        /// If an input belongs to another `Graph`.
        fn try_task;
    }

    /// The ids of `inputs`, checked and marked with whether their values
    /// may have something to drop.
    fn marked_ids<I: Inputs>(&self, inputs: &I) -> InputIds {
        inputs
            .input_ids(self)
            .with_values_to_drop(const { any_has_drop(<I::Shape as Shape>::INPUT_OUTPUTS) })
    }

    /// Stores a node running `task` on `inputs` (ids marked with
    /// `InputIds::with_values_to_drop`).
    pub(crate) fn push<S, T, F>(
        &self,
        name: Cow<'static, str>,
        inputs: &mut InputIds,
        task: F,
    ) -> Delayed<T>
    where
        S: InputTypes,
        T: Send + Sync + 'static,
        F: Fn(Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    {
        // The handle's count first: an atomic add waits for the stores
        // before it to drain, and made after the push it waited for the
        // node's (a chain's build: 25 ns per node, against 21.5 so).
        let graph = self.clone();
        let id = self.push_id::<S, T, F>(name, inputs, task);
        Delayed::new(graph, id)
    }

    /// As `push`, but only the new node's id: no handle made and dropped
    /// (two reference counts) where the caller makes its own.
    pub(crate) fn push_id<S, T, F>(
        &self,
        name: Cow<'static, str>,
        inputs: &mut InputIds,
        task: F,
    ) -> u32
    where
        S: InputTypes,
        T: Send + Sync + 'static,
        F: Fn(Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    {
        self.store.push::<S, T, F>(name, inputs, task)
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Whether `self` and `other` are handles to the same graph.
    pub(crate) fn same(&self, other: &Graph) -> bool {
        Arc::ptr_eq(&self.store, &other.store)
    }
}

impl Default for Graph {
    fn default() -> Self {
        Graph::new()
    }
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Graph").field("len", &self.len()).finish()
    }
}
