//! `Kept::fitting`: a kept compute is taken for a graph of the same shape,
//! and refused, even when the fingerprints are equal (a collision,
//! simulated here by passing the kept one), when a local task's inputs or
//! a value's type differ.

use super::*;
use crate::mpi::codec::codec_of;
use crate::mpi::rank_plan::plan_rank;
use crate::Graph;

/// A graph of three roots and two joins, `a + b` and `join(b, c)`; `join`
/// adds its inputs, or (`swapped`) reads `a` instead of `b`.
fn graph(salt: i64, swapped: bool) -> Graph {
    let g = Graph::new();
    let a = g.delayed("a", move || 1 + salt);
    let b = g.delayed("b", move || 2 + salt);
    let c = g.delayed("c", move || 3 + salt);
    let _ab = g.task("ab", (&a, &b), |(x, y)| x + y);
    let first = if swapped { &a } else { &b };
    let _join = g.task("join", (first, &c), |(x, y)| x * y);
    g
}

/// Every task's entry, all of output type `i64` but `text` (then `u64`).
fn metas(len: usize, text: Option<usize>) -> Vec<NodeMeta> {
    (0..len)
        .map(|id| NodeMeta {
            codec: if Some(id) == text {
                codec_of::<u64>()
            } else {
                codec_of::<i64>()
            },
            rank: None,
        })
        .collect()
}

/// What rank `me` of `ranks` prepares for computing `targets` of `g`, its
/// culled tasks placed `rank_of` (by their number), the fingerprint being
/// `fingerprint`.
fn prepare(
    g: &Graph,
    targets: &[u32],
    rank_of: &[u32],
    (me, ranks): (usize, usize),
    metas: &[NodeMeta],
    fingerprint: u64,
) -> Prepared {
    let needed = Needed::of(g.store(), targets);
    let part = plan_rank(g.store(), &needed, metas, rank_of, targets, (me, ranks));
    let owners = targets
        .iter()
        .map(|&t| (rank_of[needed.index(t)], metas[t as usize].codec))
        .collect();
    Prepared::new((targets, None), needed, fingerprint, part, owners)
}

/// `prepared`, kept (reuse on).
fn kept(prepared: Prepared) -> Kept {
    let mut kept = Kept::new(true);
    kept.keep(&Arc::new(prepared));
    kept
}

/// Whether `kept` fits computing `targets` of `g`, whose fingerprint is
/// `fingerprint`.
fn fits(kept: &Kept, g: &Graph, targets: &[u32], metas: &[NodeMeta], fingerprint: u64) -> bool {
    let needed = Needed::of(g.store(), targets);
    kept.fitting(g.store(), metas, &needed, fingerprint, (targets, None))
        .is_some()
}

#[test]
fn the_same_shape_fits_and_a_changed_input_or_type_does_not() {
    // Rank 0 runs a, b, ab; rank 1 runs c and join, which reads b from
    // rank 0: rank 1's plan has b as an external node.
    let (targets, rank_of) = ([3, 4], [0, 0, 1, 0, 1]);
    let metas = |text| metas(5, text);
    for me in 0..2 {
        let first = graph(0, false);
        let kept = kept(prepare(
            &first,
            &targets,
            &rank_of,
            (me, 2),
            &metas(None),
            42,
        ));
        let fits = |g: &Graph, metas: &[NodeMeta], fingerprint| {
            fits(&kept, g, &targets, metas, fingerprint)
        };
        let again = graph(10, false);
        assert!(fits(&again, &metas(None), 42), "rank {me}");
        assert!(!fits(&again, &metas(None), 43), "another fingerprint");
        // The same fingerprint, but join reads a: on rank 1, whose task it
        // is, the plan's inputs no longer match.
        let swapped = graph(0, true);
        assert_eq!(fits(&swapped, &metas(None), 42), me == 0, "rank {me}");
        // The same fingerprint, but b's output is another type: b is in
        // both ranks' plans (rank 0 runs it, rank 1 receives it).
        assert!(!fits(&again, &metas(Some(1)), 42), "rank {me}");
        // A target of another type.
        assert!(!fits(&again, &metas(Some(4)), 42), "rank {me}");
    }
}

#[test]
fn a_rank_running_every_task_fits_when_its_culled_plan_matches() {
    // Task 2 (c) is not needed for target 3 alone: Plan::new culls.
    let (targets, metas) = ([3], metas(5, None));
    let prepared = prepare(&graph(0, false), &targets, &[0, 0, 0], (0, 1), &metas, 7);
    assert!(!prepared.needed.is_prefix());
    assert!(!prepared.plan.is_whole() && prepared.number.is_empty());
    let kept = kept(prepared);
    assert!(fits(&kept, &graph(5, false), &targets, &metas, 7));
    // `ab` reads (b, a): the same tasks, its inputs in another order.
    let g = Graph::new();
    let a = g.delayed("a", || 1);
    let b = g.delayed("b", || 2);
    let _c = g.delayed("c", || 3);
    let _ab = g.task("ab", (&b, &a), |(x, y)| x + y);
    assert!(!fits(&kept, &g, &targets, &metas, 7));
}

#[test]
fn nothing_is_kept_when_reuse_is_off() {
    let (targets, metas) = ([3, 4], metas(5, None));
    let g = graph(0, false);
    let mut kept = Kept::new(false);
    let prepared = prepare(&g, &targets, &[0, 0, 1, 0, 1], (0, 2), &metas, 42);
    kept.keep(&Arc::new(prepared));
    assert!(!fits(&kept, &graph(1, false), &targets, &metas, 42));
}

#[test]
fn a_compute_reaching_the_largest_kept_id_is_not_kept() {
    for len in [MAX_KEPT_TASKS, MAX_KEPT_TASKS + 1] {
        let g = Graph::new();
        let root = g.delayed("root", || 1);
        for _ in 1..len {
            g.task("leaf", &root, |x| x + 1);
        }
        let (targets, metas) = ([len as u32 - 1], metas(len, None));
        let kept = kept(prepare(&g, &targets, &[0, 0], (0, 1), &metas, 1));
        let fits = fits(&kept, &g, &targets, &metas, 1);
        assert_eq!(fits, len == MAX_KEPT_TASKS, "{len} tasks");
    }
}

/// Roots `a`, `b`, `c`, then `join` reading `first` and `second` of them
/// (by number); and a task more above it when `more`.
fn joined(first: usize, second: usize, more: bool) -> Graph {
    let g = Graph::new();
    let roots: Vec<_> = (0..3).map(|i| g.delayed("root", move || i)).collect();
    let join = g.task("join", (&roots[first], &roots[second]), |(x, y)| x * y);
    if more {
        g.task("more", &join, |x| x + 1);
    }
    g
}

#[test]
fn a_culled_compute_fits_its_shape_only_and_newer_tasks_do_not_matter() {
    // Target `join` (id 3) reading b and c: a, id 0, is not needed. Rank 1
    // runs c and join, and receives b.
    let (targets, metas) = ([3], metas(5, None));
    let prepared = prepare(
        &joined(1, 2, false),
        &targets,
        &[0, 1, 1],
        (1, 2),
        &metas,
        9,
    );
    assert!(!prepared.needed.is_prefix());
    assert!(!prepared.plan.is_whole() && !prepared.number.is_empty());
    let kept = kept(prepared);
    let fits = |g: &Graph| fits(&kept, g, &targets, &metas, 9);
    assert!(fits(&joined(1, 2, false)));
    assert!(fits(&joined(1, 2, true)), "a task above the targets");
    assert!(
        !fits(&joined(2, 1, false)),
        "the same tasks, inputs swapped"
    );
    assert!(!fits(&joined(0, 2, false)), "other tasks");
}

#[test]
fn a_compute_whose_plan_lists_too_many_edges_is_not_kept() {
    // 1024 roots and `joins` tasks each reading all of them, the last on
    // rank 1: rank 0's plan lists each edge of its joins twice.
    for joins in [512, 513] {
        let g = Graph::new();
        let roots: Vec<_> = (0..1024).map(|i| g.delayed("root", move || i)).collect();
        for _ in 0..joins {
            g.task("join", &roots, |v| v.into_iter().sum::<i64>());
        }
        let len = 1024 + joins;
        let targets: Vec<u32> = (1024..len as u32).collect();
        let metas = metas(len, None);
        let mut rank_of = vec![0; len];
        rank_of[len - 1] = 1;
        let prepared = prepare(&g, &targets, &rank_of, (0, 2), &metas, 3);
        let listed = prepared.plan.listed_edges();
        assert_eq!(listed, 2 * 1024 * (joins - 1));
        let fits = fits(&kept(prepared), &g, &targets, &metas, 3);
        assert_eq!(fits, listed < MAX_KEPT_EDGES, "{listed} ids listed");
    }
}
