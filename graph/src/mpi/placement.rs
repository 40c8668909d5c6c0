//! The default placement of a compute's tasks on ranks: the same on every
//! rank, from the graph alone, decided before anything runs.
//!
//! In the order tasks were added (a topological order):
//! 1. a task with a hint (`Graph::on`) runs on that rank;
//! 2. a task that continues a chain (one input, which nothing else in the
//!    compute reads) runs where its input ran: a chain never crosses ranks
//!    on its own;
//! 3. a task that joins several inputs runs on the rank that holds most of
//!    them (ties: the least loaded), unless that rank already has more than
//!    its share of the tasks, then on the least loaded;
//! 4. every other task (the roots, the branches of a fork) starts a new
//!    piece of work: these are cut into `ranks` contiguous blocks of equal
//!    count, in order, so that tasks added together (a loop's iterations)
//!    stay together and each rank gets as many as any other. The lesson's
//!    8 `inc`s on 4 ranks run 2 per rank, and its `sum` on rank 0.

use super::graph::NodeMeta;
use super::needed::Needed;
use super::Placement;
use crate::store::Store;
use crate::Error;

/// Each task's rank hint: its own (`Graph::on`), else the one the options'
/// `Placement` gives it, if any.
#[derive(Clone, Copy)]
pub(crate) struct Hints<'a> {
    /// Every task's entry, by id.
    pub(crate) metas: &'a [NodeMeta],
    pub(crate) placement: Option<&'a Placement>,
}

impl Hints<'_> {
    /// The hint of task `id`.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<u32> {
        self.metas[id as usize].rank.or_else(|| {
            let rank = self.placement?.rank_of(id as usize)?;
            Some(u32::try_from(rank).unwrap_or(u32::MAX))
        })
    }

    /// Whether some hints come from a `Placement`.
    pub(crate) fn any_from_placement(&self) -> bool {
        self.placement.is_some()
    }
}

/// How a task is placed, when it has no hint.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Hinted(u32),
    Chain(u32),
    Join,
    Head,
}

/// The rank of each of the `needed` tasks (by their number), given their
/// `hints`, on `ranks` ranks. When every task has a hint, that is all it
/// reads.
///
/// # Errors
/// If a hint names a rank outside the job.
pub(crate) fn place(
    store: &Store,
    needed: &Needed,
    hints: &Hints<'_>,
    ranks: usize,
) -> Result<Vec<u32>, Error> {
    let mut hinted = Vec::with_capacity(needed.len());
    let mut unhinted = 0usize;
    for id in needed.ids() {
        match hints.get(id) {
            Some(rank) if rank as usize >= ranks => {
                return Err(Error::cluster(format!(
                    "delayed::mpi: task '{}' (key {id}) is placed on rank {rank} (Graph::on or a \
                     Placement), \
                     but the job has {ranks} rank(s): 0 to {}",
                    store.name(id),
                    ranks - 1
                )))
            }
            Some(rank) => hinted.push(rank),
            None => {
                unhinted += 1;
                hinted.push(u32::MAX);
            }
        }
    }
    if unhinted == 0 {
        return Ok(hinted);
    }
    let index = |id: u32| needed.index(id) as u32;
    // Consumers within the compute, once per edge.
    let mut readers = vec![0u32; needed.len()];
    for id in needed.ids() {
        for &input in store.inputs(id) {
            readers[index(input) as usize] += 1;
        }
    }
    let mut heads = 0usize;
    let kinds: Vec<Kind> = needed
        .ids()
        .zip(&hinted)
        .map(|(id, &hint)| {
            if hint != u32::MAX {
                return Kind::Hinted(hint);
            }
            let inputs = store.inputs(id);
            let distinct = inputs.first().map_or(0, |first| {
                1 + usize::from(inputs.iter().any(|input| input != first))
            });
            match distinct {
                1 if inputs.len() == 1 && readers[index(inputs[0]) as usize] == 1 => {
                    Kind::Chain(index(inputs[0]))
                }
                0 | 1 => {
                    heads += 1;
                    Kind::Head
                }
                _ => Kind::Join,
            }
        })
        .collect();
    let share = needed.len().div_ceil(ranks) as u32;
    let mut load = vec![0u32; ranks];
    let mut rank_of = hinted;
    let mut head = 0usize;
    let mut held = vec![0u32; ranks];
    for (k, kind) in kinds.into_iter().enumerate() {
        let rank = match kind {
            Kind::Hinted(rank) => rank,
            Kind::Chain(input) => rank_of[input as usize],
            Kind::Head => {
                let rank = (head * ranks / heads) as u32;
                head += 1;
                rank
            }
            Kind::Join => {
                held.iter_mut().for_each(|h| *h = 0);
                for &input in store.inputs(needed.id(k)) {
                    held[rank_of[index(input) as usize] as usize] += 1;
                }
                let most = (0..ranks)
                    .max_by(|&a, &b| {
                        held[a]
                            .cmp(&held[b])
                            .then(load[b].cmp(&load[a]))
                            .then(b.cmp(&a))
                    })
                    .expect("at least one rank");
                if load[most] > share + share / 4 {
                    least_loaded(&load)
                } else {
                    most as u32
                }
            }
        };
        load[rank as usize] += 1;
        rank_of[k] = rank;
    }
    Ok(rank_of)
}

/// The rank with the fewest tasks so far (the lowest of those).
fn least_loaded(load: &[u32]) -> u32 {
    (0..load.len())
        .min_by_key(|&r| (load[r], r))
        .expect("at least one rank") as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpi::codec::codec_of;
    use crate::Graph;

    /// `place` of every task of `g` (a prefix), with these own hints.
    fn place_all(g: &Graph, own: &[Option<u32>], ranks: usize) -> Result<Vec<u32>, Error> {
        let metas: Vec<NodeMeta> = own
            .iter()
            .map(|&rank| NodeMeta {
                codec: codec_of::<i64>(),
                rank,
            })
            .collect();
        let all: Vec<u32> = (0..own.len() as u32).collect();
        let needed = Needed::of(g.store(), &all);
        assert!(needed.is_prefix());
        let hints = Hints {
            metas: &metas,
            placement: None,
        };
        place(g.store(), &needed, &hints, ranks)
    }

    #[test]
    fn the_lessons_loop_runs_two_incs_per_rank_and_its_sum_on_rank_0() {
        let g = Graph::new();
        let xs: Vec<_> = (1..=8).map(|i| g.delayed("inc", move || i + 1)).collect();
        let _total = g.task("sum", &xs, |v| v.into_iter().sum::<i64>());
        let ranks = place_all(&g, &[None; 9], 4).unwrap();
        assert_eq!(ranks, vec![0, 0, 1, 1, 2, 2, 3, 3, 0]);
    }

    #[test]
    fn chains_stay_together_and_hints_win() {
        let g = Graph::new();
        let a = g.delayed("a", || 1);
        let b = g.task("b", &a, |v| v + 1);
        let c = g.task("c", &b, |v| v + 1);
        let d = g.delayed("d", || 1);
        let e = g.task("e", &d, |v| v + 1);
        let _f = g.task("f", (&c, &e), |(x, y)| x + y);
        let hints = [None, None, None, None, None, Some(0)];
        assert_eq!(place_all(&g, &hints, 2).unwrap(), vec![0, 0, 0, 1, 1, 0]);
        let all_hinted = [1, 0, 1, 0, 1, 0].map(Some);
        assert_eq!(
            place_all(&g, &all_hinted, 2).unwrap(),
            vec![1, 0, 1, 0, 1, 0]
        );
        let err = place_all(&g, &[None, None, None, None, None, Some(2)], 2)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("task 'f' (key 5) is placed on rank 2"),
            "{err}"
        );
    }
}
