//! The fingerprint of a compute: what every rank must agree on before
//! anything runs (the culled graph: its tasks' names, output types, inputs
//! and hints, and the targets), so that ranks that built different graphs
//! get an error naming the first task that differs, never a hang.
//!
//! A task's hash never changes once it is added (a graph only grows), so
//! each is computed once, when the task is added, from what is at hand
//! then (hashing a million tasks at their first compute, reading their
//! records back, cost 32 ns each), and kept (`Hashes`). A compute folds
//! the kept hashes of its tasks; one that needs every task up to its
//! largest target (a prefix) extends the fold of the last such compute,
//! so a graph's tasks are folded once over its computes.
//!
//! The hash is a multiply-fold (as in wyhash), the same in every process
//! of one program, not SipHash: a check of agreement, never exposed to an
//! adversary, and a few nanoseconds per task.

use mpi::topology::SimpleCommunicator;

use super::comm::{all_gather_bytes, all_gather_u64};
use super::graph::NodeMeta;
use super::needed::Needed;
use super::placement::Hints;
use crate::store::Store;
use crate::Error;

/// Where every fold starts.
const SEED: u64 = 0x243f_6a88_85a3_08d3;

/// One step of the hash: `a` and `b` multiplied to 128 bits, the halves
/// xor-ed (wyhash's `mum`, with its constants).
#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let product = u128::from(a ^ 0xa076_1d64_78bd_642f) * u128::from(b ^ 0xe703_7ed1_a0b4_28db);
    (product as u64) ^ ((product >> 64) as u64)
}

/// The hash of a string.
fn text(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut h = mix(SEED, bytes.len() as u64);
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = mix(h, u64::from_le_bytes(word));
    }
    h
}

/// A rank hint as one word (`None` differs from every rank).
fn hint_word(hint: Option<u32>) -> u64 {
    hint.map_or(u64::MAX, u64::from)
}

/// The hashes of a graph's tasks, by id, as far as computes needed them.
pub(crate) struct Hashes {
    /// Task `id`'s hash: its id, name, output type, input ids and its own
    /// hint (`Graph::on`).
    task: Vec<u64>,
    /// The fold of the first `folded.0` hashes (`folded.1`).
    folded: (usize, u64),
    /// The last name hashed (its address, length and hash), the last
    /// output type (its codec's address and its name's hash), and the last
    /// hint (and its hash): tasks added one after another mostly share
    /// them. Names and codecs never move or change while the graph lives
    /// (the store keeps every name it was given).
    name: (usize, usize, u64),
    codec: (usize, u64),
    hint: (Option<u32>, u64),
}

impl Hashes {
    /// No task hashed yet, the hashes going into `task` (empty: a dropped
    /// graph's, `kept_columns.rs`).
    pub(crate) fn new(mut task: Vec<u64>) -> Hashes {
        task.clear();
        Hashes {
            task,
            folded: (0, SEED),
            name: (0, 0, 0),
            codec: (0, 0),
            hint: (None, mix(hint_word(None), SEED)),
        }
    }

    /// Hashes task `id`, the next one, about to be added: named `name`,
    /// with its entry `meta` and its input ids `inputs`. Two multiplies,
    /// when its name, type and hint are those of the task before.
    ///
    /// Inlined into the task builders: as a call it cost a multi-node
    /// build 55-59 more instructions per task (callgrind, 2^18 tasks of a
    /// chain: 386 -> 331 for the build and drop, independent tasks 343 ->
    /// 284), most of them saving and restoring the builder's registers
    /// around it; 32-34 -> 27 ns per task on a chain, 35-36 -> 31-32 on
    /// independent tasks (one rank, 4 alternated rounds, best of 20 builds).
    /// Always: once the store's push was inlined into each builder
    /// (`Store::push_locked`), a plain `#[inline]` was no longer taken, and
    /// the call was back (`perf annotate`); forced again, a chain of 10^6
    /// tasks 27 -> 25 ns per task (`distributed --only latency --chain
    /// 1000000`, one rank, medians of 5 builds, 4 alternated rounds), Task
    /// Bench's tree on 4 ranks, built on one, 18.6 -> 16.7 (4000 tasks).
    #[inline(always)]
    pub(crate) fn push(&mut self, id: u32, name: &str, meta: &NodeMeta, inputs: &[u32]) {
        debug_assert_eq!(id as usize, self.task.len());
        if (name.as_ptr() as usize, name.len()) != (self.name.0, self.name.1) {
            self.name = (name.as_ptr() as usize, name.len(), text(name));
        }
        let codec = std::ptr::from_ref(meta.codec) as usize;
        if codec != self.codec.0 {
            self.codec = (codec, text((meta.codec.type_name)()));
        }
        if meta.rank != self.hint.0 {
            self.hint = (meta.rank, mix(hint_word(meta.rank), SEED));
        }
        // Up to two inputs as they are (ids are below u32::MAX), more
        // folded.
        let word = |pair: &[u32]| {
            let high = pair.get(1).copied().unwrap_or(u32::MAX);
            u64::from(pair[0]) | u64::from(high) << 32
        };
        let inputs_word = match inputs.len() {
            0 => u64::MAX,
            1 | 2 => word(inputs),
            _ => inputs.chunks(2).fold(SEED, |h, pair| mix(h, word(pair))),
        };
        // The hashes of name, type and hint look random: xor-ed together,
        // they differ whenever one does, and xor-ed into the inputs' word
        // they hide no difference of the inputs.
        let what = self.name.2 ^ self.codec.1.rotate_left(21) ^ self.hint.1.rotate_left(42);
        let h = mix(
            u64::from(id) | (inputs.len() as u64) << 32,
            inputs_word ^ what,
        );
        self.task.push(h);
    }

    /// The tasks' hashes, taken out (for the cluster's next graph).
    pub(crate) fn take_all(&mut self) -> Vec<u64> {
        self.folded = (0, SEED);
        std::mem::take(&mut self.task)
    }

    /// Whether every task up to `max` is hashed.
    pub(crate) fn covers(&self, max: u32) -> bool {
        (max as usize) < self.task.len()
    }

    /// The fingerprint of computing `targets`, whose tasks are `needed`
    /// (all hashed) with `hints`.
    pub(crate) fn fingerprint(
        &mut self,
        needed: &Needed,
        hints: &Hints<'_>,
        targets: &[u32],
    ) -> u64 {
        let tasks = if needed.is_prefix() {
            let (from, start) = match self.folded {
                (len, h) if len <= needed.len() => (len, h),
                _ => (0, SEED),
            };
            let h = self.task[from..needed.len()]
                .iter()
                .fold(start, |h, &task| mix(h, task));
            self.folded = (needed.len(), h);
            h
        } else {
            needed
                .ids()
                .fold(SEED, |h, id| mix(h, self.task[id as usize]))
        };
        let mut h = mix(tasks, needed.len() as u64);
        if hints.any_from_placement() {
            // Hints given by a placement: they are not in the kept hashes.
            for id in needed.ids() {
                h = mix(h, hint_word(hints.get(id)));
            }
        }
        for &target in targets {
            h = mix(h, u64::from(target));
        }
        mix(h, targets.len() as u64)
    }

    /// The hash of the compute's task number `i`, with its hint.
    fn of_task(&self, needed: &Needed, hints: &Hints<'_>, i: usize) -> u64 {
        let id = needed.id(i);
        mix(self.task[id as usize], hint_word(hints.get(id)))
    }
}

/// What the check reads of one compute, to name the first task that
/// differs when the fingerprints do.
pub(crate) struct Compute<'a> {
    pub(crate) store: &'a Store,
    pub(crate) needed: &'a Needed,
    pub(crate) metas: &'a [NodeMeta],
    pub(crate) hints: Hints<'a>,
    pub(crate) hashes: &'a Hashes,
    pub(crate) targets: &'a [u32],
}

impl Compute<'_> {
    /// How task number `i` reads in an error message.
    fn describe(&self, i: usize) -> String {
        let id = self.needed.id(i);
        let store = self.store;
        let mut text = format!(
            "task '{}' (key {id}) returning {} with inputs {:?}",
            store.name(id),
            (self.metas[id as usize].codec.type_name)(),
            store.inputs(id)
        );
        if let Some(rank) = self.hints.get(id) {
            text += &format!(" placed on rank {rank}");
        }
        text
    }
}

/// The fingerprint a rank sends when it cannot compute at all (`unready`).
const UNREADY: u64 = u64::MAX;

/// Checks, with the other ranks, that every rank can compute (`unready`
/// says why this one cannot) and that they compute the same culled graph:
/// `fingerprint`, from `Hashes::fingerprint` of `compute` (read only if
/// the fingerprints differ). One 8-byte all-gather when they agree.
///
/// # Errors
/// If a rank cannot compute: on every rank, naming it and why. If any
/// rank's graph differs: on every rank, naming the first task that differs
/// and what each rank has there.
pub(crate) fn check(
    comm: &SimpleCommunicator,
    unready: Option<&Error>,
    fingerprint: u64,
    compute: &Compute<'_>,
) -> Result<(), Error> {
    let mine = match unready {
        Some(_) => UNREADY,
        None => fingerprint.min(UNREADY - 1),
    };
    let all = all_gather_u64(comm, mine);
    if all.contains(&UNREADY) {
        let why = unready.map(ToString::to_string).unwrap_or_default();
        let whys = all_gather_bytes(comm, why.as_bytes());
        let mut message = String::from("delayed::mpi: a rank cannot compute:");
        for (rank, why) in whys.iter().enumerate().filter(|(_, why)| !why.is_empty()) {
            message += &format!("\n  rank {rank}: {}", String::from_utf8_lossy(why));
        }
        return Err(Error::cluster(message));
    }
    if all.iter().all(|&h| h == all[0]) {
        return Ok(());
    }
    // They differ: find the first task that does, with every rank's list.
    let needed = compute.needed;
    let mut mine = Vec::with_capacity(needed.len() * 8);
    for i in 0..needed.len() {
        let h = compute.hashes.of_task(needed, &compute.hints, i);
        mine.extend_from_slice(&h.to_le_bytes());
    }
    let lists: Vec<Vec<u64>> = all_gather_bytes(comm, &mine)
        .iter()
        .map(|bytes| {
            bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect()
        })
        .collect();
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    let first = (0..longest).find(|&i| lists.iter().any(|list| list.get(i) != lists[0].get(i)));
    let targets = compute.targets;
    let what = match first {
        Some(i) if i < needed.len() => compute.describe(i),
        Some(_) => String::from("no task"),
        None => format!("the same tasks, but the targets {targets:?}"),
    };
    let descriptions = all_gather_bytes(comm, what.as_bytes());
    let mut message = String::from(
        "delayed::mpi: the ranks built different graphs (every rank must add the same tasks in \
         the same order, place them alike and compute the same targets)",
    );
    match first {
        Some(i) => message += &format!("; the first difference is the compute's task #{i}:"),
        None => message += ":",
    }
    for (rank, text) in descriptions.iter().enumerate() {
        message += &format!("\n  rank {rank}: {}", String::from_utf8_lossy(text));
    }
    Err(Error::cluster(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpi::codec::codec_of;
    use crate::Graph;

    #[test]
    fn the_mix_depends_on_both_words_and_their_order() {
        assert_ne!(mix(1, 2), mix(2, 1));
        assert_ne!(mix(SEED, 0), mix(SEED, 1));
        assert_ne!(text("inc"), text("dec"));
        assert_ne!(text("a"), text("a\0"));
        assert_ne!(hint_word(None), hint_word(Some(0)));
    }

    /// A chain of `names.len()` tasks, and its hashes.
    fn chain(names: &[&'static str]) -> (Graph, Vec<NodeMeta>, Hashes) {
        let g = Graph::new();
        let (mut metas, mut hashes) = (Vec::new(), Hashes::new(Vec::new()));
        let mut last = None;
        for (id, &name) in names.iter().enumerate() {
            let meta = NodeMeta {
                codec: codec_of::<u64>(),
                rank: None,
            };
            let inputs: Vec<u32> = last.iter().map(|l: &crate::Delayed<u64>| l.id()).collect();
            hashes.push(id as u32, name, &meta, &inputs);
            metas.push(meta);
            last = Some(match last {
                None => g.delayed(name, || 0u64),
                Some(l) => g.task(name, &l, |v| v + 1),
            });
        }
        (g, metas, hashes)
    }

    fn fingerprint_of(g: &Graph, metas: &[NodeMeta], hashes: &mut Hashes, target: u32) -> u64 {
        let needed = Needed::of(g.store(), &[target]);
        assert!(needed.is_prefix());
        let hints = Hints {
            metas,
            placement: None,
        };
        hashes.fingerprint(&needed, &hints, &[target])
    }

    #[test]
    fn a_prefix_folded_on_from_an_earlier_compute_equals_one_folded_afresh() {
        let names = ["a"; 9];
        let (g, metas, mut kept) = chain(&names);
        let along: Vec<u64> = [4, 8, 2, 8]
            .iter()
            .map(|&t| fingerprint_of(&g, &metas, &mut kept, t))
            .collect();
        let afresh: Vec<u64> = [4, 8, 2, 8]
            .iter()
            .map(|&t| fingerprint_of(&g, &metas, &mut chain(&names).2, t))
            .collect();
        assert_eq!(along, afresh);
        assert_ne!(along[0], along[1]);
        assert_eq!(along[1], along[3]);
        // Another name in the middle: another fingerprint, from there on.
        let (g2, metas2, mut other) = chain(&["a", "a", "a", "b", "a", "a", "a", "a", "a"]);
        assert_eq!(fingerprint_of(&g2, &metas2, &mut other, 2), along[2]);
        assert_ne!(fingerprint_of(&g2, &metas2, &mut other, 8), along[1]);
    }
}
