//! Scopes: spawn jobs that borrow from the caller's stack; the scope returns
//! when all of them have finished.

use std::any::Any;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use crate::job::HeapJob;
use crate::latch::CountLatch;
use crate::registry::Registry;
use crate::sync::Mutex;

/// A scope in which jobs may borrow anything that outlives it. Made by
/// [`Executor::scope`](crate::Executor::scope).
///
/// # Examples
///
/// ```
/// let ex = delayed_executor::Executor::builder().workers(2).build().unwrap();
/// let mut halves = [0u64; 2];
/// let (lo, hi) = halves.split_at_mut(1);
/// ex.scope(|s| {
///     s.spawn(|_| lo[0] = (1..=50).sum());
///     s.spawn(|_| hi[0] = (51..=100).sum());
/// });
/// assert_eq!(halves[0] + halves[1], 5050);
/// ```
pub struct Scope<'scope> {
    registry: Arc<Registry>,
    /// One for the scope's own body plus one per spawned job not finished.
    pending: CountLatch,
    /// The first panic of a spawned job, raised again when the scope ends.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Invariant in `'scope`, as in rayon and `std::thread::scope`.
    marker: PhantomData<&'scope mut &'scope ()>,
}

/// A pointer to a scope that a job may carry to another thread.
struct ScopePtr<'scope>(*const Scope<'scope>);

// SAFETY: the scope is `Sync` in all but name (its fields are), and it
// outlives every job that holds this pointer (it waits for them).
unsafe impl Send for ScopePtr<'_> {}

impl<'scope> Scope<'scope> {
    pub(crate) fn new(registry: Arc<Registry>) -> Self {
        Scope {
            registry,
            pending: CountLatch::new(1),
            panic: Mutex::new(None),
            marker: PhantomData,
        }
    }

    /// Spawns a job into the scope. It may borrow anything that outlives the
    /// scope, and it gets the scope to spawn more.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let ex = delayed_executor::Executor::builder().workers(2).build().unwrap();
    /// let count = AtomicUsize::new(0);
    /// ex.scope(|s| {
    ///     s.spawn(|s| {
    ///         count.fetch_add(1, Ordering::Relaxed);
    ///         s.spawn(|_| { count.fetch_add(1, Ordering::Relaxed); });
    ///     });
    /// });
    /// assert_eq!(count.load(Ordering::Relaxed), 2);
    /// ```
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        self.pending.increment();
        let scope = ScopePtr(self as *const Scope<'scope>);
        let job = move || {
            let scope = scope;
            // SAFETY: the scope waits for `pending` to reach zero before it
            // is dropped, and this job decrements it last.
            let scope = unsafe { &*scope.0 };
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| f(scope))) {
                scope.record_panic(payload);
            }
            scope.pending.decrement();
        };
        // SAFETY: `job` catches panics, and what it borrows outlives the
        // scope, which outlives the job.
        let job_ref = unsafe { HeapJob::into_job_ref(job) };
        self.registry.push(job_ref);
    }

    fn record_panic(&self, payload: Box<dyn Any + Send>) {
        let mut slot = self.panic.lock();
        if slot.is_none() {
            *slot = Some(payload);
        } else {
            drop(slot);
            // Only the first panic is raised again; a later payload is
            // dropped, and its drop must not unwind into the worker.
            crate::unwind::drop_payload(payload);
        }
    }

    /// Ends the scope's body: waits for every spawned job, then raises the
    /// first panic (of the body, else of a job).
    pub(crate) fn complete<R>(&self, body: std::thread::Result<R>) -> R {
        self.pending.decrement();
        self.pending.wait();
        match body {
            Err(payload) => panic::resume_unwind(payload),
            Ok(value) => {
                let job_panic = self.panic.lock().take();
                match job_panic {
                    Some(payload) => panic::resume_unwind(payload),
                    None => value,
                }
            }
        }
    }
}

impl std::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("pending", &self.pending)
            .finish()
    }
}
