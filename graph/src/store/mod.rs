//! The graph's storage: nodes appended once, read without a lock.
//!
//! A node is its name, its type-erased closure and the ids of its inputs. A
//! node can only name nodes that already exist, so ids are a topological
//! order: every input id is smaller than the id of its consumer.

mod append_vec;
mod input_ids;

use std::borrow::Cow;

use crate::args::TaskFn;
use append_vec::AppendVec;
pub(crate) use input_ids::InputIds;

/// Node ids are `u32`; the two largest values stay free as markers for runs
/// (`run::plan`).
pub(crate) const MAX_NODES: usize = (u32::MAX - 1) as usize;

pub(crate) struct Node {
    pub(crate) name: Cow<'static, str>,
    pub(crate) task: TaskFn,
    pub(crate) inputs: InputIds,
}

pub(crate) struct Store {
    nodes: AppendVec<Node>,
}

impl Store {
    pub(crate) fn new() -> Store {
        Store {
            nodes: AppendVec::new(),
        }
    }

    /// Appends a node and returns its id.
    ///
    /// # Panics
    /// When the graph already holds `MAX_NODES` nodes.
    pub(crate) fn push(&self, node: Node) -> u32 {
        match self.nodes.push(node, MAX_NODES) {
            Ok(id) => id as u32,
            Err(_) => panic!("delayed: a graph holds at most {MAX_NODES} nodes"),
        }
    }

    /// The node with id `id`, which must exist (ids come from `push`).
    pub(crate) fn node(&self, id: u32) -> &Node {
        self.nodes
            .get(id as usize)
            .expect("delayed: internal error: unknown node id")
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }
}

// A node is its name (24 bytes), its closure (16) and its input ids (24).
const _: () = assert!(size_of::<Node>() <= 64);
