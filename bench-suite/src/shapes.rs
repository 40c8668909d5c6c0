//! The DAG shapes of Taskflow's benchmark suite, as [`Dag`]s of about a
//! million nodes: a linear chain, a binary tree, independent tasks and a
//! sink, a wavefront and a random DAG.
//!
//! Each ends in a single sink, the node a `compute()` asks for (see [`Dag`]).

use crate::dag::{index, Adjacency, Dag};

/// The shapes the overhead tables compare, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A linear chain: no parallelism at all, pure per-task latency.
    Chain,
    /// A binary reduction tree: leaves first, the root last.
    BinaryTree,
    /// Independent tasks and one sink that takes them all.
    IndependentSink,
    /// A square grid; cell (r, c) waits for (r - 1, c) and (r, c - 1).
    Wavefront,
    /// A random DAG of bounded in-degree and local edges (seeded).
    Random,
}

/// The seed of the random DAG in every table, so that runs compare.
pub const RANDOM_SEED: u64 = 0x05ee_dda6;

impl Shape {
    /// Every shape, in table order.
    pub const ALL: [Shape; 5] = [
        Shape::Chain,
        Shape::BinaryTree,
        Shape::IndependentSink,
        Shape::Wavefront,
        Shape::Random,
    ];

    /// The name the tables and plots print.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Chain => "chain",
            Shape::BinaryTree => "binary_tree",
            Shape::IndependentSink => "independent_sink",
            Shape::Wavefront => "wavefront",
            Shape::Random => "random",
        }
    }

    /// The shape at scale `log2`: about `2^log2` nodes (`2^20` is the
    /// benchmarks' million: a chain of 2^20, a tree of depth 20, 2^20
    /// independent tasks and a sink, a 1024 x 1024 wavefront, a random DAG
    /// of 2^20 nodes).
    pub fn dag(self, log2: u32) -> Dag {
        let n = 1usize << log2;
        match self {
            Shape::Chain => chain(n),
            Shape::BinaryTree => binary_tree(log2),
            Shape::IndependentSink => independent_with_sink(n),
            Shape::Wavefront => wavefront(1 << (log2 / 2), 1 << (log2 - log2 / 2)),
            Shape::Random => random(n, RANDOM_SEED),
        }
    }
}

/// `n` nodes, each the input of the next.
pub fn chain(n: usize) -> Dag {
    let lists = (0..index(n)).map(|i| i.checked_sub(1));
    Dag::new("chain", Adjacency::from_lists(lists))
}

/// A complete binary reduction tree with `depth` levels (`2^depth - 1`
/// nodes): the `2^(depth-1)` leaves come first, each inner node takes two
/// nodes of the level below, and the root is last.
pub fn binary_tree(depth: u32) -> Dag {
    assert!(depth >= 1, "a tree has at least one level");
    let mut lists: Vec<Vec<u32>> = Vec::with_capacity((1usize << depth) - 1);
    let leaves = 1usize << (depth - 1);
    lists.resize(leaves, Vec::new());
    let (mut below_start, mut below_len) = (0usize, leaves);
    while below_len > 1 {
        for p in 0..below_len / 2 {
            let left = index(below_start + 2 * p);
            lists.push(vec![left, left + 1]);
        }
        below_start += below_len;
        below_len /= 2;
    }
    Dag::new("binary_tree", Adjacency::from_lists(lists))
}

/// `n` independent nodes, then one sink that takes all of them.
pub fn independent_with_sink(n: usize) -> Dag {
    let lists = (0..n).map(|_| 0..0).chain(std::iter::once(0..index(n)));
    Dag::new("independent_sink", Adjacency::from_lists(lists))
}

/// A `width` x `height` grid, row by row; cell (r, c) takes (r - 1, c) and
/// (r, c - 1). The last cell is the sink.
pub fn wavefront(width: usize, height: usize) -> Dag {
    let lists = (0..height).flat_map(|r| {
        (0..width).map(move |c| {
            let id = index(r * width + c);
            let up = (r > 0).then(|| id - index(width));
            let left = (c > 0).then(|| id - 1);
            up.into_iter().chain(left)
        })
    });
    Dag::new("wavefront", Adjacency::from_lists(lists))
}

/// How far back a random node may reach for an input. Local edges keep the
/// graph deep enough to be a scheduling problem and wide enough (hundreds of
/// ready nodes at a time) for 16 workers.
const RANDOM_WINDOW: usize = 1024;

/// A random DAG of `n` nodes: node `i` takes one to three distinct inputs
/// drawn from the `RANDOM_WINDOW` nodes before it, plus the node leaving the
/// window if nothing has taken it yet; the last node takes every node still
/// without a successor. Deterministic for a given `seed`.
pub fn random(n: usize, seed: u64) -> Dag {
    assert!(n >= 2, "a random DAG has at least a source and a sink");
    let mut rng = SplitMix64(seed);
    let mut taken = vec![false; n];
    let mut lists: Vec<Vec<u32>> = Vec::with_capacity(n);
    lists.push(Vec::new());
    for i in 1..n - 1 {
        let lo = i.saturating_sub(RANDOM_WINDOW);
        let want = 1 + rng.below(3) as usize;
        let mut inputs: Vec<u32> = Vec::with_capacity(want + 1);
        for _ in 0..want {
            let pick = index(lo + rng.below((i - lo) as u64) as usize);
            if !inputs.contains(&pick) {
                inputs.push(pick);
            }
        }
        if i > RANDOM_WINDOW && !taken[i - RANDOM_WINDOW - 1] {
            let leaving = index(i - RANDOM_WINDOW - 1);
            if !inputs.contains(&leaving) {
                inputs.push(leaving);
            }
        }
        inputs.sort_unstable();
        for &j in &inputs {
            taken[j as usize] = true;
        }
        lists.push(inputs);
    }
    lists.push((0..n - 1).filter(|&j| !taken[j]).map(index).collect());
    Dag::new("random", Adjacency::from_lists(lists))
}

/// Sebastiano Vigna's SplitMix64: tiny, seedable, good enough for shapes.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`); the modulo bias is immaterial here.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_counts() {
        let dag = chain(1000);
        assert_eq!((dag.nodes(), dag.edges(), dag.depth()), (1000, 999, 1000));
    }

    #[test]
    fn binary_tree_counts() {
        let dag = binary_tree(10);
        assert_eq!(dag.nodes(), 1023);
        assert_eq!(dag.edges(), 1022);
        assert_eq!(dag.depth(), 10);
        assert_eq!(dag.inputs().of(dag.sink()).len(), 2);
        let leaves = (0..1023).filter(|&i| dag.inputs().degree(i) == 0).count();
        assert_eq!(leaves, 512);
    }

    #[test]
    fn independent_counts() {
        let dag = independent_with_sink(1000);
        assert_eq!((dag.nodes(), dag.edges(), dag.depth()), (1001, 1000, 2));
    }

    #[test]
    fn wavefront_counts() {
        let dag = wavefront(32, 16);
        assert_eq!(dag.nodes(), 512);
        // Each cell but those in the first row has an up edge, each but
        // those in the first column a left edge.
        assert_eq!(dag.edges(), 31 * 16 + 32 * 15);
        assert_eq!(dag.depth(), 32 + 16 - 1);
    }

    #[test]
    fn random_is_deterministic_and_bounded() {
        let a = random(20_000, 7);
        let b = random(20_000, 7);
        assert_eq!(a.inputs(), b.inputs());
        assert_ne!(a.inputs(), random(20_000, 8).inputs());
        let inner_max = (1..a.sink()).map(|i| a.inputs().degree(i)).max();
        assert_eq!(inner_max, Some(4));
        // Local edges: deep enough to schedule, wide enough to share.
        let depth = a.depth();
        assert!(depth > 50 && depth < 20_000 / 16, "depth {depth}");
    }

    #[test]
    fn every_shape_at_full_scale_has_about_a_million_nodes() {
        for shape in Shape::ALL {
            let dag = shape.dag(20);
            let n = dag.nodes();
            assert!(
                ((1 << 20) - 1..=(1 << 20) + 1).contains(&n),
                "{}: {n}",
                shape.name()
            );
        }
    }
}
