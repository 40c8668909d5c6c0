//! `SegmentPool`: the large segments of dropped graphs' columns
//! (`append_vec.rs`) and the state arrays of finished runs
//! (`pooled_array.rs`), kept for the next graphs and runs to reuse.
//!
//! A program that builds a graph, computes it and drops it, again and
//! again (a time-step loop, a benchmark's repetitions), freed tens of
//! megabytes per graph: `malloc` handed the large segments back to the
//! kernel, and the next graph asked for fresh pages, each zeroed by the
//! kernel and faulted in on first touch. That was two fifths of the build
//! of a 2^20-node chain on the development VM (47 ns per node, 29 with
//! the segments reused: `results/overhead.md`). Taskflow keeps its nodes
//! in an object pool for the same reason.
//!
//! Only segments of at least `MIN_SIZE` bytes are kept (smaller ones come
//! from `malloc`'s own free lists, whose pages stay), up to `CAP` bytes in
//! all, per process; a segment is reused for a segment of the same layout
//! (the sizes are few: a column's segments double every eight).
//! [`release_memory`](crate::release_memory) frees what is kept. A fresh
//! segment of a huge page or more asks for huge pages (`huge_pages.rs`),
//! which `append_vec.rs` aligns it for: the first graph a process builds
//! faults its records in 2 MiB at a time.

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard};

use super::huge_pages;

/// Segments smaller than this are freed, not kept: 64 KiB.
const MIN_SIZE: usize = 64 << 10;

/// The most a pool keeps, in bytes: 64 MiB.
const CAP: usize = 64 << 20;

/// Free segments, each with its layout.
pub(crate) struct SegmentPool {
    /// Bytes kept.
    held: usize,
    blocks: Vec<(NonNull<u8>, Layout)>,
}

// SAFETY: the pool owns the blocks it holds (freed memory, no values), as
// a `Vec<u8>` owns its buffer; nothing in it belongs to a thread.
unsafe impl Send for SegmentPool {}

/// The process's pool, which every `AppendVec` takes from and gives to.
static POOL: Mutex<SegmentPool> = Mutex::new(SegmentPool::new());

fn pool() -> MutexGuard<'static, SegmentPool> {
    // A panic cannot leave the pool half-changed: `held` and `blocks`
    // change together, with nothing that can panic between them.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A block for `layout` (of a non-zero size): a kept segment of that
/// layout, or a fresh allocation; null if the allocator has no memory.
pub(crate) fn alloc(layout: Layout) -> *mut u8 {
    if layout.size() >= MIN_SIZE {
        if let Some(block) = pool().take(layout) {
            return block.as_ptr();
        }
    }
    // SAFETY: `layout` has a non-zero size (the caller's contract).
    let block = unsafe { alloc::alloc(layout) };
    if !block.is_null() {
        // Fresh memory: a kept segment's pages are already faulted in.
        huge_pages::advise(block, layout.size());
    }
    block
}

/// Frees `block`, or keeps it for a later `alloc` of the same layout.
///
/// # Safety
/// `block` was returned by `alloc(layout)`, is not used afterwards, and
/// holds no value that still needs its drop.
pub(crate) unsafe fn free(block: *mut u8, layout: Layout) {
    let Some(block) = NonNull::new(block) else {
        return;
    };
    let refused = if layout.size() >= MIN_SIZE {
        pool().keep(block, layout)
    } else {
        Some(block)
    };
    if let Some(block) = refused {
        // SAFETY: from the global allocator with `layout` (the caller's
        // contract, and `take` hands out only blocks given with it).
        unsafe { alloc::dealloc(block.as_ptr(), layout) };
    }
}

/// Frees every kept segment; the bytes freed.
pub(crate) fn release() -> usize {
    let blocks = std::mem::replace(&mut *pool(), SegmentPool::new()).blocks;
    let mut freed = 0;
    for (block, layout) in blocks {
        freed += layout.size();
        // SAFETY: given to the pool by `free`, from the global allocator
        // with `layout`, and no longer in the pool.
        unsafe { alloc::dealloc(block.as_ptr(), layout) };
    }
    freed
}

impl SegmentPool {
    const fn new() -> SegmentPool {
        SegmentPool {
            held: 0,
            blocks: Vec::new(),
        }
    }

    /// A kept block of `layout`, if any; the newest kept first (its pages
    /// are the likeliest to be in the cache).
    fn take(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        let i = self.blocks.iter().rposition(|&(_, l)| l == layout)?;
        let (block, _) = self.blocks.remove(i);
        self.held -= layout.size();
        Some(block)
    }

    /// Keeps `block` if it fits under `CAP`; else gives it back.
    fn keep(&mut self, block: NonNull<u8>, layout: Layout) -> Option<NonNull<u8>> {
        if self.held + layout.size() > CAP {
            return Some(block);
        }
        self.blocks.push((block, layout));
        self.held += layout.size();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_block_is_reused_for_its_layout_only_and_the_cap_holds() {
        let mut pool = SegmentPool::new();
        let big = Layout::from_size_align(CAP / 2, 8).unwrap();
        let other = Layout::from_size_align(CAP / 2, 16).unwrap();
        // Fake addresses: the pool never touches the memory it holds.
        let (a, b, c) = (
            NonNull::<u8>::dangling(),
            NonNull::new(8 as *mut u8),
            NonNull::new(16 as *mut u8),
        );
        let (b, c) = (b.unwrap(), c.unwrap());
        assert_eq!(pool.keep(a, big), None);
        assert_eq!(pool.keep(b, big), None);
        assert_eq!(pool.keep(c, other), Some(c), "over the cap: given back");
        assert_eq!(pool.held, CAP);
        assert_eq!(pool.take(other), None, "no block of that layout");
        assert_eq!(pool.take(big), Some(b), "the newest first");
        assert_eq!(pool.keep(c, other), None, "room again");
        assert_eq!(pool.take(big), Some(a));
        assert_eq!(pool.take(big), None);
        assert_eq!(pool.held, other.size());
    }

    #[test]
    fn small_blocks_are_freed_and_large_ones_come_back() {
        // Through the process's pool, which other tests share: only what
        // this test alone can see is checked.
        let small = Layout::from_size_align(MIN_SIZE - 8, 8).unwrap();
        let block = alloc(small);
        assert!(!block.is_null());
        // SAFETY: from `alloc(small)`, unused afterwards, no values.
        unsafe { free(block, small) };
        // A layout no column uses (an odd size), so no other test takes it.
        let large = Layout::from_size_align(MIN_SIZE + 24, 8).unwrap();
        let block = alloc(large);
        // SAFETY: fresh, `large.size()` bytes.
        unsafe { block.write_bytes(7, large.size()) };
        // SAFETY: from `alloc(large)`, unused afterwards, no values.
        unsafe { free(block, large) };
        let again = alloc(large);
        assert_eq!(again, block, "the kept block");
        // SAFETY: as above.
        unsafe { free(again, large) };
        assert!(release() >= large.size());
        assert!(pool().take(large).is_none(), "released");
    }
}
