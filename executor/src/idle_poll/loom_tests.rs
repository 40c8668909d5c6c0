//! loom models of the idle-poll protocol (`README.md` beside this file). Run
//! with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p
//! delayed-executor --lib --release loom`.
//!
//! The poll function reads a `loom` cell that its owner writes (as freeing
//! it would) once `unlist` has returned: loom reports a data race if any
//! interleaving lets a worker call the poll after, or while, it is unlisted.

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

use super::IdlePolls;
use crate::sync::{AtomicUsize, Ordering};

/// What the poll reads and its owner frees.
struct Owned(UnsafeCell<u32>);

// SAFETY: every access goes through loom's cell, which checks that the
// accesses of different threads are ordered: that is what the model tests.
unsafe impl Sync for Owned {}

/// I3: once `unlist` returns, no call of the poll is in progress or to
/// come, while two workers poll concurrently (I2: one at a time).
#[test]
fn loom_unlist_waits_for_polls_in_progress() {
    loom::model(|| {
        let polls = Arc::new(IdlePolls::new());
        let owned = Owned(UnsafeCell::new(0u32));
        let calls = AtomicUsize::new(0);
        let (owned_ref, calls_ref) = (&owned, &calls);
        let poll = move || {
            // A call reads what the owner frees after `unlist`.
            // SAFETY: loom checks this read against the write below.
            owned_ref.0.with(|v| assert_eq!(unsafe { *v }, 0));
            calls_ref.fetch_add(1, Ordering::Relaxed);
            true
        };
        // SAFETY: unlisted below, before `poll` and `owned` go out of scope;
        // the workers are joined before that too.
        let id = unsafe { polls.list(&poll) };
        // The workers never see the closure's borrow: they call through
        // the list, as a real pool's workers do.
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let polls = Arc::clone(&polls);
                thread::spawn(move || {
                    if polls.any() {
                        polls.poll();
                    }
                    polls.poll();
                })
            })
            .collect();
        assert!(polls.unlist(id).is_none());
        // "Frees" what the poll reads: a race if a call is not over.
        // SAFETY: loom checks this write against every call's read.
        owned.0.with_mut(|v| unsafe { *v = 1 });
        for worker in workers {
            worker.join().unwrap();
        }
        assert!(!polls.any());
        assert!(calls.load(Ordering::Relaxed) <= 4);
    });
}

/// I4: a poll that panics is called no more, and `unlist` hands its panic
/// back.
#[test]
fn loom_a_panicking_poll_is_called_no_more() {
    loom::model(|| {
        let polls = Arc::new(IdlePolls::new());
        let calls = AtomicUsize::new(0);
        let poll = || -> bool {
            calls.fetch_add(1, Ordering::Relaxed);
            panic!("poll failed")
        };
        // SAFETY: unlisted below, while `poll` is alive; the worker is
        // joined before that.
        let id = unsafe { polls.list(&poll) };
        let worker = {
            let polls = Arc::clone(&polls);
            thread::spawn(move || {
                assert!(!polls.poll());
                assert!(!polls.poll());
            })
        };
        worker.join().unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        let payload = polls.unlist(id).expect("the panic is handed back");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"poll failed"));
    });
}
