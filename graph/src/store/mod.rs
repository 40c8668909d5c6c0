//! The storage layer, the bottom of the crate (`../README.md`): a graph's
//! nodes (`Store`), the type-erased closures and values they hold, and the
//! records a run keeps values in. Nothing here runs a task or knows a
//! `Graph`; every layer above reads its nodes from here.

mod append_vec;
mod arena;
mod args;
mod huge_pages;
mod input_ids;
mod kept_above;
mod node_arrays;
mod node_state;
mod nodes;
mod pooled_array;
mod prefetch;
mod segment_pool;
mod task_fn;
pub(crate) mod value;
mod writer_lock;

pub(crate) use args::{Args, BoxError};
pub(crate) use input_ids::{InputCount, InputIds, ShortCount};
#[cfg(feature = "mpi")]
pub(crate) use kept_above::register as register_kept_above;
pub(crate) use kept_above::release as release_kept_above;
pub(crate) use node_arrays::{zeroed, Zeroable};
pub(crate) use node_state::NodeState;
pub(crate) use nodes::{Consumers, Node, Store};
pub(crate) use pooled_array::PooledArray;
pub(crate) use prefetch::prefetch;
pub(crate) use segment_pool::release as release_segments;
pub(crate) use task_fn::{InputTypes, NoInputs, Task};
pub(crate) use value::{any_has_drop, Output, Slot, VTable, Value};
#[cfg_attr(not(feature = "mpi"), allow(unused_imports))] // the multi-node layer
pub(crate) use writer_lock::{WriterGuard, WriterLock};
