//! `RunBuffers`: what a compute's exchange allocated that the next compute
//! of the process can use again, kept beside the prepared compute
//! (`reuse.rs`) in the cluster's state.
//!
//! A compute allocated its inbox's two receive buffers (`inbox.rs`), of
//! `SMALL_MAX` bytes each, its spares (`spares.rs`) and the batch bodies
//! its outbox fills (`waiting.rs`, grown a doubling at a time) afresh, and
//! freed them at its end. Freeing a block of 64 KiB makes glibc consolidate its
//! free lists of small blocks (`malloc_consolidate`), thousands of them
//! after a run that sent a value per task from one thread and freed it on
//! another: 1.2 % of the samples of the relaying rank of Task Bench's tree
//! on 4 ranks sharing 2 CPUs, in the inbox's close alone (`perf`), in a run
//! of about a millisecond. Kept, they cost that once per process: about
//! 130 KiB for the receives, at most 64 spares of up to 128 bytes, and
//! two sets of batch bodies (one per rank) of at most 1 MiB each, no body
//! over 64 KiB.

use std::sync::Arc;

use super::comm::SMALL_MAX;
use super::waiting::Waiting;

/// How many receive buffers are kept: the inbox uses two at a time.
const RECEIVES: usize = 2;

/// How many sets of batch bodies are kept: the outbox's and the wire's.
const WAITING: usize = 2;

/// The most room the bodies of one set keep, in bytes: a job of many
/// ranks keeps the bodies of the ranks it sent most to, up to this.
const BODIES_KEPT: usize = 1 << 20;

/// The buffers one compute leaves to the next (empty before the first).
#[derive(Default)]
pub(crate) struct RunBuffers {
    /// The spares of the last compute (`Spares::take_all`).
    pub(crate) spares: Vec<Arc<Vec<u8>>>,
    /// Empty receive buffers of `SMALL_MAX` bytes (`Inbox::close`).
    receives: Vec<Vec<u8>>,
    /// Empty batch bodies (`Outbox::give_back`).
    waiting: Vec<Waiting>,
}

impl RunBuffers {
    /// An empty buffer with room for `SMALL_MAX` bytes: a kept one, else a
    /// new one.
    pub(crate) fn receive(&mut self) -> Vec<u8> {
        self.receives
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(SMALL_MAX))
    }

    /// Nothing waiting, for a job of `ranks` ranks: kept bodies, else new.
    pub(crate) fn waiting(&mut self, ranks: usize) -> Waiting {
        match self.waiting.pop() {
            Some(waiting) if waiting.bodies.len() == ranks => waiting,
            _ => Waiting::new(ranks),
        }
    }

    /// Keeps `waiting`'s bodies, emptied, for a later `waiting`, if fewer
    /// than `WAITING` are kept; a body grown beyond a message's size
    /// (`SMALL_MAX`, by a burst), or beyond `BODIES_KEPT` in all, is
    /// freed.
    pub(crate) fn keep_waiting(&mut self, mut waiting: Waiting) {
        if self.waiting.len() < WAITING {
            waiting.large.clear();
            let mut room = 0;
            for body in &mut waiting.bodies {
                if body.capacity() > SMALL_MAX || room + body.capacity() > BODIES_KEPT {
                    *body = Vec::new();
                }
                room += body.capacity();
                body.clear();
            }
            self.waiting.push(waiting);
        }
    }

    /// Keeps `buffer` for a later `receive` if it is the size of one (not a
    /// large value's) and fewer than `RECEIVES` are kept; else drops it.
    pub(crate) fn keep_receive(&mut self, mut buffer: Vec<u8>) {
        let size = (SMALL_MAX..=2 * SMALL_MAX).contains(&buffer.capacity());
        if size && self.receives.len() < RECEIVES {
            buffer.clear();
            self.receives.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_receive_comes_back_empty_and_only_receives_are_kept() {
        let mut buffers = RunBuffers::default();
        let mut first = buffers.receive();
        assert!(first.capacity() >= SMALL_MAX);
        first.extend_from_slice(&[1, 2, 3]);
        let at = first.as_ptr();
        buffers.keep_receive(first);
        let again = buffers.receive();
        assert_eq!(again.as_ptr(), at, "the same buffer, not a new one");
        assert!(again.is_empty());
        buffers.keep_receive(Vec::with_capacity(8));
        buffers.keep_receive(Vec::with_capacity(4 * SMALL_MAX));
        assert!(buffers.receives.is_empty(), "too small, or a large value's");
        for _ in 0..2 * RECEIVES {
            buffers.keep_receive(Vec::with_capacity(SMALL_MAX));
        }
        assert_eq!(buffers.receives.len(), RECEIVES);
    }

    #[test]
    fn kept_bodies_come_back_empty_for_the_same_ranks_only() {
        let mut buffers = RunBuffers::default();
        let mut waiting = buffers.waiting(3);
        waiting.add_small(&[1], &[7; 100]);
        let room = waiting.bodies[1].capacity();
        buffers.keep_waiting(waiting);
        let again = buffers.waiting(3);
        assert!(again.is_empty());
        assert_eq!(again.bodies[1].capacity(), room, "the body keeps its room");
        buffers.keep_waiting(again);
        let mut burst = buffers.waiting(3);
        burst.bodies[0].reserve(2 * SMALL_MAX);
        buffers.keep_waiting(burst);
        assert_eq!(
            buffers.waiting(3).bodies[0].capacity(),
            0,
            "a burst's body is freed"
        );
        let mut many = Waiting::new(2 * BODIES_KEPT / SMALL_MAX);
        for body in &mut many.bodies {
            body.reserve_exact(SMALL_MAX);
        }
        buffers.keep_waiting(many);
        let kept = buffers.waiting.pop().expect("kept");
        let room: usize = kept.bodies.iter().map(Vec::capacity).sum();
        assert!(
            room <= BODIES_KEPT && room > BODIES_KEPT - SMALL_MAX,
            "{room}"
        );
        assert_eq!(buffers.waiting(2).bodies.len(), 2, "another job's ranks");
        for _ in 0..2 * WAITING {
            buffers.keep_waiting(Waiting::new(3));
        }
        assert_eq!(buffers.waiting.len(), WAITING);
    }
}
