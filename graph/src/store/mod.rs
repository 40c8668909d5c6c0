//! The graph's storage: nodes appended once, read without a lock.
//!
//! A node is its name, its type-erased closure and the ids of its inputs. A
//! node can only name nodes that already exist, so ids are a topological
//! order: every input id is smaller than the id of its consumer.

mod append_vec;
mod input_ids;

use std::borrow::Cow;
use std::sync::Mutex;

use crate::args::TaskFn;
use append_vec::AppendVec;
pub(crate) use input_ids::InputIds;

/// Node ids are `u32`; the two largest values stay free as markers for runs
/// (`run::plan`).
pub(crate) const MAX_NODES: usize = (u32::MAX - 1) as usize;

/// The nodes, one column per field, so that a compute's passes over the
/// input ids read only those.
pub(crate) struct Store {
    /// Serializes appends: the columns grow together.
    writer: Mutex<()>,
    names: AppendVec<Cow<'static, str>>,
    inputs: AppendVec<InputIds>,
    /// Appended last: its length is the number of complete nodes.
    tasks: AppendVec<TaskFn>,
}

impl Store {
    pub(crate) fn new() -> Store {
        Store {
            writer: Mutex::new(()),
            names: AppendVec::new(),
            inputs: AppendVec::new(),
            tasks: AppendVec::new(),
        }
    }

    /// Appends a node and returns its id.
    ///
    /// # Panics
    /// When the graph already holds `MAX_NODES` nodes.
    pub(crate) fn push(&self, name: Cow<'static, str>, inputs: InputIds, task: TaskFn) -> u32 {
        // Appends cannot leave a column half-written, so a poisoned lock is fine.
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let id = self.tasks.len();
        if id >= MAX_NODES {
            drop(writer);
            panic!("delayed: a graph holds at most {MAX_NODES} nodes");
        }
        // SAFETY: we hold `writer`, so no other push runs on any column.
        unsafe {
            self.names.push(name);
            self.inputs.push(inputs);
            self.tasks.push(task);
        }
        id as u32
    }

    /// Number of complete nodes.
    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        expect_node(self.names.get(id as usize)).as_ref()
    }

    /// Input ids of node `id`, in the order given to `Graph::task`.
    pub(crate) fn inputs(&self, id: u32) -> &[u32] {
        expect_node(self.inputs.get(id as usize)).as_slice()
    }

    pub(crate) fn task(&self, id: u32) -> &TaskFn {
        expect_node(self.tasks.get(id as usize))
    }
}

/// Node ids come from `push`, so every id asked for exists.
fn expect_node<T>(column: Option<T>) -> T {
    column.expect("delayed: internal error: unknown node id")
}

// A node is its name (24 bytes), its input ids (24) and its closure (16).
const _: () =
    assert!(size_of::<Cow<'static, str>>() + size_of::<InputIds>() + size_of::<TaskFn>() <= 64);
