//! The process's CPU affinity mask, read once, and pinning a worker thread to
//! one CPU of it.

use std::sync::OnceLock;

/// The CPUs of the process's affinity mask, in increasing order.
///
/// Read once per process, by the first executor built, before any of its
/// workers pins itself: `sched_getaffinity` reports the calling thread's
/// mask, and a pinned worker's mask is one CPU. Under `taskset -c 0,1` or an
/// `srun --cpus-per-task=2` step this is the two CPUs granted.
pub(crate) fn process_cpus() -> &'static [usize] {
    static CPUS: OnceLock<Vec<usize>> = OnceLock::new();
    CPUS.get_or_init(read_mask)
}

fn read_mask() -> Vec<usize> {
    let mut cpus: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|core| core.id)
        .collect();
    if cpus.is_empty() {
        // No affinity API on this platform: assume every CPU.
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        cpus = (0..n).collect();
    }
    cpus.sort_unstable();
    cpus
}

/// Pins the calling thread to `cpu`; false if the OS refused.
pub(crate) fn pin_current_thread(cpu: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: cpu })
}
