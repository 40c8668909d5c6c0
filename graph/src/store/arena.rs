//! `Arena`: the memory a graph's records point into and that lives as long
//! as the graph: the closures too large for a record (more than a word:
//! `task_fn.rs`) and the input lists too long for one (more than three
//! ids: `input_ids.rs`), one after the other in chunks it owns.
//!
//! A graph only grows, and the store frees all of this with it, so nothing
//! is ever freed one at a time. A `Box` each paid `malloc` when the task was
//! added and `free` when the graph was dropped (for a loop's closure
//! capturing a step, an index and a size: a fifth of a `delayed::mpi` build;
//! for a random DAG's longer input lists: 50 ns of a 150 ns build), put the
//! allocator's header beside each, and scattered them over the heap. Here
//! adding one is a bump of an offset under the store's writer lock, and
//! consecutive tasks' closures and lists are neighbours.
//!
//! The arena only hands out memory: the store drops the closures in it
//! before the arena frees its blocks (`Store::drop`).

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

/// The first chunk's size: a graph with a few large closures (the lesson's
/// eight tasks) takes little.
const FIRST_CHUNK: usize = 256;

/// Chunks double up to this size: below glibc's threshold for a mapping of
/// its own, so a chunk comes from the heap like the boxes it replaces.
const LARGEST_CHUNK: usize = 64 << 10;

/// A value larger than this gets a block of its own, exactly its size (a
/// sink's list of many inputs, a closure capturing an array): in a chunk it
/// could waste as much at the chunk's end, and the newest chunk keeps its
/// room for the values to come.
const LARGEST_IN_CHUNK: usize = LARGEST_CHUNK / 4;

/// The alignment of every chunk: a value that needs more gets a block of
/// its own.
const CHUNK_ALIGN: usize = 16;

/// Blocks of memory handed out once each, freed together when it drops.
pub(crate) struct Arena {
    /// Every block, chunks and values of their own alike: start and layout.
    blocks: Vec<(NonNull<u8>, Layout)>,
    /// The newest chunk: its start and size (no chunk yet: dangling, 0).
    chunk: (NonNull<u8>, usize),
    /// How many bytes of the newest chunk are taken.
    used: usize,
}

// SAFETY: the arena owns its blocks as a `Vec<u8>` owns its buffer, and
// hands out their memory only through `&mut self`; nothing in it belongs to
// a thread. (The closures placed in it are `Send + Sync`: `TaskFn::new_in`.)
unsafe impl Send for Arena {}

impl Arena {
    pub(crate) const fn new() -> Arena {
        Arena {
            blocks: Vec::new(),
            chunk: (NonNull::dangling(), 0),
            used: 0,
        }
    }

    /// Room for a value of `layout` (of a non-zero size), aligned, valid
    /// until the arena is dropped, and handed out once.
    #[inline]
    pub(crate) fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        debug_assert!(layout.size() > 0, "zero-sized values need no room");
        // Rounded up with a mask, not `next_multiple_of`'s division: an
        // alignment is a power of two.
        let at = (self.used + layout.align() - 1) & !(layout.align() - 1);
        if layout.align() <= CHUNK_ALIGN && at + layout.size() <= self.chunk.1 {
            self.used = at + layout.size();
            // SAFETY: `at + layout.size()` is within the newest chunk,
            // which starts at `chunk.0`; `at` is a multiple of the
            // alignment and the chunk's start is `CHUNK_ALIGN`-aligned, a
            // multiple of it.
            return unsafe { self.chunk.0.add(at) };
        }
        self.alloc_elsewhere(layout)
    }

    /// `alloc` when the newest chunk has no room for `layout`: in a new
    /// chunk, or in a block of its own.
    #[cold]
    fn alloc_elsewhere(&mut self, layout: Layout) -> NonNull<u8> {
        if layout.size() > LARGEST_IN_CHUNK || layout.align() > CHUNK_ALIGN {
            return self.block(layout);
        }
        let size = (2 * self.chunk.1)
            .clamp(FIRST_CHUNK, LARGEST_CHUNK)
            .max(layout.size());
        let chunk = Layout::from_size_align(size, CHUNK_ALIGN).expect("a chunk's layout is valid");
        self.chunk = (self.block(chunk), size);
        self.used = layout.size();
        self.chunk.0
    }

    /// Copies `ids` (at least one) into the arena and returns where they
    /// lie: valid, and never written again, until the arena is dropped.
    #[inline]
    pub(crate) fn copy_ids(&mut self, ids: &[u32]) -> *const u32 {
        let at = self.alloc(Layout::for_value(ids)).as_ptr().cast::<u32>();
        // SAFETY: fresh room for `ids.len()` ids, aligned for them.
        unsafe { at.copy_from_nonoverlapping(ids.as_ptr(), ids.len()) };
        at
    }

    /// Keeps `ids` (at least one) and returns where they lie, as
    /// `copy_ids`; a list too large for a chunk is adopted as it is, not
    /// copied.
    pub(crate) fn keep_ids(&mut self, ids: Box<[u32]>) -> *const u32 {
        let layout = Layout::for_value(&*ids);
        if layout.size() <= LARGEST_IN_CHUNK {
            return self.copy_ids(&ids);
        }
        let at = NonNull::from(Box::leak(ids)).cast::<u8>();
        // A `Box<[u32]>` of a non-zero size was allocated with the global
        // allocator and `layout`, which `Drop` frees it with.
        self.blocks.push((at, layout));
        at.as_ptr().cast::<u32>()
    }

    /// A fresh block of `layout` (of a non-zero size), recorded for `Drop`.
    fn block(&mut self, layout: Layout) -> NonNull<u8> {
        // SAFETY: `layout` has a non-zero size (`alloc`'s contract, or a
        // chunk's).
        let at =
            NonNull::new(unsafe { alloc(layout) }).unwrap_or_else(|| handle_alloc_error(layout));
        self.blocks.push((at, layout));
        at
    }

    /// How many blocks it has.
    #[cfg(test)]
    pub(crate) fn blocks(&self) -> usize {
        self.blocks.len()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        for &(at, layout) in &self.blocks {
            // SAFETY: allocated with the global allocator and this layout
            // (`block`, or the adopted box of `keep_ids`), freed once;
            // whatever was placed in it was dropped by its owner.
            unsafe { dealloc(at.as_ptr(), layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_aligned_apart_and_survive_new_chunks() {
        let mut arena = Arena::new();
        let mut placed = Vec::new();
        // Sizes and alignments mixed, enough for several chunks; among them
        // one of the largest kept in a chunk, values of their own (too
        // large, or too aligned) and lists of ids.
        let values = if cfg!(miri) { 200 } else { 2_000usize };
        for i in 0..values {
            let (size, align) = match i % 6 {
                0 => (24, 8),
                1 => (16, 16),
                2 => (3, 1),
                3 => (40, 4),
                4 if i == 4 => (LARGEST_IN_CHUNK + 1, 8),
                4 if i == 10 => (64, 4 * CHUNK_ALIGN),
                4 if i == 16 => (LARGEST_IN_CHUNK, 8),
                _ => (100, 2),
            };
            let layout = Layout::from_size_align(size, align).unwrap();
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
        let chunks = arena
            .blocks
            .iter()
            .filter(|(_, l)| l.align() == CHUNK_ALIGN)
            .count();
        assert!(chunks >= 3, "several chunks");
        assert!(arena
            .blocks
            .iter()
            .all(|(_, l)| l.size() <= LARGEST_CHUNK || l.size() == LARGEST_IN_CHUNK + 1));
    }

    #[test]
    fn lists_stay_where_they_were_copied_or_adopted() {
        let mut arena = Arena::new();
        let long = if cfg!(miri) { 5_000 } else { 100_000u32 };
        let lists: Vec<Vec<u32>> = (0..if cfg!(miri) { 300 } else { 3000u32 })
            .map(|i| (0..4 + i % 40).map(|j| i * 100 + j).collect())
            .chain([(0..long).collect()])
            .collect();
        let mut at: Vec<*const u32> = lists.iter().map(|ids| arena.copy_ids(ids)).collect();
        // A boxed list: a short one is copied, a long one adopted.
        let boxed: Vec<Box<[u32]>> = vec![(7..12).collect(), (0..long).rev().collect()];
        for ids in &boxed {
            at.push(arena.keep_ids(ids.clone()));
        }
        for (ids, &at) in lists
            .iter()
            .map(|l| &l[..])
            .chain(boxed.iter().map(|b| &b[..]))
            .zip(&at)
        {
            // SAFETY: the arena is alive and holds `ids.len()` ids there.
            let kept = unsafe { std::slice::from_raw_parts(at, ids.len()) };
            assert_eq!(kept, ids);
        }
        let allocated: usize = arena.blocks.iter().map(|(_, l)| l.size()).sum();
        let needed: usize = 4 * (lists.iter().map(Vec::len).sum::<usize>() + 5 + long as usize);
        assert!(
            allocated < needed + needed / 2,
            "{allocated} bytes for {needed}"
        );
    }

    #[test]
    fn a_long_boxed_list_is_adopted_not_copied() {
        let mut arena = Arena::new();
        let ids: Box<[u32]> = (0..LARGEST_IN_CHUNK as u32).collect();
        let at = ids.as_ptr();
        assert_eq!(arena.keep_ids(ids), at);
        assert_eq!(arena.blocks(), 1);
    }
}
