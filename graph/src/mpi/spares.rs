//! `Spares`: the buffers of small values whose sends completed, kept for
//! the next exports instead of freed.
//!
//! A message (a value sent at once, or a batch of values) travels in a
//! buffer shared by its sends (one per rank that reads a value sent at
//! once), an `Arc<Vec<u8>>`: two blocks from the allocator, both freed
//! when the last send completes. For a small value that was most of the
//! cost of sending it: of the 1673 instructions per task of rank 0's
//! worker on Task Bench's tree (2 ranks, 16 iterations), 295 encoded a
//! `u64` (its size measured first, then a buffer allocated) and 173 freed
//! the buffer and its `Arc` (callgrind). A spare is unshared, empty, with
//! room for a small value: a worker sending its value at once swaps the
//! buffer it encoded into with a spare's (`Wire::send_at_once`), and a
//! flush sends a batch in one (`Wire::send_waiting`).
//!
//! The spares live beside the sends, behind the wire (`wire.rs`): whoever
//! sends (a worker sending its value at once, a poll sending the values
//! that waited in the outbox) holds the wire, and takes the buffer of each
//! message from them; the holder of the wire gives back the buffers of the
//! sends it found complete. An export that does not get the wire needs no
//! buffer of its own: its value waits in the outbox, copied into the body
//! of a batch (`waiting.rs`).
//!
//! The process keeps a compute's spares for its next (`run_buffers.rs`):
//! the first sends of a compute take them too.

use std::sync::Arc;

/// The capacity of a new spare, and the largest kept: values encoded into
/// at most this many bytes are sent without allocating.
pub(crate) const SPARE_BYTES: usize = 64;

/// How many spares are kept at most: more sends than that in flight at once
/// allocate.
const KEPT: usize = 64;

/// Unshared, empty buffers, each with room for `SPARE_BYTES`.
pub(crate) struct Spares {
    kept: Vec<Arc<Vec<u8>>>,
}

/// A new buffer with room for `SPARE_BYTES`, as a spare is: a small value
/// is encoded into it without growing it, and once its sends complete it
/// is kept as a spare (`Spares::give`).
pub(crate) fn new_spare() -> Arc<Vec<u8>> {
    Arc::new(Vec::with_capacity(SPARE_BYTES))
}

impl Spares {
    /// Spares made of `kept`, the spares of an earlier compute
    /// (`Spares::take_all`).
    pub(crate) fn new(mut kept: Vec<Arc<Vec<u8>>>) -> Spares {
        kept.truncate(KEPT);
        Spares { kept }
    }

    /// An unshared, empty buffer with room for `SPARE_BYTES`: a kept one,
    /// else a new one.
    pub(crate) fn take(&mut self) -> Arc<Vec<u8>> {
        self.kept.pop().unwrap_or_else(new_spare)
    }

    /// Keeps `bytes` for a later `take` if nothing else shares it, it is
    /// no larger than two spares and fewer than `KEPT` are kept; else
    /// drops it.
    pub(crate) fn give(&mut self, mut bytes: Arc<Vec<u8>>) {
        if self.kept.len() >= KEPT {
            return;
        }
        if let Some(buffer) = Arc::get_mut(&mut bytes) {
            if (SPARE_BYTES..=2 * SPARE_BYTES).contains(&buffer.capacity()) {
                buffer.clear();
                self.kept.push(bytes);
            }
        }
    }

    /// The spares, taken out for the next compute's `Spares::new`.
    pub(crate) fn take_all(&mut self) -> Vec<Arc<Vec<u8>>> {
        std::mem::take(&mut self.kept)
    }

    /// How many are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_comes_back_empty_with_its_room() {
        let mut spares = Spares::new(Vec::new());
        let mut bytes = spares.take();
        Arc::get_mut(&mut bytes)
            .unwrap()
            .extend_from_slice(&[1, 2, 3]);
        let at = Arc::as_ptr(&bytes);
        spares.give(bytes);
        let again = spares.take();
        assert_eq!(Arc::as_ptr(&again), at, "the same buffer, not a new one");
        assert!(again.is_empty());
        assert!(again.capacity() >= SPARE_BYTES);
    }

    #[test]
    fn shared_small_and_large_buffers_are_not_kept() {
        let mut spares = Spares::new(Vec::new());
        let shared = spares.take();
        let other = Arc::clone(&shared);
        spares.give(shared);
        assert_eq!(spares.len(), 0, "another holder may still read it");
        drop(other);
        spares.give(Arc::new(Vec::with_capacity(8)));
        spares.give(Arc::new(Vec::with_capacity(64 << 10)));
        assert_eq!(spares.len(), 0, "too small to spare, or too large to keep");
        for _ in 0..2 * KEPT {
            spares.give(Arc::new(Vec::with_capacity(SPARE_BYTES)));
        }
        assert_eq!(spares.len(), KEPT);
    }

    #[test]
    fn the_spares_of_one_compute_are_the_next_ones() {
        let mut spares = Spares::new(Vec::new());
        let bytes = spares.take();
        let at = Arc::as_ptr(&bytes);
        spares.give(bytes);
        let mut next = Spares::new(spares.take_all());
        assert_eq!(Arc::as_ptr(&next.take()), at);
        let many = (0..2 * KEPT).map(|_| new_spare()).collect();
        assert_eq!(Spares::new(many).len(), KEPT, "no more than KEPT");
    }
}
