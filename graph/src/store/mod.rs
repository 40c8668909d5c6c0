//! The graph's storage: nodes appended once, read without a lock.
//!
//! A node is its name, its type-erased closure and the ids of its inputs. A
//! node can only name nodes that already exist, so ids are a topological
//! order: every input id is smaller than the id of its consumer.
//!
//! The store also keeps what a compute would otherwise rebuild each time:
//! each node's out-edges (a list through `edges`, newest consumer first) and
//! the ids of the nodes without inputs (`roots`), both appended with the
//! node that creates them.

mod append_vec;
mod input_ids;

use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use crate::args::TaskFn;
use append_vec::AppendVec;
pub(crate) use input_ids::InputIds;

/// Node ids are `u32`; the two largest values stay free as markers for runs
/// (`run::plan`).
pub(crate) const MAX_NODES: usize = (u32::MAX - 1) as usize;

/// The end of an out-edge list.
pub(crate) const NO_EDGE: u32 = u32::MAX;

/// One out-edge: `consumer` takes the node as an input; `next` is the
/// node's previous (older) out-edge.
pub(crate) struct Edge {
    pub(crate) consumer: u32,
    pub(crate) next: u32,
}

/// The nodes, one column per field, so that a compute's passes over the
/// input ids read only those.
pub(crate) struct Store {
    /// Serializes appends: the columns grow together. Guards the number of
    /// nodes without consumers (*sinks*), which grows and shrinks with them.
    writer: Mutex<usize>,
    names: AppendVec<Cow<'static, str>>,
    inputs: AppendVec<InputIds>,
    /// Per node: its newest out-edge, or `NO_EDGE`. Written by the writer
    /// when a consumer is added (Release), read by computes (Acquire).
    last_edge: AppendVec<AtomicU32>,
    /// Out-edges of all nodes, in the order they were added.
    edges: AppendVec<Edge>,
    /// Ids of the nodes without inputs, increasing.
    roots: AppendVec<u32>,
    /// Appended last: its length is the number of complete nodes.
    tasks: AppendVec<TaskFn>,
}

impl Store {
    pub(crate) fn new() -> Store {
        Store {
            writer: Mutex::new(0),
            names: AppendVec::new(),
            inputs: AppendVec::new(),
            last_edge: AppendVec::new(),
            edges: AppendVec::new(),
            roots: AppendVec::new(),
            tasks: AppendVec::new(),
        }
    }

    /// Appends a node and returns its id.
    ///
    /// # Panics
    /// When the graph already holds `MAX_NODES` nodes, or `u32::MAX - 1` edges.
    pub(crate) fn push(&self, name: Cow<'static, str>, inputs: InputIds, task: TaskFn) -> u32 {
        // Appends cannot leave a column half-written, so a poisoned lock is fine.
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let id = self.tasks.len();
        let edges = self.edges.len() + inputs.as_slice().len();
        if id >= MAX_NODES || edges >= NO_EDGE as usize {
            drop(writer);
            panic!("delayed: a graph holds at most {MAX_NODES} nodes and as many edges");
        }
        let id = id as u32;
        // SAFETY: we hold `writer`, so no other push runs on any column.
        unsafe {
            self.names.push(name);
            self.last_edge.push(AtomicU32::new(NO_EDGE));
            for &input in inputs.as_slice() {
                let last = &self.last_edge.get(input as usize).expect("inputs exist");
                // Relaxed: only writers (serialized by `writer`) store it.
                let next = last.load(Ordering::Relaxed);
                if next == NO_EDGE {
                    // The input gets its first consumer: no longer a sink.
                    *writer -= 1;
                }
                let edge = self.edges.push(Edge { consumer: id, next }) as u32;
                // Release pairs with the Acquire in `out_edges`: the edge
                // is published (by its own vector's Release) before this.
                last.store(edge, Ordering::Release);
            }
            if inputs.as_slice().is_empty() {
                self.roots.push(id);
            }
            // The new node has no consumer yet.
            *writer += 1;
            self.inputs.push(inputs);
            self.tasks.push(task);
        }
        id
    }

    /// The number of complete nodes and how many of them have no consumer,
    /// read together.
    pub(crate) fn len_and_sinks(&self) -> (usize, usize) {
        let sinks = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        (self.tasks.len(), *sinks)
    }

    /// Whether node `id` has at least one consumer.
    #[inline]
    pub(crate) fn has_consumer(&self, id: u32) -> bool {
        // Acquire pairs with the Release in `push`, as in `consumers`.
        expect_node(self.last_edge.get(id as usize)).load(Ordering::Acquire) != NO_EDGE
    }

    /// Number of complete nodes.
    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        expect_node(self.names.get(id as usize)).as_ref()
    }

    /// Input ids of node `id`, in the order given to `Graph::task`.
    #[inline]
    pub(crate) fn inputs(&self, id: u32) -> &[u32] {
        expect_node(self.inputs.get(id as usize)).as_slice()
    }

    #[inline]
    pub(crate) fn task(&self, id: u32) -> &TaskFn {
        expect_node(self.tasks.get(id as usize))
    }

    /// The consumers of node `id` that are at most `max`, once per edge,
    /// newest first.
    #[inline]
    pub(crate) fn consumers(&self, id: u32, max: u32) -> Consumers<'_> {
        // Acquire pairs with the Release in `push`: the edges are visible.
        let next = expect_node(self.last_edge.get(id as usize)).load(Ordering::Acquire);
        Consumers {
            store: self,
            next,
            max,
        }
    }

    /// Number of nodes without inputs among the first `len` nodes.
    pub(crate) fn roots_below(&self, len: u32) -> usize {
        // Roots are increasing: binary search for the first one >= len.
        let (mut lo, mut hi) = (0, self.roots.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if *expect_node(self.roots.get(mid)) < len {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The `k`-th node without inputs.
    pub(crate) fn root(&self, k: usize) -> u32 {
        *expect_node(self.roots.get(k))
    }
}

/// Iterator over a node's consumers up to some id, made by `Store::consumers`.
pub(crate) struct Consumers<'s> {
    store: &'s Store,
    next: u32,
    max: u32,
}

impl Iterator for Consumers<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        while self.next != NO_EDGE {
            let edge = expect_node(self.store.edges.get(self.next as usize));
            self.next = edge.next;
            if edge.consumer <= self.max {
                return Some(edge.consumer);
            }
        }
        None
    }
}

/// Node ids come from `push`, so every id asked for exists.
fn expect_node<T>(column: Option<T>) -> T {
    column.expect("delayed: internal error: unknown node id")
}

// A node is its name (24 bytes), its input ids (24) and its closure (16).
const _: () =
    assert!(size_of::<Cow<'static, str>>() + size_of::<InputIds>() + size_of::<TaskFn>() <= 64);
