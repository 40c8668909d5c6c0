//! The public API layer (`../README.md`): `Graph`, `Delayed`, what a task
//! takes as inputs, `compute` in its forms (also `async`) and the progress
//! bar plain `compute` draws. Built on the run layer; the pictures,
//! diagnostics and the multi-node layer sit above it.

mod compute;
mod compute_async;
mod delayed;
mod graph;
mod handle_impls;
pub mod inputs;
mod inputs_impls;
mod memory;
pub(crate) mod progress;
mod targets_trait;
mod task_builders;

pub(crate) use compute::Results;
pub use compute::{compute, compute_on, compute_sync, Targets};
pub use compute_async::{compute_async, compute_on_async, ComputeFuture};
pub use delayed::{Delayed, WeakDelayed};
pub use graph::{Graph, WeakGraph};
pub(crate) use handle_impls::handle_impls;
pub use inputs::{Inputs, Values};
pub(crate) use inputs_impls::inputs_impls;
pub use memory::release_memory;
pub use progress::PROGRESS_ENV;
pub(crate) use targets_trait::targets_trait;
pub(crate) use task_builders::task_builders;
