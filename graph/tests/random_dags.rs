//! Property test: random DAGs, with duplicate inputs and random targets,
//! compute the same results as a plain sequential evaluation, on 1, 2 and 4
//! workers and in sync mode.

mod dag_support;

use dag_support::{executors, mix};
use delayed::{Delayed, Graph};
use proptest::prelude::*;

/// Node `i`'s inputs: indices of earlier nodes, duplicates allowed.
type Shape = Vec<Vec<usize>>;

fn shapes() -> impl Strategy<Value = (Shape, Vec<usize>)> {
    (1usize..80)
        .prop_flat_map(|n| {
            let nodes: Vec<_> = (0..n)
                .map(|i| {
                    if i == 0 {
                        Just(Vec::new()).boxed()
                    } else {
                        prop::collection::vec(0..i, 0..5).boxed()
                    }
                })
                .collect();
            (nodes, prop::collection::vec(0..n, 1..6))
        })
        .prop_map(|(nodes, mut targets)| {
            targets.sort_unstable();
            targets.dedup();
            (nodes, targets)
        })
}

fn sequential(shape: &Shape) -> Vec<u64> {
    let mut values = Vec::with_capacity(shape.len());
    for (i, inputs) in shape.iter().enumerate() {
        let value = mix(i, inputs.iter().map(|&j| values[j]));
        values.push(value);
    }
    values
}

fn build(shape: &Shape) -> (Graph, Vec<Delayed<u64>>) {
    let g = Graph::new();
    let mut nodes: Vec<Delayed<u64>> = Vec::with_capacity(shape.len());
    for (i, inputs) in shape.iter().enumerate() {
        let node = match inputs.as_slice() {
            [] => g.delayed("leaf", move || mix(i, std::iter::empty())),
            [a] => g.task("one", &nodes[*a], move |a| mix(i, std::iter::once(*a))),
            [a, b] => g.task("two", (&nodes[*a], &nodes[*b]), move |(a, b)| {
                mix(i, [*a, *b].into_iter())
            }),
            many => {
                let list: Vec<_> = many.iter().map(|&j| nodes[j].clone()).collect();
                g.task("many", &list, move |vals| mix(i, vals.into_iter().copied()))
            }
        };
        nodes.push(node);
    }
    (g, nodes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_dags_match_a_sequential_evaluation((shape, targets) in shapes()) {
        let expected = sequential(&shape);
        let (_g, nodes) = build(&shape);
        let wanted: Vec<Delayed<u64>> = targets.iter().map(|&t| nodes[t].clone()).collect();
        let expected: Vec<u64> = targets.iter().map(|&t| expected[t]).collect();
        for ex in executors() {
            prop_assert_eq!(&delayed::compute_on(&wanted, ex).unwrap(), &expected);
        }
        prop_assert_eq!(&delayed::compute_sync(&wanted).unwrap(), &expected);
        // One target alone culls the rest.
        let last = wanted.last().unwrap();
        prop_assert_eq!(last.compute_on(&executors()[1]).unwrap(), *expected.last().unwrap());
    }
}
