//! `Cluster`: this process's place in an MPI job, and the one MPI
//! environment of the process.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::Threading;

use super::graph::Graph;
use super::kept_columns::KeptColumns;
use super::reuse::{self, Kept};
use crate::Error;

/// Set once `Cluster::init` initialised MPI: MPI can be initialised once per
/// process.
static INITIALISED: AtomicBool = AtomicBool::new(false);

/// This process's place in an MPI job (its rank among the job's ranks), and
/// the MPI environment, which lasts until the last clone of the `Cluster`
/// (and of every graph made from it) is dropped.
///
/// Start the program with `mpirun -np N prog`, or `srun -n N --mpi=pmix
/// prog` inside a Slurm allocation; every rank runs the same program,
/// builds the same graph and gets the same results. Run on its own, a
/// program is a job of one rank.
///
/// ```no_run
/// use delayed::mpi::Cluster;
///
/// let cluster = Cluster::init()?;
/// let g = cluster.graph();
/// let xs: Vec<_> = (1..=8).map(|i| g.delayed("inc", move || i + 1)).collect();
/// let total = g.task("sum", &xs, |v| v.into_iter().sum::<i64>());
/// assert_eq!(total.compute()?, 44); // on every rank
/// println!("rank {} of {}", cluster.rank(), cluster.size());
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// A rank that unwinds out of `main` with a panic, dropping its `Cluster`,
/// aborts the whole job (`MPI_Abort`) instead of finalising MPI while the
/// other ranks wait for it forever. A task that panics is not such a
/// panic: it fails its compute on every rank.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    /// The job's ranks, duplicated from `MPI_COMM_WORLD` so that a
    /// program's own MPI messages never meet ours. Freed before `universe`.
    comm: SimpleCommunicator,
    /// A second duplicate, for the values too large for the receive a run
    /// keeps posted on `comm` (`inbox.rs`): announced on `comm`, sent
    /// here, so that the posted receive never matches them. Freed before
    /// `universe`.
    payloads: SimpleCommunicator,
    rank: usize,
    size: usize,
    /// One multi-node compute at a time per process: two at once would
    /// receive each other's messages. Holds what the last compute prepared,
    /// for a compute of another graph of the same shape (`reuse.rs`).
    computing: Mutex<Kept>,
    /// Finalises MPI when dropped; declared last, so dropped last.
    _universe: Universe,
}

// SAFETY: MPI is initialised with at least `MPI_THREAD_SERIALIZED` (`init`
// checks), so any thread may call it as long as no two do at once. Every
// call through `comm` happens inside a compute, which holds `computing`
// (`Cluster::exclusive`); the communicator is freed by `Drop`, when no other
// handle is left to call through it.
unsafe impl Send for Inner {}
// SAFETY: as for `Send`: shared use is serialised by `computing`.
unsafe impl Sync for Inner {}

impl Cluster {
    /// Initialises MPI (asking for `MPI_THREAD_MULTIPLE`, and accepting any
    /// level from `MPI_THREAD_SERIALIZED` up: only one thread at a time
    /// calls MPI here) and returns this process's place in the job.
    ///
    /// Ranks of one node that the launcher did not bind apart (they all see
    /// the same CPUs) each take an equal share of those CPUs, so that their
    /// executors' workers do not pin themselves to the same ones: call
    /// `init` before the default executor is first used
    /// (`DELAYED_MPI_SHARE_CPUS=0` leaves the CPUs as the launcher set
    /// them).
    ///
    /// With glibc's `malloc`, a rank keeps the heap memory that a dropped
    /// graph frees, for the next one, instead of giving it back to the
    /// kernel and faulting it in again (`DELAYED_MPI_KEEP_HEAP=0`, or any
    /// `MALLOC_*_` setting of the job's own, leaves glibc's policy as it
    /// is; `src/mpi/heap.rs` says what is set).
    ///
    /// The process keeps the placement, plan and routes of its last
    /// compute for the next compute of another graph of the same shape
    /// (`DELAYED_MPI_REUSE_PLANS=0` keeps none; `src/mpi/reuse.rs`).
    ///
    /// ```no_run
    /// let cluster = delayed::mpi::Cluster::init()?;
    /// assert!(cluster.rank() < cluster.size());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    ///
    /// # Errors
    /// If MPI was initialised before in this process (call `init` once and
    /// clone the `Cluster`), or grants too low a thread level.
    pub fn init() -> Result<Cluster, Error> {
        if INITIALISED.swap(true, Ordering::SeqCst) || mpi::environment::is_initialized() {
            return Err(Error::cluster(
                "delayed::mpi: MPI is already initialised in this process; call Cluster::init() \
                 once and clone the Cluster"
                    .into(),
            ));
        }
        // Before MPI's own initialisation, so that a policy the MPI
        // library sets for its buffers wins.
        super::heap::keep_freed_heap();
        let (universe, threading) = mpi::initialize_with_threading(Threading::Multiple)
            .ok_or_else(|| Error::cluster("delayed::mpi: MPI could not be initialised".into()))?;
        if threading < Threading::Serialized {
            return Err(Error::cluster(format!(
                "delayed::mpi: the MPI library grants thread level {threading:?}; delayed needs \
                 at least Serialized (Open MPI grants Multiple)"
            )));
        }
        #[cfg(target_os = "linux")]
        // SAFETY: `finalize_at_exit` is an `extern "C"` function that lives
        // as long as the program.
        unsafe {
            libc::atexit(finalize_at_exit);
        }
        let world = universe.world();
        super::cpus::share_node_cpus(&world);
        // `delayed::release_memory` frees the per-task vectors dropped
        // graphs leave (`kept_columns.rs`).
        crate::store::register_kept_above(super::kept_columns::release);
        let comm = world.duplicate();
        let payloads = world.duplicate();
        Ok(Cluster {
            inner: Arc::new(Inner {
                rank: comm.rank() as usize,
                size: comm.size() as usize,
                comm,
                payloads,
                computing: Mutex::new(Kept::new(reuse::enabled())),
                _universe: universe,
            }),
        })
    }

    /// This process's rank: `0..size()`.
    ///
    /// ```no_run
    /// let cluster = delayed::mpi::Cluster::init()?;
    /// if cluster.rank() == 0 {
    ///     println!("{} ranks", cluster.size());
    /// }
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn rank(&self) -> usize {
        self.inner.rank
    }

    /// The number of ranks in the job.
    ///
    /// ```no_run
    /// let cluster = delayed::mpi::Cluster::init()?;
    /// assert!(cluster.size() >= 1);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// A new, empty graph whose computes run across the job's ranks. Every
    /// rank builds the same graph, as in any MPI program.
    ///
    /// ```no_run
    /// let cluster = delayed::mpi::Cluster::init()?;
    /// let g = cluster.graph();
    /// let x = g.delayed("answer", || 42);
    /// assert_eq!(x.compute()?, 42);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn graph(&self) -> Graph {
        Graph::new(self.clone())
    }

    /// The communicator computes use.
    pub(crate) fn comm(&self) -> &SimpleCommunicator {
        &self.inner.comm
    }

    /// The per-node vectors dropped graphs left (`kept_columns.rs`): the
    /// process's, as MPI is initialised once per process.
    pub(crate) fn kept_columns(&self) -> &'static KeptColumns {
        KeptColumns::process()
    }

    /// The communicator large values travel on (`Inner::payloads`).
    pub(crate) fn payloads(&self) -> &SimpleCommunicator {
        &self.inner.payloads
    }

    /// Holds off other multi-node computes of this process until dropped;
    /// gives the prepared compute kept for the next.
    pub(crate) fn exclusive(&self) -> MutexGuard<'_, Kept> {
        self.inner
            .computing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the whole job at once: what a rank does when it cannot go on
    /// and the others would otherwise wait for it forever.
    pub(crate) fn abort(&self, message: &str) -> ! {
        abort_job(&self.inner.comm, message)
    }
}

/// Finalises MPI when the program exits, if no `Drop` did: a `Cluster` kept
/// alive by a reference cycle (a task capturing a handle of its own graph)
/// must not make the rank exit without finalising, which MPI launchers
/// count as a failed job.
#[cfg(target_os = "linux")]
extern "C" fn finalize_at_exit() {
    let mut finalized = 0;
    // SAFETY: MPI was initialised (this is registered only after it was);
    // both calls are allowed at any time after that, and by then no other
    // thread of the program calls MPI.
    unsafe {
        mpi::ffi::MPI_Finalized(&mut finalized);
        if finalized == 0 {
            mpi::ffi::MPI_Finalize();
        }
    }
}

/// Prints `message` and aborts every rank of the job.
fn abort_job(comm: &SimpleCommunicator, message: &str) -> ! {
    use mpi::traits::Communicator as _;
    eprintln!("delayed::mpi: {message}; aborting the MPI job");
    comm.abort(134)
}

impl Drop for Inner {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Finalising now would leave the other ranks waiting for this
            // one in their next collective: end the job instead.
            abort_job(
                &self.comm,
                &format!("rank {} is unwinding from a panic", self.rank),
            );
        }
        // Then the fields: `comm` and `payloads` are freed before
        // `_universe` finalises MPI (declaration order).
    }
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("rank", &self.rank())
            .field("size", &self.size())
            .finish()
    }
}
