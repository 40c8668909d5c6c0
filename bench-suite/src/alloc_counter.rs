//! A global allocator that counts live heap allocations, live bytes and
//! their peak, so that the overhead binary can report peak memory per graph
//! node and the soak binary can check that allocations return to a baseline. Counting is off
//! until [`CountingAlloc::start`] (timing runs leave it off, so they pay one
//! relaxed load per allocation, not a contended add).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// Wraps the system allocator; install with `#[global_allocator]`.
#[derive(Debug)]
pub struct CountingAlloc {
    counting: AtomicBool,
    allocs: AtomicIsize,
    live: AtomicIsize,
    peak: AtomicIsize,
}

impl CountingAlloc {
    /// A counter, not yet counting.
    pub const fn new() -> Self {
        CountingAlloc {
            counting: AtomicBool::new(false),
            allocs: AtomicIsize::new(0),
            live: AtomicIsize::new(0),
            peak: AtomicIsize::new(0),
        }
    }

    /// Starts counting from zero: bytes allocated before this call and freed
    /// after it count as negative, so call it with nothing of the measured
    /// work alive.
    pub fn start(&self) {
        self.allocs.store(0, Ordering::Relaxed);
        self.live.store(0, Ordering::Relaxed);
        self.peak.store(0, Ordering::Relaxed);
        self.counting.store(true, Ordering::Relaxed);
    }

    /// Stops counting; returns the peak of live bytes since [`Self::start`].
    pub fn stop(&self) -> usize {
        self.counting.store(false, Ordering::Relaxed);
        self.peak.load(Ordering::Relaxed).max(0) as usize
    }

    /// Live allocations and live bytes since [`Self::start`] (allocations
    /// freed after `start` but made before it count as negative).
    pub fn live(&self) -> (isize, isize) {
        (
            self.allocs.load(Ordering::Relaxed),
            self.live.load(Ordering::Relaxed),
        )
    }

    fn count(&self, allocs: isize) {
        if self.counting.load(Ordering::Relaxed) {
            self.allocs.fetch_add(allocs, Ordering::Relaxed);
        }
    }

    fn add(&self, bytes: usize) {
        if self.counting.load(Ordering::Relaxed) {
            let live = self.live.fetch_add(bytes as isize, Ordering::Relaxed) + bytes as isize;
            self.peak.fetch_max(live, Ordering::Relaxed);
        }
    }

    fn sub(&self, bytes: usize) {
        if self.counting.load(Ordering::Relaxed) {
            self.live.fetch_sub(bytes as isize, Ordering::Relaxed);
        }
    }
}

impl Default for CountingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counting touches only atomics and never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.count(1);
        self.add(layout.size());
        // SAFETY: forwarded with the caller's guarantees on `layout`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.count(1);
        self.add(layout.size());
        // SAFETY: forwarded with the caller's guarantees on `layout`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.count(-1);
        self.sub(layout.size());
        // SAFETY: `ptr` came from `System` with this `layout` (we forward all).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.sub(layout.size());
        self.add(new_size);
        // SAFETY: forwarded with the caller's guarantees on `ptr`, `layout`
        // and `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
