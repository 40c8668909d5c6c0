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

use super::arrivals::BySource;
use super::codec::Codec;
use super::exchange::Routes;
use super::fingerprint::{self, Compute};
use super::graph::{NodeMeta, Nodes};
use super::needed::Needed;
use super::placement::{self, Hints};
use super::{Graph, Placement};
use crate::run::Plan;
use crate::store::Store;
use crate::Error;

/// What a compute decided before running (steps 1 to 4).
pub(crate) struct Prepared {
    /// The targets it is for, in the order asked.
    targets: Vec<u32>,
    /// The placement it is for.
    placement: Option<Placement>,
    /// The tasks and their fingerprint.
    pub(crate) needed: Needed,
    fingerprint: u64,
    /// This rank's part.
    pub(crate) plan: Plan,
    pub(crate) routes: Routes,
    /// Per target: the rank that computes it, and its codec.
    pub(crate) owners: Vec<(u32, &'static Codec)>,
}

impl Prepared {
    /// Whether this was prepared for `targets` with `placement`.
    fn is_for(&self, targets: &[u32], placement: Option<&Placement>) -> bool {
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
/// compute if it was for the same targets and placement. `unready` says
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
    // Step 3: placement, the same on every rank.
    let rank_of = placement::place(store, &needed, &hints, ranks)?;
    // Step 4: this rank's plan and routes.
    let (plan, routes) = plan_rank(store, &needed, metas, &rank_of, targets, me);
    let owners = targets
        .iter()
        .map(|&id| (rank_of[needed.index(id)], metas[id as usize].codec))
        .collect();
    let prepared = Arc::new(Prepared {
        targets: targets.to_vec(),
        placement: placement.cloned(),
        needed,
        fingerprint,
        plan,
        routes,
        owners,
    });
    *last = Some(Arc::clone(&prepared));
    Ok(prepared)
}

/// This rank's part of the compute: its plan (its own tasks, and the
/// external nodes whose values it receives) and where each value goes.
/// Every task here: the plan of one node (`Plan::new`), and nothing to
/// route; no task here: an empty plan.
fn plan_rank(
    store: &Store,
    needed: &Needed,
    metas: &[NodeMeta],
    rank_of: &[u32],
    targets: &[u32],
    me: usize,
) -> (Plan, Routes) {
    let me = me as u32;
    match rank_of.iter().filter(|&&rank| rank == me).count() {
        0 => return (Plan::partial(store, &[], &[], &[]), Routes::none()),
        all if all == needed.len() => return (Plan::new(store, targets), Routes::none()),
        _ => {}
    }
    let mut local = Vec::new();
    // Edges leaving this rank (input number, reading rank), and whether
    // each task of this rank is read here.
    let mut leaving = Vec::new();
    let mut read_here = vec![false; needed.len()];
    let mut external = Vec::new();
    for (j, id) in needed.ids().enumerate() {
        let consumer_here = rank_of[j] == me;
        if consumer_here {
            local.push(id);
        }
        for &input in store.inputs(id) {
            let i = needed.index(input);
            match (rank_of[i] == me, consumer_here) {
                (true, true) => read_here[i] = true,
                (true, false) => leaving.push((i as u32, rank_of[j])),
                (false, true) => external.push(input),
                (false, false) => {}
            }
        }
    }
    let mut local_targets = Vec::new();
    for &target in targets {
        let i = needed.index(target);
        if rank_of[i] == me {
            read_here[i] = true;
            local_targets.push(target);
        }
    }
    leaving.sort_unstable();
    leaving.dedup();
    external.sort_unstable();
    external.dedup();
    let plan = Plan::partial(store, &local, &external, &local_targets);
    let n = plan.len();
    let mut routes = Routes {
        from: Vec::with_capacity(n + 1),
        to: Vec::with_capacity(leaving.len()),
        read_here: Vec::with_capacity(n),
        codecs: Vec::with_capacity(n),
        source: Vec::with_capacity(n),
        externals: external.len(),
        by_source: BySource::default(),
    };
    let mut edges = leaving.iter().peekable();
    routes.from.push(0);
    for k in 0..n as u32 {
        let id = plan.node_id(k);
        let i = needed.index(id);
        while let Some(&&(_, rank)) = edges.peek().filter(|&&&(from, _)| from as usize == i) {
            routes.to.push(rank);
            edges.next();
        }
        routes.from.push(routes.to.len() as u32);
        routes.read_here.push(read_here[i]);
        routes.codecs.push(metas[id as usize].codec);
        if rank_of[i] == me {
            routes.source.push(u32::MAX);
        } else {
            routes.source.push(rank_of[i]);
            routes.by_source.push(rank_of[i], k);
        }
    }
    (plan, routes)
}
