//! Helpers shared by the property tests over random DAGs
//! (`random_dags.rs`, `mixed_values.rs`).

use std::sync::OnceLock;

use delayed::Executor;

/// What node `i` computes from its inputs' values.
pub(crate) fn mix(i: usize, inputs: impl Iterator<Item = u64>) -> u64 {
    inputs.fold(i as u64 * 0x9E37_79B9 + 1, |acc, v| {
        acc.rotate_left(5) ^ v.wrapping_mul(31)
    })
}

/// Executors of 1, 2 and 4 workers, made once for all cases.
pub(crate) fn executors() -> &'static [Executor] {
    static EXECUTORS: OnceLock<Vec<Executor>> = OnceLock::new();
    EXECUTORS.get_or_init(|| {
        [1, 2, 4]
            .iter()
            .map(|&n| Executor::builder().workers(n).build().unwrap())
            .collect()
    })
}
