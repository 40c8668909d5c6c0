//! Per-node arrays from zeroed memory: no initializing pass over a million
//! nodes, and the pages of a fresh allocation are only touched when a node
//! runs.

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicU32};

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
    // SAFETY: `data` is a fresh allocation of `layout` (what `Box<[T]>` frees
    // with), holding `len` zeroed, hence valid (`Zeroable`), `T`s.
    unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) }
}
