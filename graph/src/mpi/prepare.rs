//! `Prepared`: steps 1 to 4 of a multi-node compute (`README.md`): the
//! culled tasks, the fingerprint checked with the other ranks, the
//! placement, and this rank's plan and routes, all decided before anything
//! runs, and kept for the next compute of the same targets.
//!
//! Tasks never change once added (a graph only grows), so what these steps
//! decide depends only on the targets (their ancestors are older than
//! them), the hints and the placement passed in the options: a compute
//! that asks for the same targets with the same placement (the same
//! `Placement`, or none) as the graph's last compute reuses all of it, and
//! only the fingerprint's collective runs again, since the other ranks'
//! graphs may differ this time.

use std::sync::Arc;

use mpi::topology::SimpleCommunicator;

use super::codec::Codec;
use super::exchange::Routes;
use super::fingerprint::{self, Compute};
use super::graph::Nodes;
use super::needed::Needed;
use super::placement::{self, Hints};
use super::rank_plan::{plan_rank, RankPlan};
use super::reuse::Kept;
use super::{Graph, Placement};
use crate::run::Plan;
use crate::Error;

/// What a compute decided before running (steps 1 to 4).
pub(crate) struct Prepared {
    /// The targets it is for, in the order asked.
    targets: Vec<u32>,
    /// The placement it is for.
    placement: Option<Placement>,
    /// The tasks and their fingerprint.
    pub(crate) needed: Needed,
    pub(crate) fingerprint: u64,
    /// This rank's part.
    pub(crate) plan: Plan,
    pub(crate) routes: Routes,
    /// The plan's local index of each culled task (`RankPlan::number`).
    pub(crate) number: Vec<u32>,
    /// Per target: the rank that computes it, and its codec.
    pub(crate) owners: Vec<(u32, &'static Codec)>,
}

impl Prepared {
    /// What computing `targets` with `placement` decided: the culled tasks
    /// `needed`, their `fingerprint`, this rank's `part`, and per target
    /// its rank and codec (`owners`).
    pub(crate) fn new(
        (targets, placement): (&[u32], Option<&Placement>),
        needed: Needed,
        fingerprint: u64,
        part: RankPlan,
        owners: Vec<(u32, &'static Codec)>,
    ) -> Prepared {
        Prepared {
            targets: targets.to_vec(),
            placement: placement.cloned(),
            needed,
            fingerprint,
            plan: part.plan,
            routes: part.routes,
            number: part.number,
            owners,
        }
    }

    /// Whether this was prepared for `targets` with `placement`.
    pub(crate) fn is_for(&self, targets: &[u32], placement: Option<&Placement>) -> bool {
        let same_placement = match (&self.placement, placement) {
            (None, None) => true,
            (Some(a), Some(b)) => a.same(b),
            _ => false,
        };
        same_placement && self.targets == targets
    }
}

/// Steps 1 to 4 of computing `targets` (ids of `graph`, not empty) on rank
/// `me` of `ranks`, with the hints of `placement`: from the graph's last
/// compute if it was for the same targets and placement, else from the
/// compute the process `kept` if it fits (another graph of the same shape,
/// `reuse.rs`); kept for the next in either case. `unready` says
/// why this rank cannot compute, if it cannot: every rank still takes part
/// in the fingerprint's collective, and returns the error.
///
/// # Errors
/// If a rank cannot compute, the ranks' graphs differ, or a hint names a
/// rank outside the job: the same error on every rank.
pub(crate) fn prepare(
    graph: &Graph,
    comm: &SimpleCommunicator,
    unready: Option<&Error>,
    targets: &[u32],
    placement: Option<&Placement>,
    (me, ranks): (usize, usize),
    kept: &mut Kept,
) -> Result<Arc<Prepared>, Error> {
    let store = graph.local().store();
    let mut nodes = graph.nodes();
    let Nodes {
        metas,
        hashes,
        last,
    } = &mut *nodes;
    let hints = Hints { metas, placement };
    if let Some(prepared) = last.as_ref().filter(|p| p.is_for(targets, placement)) {
        let compute = Compute {
            store,
            needed: &prepared.needed,
            metas,
            hints,
            hashes,
            targets,
        };
        fingerprint::check(comm, unready, prepared.fingerprint, &compute)?;
        kept.keep(prepared);
        return Ok(Arc::clone(prepared));
    }
    // Step 1 and 2: cull, then check that every rank has the same graph
    // and the same hints.
    let needed = Needed::of(store, targets);
    debug_assert!(
        hashes.covers(needed.max()),
        "every task is hashed when added"
    );
    let fingerprint = hashes.fingerprint(&needed, &hints, targets);
    let compute = Compute {
        store,
        needed: &needed,
        metas,
        hints,
        hashes,
        targets,
    };
    fingerprint::check(comm, unready, fingerprint, &compute)?;
    // Steps 3 and 4 as the last compute of the same shape did them.
    let fitting = kept.fitting(store, metas, &needed, fingerprint, (targets, placement));
    if let Some(prepared) = fitting {
        *last = Some(Arc::clone(&prepared));
        return Ok(prepared);
    }
    // Step 3: placement, the same on every rank.
    let rank_of = placement::place(store, &needed, &hints, ranks)?;
    // Step 4: this rank's plan and routes.
    let part = plan_rank(store, &needed, metas, &rank_of, targets, (me, ranks));
    let owners = targets
        .iter()
        .map(|&id| (rank_of[needed.index(id)], metas[id as usize].codec))
        .collect();
    let prepared = Arc::new(Prepared::new(
        (targets, placement),
        needed,
        fingerprint,
        part,
        owners,
    ));
    *last = Some(Arc::clone(&prepared));
    kept.keep(&prepared);
    Ok(prepared)
}
