//! `Waiting`: the values an outbox holds until the next flush, framed
//! as they travel.
//!
//! A small value waits in the body of the next batch message to each rank
//! that reads it (its length, then its bytes: what the receiving rank's
//! `Driver::receive` reads), copied there by the export that made it. A
//! flush sends each rank's body as it is. Before, each waiting value had a
//! buffer of its own (an `Arc<Vec<u8>>`), which the flush then copied into
//! the batch: two allocations per value, freed by the thread of the flush,
//! and a burst of exports outran any pool of spare buffers (200000
//! independent tasks on 2 ranks: the allocator was 11 % of the exporting
//! rank's samples, `perf`). Values larger than `BATCHED` wait in a buffer
//! of their own and travel alone, uncopied.

use std::sync::Arc;

/// Values up to this size travel in batches (per rank per flush, messages
/// of up to `SMALL_MAX` bytes, each value behind its length); larger ones
/// alone, uncopied (beyond `SMALL_MAX`, announced: `comm.rs`).
/// Thousands of small messages to one rank cost MPI far more each than one
/// message holding them.
pub(crate) const BATCHED: usize = 16 << 10;

/// What waits for the next flush.
pub(crate) struct Waiting {
    /// Per rank: the small values for it, each behind its length as a
    /// little-endian `u32`.
    pub(crate) bodies: Vec<Vec<u8>>,
    /// Values larger than `BATCHED`: the local node whose output each is
    /// (its ranks are its routes'), and its bytes.
    pub(crate) large: Vec<(u32, Arc<Vec<u8>>)>,
}

impl Waiting {
    /// Nothing waiting, for a job of `ranks` ranks.
    pub(crate) fn new(ranks: usize) -> Waiting {
        Waiting {
            bodies: vec![Vec::new(); ranks],
            large: Vec::new(),
        }
    }

    /// Adds `bytes`, a small value (at most `BATCHED`), to the bodies of
    /// `dests`.
    pub(crate) fn add_small(&mut self, dests: &[u32], bytes: &[u8]) {
        debug_assert!(bytes.len() <= BATCHED);
        let len = (bytes.len() as u32).to_le_bytes();
        for &dest in dests {
            let body = &mut self.bodies[dest as usize];
            body.extend_from_slice(&len);
            body.extend_from_slice(bytes);
        }
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.large.is_empty() && self.bodies.iter().all(Vec::is_empty)
    }
}

/// How many bytes of `body` (values behind their lengths) make the first
/// message of at most `max` bytes: whole values, at least one.
pub(crate) fn first_message(body: &[u8], max: usize) -> usize {
    let mut end = 0;
    while end + 4 <= body.len() {
        let len = u32::from_le_bytes(body[end..end + 4].try_into().expect("4 bytes")) as usize;
        let next = end + 4 + len;
        if next > max && end > 0 {
            break;
        }
        end = next;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of a body, as the receiving rank reads them.
    fn values(mut body: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while body.len() >= 4 {
            let len = u32::from_le_bytes(body[..4].try_into().unwrap()) as usize;
            out.push(body[4..4 + len].to_vec());
            body = &body[4 + len..];
        }
        out
    }

    #[test]
    fn a_small_value_is_framed_in_the_body_of_each_rank_that_reads_it() {
        let mut waiting = Waiting::new(3);
        assert!(waiting.is_empty());
        waiting.add_small(&[0, 2], b"abc");
        waiting.add_small(&[2], b"");
        waiting.add_small(&[2], b"de");
        assert!(!waiting.is_empty());
        assert_eq!(values(&waiting.bodies[0]), [b"abc".to_vec()]);
        assert!(waiting.bodies[1].is_empty());
        assert_eq!(
            values(&waiting.bodies[2]),
            [b"abc".to_vec(), Vec::new(), b"de".to_vec()]
        );
    }

    #[test]
    fn messages_split_a_body_between_whole_values() {
        let mut waiting = Waiting::new(1);
        for value in [&[1u8; 10][..], &[2; 10], &[3; 30]] {
            waiting.add_small(&[0], value);
        }
        let body = &waiting.bodies[0];
        assert_eq!(first_message(body, 1000), body.len(), "all fit");
        assert_eq!(first_message(body, 28), 28, "two values of 4 + 10");
        assert_eq!(first_message(body, 27), 14, "one");
        assert_eq!(
            first_message(&body[28..], 5),
            34,
            "one value, however large"
        );
        assert_eq!(first_message(&[], 5), 0);
    }
}
