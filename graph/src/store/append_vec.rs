//! `AppendVec`: an append-only vector whose elements never move.
//!
//! The graph's nodes live here. A compute reads nodes while other threads
//! (or the running tasks themselves) keep appending, so readers must not need
//! a lock and an element's address must stay put once it is published.
//!
//! Elements live in segments that are allocated once and never moved. Sizes
//! double every `GROUP` (8) segments (8 of `FIRST`, 8 of `2 FIRST`, ...), so
//! the last segment of a large vector is about a ninth of the capacity: past
//! 65,536 elements a vector never takes more than 1.13 times the room its
//! elements need (a `Vec`'s doubling can take 2 times, and the graph's
//! memory per node is one of its measures), and nothing is ever copied.
//!
//! Protocol:
//! 1. One writer at a time (the caller of `push` serializes them) writes
//!    element `len` into its segment (allocating the segment first when
//!    `len` is its first index), then stores `len + 1` with `Release`.
//! 2. A reader loads `len` with `Acquire` (pairs with 1); every element below
//!    it, and the segment pointers they live in, are then visible and never
//!    written again.
//! 3. Elements are dropped and segments freed only by `Drop`, which has
//!    `&mut self`, so no reader is left.
//!
//! The writer keeps a `Cursor` on the segment it fills, so that a push
//! locates a segment once per segment, not once per element (a graph's
//! build pushes to three vectors per node; locating was a fifth of a
//! push's instructions). Only pushes touch it, serialized as in 1.
//!
//! Segments come from, and go back to, the process's `SegmentPool`
//! (`segment_pool.rs`): a program that builds and drops graphs again and
//! again reuses the large segments' pages instead of faulting in fresh ones.

use std::alloc::{self, Layout};
use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use super::huge_pages::HUGE_PAGE;
use super::segment_pool;

/// Elements in each segment of the first group. Small, so that a
/// lesson-sized graph costs a few kilobytes.
const FIRST: usize = 64;
/// Segments of one size: group `g` is `GROUP` segments of `FIRST << g`
/// elements. A power of two.
const GROUP: usize = 8;
/// 24 groups cover `GROUP * FIRST * (2^24 - 1)` elements, more than
/// `u32::MAX`.
const SEGMENTS: usize = 24 * GROUP;

pub(crate) struct AppendVec<T> {
    segments: [AtomicPtr<T>; SEGMENTS],
    len: AtomicUsize,
    /// The segment `push` fills; read and written by pushes only.
    cursor: UnsafeCell<Cursor<T>>,
    _owns: PhantomData<T>,
}

/// The segment the writer fills: element `i` of `start..end` is at
/// `base + (i - start)`. Empty (`start == end`) before the first push, so
/// that it opens segment 0.
struct Cursor<T> {
    base: *mut T,
    start: usize,
    end: usize,
}

// SAFETY: the vector owns its `T`s (sending it sends them: `T: Send`), and
// shares `&T` with every thread that has `&AppendVec` (`T: Sync`); `push`
// moves a `T` in from any thread holding `&AppendVec`, hence `T: Send` for
// `Sync` too. The cursor's pointer is into the vector's own segments, and
// only pushes, which the callers serialize, touch the cursor.
unsafe impl<T: Send> Send for AppendVec<T> {}
// SAFETY: see `Send` above.
unsafe impl<T: Send + Sync> Sync for AppendVec<T> {}

/// Number of elements of `segment`.
fn segment_size(segment: usize) -> usize {
    FIRST << (segment / GROUP)
}

/// The index of the first element of `segment`.
fn segment_start(segment: usize) -> usize {
    let group = segment / GROUP;
    GROUP * FIRST * ((1 << group) - 1) + (segment % GROUP) * (FIRST << group)
}

/// The segment holding `index`, and the index inside it.
#[inline]
fn locate(index: usize) -> (usize, usize) {
    // Group `g` covers `[GROUP FIRST (2^g - 1), GROUP FIRST (2^(g+1) - 1))`,
    // so `shifted = index + GROUP FIRST` lies in
    // `[GROUP FIRST 2^g, GROUP FIRST 2^(g+1))`: its top bit gives the group,
    // the `log2 GROUP` bits below it the segment in the group, and the bits
    // below those the index inside it. No branch: this runs for every node
    // a compute looks up.
    const LOG_GROUP: u32 = GROUP.trailing_zeros();
    let shifted = index + GROUP * FIRST;
    let top = usize::BITS - 1 - shifted.leading_zeros();
    let group = (top - (GROUP * FIRST).trailing_zeros()) as usize;
    let low = top - LOG_GROUP;
    let within = (shifted >> low) & (GROUP - 1);
    (GROUP * group + within, shifted & ((1 << low) - 1))
}

/// Segments start on a cache line: a node record (32 bytes) then never
/// straddles two lines.
const LINE: usize = 64;

/// A segment's layout: aligned to a cache line, or, from a huge page's
/// size on, to a huge page, so that the pool's fresh segments are whole
/// huge pages (`segment_pool.rs`).
fn segment_layout<T>(segment: usize) -> Layout {
    Layout::array::<T>(segment_size(segment))
        .and_then(|layout| {
            let align = if layout.size() >= HUGE_PAGE {
                HUGE_PAGE
            } else {
                LINE
            };
            layout.align_to(align)
        })
        .expect("segment size overflows")
}

impl<T> AppendVec<T> {
    pub(crate) fn new() -> Self {
        assert!(
            size_of::<T>() != 0,
            "AppendVec does not hold zero-sized types"
        );
        AppendVec {
            segments: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            len: AtomicUsize::new(0),
            cursor: UnsafeCell::new(Cursor {
                base: ptr::null_mut(),
                start: 0,
                end: 0,
            }),
            _owns: PhantomData,
        }
    }

    /// Number of published elements.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        // Acquire pairs with the Release in `push`: the elements below are visible.
        self.len.load(Ordering::Acquire)
    }

    /// Appends `value` and returns its index.
    ///
    /// # Safety
    /// No other `push` on this vector runs at the same time.
    #[inline]
    pub(crate) unsafe fn push(&self, value: T) -> usize {
        let index = self.len.load(Ordering::Relaxed);
        // SAFETY: only pushes touch the cursor, and the caller's contract
        // says no other push runs (its end orders its writes before ours).
        let cursor = unsafe { &mut *self.cursor.get() };
        if index == cursor.end {
            self.open_segment(cursor, index);
        }
        // SAFETY: `index` is in `cursor.start..cursor.end`, so the address
        // is inside the cursor's segment; the slot is unpublished (index >=
        // len) so nobody reads it, and we are the only writer (the caller's
        // contract).
        unsafe { cursor.base.add(index - cursor.start).write(value) };
        // Release pairs with the Acquire in `len`/`get`: publishes the element.
        self.len.store(index + 1, Ordering::Release);
        index
    }

    /// Points `cursor` at the segment whose first element is `index`,
    /// allocating it if it has not been.
    #[cold]
    #[inline(never)]
    fn open_segment(&self, cursor: &mut Cursor<T>, index: usize) {
        let (segment, offset) = locate(index);
        debug_assert_eq!(offset, 0, "a push opens a segment at its start");
        let mut base = self.segments[segment].load(Ordering::Relaxed);
        if base.is_null() {
            let layout = segment_layout::<T>(segment);
            // A segment a dropped vector left in the pool, or a fresh one:
            // the layout has a non-zero size (T is not zero-sized).
            base = segment_pool::alloc(layout).cast::<T>();
            if base.is_null() {
                alloc::handle_alloc_error(layout);
            }
            // Relaxed: readers reach this pointer only through `len`'s
            // Release/Acquire in `push`.
            self.segments[segment].store(base, Ordering::Relaxed);
        }
        *cursor = Cursor {
            base,
            start: index,
            end: index + segment_size(segment),
        };
    }

    /// The element at `index`, if it is published, as the writer reads it:
    /// from the segment it fills without locating it, else as `get` does.
    ///
    /// # Safety
    /// No `push` on this vector runs at the same time (the caller is the
    /// writer, between its pushes).
    #[inline]
    pub(crate) unsafe fn get_as_writer(&self, index: usize) -> Option<&T> {
        // SAFETY: the caller's contract: no push writes the cursor now.
        let cursor = unsafe { &*self.cursor.get() };
        // Relaxed: the pushes that wrote `len` are ours, or ordered before
        // us by whatever serializes the writers.
        if index >= cursor.start && index < self.len.load(Ordering::Relaxed) {
            // SAFETY: `index` is published and in the cursor's segment
            // (`start <= index < len <= end`); elements are never written
            // again, and live as long as `&self` (see `get_published`).
            return Some(unsafe { &*cursor.base.add(index - cursor.start) });
        }
        self.get(index)
    }

    /// The first `len` elements as the slices of the segments that hold
    /// them, each with the index of its first element, in order (or
    /// reversed, with `.rev()`): a pass over many elements without locating
    /// each one, whose inner loop over a slice the compiler can unroll.
    ///
    /// # Panics
    /// If fewer than `len` elements are published.
    pub(crate) fn prefix(
        &self,
        len: usize,
    ) -> impl DoubleEndedIterator<Item = (usize, &[T])> + Clone {
        assert!(len <= self.len(), "AppendVec::prefix past the end");
        let segments = if len == 0 { 0 } else { locate(len - 1).0 + 1 };
        (0..segments).map(move |segment| {
            let start = segment_start(segment);
            let count = (len - start).min(segment_size(segment));
            // Relaxed: `len()`'s Acquire above made the pointer visible.
            let base = self.segments[segment].load(Ordering::Relaxed);
            // SAFETY: the segment's first `count` elements are below the
            // published length, so written and never written again, and
            // live as long as `&self` (see `get_published`).
            (start, unsafe { std::slice::from_raw_parts(base, count) })
        })
    }

    /// The element at `index`, known to be published: `get` without its
    /// look at the length, for a reader that looks up many elements it
    /// knows are there (a run, whose plan holds only published nodes).
    ///
    /// # Safety
    /// `index` is below a length this thread loaded from `len()` (or one
    /// that a thread which did passed on with a happens-before edge).
    #[inline]
    pub(crate) unsafe fn get_published(&self, index: usize) -> &T {
        let (segment, offset) = locate(index);
        // Relaxed: the Acquire load of a length above `index` (the caller's
        // contract) made the pointer visible.
        let base = self.segments[segment].load(Ordering::Relaxed);
        // SAFETY: `index` is below a published length (the caller's
        // contract), so the element was written and published (protocol
        // step 2), is never written again, and lives until `Drop`, which
        // needs `&mut self` and so cannot run while `&self` is borrowed.
        unsafe { &*base.add(offset) }
    }

    /// The element at `index`, if it is published.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        if index >= self.len() {
            return None;
        }
        // SAFETY: `index` is below the length just loaded.
        Some(unsafe { self.get_published(index) })
    }
}

impl<T> AppendVec<T> {
    /// The element at `index`, if it is published, to change: `&mut self`
    /// means no reader is left.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        if index >= *self.len.get_mut() {
            return None;
        }
        let (segment, offset) = locate(index);
        let base = *self.segments[segment].get_mut();
        // SAFETY: index < len, so the element was written (protocol step
        // 1); `&mut self` makes this the only reference to it.
        Some(unsafe { &mut *base.add(offset) })
    }
}

impl<T> Drop for AppendVec<T> {
    fn drop(&mut self) {
        self.drop_segments(0);
    }
}

impl<T> AppendVec<T> {
    /// Drops the elements of segments `first..` and frees the segments. If
    /// an element's drop panics, the rest are still dropped and every
    /// segment freed while the panic unwinds, as `Vec` does (the slice's
    /// drop keeps going inside a segment; `Unwinding` does the rest).
    ///
    /// Only `Drop` calls it: `&mut self` means no reader is left.
    fn drop_segments(&mut self, first: usize) {
        let len = *self.len.get_mut();
        for segment in first..SEGMENTS {
            let base = *self.segments[segment].get_mut();
            if base.is_null() {
                break;
            }
            let start = segment_start(segment);
            let used = len.saturating_sub(start).min(segment_size(segment));
            let unwinding = Unwinding { vec: self, segment };
            // SAFETY: the first `used` elements of this segment were written
            // by `push` and not dropped; `&mut self` means no reader is left.
            // If a drop panics, `unwinding` frees this segment and drops the
            // later ones; nothing drops these elements again.
            unsafe { ptr::drop_in_place(ptr::slice_from_raw_parts_mut(base, used)) };
            std::mem::forget(unwinding);
            // SAFETY: `base` was allocated in `push` with this very layout,
            // and is freed once: here, or by `unwinding`, never both; its
            // elements were just dropped.
            unsafe { segment_pool::free(base.cast::<u8>(), segment_layout::<T>(segment)) };
        }
    }
}

/// Dropped only while a panic from an element's drop unwinds out of
/// `drop_segments`: frees `segment`, whose elements were all dropped (the
/// slice's drop glue goes on past a panic), and drops the later segments.
struct Unwinding<'a, T> {
    vec: &'a mut AppendVec<T>,
    segment: usize,
}

impl<T> Drop for Unwinding<'_, T> {
    fn drop(&mut self) {
        let base = *self.vec.segments[self.segment].get_mut();
        // SAFETY: `base` was allocated in `push` with this layout, and
        // `drop_segments` skipped freeing it (it unwound before).
        unsafe { segment_pool::free(base.cast::<u8>(), segment_layout::<T>(self.segment)) };
        self.vec.drop_segments(self.segment + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn locate_walks_segments_in_order() {
        let mut expected = (0, 0);
        for index in 0..FIRST * 40 {
            assert_eq!(locate(index), expected, "index {index}");
            expected.1 += 1;
            if expected.1 == segment_size(expected.0) {
                expected = (expected.0 + 1, 0);
            }
        }
        let (last, offset) = locate(u32::MAX as usize);
        assert!(last < SEGMENTS && offset < segment_size(last));
    }

    /// Past 65,536 elements, the room allocated for `len` elements is at
    /// most 13 % more than they need: the worst case is one element into a
    /// fresh segment.
    #[test]
    fn capacity_is_at_most_thirteen_percent_above_the_length() {
        for segment in 1..SEGMENTS {
            let len = segment_start(segment) + 1;
            if len < 1 << 16 {
                continue;
            }
            let capacity = segment_start(segment) + segment_size(segment);
            assert_eq!(locate(len - 1), (segment, 0));
            assert!(
                capacity * 100 <= len * 113,
                "len {len}: capacity {capacity}"
            );
        }
    }

    #[test]
    fn push_and_get() {
        let v = AppendVec::new();
        for i in 0..1000u64 {
            // SAFETY: one writer.
            assert_eq!(unsafe { v.push(i * 3) }, i as usize);
        }
        assert_eq!(v.len(), 1000);
        for i in 0..1000 {
            assert_eq!(v.get(i), Some(&(i as u64 * 3)));
        }
        assert_eq!(v.get(1000), None);
    }

    /// The writer's reads agree with `get` inside the segment it fills and
    /// before it, at every length across the first segments' boundaries
    /// (64, 128, ..., 512, 640...), and see nothing past the length.
    #[test]
    fn the_writer_reads_what_readers_read() {
        let v = AppendVec::new();
        // This thread is the only writer, and no push runs during a
        // writer's read.
        let read = |j| {
            // SAFETY: see above.
            unsafe { v.get_as_writer(j) }
        };
        assert_eq!(read(0), None);
        for i in 0..700u64 {
            // SAFETY: see above.
            assert_eq!(unsafe { v.push(i * 7) }, i as usize);
            let len = i as usize + 1;
            for j in [0, len / 2, len.saturating_sub(65), len - 1] {
                assert_eq!(read(j), v.get(j), "len {len}, index {j}");
                assert_eq!(v.get(j), Some(&(j as u64 * 7)));
            }
            assert_eq!(read(len), None, "len {len}");
        }
    }

    #[test]
    fn prefix_walks_the_segments_in_order() {
        let v = AppendVec::new();
        for i in 0..1000u64 {
            // SAFETY: one writer.
            unsafe { v.push(i) };
        }
        // Lengths at, inside and across segment boundaries (64, 128, 256...).
        for len in [0, 1, 63, 64, 65, 128, 129, 383, 384, 999, 1000] {
            let seen: Vec<u64> = v.prefix(len).flat_map(|(_, s)| s).copied().collect();
            assert_eq!(seen, (0..len as u64).collect::<Vec<_>>(), "len {len}");
            let back: Vec<u64> = v
                .prefix(len)
                .rev()
                .flat_map(|(_, s)| s.iter().rev())
                .copied()
                .collect();
            assert!(v.prefix(len).all(|(_, s)| !s.is_empty()), "len {len}");
            // Each slice starts at its first element's index.
            assert!(
                v.prefix(len).all(|(start, s)| s[0] == start as u64),
                "len {len}"
            );
            assert_eq!(back, (0..len as u64).rev().collect::<Vec<_>>(), "len {len}");
        }
    }

    #[test]
    #[should_panic(expected = "past the end")]
    fn prefix_past_the_end_panics() {
        let v = AppendVec::new();
        // SAFETY: one writer.
        unsafe { v.push(1u8) };
        v.prefix(2).count();
    }

    #[test]
    fn drops_every_element_once() {
        let marker = Arc::new(());
        {
            let v = AppendVec::new();
            for _ in 0..300 {
                // SAFETY: one writer.
                unsafe { v.push(Arc::clone(&marker)) };
            }
            assert_eq!(Arc::strong_count(&marker), 301);
        }
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    /// An element whose drop panics stops neither the drops of the others
    /// nor the freeing of the segments, as with a `Vec`; the panic is
    /// raised again afterwards. (The drop stopped at the panic, leaving the
    /// later segments' elements undropped and the segments unfreed.)
    #[test]
    fn a_panicking_drop_drops_and_frees_the_rest() {
        struct Grenade(Option<Arc<()>>);
        impl Drop for Grenade {
            fn drop(&mut self) {
                if self.0.is_none() {
                    panic!("dropped badly");
                }
            }
        }
        let marker = Arc::new(());
        let v = AppendVec::new();
        // SAFETY: one writer.
        unsafe { v.push(Grenade(None)) };
        for _ in 1..200 {
            // SAFETY: one writer.
            unsafe { v.push(Grenade(Some(Arc::clone(&marker)))) };
        }
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(v)));
        assert!(dropped.is_err(), "the panic is raised again");
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "every other element was dropped"
        );
    }

    #[test]
    fn readers_see_elements_while_a_writer_appends() {
        let count = if cfg!(miri) { 300 } else { 20_000 };
        let v = Arc::new(AppendVec::new());
        let writer = {
            let v = Arc::clone(&v);
            std::thread::spawn(move || {
                for i in 0..count {
                    // SAFETY: this thread is the only writer.
                    unsafe { v.push(Box::new(i)) };
                }
            })
        };
        let mut seen = 0;
        while seen < count {
            let len = v.len();
            for i in seen..len {
                assert_eq!(**v.get(i).unwrap(), i);
            }
            seen = len;
        }
        writer.join().unwrap();
    }
}
