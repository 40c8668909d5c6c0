//! The `stream` case: a chain on rank 0 each of whose values a task on the
//! last rank reads (Task Bench's tree on two ranks). Its tasks are far
//! shorter than the exchange's at-once gap (`graph/src/mpi/wire.rs`), so
//! its values leave in bursts: two at once, the next ones waiting, then
//! sent with the value that ends the burst, in one message. Every value
//! must arrive once, in its reader.

use delayed::mpi::{Cluster, Graph};

use crate::cases::{ensure, Outcome};

/// Links of the chain: enough for thousands of bursts.
const LINKS: u64 = 20_000;

/// Link `i`'s value from the one before.
fn step(v: u64, i: u64) -> u64 {
    v.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i)
}

/// What the last rank makes of link `i`'s value.
fn read(v: u64, i: u64) -> u64 {
    v.rotate_left((i % 64) as u32) ^ i
}

pub(crate) fn stream(cluster: &Cluster, g: &Graph) -> Outcome {
    let last = cluster.size() - 1;
    let mut link = g.on(0).delayed("start", || 1u64);
    let mut reads = Vec::new();
    let (mut value, mut expected) = (1u64, 0u64);
    for i in 0..LINKS {
        link = g.on(0).task("step", &link, move |v| step(*v, i));
        reads.push(g.on(last).task("read", &link, move |v| read(*v, i)));
        value = step(value, i);
        expected = expected.wrapping_add(read(value, i));
    }
    let total = g.on(last).task("total", &reads, |v| {
        v.into_iter().fold(0u64, |sum, &x| sum.wrapping_add(x))
    });
    // Twice: the second run's exports find the first's spare buffers.
    for run in 0..2 {
        let got = total.compute().map_err(|e| e.to_string())?;
        ensure(got == expected, || {
            format!("run {run}: total {got:#x}, expected {expected:#x}")
        })?;
    }
    Ok(())
}
