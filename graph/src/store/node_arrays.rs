//! Per-node arrays of a run from zeroed memory (`zeroed`), where a node's
//! record is only touched when the node runs, so the pages of a fresh
//! allocation are only faulted in then. Records that one pass writes anyway
//! (the run's `NodeState`s, whose input counts step 2 sets) are not zeroed
//! first, which was a second pass over the same memory, a tenth of a
//! chain's compute: they are a `PooledArray` (`pooled_array.rs`). Large
//! arrays ask for huge pages either way (`huge_pages.rs`): faulting a
//! million-node run's state in 4 KiB pages cost more than the run itself
//! on a chain.

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicU32};

use super::huge_pages;

/// Types for which all-zero bytes are a valid value.
///
/// # Safety
/// All-zero bytes must be a valid `Self`.
pub(crate) unsafe trait Zeroable: Sized {}

// SAFETY: zero is a valid atomic integer.
unsafe impl Zeroable for AtomicU32 {}
// SAFETY: null is a valid atomic pointer.
unsafe impl<T> Zeroable for AtomicPtr<T> {}

/// `len` all-zero `T`s.
pub(crate) fn zeroed<T: Zeroable>(len: usize) -> Box<[T]> {
    let layout = Layout::array::<T>(len).expect("delayed: per-node array too large");
    if layout.size() == 0 {
        let empty = NonNull::<T>::dangling().as_ptr();
        // SAFETY: a zero-sized slice needs no allocation, only an aligned
        // non-null pointer, which `Box` then does not free.
        return unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(empty, len)) };
    }
    // SAFETY: the layout has a non-zero size.
    let data = unsafe { alloc::alloc_zeroed(layout) }.cast::<T>();
    if data.is_null() {
        alloc::handle_alloc_error(layout);
    }
    huge_pages::advise(data.cast(), layout.size());
    // SAFETY: `data` is a fresh allocation of `layout` (what `Box<[T]>` frees
    // with), holding `len` zeroed, hence valid (`Zeroable`), `T`s.
    unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) }
}
