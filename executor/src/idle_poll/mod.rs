//! Idle polls: functions that idle workers call between rounds of their
//! search while [`Executor::with_idle_poll`](crate::Executor::with_idle_poll)
//! runs, so that an event source outside the pool (MPI messages, for the
//! multi-node layer of `delayed`) is watched by a thread that is awake
//! anyway and can run what the event makes ready at once, without a
//! hand-off to another thread.
//!
//! The protocol (I1..I4) is written down in `README.md` beside this file;
//! the loom models in `loom_tests.rs` check it.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::sync::{AtomicUsize, Mutex, Ordering};

/// A poll function as the caller lent it: it returns whether it made
/// progress.
pub(crate) type PollFn<'a> = dyn Fn() -> bool + Sync + 'a;

/// The idle polls of one executor.
pub(crate) struct IdlePolls {
    /// How many polls are listed. Workers look at `list` only when this is
    /// non-zero. Relaxed: a worker that reads a stale count skips or tries
    /// one poll too many; `list` (under its lock) is what is called.
    listed: AtomicUsize,
    list: Mutex<List>,
}

struct List {
    next_id: u64,
    polls: Vec<Listed>,
}

struct Listed {
    id: u64,
    /// The caller's function, its lifetime erased: it is listed only while
    /// `with_idle_poll` borrows it (I3).
    poll: *const PollFn<'static>,
    /// The payload of its panic, if it panicked: it is called no more, and
    /// the panic is raised again by `with_idle_poll`.
    panicked: Option<Box<dyn Any + Send>>,
}

// SAFETY: `poll` points to a `Sync` function that outlives its listing (I3);
// it is only called under the `list` lock, from any thread.
unsafe impl Send for Listed {}

impl IdlePolls {
    pub(crate) fn new() -> IdlePolls {
        IdlePolls {
            listed: AtomicUsize::new(0),
            list: Mutex::new(List {
                next_id: 0,
                polls: Vec::new(),
            }),
        }
    }

    /// Whether any poll is listed (I2's first check).
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.listed.load(Ordering::Relaxed) != 0
    }

    /// I2: an idle worker calls every listed poll, unless another thread is
    /// already calling them (then it does not wait); whether any made
    /// progress. A poll that panics is called no more; its panic waits for
    /// its `with_idle_poll` to return.
    pub(crate) fn poll(&self) -> bool {
        let Some(mut list) = self.list.try_lock() else {
            return false;
        };
        let mut progress = false;
        for listed in list.polls.iter_mut().filter(|l| l.panicked.is_none()) {
            // SAFETY: I3: the function is listed, so `with_idle_poll` still
            // borrows it, and it cannot return before this lock is released.
            let poll = unsafe { &*listed.poll };
            match catch_unwind(AssertUnwindSafe(poll)) {
                Ok(made) => progress |= made,
                Err(payload) => listed.panicked = Some(payload),
            }
        }
        progress
    }

    /// I1: lists `poll`; returns its id for `unlist`.
    ///
    /// # Safety
    /// `poll` must stay valid until `unlist(id)` has returned.
    pub(crate) unsafe fn list(&self, poll: &PollFn<'_>) -> u64 {
        let mut list = self.list.lock();
        let id = list.next_id;
        list.next_id += 1;
        let poll: *const PollFn<'static> =
            // SAFETY: only the lifetime is erased. The caller keeps `poll`
            // valid until `unlist`, which takes it out of the list under
            // the lock that every call holds (I3).
            unsafe { std::mem::transmute::<&PollFn<'_>, &'static PollFn<'static>>(poll) };
        list.polls.push(Listed {
            id,
            poll,
            panicked: None,
        });
        self.listed.fetch_add(1, Ordering::Relaxed);
        id
    }

    /// I3: takes poll `id` out of the list, waiting for a call in progress
    /// to end: once it returns, the poll is never called again. Returns the
    /// payload of the poll's panic, if it panicked (I4).
    pub(crate) fn unlist(&self, id: u64) -> Option<Box<dyn Any + Send>> {
        let mut list = self.list.lock();
        let at = list
            .polls
            .iter()
            .position(|l| l.id == id)
            .expect("a listed poll is unlisted once");
        self.listed.fetch_sub(1, Ordering::Relaxed);
        list.polls.swap_remove(at).panicked
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
