//! `plan_rank` against the definitions of a rank's plan and routes,
//! checked one by one from the graph (`README.md`, step 4), on random
//! graphs, placements and targets.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::mpi::arrivals::Arrivals;
use crate::mpi::codec::codec_of;
use crate::Graph;

/// A random graph: per task, its inputs (earlier tasks, repeats allowed)
/// and its rank; and the targets, either the newest task or some tasks.
#[derive(Debug, Clone)]
struct Case {
    inputs: Vec<Vec<usize>>,
    ranks: usize,
    rank_of: Vec<u32>,
    targets: Vec<usize>,
}

fn cases() -> impl Strategy<Value = Case> {
    (1usize..40, 1usize..5)
        .prop_flat_map(|(n, ranks)| {
            let inputs = (0..n)
                .map(|j| {
                    if j == 0 {
                        Just(Vec::new()).boxed()
                    } else {
                        proptest::collection::vec(0..j, 0..4).boxed()
                    }
                })
                .collect::<Vec<_>>();
            let rank_of = proptest::collection::vec(0..ranks as u32, n);
            let targets = prop_oneof![
                Just(vec![n - 1]),
                proptest::sample::subsequence((0..n).collect::<Vec<_>>(), 1..=n.min(4)),
            ];
            (inputs, Just(ranks), rank_of, targets)
        })
        .prop_map(|(inputs, ranks, rank_of, targets)| Case {
            inputs,
            ranks,
            rank_of,
            targets,
        })
}

/// Checks the plan and routes of every rank of `case`.
fn check(case: &Case) -> Result<(), TestCaseError> {
    let g = Graph::new();
    let mut tasks = Vec::new();
    for inputs in &case.inputs {
        let refs: Vec<&crate::Delayed<i64>> = inputs.iter().map(|&i| &tasks[i]).collect();
        let task = g.task("t", &refs, |v| v.into_iter().sum::<i64>());
        tasks.push(task);
    }
    let store = g.store();
    let targets: Vec<u32> = case.targets.iter().map(|&t| t as u32).collect();
    let needed = Needed::of(store, &targets);
    // Another codec for odd ids (the graph's values are all `i64`: only
    // `routes.codecs` reads these).
    let metas: Vec<NodeMeta> = (0..case.inputs.len())
        .map(|id| NodeMeta {
            codec: if id % 2 == 0 {
                codec_of::<i64>()
            } else {
                codec_of::<u64>()
            },
            rank: None,
        })
        .collect();
    let rank_of: Vec<u32> = needed.ids().map(|id| case.rank_of[id as usize]).collect();
    let rank = |id: u32| case.rank_of[id as usize];
    let is_needed = |id: u32| id <= needed.max() && needed.find(id).is_some();
    for me in 0..case.ranks as u32 {
        let RankPlan {
            plan,
            routes,
            number,
        } = plan_rank(
            store,
            &needed,
            &metas,
            &rank_of,
            &targets,
            (me as usize, case.ranks),
        );
        let local: BTreeSet<u32> = needed.ids().filter(|&id| rank(id) == me).collect();
        let external: BTreeSet<u32> = local
            .iter()
            .flat_map(|&id| store.inputs(id).iter().copied())
            .filter(|&input| rank(input) != me)
            .collect();
        let expected: Vec<u32> = local.union(&external).copied().collect();
        let ids: Vec<u32> = (0..plan.len() as u32).map(|k| plan.node_id(k)).collect();
        prop_assert_eq!(&ids, &expected, "rank {}'s nodes", me);
        let k_of = |id: u32| ids.binary_search(&id).unwrap() as u32;
        if local.is_empty() || local.len() == needed.len() {
            // No task here, or the whole compute: nothing routed, nothing
            // numbered.
            prop_assert_eq!(routes.externals, 0);
            prop_assert!(number.is_empty());
            continue;
        }
        for (i, id) in needed.ids().enumerate() {
            let k = ids.binary_search(&id).map_or(u32::MAX, |k| k as u32);
            prop_assert_eq!(number[i], k, "the number of {}", id);
        }
        let mut roots = Vec::new();
        for (k, &id) in ids.iter().enumerate() {
            let k = k as u32;
            let is_local = local.contains(&id);
            let inputs: Vec<u32> = if is_local {
                store.inputs(id).iter().map(|&i| k_of(i)).collect()
            } else {
                Vec::new()
            };
            prop_assert_eq!(plan.inputs(store, k), &inputs[..], "inputs of {}", id);
            if is_local && inputs.is_empty() {
                roots.push(k);
            }
            // Consumers on this rank, once per edge; other ranks' each once.
            let mut here = Vec::new();
            let mut dests = BTreeSet::new();
            for (c, inputs) in case.inputs.iter().enumerate() {
                let c = c as u32;
                if !is_needed(c) {
                    continue;
                }
                for _ in inputs.iter().filter(|&&i| i as u32 == id) {
                    if rank(c) == me {
                        here.push(k_of(c));
                    } else if is_local {
                        dests.insert(rank(c));
                    }
                }
            }
            let mut successors: Vec<u32> = plan.view(store, k).successors.collect();
            successors.sort_unstable();
            prop_assert_eq!(&successors, &here, "successors of {}", id);
            let sent: Vec<u32> = routes.dests(k).to_vec();
            prop_assert_eq!(sent.len(), dests.len(), "a rank named twice for {}", id);
            prop_assert_eq!(sent.into_iter().collect::<BTreeSet<_>>(), dests);
            let read_here = is_local && (!here.is_empty() || targets.contains(&id));
            prop_assert_eq!(routes.read_here[k as usize], read_here, "read here: {}", id);
            prop_assert!(std::ptr::eq(
                routes.codecs[k as usize],
                metas[id as usize].codec
            ));
            let source = if is_local { u32::MAX } else { rank(id) };
            prop_assert_eq!(routes.source[k as usize], source);
            if !is_local {
                let mut arrivals = Arrivals::new(&routes.by_source);
                let found = arrivals.find(|k| ids[k as usize], rank(id) as usize, id);
                prop_assert_eq!(found, Some(k));
            }
        }
        prop_assert_eq!(routes.externals, external.len());
        let planned_roots: Vec<u32> = (0..plan.roots(store))
            .map(|i| plan.root(store, i))
            .collect();
        prop_assert_eq!(planned_roots, roots);
        let local_targets: Vec<u32> = targets
            .iter()
            .filter(|&&t| rank(t) == me)
            .map(|&t| k_of(t))
            .collect();
        prop_assert_eq!(plan.targets(), &local_targets[..]);
    }
    Ok(())
}

proptest! {
    #[test]
    fn every_rank_plans_its_tasks_their_external_inputs_and_routes(case in cases()) {
        check(&case)?;
    }
}

#[test]
fn a_rank_without_tasks_plans_nothing() {
    check(&Case {
        inputs: vec![vec![], vec![0], vec![0, 1]],
        ranks: 3,
        rank_of: vec![0, 1, 1],
        targets: vec![2],
    })
    .unwrap();
}
