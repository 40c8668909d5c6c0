//! `Stream`: software prefetching ahead of the nodes a run has reached, for
//! graphs whose edges scatter over the nodes just above the one that runs.
//!
//! Ids follow the order in which a program adds its tasks, so the nodes just
//! above one that runs are those its output feeds and those that run soon
//! after. When a node's successors lie anywhere in the thousand nodes above
//! it (a random DAG), counting them is a cache miss on a counter nobody has
//! touched yet, and on one worker such misses were half the time of the run.
//! A stream asks for the run records and graph records of the `AHEAD` nodes
//! above the highest node that runs, a line at a time, so those misses
//! overlap with the work. On a million-node random DAG it brought one worker
//! from 1.08x to 0.93x rayon's time, and two workers from about 51 to about
//! 44 ns per task.
//!
//! Where edges follow fixed strides (a chain: 1 node back; a wavefront: 1
//! and a row back) the CPU's own prefetcher already brings what a run reads
//! in order, and where they reach far (a tree's leaves feed nodes half the
//! graph away) a stream brings lines long before they are used. There it
//! only costs: 1 to 3 ns per node. So a run streams only when a sample of its
//! edges says they scatter (`worth_streaming`).
//!
//! The workers of a run share one stream: each claims the next `CLAIM`
//! nodes when its own claim is used up and the highest node it runs needs
//! more. With one stream per worker every worker asked for every line, and
//! lines that one worker was writing were pulled into the other's cache: a
//! wavefront on two workers went from about 13 to about 19 ns per task.

use std::sync::atomic::{AtomicU32, Ordering};

use super::plan::Plan;
use super::state::RunState;
use crate::store::Store;

/// How far above a node that runs a stream asks for records ahead: about the
/// reach of a loop's inputs. On the random DAG (inputs up to 1024 nodes
/// back) 512 to 4096 did alike.
const AHEAD: u32 = 1024;

/// Nodes per step of a stream (`RunState::prefetch_four`): one line of run
/// records.
const STEP: u32 = 4;

/// Nodes a worker claims from the shared stream at a time: 16 steps, so the
/// shared position is written once per 64 nodes of the graph.
const CLAIM: u32 = 64;

/// An edge at most this many nodes back is one the CPU's prefetcher, or the
/// line a node shares with its neighbours, already covers.
const NEAR: u32 = 16;

/// Nodes sampled by `worth_streaming`, evenly over the plan.
const SAMPLES: u32 = 64;

/// Input edges looked at per sampled node (a sink's million inputs are not
/// all read).
const EDGES_PER_SAMPLE: usize = 4;

/// Whether the edges of `plan` scatter over the `AHEAD` nodes below their
/// consumer, so that a stream pays: at least a quarter of the sampled edges
/// reach between `NEAR` and `AHEAD` nodes back, over at least four different
/// distances (a wavefront's row-back edges all have one).
pub(crate) fn worth_streaming(plan: &Plan, store: &Store) -> bool {
    let len = plan.len() as u32;
    if len <= AHEAD {
        // The whole plan is about as much as a stream would run ahead.
        return false;
    }
    let (mut edges, mut scattered) = (0u32, 0u32);
    let mut distances: [u32; 4] = [0; 4];
    let mut different = 0;
    for i in 0..SAMPLES {
        let k = (u64::from(i) * u64::from(len) / u64::from(SAMPLES)) as u32;
        for &input in plan.inputs(store, k).iter().take(EDGES_PER_SAMPLE) {
            edges += 1;
            let distance = k.saturating_sub(input);
            if distance > NEAR && distance <= AHEAD {
                scattered += 1;
                if different < distances.len() && !distances[..different].contains(&distance) {
                    distances[different] = distance;
                    different += 1;
                }
            }
        }
    }
    different == distances.len() && scattered * 4 >= edges
}

/// One job's part of a run's stream: the nodes it claimed and has not
/// prefetched yet.
pub(crate) struct Stream<'p> {
    /// The first node no job has claimed yet; `None` when the run does not
    /// stream.
    shared: Option<&'p AtomicU32>,
    /// The next node to prefetch.
    ahead: u32,
    /// The end of this job's claim.
    end: u32,
}

impl<'p> Stream<'p> {
    /// A job's stream over the shared position `shared` (the run's), or one
    /// that prefetches nothing.
    pub(crate) fn new(shared: Option<&'p AtomicU32>) -> Stream<'p> {
        let start = if shared.is_some() { 0 } else { u32::MAX };
        Stream {
            shared,
            ahead: start,
            end: start,
        }
    }

    /// Before running node `k`: prefetches what nobody has up to
    /// `k + AHEAD`.
    #[inline(always)]
    pub(crate) fn reach(&mut self, state: &RunState<'_>, k: u32) {
        if self.shared.is_none() {
            // The run does not stream: one test per node, inlined (a call
            // per node that did nothing was 4 % of a chain's run).
            return;
        }
        let len = state.plan().len() as u32;
        let end = k.saturating_add(AHEAD).min(len);
        while self.ahead < end {
            if self.ahead >= self.end && !self.claim(end, len) {
                return;
            }
            state.prefetch_four(self.ahead);
            self.ahead += STEP;
        }
    }

    /// Claims the next `CLAIM` nodes of the run's stream, if they start
    /// below `end`; `false` when another job already claimed up to `end`
    /// (this job then looks again only once it runs past that).
    #[cold]
    fn claim(&mut self, end: u32, len: u32) -> bool {
        let Some(shared) = self.shared else {
            return false;
        };
        // Relaxed: the position only divides prefetching between jobs; no
        // other memory is published through it.
        let mut at = shared.load(Ordering::Relaxed);
        loop {
            if at >= end {
                (self.ahead, self.end) = (at, at);
                return false;
            }
            let to = at.saturating_add(CLAIM).min(len);
            // Relaxed: as above.
            match shared.compare_exchange_weak(at, to, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    (self.ahead, self.end) = (at, to);
                    return true;
                }
                Err(now) => at = now,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Delayed, Graph};

    /// Whether a compute of every node of `g` would stream.
    fn streams(g: &Graph, nodes: &[Delayed<u64>]) -> bool {
        let store = g.store();
        let targets: Vec<u32> = nodes.iter().map(Delayed::id).collect();
        let plan = Plan::new(store, &targets);
        assert_eq!(plan.len(), nodes.len());
        worth_streaming(&plan, store)
    }

    /// `n` nodes; node `i` reads the nodes `reach(i)` (each below `i`).
    fn graph(n: u64, reach: impl Fn(u64) -> Vec<u64>) -> (Graph, Vec<Delayed<u64>>) {
        let g = Graph::new();
        let mut nodes: Vec<Delayed<u64>> = Vec::new();
        for i in 0..n {
            let inputs: Vec<Delayed<u64>> = reach(i)
                .iter()
                .map(|&j| nodes[j as usize].clone())
                .collect();
            let node = if inputs.is_empty() {
                g.delayed("source", move || i)
            } else {
                g.task("node", &inputs, |xs| xs.iter().sum::<u64>())
            };
            nodes.push(node);
        }
        (g, nodes)
    }

    #[test]
    fn scattered_edges_stream() {
        // Inputs 1..=3 "random" picks from the 1000 nodes below.
        let (g, nodes) = graph(5000, |i| {
            let picks = [i * 7919 % 1000, i * 104_729 % 997, i * 31 % 991];
            picks
                .iter()
                .map(|p| i.saturating_sub(p + 1))
                .filter(|&j| j < i)
                .collect()
        });
        assert!(streams(&g, &nodes));
    }

    #[test]
    fn strided_and_far_edges_do_not() {
        let (chain, nodes) = graph(5000, |i| (i > 0).then(|| i - 1).into_iter().collect());
        assert!(!streams(&chain, &nodes), "a chain");
        // A 100-wide wavefront: the cell to the left and the one above.
        let (wave, nodes) = graph(5000, |i| {
            let left = (i % 100 > 0).then(|| i - 1);
            let up = (i >= 100).then(|| i - 100);
            left.into_iter().chain(up).collect()
        });
        assert!(!streams(&wave, &nodes), "a wavefront");
        // The second half of the nodes each reads two of the first half.
        let (tree, nodes) = graph(5000, |i| {
            if i < 2500 {
                vec![]
            } else {
                vec![(i - 2500) * 2 % 2500, ((i - 2500) * 2 + 1) % 2500]
            }
        });
        assert!(!streams(&tree, &nodes), "edges half the graph long");
        // A chain where every third node also reads one scattered node.
        let (few, nodes) = graph(5000, |i| {
            let scattered = (i % 3 == 0 && i > 1000).then(|| i - 20 - i * 7919 % 900);
            (i > 0)
                .then(|| i - 1)
                .into_iter()
                .chain(scattered)
                .collect()
        });
        assert!(!streams(&few, &nodes), "few scattered edges");
    }

    #[test]
    fn small_plans_do_not() {
        let (g, nodes) = graph(AHEAD as u64, |i| (0..i.min(3)).map(|d| i - d - 1).collect());
        assert!(!streams(&g, &nodes));
    }
}
