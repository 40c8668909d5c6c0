//! A node's input ids: `InputIds` while a task is added, `KindAndIds` in the
//! node's record.
//!
//! Most nodes have one or two inputs (chains, trees, wavefronts, the
//! lesson's `add`, a random DAG's up to three): a record keeps up to three
//! inline, in 16 bytes with the count and the node's kind, so that the
//! whole record is 32 (`nodes.rs`). Longer lists (a `sum` over many
//! results) are copied into the store's arena (`arena.rs`) and the record
//! points at them: no allocation of their own, and none at all while they are added up to `INLINE` of them (a
//! tuple of up to eight inputs).

/// Ids an `InputIds` holds without an allocation: the largest tuple input.
const INLINE: usize = 8;

/// Ids a record holds without the arena.
const STORED_INLINE: usize = 3;
const _: () = assert!(STORED_INLINE == 3 && INLINE >= STORED_INLINE);

use super::arena::Arena;

/// The bit of a count that says whether an input's value has something to
/// drop (`InputIds::has_values_to_drop`); the bits below are the length.
const TO_DROP: u32 = 1 << 31;

/// The ids of a task's inputs while it is added, in order. Opaque outside
/// the crate: it appears in `Inputs`, a public trait.
#[doc(hidden)]
pub struct InputIds {
    /// The length and the `TO_DROP` bit.
    len: u32,
    inline: [u32; INLINE],
    /// The ids when there are more than `INLINE`.
    heap: Option<Box<[u32]>>,
}

/// A node's number of inputs and its `to_drop` mark, as its record keeps
/// them (the store's column of counts keeps a `ShortCount`).
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

/// An `InputCount` in one byte, as the store's column of counts keeps it:
/// the `TO_DROP` mark in the top bit, the count below it, or `SATURATED`
/// for 127 inputs or more (then the node's record has the count). A run's
/// first pass reads this column only: a megabyte for a million nodes.
#[derive(Clone, Copy)]
pub(crate) struct ShortCount(u8);

/// `ShortCount`'s count bits when the count does not fit them.
const SATURATED: u8 = 0x7f;

impl InputCount {
    /// The count in one byte.
    pub(crate) fn short(self) -> ShortCount {
        let len = self.len().min(u32::from(SATURATED)) as u8;
        ShortCount(len | if self.has_values_to_drop() { 0x80 } else { 0 })
    }
}

impl ShortCount {
    /// The number of inputs, or `SATURATED` (127) when the byte does not
    /// hold it (then `whole` is `None`). Without a branch: the run's first
    /// pass reads a million of these in a tight loop.
    #[inline(always)]
    pub(crate) fn len_or_saturated(self) -> u8 {
        self.0 & SATURATED
    }

    /// `InputCount::has_values_to_drop`, from the byte.
    #[inline(always)]
    pub(crate) fn has_values_to_drop(self) -> bool {
        self.0 & 0x80 != 0
    }

    /// The whole count, if it fits the byte.
    #[inline]
    pub(crate) fn whole(self) -> Option<InputCount> {
        let len = self.len_or_saturated();
        let to_drop = if self.has_values_to_drop() {
            TO_DROP
        } else {
            0
        };
        (len != SATURATED).then_some(InputCount(u32::from(len) | to_drop))
    }
}

impl InputIds {
    /// The number of ids and the `to_drop` mark.
    #[inline]
    pub(crate) fn count(&self) -> InputCount {
        InputCount(self.len)
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

    /// The ids, in the order given.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u32] {
        match &self.heap {
            Some(ids) => ids,
            None => &self.inline[..self.count().len() as usize],
        }
    }
}

impl From<&[u32]> for InputIds {
    /// A copy of `ids`. Not through `collect`: the tuples' and single
    /// inputs' ids come this way, for every node a loop adds, and
    /// `from_iter`'s loop, when the compiler did not inline it (as in a
    /// program with its own global allocator), cost 15 ns per node.
    #[inline]
    fn from(ids: &[u32]) -> Self {
        let mut inline = [0; INLINE];
        let heap = match inline.get_mut(..ids.len()) {
            Some(prefix) => {
                prefix.copy_from_slice(ids);
                None
            }
            None => Some(Box::from(ids)),
        };
        InputIds {
            len: len_field(ids.len()),
            inline,
            heap,
        }
    }
}

/// `InputIds::len` for `len` ids: below the `TO_DROP` bit.
///
/// # Panics
/// If a task is given 2^31 inputs or more.
fn len_field(len: usize) -> u32 {
    u32::try_from(len)
        .ok()
        .filter(|len| len & TO_DROP == 0)
        .expect("delayed: a task takes at most 2^31 - 1 inputs")
}

impl FromIterator<u32> for InputIds {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut iter = iter.into_iter();
        let mut inline = [0; INLINE];
        let mut len = 0;
        for slot in &mut inline {
            match iter.next() {
                Some(id) => {
                    *slot = id;
                    len += 1;
                }
                None => break,
            }
        }
        let heap = match iter.next() {
            None => None,
            Some(next) => {
                let mut ids = Vec::with_capacity(INLINE + 1 + iter.size_hint().0);
                ids.extend_from_slice(&inline);
                ids.push(next);
                ids.extend(iter);
                len = ids.len();
                Some(ids.into_boxed_slice())
            }
        };
        InputIds {
            len: len_field(len),
            inline,
            heap,
        }
    }
}

/// A node's kind and input ids in its record: sixteen bytes, aligned to 4.
///
/// The first word holds the kind (an index into the store's table of
/// closure vtables and names: below `MAX_KINDS`), the `TO_DROP` bit, and in
/// the three bits between them either the number of ids (up to
/// `STORED_INLINE`, which then follow inline) or `POOLED`: then the next
/// twelve bytes are a pointer to the ids in the store's arena (which
/// `packed(4)` leaves unaligned: it is read by value) and their count.
///
/// Three ids inline, not two, because the kind shares their count's word:
/// a random DAG's nodes, of up to three inputs, then never reach for the
/// arena (that indirection made its compute 10-15 % slower than before the
/// records shrank to 32 bytes).
#[repr(C, packed(4))]
pub(crate) struct KindAndIds {
    head: u32,
    tail: Tail,
}

/// Number of distinct kinds a store can hold: the kind shares its word
/// with the input count's class and the `TO_DROP` bit.
pub(crate) const MAX_KINDS: usize = 1 << KIND_BITS;
const KIND_BITS: u32 = 28;
const CLASS_SHIFT: u32 = KIND_BITS;
const CLASS_MASK: u32 = 0b111 << CLASS_SHIFT;
/// The class of a head whose ids are in the arena ("pooled").
const POOLED: u32 = 4;
const _: () = assert!(STORED_INLINE < POOLED as usize && TO_DROP == 1 << (KIND_BITS + 3));

#[repr(C, packed(4))]
#[derive(Clone, Copy)]
union Tail {
    ids: [u32; STORED_INLINE],
    pooled: Pooled,
}

/// Ids kept in the arena: where, and their `InputCount` (with `TO_DROP`).
#[repr(C, packed(4))]
#[derive(Clone, Copy)]
struct Pooled {
    ids: *const u32,
    count: u32,
}

// SAFETY: the ids are never written after the record is made, and the arena
// they may lie in is the store's, which outlives the record.
unsafe impl Send for KindAndIds {}
// SAFETY: as for `Send`.
unsafe impl Sync for KindAndIds {}

/// Where the ids of a node with more than `STORED_INLINE` live: its
/// heap list, moved into `arena`, or a copy there of its inline ids.
#[cold]
#[inline(never)]
fn keep_in_arena(ids: &mut InputIds, arena: &mut Arena) -> *const u32 {
    match ids.heap.take() {
        Some(heap) => arena.keep_ids(heap),
        None => arena.copy_ids(&ids.inline[..ids.count().len() as usize]),
    }
}

impl KindAndIds {
    /// `ids` of a node of kind `kind` (below `MAX_KINDS`), kept in a
    /// record: inline if they fit, else in `arena`, which must outlive the
    /// record. A list kept in the heap moves into the arena: `ids` is not
    /// read after this (it is borrowed, not moved, for the reason
    /// `Store::push` gives).
    ///
    /// Always inlined, as `Store::push_locked` is: a call returned the 16
    /// bytes through memory, which the record's write read back with one
    /// 16-byte load from four 4-byte stores that could not be forwarded.
    /// Inlined, with the ids read as below, a chain's build went from
    /// 14.8 to 12.2-12.3 ns per node (`results/overhead-breakdown.md`,
    /// 2026-12-07, late night).
    #[inline(always)]
    pub(crate) fn new(kind: u32, ids: &mut InputIds, arena: &mut Arena) -> KindAndIds {
        debug_assert!((kind as usize) < MAX_KINDS);
        let len = ids.count().len() as usize;
        let drop_bit = ids.len & TO_DROP;
        if len <= STORED_INLINE {
            // The unused ids are zeros (`from_iter`), but they are not read:
            // the compiler merged the first two 4-byte reads into one 8-byte
            // load, which overlapped the builder's 4-byte store of the id and
            // its earlier zeroing of the rest, so it could not be forwarded
            // (a fifth of an inlined build's samples). A fixed-size copy,
            // not a `memcpy` of `len` ids, whose 4-byte stores stalled the
            // 8-byte load of the record's write (14 % of `Store::push`).
            let id_or_zero = |k: usize| if k < len { ids.inline[k] } else { 0 };
            KindAndIds {
                head: kind | (len as u32) << CLASS_SHIFT | drop_bit,
                tail: Tail {
                    ids: [ids.inline[0], id_or_zero(1), id_or_zero(2)],
                },
            }
        } else {
            // Made here, from a pointer the cold call returns in a
            // register: a `KindAndIds` returned by a call comes through
            // memory, and with it the inline branch's did too (a chain's
            // build 12.5-13.0 -> 16.5-17.1 ns per node).
            KindAndIds {
                head: kind | POOLED << CLASS_SHIFT | drop_bit,
                tail: Tail {
                    pooled: Pooled {
                        ids: keep_in_arena(ids, arena),
                        count: ids.len,
                    },
                },
            }
        }
    }

    /// The node's kind.
    #[inline]
    pub(crate) fn kind(&self) -> u32 {
        self.head & (MAX_KINDS as u32 - 1)
    }

    /// The ids' count class: their number if inline, else `POOLED`.
    #[inline]
    fn class(&self) -> u32 {
        (self.head & CLASS_MASK) >> CLASS_SHIFT
    }

    /// The number of ids and the `to_drop` mark.
    #[inline]
    pub(crate) fn count(&self) -> InputCount {
        let class = self.class();
        if class == POOLED {
            // Copied out of the packed struct (an unaligned read).
            let tail = self.tail;
            // SAFETY: a `POOLED` head says that `pooled` is the live field.
            InputCount(unsafe { tail.pooled }.count)
        } else {
            InputCount(class | self.head & TO_DROP)
        }
    }

    /// Whether the value of one of these inputs may have something to drop
    /// (`InputIds::with_values_to_drop`).
    #[inline]
    pub(crate) fn has_values_to_drop(&self) -> bool {
        self.head & TO_DROP != 0
    }

    /// The ids, in the order given.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u32] {
        let class = self.class();
        let (data, len) = if class == POOLED {
            // Copied out of the packed struct (an unaligned read).
            let tail = self.tail;
            // SAFETY: a `POOLED` head says that `pooled` is the live field.
            let pooled = unsafe { tail.pooled };
            (pooled.ids, InputCount(pooled.count).len() as usize)
        } else {
            // `tail.ids` lies at offset 4 (`repr(C)`), aligned for a `u32`
            // (the struct is aligned to 4); the pointer is derived from the
            // whole struct, so it may cover the ids.
            (
                std::ptr::from_ref(self).cast::<u32>().wrapping_add(1),
                class as usize,
            )
        };
        // SAFETY: `data` points to `len` initialized ids that live as long
        // as `self` (inline: inside it; pooled: in the store's arena, which
        // outlives its records, `new`'s contract), never written again.
        unsafe { std::slice::from_raw_parts(data, len) }
    }
}

const _: () = assert!(size_of::<KindAndIds>() == 16 && align_of::<KindAndIds>() == 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_127_inputs_or_more_do_not_fit_a_byte() {
        for len in [127, 128, 1 << 20] {
            let count = InputCount(len | TO_DROP);
            assert!(count.short().whole().is_none(), "{len}");
        }
        let count = InputCount(126 | TO_DROP).short().whole().expect("fits");
        assert!(count.len() == 126 && count.has_values_to_drop());
    }

    #[test]
    fn short_lists_stay_inline_and_long_ones_go_to_the_arena() {
        let mut arena = Arena::new();
        for n in (0..20u32).chain([126, 127, 128, 300]) {
            let ids: Vec<u32> = (0..n).map(|i| i * 7).collect();
            let given = InputIds::from(&ids[..]);
            assert_eq!(given.as_slice(), &ids[..]);
            assert_eq!(given.heap.is_some(), n as usize > INLINE, "{n} ids");
            let kind = n * 1_000_003 % MAX_KINDS as u32;
            let stored = KindAndIds::new(kind, &mut InputIds::from(&ids[..]), &mut arena);
            assert_eq!(stored.kind(), kind);
            assert_eq!(stored.as_slice(), &ids[..]);
            let start = std::ptr::from_ref(&stored) as usize;
            let inside = (start..start + size_of::<KindAndIds>())
                .contains(&(stored.as_slice().as_ptr() as usize));
            assert_eq!(inside, n as usize <= STORED_INLINE, "{n} ids");
            assert!(!stored.has_values_to_drop());
            let marked = InputIds::from(&ids[..]).with_values_to_drop(true);
            assert!(marked.count().has_values_to_drop());
            assert_eq!(marked.as_slice(), &ids[..], "{n} ids, marked");
            let stored = KindAndIds::new(MAX_KINDS as u32 - 1, &mut { marked }, &mut arena);
            assert_eq!(stored.kind(), MAX_KINDS as u32 - 1);
            assert!(stored.has_values_to_drop() && !given.count().has_values_to_drop());
            assert_eq!((stored.count().len(), given.count().len()), (n, n));
            for count in [stored.count(), given.count()] {
                let Some(short) = count.short().whole() else {
                    // The byte's count is saturated: the record has it.
                    assert!(n >= 127, "{n} ids");
                    continue;
                };
                assert_eq!(short.len(), count.len());
                assert_eq!(short.has_values_to_drop(), count.has_values_to_drop());
            }
        }
    }
}
