//! A prepared compute (steps 1 to 4 of `README.md`) kept by the process
//! for the next compute of *another* graph of the same shape.
//!
//! A program that builds the same graph again and again (an iterative
//! solver's step, a benchmark's runs) gets, from its second graph on, the
//! placement, plan and routes of the last one, instead of working them out
//! again over every task. Rank 0's computing thread, per task of the graph
//! (building it and computing it; callgrind, Task Bench with 16
//! iterations): stencil_1d at 2 ranks 1223 instructions afresh, 854 on a
//! kept plan; tree at 4 ranks 906 and 750. Legion's tracing memoizes its
//! dependence analysis for the same reason.
//!
//! What a kept compute depends on is the shape of the culled graph: each
//! task's inputs, name, output type and rank hint, the targets and the
//! options' `Placement`. The fingerprint hashes exactly these (step 2), so
//! a kept compute is taken when its fingerprint, targets and placement are
//! those of the new compute, and its culled tasks the same. A hash can
//! collide, so what the run's memory safety rests on is checked exactly,
//! not trusted to the hash:
//! - every local task's inputs, in the new graph, are the plan's (the run
//!   reads a task's inputs from the slots the plan names);
//! - every node of the plan, and every target, has the same codec as in
//!   the new graph (values are decoded into the slots of that type).
//!
//! Whole plans (a rank that runs every task of a prefix) read everything
//! from the store: of them, only the culled tasks are compared.
//!
//! A compute is taken for the same `Placement` (a clone of it), not for an
//! equal one made again.
//!
//! Every rank checks its own tasks, so when every rank takes its kept
//! compute, every edge of the new graph was checked against the plans.
//! One rank's check can fail where another's passes: for graphs of the
//! same shape only when one type has two codec addresses (then the rank
//! plans afresh, and places every task as the kept compute did), and
//! otherwise only if a hash collision hid a difference. Then the ranks may
//! disagree on where tasks run: a value no rank waits for is an error, one
//! waited for in vain a hang (or, with a watchdog, its error), and owners
//! of a target that differ make step 10's broadcast an erroneous MPI call
//! (Open MPI aborts the job). Never a read of the wrong memory.
//!
//! One compute is kept per process (the last one), and none whose tasks'
//! ids reach `MAX_KEPT_TASKS` (2^18) or whose plan lists `MAX_KEPT_EDGES`
//! (2^20) ids or more: it stays alive after its graph is dropped.
//! `DELAYED_MPI_REUSE_PLANS=0` keeps none.

use std::sync::Arc;

use super::graph::NodeMeta;
use super::needed::Needed;
use super::prepare::Prepared;
use super::run_buffers::RunBuffers;
use super::Placement;
use crate::store::Store;

/// Set to `0` for every compute to work out its placement, plan and routes
/// afresh, even for a graph of the same shape as the last one
/// (`Cluster::init` reads it).
///
/// ```
/// assert_eq!(delayed::mpi::REUSE_PLANS_ENV, "DELAYED_MPI_REUSE_PLANS");
/// ```
pub const REUSE_PLANS_ENV: &str = "DELAYED_MPI_REUSE_PLANS";

/// The largest compute kept: its tasks' ids are below this. A kept compute
/// takes about 60 bytes per id up to its largest (the culled tasks' map
/// and numbering, this rank's plan's nodes and routes), and 4 per id its
/// plan lists: at most about 20 MB with `MAX_KEPT_EDGES`.
const MAX_KEPT_TASKS: usize = 1 << 18;

/// The most ids a kept compute's plan lists (inputs and successors, once
/// per edge).
const MAX_KEPT_EDGES: usize = 1 << 20;

/// Whether computes are kept for the next graph (`REUSE_PLANS_ENV`).
pub(crate) fn enabled() -> bool {
    !std::env::var(REUSE_PLANS_ENV).is_ok_and(|v| v.trim() == "0")
}

/// What a process keeps of its last compute (`Cluster::exclusive`).
pub(crate) struct Kept {
    enabled: bool,
    last: Option<Arc<Prepared>>,
    /// What the last compute's exchange allocated, for the next
    /// (`run_buffers.rs`): kept whether or not plans are.
    pub(crate) buffers: RunBuffers,
}

impl Kept {
    pub(crate) fn new(enabled: bool) -> Kept {
        Kept {
            enabled,
            last: None,
            buffers: RunBuffers::default(),
        }
    }

    /// Keeps `prepared`, the last compute's, if it may be reused and is
    /// small enough.
    pub(crate) fn keep(&mut self, prepared: &Arc<Prepared>) {
        let small = (prepared.needed.max() as usize) < MAX_KEPT_TASKS
            && prepared.plan.listed_edges() < MAX_KEPT_EDGES;
        self.last = (self.enabled && small).then(|| Arc::clone(prepared));
    }

    /// The kept compute, if it fits computing `targets` (with `placement`)
    /// of the graph `store`, whose entries are `metas`, whose culled tasks
    /// are `needed` and whose fingerprint is `fingerprint`.
    pub(crate) fn fitting(
        &self,
        store: &Store,
        metas: &[NodeMeta],
        needed: &Needed,
        fingerprint: u64,
        (targets, placement): (&[u32], Option<&Placement>),
    ) -> Option<Arc<Prepared>> {
        let kept = self.last.as_ref()?;
        let fits = kept.is_for(targets, placement)
            && kept.fingerprint == fingerprint
            && kept.needed == *needed
            && same_codecs(kept, metas, targets)
            && same_inputs(kept, store, needed);
        if !fits {
            return None;
        }
        kept.plan.publish_in(store);
        Some(Arc::clone(kept))
    }
}

/// Whether every node of `kept`'s plan, and every target, has the codec
/// that `metas` gives its task. Codecs are compared by address: the same
/// address is the same type; another may be too (then nothing is reused).
fn same_codecs(kept: &Prepared, metas: &[NodeMeta], targets: &[u32]) -> bool {
    let same = |id: u32, codec| std::ptr::eq(metas[id as usize].codec, codec);
    let plan = &kept.plan;
    targets
        .iter()
        .zip(&kept.owners)
        .all(|(&id, &(_, codec))| same(id, codec))
        && kept
            .routes
            .codecs
            .iter()
            .enumerate()
            .all(|(k, &codec)| same(plan.node_id(k as u32), codec))
}

/// Whether every local task of `kept`'s plan has, in `store`, the inputs
/// the plan gives it. Whole plans and empty ones read the store itself. A
/// rank that runs every task has no numbering (`RankPlan::number`): its
/// culled plan (`Plan::new`) has every culled task, in order.
fn same_inputs(kept: &Prepared, store: &Store, needed: &Needed) -> bool {
    let plan = &kept.plan;
    if plan.is_whole() || plan.len() == 0 {
        return true;
    }
    let (number, source) = (&kept.number, &kept.routes.source);
    if number.is_empty() && plan.len() != needed.len() {
        return false;
    }
    let local_index = |i: usize| {
        if number.is_empty() {
            i as u32
        } else {
            number[i]
        }
    };
    (0..plan.len() as u32)
        .filter(|&k| {
            source
                .get(k as usize)
                .map_or(true, |&rank| rank == u32::MAX)
        })
        .all(|k| {
            let inputs = store.inputs(plan.node_id(k));
            let planned = plan.inputs(store, k);
            inputs.len() == planned.len()
                && inputs
                    .iter()
                    .zip(planned)
                    .all(|(&id, &k)| local_index(needed.index(id)) == k)
        })
}

#[cfg(test)]
#[path = "reuse_tests.rs"]
mod tests;
