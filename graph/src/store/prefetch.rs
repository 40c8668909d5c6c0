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
