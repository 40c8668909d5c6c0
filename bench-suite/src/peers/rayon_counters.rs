//! rayon with per-node atomic counters: what a Rust user writes instead of a
//! task-graph library. Each finished node decrements its successors' counters
//! and spawns, in the same `rayon::scope`, those that reach zero.
//!
//! Two variants: [`Variant::Plain`] spawns every ready successor;
//! [`Variant::Inline`] keeps one ready successor and runs it in the same
//! loop, without a spawn (Taskflow's `_invoke`, and `delayed`'s own rule).

use std::sync::atomic::{AtomicU32, Ordering};

use rayon::{Scope, ThreadPool};

use super::counter_graph::CounterGraph;

/// How a finished node hands on its ready successors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Spawn every ready successor.
    Plain,
    /// Run one ready successor inline, spawn the rest.
    Inline,
}

struct Run<'a, F> {
    graph: &'a CounterGraph,
    pending: Vec<AtomicU32>,
    task: &'a F,
    variant: Variant,
}

/// Runs every node of `graph` on `pool`; returns when all have run.
pub fn run<F: Fn(u32) + Sync>(pool: &ThreadPool, graph: &CounterGraph, task: &F, variant: Variant) {
    let run = Run {
        graph,
        pending: graph.pending(),
        task,
        variant,
    };
    let run = &run;
    pool.scope(|s| {
        for &root in graph.roots() {
            s.spawn(move |s| run.node(s, root));
        }
    });
}

impl<'a, F: Fn(u32) + Sync> Run<'a, F> {
    fn node<'s>(&'s self, s: &Scope<'s>, mut i: u32) {
        loop {
            (self.task)(i);
            let mut next = None;
            for &succ in self.graph.successors(i) {
                // AcqRel: the release publishes this node's effects to
                // whoever runs `succ`; the acquire, on the last decrement,
                // sees every other input's.
                if self.pending[succ as usize].fetch_sub(1, Ordering::AcqRel) == 1 {
                    if self.variant == Variant::Inline && next.is_none() {
                        next = Some(succ);
                    } else {
                        s.spawn(move |s| self.node(s, succ));
                    }
                }
            }
            match next {
                Some(succ) => i = succ,
                None => return,
            }
        }
    }
}
