//! `prefetch`: a hint that a value is about to be read.
//!
//! Running a graph reads records scattered over megabytes (the next node's,
//! its successors' counters). Asking for them a little ahead lets the cache
//! misses overlap with other work, or with each other.

/// Asks the CPU to bring the cache line holding `value` into the cache. Only
/// a hint: it reads nothing the program sees and costs no wait; a no-op
/// where the platform has no stable prefetch instruction.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    prefetch_address(std::ptr::from_ref(value).cast());
}

/// `prefetch` for a value that may straddle two cache lines (a node
/// record does not, its segments starting on a line, but other values
/// may): asks for the lines of its first and of its last byte.
///
/// The last byte is reached as a raw pointer, never as a `&u8`: it may be
/// a byte of an atomic that another thread is writing (a `Node`'s
/// consumers, which `Store::add_out_edge` stores while a compute runs),
/// and a shared reference to bytes outside an `UnsafeCell` asserts that
/// nobody writes them (Miri reported the retag of such a `&u8` as a data
/// race with that store).
#[inline(always)]
pub(crate) fn prefetch_whole<T>(value: &T) {
    let first = std::ptr::from_ref(value).cast::<u8>();
    prefetch_address(first);
    prefetch_address(first.wrapping_add(size_of::<T>() - 1));
}

/// Asks the CPU to bring the cache line holding `address` into the cache.
#[inline(always)]
fn prefetch_address(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has; a
    // prefetch reads nothing the program sees, and cannot fault, whatever
    // the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}
