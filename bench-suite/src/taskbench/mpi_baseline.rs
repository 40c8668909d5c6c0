//! The floor: the same patterns written by hand with plain rsmpi, one point
//! per rank (width = ranks), as Task Bench's MPI implementation does.
//!
//! Each step, rank `i`:
//!
//! 1. posts a non-blocking receive for each point of the step before that
//!    point `(t, i)` reads, other than its own;
//! 2. posts a non-blocking send of its previous output to each point of
//!    step `t` that reads it, other than itself;
//! 3. waits for all of them, then runs the kernel and outputs the checksum.
//!
//! Messages between two ranks are matched in order (MPI does not let two
//! messages with the same source, tag and communicator overtake), so a send
//! for step `t + 1` cannot be taken by step `t`'s receive; the tag is the
//! step's parity anyway.

use std::time::{Duration, Instant};

use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Destination, Source};

use super::kernel::{checksum, kernel};
use super::pattern::Pattern;

/// Runs `steps` steps of `pattern` with one point per rank of `world`:
/// every point's last output (gathered on every rank) and this rank's
/// time.
pub fn run(
    world: &SimpleCommunicator,
    pattern: Pattern,
    steps: usize,
    iterations: u64,
) -> (Vec<u64>, Duration) {
    let width = world.size() as usize;
    let me = world.rank() as usize;
    let start = Instant::now();
    let mut mine: u64 = 0;
    for t in 0..steps {
        let tag = (t % 2) as i32;
        let reads_me = |k: usize| k != me && pattern.deps(t, k, width).contains(&me);
        let to: Vec<usize> = (0..pattern.active(t, width))
            .filter(|&k| reads_me(k))
            .collect();
        let active = me < pattern.active(t, width);
        let deps = if active {
            pattern.deps(t, me, width)
        } else {
            Vec::new()
        };
        let mut got = vec![0u64; deps.len()];
        let previous = mine;
        mpi::request::scope(|scope| {
            let mut requests = Vec::with_capacity(deps.len() + to.len());
            for (slot, &j) in got.iter_mut().zip(&deps) {
                if j != me {
                    requests.push(
                        world
                            .process_at_rank(j as i32)
                            .immediate_receive_into_with_tag(scope, slot, tag),
                    );
                }
            }
            for &k in &to {
                requests.push(
                    world
                        .process_at_rank(k as i32)
                        .immediate_send_with_tag(scope, &previous, tag),
                );
            }
            for request in requests {
                request.wait_without_status();
            }
        });
        if active {
            for (slot, &j) in got.iter_mut().zip(&deps) {
                if j == me {
                    *slot = previous;
                }
            }
            mine = checksum(t, me, got.into_iter(), kernel(iterations));
        }
    }
    let elapsed = start.elapsed();
    let mut all = vec![0u64; width];
    world.all_gather_into(&mine, &mut all[..]);
    let last = pattern.active(steps.saturating_sub(1), width);
    all.truncate(last);
    (all, elapsed)
}
