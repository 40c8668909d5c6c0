//! The fingerprint of a compute: what every rank must agree on before
//! anything runs (the culled graph: its tasks' names, output types, inputs
//! and hints, and the targets), so that ranks that built different graphs
//! get an error naming the first task that differs, never a hang.

use std::hash::{Hash, Hasher};

use mpi::topology::SimpleCommunicator;

use super::comm::{all_gather_bytes, all_gather_u64};
use super::graph::NodeMeta;
use crate::store::Store;
use crate::Error;

/// A hasher that is the same in every process of one program: SipHash
/// with fixed keys (`DefaultHasher::new`).
fn hasher() -> std::hash::DefaultHasher {
    std::hash::DefaultHasher::new()
}

/// The hash of one task as the compute sees it, with its rank `hint`.
fn node_hash(store: &Store, id: u32, meta: &NodeMeta, hint: Option<u32>) -> u64 {
    let mut h = hasher();
    id.hash(&mut h);
    store.name(id).hash(&mut h);
    (meta.codec.type_name)().hash(&mut h);
    store.inputs(id).hash(&mut h);
    hint.hash(&mut h);
    h.finish()
}

/// How one task reads in an error message.
fn describe(store: &Store, id: u32, meta: &NodeMeta, hint: Option<u32>) -> String {
    let mut text = format!(
        "task '{}' (key {id}) returning {} with inputs {:?}",
        store.name(id),
        (meta.codec.type_name)(),
        store.inputs(id)
    );
    if let Some(rank) = hint {
        text += &format!(" placed on rank {rank}");
    }
    text
}

/// The fingerprint a rank sends when it cannot compute at all (`unready`).
const UNREADY: u64 = u64::MAX;

/// Checks, with the other ranks, that every rank can compute (`unready`
/// says why this one cannot) and that they compute the same culled graph:
/// `needed` (node ids, increasing) with their entries `metas` and rank
/// hints `hints`, for `targets`. One 8-byte all-gather when they agree.
///
/// # Errors
/// If a rank cannot compute: on every rank, naming it and why. If any
/// rank's graph differs: on every rank, naming the first task that differs
/// and what each rank has there.
pub(crate) fn check(
    comm: &SimpleCommunicator,
    unready: Option<&Error>,
    store: &Store,
    needed: &[u32],
    metas: &[NodeMeta],
    hints: &[Option<u32>],
    targets: &[u32],
) -> Result<(), Error> {
    let hashes: Vec<u64> = (0..needed.len())
        .map(|i| node_hash(store, needed[i], &metas[i], hints[i]))
        .collect();
    let mut whole = hasher();
    hashes.hash(&mut whole);
    targets.hash(&mut whole);
    let mine = match unready {
        Some(_) => UNREADY,
        None => whole.finish().min(UNREADY - 1),
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
    let mut mine = Vec::with_capacity(hashes.len() * 8);
    hashes
        .iter()
        .for_each(|h| mine.extend_from_slice(&h.to_le_bytes()));
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
    let what = match first {
        Some(i) => needed
            .get(i)
            .map(|&id| describe(store, id, &metas[i], hints[i]))
            .unwrap_or_else(|| String::from("no task")),
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
