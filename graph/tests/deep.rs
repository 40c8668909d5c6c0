//! Nothing recurses on graph depth: a ten-million-node chain computes.

use delayed::{Executor, Graph};

#[test]
fn a_ten_million_node_chain_computes() {
    const N: u64 = 10_000_000;
    let g = Graph::new();
    let mut last = g.delayed("start", || 0u64);
    for _ in 1..N {
        last = g.task("inc", &last, |v| v + 1);
    }
    let ex = Executor::builder().workers(2).build().unwrap();
    assert_eq!(last.compute_on(&ex).unwrap(), N - 1);
    assert_eq!(last.compute_sync().unwrap(), N - 1);
}

#[test]
fn a_deep_fan_in_and_fan_out_computes() {
    // A diamond lattice: every layer depends on the whole previous layer.
    let g = Graph::new();
    let mut layer = vec![g.delayed("root", || 1u64)];
    for depth in 0..2_000 {
        let width = 1 + depth % 4;
        layer = (0..width)
            .map(|_| g.task("mix", &layer, |v| v.into_iter().max().unwrap() + 1))
            .collect();
    }
    let top = g.task("top", &layer, |v| *v.iter().max().unwrap());
    let ex = Executor::builder().workers(4).build().unwrap();
    assert_eq!(top.compute_on(&ex).unwrap(), 2_001);
}
