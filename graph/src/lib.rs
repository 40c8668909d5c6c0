//! `delayed`: Dask's `delayed` for Rust.
//!
//! Build a lazy graph of typed tasks, then compute it on a work-stealing
//! executor whose workers are pinned one per CPU.
//!
//! The crate is built in layers, each importing only from those below it:
//! storage, running, the public API, pictures and diagnostics, and the
//! multi-node layer on top (`src/README.md`).
//!
//! ```
//! use delayed::{Delayed, Executor, Graph};
//!
//! fn inc(x: i64) -> i64 { x + 1 }
//! fn add(x: i64, y: i64) -> i64 { x + y }
//!
//! let g = Graph::new();                                   // cheap Clone handle
//! let x: Delayed<i64> = g.delayed("inc", || inc(1));      // no inputs
//! let y = g.delayed("inc", || inc(2));
//! let z = g.task("add", (&x, &y), |(a, b)| add(*a, *b));  // inputs by reference
//! let w = g.task("inc", &z, |v| v + 1);                   // one input
//! let xs: Vec<Delayed<i64>> = (1..=8).map(|i| g.delayed("inc", move || inc(i))).collect();
//! let total = g.task("sum", &xs, |vals| vals.into_iter().sum::<i64>()); // list input
//! let f = g.try_task("parse", &w, |v| v.to_string().parse::<u8>()); // Result -> error propagates
//!
//! assert_eq!(z.compute()?, 5);                            // default executor
//! let ex = Executor::builder().workers(2).build()?;       // explicit executor
//! assert_eq!(total.compute_on(&ex)?, 44);
//! let (a, b) = delayed::compute((&x, &z))?;               // shared nodes run once
//! assert_eq!((a, b, f.compute()?), (2, 5, 6));
//! let dot: String = total.to_dot();                       // Dask-style DOT
//! assert!(dot.contains("rankdir=BT"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Semantics
//!
//! - Adding a task runs nothing. [`Delayed::compute`] runs only the tasks its
//!   result depends on, each once, and moves the result to the caller (no
//!   `Clone` bound). Each compute runs the tasks afresh; the graph stays
//!   usable and can grow after (or during) a compute.
//! - Intermediate results are dropped as soon as their last consumer has
//!   finished, and nothing recurses on the graph's depth: a chain of ten
//!   million tasks computes in constant stack and memory for values.
//! - A task that panics or returns `Err` ends the compute with an [`Error`]
//!   naming it; tasks not started yet are cancelled, and the executor stays
//!   usable.
//! - `compute()` may be called from inside a running task: the waiting worker
//!   runs other work meanwhile, so it never deadlocks, even on one worker.
//! - [`Delayed::compute_async`] returns a [`ComputeFuture`] that an async
//!   program (tokio, async-std) awaits without blocking its threads; the
//!   crate depends on no async runtime, and dropping the future cancels the
//!   compute.
//! - [`Delayed::compute_sync`] runs every task in the calling thread (Dask's
//!   `scheduler="sync"`), for debugging with a plain stack trace.
//! - [`Delayed::compute_with`] adds a progress bar (also `DELAYED_PROGRESS=1`)
//!   and a [`Profile`]: per-task timeline ([Chrome trace or
//!   SVG](Profile::write_trace)), [efficiency against the critical-path
//!   bound](Profile::efficiency) and [predicted times on other worker
//!   counts](Profile::what_if).
//!
//! How a compute runs is written down in the crate's `src/run/README.md`;
//! how the crate is built, in layers from storage up to the multi-node
//! layer, in `src/README.md`.
#![deny(missing_docs)]

mod api;
mod inspect;
#[cfg(feature = "mpi")]
pub mod mpi;
mod run;
mod store;

pub use crate::api::inputs;
pub use crate::api::{
    compute, compute_async, compute_on, compute_on_async, compute_sync, release_memory,
    ComputeFuture, Delayed, Graph, Inputs, Targets, Values, WeakDelayed, WeakGraph, PROGRESS_ENV,
};
pub use crate::inspect::diagnostics::{
    compute_with, Color, ComputeOptions, Computed, EfficiencyReport, Profile, Task,
    VisualizeOptions, WhatIf, WhatIfRow, WHAT_IF_WORKERS,
};
pub use crate::run::Error;
pub use delayed_executor::{BuildError, Executor, ExecutorBuilder};

/// The examples of the crate's `README.md`, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
