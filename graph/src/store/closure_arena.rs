//! `ClosureArena`: where a graph keeps the closures too large for a node's
//! record (more than a word: `task_fn.rs`), one after the other in chunks
//! it owns, instead of one heap block each.
//!
//! A closure lives exactly as long as its graph (a graph only grows; the
//! store drops every closure when it is dropped), so nothing is ever freed
//! one at a time: a `Box` per closure paid `malloc` when the task was added
//! and `free` when the graph was dropped (a loop's closure capturing a step,
//! an index and a size: a fifth of a `delayed::mpi` build), and scattered
//! the closures over the heap. Here adding one is a bump of an offset under
//! the store's writer lock, and consecutive tasks' closures are neighbours.
//!
//! The arena only hands out memory: the store drops the closures in it
//! (`drop_closures`) before the arena frees its chunks.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

/// The first chunk's size: a graph with a few large closures (the lesson's
/// eight tasks) takes little.
const FIRST_CHUNK: usize = 256;

/// Chunks double up to this size: below glibc's threshold for a mapping of
/// its own, so a chunk comes from the heap like the boxes it replaces.
const LARGEST_CHUNK: usize = 64 << 10;

/// The alignment of every chunk, and the largest a closure here may need.
pub(crate) const ALIGN: usize = 16;

/// The largest closure kept here: a larger one is boxed (it would waste up
/// to its size at a chunk's end).
pub(crate) const MAX_SIZE: usize = 1 << 10;

/// Chunks of closures, the newest last, filled from the start.
pub(crate) struct ClosureArena {
    /// Each chunk's start and size (its layout's, with `ALIGN`).
    chunks: Vec<(NonNull<u8>, usize)>,
    /// How many bytes of the newest chunk are taken.
    used: usize,
}

// SAFETY: the arena owns its chunks as a `Vec<u8>` owns its buffer, and
// hands out their memory only through `&mut self`; nothing in it belongs to
// a thread. (The closures placed in it are `Send + Sync`: `TaskFn::new_in`.)
unsafe impl Send for ClosureArena {}

impl ClosureArena {
    pub(crate) const fn new() -> ClosureArena {
        ClosureArena {
            chunks: Vec::new(),
            used: 0,
        }
    }

    /// Whether a value of `layout` is kept here (`alloc` accepts it).
    pub(crate) const fn fits(layout: Layout) -> bool {
        layout.size() <= MAX_SIZE && layout.align() <= ALIGN && layout.size() > 0
    }

    /// Room for a value of `layout` (one that `fits`), aligned, valid until
    /// the arena is dropped, and handed out once.
    pub(crate) fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        debug_assert!(Self::fits(layout));
        if let Some(&(start, size)) = self.chunks.last() {
            let at = self.used.next_multiple_of(layout.align());
            if at + layout.size() <= size {
                self.used = at + layout.size();
                // SAFETY: `at + layout.size()` is within the chunk, which
                // starts at `start`; `at` is a multiple of the alignment and
                // the chunk's start is `ALIGN`-aligned, a multiple of it.
                return unsafe { start.add(at) };
            }
        }
        let size = self
            .chunks
            .last()
            .map_or(FIRST_CHUNK, |&(_, size)| (2 * size).min(LARGEST_CHUNK))
            .max(layout.size());
        let chunk = Layout::from_size_align(size, ALIGN).expect("a chunk's layout is valid");
        // SAFETY: `chunk` has a non-zero size.
        let start =
            NonNull::new(unsafe { alloc(chunk) }).unwrap_or_else(|| handle_alloc_error(chunk));
        self.chunks.push((start, size));
        self.used = layout.size();
        start
    }

    /// How many chunks it has.
    #[cfg(test)]
    pub(crate) fn chunks(&self) -> usize {
        self.chunks.len()
    }
}

impl Drop for ClosureArena {
    fn drop(&mut self) {
        for &(start, size) in &self.chunks {
            // SAFETY: allocated in `alloc` with this size and `ALIGN`, freed
            // once; whatever was placed in it was dropped by its owner.
            unsafe {
                dealloc(
                    start.as_ptr(),
                    Layout::from_size_align_unchecked(size, ALIGN),
                )
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_aligned_apart_and_survive_new_chunks() {
        let mut arena = ClosureArena::new();
        let mut placed = Vec::new();
        // Sizes and alignments mixed, enough for several chunks, and one of
        // the largest kept (larger than the first chunk).
        let values = if cfg!(miri) { 200 } else { 2_000usize };
        for i in 0..values {
            let (size, align) = match i % 5 {
                0 => (24, 8),
                1 => (16, 16),
                2 => (3, 1),
                3 => (40, 4),
                _ if i == 9 => (MAX_SIZE, 8),
                _ => (100, 2),
            };
            let layout = Layout::from_size_align(size, align).unwrap();
            assert!(ClosureArena::fits(layout));
            let p = arena.alloc(layout);
            assert_eq!(p.as_ptr() as usize % align, 0, "aligned");
            // SAFETY: `size` bytes handed out to us alone.
            unsafe { p.as_ptr().write_bytes(i as u8, size) };
            placed.push((p, size, i as u8));
        }
        for (p, size, byte) in placed {
            // SAFETY: still ours: the arena is alive.
            let bytes = unsafe { std::slice::from_raw_parts(p.as_ptr(), size) };
            assert!(bytes.iter().all(|&b| b == byte), "nothing overlapped");
        }
        assert!(arena.chunks.iter().all(|&(_, size)| size <= LARGEST_CHUNK));
    }

    #[test]
    fn only_small_aligned_non_empty_values_fit() {
        assert!(ClosureArena::fits(Layout::new::<[u64; 3]>()));
        assert!(!ClosureArena::fits(Layout::new::<()>()));
        assert!(!ClosureArena::fits(
            Layout::from_size_align(MAX_SIZE + 1, 1).unwrap()
        ));
        assert!(!ClosureArena::fits(
            Layout::from_size_align(64, 2 * ALIGN).unwrap()
        ));
    }
}
