//! Keeping freed heap memory for the next compute. A rank that builds,
//! computes and drops a graph in a loop (a time-step loop; Task Bench's
//! runs) frees its memory at every drop, and glibc's `malloc` gives the top
//! of the heap back to the kernel as soon as more than 128 KiB of it is
//! free: the next graph then asks for it again with `brk` and faults every
//! page of it in afresh. On Task Bench's 2000-task stencil over 2 ranks of
//! the 2-core development VM, `brk` and those page faults were a fifth of
//! the computing thread's profile, and keeping the memory made the median
//! compute 7-15 % shorter (`results/taskbench/README.md`, "Run 11").
//!
//! So at `Cluster::init`, as MPI libraries do for their own buffers (Open
//! MPI's `mpi_leave_pinned` turns trimming off altogether), a rank keeps up
//! to `TRIM_THRESHOLD` of free heap, and takes blocks of up to
//! `MMAP_THRESHOLD` from the heap rather than from mappings of their own
//! (each of which is unmapped when freed and faulted in again when next
//! made). Larger blocks, such as a large graph's per-node arrays, still get
//! fresh zeroed mappings.
//!
//! A job that set glibc's own variables (`MALLOC_TRIM_THRESHOLD_`,
//! `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TOP_PAD_`, or `malloc` tunables in
//! `GLIBC_TUNABLES`) keeps its settings, and `DELAYED_MPI_KEEP_HEAP=0`
//! leaves glibc's defaults as they are. A program with another global
//! allocator is not affected (these settings are glibc's).

/// Set to `0` to leave glibc's `malloc` settings as they are
/// (`Cluster::init`).
///
/// ```
/// assert_eq!(delayed::mpi::KEEP_HEAP_ENV, "DELAYED_MPI_KEEP_HEAP");
/// ```
pub const KEEP_HEAP_ENV: &str = "DELAYED_MPI_KEEP_HEAP";

/// The free heap a rank keeps rather than gives back: 64 MiB.
const TRIM_THRESHOLD: i32 = 64 << 20;

/// Blocks up to this size come from the heap: 4 MiB.
const MMAP_THRESHOLD: i32 = 4 << 20;

/// The variables by which a user sets glibc's `malloc` policy.
const GLIBC_VARIABLES: [&str; 3] = [
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
];

/// Whether to set the policy, given the environment's `lookup`: not if
/// `KEEP_HEAP_ENV` is `0` or the user set glibc's `malloc` policy.
pub(crate) fn should_keep(lookup: impl Fn(&str) -> Option<String>) -> bool {
    if lookup(KEEP_HEAP_ENV).is_some_and(|v| v.trim() == "0") {
        return false;
    }
    let tuned = lookup("GLIBC_TUNABLES").is_some_and(|t| t.contains("glibc.malloc."));
    !tuned && GLIBC_VARIABLES.iter().all(|v| lookup(v).is_none())
}

/// Sets the policy for this process, unless `should_keep` says not to.
/// Returns whether it was set.
pub(crate) fn keep_freed_heap() -> bool {
    if !should_keep(|name| std::env::var(name).ok()) {
        return false;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` may be called at any time; it takes the arena's
    // lock, and these two parameters only bound what later frees return to
    // the kernel and which sizes are mapped apart.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn kept_unless_the_user_set_malloc_or_turned_it_off() {
        assert!(should_keep(env(&[])));
        assert!(should_keep(env(&[(KEEP_HEAP_ENV, "1")])));
        assert!(should_keep(env(&[(
            "GLIBC_TUNABLES",
            "glibc.pthread.rseq=0"
        )])));
        assert!(!should_keep(env(&[(KEEP_HEAP_ENV, "0")])));
        assert!(!should_keep(env(&[("MALLOC_TRIM_THRESHOLD_", "131072")])));
        assert!(!should_keep(env(&[("MALLOC_MMAP_THRESHOLD_", "0")])));
        assert!(!should_keep(env(&[("MALLOC_TOP_PAD_", "0")])));
        assert!(!should_keep(env(&[(
            "GLIBC_TUNABLES",
            "glibc.malloc.trim_threshold=0"
        )])));
    }
}
