//! Property test: random DAGs whose nodes output either a number (nothing
//! to drop: a run never counts its reads nor empties its slot) or a value
//! with a destructor (counted, and dropped by its last consumer), shared
//! between consumers of both kinds. On 1, 2 and 4 workers and in sync
//! mode, the numbers reaching the targets match a sequential evaluation,
//! and every value with a destructor is dropped exactly once.

mod dag_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dag_support::{executors, mix};
use delayed::{Delayed, Graph};
use proptest::prelude::*;

/// Node `i`: whether its output has a destructor, and its inputs (indices
/// of earlier nodes, duplicates allowed).
type Shape = Vec<(bool, Vec<usize>)>;

/// At most two inputs when their kinds differ (a tuple of two handles),
/// any number when they agree (a list): what `build` can express.
fn shapes() -> impl Strategy<Value = (Shape, Vec<usize>)> {
    (2usize..60)
        .prop_flat_map(|n| {
            let nodes: Vec<_> = (0..n)
                .map(|i| {
                    let inputs = if i == 0 {
                        Just(Vec::new()).boxed()
                    } else {
                        prop::collection::vec(0..i, 0..5).boxed()
                    };
                    // Node 0 is a number, so there is always one to ask for.
                    let boxed = if i == 0 {
                        Just(false).boxed()
                    } else {
                        any::<bool>().boxed()
                    };
                    (boxed, inputs)
                })
                .collect();
            (nodes, prop::collection::vec(0..n, 1..6))
        })
        .prop_map(|(mut nodes, targets)| {
            for i in 0..nodes.len() {
                let kinds: Vec<bool> = nodes[i].1.iter().map(|&j| nodes[j].0).collect();
                if kinds.len() > 2 && kinds.iter().any(|&k| k != kinds[0]) {
                    nodes[i].1.truncate(2);
                }
            }
            // Targets: the numbers among them, or node 0.
            let mut targets: Vec<usize> = targets.into_iter().filter(|&t| !nodes[t].0).collect();
            targets.sort_unstable();
            targets.dedup();
            if targets.is_empty() {
                targets.push(0);
            }
            (nodes, targets)
        })
}

fn sequential(shape: &Shape) -> Vec<u64> {
    let mut values = Vec::with_capacity(shape.len());
    for (i, (_, inputs)) in shape.iter().enumerate() {
        let value = mix(i, inputs.iter().map(|&j| values[j]));
        values.push(value);
    }
    values
}

/// Counts values made and dropped.
#[derive(Default)]
struct Census {
    made: AtomicUsize,
    dropped: AtomicUsize,
}

/// A number with a destructor that reports to its census.
struct Counted {
    value: u64,
    census: Arc<Census>,
}

impl Counted {
    fn new(value: u64, census: &Arc<Census>) -> Counted {
        census.made.fetch_add(1, Ordering::SeqCst);
        Counted {
            value,
            census: Arc::clone(census),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.census.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
enum Node {
    Plain(Delayed<u64>),
    Counted(Delayed<Counted>),
}

/// Adds node `i` computing `mix(i, inputs)`, as a number or a `Counted`.
fn add(g: &Graph, i: usize, boxed: bool, census: &Arc<Census>, inputs: &[Node]) -> Node {
    let census = Arc::clone(census);
    // Each arm computes `mix(i, inputs)`, as a number or a `Counted`.
    macro_rules! node {
        ($name:expr, $inputs:expr, |$args:pat_param| $values:expr) => {
            if boxed {
                Node::Counted(g.task($name, $inputs, move |$args| {
                    Counted::new(mix(i, $values), &census)
                }))
            } else {
                Node::Plain(g.task($name, $inputs, move |$args| mix(i, $values)))
            }
        };
    }
    match inputs {
        [] => {
            if boxed {
                Node::Counted(g.delayed("leaf", move || {
                    Counted::new(mix(i, std::iter::empty()), &census)
                }))
            } else {
                Node::Plain(g.delayed("leaf", move || mix(i, std::iter::empty())))
            }
        }
        [Node::Plain(a)] => node!("p", a, |a| std::iter::once(*a)),
        [Node::Counted(a)] => node!("c", a, |a| std::iter::once(a.value)),
        [Node::Plain(a), Node::Plain(b)] => node!("pp", (a, b), |(a, b)| [*a, *b].into_iter()),
        [Node::Plain(a), Node::Counted(b)] => {
            node!("pc", (a, b), |(a, b)| [*a, b.value].into_iter())
        }
        [Node::Counted(a), Node::Plain(b)] => {
            node!("cp", (a, b), |(a, b)| [a.value, *b].into_iter())
        }
        [Node::Counted(a), Node::Counted(b)] => {
            node!("cc", (a, b), |(a, b)| [a.value, b.value].into_iter())
        }
        many => match many[0] {
            Node::Plain(_) => {
                let list = one_kind(many, Node::plain);
                node!("pn", &list, |vals| vals.into_iter().copied())
            }
            Node::Counted(_) => {
                let list = one_kind(many, Node::counted);
                node!("cn", &list, |vals| vals.into_iter().map(|v| v.value))
            }
        },
    }
}

impl Node {
    fn plain(&self) -> Option<&Delayed<u64>> {
        match self {
            Node::Plain(d) => Some(d),
            Node::Counted(_) => None,
        }
    }

    fn counted(&self) -> Option<&Delayed<Counted>> {
        match self {
            Node::Counted(d) => Some(d),
            Node::Plain(_) => None,
        }
    }
}

/// The handles of `nodes`, all of the kind `pick` takes (`shapes` makes
/// lists of one kind only).
fn one_kind<A>(nodes: &[Node], pick: fn(&Node) -> Option<&Delayed<A>>) -> Vec<Delayed<A>> {
    nodes
        .iter()
        .map(|n| pick(n).expect("lists are of one kind").clone())
        .collect()
}

fn build(shape: &Shape, census: &Arc<Census>) -> (Graph, Vec<Node>) {
    let g = Graph::new();
    let mut nodes: Vec<Node> = Vec::with_capacity(shape.len());
    for (i, (boxed, inputs)) in shape.iter().enumerate() {
        let inputs: Vec<Node> = inputs.iter().map(|&j| nodes[j].clone()).collect();
        let node = add(&g, i, *boxed, census, &inputs);
        nodes.push(node);
    }
    (g, nodes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn numbers_and_counted_values_mix_and_each_counted_value_drops_once(
        (shape, targets) in shapes()
    ) {
        let expected = sequential(&shape);
        let census = Arc::new(Census::default());
        let (g, nodes) = build(&shape, &census);
        let wanted: Vec<Delayed<u64>> = targets
            .iter()
            .map(|&t| nodes[t].plain().expect("targets are numbers").clone())
            .collect();
        let expected: Vec<u64> = targets.iter().map(|&t| expected[t]).collect();
        for ex in executors() {
            prop_assert_eq!(&delayed::compute_on(&wanted, ex).unwrap(), &expected);
        }
        prop_assert_eq!(&delayed::compute_sync(&wanted).unwrap(), &expected);
        drop((g, nodes));
        let made = census.made.load(Ordering::SeqCst);
        prop_assert_eq!(census.dropped.load(Ordering::SeqCst), made, "made {}", made);
    }
}
