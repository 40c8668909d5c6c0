//! `WriterLock`: the store's append lock, a spin lock that backs off.
//!
//! A push holds the lock for a few tens of nanoseconds, so `std`'s mutex
//! cost more than the work it guarded whenever two threads built at once:
//! a waiter that spun past its limit parked, and then every unlock of the
//! other thread made a `futex` wake (a system call, some microseconds on a
//! VM) while the two threads took turns node by node. Building 2^20
//! independent tasks from two threads took 52-87 ns per node in all,
//! against 23 from one (`profile_dag build-threads`).
//!
//! Here a waiter never parks: it spins briefly and looks once (a lock
//! held for one append is free again within tens of nanoseconds), then
//! yields its CPU many times between looks (`PATIENT_YIELDS`); a wait
//! longer than any append (a lock held through something slow) sleeps
//! between looks instead. The thread that holds the lock meanwhile
//! appends node after node with the columns' last lines in its own cache,
//! so turns come in runs, not node by node. An unlock is one plain store,
//! not a read-modify-write: one locked instruction less per node for a
//! single building thread too.
//!
//! The protocol, model-checked with loom (`loom_model` below, which
//! mirrors it with loom's types):
//! - **lock**: a compare-and-swap of `locked` from `false` to `true`,
//!   Acquire on success; on failure, wait (back off) until a Relaxed load
//!   sees `false`, and try again;
//! - **unlock**: a Release store of `false`, paired with the Acquire of the
//!   next successful lock: whatever the holder wrote under the lock is
//!   visible to the next holder.
//!
//! The guard unlocks on drop, also while a panic unwinds: appends never
//! leave a column half-written, so nothing is poisoned.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_utils::CachePadded;

/// Spins (`spin_loop` hints) before a waiter's one quick look at the lock.
const QUICK_SPINS: u32 = 64;

/// Yields between two looks at the lock of a waiter whose quick look
/// failed. A look that wins hands the lock's line and the columns' last
/// lines to the other CPU, so the fewer looks, the fewer handoffs. Two
/// threads adding 2^20 tasks at once (`profile_dag build-threads chain 10
/// 2`, 2-core VM, best of 10, alternated runs) took, per node in all:
/// 26.6-29.3 ns looking after each yield, 25.4-26.1 after 4, 24.5-28.0
/// after 16, 23.7-25.5 after 32, 23.7-24.9 after 64, against 23.4-24.3
/// from one thread, when a waiter still spun and yielded with a look after
/// each step of an exponential backoff (`crossbeam_utils::Backoff`) first.
/// Once an append took 8 ns, not 23, those early looks won the lock about
/// 2,000 times per 2^20 nodes, and two threads took 9.1-11.3 ns per node
/// against 7.9-8.1 from one. Without them (one quick look only), 8.4-8.6
/// with 32 yields between looks and 8.1-8.2 with 128, against 7.8-8.0
/// from one thread (6 alternated runs, one outlier above 10 each); four
/// threads on the two CPUs 8.5-9.8, against 8.6-12.9 before
/// (`results/overhead-breakdown.md`, 2026-12-07, late night). 128 yields
/// are about 64 µs here, nothing next to a build that keeps two threads
/// contending.
const PATIENT_YIELDS: u32 = 128;

/// Looks after `PATIENT_YIELDS` yields each before a waiter sleeps instead
/// (`LONG_WAIT_SLEEP` between looks): about four thousand yields, two
/// milliseconds or so, is longer than any run of appends by one thread
/// takes between two looks, so a wait that long is for a lock held through
/// something slow.
const PATIENT_LOOKS: u32 = 32;

/// A long waiter's sleep between two looks at the lock.
const LONG_WAIT_SLEEP: std::time::Duration = std::time::Duration::from_micros(200);

/// A value that one thread at a time may change (`lock`).
pub(crate) struct WriterLock<T> {
    /// On a cache line of its own: a waiter's loads of it then take no
    /// line that the holder writes on each append (the guarded value, the
    /// columns' lengths beside the lock in the store).
    locked: CachePadded<AtomicBool>,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands the value to one thread at a time, so it needs
// only to be `Send`, as for `std::sync::Mutex`.
unsafe impl<T: Send> Sync for WriterLock<T> {}

/// Access to a `WriterLock`'s value; unlocks when dropped.
pub(crate) struct WriterGuard<'a, T> {
    lock: &'a WriterLock<T>,
}

impl<T> WriterLock<T> {
    /// The value, through exclusive access (no other thread can hold the
    /// lock).
    #[cfg(feature = "mpi")]
    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    pub(crate) const fn new(value: T) -> WriterLock<T> {
        WriterLock {
            locked: CachePadded::new(AtomicBool::new(false)),
            value: UnsafeCell::new(value),
        }
    }

    /// Waits until no other thread holds the lock, then holds it.
    #[inline]
    pub(crate) fn lock(&self) -> WriterGuard<'_, T> {
        if !self.try_take() {
            self.lock_contended();
        }
        WriterGuard { lock: self }
    }

    /// One try: `true` if this thread now holds the lock.
    #[inline]
    fn try_take(&self) -> bool {
        // Acquire: pairs with the Release store of the previous holder's
        // unlock (`WriterGuard::drop`).
        self.locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// `lock` when another thread holds it: one look after `QUICK_SPINS`
    /// spins, then a look (a load, which leaves the line shared with the
    /// holder) only after every `PATIENT_YIELDS` yields, and a try when it
    /// looks free: each look at a lock the holder takes again and again
    /// pulls its line (and, when the look wins, the columns' last lines)
    /// to this CPU and back.
    #[cold]
    fn lock_contended(&self) {
        // One quick look: a lock held for a single append is free again
        // within tens of nanoseconds.
        for _ in 0..QUICK_SPINS {
            std::hint::spin_loop();
        }
        // Relaxed: only a hint; the compare-and-swap that follows is what
        // orders (Acquire).
        if !self.locked.load(Ordering::Relaxed) && self.try_take() {
            return;
        }
        loop {
            let mut patient_looks = 0u32;
            while self.locked.load(Ordering::Relaxed) {
                if patient_looks < PATIENT_LOOKS {
                    patient_looks += 1;
                    for _ in 0..PATIENT_YIELDS {
                        std::thread::yield_now();
                    }
                } else {
                    // Held long (the multi-node layer holds its lock
                    // through a compute's collective): sleep, not burn a
                    // CPU in `sched_yield`.
                    std::thread::sleep(LONG_WAIT_SLEEP);
                }
            }
            if self.try_take() {
                return;
            }
        }
    }
}

impl<T> Deref for WriterGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock: no other thread accesses the
        // value until it is dropped.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for WriterGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only
        // reference through the guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for WriterGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Release: pairs with the Acquire of the next `try_take` that
        // succeeds, so it sees every write made under the lock.
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_take_turns_without_losing_an_update() {
        let lock = WriterLock::new(0u64);
        let turns = if cfg!(miri) { 50 } else { 20_000 };
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..turns {
                        let mut value = lock.lock();
                        // A read and a write apart: a lost turn loses counts.
                        let seen = *value;
                        *value = seen + 1;
                    }
                });
            }
        });
        assert_eq!(*lock.lock(), 4 * turns);
    }

    #[test]
    fn a_waiter_gets_a_lock_held_long_once_it_is_free() {
        let lock = WriterLock::new(0u32);
        // Long past the patient looks: the waiter sleeps between looks.
        let held = std::time::Duration::from_millis(if cfg!(miri) { 1 } else { 30 });
        std::thread::scope(|s| {
            let mut value = lock.lock();
            let waiter = s.spawn(|| *lock.lock() += 1);
            std::thread::sleep(held);
            // Overwritten if the waiter had got in while the lock was held.
            *value = 10;
            drop(value);
            waiter.join().unwrap();
        });
        assert_eq!(*lock.lock(), 11);
    }

    #[test]
    fn a_panic_under_the_lock_unlocks_it() {
        let lock = WriterLock::new(vec![1]);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut value = lock.lock();
            value.push(2);
            panic!("in the middle of an append");
        }));
        assert!(result.is_err());
        assert_eq!(*lock.lock(), [1, 2]);
    }
}

/// loom model of the protocol above, mirrored with loom's types (the lock
/// itself uses `std`'s): the same orderings, and a yield to loom's scheduler
/// where the real lock backs off. Run with
/// `RUSTFLAGS="--cfg loom" cargo test --release --target-dir target/loom -p delayed --lib loom`.
#[cfg(all(test, loom))]
mod loom_model {
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::{AtomicBool, Ordering};
    use loom::sync::Arc;

    /// `WriterLock`, with the orderings of a take and of an unlock given.
    struct Model {
        locked: AtomicBool,
        value: UnsafeCell<u64>,
        take: Ordering,
        unlock: Ordering,
    }

    impl Model {
        /// `lock`, `lock_contended` and `try_take`.
        fn lock(&self) {
            loop {
                while self.locked.load(Ordering::Relaxed) {
                    loom::thread::yield_now();
                }
                if self
                    .locked
                    .compare_exchange_weak(false, true, self.take, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
                }
            }
        }

        /// `WriterGuard::drop`.
        fn unlock(&self) {
            self.locked.store(false, self.unlock);
        }

        /// A read and a write of the value under the lock, as an append is.
        fn add_one(&self) {
            self.lock();
            // SAFETY (of the model): loom reports any access not ordered
            // after the previous holder's.
            self.value.with_mut(|v| unsafe { *v += 1 });
            self.unlock();
        }
    }

    fn two_threads_add(take: Ordering, unlock: Ordering) {
        loom::model(move || {
            let lock = Arc::new(Model {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(0),
                take,
                unlock,
            });
            let other = {
                let lock = Arc::clone(&lock);
                loom::thread::spawn(move || lock.add_one())
            };
            lock.add_one();
            other.join().unwrap();
            lock.lock();
            let total = lock.value.with(|v| unsafe { *v });
            lock.unlock();
            assert_eq!(total, 2, "an update was lost");
        });
    }

    #[test]
    fn loom_writer_lock_hands_the_value_from_holder_to_holder() {
        two_threads_add(Ordering::Acquire, Ordering::Release);
    }

    #[test]
    #[should_panic(expected = "Causality violation")]
    fn loom_writer_lock_model_catches_a_relaxed_take() {
        two_threads_add(Ordering::Relaxed, Ordering::Release);
    }

    #[test]
    #[should_panic(expected = "Causality violation")]
    fn loom_writer_lock_model_catches_a_relaxed_unlock() {
        two_threads_add(Ordering::Acquire, Ordering::Relaxed);
    }
}
