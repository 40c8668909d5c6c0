//! A work-stealing executor whose workers are pinned one per CPU: the engine
//! of the [`delayed`](https://docs.rs/delayed) task-graph crate.
//!
//! - [`Executor`]: a cheap handle to a pool; [`Executor::spawn`] for
//!   `'static` jobs, [`Executor::scope`] for jobs that borrow,
//!   [`Executor::join`] for fork-join.
//! - Each worker owns a LIFO deque (`crossbeam-deque`); idle workers steal
//!   half of a random victim's deque, then sleep on an event count (see
//!   `src/sleep/README.md` for the protocol). Work from outside the pool
//!   goes through an injector that workers check regularly.
//! - Waiting inside a worker (end of a scope, a join, a nested graph
//!   compute) runs other jobs meanwhile, so nesting never deadlocks, even
//!   with one worker.
//! - The worker count defaults to what the process may use: see
//!   [`Executor::builder`].
//! - [`raw`] is the allocation-free interface the graph runner builds on.
//!
//! # Examples
//!
//! ```
//! use delayed_executor::Executor;
//!
//! let ex = Executor::builder().workers(2).build()?;
//! let v: Vec<u64> = (0..1000).collect();
//! let (a, b) = v.split_at(500);
//! let (sa, sb) = ex.join(|| a.iter().sum::<u64>(), || b.iter().sum::<u64>());
//! assert_eq!(sa + sb, 499_500);
//! # Ok::<(), delayed_executor::BuildError>(())
//! ```
#![deny(missing_docs)]

mod affinity;
mod builder;
mod error;
mod executor;
mod idle_poll;
mod job;
mod join;
mod latch;
mod registry;
mod scope;
mod sleep;
mod stats;
mod sync;
mod unwind;
mod worker;
mod worker_count;

pub use builder::ExecutorBuilder;
pub use error::{BuildError, BuildErrorKind, MAX_WORKERS};
pub use executor::Executor;
pub use scope::Scope;
pub use stats::{Stats, WorkerStats};
pub use worker_count::{NUM_WORKERS_VAR, SLURM_CPUS_VAR};

/// The low-level interface for code that schedules its own jobs without
/// allocating (the `delayed` graph runner): type-erased job references and
/// a counting latch to wait on.
pub mod raw {
    pub use crate::job::JobRef;
    pub use crate::latch::CountLatch;
}

/// The examples of the crate's `README.md`, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
