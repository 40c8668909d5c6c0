//! This rank's part of a multi-node compute (step 4 of `README.md`): its
//! plan (its own tasks, and the external nodes whose values it receives)
//! and its routes (where each of its values goes).
//!
//! Every rank builds the whole graph, so this runs over every culled task
//! on every rank; a task of another rank costs a look at its rank in
//! passes 1 and 2, and nothing more unless this rank reads it or it reads
//! this rank. Three passes:
//! 1. over the ranks of the culled tasks: this rank's own tasks, and for
//!    each of them the inputs that another rank computes (external);
//! 2. over a number per culled task: the plan's nodes numbered in id order
//!    (a topological order);
//! 3. over the plan's nodes only: a local node's inputs, then every node's
//!    consumers from the store's consumer lists, which give the plan's
//!    successors (consumers on this rank) and a local node's routes (the
//!    other ranks among its consumers, each once) in the same walk. The
//!    walk sees every consumer of a planned node, also those of other
//!    ranks and those the compute does not need: an external node read by
//!    many tasks of other ranks costs as many steps on this one.
//!
//! No sort, and no map from id to number but pass 2's, one word per culled
//! task (kept with the plan: `reuse.rs`). (Before this file, the edges leaving the rank were collected from
//! every task's inputs and sorted, and the plan was built again from sorted
//! lists of local and external ids: on rank 0 of Task Bench's stencil_1d
//! at 2 ranks, a compute's preparation took 600 instructions per task of
//! the graph, 505 with these passes; tree at 4 ranks, 351 -> 262.)

use super::exchange::Routes;
use super::graph::NodeMeta;
use super::needed::Needed;
use crate::run::{Csr, Plan};
use crate::store::Store;

/// Pass 1's mark of a task that is not in the plan.
const ABSENT: u32 = u32::MAX;
/// Pass 1's mark of a task of another rank that this rank reads.
const EXTERNAL: u32 = u32::MAX - 1;
/// Pass 1's mark of a task of this rank.
const LOCAL: u32 = u32::MAX - 2;

/// This rank's part of a compute, as `plan_rank` made it.
pub(crate) struct RankPlan {
    pub(crate) plan: Plan,
    pub(crate) routes: Routes,
    /// Per culled task (by its number in `Needed`), its local index in
    /// `plan` (`u32::MAX` if the plan does not have it); empty when the
    /// rank runs every task or none (then the plan names no list of its
    /// own: `reuse.rs` checks a kept plan's lists with it).
    pub(crate) number: Vec<u32>,
}

/// The plan and routes of rank `me` of `ranks` for computing `targets`,
/// whose tasks are `needed`, each placed on rank `rank_of[i]` (by its
/// number in `needed`). Every task here: the plan of one node
/// (`Plan::new`), and nothing to route; no task here: an empty plan.
pub(crate) fn plan_rank(
    store: &Store,
    needed: &Needed,
    metas: &[NodeMeta],
    rank_of: &[u32],
    targets: &[u32],
    (me, ranks): (usize, usize),
) -> RankPlan {
    let me = me as u32;
    // Pass 1: this rank's tasks and the external ones.
    let mut number = Vec::with_capacity(needed.len());
    let mut locals = 0usize;
    for (j, &rank) in rank_of.iter().enumerate() {
        if rank != me {
            number.push(ABSENT);
            continue;
        }
        number.push(LOCAL);
        locals += 1;
        for &input in store.inputs(needed.id(j)) {
            // An input is older: its mark is already pushed.
            let i = needed.index(input);
            if rank_of[i] != me {
                number[i] = EXTERNAL;
            }
        }
    }
    if locals == 0 {
        let none = || Csr {
            offsets: vec![0],
            ids: Vec::new(),
        };
        return RankPlan {
            plan: Plan::culled(store, Vec::new(), none(), none(), Vec::new(), Vec::new()),
            routes: Routes::none(),
            number: Vec::new(),
        };
    }
    if locals == needed.len() {
        return RankPlan {
            plan: Plan::new(store, targets),
            routes: Routes::none(),
            number: Vec::new(),
        };
    }
    // Pass 2: the plan's nodes, numbered in id order.
    let mut nodes = Vec::new();
    for (i, number) in number.iter_mut().enumerate() {
        if *number != ABSENT {
            *number = nodes.len() as u32;
            nodes.push(needed.id(i));
        }
    }
    // Pass 3: inputs, successors and routes.
    let n = nodes.len();
    let mut inputs = Csr {
        offsets: Vec::with_capacity(n + 1),
        ids: Vec::new(),
    };
    let mut successors = Csr {
        offsets: Vec::with_capacity(n + 1),
        ids: Vec::new(),
    };
    inputs.offsets.push(0);
    successors.offsets.push(0);
    let mut roots = Vec::new();
    let mut routes = Routes::with_capacity(n);
    routes.from.push(0);
    // The last local node that named each rank a destination, plus one.
    let mut named = vec![0u32; ranks];
    let max = needed.max();
    for (k, &id) in nodes.iter().enumerate() {
        let i = needed.index(id);
        let source = rank_of[i];
        let local = source == me;
        let node = store.node(id);
        if local {
            let ids = node.inputs();
            if ids.is_empty() {
                roots.push(k as u32);
            }
            inputs
                .ids
                .extend(ids.iter().map(|&input| number[needed.index(input)]));
        }
        inputs.offsets.push(inputs.ids.len() as u32);
        let mut read_here = false;
        for consumer in store.consumers_of(node, max) {
            let Some(c) = needed.find(consumer) else {
                continue;
            };
            let rank = rank_of[c];
            if rank == me {
                successors.ids.push(number[c]);
                read_here = true;
            } else if local && named[rank as usize] != k as u32 + 1 {
                named[rank as usize] = k as u32 + 1;
                routes.to.push(rank);
            }
        }
        successors.offsets.push(successors.ids.len() as u32);
        routes.from.push(routes.to.len() as u32);
        routes.read_here.push(local && read_here);
        routes.codecs.push(metas[id as usize].codec);
        if local {
            routes.source.push(u32::MAX);
        } else {
            routes.source.push(source);
            routes.by_source.push(source, k as u32);
            routes.externals += 1;
        }
    }
    let mut local_targets = Vec::new();
    for &target in targets {
        let i = needed.index(target);
        if rank_of[i] == me {
            let k = number[i];
            routes.read_here[k as usize] = true;
            local_targets.push(k);
        }
    }
    RankPlan {
        plan: Plan::culled(store, nodes, inputs, successors, roots, local_targets),
        routes,
        number,
    }
}

#[cfg(test)]
#[path = "rank_plan_tests.rs"]
mod tests;
