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
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has; a
    // prefetch of a valid address cannot fault and changes no memory.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            std::ptr::from_ref(value).cast(),
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// `prefetch` for a value that may straddle two cache lines (a 48-byte
/// record does at every other position): asks for the lines of its first
/// and of its last byte.
#[inline(always)]
pub(crate) fn prefetch_whole<T>(value: &T) {
    prefetch(value);
    let last = std::ptr::from_ref(value)
        .cast::<u8>()
        .wrapping_add(size_of::<T>() - 1);
    // SAFETY: `last` is the last byte of `value`, so a valid `u8`.
    prefetch(unsafe { &*last });
}
