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

/// Computing tasks 3 and 4 of `g` on rank `me` of 2, tasks placed
/// `rank_of`: the compute kept, and the arguments `fitting` takes.
fn prepare(g: &Graph, rank_of: &[u32], me: usize, metas: &[NodeMeta]) -> Arc<Prepared> {
    let targets = [3, 4];
    let needed = Needed::of(g.store(), &targets);
    let part = plan_rank(g.store(), &needed, metas, rank_of, &targets, (me, 2));
    let owners = targets
        .iter()
        .map(|&t| (rank_of[t as usize], metas[t as usize].codec))
        .collect();
    Arc::new(Prepared::new((&targets, None), needed, 42, part, owners))
}

fn fits(kept: &Kept, g: &Graph, metas: &[NodeMeta], fingerprint: u64) -> bool {
    let targets = [3, 4];
    let needed = Needed::of(g.store(), &targets);
    kept.fitting(g.store(), metas, &needed, fingerprint, (&targets, None))
        .is_some()
}

#[test]
fn the_same_shape_fits_and_a_changed_input_or_type_does_not() {
    // Rank 0 runs a, b, ab; rank 1 runs c and join, which reads b from
    // rank 0: rank 1's plan has b as an external node.
    let rank_of = [0, 0, 1, 0, 1];
    for me in 0..2 {
        let first = graph(0, false);
        let mut kept = Kept::new(true);
        kept.keep(&prepare(&first, &rank_of, me, &metas(5, None)));
        let again = graph(10, false);
        assert!(fits(&kept, &again, &metas(5, None), 42), "rank {me}");
        assert!(
            !fits(&kept, &again, &metas(5, None), 43),
            "another fingerprint"
        );
        // The same fingerprint, but join reads a: on rank 1, whose task it
        // is, the plan's inputs no longer match.
        let swapped = graph(0, true);
        assert_eq!(
            fits(&kept, &swapped, &metas(5, None), 42),
            me == 0,
            "rank {me}"
        );
        // The same fingerprint, but b's output is another type: b is in
        // both ranks' plans (rank 0 runs it, rank 1 receives it).
        assert!(!fits(&kept, &again, &metas(5, Some(1)), 42), "rank {me}");
        // A target of another type.
        assert!(!fits(&kept, &again, &metas(5, Some(4)), 42), "rank {me}");
    }
}

#[test]
fn a_rank_running_every_task_fits_when_its_culled_plan_matches() {
    // Task 2 (c) is not needed for target 3 alone: Plan::new culls.
    let first = graph(0, false);
    let metas = metas(5, None);
    let targets = [3];
    let needed = Needed::of(first.store(), &targets);
    assert!(!needed.is_prefix());
    let part = plan_rank(first.store(), &needed, &metas, &[0, 0, 0], &targets, (0, 1));
    assert!(!part.plan.is_whole() && part.number.is_empty());
    let owners = vec![(0, metas[3].codec)];
    let mut kept = Kept::new(true);
    kept.keep(&Arc::new(Prepared::new(
        (&targets, None),
        needed,
        7,
        part,
        owners,
    )));
    let check = |g: &Graph| {
        let needed = Needed::of(g.store(), &targets);
        kept.fitting(g.store(), &metas, &needed, 7, (&targets, None))
            .is_some()
    };
    assert!(check(&graph(5, false)));
    // `ab` reads (b, a): the same tasks, its inputs in another order.
    let g = Graph::new();
    let a = g.delayed("a", || 1);
    let b = g.delayed("b", || 2);
    let _c = g.delayed("c", || 3);
    let _ab = g.task("ab", (&b, &a), |(x, y)| x + y);
    assert!(!check(&g));
}

#[test]
fn nothing_is_kept_when_reuse_is_off() {
    let g = graph(0, false);
    let mut kept = Kept::new(false);
    kept.keep(&prepare(&g, &[0, 0, 1, 0, 1], 0, &metas(5, None)));
    assert!(!fits(&kept, &graph(1, false), &metas(5, None), 42));
}

#[test]
fn a_compute_reaching_the_largest_kept_id_is_not_kept() {
    for len in [MAX_KEPT_TASKS, MAX_KEPT_TASKS + 1] {
        let g = Graph::new();
        let root = g.delayed("root", || 1);
        for _ in 1..len {
            g.task("leaf", &root, |x| x + 1);
        }
        let last = len as u32 - 1;
        let metas = metas(len, None);
        let needed = Needed::of(g.store(), &[last]);
        let part = plan_rank(
            g.store(),
            &needed,
            &metas,
            &vec![0; needed.len()],
            &[last],
            (0, 1),
        );
        let owners = vec![(0, metas[last as usize].codec)];
        let prepared = Prepared::new((&[last], None), needed, 1, part, owners);
        let mut kept = Kept::new(true);
        kept.keep(&Arc::new(prepared));
        let needed = Needed::of(g.store(), &[last]);
        let fits = kept
            .fitting(g.store(), &metas, &needed, 1, (&[last], None))
            .is_some();
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
    let targets = [3];
    let metas = metas(5, None);
    let first = joined(1, 2, false);
    let needed = Needed::of(first.store(), &targets);
    assert!(!needed.is_prefix());
    let part = plan_rank(first.store(), &needed, &metas, &[0, 1, 1], &targets, (1, 2));
    assert!(!part.plan.is_whole() && !part.number.is_empty());
    let owners = vec![(1, metas[3].codec)];
    let mut kept = Kept::new(true);
    kept.keep(&Arc::new(Prepared::new(
        (&targets, None),
        needed,
        9,
        part,
        owners,
    )));
    let fits = |g: &Graph| {
        let needed = Needed::of(g.store(), &targets);
        kept.fitting(g.store(), &metas, &needed, 9, (&targets, None))
            .is_some()
    };
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
        let needed = Needed::of(g.store(), &targets);
        let part = plan_rank(g.store(), &needed, &metas, &rank_of, &targets, (0, 2));
        let listed = part.plan.listed_edges();
        assert_eq!(listed, 2 * 1024 * (joins - 1));
        let owners = targets
            .iter()
            .map(|&t| (rank_of[t as usize], metas[t as usize].codec))
            .collect();
        let mut kept = Kept::new(true);
        kept.keep(&Arc::new(Prepared::new(
            (&targets, None),
            needed,
            3,
            part,
            owners,
        )));
        let needed = Needed::of(g.store(), &targets);
        let fits = kept
            .fitting(g.store(), &metas, &needed, 3, (&targets, None))
            .is_some();
        assert_eq!(fits, listed < MAX_KEPT_EDGES, "{listed} ids listed");
    }
}
