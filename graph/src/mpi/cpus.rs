//! Sharing a node's CPUs among its ranks. When a launcher starts several
//! ranks on a node without binding each to its own CPUs (`mpirun` binds to
//! a whole socket from 3 ranks on, or not at all with `--bind-to none` or
//! `--oversubscribe`), every rank sees the same affinity mask, builds one
//! worker per CPU of it, and pins worker `i` to the mask's `i`-th CPU: all
//! ranks' first workers on one CPU. So at `Cluster::init`, ranks of one
//! node with the same mask each narrow theirs to an equal share of it
//! (ranks beyond the CPUs share them round-robin); ranks the launcher bound
//! apart (`srun`, `mpirun` with 2 ranks) are left as they are.
//! `DELAYED_MPI_SHARE_CPUS=0` turns this off.

use std::hash::{Hash, Hasher};

use mpi::topology::{Communicator, SimpleCommunicator};

use super::comm::all_gather_u64;

/// Set to `0` to leave each rank's affinity mask as the launcher set it.
pub const SHARE_CPUS_ENV: &str = "DELAYED_MPI_SHARE_CPUS";

/// The CPUs of `mask` that node-local rank `local` of `ranks` takes.
pub(crate) fn share(mask: &[usize], local: usize, ranks: usize) -> Vec<usize> {
    if mask.is_empty() || ranks <= 1 {
        return mask.to_vec();
    }
    if ranks > mask.len() {
        return vec![mask[local % mask.len()]];
    }
    let (start, end) = (local * mask.len() / ranks, (local + 1) * mask.len() / ranks);
    mask[start..end].to_vec()
}

/// Narrows this process's CPUs to its share when its node's ranks all have
/// the same mask (a collective over `world`). Returns the CPUs it took, if
/// it narrowed them.
pub(crate) fn share_node_cpus(world: &SimpleCommunicator) -> Option<Vec<usize>> {
    let off = std::env::var(SHARE_CPUS_ENV).is_ok_and(|v| v.trim() == "0");
    let node = world.split_shared(world.rank());
    let mask = affinity::get();
    let mut h = std::hash::DefaultHasher::new();
    (off, &mask).hash(&mut h);
    // Every rank of the node takes part, whatever it decides.
    let masks = all_gather_u64(&node, h.finish());
    let (local, ranks) = (node.rank() as usize, node.size() as usize);
    if off || ranks <= 1 || mask.is_empty() || masks.iter().any(|&m| m != masks[0]) {
        return None;
    }
    let mine = share(&mask, local, ranks);
    affinity::set(&mine).then_some(mine)
}

#[cfg(target_os = "linux")]
mod affinity {
    /// The CPUs the calling thread may run on.
    pub(super) fn get() -> Vec<usize> {
        // SAFETY: a zeroed `cpu_set_t` is an empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid `cpu_set_t` of the size passed.
        let ok = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
        if ok != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            // SAFETY: `cpu` is below `CPU_SETSIZE`, the set's capacity.
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
            .collect()
    }

    /// Restricts the calling thread (and the threads it starts later:
    /// the executor's workers) to `cpus`; whether it could.
    pub(super) fn set(cpus: &[usize]) -> bool {
        // SAFETY: a zeroed `cpu_set_t` is an empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for &cpu in cpus {
            // SAFETY: `cpu` came from `get`, below `CPU_SETSIZE`.
            unsafe { libc::CPU_SET(cpu, &mut set) };
        }
        // SAFETY: `set` is a valid `cpu_set_t` of the size passed.
        unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) == 0 }
    }
}

#[cfg(not(target_os = "linux"))]
mod affinity {
    pub(super) fn get() -> Vec<usize> {
        Vec::new()
    }

    pub(super) fn set(_cpus: &[usize]) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn ranks_take_equal_shares_and_wrap_beyond_the_cpus() {
        let mask = [0, 1, 2, 3, 4, 5, 6, 7];
        assert_eq!(share(&mask, 0, 4), vec![0, 1]);
        assert_eq!(share(&mask, 3, 4), vec![6, 7]);
        assert_eq!(share(&mask, 1, 3), vec![2, 3, 4]);
        assert_eq!(share(&[0, 1], 2, 4), vec![0]);
        assert_eq!(share(&[0, 1], 3, 4), vec![1]);
        assert_eq!(share(&mask, 0, 1), mask.to_vec());
    }
}
