//! `TaskFn`: a node's closure with its types erased, kept inline when small;
//! `Task`: a look at one kept in a node's record.
//!
//! Every node has a closure, and running a node calls it. A
//! `Box<dyn Fn>` puts each closure in its own heap block, so running a node
//! far from the last one waited on two cache misses: the node's record, then
//! its closure. Many closures capture a word or nothing (a function, an
//! index, a constant, an `Arc`), so a closure of up to one word lives in the
//! node's record itself; larger ones go to the graph's arena (`arena.rs`).
//!
//! The store splits a `TaskFn` in two (`TaskFn::into_parts`): the word goes
//! into the node's record, and the vtable, the same for every node of a
//! loop, into a small table that the record indexes with 4 bytes instead of
//! holding an 8-byte pointer (`nodes.rs`).

use std::alloc::Layout;
use std::marker::PhantomData;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ptr;

use super::arena::Arena;
use super::args::{Args, BoxError};
use super::value::{self, Output, Value};

/// The value types of a task's inputs, in order, for every kind of task:
/// those with inputs (each `Shape` of the API layer, `Shape::INPUT_OUTPUTS`)
/// and those without (`NoInputs`). A list's one entry stands for all its
/// inputs.
pub(crate) trait InputTypes {
    const OUTPUTS: &'static [&'static value::VTable];
}

/// The inputs of a task made by `Graph::delayed`: none.
pub(crate) struct NoInputs;

impl InputTypes for NoInputs {
    const OUTPUTS: &'static [&'static value::VTable] = &[];
}

/// One word: room for a small closure, or the pointer to one in the arena.
///
/// A `MaybeUninit` of a word, not of a one-word array: so a `TaskFn` is a
/// pair of scalars, which a call passes in two registers. As
/// `MaybeUninit<[usize; 1]>` it went through the caller's stack, where a
/// closure smaller than a word (one capturing a `u32`) was written with a
/// 4-byte store and read back by the record's write with an 8-byte load,
/// which could not be forwarded from it: a third of `Store::push_locked`'s
/// samples in a chain's build (`perf annotate`); 15.1-15.9 -> 14.7-14.8 ns
/// per node (`profile_dag build chain 10`, 6 alternated rounds, this VM's
/// fast state). (The same change to a value's storage, `value.rs`, gave a
/// task returning a `u32` nothing measurable and the wavefront's rows lost
/// time in 3 alternated rounds of the `overhead` binary.)
pub(crate) type Storage = MaybeUninit<usize>;

/// What a `TaskFn` can do with its storage, per closure type.
pub(crate) struct VTable {
    call: unsafe fn(*const Storage, Args<'_>) -> Result<Value, BoxError>,
    drop: unsafe fn(*mut Storage),
    /// Whether dropping the closure does anything (`std::mem::needs_drop`):
    /// a graph whose closures capture only plain data skips the pass over
    /// its nodes when it is dropped.
    needs_drop: bool,
    /// The vtable of the closure's output type: what the run's slots,
    /// which keep only a value's storage, need to move or drop it.
    output: &'static value::VTable,
    /// The vtables of the closure's input types, in order (a list's one
    /// entry stands for all its inputs): what a consumer needs to drop an
    /// input's value, known from its own type, without a look at the
    /// producer's record.
    inputs: &'static [&'static value::VTable],
}

/// A closure from `Args` to a type-erased result: what a node runs.
pub(crate) struct TaskFn {
    vtable: &'static VTable,
    storage: Storage,
}

/// A look at a closure kept as a `TaskFn`'s two parts: its vtable and its
/// storage (`TaskFn::into_parts`).
#[derive(Clone, Copy)]
pub(crate) struct Task<'a> {
    vtable: &'static VTable,
    storage: &'a Storage,
}

// SAFETY: a `TaskFn` is only made from `F: Send + Sync` (`TaskFn::new_in`)
// and owns that `F` as a `Box<F>` would (one not inline lies in memory that
// is the arena's, but the `F` is the `TaskFn`'s).
unsafe impl Send for TaskFn {}
// SAFETY: as for `Send`; `&TaskFn` only calls `F` through `&F`.
unsafe impl Sync for TaskFn {}

/// Closures of this type, erased.
trait Erase: Sized {
    /// Whether an `F` fits the storage (size and alignment); else it lives
    /// in the graph's arena and the storage holds a pointer to it.
    const INLINE: bool =
        size_of::<Self>() <= size_of::<Storage>() && align_of::<Self>() <= align_of::<Storage>();
}

impl<F> Erase for F {}

impl TaskFn {
    /// Erases `f`, a closure over inputs of the types `S` gives and
    /// returning a `T`: inline if it fits in a word, else in `arena`.
    ///
    /// # Safety
    /// The `TaskFn`, or its parts (`into_parts`), is dropped before
    /// `arena` is: its closure may live in the arena's memory.
    pub(crate) unsafe fn new_in<S, T, F>(f: F, arena: &mut Arena) -> TaskFn
    where
        S: InputTypes,
        T: Send + Sync + 'static,
        F: Fn(Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    {
        let mut storage = Storage::uninit();
        let at = storage.as_mut_ptr();
        if F::INLINE {
            // SAFETY: `INLINE` checked that an `F` fits the storage's size
            // and alignment.
            unsafe { at.cast::<F>().write(f) };
        } else {
            // Not inline, so not zero-sized: the arena has room for it.
            let placed = arena.alloc(Layout::new::<F>()).as_ptr().cast::<F>();
            // SAFETY: room for an `F`, aligned, handed out to us alone.
            unsafe { placed.write(f) };
            // SAFETY: a pointer fits in a word, which is word-aligned.
            unsafe { at.cast::<*mut F>().write(placed) };
        }
        TaskFn {
            vtable: &VTableOf::<S, T, F>::VTABLE,
            storage,
        }
    }

    /// The closure's vtable: its type's, the same for every closure of it.
    pub(crate) fn vtable(&self) -> &'static VTable {
        self.vtable
    }

    /// The closure's vtable and its storage, which now owns the closure:
    /// its owner must drop it once with `VTable::drop_closure`.
    pub(crate) fn into_parts(self) -> (&'static VTable, Storage) {
        let parts = ManuallyDrop::new(self);
        (parts.vtable, parts.storage)
    }

    /// A look at the closure (the store makes its own from the parts).
    #[cfg(test)]
    pub(crate) fn as_task(&self) -> Task<'_> {
        Task {
            vtable: self.vtable,
            storage: &self.storage,
        }
    }
}

impl VTable {
    /// Drops the closure `storage` holds.
    ///
    /// # Safety
    /// `storage` holds a live closure of this vtable's type (a `TaskFn`'s
    /// parts), which nobody uses afterwards.
    pub(crate) unsafe fn drop_closure(&self, storage: *mut Storage) {
        // SAFETY: the caller's contract.
        unsafe { (self.drop)(storage) }
    }

    /// Whether `drop_closure` does anything: `false` for a closure that
    /// captures nothing with drop glue.
    #[inline]
    pub(crate) fn needs_drop(&self) -> bool {
        self.needs_drop
    }
}

impl<'a> Task<'a> {
    /// The closure that `storage` holds, of `vtable`'s type.
    ///
    /// # Safety
    /// `storage` holds a live closure of `vtable`'s type (a `TaskFn`'s
    /// parts), alive for `'a`.
    #[inline]
    pub(crate) unsafe fn new(vtable: &'static VTable, storage: &'a Storage) -> Task<'a> {
        Task { vtable, storage }
    }

    /// The vtable of the values the closure returns.
    #[inline]
    pub(crate) fn output_vtable(self) -> &'static value::VTable {
        self.vtable.output
    }

    /// The vtable of the values of input `j`: the type of the `Delayed` it
    /// was given as, which is its producer's output type.
    ///
    /// # Panics
    /// For a closure without inputs.
    #[inline]
    pub(crate) fn input_vtable(self, j: usize) -> &'static value::VTable {
        let inputs = self.vtable.inputs;
        match inputs.get(j) {
            Some(vtable) => vtable,
            None => inputs
                .last()
                .expect("delayed: internal error: a task without inputs"),
        }
    }

    /// Calls the closure.
    #[inline]
    pub(crate) fn call(self, args: Args<'_>) -> Result<Value, BoxError> {
        // SAFETY: the storage holds the `F` this vtable was made for, alive
        // for `'a` (`new`'s contract, or `as_task`'s borrow).
        unsafe { (self.vtable.call)(self.storage, args) }
    }
}

impl Drop for TaskFn {
    fn drop(&mut self) {
        // SAFETY: the storage holds the live `F` this vtable was made for;
        // this runs once.
        unsafe { (self.vtable.drop)(&mut self.storage) }
    }
}

/// The vtable of closure type `F` over inputs `S` returning a `T`, as a
/// constant (promoted to `'static`).
struct VTableOf<S, T, F>(PhantomData<fn(S) -> T>, ManuallyDrop<F>);

impl<S, T, F> VTableOf<S, T, F>
where
    S: InputTypes,
    T: Send + Sync + 'static,
    F: Fn(Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
{
    const VTABLE: VTable = VTable {
        call: call::<T, F>,
        drop: drop_task::<F>,
        needs_drop: std::mem::needs_drop::<F>(),
        output: Output::<T>::VTABLE,
        inputs: S::OUTPUTS,
    };
}

/// # Safety
/// `storage` holds a live `F`, inline or behind a pointer as `F::INLINE`
/// says.
unsafe fn call<T, F>(storage: *const Storage, args: Args<'_>) -> Result<Value, BoxError>
where
    T: Send + Sync + 'static,
    F: Fn(Args<'_>) -> Result<T, BoxError>,
{
    // SAFETY: the caller's contract.
    let f = unsafe {
        if F::INLINE {
            &*storage.cast::<F>()
        } else {
            &**storage.cast::<*const F>()
        }
    };
    f(args).map(Value::new)
}

/// # Safety
/// `storage` holds a live `F`, inline or in an arena as `F::INLINE` says,
/// which nobody uses afterwards.
unsafe fn drop_task<F>(storage: *mut Storage) {
    // SAFETY: the caller's contract; an arena's memory stays its own.
    unsafe {
        if F::INLINE {
            ptr::drop_in_place(storage.cast::<F>());
        } else {
            ptr::drop_in_place(storage.cast::<*mut F>().read());
        }
    }
}

// A vtable reference and a word.
const _: () = assert!(size_of::<TaskFn>() == 2 * size_of::<usize>());

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn args() -> Args<'static> {
        // SAFETY: no inputs, so no slot is read.
        unsafe { Args::new(&[], &[]) }
    }

    #[test]
    fn small_large_and_huge_closures_run_and_drop_once() {
        let marker = Arc::new(());
        let mut arena = Arena::new();
        // Each `new_in`'s task is dropped below, before the arena, which is
        // declared before them all.
        let small = {
            let m = Arc::clone(&marker);
            // SAFETY: dropped before `arena` (above).
            unsafe {
                TaskFn::new_in::<NoInputs, _, _>(move |_| Ok(Arc::strong_count(&m)), &mut arena)
            }
        };
        let large = {
            let m = Arc::clone(&marker);
            let pad = [7u64; 6];
            let f = move |_: Args<'_>| Ok(Arc::strong_count(&m) as u64 + pad[5]);
            // SAFETY: dropped before `arena` (above).
            unsafe { TaskFn::new_in::<NoInputs, _, _>(f, &mut arena) }
        };
        let huge = {
            let m = Arc::clone(&marker);
            let pad = [9u64; 4096];
            let f = move |_: Args<'_>| Ok(Arc::strong_count(&m) as u64 + pad[4095]);
            // SAFETY: dropped before `arena` (above).
            unsafe { TaskFn::new_in::<NoInputs, _, _>(f, &mut arena) }
        };
        assert_eq!(arena.blocks(), 2, "a chunk, and the huge closure's own");
        assert!(small.as_task().call(args()).unwrap().into_typed::<usize>() >= 2);
        assert_eq!(
            large.as_task().call(args()).unwrap().into_typed::<u64>(),
            4 + 7
        );
        assert_eq!(
            huge.as_task().call(args()).unwrap().into_typed::<u64>(),
            4 + 9
        );
        drop(small);
        assert_eq!(Arc::strong_count(&marker), 3);
        drop(large);
        assert_eq!(Arc::strong_count(&marker), 2);
        drop(huge);
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    #[test]
    fn inputs_have_the_vtables_of_their_types_in_order() {
        use crate::inputs::{List, Shape};

        let mut arena = Arena::new();
        // SAFETY: the task drops before the arena, declared first.
        let tuple = unsafe { TaskFn::new_in::<(u64, String, ()), _, _>(|_| Ok(0u8), &mut arena) };
        let tuple = tuple.as_task();
        assert!(tuple.input_vtable(0).is::<u64>());
        assert!(tuple.input_vtable(1).is::<String>());
        assert!(tuple.input_vtable(2).is::<()>());
        assert!(!tuple.input_vtable(0).has_drop() && tuple.input_vtable(1).has_drop());
        // A list's one type stands for every input.
        // SAFETY: as for `tuple`.
        // SAFETY: as for `tuple`.
        let list = unsafe { TaskFn::new_in::<List<Vec<u8>>, _, _>(|_| Ok(0u8), &mut arena) };
        for j in [0, 1, 1000] {
            assert!(list.as_task().input_vtable(j).is::<Vec<u8>>());
        }
        assert_eq!(<List<u32> as Shape>::INPUT_OUTPUTS.len(), 1);
    }
}
