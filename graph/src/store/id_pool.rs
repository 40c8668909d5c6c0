//! `IdPool`: where the store keeps the input ids of nodes with more than
//! three inputs, packed one list after another.
//!
//! A record has room for three input ids (`KindAndIds`). Longer lists used to
//! be boxed one by one: on a million-node random DAG, whose nodes have two
//! inputs on average and often three, that was an allocation per such node
//! (50 ns of a 150 ns build here) and the allocator's header beside each
//! list. The pool copies them into chunks it allocates a few at a time and
//! frees with the store; a list never moves once copied, so records point
//! at it.

use std::alloc::{self, Layout};

/// Ids in the first chunk: a lesson-sized graph costs 256 bytes.
const FIRST_CHUNK: usize = 64;

/// Ids in a chunk at most: 256 KiB. Chunks double up to this.
const MAX_CHUNK: usize = 1 << 16;

/// The chunks and the free room of the newest. Only the store's writer
/// (under its lock) copies lists in; readers only follow pointers a record
/// publishes.
pub(crate) struct IdPool {
    /// Every allocation: its start and number of ids.
    chunks: Vec<(*mut u32, usize)>,
    /// The free room of the newest chunk: where the next list goes, and how
    /// many ids fit.
    next: *mut u32,
    room: usize,
}

// SAFETY: the pool owns its chunks like `Box<[u32]>`s; `&IdPool` gives no
// access to them.
unsafe impl Send for IdPool {}
// SAFETY: as for `Send`.
unsafe impl Sync for IdPool {}

impl IdPool {
    pub(crate) fn new() -> IdPool {
        IdPool {
            chunks: Vec::new(),
            next: std::ptr::null_mut(),
            room: 0,
        }
    }

    /// Copies `ids` into the pool and returns where they lie: valid, and
    /// never written again, until the pool is dropped.
    pub(crate) fn copy(&mut self, ids: &[u32]) -> *const u32 {
        if ids.len() > self.room {
            let last = self.chunks.last().map_or(0, |&(_, size)| size);
            if ids.len() > MAX_CHUNK / 4 {
                // A long list (a sink over many results) gets an
                // allocation of its own, exactly its size; the newest chunk
                // keeps its room for the lists to come.
                let at = self.allocate(ids.len());
                // SAFETY: `at` is a fresh allocation of `ids.len()` ids.
                unsafe { at.copy_from_nonoverlapping(ids.as_ptr(), ids.len()) };
                return at;
            }
            let size = (2 * last).clamp(FIRST_CHUNK, MAX_CHUNK).max(ids.len());
            self.next = self.allocate(size);
            self.room = size;
        }
        let at = self.next;
        // SAFETY: `ids.len() <= room`: the room after `next` lies in the
        // newest chunk, unwritten.
        unsafe {
            at.copy_from_nonoverlapping(ids.as_ptr(), ids.len());
            self.next = at.add(ids.len());
        }
        self.room -= ids.len();
        at
    }

    /// Keeps `ids`, a list too long for a record's room, and returns where
    /// they lie (as `copy`, without a copy: a list given as a `Box` is
    /// adopted).
    pub(crate) fn keep(&mut self, ids: Box<[u32]>) -> *const u32 {
        let len = ids.len();
        if len <= MAX_CHUNK / 4 {
            return self.copy(&ids);
        }
        let at = Box::into_raw(ids).cast::<u32>();
        // `Box<[u32]>` of `len > 0` ids was allocated with this layout,
        // which `Drop` frees it with.
        self.chunks.push((at, len));
        at
    }

    /// A fresh allocation of `len` ids (`len > 0`), recorded for `Drop`.
    fn allocate(&mut self, len: usize) -> *mut u32 {
        let layout = Layout::array::<u32>(len).expect("delayed: input list too long");
        // SAFETY: `len > 0` (a pooled list has more than two ids), so the
        // layout has a non-zero size.
        let at = unsafe { alloc::alloc(layout) }.cast::<u32>();
        if at.is_null() {
            alloc::handle_alloc_error(layout);
        }
        self.chunks.push((at, len));
        at
    }
}

impl Drop for IdPool {
    fn drop(&mut self) {
        for &(at, len) in &self.chunks {
            let layout = Layout::array::<u32>(len).expect("allocated with this layout");
            // SAFETY: allocated in `allocate` with this layout, freed once.
            unsafe { alloc::dealloc(at.cast(), layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_stay_where_they_were_copied() {
        let mut pool = IdPool::new();
        let lists: Vec<Vec<u32>> = (0..3000u32)
            .map(|i| (0..3 + i % 40).map(|j| i * 100 + j).collect())
            .chain([(0..MAX_CHUNK as u32).collect()])
            .collect();
        let at: Vec<*const u32> = lists.iter().map(|ids| pool.copy(ids)).collect();
        for (ids, &at) in lists.iter().zip(&at) {
            // SAFETY: the pool is alive and copied `ids.len()` ids there.
            let copied = unsafe { std::slice::from_raw_parts(at, ids.len()) };
            assert_eq!(copied, &ids[..]);
        }
        let allocated: usize = pool.chunks.iter().map(|&(_, len)| len).sum();
        let needed: usize = lists.iter().map(Vec::len).sum();
        assert!(
            allocated < needed + needed / 2,
            "{allocated} ids for {needed}"
        );
    }
}
