//! `PooledArray`: a run's per-node array whose block comes from, and goes
//! back to, the process's `SegmentPool` (`segment_pool.rs`).
//!
//! A compute's `NodeState`s (16 bytes a node) were a fresh allocation each
//! time: `malloc` handed a million-node run's 16 MiB back to the kernel at
//! its end, and the next compute had the kernel fault in and zero fresh
//! pages before step 2 wrote every record anyway (a tenth of the samples
//! of `profile_dag compute chain`, `clear_page_erms`). From the pool, a
//! compute of a graph of the same size reuses the last one's pages.
//! [`release_memory`](crate::release_memory) frees what the pool keeps.

use std::alloc::{self, Layout};
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use super::segment_pool;

/// `len` `T`s in a block of the segment pool.
pub(crate) struct PooledArray<T> {
    data: NonNull<T>,
    len: usize,
}

// SAFETY: it owns its `T`s as a `Box<[T]>` does.
unsafe impl<T: Send> Send for PooledArray<T> {}
// SAFETY: `&PooledArray` gives only `&[T]`.
unsafe impl<T: Sync> Sync for PooledArray<T> {}

impl<T> PooledArray<T> {
    /// `len` `T`s, written by `fill` into a block from the pool (whose
    /// bytes are what an earlier user left) or a fresh one.
    ///
    /// # Safety
    /// `fill` writes every element of the slice it is given. (If it
    /// panics, the block is leaked, never read.)
    pub(crate) unsafe fn written(len: usize, fill: impl FnOnce(&mut [MaybeUninit<T>])) -> Self {
        let layout = Self::layout(len);
        let data = if layout.size() == 0 {
            NonNull::dangling()
        } else {
            let block = segment_pool::alloc(layout).cast::<T>();
            NonNull::new(block).unwrap_or_else(|| alloc::handle_alloc_error(layout))
        };
        // SAFETY: `data` is valid for `len` `T`s (or dangling and aligned
        // for a zero-sized array), which `MaybeUninit` lets hold any bytes.
        fill(unsafe { std::slice::from_raw_parts_mut(data.as_ptr().cast(), len) });
        // All `len` are written (the caller's contract).
        PooledArray { data, len }
    }

    fn layout(len: usize) -> Layout {
        Layout::array::<T>(len).expect("delayed: per-node array too large")
    }
}

/// An empty array (which `RunState::finish` leaves behind when it takes
/// the states out).
impl<T> Default for PooledArray<T> {
    fn default() -> Self {
        PooledArray {
            data: NonNull::dangling(),
            len: 0,
        }
    }
}

impl<T> Deref for PooledArray<T> {
    type Target = [T];

    #[inline(always)]
    fn deref(&self) -> &[T] {
        // SAFETY: `data` holds `len` initialised `T`s (`written`).
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), self.len) }
    }
}

impl<T> DerefMut for PooledArray<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as `deref`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.data.as_ptr(), self.len) }
    }
}

impl<T> Drop for PooledArray<T> {
    fn drop(&mut self) {
        let layout = Self::layout(self.len);
        // SAFETY: the `T`s are initialised (`written`) and not used again;
        // the block then holds no value that needs dropping.
        unsafe { std::ptr::drop_in_place(&mut **self) };
        if layout.size() != 0 {
            // SAFETY: from `segment_pool::alloc(layout)` in `written`, not
            // used afterwards, its values dropped just above.
            unsafe { segment_pool::free(self.data.as_ptr().cast(), layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// What `fill` writes is what the array holds, and its values drop
    /// once, with the array.
    #[test]
    fn holds_what_was_written_and_drops_it_once() {
        let counted = Rc::new(());
        // The largest is over the pool's 64 KiB, so its block goes to the
        // pool and back (5,000 under Miri, where 100,000 took minutes).
        let large = if cfg!(miri) { 5_000 } else { 100_000 };
        for len in [0, 3, large] {
            // SAFETY: the closure writes every element.
            let array = unsafe {
                PooledArray::written(len, |slots| {
                    for (i, slot) in slots.iter_mut().enumerate() {
                        slot.write((i, Rc::clone(&counted)));
                    }
                })
            };
            assert_eq!(array.len(), len);
            assert!(array.iter().enumerate().all(|(i, (j, _))| i == *j));
            assert_eq!(Rc::strong_count(&counted), len + 1);
            drop(array);
            assert_eq!(Rc::strong_count(&counted), 1);
        }
    }
}
