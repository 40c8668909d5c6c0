//! Transparent huge pages for the large blocks of a graph and of a run.
//!
//! A million-node graph or run touches tens of megabytes of fresh memory.
//! Faulted in 4 KiB pages, each page costs a trap, a page-table update and
//! the kernel's bookkeeping besides its zeroing: a fault per 128 node
//! records. Where Linux has transparent huge pages in `madvise` mode (as on
//! Debian and Ubuntu), a block that asks for them is faulted in 2 MiB at a
//! time. On the development VM that made a run's state cost less than the
//! run itself; the first build of a 2^20-node chain in a process went from
//! a median of 53 to 37 ns per node, faster in 7 of 8 alternated processes
//! (`results/overhead-breakdown.md`, 2026-12-07, late night).

/// A huge page's size and alignment on x86-64 and aarch64 with 4 KiB base
/// pages: 2 MiB.
pub(crate) const HUGE_PAGE: usize = 2 << 20;

/// Asks Linux to back the 2 MiB-aligned part of the block at `data` of
/// `size` bytes with transparent huge pages. Only advice: it changes no
/// byte; a kernel without THP leaves things as they were, and pages already
/// faulted in stay as they are. A block smaller than a huge page, or one
/// that holds no aligned huge page, is left alone.
pub(crate) fn advise(data: *mut u8, size: usize) {
    // Not under Miri, which does not run foreign functions.
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        let start = (data as usize).next_multiple_of(HUGE_PAGE);
        let end = (data as usize).saturating_add(size) / HUGE_PAGE * HUGE_PAGE;
        if start < end {
            // SAFETY: the range lies inside one live allocation of ours, and
            // MADV_HUGEPAGE only changes how the kernel backs it, never its
            // contents; a failure (e.g. no THP) leaves things as they were.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(any(not(target_os = "linux"), miri))]
    let _ = (data, size);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{alloc, dealloc, Layout};

    /// Advice changes no byte, on a block of whole huge pages and on one
    /// that holds none. (Under Miri `advise` does nothing, and the
    /// megabytes written would take minutes.)
    #[test]
    #[cfg_attr(miri, ignore)]
    fn advice_keeps_the_contents() {
        for (size, align) in [(2 * HUGE_PAGE, HUGE_PAGE), (HUGE_PAGE / 2, 64)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: a non-zero size.
            let block = unsafe { alloc(layout) };
            assert!(!block.is_null());
            // SAFETY: `block` is valid for `size` bytes.
            let bytes = unsafe { std::slice::from_raw_parts_mut(block, size) };
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = (i % 251) as u8;
            }
            advise(block, size);
            assert!(bytes.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
            // SAFETY: allocated above with `layout`.
            unsafe { dealloc(block, layout) };
        }
    }
}
