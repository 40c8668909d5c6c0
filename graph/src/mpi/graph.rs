//! `delayed::mpi::Graph`: a task graph whose computes run across the ranks
//! of an MPI job, and `Placed`, the same methods with a placement hint.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec::{codec_of, Codec};
use super::fingerprint::Hashes;
use super::inputs::{Inputs, Refs};
use super::prepare::Prepared;
use super::{Cluster, Delayed};
use crate::api::task_builders;
use crate::inputs::Shape;
use crate::store::{any_has_drop, Args, BoxError, InputIds, InputTypes, WriterGuard, WriterLock};

/// `task_builders!` for the handles that add tasks to a multi-node graph
/// ([`Graph`], [`Placed`]): outputs cross ranks, and each handle adds its
/// nodes through its `adder()`.
macro_rules! mpi_task_builders {
    ($($methods:tt)*) => {
        task_builders! {
            output: [Serialize + DeserializeOwned + Send + Sync + 'static],
            via: adder,
            $($methods)*
        }
    };
}

/// A lazy task graph whose computes run across the ranks of an MPI job:
/// the methods of [`delayed::Graph`](crate::Graph), with outputs that can
/// cross ranks (`Serialize + DeserializeOwned`, which the compiler checks).
/// A cheap `Clone` handle, made by [`Cluster::graph`].
///
/// Every rank builds the same graph (SPMD). A compute checks that they did
/// (a fingerprint of the culled graph), places each task on a rank (the
/// same placement on every rank), runs each rank's tasks on its own
/// executor, and sends values along the edges that cross ranks.
///
/// ```no_run
/// let cluster = delayed::mpi::Cluster::init()?;
/// let g = cluster.graph();
/// let xs: Vec<_> = (1..=8).map(|i| g.delayed("inc", move || i + 1)).collect();
/// let total = g.task("sum", &xs, |v| v.into_iter().sum::<i64>());
/// let report = g.on(0).task("report", &total, |t| format!("total={t}"));
/// assert_eq!(report.compute()?, "total=44");
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// A type that cannot cross ranks is refused when the graph is built:
///
/// ```compile_fail
/// let cluster = delayed::mpi::Cluster::init().unwrap();
/// let g = cluster.graph();
/// g.delayed("now", std::time::Instant::now); // an Instant is not Serialize
/// ```
#[derive(Clone)]
pub struct Graph {
    shared: Arc<Shared>,
}

struct Shared {
    /// The tasks themselves, as on one node: the same ids on every rank.
    local: crate::Graph,
    cluster: Cluster,
    /// Per node (by id): what the multi-node layer adds to it, and what
    /// computes keep of it. Locked while a node is added, so ids and
    /// entries stay in step, and while a compute prepares (`prepare.rs`).
    /// The store's own lock type: threads adding tasks at once take it in
    /// runs instead of waking each other per node (`store/writer_lock.rs`).
    nodes: WriterLock<Nodes>,
}

impl Drop for Shared {
    /// Leaves the per-node vectors to the cluster's next graph.
    fn drop(&mut self) {
        let nodes = self.nodes.get_mut();
        let metas = std::mem::take(&mut nodes.metas);
        let hashes = nodes.hashes.take_all();
        self.cluster.kept_columns().give(metas, hashes);
    }
}

/// What the multi-node layer keeps beside the graph's nodes.
pub(crate) struct Nodes {
    /// Per node, by id.
    pub(crate) metas: Vec<NodeMeta>,
    /// Per node, its hash (`fingerprint.rs`).
    pub(crate) hashes: Hashes,
    /// What the last compute prepared: the next compute of the same
    /// targets and placement runs on it.
    pub(crate) last: Option<Arc<Prepared>>,
}

/// What a multi-node graph keeps per node beside the node itself.
#[derive(Clone, Copy)]
pub(crate) struct NodeMeta {
    /// How its output crosses ranks.
    pub(crate) codec: &'static Codec,
    /// The rank it must run on (`Graph::on`), if any.
    pub(crate) rank: Option<u32>,
}

/// The methods of [`Graph`] whose tasks carry a placement hint: they run on
/// one rank. Made by [`Graph::on`].
///
/// ```no_run
/// let cluster = delayed::mpi::Cluster::init()?;
/// let g = cluster.graph();
/// let x = g.on(cluster.size() - 1).delayed("last", || 1);
/// let y = g.on(0).task("first", &x, |v| v + 1);
/// assert_eq!(y.compute()?, 2);
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Placed<'g> {
    graph: &'g Graph,
    rank: u32,
}

impl Graph {
    pub(crate) fn new(cluster: Cluster) -> Graph {
        let (metas, hashes) = cluster.kept_columns().take();
        Graph {
            shared: Arc::new(Shared {
                local: crate::Graph::new(),
                cluster,
                nodes: WriterLock::new(Nodes {
                    metas,
                    hashes: Hashes::new(hashes),
                    last: None,
                }),
            }),
        }
    }

    /// The job this graph computes on.
    ///
    /// ```no_run
    /// let cluster = delayed::mpi::Cluster::init()?;
    /// assert_eq!(cluster.graph().cluster().size(), cluster.size());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn cluster(&self) -> &Cluster {
        &self.shared.cluster
    }

    /// Number of tasks in the graph.
    ///
    /// ```no_run
    /// let g = delayed::mpi::Cluster::init()?.graph();
    /// g.delayed("one", || 1);
    /// assert_eq!(g.len(), 1);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.shared.local.len()
    }

    /// Whether the graph has no task.
    ///
    /// ```no_run
    /// assert!(delayed::mpi::Cluster::init()?.graph().is_empty());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tasks added from here on run on `rank` (a placement hint, which
    /// wins over the default placement). A rank outside the job makes the
    /// compute fail with an error that says so.
    ///
    /// ```no_run
    /// let g = delayed::mpi::Cluster::init()?.graph();
    /// let x = g.delayed("anywhere", || 20);
    /// let y = g.on(0).task("on rank 0", &x, |v| v + 1);
    /// assert_eq!(y.compute()?, 21);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn on(&self, rank: usize) -> Placed<'_> {
        Placed {
            graph: self,
            rank: u32::try_from(rank).unwrap_or(u32::MAX),
        }
    }

    // `delayed`, `try_delayed`, `task` and `try_task` (`task_builders.rs`).
    mpi_task_builders! {
        /// Adds a task without inputs that returns `f()` (see
        /// [`delayed::Graph::delayed`](crate::Graph::delayed)).
        ///
        /// ```no_run
        /// let g = delayed::mpi::Cluster::init()?.graph();
        /// assert_eq!(g.delayed("answer", || 42).compute()?, 42);
        /// # Ok::<(), delayed::Error>(())
        /// ```
        fn delayed;

        /// Adds a task without inputs that may fail (see
        /// [`delayed::Graph::try_delayed`](crate::Graph::try_delayed)).
        ///
        /// ```no_run
        /// let g = delayed::mpi::Cluster::init()?.graph();
        /// assert!(g.try_delayed("port", || "80a".parse::<u16>()).compute().is_err());
        /// # Ok::<(), delayed::Error>(())
        /// ```
        fn try_delayed;

        /// Adds a task that computes `f` from the results of `inputs` (see
        /// [`delayed::Graph::task`](crate::Graph::task) and
        /// [`inputs`](super::inputs) for the forms `inputs` takes).
        ///
        /// ```no_run
        /// let g = delayed::mpi::Cluster::init()?.graph();
        /// let x = g.delayed("x", || 2i64);
        /// let y = g.delayed("y", || 3i64);
        /// let add = g.task("add", (&x, &y), |(a, b)| a + b);
        /// assert_eq!(add.compute()?, 5);
        /// # Ok::<(), delayed::Error>(())
        /// ```
        ///
        /// # Panics
        /// If an input belongs to another `Graph`.
        fn task;

        /// Adds a task that may fail (see
        /// [`delayed::Graph::try_task`](crate::Graph::try_task)).
        ///
        /// ```no_run
        /// let g = delayed::mpi::Cluster::init()?.graph();
        /// let text = g.delayed("text", || String::from("42"));
        /// assert_eq!(g.try_task("parse", &text, |t| t.parse::<u8>()).compute()?, 42);
        /// # Ok::<(), delayed::Error>(())
        /// ```
        ///
        /// # Panics
        /// If an input belongs to another `Graph`.
        fn try_task;
    }

    /// What its task builders add nodes through: no rank hint.
    fn adder(&self) -> NodeAdder<'_> {
        NodeAdder {
            graph: self,
            rank: None,
        }
    }

    /// The per-node entries, locked.
    pub(crate) fn nodes(&self) -> WriterGuard<'_, Nodes> {
        self.shared.nodes.lock()
    }

    /// The tasks, as on one node.
    pub(crate) fn local(&self) -> &crate::Graph {
        &self.shared.local
    }

    /// Whether `self` and `other` are handles to the same graph.
    pub(crate) fn same(&self, other: &Graph) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// What the task builders of a [`Graph`] and of a [`Placed`] add nodes
/// through: the graph, and the rank its tasks are placed on, if any.
struct NodeAdder<'g> {
    graph: &'g Graph,
    rank: Option<u32>,
}

impl NodeAdder<'_> {
    /// The ids of `inputs`, checked and marked with whether their values
    /// may have something to drop (as `delayed::Graph` does).
    fn marked_ids<I: Inputs>(&self, inputs: &I) -> InputIds {
        inputs
            .input_ids(self.graph)
            .with_values_to_drop(const { any_has_drop(<I::Shape as Shape>::INPUT_OUTPUTS) })
    }

    /// Adds the node to the graph and its entry to `nodes`, under one lock.
    fn push<S, T, F>(&self, name: Cow<'static, str>, inputs: &mut InputIds, task: F) -> Delayed<T>
    where
        S: InputTypes,
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
        F: Fn(Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    {
        // The handle's count first, as `delayed::Graph` takes it: a locked
        // add waits for the stores before it to drain, and after the push
        // it waited for the node's (`api/graph.rs`).
        let graph = self.graph.clone();
        let mut nodes = self.graph.nodes();
        let Nodes { metas, hashes, .. } = &mut *nodes;
        // Every node is added here, under this lock: the next id is known.
        let id = metas.len() as u32;
        // Written in place, then hashed from there: made on the stack and
        // moved in after the hash, the entry was copied with a 16-byte load
        // from the smaller stores that had just made it, which could not be
        // forwarded (a quarter of the samples of a chain's build loop,
        // `perf annotate`; 32 -> 31 ns per task, medians of 6 alternated
        // runs of `distributed --only latency --chain 1000000` on 1 rank).
        metas.push(NodeMeta {
            codec: codec_of::<T>(),
            rank: self.rank,
        });
        // Hashed now, from what is at hand (`fingerprint.rs`).
        hashes.push(id, &name, &metas[id as usize], inputs.as_slice());
        let added = self.graph.local().push_id::<S, T, F>(name, inputs, task);
        debug_assert_eq!(id, added);
        Delayed::new(graph, id)
    }
}

impl Placed<'_> {
    /// What its task builders add nodes through: its rank.
    fn adder(&self) -> NodeAdder<'_> {
        NodeAdder {
            graph: self.graph,
            rank: Some(self.rank),
        }
    }

    // `delayed`, `try_delayed`, `task` and `try_task` (`task_builders.rs`).
    mpi_task_builders! {
        /// [`Graph::delayed`], run on this rank.
        ///
        /// ```no_run
        /// let g = delayed::mpi::Cluster::init()?.graph();
        /// assert_eq!(g.on(0).delayed("x", || 1).compute()?, 1);
        /// # Ok::<(), delayed::Error>(())
        /// ```
        fn delayed;

        /// [`Graph::try_delayed`], run on this rank.
        ///
        /// ```no_run
        /// let g = delayed::mpi::Cluster::init()?.graph();
        /// assert_eq!(g.on(0).try_delayed("x", || "1".parse::<u8>()).compute()?, 1);
        /// # Ok::<(), delayed::Error>(())
        /// ```
        fn try_delayed;

        /// [`Graph::task`], run on this rank.
        ///
        /// ```no_run
        /// let g = delayed::mpi::Cluster::init()?.graph();
        /// let x = g.delayed("x", || 1);
        /// assert_eq!(g.on(0).task("y", &x, |v| v + 1).compute()?, 2);
        /// # Ok::<(), delayed::Error>(())
        /// ```
        ///
        /// # Panics
        /// If an input belongs to another `Graph`.
        fn task;

        /// [`Graph::try_task`], run on this rank.
        ///
        /// ```no_run
        /// let g = delayed::mpi::Cluster::init()?.graph();
        /// let x = g.delayed("x", || String::from("7"));
        /// assert_eq!(g.on(0).try_task("parse", &x, |t| t.parse::<u8>()).compute()?, 7);
        /// # Ok::<(), delayed::Error>(())
        /// ```
        ///
        /// # Panics
        /// If an input belongs to another `Graph`.
        fn try_task;
    }
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Graph")
            .field("len", &self.len())
            .field("cluster", self.cluster())
            .finish()
    }
}

impl fmt::Debug for Placed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Placed").field("rank", &self.rank).finish()
    }
}
