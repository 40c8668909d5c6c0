//! Latches: one-shot signals a waiting thread blocks on.
//!
//! A latch starts unset. Eventually someone calls `set()` and it becomes set;
//! the thread waiting for it then goes on. The setter's writes before `set`
//! happen before the waiter's reads after it sees the latch set.
//!
//! The waiter of a latch may free it as soon as it sees it set, so `set`
//! takes a raw pointer and reads everything it needs (which registry, which
//! worker to wake) *before* the store that sets it (invariant L1 in
//! `sleep/README.md`).

use std::sync::Arc;

use crate::registry::Registry;
use crate::sync::{current_thread, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering, Thread};
use crate::worker::WorkerThread;

/// A one-shot signal.
pub(crate) trait Latch {
    /// Sets the latch and wakes its waiter.
    ///
    /// # Safety
    ///
    /// `this` must be valid on entry; it may be freed by the waiter as soon
    /// as the latch is set, so implementations touch it no more after that.
    unsafe fn set(this: *const Self);
}

/// Something a worker can wait for with `WorkerThread::wait_until`.
pub(crate) trait Probe {
    /// True once the latch is set. Acquire: pairs with the store in `set`.
    fn probe(&self) -> bool;
}

/// The latch of a `join` on a worker: the owner waits in `wait_until`, the
/// setter is a worker of the same registry (so the registry outlives `set`).
pub(crate) struct SpinLatch<'r> {
    set: AtomicBool,
    registry: &'r Registry,
    owner: usize,
}

impl<'r> SpinLatch<'r> {
    pub(crate) fn new(owner: &'r WorkerThread) -> Self {
        SpinLatch {
            set: AtomicBool::new(false),
            registry: owner.registry(),
            owner: owner.index(),
        }
    }
}

impl Latch for SpinLatch<'_> {
    unsafe fn set(this: *const Self) {
        // SAFETY: `this` is valid on entry (contract of `set`). The registry
        // is kept alive by the setting worker's own `Arc`, not by `this`.
        let (registry, owner) = unsafe { (&*((*this).registry as *const Registry), (*this).owner) };
        // SeqCst: release for the job's result (pairs with the acquire in
        // `probe`), and the store half of the store-buffering pair W1.
        // SAFETY: `this` is still valid: the waiter frees it only after this store.
        unsafe { (*this).set.store(true, Ordering::SeqCst) };
        registry.sleep.wake_worker(owner);
    }
}

impl Probe for SpinLatch<'_> {
    #[inline]
    fn probe(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }
}

/// A latch for a thread that is not a worker: it blocks on a condition
/// variable. An *unparking* one (`LockLatch::unparking`) also unparks the
/// thread that made it when it is set, so that a waiter that does other
/// work meanwhile and sleeps in `std::thread::park_timeout` between rounds
/// of it (the multi-node driver of `delayed::mpi`, polling MPI while its
/// run goes on) wakes when the latch is set, not at the end of its sleep.
pub(crate) struct LockLatch {
    set: Mutex<bool>,
    changed: Condvar,
    /// `true` once set, stored under `set`'s lock: what a waiter spins on
    /// before it blocks (`wait`).
    hint: AtomicBool,
    /// The thread to unpark when set, if any.
    owner: Option<Thread>,
}

/// How long a thread waiting on a `LockLatch` spins before it blocks.
/// Blocked, its CPU may go idle, and a VM's idle CPU takes tens of
/// microseconds to wake: a compute of three no-op tasks on one worker took
/// 50-60 µs from a thread outside the pool, the tasks themselves one.
/// (A throwaway example computing such a graph 5000 times on the 2-core
/// VM, 2026-12-07: 1.3 µs per compute with a 5 µs spin, 0.8 with 20 or
/// 50.)
#[cfg(not(loom))]
const WAIT_SPIN: std::time::Duration = std::time::Duration::from_micros(20);

/// Looks at the hint between two looks at the clock (and yields of the
/// CPU, to a worker that may need it) while spinning.
#[cfg(not(loom))]
const SPINS_PER_LOOK: u32 = 64;

impl LockLatch {
    pub(crate) fn new() -> Self {
        LockLatch {
            set: Mutex::new(false),
            changed: Condvar::new(),
            hint: AtomicBool::new(false),
            owner: None,
        }
    }

    /// A latch whose `set` also unparks the calling thread.
    pub(crate) fn unparking() -> Self {
        LockLatch {
            owner: Some(current_thread()),
            ..LockLatch::new()
        }
    }

    /// Returns once the latch is set: spins for `WAIT_SPIN`, then blocks.
    pub(crate) fn wait(&self) {
        #[cfg(not(loom))]
        if self.spin() {
            // The setter stored the hint under the lock, and its unlock is
            // its last access of the latch: taking the lock once waits for
            // it, so that the caller may free the latch when this returns,
            // and orders the setter's writes before the caller's reads.
            drop(self.set.lock());
            return;
        }
        let mut set = self.set.lock();
        while !*set {
            self.changed.wait(&mut set);
        }
    }

    /// Whether the latch was set within `WAIT_SPIN`. Relaxed: a hint, the
    /// lock taken after it (`wait`) is what orders.
    #[cfg(not(loom))]
    fn spin(&self) -> bool {
        let start = std::time::Instant::now();
        loop {
            for _ in 0..SPINS_PER_LOOK {
                if self.hint.load(Ordering::Relaxed) {
                    return true;
                }
                std::hint::spin_loop();
            }
            if start.elapsed() >= WAIT_SPIN {
                return false;
            }
            std::thread::yield_now();
        }
    }

    fn is_set(&self) -> bool {
        *self.set.lock()
    }
}

impl Latch for LockLatch {
    unsafe fn set(this: *const Self) {
        // SAFETY: valid on entry; the waiter cannot see `true` (and free the
        // latch) before the guard is released, which is our last access.
        let this = unsafe { &*this };
        // L1: the owner's handle is taken before the latch is set.
        let owner = this.owner.clone();
        let mut set = this.set.lock();
        *set = true;
        // Relaxed: under the lock, which a waiter that sees it takes.
        this.hint.store(true, Ordering::Relaxed);
        this.changed.notify_all();
        drop(set);
        // An unpark the owner does not wait for is at most one early
        // return of a later park, which callers of `park` expect anyway.
        if let Some(owner) = owner {
            owner.unpark();
        }
    }
}

/// The latch of whoever waits on the current thread: a worker (of any
/// executor) keeps running that executor's jobs while it waits; any other
/// thread blocks.
pub(crate) enum WaiterLatch {
    Worker {
        set: AtomicBool,
        /// A strong reference: the setter may be a thread of another
        /// executor or no worker at all, so it cannot rely on its own.
        registry: Arc<Registry>,
        owner: usize,
    },
    Thread(LockLatch),
}

impl WaiterLatch {
    /// A latch whose waiter is the calling thread.
    pub(crate) fn for_current_thread() -> Self {
        match WorkerThread::current() {
            Some(worker) => WaiterLatch::Worker {
                set: AtomicBool::new(false),
                registry: Arc::clone(worker.registry_arc()),
                owner: worker.index(),
            },
            None => WaiterLatch::Thread(LockLatch::new()),
        }
    }

    /// As `for_current_thread`, but a thread that is not a worker is also
    /// unparked when the latch is set (`LockLatch::unparking`).
    pub(crate) fn for_current_thread_unparking() -> Self {
        match WorkerThread::current() {
            Some(_) => WaiterLatch::for_current_thread(),
            None => WaiterLatch::Thread(LockLatch::unparking()),
        }
    }

    /// Waits until the latch is set; must be called on the thread that made it.
    pub(crate) fn wait(&self) {
        match self {
            WaiterLatch::Worker {
                registry, owner, ..
            } => {
                let worker = WorkerThread::current()
                    .filter(|w| std::ptr::eq(w.registry(), &**registry) && w.index() == *owner)
                    .expect("a latch must be waited on by the thread that created it");
                worker.wait_until(self);
            }
            WaiterLatch::Thread(lock) => lock.wait(),
        }
    }
}

impl Latch for WaiterLatch {
    unsafe fn set(this: *const Self) {
        // SAFETY: valid on entry (contract of `set`).
        match unsafe { &*this } {
            WaiterLatch::Worker {
                set,
                registry,
                owner,
            } => {
                // L1: take what we need before the store that may free `this`.
                let registry = Arc::clone(registry);
                let owner = *owner;
                // SeqCst: release for the waiter (pairs with `probe`) and the
                // store half of W1.
                set.store(true, Ordering::SeqCst);
                registry.sleep.wake_worker(owner);
            }
            // SAFETY: `this` is valid on entry; `LockLatch::set` keeps to L1.
            WaiterLatch::Thread(lock) => unsafe { Latch::set(lock as *const LockLatch) },
        }
    }
}

impl Probe for WaiterLatch {
    fn probe(&self) -> bool {
        match self {
            WaiterLatch::Worker { set, .. } => set.load(Ordering::Acquire),
            WaiterLatch::Thread(lock) => lock.is_set(),
        }
    }
}

/// A counter that the thread which created it waits on until it reaches
/// zero: the completion signal of a scope, or of a whole graph run.
///
/// Jobs call [`increment`](CountLatch::increment) before they add work and
/// [`decrement`](CountLatch::decrement) when a piece of work is finished.
/// [`wait`](CountLatch::wait) returns once the count is zero. Waiting on a
/// worker thread runs other jobs in the meantime, so nesting never
/// deadlocks, even with one worker.
///
/// Only the thread that created the latch may wait on it.
///
/// # Examples
///
/// ```
/// use delayed_executor::{raw::CountLatch, Executor};
///
/// let ex = Executor::builder().workers(2).build().unwrap();
/// let latch = CountLatch::new(3);
/// ex.scope(|s| {
///     for _ in 0..3 {
///         s.spawn(|_| latch.decrement());
///     }
/// });
/// latch.wait();
/// assert!(latch.is_zero());
/// ```
pub struct CountLatch {
    count: AtomicUsize,
    latch: WaiterLatch,
}

impl CountLatch {
    /// A latch with `count` outstanding pieces of work, to be waited on by
    /// the calling thread. A count of zero is already released.
    pub fn new(count: usize) -> CountLatch {
        CountLatch::waited_on_by(count, WaiterLatch::for_current_thread())
    }

    /// As [`new`](CountLatch::new), for a waiter that may also poll: when
    /// the calling thread is not a worker, the release also unparks it
    /// (`std::thread::Thread::unpark`), so a thread that works between
    /// looks at [`is_zero`](CountLatch::is_zero) and sleeps in
    /// `std::thread::park_timeout` meanwhile wakes as soon as the count
    /// reaches zero. (A worker waiting on its latch is woken as for `new`.)
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use delayed_executor::raw::CountLatch;
    ///
    /// let latch = Arc::new(CountLatch::new_unparking(1));
    /// let other = Arc::clone(&latch);
    /// let done = std::thread::spawn(move || other.decrement());
    /// // Other work here, sleeping up to a minute between rounds: the
    /// // release ends the sleep.
    /// while !latch.is_zero() {
    ///     std::thread::park_timeout(Duration::from_secs(60));
    /// }
    /// done.join().unwrap();
    /// ```
    pub fn new_unparking(count: usize) -> CountLatch {
        CountLatch::waited_on_by(count, WaiterLatch::for_current_thread_unparking())
    }

    /// A latch with `count` outstanding pieces of work, released through
    /// `latch`.
    fn waited_on_by(count: usize, latch: WaiterLatch) -> CountLatch {
        let latch = CountLatch {
            count: AtomicUsize::new(count),
            latch,
        };
        if count == 0 {
            // SAFETY: the latch is alive (we own it) and nobody waits yet.
            unsafe { Latch::set(&latch.latch as *const WaiterLatch) };
        }
        latch
    }

    /// Adds one piece of outstanding work. Call it before handing that work
    /// to another thread, while the count is still above zero.
    #[inline]
    pub fn increment(&self) {
        let prev = self.count.fetch_add(1, Ordering::Relaxed);
        debug_assert!(prev > 0, "CountLatch incremented after reaching zero");
    }

    /// Marks one piece of work finished; the last one releases the waiter.
    /// Do not touch the latch after your last `decrement`: the waiter may
    /// free it at once.
    ///
    /// Why `&self` may be freed by the waiter while this call is still
    /// running (rayon-core takes `*const Self` in `Latch::set` instead): a
    /// `CountLatch` holds `UnsafeCell`s (it is not `Freeze`), so a
    /// `&CountLatch` argument asserts nothing about the memory after the
    /// call's own accesses. rustc marks it neither `dereferenceable` nor
    /// `noalias` (only `nonnull align 8`: rustc 1.95's LLVM IR for such an
    /// argument), and Miri's Stacked and Tree Borrows allow freeing it
    /// during the call; `Arc::drop` and the unlock of std's `Mutex` rely
    /// on the same rule. What must hold is that this function touches
    /// `self` no more after the store that sets the latch: `Latch::set`
    /// keeps to that (L1), and the unit test
    /// `the_waiter_frees_the_latch_as_soon_as_it_is_released` checks it
    /// under Miri (a read of `self.count` after `set` is reported there as
    /// a race with the waiter's free).
    #[inline]
    pub fn decrement(&self) {
        // AcqRel: release publishes this worker's writes; the acquire lets
        // the last decrementer pass every earlier writer's effects on to the
        // waiter through the latch's own release store.
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: `self` is valid here; `set` keeps to L1.
            unsafe { Latch::set(&self.latch as *const WaiterLatch) };
        }
    }

    /// True once the count has reached zero.
    pub fn is_zero(&self) -> bool {
        self.latch.probe()
    }

    /// Returns once the count is zero. On a worker thread it runs other jobs
    /// meanwhile; elsewhere it blocks.
    ///
    /// # Panics
    ///
    /// If the latch was created on a worker thread and is waited on by
    /// another thread.
    pub fn wait(&self) {
        self.latch.wait();
    }
}

impl std::fmt::Debug for CountLatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountLatch")
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::CountLatch;

    /// A pointer to a latch that a test may send to another thread.
    struct LatchPtr(*const CountLatch);
    // SAFETY: `CountLatch` is `Sync`; the test keeps the latch alive until
    // the count reaches zero, which is all the setter relies on.
    unsafe impl Send for LatchPtr {}

    /// The waiter frees the latch as soon as it returns from `wait`, while
    /// the thread whose decrement released it may still be inside that
    /// call: the decrement must touch the latch no more after the store
    /// that sets it (see `CountLatch::decrement`). Miri
    /// (`scripts/sanitizers.sh`) checks this run: with a read of the count
    /// added after `set`, it reports a race with the free.
    #[test]
    fn the_waiter_frees_the_latch_as_soon_as_it_is_released() {
        for _ in 0..if cfg!(miri) { 100 } else { 1_000 } {
            let latch = Box::new(CountLatch::new(1));
            let setter = LatchPtr(&*latch);
            let setter = std::thread::spawn(move || {
                let setter = setter;
                // SAFETY: the latch is alive until its count reaches zero,
                // which is this decrement.
                unsafe { (*setter.0).decrement() };
            });
            latch.wait();
            drop(latch);
            setter.join().unwrap();
        }
    }

    /// As above, for a waiter that outlasts its spin and blocks
    /// (`LockLatch::wait`): it is woken, and frees the latch at once too.
    #[test]
    fn a_waiter_that_blocks_is_woken_and_frees_the_latch() {
        for _ in 0..if cfg!(miri) { 3 } else { 20 } {
            let latch = Box::new(CountLatch::new(1));
            let setter = LatchPtr(&*latch);
            let setter = std::thread::spawn(move || {
                let setter = setter;
                std::thread::sleep(std::time::Duration::from_millis(2));
                // SAFETY: as above.
                unsafe { (*setter.0).decrement() };
            });
            latch.wait();
            drop(latch);
            setter.join().unwrap();
        }
    }
}
