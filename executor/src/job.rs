//! Type-erased references to jobs, and the two kinds of jobs the executor
//! makes itself: a job on the stack of a waiting thread (`join`, work sent in
//! from outside) and a job on the heap (`spawn`, `Scope::spawn`).

use std::any::Any;
use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};

use crate::latch::Latch;

/// A reference to a job: a data pointer and the function that runs it.
///
/// It is two words, `Copy`, and scheduling one allocates nothing; the job it
/// points to lives wherever its owner keeps it (a stack frame, a heap box, or
/// an array of node records in the `delayed` graph runner).
///
/// # Examples
///
/// ```
/// use delayed_executor::{raw::{CountLatch, JobRef}, Executor};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// struct Hello { runs: AtomicUsize, done: CountLatch }
///
/// unsafe fn run_hello(data: *const ()) {
///     // SAFETY: `data` is the `&Hello` that `main` keeps alive until `wait` returns.
///     let hello = unsafe { &*(data as *const Hello) };
///     hello.runs.fetch_add(1, Ordering::Relaxed);
///     hello.done.decrement();
/// }
///
/// let ex = Executor::builder().workers(2).build().unwrap();
/// let hello = Hello { runs: AtomicUsize::new(0), done: CountLatch::new(1) };
/// // SAFETY: `hello` outlives the job (we wait for it below) and `run_hello` does not unwind.
/// unsafe { ex.push(JobRef::new(&hello as *const Hello as *const (), run_hello)) };
/// hello.done.wait();
/// assert_eq!(hello.runs.load(Ordering::Relaxed), 1);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct JobRef {
    data: *const (),
    execute: unsafe fn(*const ()),
}

// SAFETY: a `JobRef` is only a pair of pointers; whoever creates one promises
// (in `JobRef::new`) that the job may run on any worker thread.
unsafe impl Send for JobRef {}

impl PartialEq for JobRef {
    /// Two references are equal when they point to the same job data.
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.data, other.data)
    }
}

impl Eq for JobRef {}

impl JobRef {
    /// Makes a job that runs `execute(data)` once, on some worker.
    ///
    /// # Safety
    ///
    /// - `data` must stay valid, and whatever it points to must be usable
    ///   from another thread, until `execute` has returned;
    /// - `execute` must not unwind (catch panics inside it): a job that
    ///   unwinds into the worker aborts the process.
    pub unsafe fn new(data: *const (), execute: unsafe fn(*const ())) -> JobRef {
        JobRef { data, execute }
    }

    /// Runs the job.
    ///
    /// # Safety
    ///
    /// Each `JobRef` handed to the scheduler is executed exactly once; the
    /// contract of [`JobRef::new`] keeps `data` valid until then.
    #[inline]
    pub(crate) unsafe fn execute(self) {
        // SAFETY: guaranteed by the caller and by `JobRef::new`'s contract.
        unsafe { (self.execute)(self.data) }
    }
}

/// What a job produced: nothing yet, a value, or the panic it raised.
pub(crate) enum JobResult<T> {
    None,
    Ok(T),
    Panic(Box<dyn Any + Send>),
}

impl<T> JobResult<T> {
    fn call(func: impl FnOnce() -> T) -> Self {
        match panic::catch_unwind(AssertUnwindSafe(func)) {
            Ok(value) => JobResult::Ok(value),
            Err(payload) => JobResult::Panic(payload),
        }
    }

    /// The value, or the job's panic raised again in the caller.
    pub(crate) fn into_return_value(self) -> T {
        match self {
            JobResult::Ok(value) => value,
            JobResult::Panic(payload) => panic::resume_unwind(payload),
            JobResult::None => unreachable!("job result read before the job ran"),
        }
    }
}

/// A job that lives on the stack of the thread that waits for it. The latch
/// is set when the job has run; only then may the owner read the result or
/// leave the frame.
pub(crate) struct StackJob<L: Latch, F, R> {
    pub(crate) latch: L,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<JobResult<R>>,
}

// SAFETY: the cells are touched by one thread at a time: the executing thread
// until it sets the latch, the owner afterwards (the latch's release/acquire
// orders the two).
unsafe impl<L: Latch + Sync, F: Send, R: Send> Sync for StackJob<L, F, R> {}

impl<L: Latch, F: FnOnce() -> R + Send, R: Send> StackJob<L, F, R> {
    pub(crate) fn new(func: F, latch: L) -> Self {
        StackJob {
            latch,
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(JobResult::None),
        }
    }

    /// # Safety
    ///
    /// The job must not move, and its frame must not be left, until the job
    /// has run (its latch is set) or has been taken back with `run_inline`.
    pub(crate) unsafe fn as_job_ref(&self) -> JobRef {
        // SAFETY: `execute` catches panics; the caller keeps `self` alive.
        unsafe { JobRef::new(self as *const Self as *const (), Self::execute) }
    }

    unsafe fn execute(this: *const ()) {
        // SAFETY: `this` came from `as_job_ref`, whose caller keeps the job
        // alive until the latch is set; nobody else touches the cells until then.
        let this = unsafe { &*(this as *const Self) };
        // SAFETY: see above; this job runs once, so `func` is still there.
        let func = unsafe { (*this.func.get()).take() }.expect("job executed twice");
        // SAFETY: see above.
        unsafe { *this.result.get() = JobResult::call(func) };
        // SAFETY: the last use of `this`: after `set` the owner may free it.
        unsafe { L::set(std::ptr::addr_of!(this.latch)) };
    }

    /// Runs the job on the calling thread, when its owner popped it back
    /// before anyone stole it.
    ///
    /// Takes `&self` rather than `self`: moving the whole job out of its
    /// frame costs a store-forwarding stall per join (measured: ~4 ns of a
    /// ~16 ns join).
    #[inline]
    pub(crate) fn run_inline(&self) -> R {
        // SAFETY: the job was popped back by its owner, so no other thread
        // has it, and it has not run (it was still in the deque).
        let func = unsafe { (*self.func.get()).take() }.expect("job executed twice");
        func()
    }

    /// The job's value (or its panic, raised again). Call after the latch is set.
    pub(crate) fn into_result(self) -> R {
        self.result.into_inner().into_return_value()
    }
}

/// A job on the heap; it frees itself when run.
pub(crate) struct HeapJob<F> {
    func: F,
}

impl<F: FnOnce() + Send> HeapJob<F> {
    /// Boxes `func` as a job. `func` must not unwind (wrap it in
    /// `catch_unwind`), as for every [`JobRef`].
    ///
    /// # Safety
    ///
    /// Whatever `func` borrows must stay valid until it has run; the
    /// returned `JobRef` must be executed exactly once.
    pub(crate) unsafe fn into_job_ref(func: F) -> JobRef {
        let boxed = ManuallyDrop::new(Box::new(HeapJob { func }));
        let data = &**boxed as *const HeapJob<F> as *const ();
        // SAFETY: the box is leaked until `execute` takes it back; the
        // caller guarantees that `func` does not unwind and outlives the run.
        unsafe { JobRef::new(data, Self::execute) }
    }

    unsafe fn execute(this: *const ()) {
        // SAFETY: `this` is the box leaked by `into_job_ref`, executed once.
        let job = unsafe { Box::from_raw(this as *mut HeapJob<F>) };
        (job.func)();
    }
}
