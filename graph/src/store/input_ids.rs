//! `InputIds`: the ids of a node's inputs, inline when there are few.
//!
//! Most nodes have one or two inputs (chains, trees, wavefronts, the
//! lesson's `add`); keeping those inline saves an allocation per node while
//! the graph is built. Longer lists (a `sum` over many results) are boxed.
//! Twelve bytes, so that a node's whole record is 32 (`nodes.rs`).

/// Inputs kept without an allocation.
const INLINE: usize = 2;

/// The bit of `InputIds::len` that says whether an input's value has
/// something to drop (`InputIds::has_values_to_drop`); the bits below are the length.
const TO_DROP: u32 = 1 << 31;

/// Opaque outside the crate: it appears in `Inputs`, a public trait.
///
/// Twelve bytes, aligned to 4: the length (and the `TO_DROP` bit), then
/// either the ids themselves (up to `INLINE`, in `tail.ids`) or a pointer to
/// a boxed slice of `len` ids, which `packed(4)` leaves unaligned (it is
/// read and written by value).
#[doc(hidden)]
#[repr(C, packed(4))]
pub struct InputIds {
    len: u32,
    tail: Tail,
}

#[repr(C)]
#[derive(Clone, Copy)]
union Tail {
    ids: [u32; INLINE],
    heap: *mut u32,
}

// SAFETY: `InputIds` owns its boxed ids (if any) as a `Box<[u32]>` would,
// and only hands out shared `&[u32]`.
unsafe impl Send for InputIds {}
// SAFETY: as for `Send`.
unsafe impl Sync for InputIds {}

/// A node's number of inputs and its `to_drop` mark, as `InputIds` keeps
/// them. The store keeps a column of these beside the node records, so a
/// run's first pass, which needs only this, reads 4 bytes per node instead
/// of a 48-byte record, and leaves the cache to the run.
#[derive(Clone, Copy)]
pub(crate) struct InputCount(u32);

impl InputCount {
    /// Number of inputs.
    #[inline]
    pub(crate) fn len(self) -> u32 {
        self.0 & !TO_DROP
    }

    /// `InputIds::has_values_to_drop`.
    #[inline]
    pub(crate) fn has_values_to_drop(self) -> bool {
        self.0 & TO_DROP != 0
    }
}

impl InputIds {
    /// The number of ids and the `to_drop` mark.
    #[inline]
    pub(crate) fn count(&self) -> InputCount {
        InputCount(self.len)
    }

    /// Number of ids.
    #[inline]
    fn len(&self) -> usize {
        self.count().len() as usize
    }

    /// Says whether the value of one of these inputs may have something to
    /// drop (a boxed value, or a type with drop glue), as the input types
    /// of the task tell when it is built. When none has, a run neither
    /// counts the task's reads of them nor empties their slots (step 6 of
    /// `run/README.md`).
    pub(crate) fn with_values_to_drop(mut self, to_drop: bool) -> Self {
        if to_drop {
            self.len |= TO_DROP;
        }
        self
    }

    /// Whether the value of one of these inputs may have something to drop
    /// (`with_values_to_drop`).
    #[inline]
    pub(crate) fn has_values_to_drop(&self) -> bool {
        self.count().has_values_to_drop()
    }

    /// The ids, in the order given.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u32] {
        let len = self.len();
        let data = if len <= INLINE {
            // `tail.ids` lies at offset 4 (`repr(C)`), aligned for a `u32`
            // (the struct is aligned to 4); the pointer is derived from the
            // whole struct, so it may cover the ids.
            std::ptr::from_ref(self).cast::<u32>().wrapping_add(1)
        } else {
            // Copied out of the packed struct (an unaligned read).
            let tail = self.tail;
            // SAFETY: with more than `INLINE` ids, `heap` is the live field.
            unsafe { tail.heap }.cast_const()
        };
        // SAFETY: `data` points to `len` initialized ids that live as long
        // as `self` (inline: inside it; boxed: owned by it).
        unsafe { std::slice::from_raw_parts(data, len) }
    }
}

impl Drop for InputIds {
    fn drop(&mut self) {
        let len = self.len();
        if len > INLINE {
            let tail = self.tail;
            // SAFETY: `heap` is the live field and came from
            // `Box::<[u32]>::into_raw` with this length (`from_iter`).
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(tail.heap, len)) });
        }
    }
}

impl From<&[u32]> for InputIds {
    fn from(ids: &[u32]) -> Self {
        ids.iter().copied().collect()
    }
}

impl FromIterator<u32> for InputIds {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut iter = iter.into_iter();
        let mut inline = [0; INLINE];
        for (len, slot) in inline.iter_mut().enumerate() {
            match iter.next() {
                Some(id) => *slot = id,
                None => return InputIds::inline(len, inline),
            }
        }
        match iter.next() {
            None => InputIds::inline(INLINE, inline),
            Some(next) => {
                let rest = iter.size_hint().0;
                let mut ids = Vec::with_capacity(INLINE + 1 + rest);
                ids.extend_from_slice(&inline);
                ids.push(next);
                ids.extend(iter);
                let len = u32::try_from(ids.len())
                    .ok()
                    .filter(|len| len & TO_DROP == 0)
                    .expect("delayed: a task takes at most 2^31 - 1 inputs");
                InputIds {
                    len,
                    tail: Tail {
                        heap: Box::into_raw(ids.into_boxed_slice()).cast::<u32>(),
                    },
                }
            }
        }
    }
}

impl InputIds {
    fn inline(len: usize, ids: [u32; INLINE]) -> InputIds {
        InputIds {
            len: len as u32,
            tail: Tail { ids },
        }
    }
}

const _: () = assert!(size_of::<InputIds>() == 12 && align_of::<InputIds>() == 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_stay_inline_and_long_ones_are_boxed() {
        for n in 0..10u32 {
            let ids: Vec<u32> = (0..n).map(|i| i * 7).collect();
            let stored = InputIds::from(&ids[..]);
            assert_eq!(stored.as_slice(), &ids[..]);
            let start = std::ptr::from_ref(&stored) as usize;
            let inside = (start..start + size_of::<InputIds>())
                .contains(&(stored.as_slice().as_ptr() as usize));
            assert_eq!(inside, n as usize <= INLINE, "{n} ids");
            assert!(!stored.has_values_to_drop());
            let marked = InputIds::from(&ids[..]).with_values_to_drop(true);
            assert!(marked.has_values_to_drop());
            assert_eq!(marked.as_slice(), &ids[..], "{n} ids, marked");
            assert!(marked.count().has_values_to_drop() && !stored.count().has_values_to_drop());
            assert_eq!((marked.count().len(), stored.count().len()), (n, n));
        }
    }
}
