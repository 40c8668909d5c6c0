//! `Value`: a task's output with its type erased, stored without a heap
//! allocation when it is small.
//!
//! Every node's output sits in one slot array per run, so outputs of different
//! types share one representation. `Box<dyn Any>` would cost an allocation per
//! task even for an `i64`; a `Value` keeps anything of at most one word (and
//! at most word alignment: numbers, `Box`, `Arc`, references) inline and
//! boxes larger types. Moving a value out (`Value::into_typed`, how a compute
//! hands results to its caller) checks its type against the `TypeId` it
//! was made with.
//!
//! One word, not two: a run keeps a slot per node, and on the overhead
//! benchmarks' million-node graphs (where the run is bound by memory
//! traffic) the 8 bytes saved per slot cut compute time by 5 to 30%.
//! Values of two or three words (`String`, `Vec`) are boxed either way.
//! For the same reason a run's `Slot` keeps only the storage: the vtable
//! is the producing node's (`Task::output_vtable`), and a consumer reading or
//! dropping its input knows the type from its own `Delayed<A>` inputs
//! (`Task::input_vtable`).

use std::any::{type_name, TypeId};
use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop, MaybeUninit};
use std::ptr;

/// Inline storage: one word, word-aligned.
type Storage = MaybeUninit<[usize; 1]>;

/// What a `Value` knows about the type it holds. (`pub` only because
/// `Shape::INPUT_OUTPUTS` names it; this module is private.)
pub struct VTable {
    type_id: fn() -> TypeId,
    type_name: fn() -> &'static str,
    /// Whether the value lives in the storage itself (else the storage holds a `Box<T>`).
    inline: bool,
    /// Drops the value in the storage, inline or boxed; `None` for an
    /// inline type without drop glue (numbers, `()`), which needs nothing.
    drop: Option<unsafe fn(*mut Storage)>,
}

/// Gives each output type its `VTable` as a promoted `'static` constant.
trait Erase: Sized + Send + Sync + 'static {
    const INLINE: bool =
        size_of::<Self>() <= size_of::<Storage>() && align_of::<Self>() <= align_of::<Storage>();
    const VTABLE: VTable = VTable {
        type_id: TypeId::of::<Self>,
        type_name: type_name::<Self>,
        inline: Self::INLINE,
        drop: if Self::INLINE && !mem::needs_drop::<Self>() {
            None
        } else {
            Some(drop_value::<Self>)
        },
    };
}

impl<T: Send + Sync + 'static> Erase for T {}

/// # Safety
/// `storage` holds a live `T` made by `Value::new::<T>`, dropped at most once.
unsafe fn drop_value<T: Erase>(storage: *mut Storage) {
    if T::INLINE {
        // SAFETY: an inline `T` was written at the start of the storage.
        unsafe { ptr::drop_in_place(storage.cast::<T>()) }
    } else {
        // SAFETY: the storage holds the pointer of a `Box<T>` we own.
        drop(unsafe { Box::from_raw(storage.cast::<*mut T>().read()) })
    }
}

/// The vtable of values of type `T`, for a node that outputs a `T`
/// (`Task::output_vtable`).
pub(crate) struct Output<T>(PhantomData<fn() -> T>);

impl<T: Send + Sync + 'static> Output<T> {
    pub(crate) const VTABLE: &'static VTable = &<T as Erase>::VTABLE;
}

impl VTable {
    /// Whether a value of this type has something to drop: a boxed value,
    /// or a type with drop glue.
    #[inline]
    pub(crate) const fn has_drop(&self) -> bool {
        self.drop.is_some()
    }

    /// Whether this is the vtable of `T`.
    #[cfg(test)]
    pub(crate) fn is<T: 'static>(&self) -> bool {
        (self.type_id)() == TypeId::of::<T>()
    }
}

/// Whether any of `types` has something to drop. Fixed by the types, so a
/// task's input types say it for all its inputs when it is built
/// (`InputIds::has_values_to_drop`).
pub(crate) const fn any_has_drop(types: &[&VTable]) -> bool {
    let mut i = 0;
    while i < types.len() {
        if types[i].has_drop() {
            return true;
        }
        i += 1;
    }
    false
}

/// A value of some `Send + Sync + 'static` type, known only at run time.
pub(crate) struct Value {
    vtable: &'static VTable,
    storage: Storage,
}

// SAFETY: a `Value` is only made from `T: Send + Sync` (`Value::new`), and it
// owns that `T` exactly as a `Box<T>` would.
unsafe impl Send for Value {}
// SAFETY: as for `Send`; `&Value` only gives out `&T`.
unsafe impl Sync for Value {}

impl Value {
    pub(crate) fn new<T: Send + Sync + 'static>(value: T) -> Value {
        let mut storage = Storage::uninit();
        if T::INLINE {
            // SAFETY: `INLINE` checked that `T` fits the storage's size and alignment.
            unsafe { storage.as_mut_ptr().cast::<T>().write(value) };
        } else {
            let boxed = Box::into_raw(Box::new(value));
            // SAFETY: a pointer fits in a word, which is word-aligned.
            unsafe { storage.as_mut_ptr().cast::<*mut T>().write(boxed) };
        }
        Value {
            vtable: &<T as Erase>::VTABLE,
            storage,
        }
    }

    /// Moves the value out, which must be a `T`.
    ///
    /// # Panics
    /// If the value is not a `T` (an internal error: `Delayed<T>` handles fix
    /// every node's type when the node is built).
    #[inline]
    pub(crate) fn into_typed<T: Send + Sync + 'static>(self) -> T {
        check_type::<T>(self.vtable);
        let this = ManuallyDrop::new(self);
        if this.vtable.inline {
            // SAFETY: the value is a `T` stored inline; `this` is never
            // dropped, so the `T` is moved out exactly once.
            unsafe { this.storage.as_ptr().cast::<T>().read() }
        } else {
            // SAFETY: the value is a `T` in a `Box<T>` whose ownership we take
            // over; `this` is never dropped.
            *unsafe { Box::from_raw(this.storage.as_ptr().cast::<*mut T>().read()) }
        }
    }
}

impl Value {
    /// A reference to the value, which must be a `T`.
    ///
    /// # Panics
    /// If the value is not a `T` (an internal error, as in `take`).
    #[cfg(feature = "mpi")]
    pub(crate) fn downcast_ref<T: Send + Sync + 'static>(&self) -> &T {
        check_type::<T>(self.vtable);
        if self.vtable.inline {
            // SAFETY: the value is a `T` stored inline, borrowed with `self`.
            unsafe { &*self.storage.as_ptr().cast::<T>() }
        } else {
            // SAFETY: the value is a `T` in a `Box<T>` that `self` owns.
            unsafe { &**self.storage.as_ptr().cast::<*const T>() }
        }
    }
}

/// One node's output during a run: the storage of a `Value`, without its
/// vtable. The run keeps a slot per node, so one word instead of two is a
/// third less memory per node (a run record of 16 bytes instead of 24),
/// and a compute of a million nodes is bound by that memory traffic.
///
/// A slot does not know whether it is full, nor the type it holds: the run
/// knows both (`NodeState`'s state, and the node's `Task::output_vtable`), and
/// the consumers know the type statically: their `Delayed<A>` inputs were
/// made by the tasks that produce an `A`.
pub(crate) struct Slot(UnsafeCell<Storage>);

// SAFETY: the run protocol (`run/README.md`) orders every access: one write
// before the producer publishes it, shared reads by consumers made ready
// after that, one removal after the last read or after every job ended.
// The value inside is `Send + Sync` (`Value::new`).
unsafe impl Sync for Slot {}
// SAFETY: as for `Sync`; the run owns the value in a slot like a `Box`
// (and drops it through `take`).
unsafe impl Send for Slot {}

// SAFETY: the storage is `MaybeUninit`: any bytes, all-zero included, are
// a valid (empty) slot.
unsafe impl super::node_arrays::Zeroable for Slot {}

impl Slot {
    /// An empty slot (its bytes are not written).
    #[inline]
    pub(crate) const fn empty() -> Slot {
        Slot(UnsafeCell::new(Storage::uninit()))
    }

    /// Stores `value`'s storage; its vtable is the node's (`Task::output_vtable`),
    /// which whoever takes the value back passes to `take`.
    ///
    /// # Safety
    /// The slot is empty (it was never written, or was taken), and no other
    /// thread accesses it during the call.
    #[inline]
    pub(crate) unsafe fn put(&self, value: Value) {
        let value = ManuallyDrop::new(value);
        // SAFETY: exclusive access, by the caller's contract; the value's
        // ownership moves into the slot (`ManuallyDrop` skips its drop).
        unsafe { *self.0.get() = value.storage };
    }

    /// Moves the value out, as a `Value` of `vtable`'s type; the slot is
    /// empty afterwards.
    ///
    /// # Safety
    /// The slot is full with a value of the type `vtable` was made for (the
    /// producer's `Task::output_vtable`, or a consumer's `Task::input_vtable` for
    /// it), nobody else accesses it during the
    /// call, and no reference from `get` is alive.
    pub(crate) unsafe fn take_value(&self, vtable: &'static VTable) -> Value {
        Value {
            vtable,
            // SAFETY: exclusive access, by the caller's contract.
            storage: unsafe { *self.0.get() },
        }
    }

    /// Keeps `pointer` in the empty slot: while a ready node's job waits
    /// in a deque its slot holds nothing, so it holds the run the job
    /// belongs to (`run/parallel.rs`) instead of a table of its own.
    ///
    /// # Safety
    /// The slot is empty and nobody else accesses it during the call.
    #[inline]
    pub(crate) unsafe fn stash(&self, pointer: *const ()) {
        // SAFETY: exclusive access, by the caller's contract; a pointer fits
        // the one-word storage, and is written as a pointer (provenance kept).
        unsafe { self.0.get().cast::<*const ()>().write(pointer) };
    }

    /// The pointer `stash` kept; the slot is empty again (its bytes are
    /// only overwritten by the next `put`).
    ///
    /// # Safety
    /// `stash` wrote the slot last, ordered before this call, and nobody
    /// else accesses it during the call.
    #[inline]
    pub(crate) unsafe fn stashed(&self) -> *const () {
        // SAFETY: the caller's contract: the storage holds a pointer.
        unsafe { self.0.get().cast::<*const ()>().read() }
    }

    /// A reference to the value, a `T`.
    ///
    /// # Safety
    /// The slot is full with a `T` (the producer of a `Delayed<T>` stored
    /// it), and nobody calls `put` or `take` while the reference is alive.
    #[inline]
    pub(crate) unsafe fn get<T: Send + Sync + 'static>(&self) -> &T {
        // SAFETY: no writer while the reference lives, by the caller's contract.
        let storage = unsafe { &*self.0.get() };
        if T::INLINE {
            // SAFETY: the slot holds a `T`, which `Value::new` stored inline.
            unsafe { &*storage.as_ptr().cast::<T>() }
        } else {
            // SAFETY: the slot holds a `T`, in a `Box<T>` it owns.
            unsafe { &**storage.as_ptr().cast::<*const T>() }
        }
    }
}

/// Panics unless `vtable` is the one of `T`.
#[inline]
fn check_type<T: Send + Sync + 'static>(vtable: &'static VTable) {
    // The same address is the same type; copies of one type's vtable in
    // several codegen units fall back to comparing `TypeId`s.
    if !std::ptr::eq(vtable, &<T as Erase>::VTABLE) && (vtable.type_id)() != TypeId::of::<T>() {
        panic!(
            "delayed: internal error: a value of type {} was read as {}",
            (vtable.type_name)(),
            type_name::<T>()
        )
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        if let Some(drop) = self.vtable.drop {
            // SAFETY: the storage holds the live value this vtable was made
            // for; `take` skips this drop, so it runs once.
            unsafe { drop(&mut self.storage) }
        }
    }
}

// A value is a pointer-sized vtable reference plus a word; a slot, the word.
const _: () = assert!(mem::size_of::<Value>() == 2 * mem::size_of::<usize>());
const _: () = assert!(mem::size_of::<Slot>() == mem::size_of::<usize>());

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn small_and_large_values_round_trip() {
        assert_eq!(Value::new(5i64).into_typed::<i64>(), 5);
        assert_eq!(Value::new(7u8).into_typed::<u8>(), 7);
        assert_eq!(Value::new(()).into_typed::<()>(), ());
        let s = String::from("a string is three words");
        assert_eq!(Value::new(s.clone()).into_typed::<String>(), s);
        assert_eq!(Value::new([1u64; 10]).into_typed::<[u64; 10]>(), [1; 10]);
        assert_eq!(Value::new(1u128).into_typed::<u128>(), 1);
    }

    #[test]
    fn drops_inline_and_boxed_values_once() {
        let marker = Arc::new(());
        drop(Value::new(Arc::clone(&marker)));
        drop(Value::new((Arc::clone(&marker), [0u64; 4])));
        assert_eq!(Arc::strong_count(&marker), 1);
        let taken = Value::new(Arc::clone(&marker)).into_typed::<Arc<()>>();
        assert_eq!(Arc::strong_count(&marker), 2);
        drop(taken);
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    #[test]
    fn slots_hand_back_what_was_put() {
        let marker = Arc::new(());
        let slot: Slot = crate::store::zeroed(1).into_vec().pop().unwrap();
        // SAFETY: this thread alone uses the slot, which holds an
        // `Arc<()>` between each `put` and the `take` after it.
        unsafe {
            slot.put(Value::new(Arc::clone(&marker)));
            assert_eq!(Arc::strong_count(slot.get::<Arc<()>>()), 2);
            let value = slot.take_value(Output::<Arc<()>>::VTABLE);
            assert_eq!(value.into_typed::<Arc<()>>(), marker);
            slot.put(Value::new([7u64; 4]));
            assert_eq!(slot.get::<[u64; 4]>()[3], 7);
            drop(slot.take_value(Output::<[u64; 4]>::VTABLE));
        }
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "the value was moved out once"
        );
        assert!(!Output::<u64>::VTABLE.has_drop());
        assert!(Output::<Arc<()>>::VTABLE.has_drop());
        assert!(Output::<[u64; 4]>::VTABLE.has_drop(), "boxed");
    }

    #[test]
    #[should_panic(expected = "was read as")]
    fn a_wrong_type_panics() {
        Value::new(1i32).into_typed::<u32>();
    }
}
